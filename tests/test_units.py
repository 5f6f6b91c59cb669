"""Units as protocols, charts and lab systems write them (chemo/units.py).

Facts checked here come from ../shared/reference/clinical.md ("Unit facts") and
ecosystem.md (the pint traps: ``G/L`` as gauss, ``mL/min/1.73m^2`` as mL·m²/min,
``mg/kg`` as dimensionless, ``mg/m2`` and ``mg/㎡`` not parsing in plain pint).
"""

from __future__ import annotations

import math

import pint
import pytest
from hypothesis import given, settings, strategies as st

from chemo.errors import ChemoError, UnitError
from chemo.units import Basis, Q_, magnitude, normalise, parse_dose, parse_quantity, ureg


def dim(unit: str):
    return ureg.Unit(unit).dimensionality


# ---------------------------------------------------------------- spellings

# (text, a unit of the expected dimension, the value in that unit)
SPELLINGS = [
    ("75 mg/m²", "mg/m**2", 75),
    ("75 mg/m2", "mg/m**2", 75),
    ("75 mg/m^2", "mg/m**2", 75),
    ("75 mg/m**2", "mg/m**2", 75),
    ("1 g/㎡", "mg/m**2", 1000),  # seed 004 writes m² as the single character U+33A1
    ("40mg/㎡", "mg/m**2", 40),
    ("1.5 10^9/L", "1/L", 1.5e9),
    ("1.5 ×10⁹/L", "1/L", 1.5e9),  # superscripts folded before NFKC (else 10⁹ -> 109)
    ("1.5 x 10^9/L", "1/L", 1.5e9),
    ("1500 /µL", "1/L", 1.5e9),  # µ MICRO SIGN U+00B5
    ("1500 /μL", "1/L", 1.5e9),  # μ GREEK SMALL LETTER MU U+03BC
    ("1500 /uL", "1/L", 1.5e9),
    ("1500 /mm³", "1/L", 1.5e9),
    ("9.0 g/dL", "g/dL", 9.0),
    ("90 g/L", "g/dL", 9.0),
    ("5.6 mmol/L", "mmol/L", 5.6),
    ("97 µmol/L", "mmol/L", 0.097),
    ("97 μmol/L", "mmol/L", 0.097),
    ("1.1 mg/dL", "mg/dL", 1.1),
    ("60 mL/min", "mL/min", 60),
    ("50 %", "", 0.5),
]


@pytest.mark.parametrize("text, unit, value", SPELLINGS)
def test_spelling_parses_to_the_right_dimension_and_value(text, unit, value):
    q = parse_quantity(text)
    assert q.dimensionality == dim(unit), f"{text!r} parsed as {q.units}"
    assert q.to(unit).magnitude == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("text, unit, value", SPELLINGS)
def test_magnitude_reads_every_spelling_as_parse_quantity_does(text, unit, value):
    assert magnitude(text, unit) == pytest.approx(value, rel=1e-12)
    assert magnitude(text, unit) == parse_quantity(text, unit).to(unit).magnitude


@pytest.mark.parametrize("text", ["60 mL/min/1.73 m²", "60 mL/min/1.73m^2", "60 mL/min/1.73 m2",
                                  "60 mL/min/(1.73*m**2)", "60 mL/min/1.73m²"])
def test_indexed_gfr_is_per_standard_bsa_not_ml_m2_per_min(text):
    """``mL/min/1.73m^2`` is a flow per 1.73 m² of body surface; plain pint reads it as 0.578 mL·m²/min."""
    q = parse_quantity(text)
    assert not q.is_compatible_with("mL*m**2/min")
    # the dimension is flow per area: 60 mL/min per 1.73 m² = 34.68 mL/min per m²
    assert q.to("mL/min/m**2").magnitude == pytest.approx(60 / 1.73, rel=1e-12)
    # converting to mL/min needs the patient's BSA: without it, it is refused ...
    with pytest.raises(pint.DimensionalityError):
        q.to("mL/min")
    # ... and with a BSA of exactly 1.73 m² it is 60 mL/min
    assert (q * Q_(1.73, "m**2")).to("mL/min").magnitude == pytest.approx(60, rel=1e-12)


def test_per_microlitre_and_giga_per_litre_are_the_same_count():
    """1 × 10⁹/L = 1000/µL (clinical.md): 1.2 10^9/L == 1200 /uL."""
    a, b = parse_quantity("1.2 10^9/L"), parse_quantity("1200 /uL")
    assert a.to("1/L").magnitude == pytest.approx(b.to("1/L").magnitude, rel=1e-12)
    assert a.to("1/L").magnitude == pytest.approx(1.2e9, rel=1e-12)


@pytest.mark.parametrize("text", ["1.2 G/L", "1.2G/L"])
def test_G_per_L_is_giga_per_litre_never_gauss(text):
    """French and Belgian lab systems write cell counts as G/L; pint's default reads gauss/L."""
    q = parse_quantity(text)
    assert q.dimensionality == dim("1/L")
    assert q.to("1/uL").magnitude == pytest.approx(1200, rel=1e-12)


@pytest.mark.parametrize("text, per_ul", [("100G/L", 100_000), ("100 G/L", 100_000), ("4.5T/L", 4.5e6), ("4.5 T/L", 4.5e6)])
def test_giga_and_tera_per_litre_with_or_without_a_space(text, per_ul):
    """Platelets 100 G/L = 100 000/µL; erythrocytes 4.5 T/L = 4.5 million/µL, however spaced."""
    assert parse_quantity(text).to("1/uL").magnitude == pytest.approx(per_ul, rel=1e-12)


@pytest.mark.parametrize("text", ["1 gauss", "1 tesla", "1 G"])
def test_magnetic_units_cannot_be_parsed_by_accident(text):
    with pytest.raises(UnitError):
        parse_quantity(text)


def test_superscript_exponent_is_not_folded_into_digits():
    assert "109" not in normalise("1.5 ×10⁹/L")
    assert parse_quantity("1.5 ×10⁹/L").to("1/L").magnitude == pytest.approx(1.5e9)


# ---------------------------------------------------------------- doses and their basis

@pytest.mark.parametrize("text, basis, amount", [
    ("75 mg/m²", Basis.PER_M2, 75),
    ("75 mg/m2", Basis.PER_M2, 75),
    ("9 g/m²", Basis.PER_M2, 9000),
    ("1 g/㎡", Basis.PER_M2, 1000),
    ("40 mg/㎡", Basis.PER_M2, 40),
    ("10 mg", Basis.FLAT, 10),
    ("1 g", Basis.FLAT, 1000),
    ("2 mg/kg", Basis.PER_KG, 2),
    ("2000 µg/kg", Basis.PER_KG, 2),
])
def test_dose_keeps_its_basis(text, basis, amount):
    dose = parse_dose(text)
    assert dose.basis is basis
    assert dose.amount == pytest.approx(amount, rel=1e-12)
    assert dose.text == text


def test_mg_per_kg_is_a_per_kg_dose_not_a_flat_or_per_m2_dose():
    """pint calls mg/kg dimensionless; the dose keeps 'per kg' as its own basis."""
    dose = parse_dose("2 mg/kg")
    assert dose.basis is Basis.PER_KG
    assert dose.basis is not Basis.FLAT and dose.basis is not Basis.PER_M2
    assert str(dose) == "2 mg/kg"


@pytest.mark.parametrize("text", ["60 mg/kg", "50 g/kg"])
def test_mg_per_kg_is_not_a_percentage(text):
    """A per-kg dose is not a dimensionless fraction: "60 mg/kg" must not be read as 0.006 %.

    Regimen fields that take a percentage (derived ``fraction``, ``give``, an LVEF
    threshold) read it with ``expect="%"``; a mass per body weight there is an error.
    """
    with pytest.raises(UnitError):
        parse_quantity(text, "%")


@pytest.mark.parametrize("text", ["9 g/m3", "9 g/m³", "75 mg/mL", "1.1 mg/dL", "50 %", "1.5 10^9/L", "2 m²"])
def test_not_a_dose(text):
    """Seed 003's "9 g/m3" is a mass per volume: a unit-aware validator must reject it."""
    with pytest.raises(UnitError, match="not a dose"):
        parse_dose(text)


@pytest.mark.parametrize("text", ["60 mL/min", "60 mL/min/1.73 m²", "5 days", "75 mg·m²"])
def test_other_kinds_are_not_doses_either(text):
    with pytest.raises(UnitError):
        parse_dose(text)


def test_dose_per_day_in_the_unit_is_refused():
    with pytest.raises(UnitError, match="per day or per cycle"):
        parse_dose("75 mg/m²/day")


@pytest.mark.parametrize("text", ["75", "75 ", "0.5"])
def test_number_without_unit_is_refused(text):
    with pytest.raises(UnitError, match="no unit"):
        parse_quantity(text)
    with pytest.raises(UnitError, match="no unit"):
        parse_dose(text)


@pytest.mark.parametrize("text", ["1,200 /uL", "1,5 mg", "1,000 mg/m²"])
def test_commas_are_refused(text):
    """1,200 could be a thousands separator or a decimal comma: refuse both."""
    with pytest.raises(UnitError, match="comma"):
        parse_quantity(text)
    with pytest.raises(UnitError):
        parse_dose(text)


BAD_TEXT = [
    "-5 mg",
    "-75 mg/m²",
    "nan mg",
    "NaN mg",
    "inf mg",
    "-inf mg",
    "1e400 mg",
    "",
    "   ",
    "mg",
    "75 furlongs",
    "75 mg/furlong",
    "10**10**10 mg",
    "10^10^10 mg",
    "1 10**10**10/L",
    "1 m**1000",
    "75 10",  # a number where the unit should be
    "1 mg" * 40,
    "7" * 500 + " mg",
    "75 mg" + " " * 200,
    "75 mg/m²\x00",
    "75 mg; drop table",
    None,
    75,
    75.0,
    b"75 mg",
    ["75 mg"],
]


@pytest.mark.parametrize("text", BAD_TEXT, ids=lambda t: repr(t)[:30])
def test_bad_text_is_a_unit_error(text):
    with pytest.raises(UnitError):
        parse_quantity(text)


@pytest.mark.parametrize("text", BAD_TEXT, ids=lambda t: repr(t)[:30])
def test_bad_dose_text_is_a_unit_error(text):
    with pytest.raises(UnitError):
        parse_dose(text)


def test_unit_error_is_a_chemo_error_and_names_the_field():
    with pytest.raises(UnitError) as info:
        parse_quantity("75", "mg", field="drugs[1].dose")
    assert isinstance(info.value, ChemoError)
    assert str(info.value).startswith("drugs[1].dose: ")
    assert "\n" not in str(info.value)


def test_wrong_dimension_against_expect():
    with pytest.raises(UnitError, match="a mass"):
        parse_quantity("70 kg", "cm")
    with pytest.raises(UnitError):
        parse_quantity("9 g/m3", "mg/m**2")


def test_huge_but_finite_values_never_become_infinite():
    """1e308 g is finite; in mg it would overflow to inf: refuse, never return inf."""
    for call in (lambda: magnitude("1e308 g", "mg"),
                 lambda: parse_dose("1e308 g/m²").amount,
                 lambda: parse_quantity("1e308 g").to("mg").magnitude):
        try:
            value = call()
        except UnitError:
            continue
        except OverflowError:
            continue
        assert math.isfinite(value), "a parsed quantity became infinite"


def test_feet_and_inches():
    assert parse_quantity("5 ft 7 in", "cm").to("cm").magnitude == pytest.approx(170.18, rel=1e-12)
    assert parse_quantity("5'7\"", "cm").to("cm").magnitude == pytest.approx(170.18, rel=1e-12)
    assert magnitude("5 ft 7 in", "cm") == pytest.approx(170.18, rel=1e-12)


def test_quantity_of_another_registry_is_accepted_by_value():
    other = pint.UnitRegistry()
    q = parse_quantity(other.Quantity(75, "mg"), "mg")
    assert q.to("mg").magnitude == 75


def test_nonfinite_quantity_is_refused():
    with pytest.raises(UnitError):
        parse_quantity(Q_(float("nan"), "mg"))
    with pytest.raises(UnitError):
        parse_quantity(Q_(float("inf"), "mg"))


# ---------------------------------------------------------------- properties

@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=1e-6, max_value=1e9, allow_nan=False, allow_infinity=False))
def test_grams_are_a_thousand_milligrams(x):
    q = parse_quantity(f"{x} g")
    assert q.to("mg").magnitude == pytest.approx(1000 * x, rel=1e-12)
    assert magnitude(f"{x} g", "mg") == pytest.approx(1000 * x, rel=1e-12)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_text_gives_a_finite_quantity_or_a_unit_error(text):
    for parse in (parse_quantity, parse_dose):
        try:
            result = parse(text)
        except UnitError:
            continue
        value = result.magnitude if hasattr(result, "magnitude") else result.amount
        assert math.isfinite(value) and value >= 0


UNIT_WORDS = ["mg", "g", "m", "m2", "m²", "㎡", "/", "*", "^", "**", "10", "9", "⁹", "×", "x", "L", "dL", "µ",
              "mol", "%", "G/L", "1.73", "min", "kg", "(", ")", " ", "-", "e", ".", ",", "ft", "in", "'"]


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=0, max_value=1e6, allow_nan=False), st.lists(st.sampled_from(UNIT_WORDS), max_size=8))
def test_unit_like_junk_gives_a_quantity_or_a_unit_error(number, words):
    text = f"{number} " + "".join(words)
    for parse in (parse_quantity, parse_dose):
        try:
            parse(text)
        except UnitError:
            pass
    try:
        magnitude(text, "mg")
    except UnitError:
        pass


@pytest.mark.parametrize("text", ["60 mL/min/1.73", "141 mg/1.73", "170 m/100", "170 %*m", "5 mg/2 L"])
def test_a_number_or_percent_inside_a_unit_is_refused(text):
    """A number inside the unit silently rescales the value (60 mL/min/1.73 is 34.7 mL/min)."""
    with pytest.raises(UnitError):
        parse_quantity(text)


@pytest.mark.parametrize("text", ["1.5 ×10⁹/L", "1200 /uL", "62 mL/min/1.73 m²", "2 mg/m**2", "50 %"])
def test_count_factors_leading_ones_and_exponents_are_not_numbers_inside_a_unit(text):
    parse_quantity(text)
