"""Cycle doses (chemo.dose): the facts of issue 3, rounding, levels, derived and flat doses, and properties."""

from __future__ import annotations

from decimal import ROUND_HALF_UP
from pathlib import Path

import attrs
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from chemo.dose import Administration, BodySize, DoseError, body_size, calculate_cycle, dispense
from chemo.library import load_library
from chemo.regimen import load_regimen, regimens_dir

REGIMENS = ("doxorubicin-dacarbazine", "doxorubicin-ifosfamide", "epirubicin-ifosfamide", "pld-ifosfamide-anlotinib")


def cycle(regimen_id, level=0, number=1, height="170 cm", weight="75 kg", bsa=None):
    reg = load_regimen(regimen_id)
    body = body_size(None if bsa else height, None if bsa else weight, bsa, regimen=reg)
    return calculate_cycle(reg, body, number, level)


def one(doses, drug, day=1):
    [a] = [a for a in doses.administrations if a.drug == drug and a.day == day]
    return a


def test_170_cm_75_kg_is_1_8819_m2_by_mosteller():
    body = body_size("170 cm", "75 kg")
    assert body.bsa_m2 == pytest.approx(1.8819, abs=1e-4) and body.formula == "mosteller"


def test_doxorubicin_75_mg_per_m2_is_141_mg():
    a = one(cycle("doxorubicin-dacarbazine"), "doxorubicin")
    assert a.calculated_mg == pytest.approx(141.1449, abs=1e-4)
    assert a.dose_mg == 141.0 and a.increment_mg == 1.0
    assert a.basis == "75 mg/m²" and a.route == "IV"
    assert abs(a.deviation) <= 0.05


def test_ifosfamide_3_g_per_m2_a_day_is_5650_mg_in_10_mg_steps():
    doses = cycle("doxorubicin-ifosfamide")
    for day in (1, 2, 3):
        a = one(doses, "ifosfamide", day)
        assert a.calculated_mg == pytest.approx(5645.79, abs=0.01)
        assert a.dose_mg == 5650.0 and a.increment_mg == 10.0
        assert a.per == "cycle" and str(a.daily) == "3000 mg/m²"
    assert doses.totals_mg()["ifosfamide"] == 16950.0
    assert doses.totals_mg()["doxorubicin"] == 141.0  # 47 mg × 3 (25 mg/m² d1-3)


def test_epirubicin_split_over_two_days():
    doses = cycle("epirubicin-ifosfamide")
    assert [a.dose_mg for a in doses.for_drug("epirubicin")] == [113.0, 113.0]  # 60 mg/m² × 1.8819 = 112.9


def test_mesna_is_60_percent_of_the_ifosfamide_dose():
    for regimen_id in ("doxorubicin-ifosfamide", "epirubicin-ifosfamide", "pld-ifosfamide-anlotinib"):
        doses = cycle(regimen_id)
        for a in doses.for_drug("mesna"):
            parent = one(doses, "ifosfamide", a.day)
            assert a.calculated_mg == pytest.approx(0.6 * parent.calculated_mg)
            assert a.derived_from == "ifosfamide" and a.basis == "60 % of ifosfamide"


def test_mesna_follows_a_reduced_ifosfamide_and_says_so():
    doses = cycle("doxorubicin-ifosfamide", level=-1)
    mesna, ifos = one(doses, "mesna"), one(doses, "ifosfamide")
    assert ifos.level == "75 %" and ifos.calculated_mg == pytest.approx(0.75 * 5645.79, abs=0.01)
    assert mesna.calculated_mg == pytest.approx(0.6 * ifos.calculated_mg)
    assert mesna.daily.amount == pytest.approx(0.6 * 0.75 * 3000)  # 1350 mg/m², not the full-dose 1800


def test_anlotinib_is_flat_10_mg_days_1_to_14_whatever_the_bsa():
    for size in ({"bsa": "1.2 m²"}, {"bsa": "2.6 m²"}, {}):
        doses = cycle("pld-ifosfamide-anlotinib", **size)
        anlotinib = doses.for_drug("anlotinib")
        assert [a.day for a in anlotinib] == list(range(1, 15))
        assert {a.dose_mg for a in anlotinib} == {10.0} and {a.calculated_mg for a in anlotinib} == {10.0}
        assert {a.route for a in anlotinib} == {"PO"} and anlotinib[0].increment_mg is None


def test_anlotinib_ladder_level_minus_one_is_8_mg():
    doses = cycle("pld-ifosfamide-anlotinib", level={"anlotinib": -1})
    assert {a.dose_mg for a in doses.for_drug("anlotinib")} == {8.0}
    assert one(doses, "pld").level == "100 %"


def test_anlotinib_below_8_mg_says_the_drug_stops():
    with pytest.raises(DoseError) as err:
        cycle("pld-ifosfamide-anlotinib", level={"anlotinib": -2})
    assert "stop" in str(err.value) and "anlotinib" in str(err.value) and err.value.exit_code == 2


def test_cytotoxic_levels_are_percentages():
    doses = cycle("doxorubicin-dacarbazine", level=-1)
    assert one(doses, "doxorubicin").level == "75 %"
    assert one(doses, "dacarbazine").level == "80 %"  # its library steps: 100, 80, 75, 70 % (renal)
    assert one(doses, "doxorubicin").calculated_mg == pytest.approx(0.75 * 141.1449, abs=1e-3)


def test_a_level_that_does_not_exist_is_an_error():
    with pytest.raises(DoseError):
        cycle("doxorubicin-dacarbazine", level=-3)
    with pytest.raises(DoseError):
        cycle("doxorubicin-dacarbazine", level=1)


def test_cycle_outside_the_regimen_is_an_error():
    for number in (0, 4):
        with pytest.raises(DoseError, match="cycles 1-3"):
            cycle("doxorubicin-dacarbazine", number=number)


# ------------------------------------------------------------------ rounding

def test_rounding_is_decimal_half_up_never_float_half_even():
    assert dispense(5645.0, 10.0, 0.05, ROUND_HALF_UP)[0] == 5650.0  # half-even would give 5640
    assert dispense(140.5, 1.0, 0.05, ROUND_HALF_UP)[0] == 141.0  # half-even would give 140
    assert dispense(2.675, 0.01, 0.05, ROUND_HALF_UP)[0] == 2.68  # round(2.675, 2) == 2.67 in floats
    assert dispense(140.49, 1.0, 0.05, ROUND_HALF_UP)[0] == 140.0


def test_rounding_never_moves_a_dose_beyond_the_tolerance():
    dose, step, note = dispense(14.0, 10.0, 0.05, ROUND_HALF_UP)  # 10 mg steps would move 14 mg by 29 %
    assert dose == 14.0 and step == 1.0 and "5 %" in note


def test_rounding_mode_and_tolerance_are_stated():
    doses = cycle("doxorubicin-dacarbazine")
    assert doses.rounding_mode == "half-up" and doses.tolerance == 0.05 and doses.rounding_source
    data = doses.as_json()
    assert data["rounding"] == {"mode": "half-up", "tolerance_pct": 5.0, "source": doses.rounding_source}


def test_json_contract():
    data = cycle("doxorubicin-dacarbazine").as_json()
    assert {"regimen", "cycle", "bsa_m2", "formula", "doses"} <= set(data)
    assert data["regimen"] == "doxorubicin-dacarbazine" and data["formula"] == "mosteller"
    assert data["doses"][0]["basis"] == "75 mg/m²" and data["doses"][0]["dose_mg"] == 141.0
    assert {"drug", "day", "dose_mg", "calculated_mg", "basis"} <= set(data["doses"][0])


def test_a_bsa_cap_is_applied_and_reported(tmp_path):
    text = (regimens_dir() / "doxorubicin-dacarbazine.toml").read_text()
    text = text.replace('cycles = 3\n', 'cycles = 3\nbsa_cap = "2.0 m²"\nbsa_cap_source = "test protocol cap"\n', 1)
    path = tmp_path / "capped.toml"
    path.write_text(text)
    reg = load_regimen(path)
    body = body_size("190 cm", "110 kg", regimen=reg)
    assert body.capped and body.bsa_m2 == 2.0 and body.uncapped_m2 == pytest.approx(2.4095, abs=1e-4)  # sqrt(190 × 110 / 3600)
    assert one(calculate_cycle(reg, body), "doxorubicin").dose_mg == 150.0
    assert "capped" in body.describe()
    assert not body_size("170 cm", "75 kg", regimen=reg).capped


# ------------------------------------------------------------------ properties

BSA_DRUG_DAYS = [(r, a.drug, a.day) for r in REGIMENS for a in cycle(r, bsa="1.5 m²").administrations
                 if a.daily.basis.name == "PER_M2" and a.day == 1]


@settings(max_examples=60, deadline=None)
@given(st.floats(min_value=0.5, max_value=3.5), st.floats(min_value=0.5, max_value=3.5), st.sampled_from(REGIMENS))
def test_calculated_dose_is_proportional_to_bsa(bsa_a, bsa_b, regimen_id):
    a = cycle(regimen_id, bsa=f"{bsa_a!r} m²")
    b = cycle(regimen_id, bsa=f"{bsa_b!r} m²")
    for x, y in zip(a.administrations, b.administrations):
        assert (x.drug, x.day) == (y.drug, y.day)
        if x.daily.basis.name == "FLAT":
            assert x.calculated_mg == y.calculated_mg  # anlotinib: no BSA at all
        else:
            assert x.calculated_mg / bsa_a == pytest.approx(y.calculated_mg / bsa_b, rel=1e-12)
            assert abs(x.deviation) <= a.tolerance + 1e-12 and abs(y.deviation) <= b.tolerance + 1e-12


HEIGHT_UNITS = {"cm": 1.0, "m": 0.01, "mm": 10.0, "in": 1 / 2.54}
WEIGHT_UNITS = {"kg": 1.0, "g": 1000.0, "lb": 1 / 0.45359237}


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=140, max_value=210), st.integers(min_value=40, max_value=150),
       st.sampled_from(sorted(HEIGHT_UNITS)), st.sampled_from(sorted(WEIGHT_UNITS)), st.sampled_from(REGIMENS))
def test_dose_does_not_depend_on_the_units_height_and_weight_came_in(h_cm, w_kg, h_unit, w_unit, regimen_id):
    assume(10 <= w_kg / (h_cm / 100) ** 2 <= 100)  # a plausible adult BMI (body-size.toml [plausibility])
    reference = cycle(regimen_id, height=f"{h_cm} cm", weight=f"{w_kg} kg")
    other = cycle(regimen_id, height=f"{h_cm * HEIGHT_UNITS[h_unit]!r} {h_unit}",
                  weight=f"{w_kg * WEIGHT_UNITS[w_unit]!r} {w_unit}")
    assert other.body.bsa_m2 == pytest.approx(reference.body.bsa_m2, rel=1e-9)
    for x, y in zip(reference.administrations, other.administrations):
        assert y.calculated_mg == pytest.approx(x.calculated_mg, rel=1e-9)


def test_every_regimen_file_gives_a_cycle():
    for path in sorted(Path(regimens_dir()).glob("*.toml")):
        doses = cycle(path.stem)
        assert doses.administrations and all(a.dose_mg > 0 for a in doses.administrations)


def test_a_dose_above_the_plausible_limit_for_a_very_large_body_is_flagged():
    """Dacarbazine 1 g/m² at 3.3 m² is 3300 mg, within the 3.6 g single limit; doxorubicin
    75 mg/m² is 248 mg, within 270 mg.  At 3.7 m² (a BSA given directly) doxorubicin is
    278 mg: above the 270 mg ceiling, so `chemo dose` warns before verification stops it."""
    regimen = load_regimen("doxorubicin-dacarbazine")
    ok = calculate_cycle(regimen, body_size(bsa="3.3 m²"), 1, 0)
    assert ok.warnings == ()
    big = calculate_cycle(regimen, body_size(bsa="3.7 m²"), 1, 0)
    assert any(w.startswith("doxorubicin: 278 mg") and "verification will stop it" in w for w in big.warnings)


def test_a_dose_level_may_name_a_drug_by_its_alias():
    """DTIC is dacarbazine: level -1 is 80 % (Kintzel & Dorr steps in the drug library)."""
    regimen = load_regimen("doxorubicin-dacarbazine")
    body = body_size(bsa="2.0 m²")
    by_alias = calculate_cycle(regimen, body, 1, {"DTIC": -1})
    assert by_alias.for_drug("dacarbazine")[0].dose_mg == 1600
    assert by_alias.for_drug("doxorubicin")[0].dose_mg == 150


# ------------------------------------------------------------------ rounding by hand

def test_half_up_tie_and_tolerance_edge_by_hand():
    assert dispense(141.5, 1.0, 0.05, ROUND_HALF_UP, (1.0, 0.1)) == (142.0, 1.0, None)
    assert dispense(5645.0, 10.0, 0.05, ROUND_HALF_UP, (1.0, 0.1)) == (5650.0, 10.0, None)
    assert dispense(9.5, 10.0, 0.05, ROUND_HALF_UP, (1.0, 0.1))[:2] == (9.5, 0.1)  # 10 mg would be +5.3 %, 1 mg too


# ------------------------------------------------------------------ levels and regimen changes

def test_a_bool_level_is_refused_even_after_the_same_number_was_used():
    library = load_library()
    regimen = load_regimen("doxorubicin-ifosfamide", library)
    body = body_size("170 cm", "75 kg", library=library)
    calculate_cycle(regimen, body, 1, {"ifosfamide": 0}, library)
    with pytest.raises(DoseError, match="expected a whole number"):
        calculate_cycle(regimen, body, 1, {"ifosfamide": False}, library)


def test_a_changed_regimen_gives_its_own_doses():
    """A regimen whose doxorubicin route changes to IV push is dosed with that route; the
    unchanged regimen keeps IV, and a reduced level of either gives 75 % doxorubicin."""
    library = load_library()
    first = load_regimen("doxorubicin-dacarbazine", library)
    body = body_size("170 cm", "75 kg", library=library)
    assert calculate_cycle(first, body, 1, -1, library).administrations[0].level == "75 %"
    changed = attrs.evolve(first, drugs=(attrs.evolve(first.drugs[0], route="IV push"),) + first.drugs[1:])
    assert calculate_cycle(changed, body, 1, 0, library).administrations[0].route == "IV push"
    assert calculate_cycle(first, body, 1, 0, library).administrations[0].route == "IV"


def _administration(**changes):
    fields = dict(drug="doxorubicin", day=1, route="IV", basis="75 mg/m²", per="cycle", daily=None, level="100 %",
                  calculated_mg=141.1, dose_mg=141.0, increment_mg=1.0, deviation=-0.0007)
    fields.update(changes)
    return Administration(**fields)


def test_a_dose_once_made_cannot_be_changed():
    """A dispensed dose is a frozen value: changing it makes a new one (attrs.evolve), never edits it."""
    a = _administration()
    with pytest.raises(AttributeError):
        a.dose_mg = 1410.0
    assert a == _administration() and hash(a) == hash(_administration()) and a != _administration(day=2)
    assert attrs.evolve(a, dose_mg=140.0).dose_mg == 140.0 and a.dose_mg == 141.0
    assert repr(a).startswith("Administration(drug='doxorubicin', day=1, route='IV'")
    body = BodySize(1.9, "given")
    assert body.weight_kg is None and not body.capped and body != BodySize(1.9, "mosteller")
