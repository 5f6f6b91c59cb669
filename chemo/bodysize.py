"""Body size and renal function: BSA (five formulas), Cockcroft-Gault, CKD-EPI 2021.

Inputs are Quantities or text with units (``"170 cm"``, ``"5 ft 7 in"``, ``"154 lb"``,
``"97 µmol/L"``); results are Quantities.  The coefficients and the plausibility
limits come from ``regimens/library/body-size.toml``; an input outside those
limits is an error, never clamped.  There is no BSA cap here: a cap is a
regimen's choice, applied and reported by the dose calculation.
"""

from __future__ import annotations

import functools
import math
import os
import sys

from .errors import BodySizeError, ChemoError
from .units import Q_, in_unit, magnitude, parse_quantity

SEXES = ("female", "male")


def load_library(directory=None):
    """chemo.library.load_library, imported on first use: BSA alone does not need it."""
    from .library import load_library as load

    return load(directory)


@functools.lru_cache(maxsize=8)
def _body_size(env: str | None) -> dict:
    """body-size.toml as the checked library holds it: from the cache when the library files
    checked clean before (chemo.cache.body_size), else from load_library.  Per process and
    $CHEMO_REGIMENS, as load_library is."""
    if "chemo.library" in sys.modules:  # already loaded in this process: its table, without hashing the files again
        return load_library().body_size
    from .cache import body_size

    data = body_size()
    return data if isinstance(data, dict) else load_library().body_size


def _table() -> dict:
    """body-size.toml's checked table for this process's $CHEMO_REGIMENS."""
    return _body_size(os.environ.get("CHEMO_REGIMENS"))


def _limits():
    return _table()["limits"]


@functools.lru_cache(maxsize=32)
def _range(texts: tuple, unit: str) -> tuple[float, float]:
    """A library range (``("30 cm", "250 cm")``) in ``unit``, worked out once."""
    low, high = (in_unit(parse_quantity(v), unit) for v in texts)
    return low, high


_WHAT = {"height": "a height", "weight": "a weight", "bsa": "a body surface area"}


def _in_range(value, key: str, unit: str, what: str) -> float:
    """``value`` in ``unit``, checked against the library's plausible range."""
    try:
        number = magnitude(value, unit, field=what)  # cached per unit text: a hot path
    except ChemoError as exc:
        if isinstance(value, str) and value.strip().startswith("-"):
            raise BodySizeError(f"{value!r}: a negative value is not possible for {_WHAT.get(what, what)}",
                                field=what) from None
        raise BodySizeError(exc.message, field=what) from None
    low, high = _range(tuple(_limits()[key]), unit)
    if number <= 0:
        raise BodySizeError(f"{value!r} must be more than 0", field=what)
    if not low <= number <= high:
        shown = unit.replace("**2", "²")
        raise BodySizeError(
            f"{value!r} ({number:.4g} {shown}) is outside the plausible range {low:g}-{high:g} {shown}", field=what)
    return number


def height_cm(height) -> float:
    return _in_range(height, "height", "cm", "height")


def weight_kg(weight) -> float:
    return _in_range(weight, "weight", "kg", "weight")


def bsa_given(area) -> float:
    """A BSA entered directly, in m², checked against the library's plausible range."""
    return _in_range(area, "bsa", "m**2", "bsa")


def bmi(h: float, w: float) -> float:
    """Body mass index in kg/m² from height (cm) and weight (kg)."""
    return w / (h / 100) ** 2


def check_pair(h: float, w: float, area: float | None = None, formula: str | None = None) -> float:
    """Height and weight checked against each other: the BMI within the library's plausible adult range
    (``[plausibility] bmi``) and a BSA computed from them within the range a BSA given directly must meet
    (``[limits] bsa``).  Returns the BMI; raises :class:`BodySizeError` (naming the weight) otherwise.
    Reads the body-size table as :func:`_body_size` gives it (the cache, when the library checked clean),
    never chemo.library itself: ``chemo bsa`` must not import it."""
    body = _table()
    value = bmi(h, w)
    plausible = body.get("plausibility")
    if plausible:
        low, high = _range(tuple(plausible["bmi"]), "kg/m**2")
        if not low <= value <= high:
            raise BodySizeError(
                f"a weight of {w:g} kg with a height of {h:g} cm is a BMI of {value:.3g} kg/m², outside the plausible "
                f"adult range {low:g}-{high:g} kg/m² ({plausible['bmi_source'].split(':')[0]}): check the weight, the "
                "height and their units", field="weight")
    if area is not None:
        low, high = _range(tuple(_limits()["bsa"]), "m**2")
        if not low <= area <= high:
            name = formulas()[formula]["name"] if formula in formulas() else formula
            raise BodySizeError(
                f"a height of {h:g} cm and a weight of {w:g} kg give a BSA of {area:.2f} m² ({name}), outside the "
                f"plausible range {low:g}-{high:g} m² that a BSA given directly must meet: check the height, the "
                "weight and their units", field="weight")
    return value


def obesity_note(value: float | None) -> dict | None:
    """The library's note for an obese adult (``[obesity]``: ASCO 2021) when ``value`` (BMI) reaches its BMI."""
    note = _table().get("obesity")
    if value is None or not note:
        return None
    threshold = parse_quantity(note["bmi"]).to("kg/m**2").magnitude
    if value < threshold - 1e-9:
        return None
    return {"text": f"BMI {value:.1f} kg/m² (≥ {threshold:g}): {note['note']}", "source": note["source"]}


def formulas() -> dict:
    return _table()["bsa"]


def bsa(height, weight, formula: str = "mosteller"):
    """Body surface area in m² by the named formula (default Mosteller)."""
    table = formulas()
    key = str(formula).strip().lower()
    if key not in table:
        raise BodySizeError(f"unknown formula {formula!r} (known: {', '.join(table)})", field="formula")
    return Q_(bsa_m2(height_cm(height), weight_kg(weight), key), "m**2")


def bsa_m2(h: float, w: float, formula: str = "mosteller") -> float:
    """The formula on plain numbers (height cm, weight kg) already checked."""
    f = formulas()[formula]
    form = f["form"]
    if form == "mosteller":
        return math.sqrt(h * w / f["divisor"])
    if form == "power":
        return f["coefficient"] * w ** f["weight_exponent"] * h ** f["height_exponent"]
    if form == "boyd":
        grams = w * 1000
        return f["coefficient"] * h ** f["height_exponent"] * grams ** (
            f["weight_exponent"] - f["log_slope"] * math.log10(grams))
    raise ValueError(f"body-size.toml: bsa.{formula}.form {form!r}")  # validated by the library


def _age(age) -> float:
    if isinstance(age, bool) or not isinstance(age, (int, float)) or not math.isfinite(age):
        raise BodySizeError(f"{age!r}: expected an age in years", field="age")
    low, high = _limits()["age"]
    if not low <= age <= high:
        raise BodySizeError(f"{age!r} years is outside {low}-{high}: the equations are for adults", field="age")
    return float(age)


def _sex(sex) -> str:
    value = str(sex).strip().lower()
    if value not in SEXES:
        raise BodySizeError(f"{sex!r}: expected 'female' or 'male'", field="sex")
    return value


def creatinine_mg_dl(creatinine) -> float:
    analyte = load_library().analytes["creatinine"]
    try:
        q = parse_quantity(creatinine, None, field="creatinine")
        mg_dl = analyte.value_in(q, "mg/dL")
    except ChemoError as exc:
        raise BodySizeError(exc.message, field="creatinine") from None
    except ValueError:
        raise BodySizeError(f"{creatinine!r} is not a creatinine concentration (mg/dL or µmol/L)", field="creatinine") from None
    low, high = _range(tuple(_limits()["creatinine"]), "mg/dL")
    if not low <= mg_dl <= high:
        raise BodySizeError(f"{creatinine!r} ({mg_dl:.3g} mg/dL) is outside {low:g}-{high:g} mg/dL", field="creatinine")
    return mg_dl


def crcl_cockcroft_gault(creatinine, age, weight, sex):
    """Creatinine clearance in mL/min (Cockcroft-Gault, actual body weight)."""
    f = load_library().body_size["crcl"]["cockcroft-gault"]
    scr, years, kg, sx = creatinine_mg_dl(creatinine), _age(age), weight_kg(weight), _sex(sex)
    value = (f["age_offset"] - years) * kg / (f["divisor"] * scr)
    if sx == "female":
        value *= f["female_factor"]
    return Q_(value, "mL/min")


def egfr_ckd_epi_2021(creatinine, age, sex):
    """eGFR in mL/min/1.73 m² by the race-free CKD-EPI 2021 creatinine equation."""
    f = load_library().body_size["egfr"]["ckd-epi-2021"]
    scr, years, sx = creatinine_mg_dl(creatinine), _age(age), _sex(sex)
    ratio = scr / f["kappa"][sx]
    value = (f["coefficient"] * min(ratio, 1) ** f["alpha"][sx] * max(ratio, 1) ** f["high_exponent"]
             * f["age_base"] ** years)
    if sx == "female":
        value *= f["female_factor"]
    return Q_(value, "mL/min/std_bsa")


def egfr_deindexed(egfr, bsa_value):
    """An indexed eGFR (mL/min/1.73 m²) as mL/min for this patient: eGFR × BSA / 1.73."""
    analyte = load_library().analytes["egfr"]
    try:
        q = parse_quantity(egfr, "mL/min/std_bsa", field="egfr")
    except ChemoError as exc:
        raise BodySizeError(exc.message, field="egfr") from None
    if analyte.is_ambiguous(q):
        raise BodySizeError(f"{egfr!r} is {analyte.ambiguous_message}", field="egfr")
    area = bsa_given(bsa_value)
    return (q * Q_(area, "m**2")).to("mL/min")


def ideal_body_weight_kg(height_cm: float, sex) -> float:
    """Ideal body weight (Devine) in kg: the library's base for the sex + its kg per inch over its height
    (``[crcl_weight]``); a height below that height gives the base."""
    p = load_library().body_size["crcl_weight"]
    base = in_unit(parse_quantity(p[f"ideal_{_sex(sex)}"]), "kg")
    per_inch = in_unit(parse_quantity(p["ideal_per_inch"]), "kg")
    inches = max(0.0, in_unit(Q_(height_cm, "cm") - parse_quantity(p["ideal_from_height"]), "inch"))
    return base + per_inch * inches


def crcl_weight(height_cm: float | None, weight_kg_value: float, sex) -> tuple[float, str, str]:
    """(kg, basis, words) of the body weight Cockcroft-Gault is given, by the library's ``[crcl_weight]`` policy:
    basis ``actual``, ``ideal`` or ``adjusted``; the words name the BMI, the rule and the weights.  Without a
    height only the actual weight can be used, and the words say so."""
    p = load_library().body_size["crcl_weight"]
    if height_cm is None:
        return weight_kg_value, "actual", f"actual weight {weight_kg_value:g} kg (no height recorded for IBW or BMI)"
    value = bmi(height_cm, weight_kg_value)
    ideal = ideal_body_weight_kg(height_cm, sex)
    fraction = parse_quantity(p["adjusted_fraction"], "%").to("").magnitude
    adjusted = ideal + fraction * (weight_kg_value - ideal)
    if value >= in_unit(parse_quantity(p["obese_bmi"]), "kg/m**2"):
        basis, why = p["obese"], f"BMI {value:.1f} kg/m² ≥ {p['obese_bmi']}"
    elif weight_kg_value < ideal:
        basis, why = p["below_ideal"], f"actual weight below the ideal {ideal:.1f} kg"
    else:
        basis, why = p["otherwise"], f"BMI {value:.1f} kg/m²"
    kg = {"actual": weight_kg_value, "ideal": ideal, "adjusted": adjusted}[basis]
    detail = {"actual": f"actual weight {weight_kg_value:g} kg",
              "ideal": f"ideal body weight {ideal:.1f} kg (Devine; actual {weight_kg_value:g} kg)",
              "adjusted": f"adjusted body weight {adjusted:.1f} kg (ideal {ideal:.1f} + {fraction:g} × (actual "
                          f"{weight_kg_value:g} − ideal))"}[basis]
    return kg, basis, f"{detail}; {why}"
