"""Body surface area and renal function (chemo/bodysize.py), checked by hand.

Formulas as clinical.md ("Body size") writes them, height H in cm, weight W in kg:

    Mosteller     sqrt(H·W/3600)
    DuBois        0.007184 · W^0.425 · H^0.725
    Haycock       0.024265 · W^0.5378 · H^0.3964
    Gehan-George  0.0235 · W^0.51456 · H^0.42246
    Boyd          0.0003207 · H^0.3 · G^(0.7285 − 0.0188·log10 G), G = weight in grams
    Cockcroft-Gault  (140 − age)·W·(0.85 if female) / (72·Scr[mg/dL])  mL/min
    CKD-EPI 2021     142·min(Scr/κ,1)^α·max(Scr/κ,1)^−1.200·0.9938^age·(1.012 if female)
                     κ 0.7 F / 0.9 M, α −0.241 F / −0.302 M, mL/min/1.73 m²

The expected values below are computed by hand (intermediate values in each
docstring), not read back from regimens/library/body-size.toml.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings, strategies as st

from chemo.bodysize import bsa, crcl_cockcroft_gault, egfr_ckd_epi_2021, egfr_deindexed
from chemo.errors import BodySizeError, ChemoError

FORMULAS = ("mosteller", "dubois", "haycock", "gehan-george", "boyd")


def m2(q) -> float:
    return q.to("m**2").magnitude


# ---------------------------------------------------------------- BSA, by hand

def test_mosteller_170_cm_70_kg():
    """sqrt(170·70/3600) = sqrt(11900/3600) = sqrt(3.30556) = 1.81812 m²."""
    assert m2(bsa("170 cm", "70 kg", "mosteller")) == pytest.approx(1.81812, abs=5e-5)
    assert m2(bsa("170 cm", "70 kg")) == pytest.approx(1.81812, abs=5e-5)  # the default


def test_mosteller_180_cm_80_kg_is_exactly_2():
    """sqrt(180·80/3600) = sqrt(14400/3600) = sqrt(4) = 2.0000 m²."""
    assert m2(bsa("180 cm", "80 kg", "mosteller")) == pytest.approx(2.0, abs=1e-12)


def test_dubois_170_cm_70_kg():
    """70^0.425 = 6.08368; 170^0.725 = 41.40716; 0.007184 · 6.08368 · 41.40716 = 1.80971 m²."""
    assert m2(bsa("170 cm", "70 kg", "dubois")) == pytest.approx(1.80971, abs=5e-5)


def test_dubois_180_cm_80_kg():
    """0.007184 · 80^0.425 · 180^0.725 = 0.007184 · 6.43468 · 43.18890 = 1.99642 m²."""
    assert m2(bsa("180 cm", "80 kg", "dubois")) == pytest.approx(1.99642, abs=5e-5)


def test_haycock_170_cm_70_kg():
    """70^0.5378 = 9.82412; 170^0.3964 = 7.65861; 0.024265 · 9.82412 · 7.65861 = 1.82568 m²."""
    assert m2(bsa("170 cm", "70 kg", "haycock")) == pytest.approx(1.82568, abs=5e-5)


def test_gehan_george_170_cm_70_kg():
    """70^0.51456 = 8.90048; 170^0.42246 = 8.75539; 0.0235 · 8.90048 · 8.75539 = 1.83129 m²."""
    assert m2(bsa("170 cm", "70 kg", "gehan-george")) == pytest.approx(1.83129, abs=5e-5)


def test_boyd_170_cm_70_kg():
    """G = 70000 g, log10 G = 4.84510; exponent 0.7285 − 0.0188·4.84510 = 0.63741;
    G^0.63741 = 1225.531; 170^0.3 = 4.66804; 0.0003207 · 4.66804 · 1225.531 = 1.83467 m²."""
    assert m2(bsa("170 cm", "70 kg", "boyd")) == pytest.approx(1.83467, abs=5e-5)


@pytest.mark.parametrize("formula", FORMULAS)
def test_formula_matches_clinical_md(formula):
    """Each formula recomputed here from clinical.md's coefficients at a second body size."""
    h, w = 158.0, 52.5
    g = w * 1000
    expected = {
        "mosteller": math.sqrt(h * w / 3600),
        "dubois": 0.007184 * w ** 0.425 * h ** 0.725,
        "haycock": 0.024265 * w ** 0.5378 * h ** 0.3964,
        "gehan-george": 0.0235 * w ** 0.51456 * h ** 0.42246,
        "boyd": 0.0003207 * h ** 0.3 * g ** (0.7285 - 0.0188 * math.log10(g)),
    }[formula]
    assert m2(bsa(f"{h} cm", f"{w} kg", formula)) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("formula", FORMULAS)
def test_formula_name_is_case_insensitive(formula):
    assert m2(bsa("170 cm", "70 kg", formula.upper())) == m2(bsa("170 cm", "70 kg", formula))


def test_feet_and_inches():
    """5 ft 7 in = 67 in = 170.18 cm; Mosteller sqrt(170.18·70/3600) = 1.81908 m²."""
    assert m2(bsa("5 ft 7 in", "70 kg")) == pytest.approx(1.81908, abs=5e-5)
    assert m2(bsa("5 ft 7 in", "70 kg")) == pytest.approx(m2(bsa("170.18 cm", "70 kg")), rel=1e-12)
    assert m2(bsa("67 in", f"{70 / 0.45359237!r} lb")) == pytest.approx(m2(bsa("170.18 cm", "70 kg")), rel=1e-9)


def test_pounds_are_not_kilograms():
    """154 lb = 69.853 kg: the BSA of 170 cm/154 lb is 1.8162 m², not the 2.6952 m² of 154 kg."""
    assert m2(bsa("170 cm", "154 lb")) == pytest.approx(math.sqrt(170 * 154 * 0.45359237 / 3600), rel=1e-12)
    assert m2(bsa("170 cm", "154 lb")) == pytest.approx(1.8162, abs=5e-5)


def test_no_silent_bsa_cap():
    """ASCO 2021: dose obese adults on actual weight. 190 cm / 150 kg Mosteller = sqrt(28500/3600) = 2.8137 m²."""
    assert m2(bsa("190 cm", "150 kg")) == pytest.approx(2.8137, abs=5e-5)


# ---------------------------------------------------------------- BSA, refusals

@pytest.mark.parametrize("height, weight, field", [
    ("0 cm", "70 kg", "height"),
    ("-170 cm", "70 kg", "height"),
    ("nan cm", "70 kg", "height"),
    ("inf cm", "70 kg", "height"),
    ("70 kg", "70 kg", "height"),  # height given in kg
    ("170", "70 kg", "height"),  # no unit
    ("20 cm", "70 kg", "height"),  # below the 30 cm plausibility limit
    ("260 cm", "70 kg", "height"),  # above 250 cm
    ("1,70 m", "70 kg", "height"),
    ("", "70 kg", "height"),
    (170, "70 kg", "height"),
    (None, "70 kg", "height"),
    ("170 cm", "0 kg", "weight"),
    ("170 cm", "-70 kg", "weight"),
    ("170 cm", "nan kg", "weight"),
    ("170 cm", "0.5 kg", "weight"),  # below 1 kg
    ("170 cm", "450 kg", "weight"),  # above 400 kg
    ("170 cm", "70 cm", "weight"),  # weight given in cm
    ("170 cm", "70", "weight"),
    ("170 cm", "70 kg/m²", "weight"),
])
def test_bad_body_size_is_a_body_size_error_naming_the_field(height, weight, field):
    with pytest.raises(BodySizeError) as info:
        bsa(height, weight)
    err = info.value
    assert isinstance(err, ChemoError)
    assert err.field == field
    assert str(err).startswith(f"{field}: ")
    assert "\n" not in str(err)


def test_unknown_formula_is_a_body_size_error():
    with pytest.raises(BodySizeError) as info:
        bsa("170 cm", "70 kg", "moesteller")
    assert info.value.field == "formula"
    assert "mosteller" in str(info.value)  # the known formulas are listed


@pytest.mark.parametrize("height, weight", [("30 cm", "70 kg"), ("250 cm", "70 kg"), ("170 cm", "1 kg"), ("170 cm", "400 kg")])
def test_plausibility_limits_are_inclusive(height, weight):
    assert m2(bsa(height, weight)) > 0


# ---------------------------------------------------------------- BSA, properties

heights_cm = st.floats(min_value=100, max_value=220, allow_nan=False)
weights_kg = st.floats(min_value=30, max_value=200, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(heights_cm, weights_kg, st.sampled_from(FORMULAS))
def test_bsa_is_unit_invariant(h, w, formula):
    """Height in cm, m or inches and weight in kg, lb or g give the same BSA (1e-9 relative)."""
    ref = m2(bsa(f"{h!r} cm", f"{w!r} kg", formula))
    for height in (f"{h / 100!r} m", f"{h / 2.54!r} in", f"{h * 10!r} mm"):
        for weight in (f"{w / 0.45359237!r} lb", f"{w * 1000!r} g"):
            assert m2(bsa(height, weight, formula)) == pytest.approx(ref, rel=1e-9), (height, weight)


@settings(max_examples=200, deadline=None)
@given(heights_cm, weights_kg, st.floats(min_value=0.1, max_value=20), st.sampled_from(FORMULAS))
def test_bsa_grows_with_weight_and_height(h, w, step, formula):
    base = m2(bsa(f"{h!r} cm", f"{w!r} kg", formula))
    assert m2(bsa(f"{h!r} cm", f"{w + step!r} kg", formula)) > base
    assert m2(bsa(f"{h + step!r} cm", f"{w!r} kg", formula)) > base


# ---------------------------------------------------------------- Cockcroft-Gault

def test_cockcroft_gault_male():
    """(140 − 60) · 70 / (72 · 1.1) = 5600 / 79.2 = 70.707 mL/min."""
    q = crcl_cockcroft_gault("1.1 mg/dL", 60, "70 kg", "male")
    assert q.to("mL/min").magnitude == pytest.approx(70.707, abs=5e-4)


def test_cockcroft_gault_female():
    """70.707 · 0.85 = 60.101 mL/min."""
    q = crcl_cockcroft_gault("1.1 mg/dL", 60, "70 kg", "female")
    assert q.to("mL/min").magnitude == pytest.approx(60.101, abs=5e-4)


@pytest.mark.parametrize("sex", ["male", "female"])
def test_cockcroft_gault_same_in_mg_dl_and_umol_l(sex):
    """1.1 mg/dL × 88.42 = 97.262 µmol/L (clinical.md's factor): the same clearance."""
    a = crcl_cockcroft_gault("1.1 mg/dL", 60, "70 kg", sex).to("mL/min").magnitude
    b = crcl_cockcroft_gault("97.262 µmol/L", 60, "70 kg", sex).to("mL/min").magnitude
    c = crcl_cockcroft_gault("97.262 umol/L", 60, "70 kg", sex).to("mL/min").magnitude
    assert a == pytest.approx(b, rel=1e-9) == pytest.approx(c, rel=1e-9)


def test_cockcroft_gault_uses_the_weight_unit():
    a = crcl_cockcroft_gault("1.1 mg/dL", 60, "70 kg", "male").to("mL/min").magnitude
    b = crcl_cockcroft_gault("1.1 mg/dL", 60, f"{70 / 0.45359237!r} lb", "male").to("mL/min").magnitude
    assert a == pytest.approx(b, rel=1e-9)


# ---------------------------------------------------------------- CKD-EPI 2021

def test_ckd_epi_2021_man_50_scr_1_0_is_about_92():
    """Published example: 50-year-old man, Scr 1.0 mg/dL -> 92 mL/min/1.73 m².
    κ 0.9: Scr/κ = 1.1111 > 1, so min term 1; 1.1111^−1.2 = 0.88123; 0.9938^50 = 0.73274;
    142 · 0.88123 · 0.73274 = 91.69."""
    q = egfr_ckd_epi_2021("1.0 mg/dL", 50, "male")
    assert q.to("mL/min/std_bsa").magnitude == pytest.approx(91.69, abs=0.01)
    assert round(q.to("mL/min/std_bsa").magnitude) == 92


def test_ckd_epi_2021_man_below_kappa():
    """Scr 0.8 < κ 0.9: (0.8/0.9)^−0.302 = 1.03621; 142 · 1.03621 · 0.73274 = 107.82."""
    q = egfr_ckd_epi_2021("0.8 mg/dL", 50, "male")
    assert q.to("mL/min/std_bsa").magnitude == pytest.approx(107.82, abs=0.01)


def test_ckd_epi_2021_woman_below_kappa():
    """Scr 0.6 < κ 0.7: (0.6/0.7)^−0.241 = 1.03785; 142 · 1.03785 · 0.73274 · 1.012 = 109.28."""
    q = egfr_ckd_epi_2021("0.6 mg/dL", 50, "female")
    assert q.to("mL/min/std_bsa").magnitude == pytest.approx(109.28, abs=0.01)


def test_ckd_epi_2021_woman_above_kappa():
    """Scr 1.0 > κ 0.7: (1.0/0.7)^−1.2 = 0.65180; 142 · 0.65180 · 0.73274 · 1.012 = 68.63."""
    q = egfr_ckd_epi_2021("1.0 mg/dL", 50, "female")
    assert q.to("mL/min/std_bsa").magnitude == pytest.approx(68.63, abs=0.01)


def test_ckd_epi_2021_at_kappa_both_terms_are_one():
    """Scr = κ: 142 · 0.9938^60 = 97.775 (man, 0.9 mg/dL); × 1.012 = 98.948 (woman, 0.7 mg/dL)."""
    assert egfr_ckd_epi_2021("0.9 mg/dL", 60, "male").to("mL/min/std_bsa").magnitude == pytest.approx(97.775, abs=1e-3)
    assert egfr_ckd_epi_2021("0.7 mg/dL", 60, "female").to("mL/min/std_bsa").magnitude == pytest.approx(98.948, abs=1e-3)


def test_ckd_epi_2021_same_in_umol_l():
    """1.0 mg/dL = 88.42 µmol/L."""
    a = egfr_ckd_epi_2021("1.0 mg/dL", 50, "male").to("mL/min/std_bsa").magnitude
    b = egfr_ckd_epi_2021("88.42 µmol/L", 50, "male").to("mL/min/std_bsa").magnitude
    assert a == pytest.approx(b, rel=1e-9)


def test_ckd_epi_2021_is_indexed_not_plain_ml_min():
    q = egfr_ckd_epi_2021("1.0 mg/dL", 50, "male")
    assert not q.is_compatible_with("mL/min")
    assert q.is_compatible_with("mL/min/m**2")


# ---------------------------------------------------------------- de-indexing

def test_deindexed_egfr_is_egfr_times_bsa_over_1_73():
    """91.691 mL/min/1.73 m² × 1.81812 m² / 1.73 = 96.362 mL/min."""
    egfr = egfr_ckd_epi_2021("1.0 mg/dL", 50, "male")
    area = bsa("170 cm", "70 kg")
    q = egfr_deindexed(egfr, area)
    assert q.to("mL/min").magnitude == pytest.approx(91.6915 * 1.818119 / 1.73, rel=1e-5)
    assert q.to("mL/min").magnitude == pytest.approx(96.362, abs=1e-3)


def test_deindexing_from_text():
    """60 × 2.0 / 1.73 = 69.364 mL/min; at BSA 1.73 m² nothing changes."""
    assert egfr_deindexed("60 mL/min/1.73 m²", "2.0 m²").to("mL/min").magnitude == pytest.approx(69.364, abs=1e-3)
    assert egfr_deindexed("60 mL/min/1.73 m²", "1.73 m²").to("mL/min").magnitude == pytest.approx(60, rel=1e-12)


@pytest.mark.parametrize("egfr", ["60 mL/min/m²", "60 mL/min/m2"])
def test_deindexing_refuses_the_ambiguous_per_m2_unit(egfr):
    """Seed 003's "ml/min/m2" is ambiguous (library: analytes.egfr.ambiguous). De-indexing it
    as per 1 m² gives 120 mL/min at 2.0 m², where the per-1.73 m² reading gives 69 mL/min."""
    with pytest.raises(ChemoError):
        egfr_deindexed(egfr, "2.0 m²")


@pytest.mark.parametrize("area", ["0 m²", "0.01 m²", "40 m²"])
def test_deindexing_refuses_an_implausible_bsa(area):
    """A directly entered BSA must lie within body-size.toml's limits.bsa (0.2-4 m²)."""
    with pytest.raises(ChemoError):
        egfr_deindexed("60 mL/min/1.73 m²", area)


@pytest.mark.parametrize("egfr, area", [("60 mL/min", "2 m²"), ("60 mL/min/1.73 m²", "2 kg"), ("60", "2 m²"),
                                        ("60 mL/min/1.73 m²", "-2 m²")])
def test_deindexing_refuses_wrong_units(egfr, area):
    with pytest.raises(ChemoError):
        egfr_deindexed(egfr, area)


# ---------------------------------------------------------------- renal refusals

@pytest.mark.parametrize("age", [17, 17.9, 0, -1, 121, True, "50", None, float("nan"), float("inf")])
def test_age_outside_adult_range_is_refused(age):
    with pytest.raises(BodySizeError) as info:
        egfr_ckd_epi_2021("1.0 mg/dL", age, "male")
    assert info.value.field == "age"
    with pytest.raises(BodySizeError):
        crcl_cockcroft_gault("1.0 mg/dL", age, "70 kg", "male")


@pytest.mark.parametrize("sex", ["M", "F", "man", "woman", "other", "", None, 1])
def test_sex_must_be_female_or_male(sex):
    with pytest.raises(BodySizeError) as info:
        egfr_ckd_epi_2021("1.0 mg/dL", 50, sex)
    assert info.value.field == "sex"
    with pytest.raises(BodySizeError):
        crcl_cockcroft_gault("1.0 mg/dL", 50, "70 kg", sex)


@pytest.mark.parametrize("creatinine", ["1.0", "1.0 g/dL", "1 mg", "1.0 mL/min", "0 mg/dL", "-1 mg/dL", "nan mg/dL",
                                        "50 mg/dL", "1,0 mg/dL", 1.0])
def test_bad_creatinine_is_refused(creatinine):
    with pytest.raises(BodySizeError) as info:
        egfr_ckd_epi_2021(creatinine, 50, "male")
    assert info.value.field == "creatinine"


# ---------------------------------------------------------------- chemo bsa (CLI)

def test_cli_bsa_json(runner, chemo_cli):
    result = runner.invoke(chemo_cli, ["bsa", "--height", "170 cm", "--weight", "70 kg", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["formula"] == "mosteller"
    assert data["bsa_m2"] == pytest.approx(1.8181, abs=1e-4)


@pytest.mark.parametrize("formula, expected", [("dubois", 1.8097), ("haycock", 1.8257), ("gehan-george", 1.8313),
                                               ("boyd", 1.8347), ("MOSTELLER", 1.8181)])
def test_cli_bsa_formula(runner, chemo_cli, formula, expected):
    result = runner.invoke(chemo_cli, ["bsa", "--height", "170 cm", "--weight", "70 kg", "--formula", formula, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["formula"] == formula.lower()
    assert data["bsa_m2"] == pytest.approx(expected, abs=1e-4)


def test_cli_bsa_text(runner, chemo_cli):
    result = runner.invoke(chemo_cli, ["bsa", "--height", "5 ft 7 in", "--weight", "154 lb"])
    assert result.exit_code == 0, result.output
    assert "1.82 m²" in result.stdout


@pytest.mark.parametrize("args, field", [
    (["--height", "70 kg", "--weight", "70 kg"], "height"),
    (["--height", "170", "--weight", "70 kg"], "height"),
    (["--height", "20 cm", "--weight", "70 kg"], "height"),
    (["--height", "170 cm", "--weight", "450 kg"], "weight"),
    (["--height", "170 cm", "--weight", "-70 kg"], "weight"),
    (["--height", "170 cm", "--weight", "nan kg"], "weight"),
])
def test_cli_bsa_bad_input_is_one_line_exit_2(runner, chemo_cli, args, field):
    result = runner.invoke(chemo_cli, ["bsa", *args])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"chemo: {field}: ")
    assert result.stdout == ""


@pytest.mark.parametrize("args", [["--height", "170 cm"], ["--weight", "70 kg"],
                                  ["--height", "170 cm", "--weight", "70 kg", "--formula", "nope"]])
def test_cli_bsa_usage_error_exit_2(runner, chemo_cli, args):
    result = runner.invoke(chemo_cli, ["bsa", *args])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
