"""The one unit registry of the program, and the parser for what people write.

Protocols, charts and lab systems write units in many ways: ``mg/m²``, ``mg/m2``,
``g/㎡``, ``×10⁹/L``, ``/µL``, ``mL/min/1.73 m²``.  Everything here turns such text
into a pint Quantity of the one registry, or raises a :class:`UnitError` that
says what was written and what was expected.

Deliberate choices, each a trap in plain pint:

* The registry is built from ``units.txt`` beside this file, not pint's default
  file (with pint's own on-disk cache, ``cache_folder``), and units nobody writes on a chart
  (gauss, tesla, ...) cannot be parsed by accident.  ``G/L`` is read as 10⁹/L, the
  way French and Belgian lab systems write cell counts, never as gauss.
* ``/1.73 m²`` in any spelling becomes the unit ``standard_bsa`` so that
  ``mL/min/1.73m^2`` never becomes 0.578 mL·m²/min.
* Superscript digits are turned into exponents *before* Unicode NFKC folding,
  which would otherwise turn ``10⁹`` into ``109``.
* Numbers with a comma (``1,200``) are refused: thousands separator or decimal
  comma cannot be told apart.
* A dose's basis (flat, per m², per kg) is kept as its own field, because pint
  calls mg/kg dimensionless.
* Unit symbols are case-sensitive.  An unknown symbol is folded to the one chart
  symbol it matches ignoring case (``KG`` -> kg, ``CM`` -> cm), never when it starts
  with a capital M or G (mega or milli, giga or gram): ``MG`` is refused with a line
  saying to write mg, and a mega- or giga-prefixed unit pint would accept (``Mg``,
  ``ML``) is refused too, as is ``kilos`` (kiloseconds).
* Output writes ``m²`` (:func:`display_text`); ``㎡`` is accepted on input.
"""

from __future__ import annotations

import enum
import functools
import math
import re
import unicodedata
from pathlib import Path

import attrs
import pint

from .errors import UnitError

_DEFINITIONS = Path(__file__).with_name("units.txt")


def _build_registry() -> pint.UnitRegistry:
    """The registry of ``units.txt``, built by pint with its own on-disk cache (``cache_folder``,
    under chemo's cache folder; none when ``CHEMO_CACHE_DIR=off``)."""
    import pickle

    from . import cache

    try:
        return pint.UnitRegistry(str(_DEFINITIONS), autoconvert_offset_to_baseunit=False,
                                 cache_folder=cache.pint_folder())
    except (EOFError, pickle.UnpicklingError):
        # pint's cache file is being written by another chemo process at this moment (pint writes it in place),
        # or was cut short: this process reads units.txt itself, as with the cache off
        return pint.UnitRegistry(str(_DEFINITIONS), autoconvert_offset_to_baseunit=False, cache_folder=None)


ureg = _build_registry()
ureg.formatter.default_format = "~P"
pint.set_application_registry(ureg)
Q_ = ureg.Quantity
Quantity = ureg.Quantity
Unit = ureg.Unit

MAX_TEXT = 80  # longer "quantities" are refused before anything parses them
MAX_NUMBER = 1e15  # larger written numbers are no clinical value (a count of 1.5e11 /L still fits)

_SUPERSCRIPTS = {
    "⁰": "0", "¹": "1", "²": "2", "³": "3", "⁴": "4",
    "⁵": "5", "⁶": "6", "⁷": "7", "⁸": "8", "⁹": "9", "⁻": "-",
}
_SUPER_RUN = re.compile("[" + "".join(_SUPERSCRIPTS) + "]+")
_NUMBER = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(.*)$")
_COMMA_NUMBER = re.compile(r"^[+-]?\d+,\d")
_STD_BSA = re.compile(r"/\s*\(?\s*1\.73\s*\*?\s*m(?:\*\*2|2)\s*\)?")
_UNIT_EXPONENT = re.compile(r"(?<=[A-Za-zμ])(?<![\d.][eE])([23])(?![\d.])")  # m2 -> m**2, not 1e3
_GIGA_PER_L = re.compile(r"(?<![A-Za-z_])G/[Ll]\b")
_TERA_PER_L = re.compile(r"(?<![A-Za-z_])T/[Ll]\b")
_BIG_EXPONENT = re.compile(r"\*\*\s*\(?\s*-?\d{3,}|\*\*\s*\(?\s*-?\d+\s*\)?\s*\*\*")
_FEET_INCHES = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(?:ft|feet|foot|')\s*(?:\+\s*)?(\d+(?:\.\d+)?)\s*(?:in|inch|inches|\")?\s*$"
)


@functools.lru_cache(maxsize=4096)
def normalise(text: str) -> str:
    """Rewrite what people write into what the registry parses (cached: charts repeat)."""
    text = _SUPER_RUN.sub(lambda m: "**" + "".join(_SUPERSCRIPTS[c] for c in m.group()), text)
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("·", "*").replace("⋅", "*").replace("^", "**")
    text = text.strip()
    text = _STD_BSA.sub("/std_bsa", text)
    text = _UNIT_EXPONENT.sub(r"**\1", text)
    # "1.5 ×10**9/L", "1.5 x 10**9/L", "1.5*10**9/L": the count factor, not a product of units
    text = re.sub(r"(?<=[\d\s])[x×*]\s*(?=10\*\*\d)", " ", text)
    text = text.replace("×", "*")
    text = _GIGA_PER_L.sub(" 10**9/L", text)
    text = _TERA_PER_L.sub(" 10**12/L", text)
    return text


@functools.lru_cache(maxsize=512)
def _unit_factor(unit_text: str) -> pint.Quantity:
    """Parse the unit part of a quantity (``mg/m**2``, ``10**9/L``) once; cached."""
    expr = unit_text.strip()
    if not expr:
        raise UnitError("no unit given")
    if expr.startswith("*"):
        raise UnitError(f"cannot read {unit_text!r} as a unit")
    if not re.search(r"[A-Za-zμ%]", expr):
        raise UnitError(f"{unit_text!r} is a number, not a unit")
    if expr.startswith("/"):
        expr = "1" + expr
    if _BIG_EXPONENT.search(expr):
        raise UnitError(f"unit {unit_text!r} has an exponent no chart would write")
    if not re.fullmatch(r"[A-Za-zμ_%0-9*/().\s+-]+", expr):
        raise UnitError(f"unit {unit_text!r} has characters that are not part of a unit")
    # a number inside a unit ("mL/min/1.73", "m/100") silently rescales the value:
    # only a leading count factor (10**9/L), a leading 1 (1/µL) and exponents may be numbers
    bare = re.sub(r"^\s*(?:10\s*\*\*\s*-?\d+|1(?=\s*/))", "", expr)
    bare = re.sub(r"\*\*\s*\(?\s*-?\d+\s*\)?", "", bare)
    if re.search(r"\d", bare):
        hint = " (an indexed GFR is written mL/min/1.73 m²)" if "1.73" in bare else ""
        raise UnitError(f"unit {unit_text!r} has a number inside it{hint}")
    if "%" in expr and expr.strip() != "%":
        raise UnitError(f"unit {unit_text!r}: % stands alone, not inside another unit")
    try:
        parsed = ureg.parse_expression(expr)
    except pint.UndefinedUnitError as exc:
        folded = _fold_case(expr, unit_text)  # "KG" -> "kg"; a capital M or G is refused (mega/milli, giga/gram)
        if folded == expr:
            names = ", ".join(exc.unit_names) if isinstance(exc.unit_names, (list, tuple)) else exc.unit_names
            raise UnitError(f"unknown unit {names!r} in {unit_text!r}") from None
        return _unit_factor(folded)
    except Exception:  # pint's parser raises many types on junk text
        raise UnitError(f"cannot read {unit_text!r} as a unit") from None
    _refuse_unclinical(parsed, unit_text)
    if not isinstance(parsed, pint.Quantity):
        raise UnitError(f"{unit_text!r} is a number, not a unit")
    if not math.isfinite(parsed.magnitude) or parsed.magnitude <= 0:
        raise UnitError(f"cannot read {unit_text!r} as a unit")
    if any(power != int(power) or abs(power) > 4 for _, power in parsed.unit_items()):
        raise UnitError(f"unit {unit_text!r} has an exponent no chart would write")
    return parsed


# The unit symbols charts write, for folding case variants ("KG", "Kg" -> "kg").  A token is folded only
# when exactly one of these matches it ignoring case, and never when it starts with a capital M or G: there
# M is mega (10⁶) where m is milli (10⁻³), G giga where g is gram, so "MG", "ML", "Mg" are refused, not guessed.
CHART_SYMBOLS = ("kg", "g", "mg", "µg", "ug", "mcg", "ng", "lb", "lbs", "cm", "mm", "m", "in", "ft", "L", "mL",
                 "dL", "µL", "uL", "mol", "mmol", "µmol", "umol", "U", "IU", "min", "h", "day", "days", "week",
                 "weeks", "kat", "µkat", "ukat")
_FOLD: dict = {}
for _symbol in CHART_SYMBOLS:
    _FOLD.setdefault(_symbol.casefold(), set()).add(_symbol)
_TOKEN = re.compile(r"[A-Za-zµμ_]+")


def _known(token: str) -> bool:
    try:
        ureg.parse_units(token)
        return True
    except Exception:  # pint raises several types for an unknown name
        return False


def _usual(unit_text: str) -> str:
    """The chart symbols a miscased unit stands for ("MG/DL" -> "mg/dL"); "" when there is no single answer."""
    out, changed = [], False
    for token in _TOKEN.findall(unit_text):
        matches = _FOLD.get(token.casefold(), set())
        if len(matches) != 1:
            return ""
        out.append(next(iter(matches)))
        changed |= out[-1] != token
    return _shown(_TOKEN.sub(lambda m, it=iter(out): next(it), unit_text.strip())) if changed else ""


def _shown(unit_text: str) -> str:
    """A normalised unit as people write it: ``mg/m**2`` -> ``mg/m²``."""
    return unit_text.strip().replace("**2", "²").replace("**3", "³").replace("**", "^")


def _fold_case(expr: str, unit_text: str) -> str:
    """``expr`` with each unknown token replaced by the one chart symbol it matches ignoring case; refuses a
    token that starts with a capital M or G (mega or milli, giga or gram) rather than guess."""

    def fold(match) -> str:
        token = match.group()
        if _known(token):
            return token
        matches = _FOLD.get(token.casefold(), set())
        if token[0] in "MG" and matches:
            usual = _usual(unit_text) or " or ".join(sorted(matches))
            if len(token) == 1:
                why = ("a capital M is mega (10⁶) or molar, not metre" if token == "M"
                       else "a capital G is giga (10⁹, as in G/L), not gram")
            else:
                why = (f"a capital {token[0]} at the start of a unit is the prefix "
                       + ("mega (10⁶), not milli" if token[0] == "M" else "giga (10⁹), not gram"))
            raise UnitError(f"unit {token!r} in {_shown(unit_text)!r}: unit symbols are case-sensitive, and {why}: "
                            f"write {usual}")
        if len(matches) == 1:
            return next(iter(matches))
        return token

    return _TOKEN.sub(fold, expr)


_UNCLINICAL = {"mega": "10⁶", "giga": "10⁹"}


def _refuse_unclinical(parsed, unit_text: str) -> None:
    """Units no chart writes, which a slip of the shift key makes: ``Mg`` (megagram for mg), ``ML``
    (megalitre for mL), ``kilos`` (kiloseconds)."""
    for name, _ in parsed.unit_items():
        for prefix, factor in _UNCLINICAL.items():
            if name.startswith(prefix):
                usual = _usual(unit_text)
                raise UnitError(f"unit {_shown(unit_text)!r} is {factor} {name[len(prefix):]}s (a {name}), which no "
                                "chart writes: unit symbols are case-sensitive (mg is a milligram, Mg a megagram)"
                                + (f": write {usual}" if usual else ""))
        if name == "kilosecond":
            raise UnitError(f"unit {_shown(unit_text)!r} reads as kiloseconds (a time): write kg for kilograms")


def split_number(text: str) -> tuple[float, str]:
    """``"1.2 10**9/L"`` -> ``(1.2, "10**9/L")`` after normalising; refuse junk."""
    if not isinstance(text, str):
        raise UnitError(f"expected text with a number and a unit, got {type(text).__name__} {text!r}")
    if len(text) > MAX_TEXT:
        raise UnitError(f"{text[:20]!r}... is too long to be a quantity")
    norm = normalise(text)
    if _COMMA_NUMBER.match(norm):
        raise UnitError(f"{text!r}: write numbers without commas (1200 or 1.2, not 1,200)")
    match = _NUMBER.match(norm)
    if not match:
        raise UnitError(f"{text!r} does not start with a number")
    value = float(match.group(1))
    if not math.isfinite(value) or value > MAX_NUMBER:
        raise UnitError(f"{text!r} is too large to be a clinical value")
    if value < 0:
        raise UnitError(f"{text!r}: a negative value is not possible here")
    return value, match.group(2)


def parse_quantity(text, expect: str | None = None, *, field: str | None = None) -> pint.Quantity:
    """Parse ``"75 mg/m²"`` into a Quantity; check its dimension against ``expect``.

    A text that parsed before is a look-up (:func:`_parsed`: the result is a pure function
    of the text, ``expect`` and the one registry); a text that fails is refused every
    time, its error naming this ``field``.
    """
    if type(text) is str:
        try:
            return _parsed(text, expect)
        except UnitError as exc:
            raise exc.located(field=field) from None
    return _parse_quantity(text, expect, field=field)


@functools.lru_cache(maxsize=8192)  # charts and regimen files repeat a few hundred texts
def _parsed(text: str, expect: str | None) -> pint.Quantity:
    return _parse_quantity(text, expect)


def _parse_quantity(text, expect: str | None = None, *, field: str | None = None) -> pint.Quantity:
    """Parse ``"75 mg/m²"`` into a Quantity; check its dimension against ``expect``.

    ``text`` may already be a Quantity of this registry.  ``expect`` is a unit
    (``"mg"``, ``"m"``) whose dimension the value must have.  ``field`` names
    where the text came from, for the error.
    """
    try:
        if isinstance(text, pint.Quantity):
            if not isinstance(text, Quantity):  # a Quantity of another registry
                text = Q_(text.magnitude, str(text.units))
            q = text
            if not math.isfinite(float(q.magnitude)):
                raise UnitError(f"{q} is not a finite number")
        else:
            feet = _FEET_INCHES.match(text) if isinstance(text, str) else None
            if feet:
                q = Q_(float(feet.group(1)), "ft") + Q_(float(feet.group(2)), "inch")
            else:
                value, unit_text = split_number(text)
                if not unit_text.strip():
                    raise UnitError(f"{text!r} has no unit" + (f" (expected {describe(expect, value)})" if expect else ""))
                try:
                    factor = _unit_factor(unit_text)
                except UnitError as exc:
                    if expect is None:
                        raise
                    raise UnitError(f"{text!r}: {exc.message}; expected {describe(expect, value)}") from None
                q = Q_(value * factor.magnitude, factor.units)
                if not math.isfinite(q.magnitude):
                    raise UnitError(f"{text!r} is too large to be a clinical value")
        if expect is not None and not same_kind(q.units, unit_quantity(expect).units):
            number = q.magnitude if isinstance(text, pint.Quantity) else split_number(text)[0]
            raise UnitError(f"{text!r} is {dimension_name(q)}: expected {describe(expect, number)}")
        return q
    except UnitError as exc:
        raise exc.located(field=field) from None
    except ArithmeticError:  # pint overflowing on an absurd unit or number
        raise UnitError(f"{text!r} cannot be a clinical value", field=field) from None


def magnitude(text, unit: str, *, field: str | None = None) -> float:
    """The number of ``unit`` in ``text``: :func:`parse_quantity` then :func:`in_unit`, kept per text
    and unit (body sizes repeat); an error names ``field`` and is raised afresh every time."""
    try:
        return _magnitude(text, unit) if type(text) is str else _magnitude_of(text, unit)
    except UnitError as exc:
        raise exc.located(field=field) from None


def _magnitude_of(text, unit: str) -> float:
    result = in_unit(parse_quantity(text, unit), unit)
    if not math.isfinite(result):
        raise UnitError(f"{text!r} is too large to be a clinical value")
    return result


_magnitude = functools.lru_cache(maxsize=8192)(_magnitude_of)


def unit_quantity(unit_text: str) -> pint.Quantity:
    """A written unit as a Quantity: ``"10^9/L"`` is 1e9 / L, ``"mg/m²"`` is 1 mg/m²;
    ``""`` is a pure number."""
    if not unit_text.strip():
        return Q_(1.0, "")
    return _unit_factor(normalise(unit_text))


def in_unit(q: pint.Quantity, unit_text: str) -> float:
    """How many of the written unit ``unit_text`` make ``q`` (``in_unit(q, "10^9/L")``)."""
    factor, scale = _in_unit_factors(q.units, unit_text)
    return q.magnitude * factor / scale  # the same float operations as q.to(...).magnitude / scale


@functools.lru_cache(maxsize=1024)
def _in_unit_factors(units, unit_text: str) -> tuple[float, float]:
    """Cached per (units, written unit): pint's conversion factor from ``units`` to the
    written unit's units, and the written unit's own magnitude (10⁹ for ``10^9/L``).
    Pure functions of the one registry, which never changes after start-up; a failed
    conversion raises (pint's DimensionalityError) and is not cached."""
    target = unit_quantity(unit_text)
    return Q_(1.0, units).to(target.units).magnitude, target.magnitude


def compatible(q: pint.Quantity, unit_text: str) -> bool:
    """Whether ``q`` converts to the written unit (:func:`same_kind`, cached per pair of units)."""
    return same_kind(q.units, unit_quantity(unit_text).units)


@functools.lru_cache(maxsize=4096)
def same_kind(units, target) -> bool:
    """Convertible, and not by accident: pint calls mg/kg dimensionless, like %,
    but a dose per body weight is no percentage.  (Cached per pair of units: a
    pure function of the one registry.)"""
    if not (1 * units).is_compatible_with(target):
        return False
    if (1 * units).dimensionless:
        return _pure_number(units) == _pure_number(target)
    return True


def _unit_items(units) -> tuple:
    """(name, power) pairs of a Unit (pint's public ``Quantity.unit_items``)."""
    return tuple(Q_(1, units).unit_items())


def _pure_number(units) -> bool:
    return all(ureg.Unit(name).dimensionless for name, _ in _unit_items(units))


def dimension_name(q) -> str:
    """Words for a quantity's kind, for error messages."""
    dims = q.dimensionality
    if q.dimensionless and not _pure_number(q.units):
        return f"a ratio of units ({format_unit(q.units)})"
    for unit, words in _KIND_WORDS:
        if dims == ureg.Unit(unit).dimensionality:
            return words
    return f"in {q.units:~P}"


def describe(unit: str | None, number: float | None = None) -> str:
    """What a field expects: "a mass (e.g. kg)", or with the number written, "a mass, e.g. 75 kg"."""
    if unit is None:
        return "a value with a unit"
    shown = display_text(unit.replace("**2", "²").replace("**3", "³"))
    for kind_unit, words in _KIND_WORDS:
        if ureg.Unit(kind_unit).dimensionality == ureg.Unit(unit).dimensionality:
            return f"{words}, e.g. {number:g} {shown}" if number is not None else f"{words} (e.g. {shown})"
    return f"a value in {shown}"


def display_text(text: str) -> str:
    """Text as output writes it: ``m²`` for the single character ``㎡`` (accepted on input, as seed 004 writes it)."""
    if "㎡" not in text and "㎥" not in text:  # nearly every text: no copies made (a hot path of verification)
        return text
    return text.replace("㎡", "m²").replace("㎥", "m³")


_KIND_WORDS = (
    ("mg", "a mass"),
    ("m", "a length"),
    ("m**2", "an area"),
    ("mg/m**2", "a mass per body surface"),
    ("mg/m**3", "a mass per volume"),
    ("mmol/L", "an amount of substance per volume"),
    ("1/L", "a count per volume"),
    ("U/L", "an enzyme activity per volume"),
    ("mL/min", "a volume per time"),
    ("mL/min/m**2", "a flow per body surface"),
    ("day", "a time"),
    ("%", "a percentage"),
)


def format_quantity(q: pint.Quantity, digits: int | None = None) -> str:
    """``75 mg/m²``, ``1.5 ×10⁹/L``, ``62 mL/min/1.73 m²``."""
    if q.is_compatible_with("1/L"):
        count = q.to("1/L").magnitude / 1e9
        text = f"{count:.{digits}f}" if digits is not None else f"{count:g}"
        return f"{text} ×10⁹/L"
    mag = q.magnitude
    text = f"{mag:.{digits}f}" if digits is not None else f"{mag:g}"
    return f"{text} {format_unit(q.units)}".strip()


def format_unit(unit) -> str:
    text = f"{unit:~P}"
    return text.replace("std_bsa", "1.73 m²").replace("μ", "µ")


# ---------------------------------------------------------------- dose basis

class Basis(enum.Enum):
    """What a dose is counted against: nothing, body surface, body weight, or a target AUC."""

    FLAT = "flat"
    PER_M2 = "per m²"
    PER_KG = "per kg"
    AUC = "AUC"

    @property
    def unit(self) -> str:
        return {"flat": "mg", "per m²": "mg/m**2", "per kg": "mg/kg", "AUC": "mg*min/mL"}[self.value]

    @property
    def label(self) -> str:
        return {"flat": "mg", "per m²": "mg/m²", "per kg": "mg/kg", "AUC": "mg/mL·min (AUC)"}[self.value]


@attrs.frozen
class Dose:
    """A dose as a protocol writes it: ``75 mg/m²`` is 75 mg on the per-m² basis."""

    amount: float  # mg, or mg per m², or mg per kg
    basis: Basis = attrs.field(validator=attrs.validators.instance_of(Basis))
    text: str

    def __str__(self) -> str:
        return f"{self.amount:g} {self.basis.label}"


_AUC = re.compile(r"^\s*AUC\s*[=:]?\s*(\d+(?:\.\d+)?)\s*(?:mg\s*/\s*mL\s*[*·⋅]?\s*min)?\s*$", re.IGNORECASE)


def parse_dose(text, *, field: str | None = None) -> Dose:
    """Parse ``"75 mg/m²"``, ``"1 g/㎡"``, ``"10 mg"``, ``"2 mg/kg"``, ``"AUC 5"`` into a :class:`Dose`.

    Cached like :func:`parse_quantity`: a text that parsed before is a look-up (a Dose
    is frozen); a refused text is refused afresh each time, naming ``field``."""
    if type(text) is str:
        try:
            return _parsed_dose(text)
        except UnitError as exc:
            raise exc.located(field=field) from None
    return _parse_dose(text, field=field)


@functools.lru_cache(maxsize=8192)
def _parsed_dose(text: str) -> Dose:
    return _parse_dose(text)


def _parse_dose(text, *, field: str | None = None) -> Dose:
    try:
        auc = _AUC.match(text) if isinstance(text, str) else None
        if auc:
            return Dose(amount=float(auc.group(1)), basis=Basis.AUC, text=text)
        value, unit_text = split_number(text)
        if not unit_text.strip():
            raise UnitError(f"{text!r} has no unit (expected mg, mg/m² or mg/kg)")
        factor = _unit_factor(unit_text)
        if factor.is_compatible_with(Basis.AUC.unit):
            return Dose(amount=factor.to(Basis.AUC.unit).magnitude * value, basis=Basis.AUC, text=text)
        numerator, denominator = _split_units(factor.units)
        if (denominator is not None and numerator.dimensionality == ureg.Unit("mg").dimensionality
                and ureg.Unit("day").dimensionality in _dimension_parts(denominator)):
            raise UnitError(
                f"{text!r}: write the dose without '/day' or '/cycle' and say per day or per cycle separately")
        if numerator.dimensionality != ureg.Unit("mg").dimensionality:
            raise UnitError(
                f"{text!r} is not a dose: expected a mass (mg), a mass per body surface (mg/m²) "
                "or a mass per body weight (mg/kg)"
            )
        if denominator is None:
            basis = Basis.FLAT
        elif denominator.dimensionality == ureg.Unit("m**2").dimensionality:
            basis = Basis.PER_M2
        elif denominator.dimensionality == ureg.Unit("kg").dimensionality:
            basis = Basis.PER_KG
        else:
            what = dimension_name(Q_(1, factor.units))
            raise UnitError(
                f"{text!r} is {what}, not a dose: expected mg, mg/m² or mg/kg"
            )
        amount = Q_(value * factor.magnitude, factor.units).to(basis.unit).magnitude
        if not math.isfinite(amount):
            raise UnitError(f"{text!r} is too large to be a dose")
        return Dose(amount=amount, basis=basis, text=text)
    except UnitError as exc:
        raise exc.located(field=field) from None


def _dimension_parts(unit) -> list:
    return [ureg.Unit(name).dimensionality for name, _ in _unit_items(unit)]


def _split_units(units):
    """Numerator and denominator of a unit, each as a Unit (or None)."""
    num, den = [], []
    for name, power in _unit_items(units):
        (num if power > 0 else den).append(f"{name}**{abs(power)}")
    numerator = ureg.Unit("*".join(num)) if num else ureg.Unit("")
    denominator = ureg.Unit("*".join(den)) if den else None
    return numerator, denominator
