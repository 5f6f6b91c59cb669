"""Order files: a prescription for one cycle, read defensively.

An order file (``docs/order-format.md``) names the regimen, the cycle, the dose
level, the patient's height and weight (or a BSA) and lists the ordered lines::

    regimen = "doxorubicin-ifosfamide"   # id or path
    cycle = 1
    dose_level = 0                       # optional; or a table {anlotinib = -1}
    height = "170 cm"
    weight = "75 kg"
    [[line]]
    drug = "doxorubicin"
    day = 1
    dose = "47 mg"

Scripts write these files, so a file that cannot be read as an order (missing
or mistyped keys, a cycle that is not a number, a dose that is not a number) is
an :class:`OrderError` (exit 2) naming the file and the field:
``ORDER.toml: line[2].dose: ...``.  A dose that *is* a number but whose unit is
not a mass or a mass per body size (``"141 mL"``) is not a broken file: it is a
line the verifier stops (``unit-error``), so it is kept on the line.

Only the structure is checked here.  Whether the regimen exists, the cycle is
one of its cycles and the body size is plausible is checked when the order is
verified (:mod:`chemo.verify`), with the same ``file: field: message`` errors.
"""

from __future__ import annotations

import functools
import math

import attrs

from .datafile import FILE, Problem, Table, read_toml
from .errors import ChemoError, UnitError
from .regimen import MAX_CYCLE_DAYS
from .units import Basis, parse_dose, split_number

TOP_KEYS = ("regimen", "cycle", "dose_level", "height", "weight", "bsa", "formula", "patient", "mrn", "note", "line")
LINE_KEYS = ("drug", "day", "dose", "note")
MAX_LINES = 200  # three regimens of at most 4 drugs × 21 days fit many times over
MAX_CYCLE = 1000  # a larger cycle number is no cycle of any regimen: refused here, before the regimen is read


class OrderError(ChemoError):
    """An order file that cannot be read as an order (exit 2)."""

    exit_code = 2


@attrs.frozen
class OrderedDose:
    """A dose as ordered: ``"75 mg/m²"`` is 75 on the per-m² basis (in mg/m²)."""

    text: str
    amount: float | None  # mg, mg/m² or mg/kg; None when the unit is not a dose
    basis: Basis | None
    unit_problem: str | None = None  # why the unit is not a dose (a unit-error line)


@attrs.frozen
class OrderLine:
    index: int  # 1-based, as the file counts [[line]] tables
    drug: str
    day: int
    dose: OrderedDose
    note: str | None = None


@attrs.frozen
class Order:
    path: str  # the file, or a name for an order built in memory
    regimen: str  # id or path, as written
    cycle: int
    dose_level: object  # int for every drug, or {drug: int}
    height: str | None
    weight: str | None
    bsa: str | None
    formula: str
    lines: tuple
    patient: str | None = None
    mrn: str | None = None  # the patient in the record: the order is then checked against it (record-mismatch)


# ------------------------------------------------------------------ doses

def _dose_unit(unit_text: str) -> tuple:
    """(basis, factor to mg / mg/m² / mg/kg) of a written unit, or (None, None)."""
    try:
        dose = parse_dose(f"1 {unit_text}")
    except UnitError:
        return None, None
    return dose.basis, dose.amount


@functools.lru_cache(maxsize=8192)  # a pure function of the text: a pharmacy's orders repeat a few thousand texts
def ordered_dose(text: str) -> OrderedDose:
    """Read an ordered dose.  Text that is not a number raises :class:`UnitError`
    (a broken file); a number with a unit that is not a dose gives an
    :class:`OrderedDose` with ``unit_problem`` set (a unit-error line)."""
    value, unit_text = split_number(text)
    if value <= 0 or not math.isfinite(value):
        raise UnitError(f"{text!r}: an ordered dose must be more than 0")
    unit_text = unit_text.strip()
    if not unit_text:
        return OrderedDose(text, None, None, f"{text!r} has no unit: write mg, g, mg/m² or mg/kg")
    basis, factor = _dose_unit(unit_text)
    if basis is None:
        try:  # the slow path, only for the message
            parse_dose(text)
            problem = f"{text!r} is not a dose: expected mg, g, mg/m² or mg/kg"
        except UnitError as exc:
            problem = exc.message if repr(text) in exc.message else f"{text!r}: {exc.message}"
        return OrderedDose(text, None, None, problem)
    return OrderedDose(text, value * factor, basis)


# ------------------------------------------------------------------ reading

def read_order(path) -> Order:
    """Read an order file; an :class:`OrderError` naming the file and field if it is not one."""
    source = read_toml(path)
    problems = list(source.problems)
    order = None
    if source.document is not None:
        order = order_from_document(source.document, source.path, problems)
    raise_order_problems(problems)
    return order


def order_from_document(document, name: str = "(order)", problems: list | None = None) -> Order | None:
    """An :class:`Order` from a parsed TOML document.

    With ``problems`` given, problems are appended to it (and None may be
    returned); without, the first problem raises :class:`OrderError`.
    """
    own = problems is None
    problems = [] if own else problems
    doc = Table(document, "", problems, name)
    doc.allow(*TOP_KEYS)
    regimen = doc.text("regimen")
    cycle = doc.integer("cycle", 1, MAX_CYCLE)  # the regimen's own count is checked with the regimen (verify)
    dose_level = _dose_level(doc)
    height = doc.get("height", str, False, 'text with a unit (e.g. "170 cm")')
    weight = doc.get("weight", str, False, 'text with a unit (e.g. "75 kg")')
    bsa = doc.get("bsa", str, False, 'text with a unit (e.g. "1.9 m²")')
    if bsa is None and "bsa" not in doc.data:
        if height is None and weight is None and "height" not in doc.data and "weight" not in doc.data:
            doc.problem('missing: give height and weight (e.g. height = "170 cm", weight = "75 kg"), or bsa (e.g. bsa = "1.9 m²")',
                        at="height")
        elif height is None and "height" not in doc.data:
            doc.problem('missing: give the height with the weight (e.g. "170 cm"), or a bsa', at="height")
        elif weight is None and "weight" not in doc.data:
            doc.problem('missing: give the weight with the height (e.g. "75 kg"), or a bsa', at="weight")
    elif bsa is not None and "height" in doc.data:
        doc.problem("give height and weight, or bsa (with an optional weight for per-kg doses), not both", at="bsa")
    formula = doc.text("formula", required=False) or "mosteller"
    patient = doc.text("patient", required=False)
    mrn = doc.text("mrn", required=False)
    if mrn is not None and not 1 <= len(mrn.strip()) <= 64:
        doc.problem(f"{mrn!r}: an MRN is 1-64 characters", at="mrn")
    doc.text("note", required=False)
    lines = []
    raw = doc.data.get("line")
    if isinstance(raw, list) and raw and all(type(v) is dict for v in raw):
        if len(raw) > MAX_LINES:
            doc.problem(f"{len(raw)} lines: an order for one cycle has at most {MAX_LINES}", at="line")
            raw = []
        for i, data in enumerate(raw, 1):
            line = _line(Table(data, f"line[{i}]", problems, name))
            if line is not None:
                lines.append(line)
    elif isinstance(raw, list) and not raw:
        doc.problem("no lines: an order lists at least one [[line]] with drug, day and dose", at="line")
    else:
        doc.tables("line", required=True)  # records what is wrong with it
    if own:
        raise_order_problems(problems)
    if problems or regimen is None or cycle is None or dose_level is None:
        return None
    return Order(path=name, regimen=regimen, cycle=cycle, dose_level=dose_level, height=height, weight=weight,
                 bsa=bsa, formula=formula, lines=tuple(lines), patient=patient,
                 mrn=None if mrn is None else mrn.strip())


def _dose_level(doc: Table):
    if "dose_level" not in doc.data:
        return 0
    value = doc.data["dose_level"]
    if isinstance(value, dict):
        levels = {}
        for drug, level in value.items():
            if isinstance(level, bool) or not isinstance(level, int) or not -10 <= level <= 0:
                doc.problem(f"expected a whole number, 0 (full dose) or below (-1, -2 ...), got {level!r}",
                            at=f"dose_level.{drug}")
                return None
            levels[drug] = level
        return levels
    if isinstance(value, bool) or not isinstance(value, int):
        doc.problem(f"expected a whole number (0 full dose, -1, -2 ...) or a table such as {{anlotinib = -1}}, got {value!r}",
                    at="dose_level")
        return None
    if not -10 <= value <= 0:
        doc.problem(f"{value}: expected 0 (full dose) or a reduction (-1, -2 ...)", at="dose_level")
        return None
    return value


def _line(t: Table) -> OrderLine | None:
    if not t.ok:
        return None
    t.allow(*LINE_KEYS)
    drug = t.text("drug")
    day = t.integer("day", 1, MAX_CYCLE_DAYS)
    note = t.text("note", required=False)
    raw = t.get("dose", str, True, 'a dose as text with its unit (e.g. "141 mg" or "75 mg/m²")')
    dose = None
    if raw is not None:
        try:
            dose = ordered_dose(raw)
        except ChemoError as exc:
            t.problem(exc.message, at="dose")
    if drug is None or day is None or dose is None:
        return None
    index = int(t.path.rsplit("[", 1)[1].rstrip("]"))
    return OrderLine(index=index, drug=drug.strip(), day=day, dose=dose, note=note)


def raise_order_problems(problems: list[Problem]) -> None:
    """The first problem as an :class:`OrderError`: one line, the others counted."""
    if not problems:
        return
    first = problems[0]
    more = len(problems) - 1
    tail = f" (and {more} more problem{'s' * (more > 1)})" if more else ""
    field = None if first.path == FILE else first.path
    raise OrderError(first.message + tail, field=field, file=first.file)
