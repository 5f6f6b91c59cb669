"""Error text that says what the field expects (issue 13, point 4).

* ``--weight "75 kilos"`` is not "a time": the message says pint would read kiloseconds and that a weight is
  a mass, e.g. 75 kg.
* ``"75 KG"`` and ``"75 Kg"`` are 75 kg: a case variant is folded when only one chart unit matches it.
  A capital M or G at the start of a unit is a prefix (mega, giga): ``MG`` and ``Mg`` are refused with a
  line that says to write mg, never read as a megagram.
* A negative lab value is a value, not an option: "a negative value is not possible for hemoglobin".
* ``verify`` with ``cycle = 99`` names the regimen's own cycle count (3), not 1-12.
"""

import pytest
from click.testing import CliRunner
from hypothesis import given, strategies as st

from chemo.cli import cli
from cli_support import one_line
from chemo.demo import NURSE, add_users
from chemo.errors import UnitError
from chemo.records import add_patient
from chemo.db import open_store
from chemo.units import CHART_SYMBOLS, parse_quantity

DOSE = ["dose", "doxorubicin-ifosfamide", "--height", "170 cm"]



def chemo(*args):
    return CliRunner().invoke(cli, list(args))


def test_75_kilos_says_a_weight_is_a_mass_not_that_it_is_a_time():
    line = one_line(chemo(*DOSE, "--weight", "75 kilos"), 2, "--weight", "kiloseconds", "expected a mass, e.g. 75 kg")
    assert "is a time," not in line


def test_a_length_given_for_the_weight_names_what_the_weight_expects():
    one_line(chemo(*DOSE[:2], "--height", "170 kg", "--weight", "75 kg"), 2, "--height", "is a mass",
             "expected a length, e.g. 170 cm")


@pytest.mark.parametrize("weight", ["75 KG", "75 Kg", "75 kG", "165.3467 LBS"])
def test_case_variants_of_kg_and_lb_are_read_as_kg_and_lb(weight):
    result = chemo(*DOSE, "--weight", weight)
    assert result.exit_code == 0, result.output
    assert "BSA 1.88 m² (mosteller; height 170 cm, weight 75 kg)" in result.stdout  # √(170·75/3600)


@pytest.mark.parametrize("weight, words", [
    ("75 MG", ("'MG'", "capital M", "mega", "write mg")),
    ("75 Mg", ("'Mg'", "megagram", "write mg")),
])
def test_mg_in_capitals_is_never_a_megagram_nor_a_guess(weight, words):
    one_line(chemo(*DOSE, "--weight", weight), 2, "--weight", *words)


@pytest.mark.parametrize("text, refused", [
    ("5 ML", "megaliter"), ("1.2 MG/DL", "capital M"), ("12 G/DL", "capital G"), ("5 MMOL/L", "capital M"),
    ("75 mg/M2", "capital M"), ("60 mL/MIN", "capital M"),
])
def test_every_fold_that_a_capital_m_or_g_could_change_is_refused(text, refused):
    with pytest.raises(UnitError, match=refused):
        parse_quantity(text)


@pytest.mark.parametrize("text, unit, value", [
    ("170 CM", "cm", 170), ("97 UMOL/L", "µmol/L", 97), ("60 U/l", "U/L", 60), ("1.5 10^9/l", "1/L", 1.5e9),
    ("1.2 G/L", "1/L", 1.2e9),  # G/L stays the cell count of French and Belgian labs
])
def test_unambiguous_case_variants_parse_to_the_chart_unit(text, unit, value):
    assert parse_quantity(text).to(unit).magnitude == pytest.approx(value)


@given(st.sampled_from(CHART_SYMBOLS).flatmap(
    lambda s: st.tuples(st.just(s), st.lists(st.booleans(), min_size=len(s), max_size=len(s)))))
def test_a_case_variant_is_the_unit_it_folds_to_or_refused_never_another(pair):
    symbol, upper = pair
    variant = "".join(c.upper() if u else c for c, u in zip(symbol, upper))
    try:
        q = parse_quantity(f"1 {variant}")
    except UnitError:
        return
    assert q.to(parse_quantity(f"1 {symbol}").units).magnitude == pytest.approx(1.0)


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "msg.db"
    monkeypatch.setenv("CHEMO_DB", str(path))
    with open_store(path) as store:
        add_users(store)
        add_patient(store, "demo-prescriber", mrn="M1", name="Synthetic M1", sex="female", born="1970-05-01",
                    height="170 cm", weight="70 kg")
    return path


def test_a_negative_lab_value_is_taken_as_a_value_and_refused_for_its_analyte(db):
    """`chemo labs add M1 hemoglobin -1` used to fail with "No such option: -1"."""
    one_line(chemo("labs", "add", "M1", "hemoglobin", "-1", "--user", NURSE), 2,
             "a negative value is not possible for hemoglobin")
    one_line(chemo("labs", "add", "M1", "anc", "-1 10^9/L", "--user", NURSE), 2,
             "a negative value is not possible for anc")
    one_line(chemo("labs", "add", "M1", "alt", "20 U/L", "--uln", "-40", "--user", NURSE), 2,
             "a negative value is not possible for the upper limit of normal of alt")
    one_line(chemo("prior", "add", "M1", "epirubicin", "-300 mg/m²", "--user", "demo-prescriber"), 2,
             "a negative value is not possible for a prior epirubicin dose")
    with open_store(db) as store:
        assert store.one("SELECT count(*) AS n FROM labs")["n"] == 0
        assert store.one("SELECT count(*) AS n FROM prior_exposure")["n"] == 0


def test_a_negative_weight_says_a_weight_cannot_be_negative():
    one_line(chemo(*DOSE, "--weight", "-75 kg"), 2, "--weight", "a negative value is not possible for a weight")


def test_verify_cycle_99_names_the_regimens_three_cycles(tmp_path):
    order = tmp_path / "order.toml"
    order.write_text('regimen = "doxorubicin-ifosfamide"\ncycle = 99\nheight = "170 cm"\nweight = "70 kg"\n'
                     '[[line]]\ndrug = "doxorubicin"\nday = 1\ndose = "45 mg"\n', encoding="utf-8")
    line = one_line(chemo("verify", str(order)), 2, "cycle: 99", "doxorubicin-ifosfamide has 3 cycles")
    assert "1-12" not in line
