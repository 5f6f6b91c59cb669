"""Cycle doses: what each bag and capsule of one cycle holds for one patient.

``calculate_cycle`` takes a regimen, a :class:`BodySize` (from height and
weight, or a BSA given directly), a cycle number and a dose level, and returns
every administration: the protocol dose as written, the exact calculated mg,
the dispensed mg rounded with ``Decimal`` to the drug's increment (mode and
tolerance from the drug library), the deviation that rounding makes, derived
drugs (mesna from ifosfamide), flat oral doses (no BSA, no rounding) and the
per-cycle totals.  Units are converted once at this boundary; inside, doses are
plain mg, mg/m² and m² numbers.

Speed (issue 11): the value classes are tuples (:mod:`chemo.value`); what a cycle
needs of its regimen and drug library at one dose level (each line's dose at its
level, the rounding, the order of the administrations, the plausibility limits) is
worked out once per regimen object, library object and level (:func:`_plan`), so a
cycle is the arithmetic of its body size and nothing else; body size from text
checks the same ranges as :mod:`chemo.bodysize` with the ranges read once per
``$CHEMO_REGIMENS`` (:func:`_body_rules`).  Anything unusual (an error to report, a
formula other than Mosteller's, a Quantity instead of text) takes the general path,
``_calculate`` and ``_body_size``, which is also what tests/test_dose_fast.py checks
the fast path against.
"""

from __future__ import annotations

import functools
import math
import os
import re
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import NamedTuple

from . import bodysize as _bodysize
from .bodysize import bsa_given, bsa_m2, check_pair, height_cm, weight_kg
from .errors import BodySizeError, ChemoError
from .library import Library, load_library
from .regimen import Regimen
from .units import Basis, Dose, display_text, magnitude
from .value import new as _new, value_class

DEFAULT_FORMULA = "mosteller"



class DoseError(ChemoError):
    """A dose that cannot be calculated: a missing level, cycle or body size."""


class BodySize(NamedTuple):
    """The body size a cycle is dosed on."""

    bsa_m2: float  # the BSA used for dosing (after any cap the regimen declares)
    formula: str  # the BSA formula, or "given" when the BSA was entered directly
    height_cm: float | None = None
    weight_kg: float | None = None
    uncapped_m2: float | None = None  # set only when the regimen's cap applied
    cap_m2: float | None = None
    formula_m2: float | None = None  # with a BSA given and height and weight too: what the formula gives
    formula_name: str | None = None  # ... and which formula that was
    bmi: float | None = None  # kg/m², when height and weight are both known

    @property
    def capped(self) -> bool:
        return self.uncapped_m2 is not None

    def describe(self) -> str:
        text = f"BSA {self.bsa_m2:.2f} m² ({self.formula})"
        if self.formula_m2 is not None:
            text += f"; height and weight would give {self.formula_m2:.2f} m² by {self.formula_name}"
        if self.capped:
            text += f", capped from {self.uncapped_m2:.2f} m² at the regimen's {self.cap_m2:.2f} m²"
        return text


value_class(BodySize)


def body_size(height=None, weight=None, bsa=None, formula: str = DEFAULT_FORMULA, regimen: Regimen | None = None,
              library: Library | None = None) -> BodySize:
    """Height and weight (any units), or a BSA given directly; the regimen's cap applied and reported."""
    library = library or load_library()
    rules = _body_rules()
    if rules is not None:
        body = rules.body(height, weight, bsa, formula, regimen, library)
        if body is not None:
            return body
    return _body_size(height, weight, bsa, formula, regimen, library)


def _body_size(height, weight, bsa, formula, regimen, library) -> BodySize:
    """The general path of :func:`body_size` (every input and every error)."""
    h = height_cm(height) if height is not None else None
    w = weight_kg(weight) if weight is not None else None
    formula_m2 = formula_name = index = None
    if bsa is not None:
        area = bsa_given(bsa)
        used = "given"
        if h is not None and w is not None:
            formula_name = _formula_key(formula, library)
            formula_m2 = bsa_m2(h, w, formula_name)
            index = check_pair(h, w)
    else:
        if h is None or w is None:
            missing = "height" if h is None else "weight"
            raise BodySizeError("missing: give height and weight, or a BSA", field=missing)
        used = _formula_key(formula, library)
        area = bsa_m2(h, w, used)
        index = check_pair(h, w, area, used)  # the same plausibility as a BSA given, and the BMI
    if regimen is not None and regimen.bsa_cap is not None and area > regimen.bsa_cap:
        return BodySize(regimen.bsa_cap, used, h, w, uncapped_m2=area, cap_m2=regimen.bsa_cap,
                        formula_m2=formula_m2, formula_name=formula_name, bmi=index)
    return BodySize(area, used, h, w, formula_m2=formula_m2, formula_name=formula_name, bmi=index)


def _formula_key(formula, library: Library) -> str:
    key = str(formula).strip().lower()
    if key not in library.body_size["bsa"]:
        raise BodySizeError(f"unknown formula {formula!r} (known: {', '.join(library.body_size['bsa'])})", field="formula")
    return key


class _BodyRules:
    """The plausible ranges of chemo.bodysize for one ``$CHEMO_REGIMENS``, as numbers
    (:func:`chemo.bodysize.plausible_ranges`, the ranges ``height_cm``, ``weight_kg``,
    ``bsa_given`` and ``check_pair`` check on every call), read once.  Those are themselves
    cached per process and ``$CHEMO_REGIMENS``, so these numbers are never staler than the
    checks they stand for."""

    __slots__ = ("height", "weight", "bsa", "bmi", "mosteller")

    def __init__(self):
        ranges = _bodysize.plausible_ranges()
        self.height, self.weight, self.bsa = ranges["height"], ranges["weight"], ranges["bsa"]
        self.bmi = ranges.get("bmi")
        mosteller = _bodysize.formulas().get(DEFAULT_FORMULA)
        self.mosteller = mosteller["divisor"] if mosteller and mosteller.get("form") == "mosteller" else None

    def body(self, height, weight, bsa, formula, regimen, library) -> BodySize | None:
        """:func:`_body_size` for text inputs that pass every check; None for anything else
        (the general path then gives the result or the error)."""
        if formula != DEFAULT_FORMULA:
            return None
        try:
            if type(weight) is str:
                w = magnitude(weight, "kg")
                low, high = self.weight
                if not (w > 0 and low <= w <= high):
                    return None
            elif weight is None and bsa is not None:
                w = None
            else:
                return None
            if bsa is None:
                if type(height) is not str:
                    return None
                h = magnitude(height, "cm")
            elif height is None and type(bsa) is str:
                area = magnitude(bsa, "m**2")
            else:
                return None
        except Exception:  # noqa: BLE001 - whatever it is, the general path reports it as it always has
            return None
        if bsa is not None:
            low, high = self.bsa
            if not (area > 0 and low <= area <= high):
                return None
            used, h, index = "given", None, None
        else:
            low, high = self.height
            if not (h > 0 and low <= h <= high) or self.mosteller is None or DEFAULT_FORMULA not in library.body_size["bsa"]:
                return None
            area = math.sqrt(h * w / self.mosteller)  # bodysize.bsa_m2, form "mosteller"
            index = w / (h / 100) ** 2  # bodysize.bmi
            if self.bmi is not None and not self.bmi[0] <= index <= self.bmi[1]:
                return None
            low, high = self.bsa
            if not low <= area <= high:
                return None
            used = DEFAULT_FORMULA
        cap = regimen.bsa_cap if regimen is not None else None
        if cap is not None and area > cap:
            return _new(BodySize, (cap, used, h, w, area, cap, None, None, index))
        return _new(BodySize, (area, used, h, w, None, None, None, None, index))


_BODY_RULES: dict = {}  # $CHEMO_REGIMENS -> _BodyRules (or None when they cannot be read: the general path)


def _body_rules() -> _BodyRules | None:
    env = os.environ.get("CHEMO_REGIMENS")
    try:
        return _BODY_RULES[env]
    except KeyError:
        pass
    try:
        rules = _BodyRules()
    except Exception:  # a library that does not load: the general path says why, every time
        return None
    if len(_BODY_RULES) >= 16:
        _BODY_RULES.clear()
    _BODY_RULES[env] = rules
    return rules


class Administration(NamedTuple):
    """One drug on one day of the cycle."""

    drug: str
    day: int
    route: str
    basis: str  # the protocol dose as written: "75 mg/m²"
    per: str  # whether that dose is per "day" or per "cycle"
    daily: Dose  # the protocol dose of this day, on its basis (25 mg/m²)
    level: str  # "100 %", "75 %", "8 mg (ladder)"
    calculated_mg: float  # exact: daily dose × level × BSA (or weight, or flat)
    dose_mg: float  # dispensed: rounded to the drug's increment
    increment_mg: float | None
    deviation: float  # dose_mg / calculated_mg - 1
    derived_from: str | None = None
    infusion: str | None = None
    note: str | None = None

    def as_json(self) -> dict:
        return {
            "drug": self.drug, "day": self.day, "dose_mg": self.dose_mg, "calculated_mg": round(self.calculated_mg, 3),
            "basis": self.basis, "per": self.per, "daily_basis": str(self.daily), "level": self.level, "route": self.route,
            "increment_mg": self.increment_mg, "deviation_pct": round(self.deviation * 100, 3),
            "derived_from": self.derived_from, "infusion": self.infusion, "note": self.note,
        }


value_class(Administration)


class CycleDoses(NamedTuple):
    regimen_id: str
    regimen_name: str
    cycle: int
    cycles: int
    dose_level: object  # int for every drug, or {drug: level}
    body: BodySize
    administrations: tuple
    rounding_mode: str
    tolerance: float
    rounding_source: str
    warnings: tuple = ()  # doses above a drug's plausible limit for this body size: verification will stop them

    def totals_mg(self) -> dict:
        """Per-cycle dispensed mg by drug, in regimen order."""
        totals: dict[str, float] = {}
        for a in self.administrations:
            totals[a.drug] = round(totals.get(a.drug, 0.0) + a.dose_mg, 6)
        return totals

    def for_drug(self, drug: str) -> list[Administration]:
        return [a for a in self.administrations if a.drug == drug]

    def as_json(self) -> dict:
        body = self.body
        return {
            "regimen": self.regimen_id, "cycle": self.cycle, "bsa_m2": round(body.bsa_m2, 4), "formula": body.formula,
            "dose_level": self.dose_level, "height_cm": body.height_cm, "weight_kg": body.weight_kg,
            "bsa_cap_m2": body.cap_m2, "uncapped_bsa_m2": None if body.uncapped_m2 is None else round(body.uncapped_m2, 4),
            "rounding": {"mode": self.rounding_mode, "tolerance_pct": self.tolerance * 100, "source": self.rounding_source},
            "doses": [a.as_json() for a in self.administrations],
            "totals_mg": self.totals_mg(),
            "warnings": list(self.warnings),
        }


value_class(CycleDoses)


def level_factor(drug, level: int, regimen_dose: Dose) -> tuple[float, str, Dose]:
    """(fraction, label, dose) of ``drug`` at ``level``: a percentage step or a ladder step."""
    if level == 0:
        return 1.0, "100 %", regimen_dose
    if level > 0:
        raise DoseError(f"{level}: dose levels above the protocol dose (0) are not supported", field="dose_level")
    steps = -level
    if drug.ladder:
        if regimen_dose.basis is not Basis.FLAT or regimen_dose.amount not in drug.ladder:
            raise DoseError(f"{drug.id}: the regimen dose {regimen_dose} is not on its ladder", field="dose_level")
        index = drug.ladder.index(regimen_dose.amount) + steps
        if index >= len(drug.ladder):
            raise DoseError(
                f"{level}: {drug.id} has no step below {drug.ladder[-1]:g} mg ({drug.ladder_end})", field="dose_level")
        amount = drug.ladder[index]
        return amount / regimen_dose.amount, f"{amount:g} mg (ladder level {level})", Dose(amount, Basis.FLAT, f"{amount:g} mg")
    if not drug.dose_levels:
        raise DoseError(f"{level}: {drug.id} has no dose levels in the drug library", field="dose_level")
    if steps >= len(drug.dose_levels):
        lowest = drug.dose_levels[-1] * 100
        raise DoseError(
            f"{level}: {drug.id} has no level below -{len(drug.dose_levels) - 1} ({lowest:g} %); "
            "a further reduction is a prescriber's decision, not a dose level", field="dose_level")
    fraction = drug.dose_levels[steps]
    return fraction, f"{fraction * 100:g} %", Dose(regimen_dose.amount * fraction, regimen_dose.basis, regimen_dose.text)


def dispense(calculated_mg: float, increment_mg: float | None, tolerance: float, mode: str,
             fallback_mg: tuple | None = None) -> tuple[float, float | None, str | None]:
    """Round ``calculated_mg`` to the increment; (dose, increment used, note).

    Rounding never moves a dose by more than ``tolerance``: when the drug's
    increment is too coarse for a small dose, the library's finer steps
    (``[rounding] fallback``: 1 mg, then 0.1 mg) are used, and the note says so.
    """
    if increment_mg is None:
        return calculated_mg, None, None
    fast = _dispense_whole_step(calculated_mg, increment_mg, tolerance, mode)
    if fast is not None:
        return fast
    exact = Decimal(repr(calculated_mg))
    note = None
    first, limit = _decimal(increment_mg), exact * _decimal(tolerance)
    if fallback_mg is None:
        fallback_mg = load_library().rounding.fallback_mg
    for step in (first,) + tuple(_decimal(f) for f in fallback_mg):
        rounded = (exact / step).to_integral_value(rounding=mode) * step
        if rounded > 0 and abs(rounded - exact) <= limit:
            if step != first:
                note = f"rounded to {step} mg: the {increment_mg:g} mg increment would move the dose by more than {tolerance * 100:g} %"
            return float(rounded), float(step), note
    return calculated_mg, None, "not rounded: no increment keeps the dose within the tolerance"


_SLACK = 1e-9  # relative: nearer than this to a tie or to the tolerance, the Decimal path decides


def _dispense_whole_step(calculated_mg: float, increment_mg: float, tolerance: float, mode: str):
    """:func:`dispense` on floats, for the usual case: a whole-mg increment (1 mg, 10 mg) that keeps
    the dose within the tolerance.  Returns what the Decimal path returns, or None whenever the
    float arithmetic could decide otherwise (a value near a tie or near the tolerance, a finer
    step, a fallback step): then the Decimal path decides.  tests/test_dose.py checks the two agree."""
    if not (increment_mg >= 1.0 and increment_mg == int(increment_mg) and 0.0 < calculated_mg < 1e12):
        return None
    q = calculated_mg / increment_mg
    whole = math.floor(q)
    frac = q - whole
    if mode == ROUND_HALF_UP or mode == ROUND_HALF_EVEN:
        if abs(frac - 0.5) < _SLACK * max(q, 1.0):
            return None
        n = whole + 1 if frac > 0.5 else whole
    elif mode == ROUND_FLOOR or mode == ROUND_CEILING:
        if frac < _SLACK * max(q, 1.0) or frac > 1.0 - _SLACK * max(q, 1.0):
            return None
        n = whole if mode == ROUND_FLOOR else whole + 1
    else:
        return None
    rounded = n * increment_mg  # exact: whole numbers far below 2**53
    limit = calculated_mg * tolerance
    distance = abs(rounded - calculated_mg)
    if rounded <= 0 or abs(distance - limit) < _SLACK * calculated_mg or distance > limit:
        return None
    return rounded, increment_mg, None


@functools.lru_cache(maxsize=64)
def _decimal(value: float) -> Decimal:
    """An increment or tolerance as the Decimal of its shortest repr (``0.05`` → ``Decimal('0.05')``)."""
    return Decimal(repr(value))


def limit_mg(drug, which: str, body: BodySize) -> tuple | None:
    """The smallest of a drug's plausible limits (``which``: "single" or "cycle") that
    applies to this body, in mg: (mg, basis, amount as written), or None."""
    limits = drug.limits.single if which == "single" else drug.limits.cycle
    best = None
    for basis, amount in limits.items():
        if basis is Basis.FLAT:
            mg = amount
        elif basis is Basis.PER_M2:
            mg = amount * body.bsa_m2
        elif basis is Basis.PER_KG and body.weight_kg is not None:
            mg = amount * body.weight_kg
        else:
            continue
        if best is None or mg < best[0]:
            best = (mg, basis, amount)
    return best


def _over_limits(administrations, library: Library, body: BodySize) -> tuple:
    """Words for every calculated dose above its drug's plausible single or cycle limit."""
    largest: dict[str, float] = {}
    totals: dict[str, float] = {}
    for a in administrations:
        totals[a.drug] = totals.get(a.drug, 0.0) + a.dose_mg
        largest[a.drug] = max(largest.get(a.drug, 0.0), a.dose_mg)
    warnings = []
    for drug_id, total in totals.items():
        drug = library.drugs[drug_id]
        single = limit_mg(drug, "single", body)
        if single and largest[drug_id] > single[0] * (1 + 1e-9):
            warnings.append(f"{drug_id}: {largest[drug_id]:g} mg a day is above the largest plausible single dose "
                            f"({single[0]:.0f} mg; {drug.limits.source}): verification will stop it")
        cycle = limit_mg(drug, "cycle", body)
        if cycle and total > cycle[0] * (1 + 1e-9):
            warnings.append(f"{drug_id}: {total:g} mg per cycle is above the largest plausible cycle dose "
                            f"({cycle[0]:.0f} mg; {drug.limits.source}): verification will stop it")
    return tuple(warnings)


def _amount_mg(daily: Dose, body: BodySize, drug: str) -> float:
    if daily.basis is Basis.FLAT:
        return daily.amount
    if daily.basis is Basis.PER_M2:
        return daily.amount * body.bsa_m2
    if daily.basis is Basis.AUC:
        raise DoseError(f"{drug} is dosed to a target AUC, which needs the Calvert formula; chemo does not "
                        "calculate AUC doses (no regimen here uses one)", field="dose")
    if body.weight_kg is None:
        raise DoseError(f"{drug} is dosed per kg: give the weight, not only a BSA", field="weight")
    return daily.amount * body.weight_kg


_LEVEL_TEXT = re.compile(r"^\s*[+-]?\d{1,2}\s*$")


def parse_dose_levels(parts, regimen: Regimen, library: Library | None = None, field: str = "dose_level"):
    """Dose levels as people type them: ``["-1"]`` for every drug, ``["anlotinib=-1"]`` for one,
    or both (``["-1", "doxorubicin=-2"]``); drugs not named stay at the plain number, else 0.
    Returns an int, or {drug: level} for :func:`calculate_cycle`."""
    library = library or load_library()
    base, per = None, {}
    for part in (str(p).strip() for p in parts):
        if not part:
            continue
        name, eq, number = part.partition("=")
        number = number if eq else name
        if not _LEVEL_TEXT.match(number):
            raise DoseError(f"{part!r}: a level is a whole number, 0 (full dose), -1, -2 ...", field=field)
        level = int(number)
        if not eq:
            if base is not None:
                raise DoseError("give one level for every drug at most once; name a drug for the others "
                                "(doxorubicin=-1)", field=field)
            base = level
            continue
        drug = library.drug(name.strip())
        if drug is None or regimen.line(drug.id) is None:
            known = ", ".join(line.drug for line in regimen.drugs)
            raise DoseError(f"{name.strip()!r} is not a drug of {regimen.id} with a dose level (its drugs: {known})",
                            field=field)
        if drug.id in per:
            raise DoseError(f"{drug.id} is given twice", field=field)
        per[drug.id] = level
    if not per:
        return base or 0
    return {line.drug: per.get(line.drug, base or 0) for line in regimen.drugs}


def levels_by_drug(regimen: Regimen, dose_level, library: Library) -> dict:
    """``dose_level`` as {drug: level}: one int for every drug, or a mapping for some
    (drug ids or the library's aliases: ``{"ADM": -1}``)."""
    def whole(value, where):
        if isinstance(value, bool) or not isinstance(value, int):
            raise DoseError(f"{value!r}: expected a whole number (0 full dose, -1, -2 ...)", field=where)
        return value

    if isinstance(dose_level, dict):
        by_id = {}
        for name, level in dose_level.items():
            drug = library.drug(str(name))
            if drug is None or regimen.line(drug.id) is None:
                raise DoseError(f"{name!r} is not a drug of {regimen.id} with a dose level", field="dose_level")
            if drug.id in by_id:
                raise DoseError(f"{drug.id} is given twice", field="dose_level")
            by_id[drug.id] = level
        return {line.drug: whole(by_id.get(line.drug, 0), f"dose_level.{line.drug}") for line in regimen.drugs}
    level = whole(dose_level, "dose_level")
    return {line.drug: level for line in regimen.drugs}


def calculate_cycle(regimen: Regimen, body: BodySize, cycle: int = 1, dose_level=0,
                    library: Library | None = None) -> CycleDoses:
    """Every administration of ``cycle`` at ``dose_level`` for this body size.

    ``dose_level`` is one whole number for every drug (0 full dose, -1 one step
    down) or a mapping ``{"anlotinib": -1}``; derived drugs follow their parent.
    """
    library = library or load_library()
    if isinstance(cycle, bool) or not isinstance(cycle, int) or not 1 <= cycle <= regimen.cycles:
        raise DoseError(f"{cycle!r}: {regimen.id} has cycles 1-{regimen.cycles}", field="cycle")
    plan = _plan(regimen, library, dose_level)
    if plan is None:
        return _calculate(regimen, body, cycle, dose_level, library)
    return plan.cycle(body, cycle, dose_level)


def _calculate(regimen: Regimen, body: BodySize, cycle: int, dose_level, library: Library) -> CycleDoses:
    """The general path of :func:`calculate_cycle`, step by step: every error, in the order the
    lines give them; the fast path (:class:`_Plan`) must give exactly what this gives."""
    if isinstance(cycle, bool) or not isinstance(cycle, int) or not 1 <= cycle <= regimen.cycles:
        raise DoseError(f"{cycle!r}: {regimen.id} has cycles 1-{regimen.cycles}", field="cycle")
    levels = levels_by_drug(regimen, dose_level, library)
    rounding = library.rounding
    administrations = []
    calculated_by_drug: dict[str, dict[int, float]] = {}
    daily_by_drug: dict[str, Dose] = {}  # each drug's daily dose at its level
    for line in regimen.drugs:
        drug = library.drugs[line.drug]
        fraction, label, daily = level_factor(drug, levels[line.drug], line.daily)
        daily_by_drug[line.drug] = daily
        calculated = _amount_mg(daily, body, line.drug)  # the same every day of the line: rounded once
        calculated_by_drug.setdefault(line.drug, {}).update(dict.fromkeys(line.days, calculated))
        dose_mg, step, note = dispense(calculated, drug.rounding_mg, rounding.tolerance, rounding.decimal_mode,
                                       rounding.fallback_mg)
        deviation = dose_mg / calculated - 1 if calculated else 0.0
        administrations += [Administration(
            drug=line.drug, day=day, route=line.route, basis=display_text(line.dose.text), per=line.per, daily=daily,
            level=label, calculated_mg=calculated, dose_mg=dose_mg, increment_mg=step,
            deviation=deviation, infusion=line.infusion, note=note) for day in line.days]
    for derived in regimen.derived:
        drug = library.drugs[derived.drug]
        rounded: dict[float, tuple] = {}
        basis = f"{derived.fraction * 100:g} % of {derived.from_drug}"
        parent_daily = daily_by_drug[derived.from_drug]  # at the parent's level, as the calculated dose is
        daily = Dose(parent_daily.amount * derived.fraction, parent_daily.basis, basis)
        for day in derived.days:
            calculated = calculated_by_drug[derived.from_drug][day] * derived.fraction
            if calculated not in rounded:
                rounded[calculated] = dispense(calculated, drug.rounding_mg, rounding.tolerance, rounding.decimal_mode,
                                               rounding.fallback_mg)
            dose_mg, step, note = rounded[calculated]
            administrations.append(Administration(
                drug=derived.drug, day=day, route=derived.route,
                basis=basis, per="day", daily=daily,
                level=f"follows {derived.from_drug}", calculated_mg=calculated, dose_mg=dose_mg, increment_mg=step,
                deviation=dose_mg / calculated - 1 if calculated else 0.0, derived_from=derived.from_drug,
                infusion=derived.infusion, note=note))
    order = {d: i for i, d in enumerate(regimen.drug_ids)}
    administrations.sort(key=lambda a: (a.day, order[a.drug]))
    return CycleDoses(
        regimen_id=regimen.id, regimen_name=regimen.name, cycle=cycle, cycles=regimen.cycles, dose_level=dose_level,
        body=body, administrations=tuple(administrations), rounding_mode=rounding.mode,
        tolerance=rounding.tolerance, rounding_source=rounding.source,
        warnings=_over_limits(administrations, library, body))


# ------------------------------------------------------------------ the fast path: a plan per regimen and level

_PLANS: dict = {}  # (id(regimen), id(library), level key) -> _Plan, which holds both objects (see _plan)


def _plan(regimen: Regimen, library: Library, dose_level) -> _Plan | None:
    """What :func:`_calculate` works out from the regimen, the library and the level alone, kept per
    regimen object, library object and dose level.  Both objects are frozen (a changed regimen
    file is read into a new Regimen) and the plan holds them, so their ids cannot be reused while
    it is kept: a plan is never stale.  None (the general path) when the level is not a plain
    whole number or a mapping of them, or when anything in it is an error to report."""
    if type(dose_level) is int:
        key = dose_level
    elif type(dose_level) is dict:
        key = tuple((k, type(k), v, type(v)) for k, v in dose_level.items())  # True is not 1 here
        try:
            hash(key)
        except TypeError:
            return None
    else:
        return None
    cache_key = (id(regimen), id(library), key)
    plan = _PLANS.get(cache_key)
    if plan is not None and plan.regimen is regimen and plan.library is library:
        return plan
    try:
        plan = _Plan(regimen, library, dose_level)
    except Exception:  # noqa: BLE001 - an error to report: the general path raises it, in its own order
        return None
    if len(_PLANS) >= 256:
        _PLANS.clear()
    _PLANS[cache_key] = plan
    return plan


def _limit(items: tuple, bsa: float, weight: float | None) -> float | None:
    """:func:`limit_mg`'s mg on (basis, amount) pairs."""
    best = None
    for basis, amount in items:
        if basis is Basis.FLAT:
            mg = amount
        elif basis is Basis.PER_M2:
            mg = amount * bsa
        elif basis is Basis.PER_KG and weight is not None:
            mg = amount * weight
        else:
            continue
        if best is None or mg < best:
            best = mg
    return best


class _Plan:
    """One regimen at one dose level with one library: every line's dose at its level, the
    administrations' order, the flat doses (built once), the plausibility limits.  ``cycle``
    then does only what depends on the body size, with the same arithmetic as ``_calculate``."""

    __slots__ = ("regimen", "library", "lines", "derived", "size", "calcs", "doses", "checks", "static", "head")

    def __init__(self, regimen: Regimen, library: Library, dose_level):
        self.regimen, self.library = regimen, library
        levels = levels_by_drug(regimen, dose_level, library)
        rounding = library.rounding
        tol, mode, fallback = rounding.tolerance, rounding.decimal_mode, rounding.fallback_mg
        order = {d: i for i, d in enumerate(regimen.drug_ids)}
        # the administrations in the order _calculate appends them, then sorted as it sorts them
        built: list[tuple] = []  # (day, drug) in append order
        sources: list[tuple] = []  # what makes each: ("line", index) or ("derived", index)
        calculated_by_drug: dict[str, dict[int, int]] = {}  # drug -> {day: line index}
        daily_by_drug: dict[str, Dose] = {}
        lines, calcs = [], []
        for li, line in enumerate(regimen.drugs):
            drug = library.drugs[line.drug]
            fraction, label, daily = level_factor(drug, levels[line.drug], line.daily)
            daily_by_drug[line.drug] = daily
            calculated_by_drug.setdefault(line.drug, {}).update(dict.fromkeys(line.days, li))
            for day in line.days:
                built.append((day, line.drug))
                sources.append(("line", li))
            lines.append([li, daily.basis, daily.amount, line.drug, line.route, display_text(line.dose.text), line.per,
                          daily, label, line.infusion, drug.rounding_mg, [], None])
            calcs.append(daily.amount if daily.basis is Basis.FLAT else None)
        derived_plans = []
        for di, derived in enumerate(regimen.derived):
            drug = library.drugs[derived.drug]
            basis = f"{derived.fraction * 100:g} % of {derived.from_drug}"
            parent_daily = daily_by_drug[derived.from_drug]
            daily = Dose(parent_daily.amount * derived.fraction, parent_daily.basis, basis)
            parents = calculated_by_drug[derived.from_drug]
            for day in derived.days:
                built.append((day, derived.drug))
                sources.append(("derived", di, parents[day]))
            derived_plans.append([derived.fraction, derived.drug, derived.route, basis, daily,
                                  f"follows {derived.from_drug}", derived.infusion, drug.rounding_mg,
                                  derived.from_drug, []])
        ranked = sorted(range(len(built)), key=lambda i: (built[i][0], order[built[i][1]], i))
        position = {i: p for p, i in enumerate(ranked)}
        for i, (day, _) in enumerate(built):
            source = sources[i]
            if source[0] == "line":
                lines[source[1]][11].append((position[i], day))
            else:
                derived_plans[source[1]][9].append((position[i], day, source[2]))
        # flat lines do not depend on the body: their administrations are made here, once
        static_doses: dict[int, float] = {}
        for entry in lines:
            li, basis, amount, drug_id, route, text, per, daily, label, infusion, increment, slots, _ = entry
            if basis is Basis.FLAT:
                dose_mg, step, note = dispense(amount, increment, tol, mode, fallback)
                deviation = dose_mg / amount - 1 if amount else 0.0
                entry[12] = tuple((pos, _new(Administration, (drug_id, day, route, text, per, daily, label, amount,
                                                              dose_mg, step, deviation, None, infusion, note)))
                                  for pos, day in slots)
                static_doses.update(dict.fromkeys((pos for pos, _ in slots), dose_mg))
        self.doses = tuple(static_doses.get(pos, 0.0) for pos in range(len(built)))
        self.lines = tuple(tuple(entry) for entry in lines)
        self.derived = tuple(tuple(entry) for entry in derived_plans)
        self.calcs = tuple(calcs)
        self.size = len(built)
        # plausibility (_over_limits): per drug in the order the sorted administrations name them
        by_drug: dict[str, list[int]] = {}
        for pos, i in enumerate(ranked):
            by_drug.setdefault(built[i][1], []).append(pos)
        checks = []
        for drug_id, positions in by_drug.items():
            drug = library.drugs[drug_id]
            total = largest = None
            if all(pos in static_doses for pos in positions):  # a flat dose: the same for every body
                total = largest = 0.0
                for pos in positions:
                    total = total + static_doses[pos]
                    largest = max(largest, static_doses[pos])
            checks.append((drug_id, tuple(positions), total, largest, tuple(drug.limits.single.items()),
                           tuple(drug.limits.cycle.items()), drug.limits.source))
        self.checks = tuple(checks)
        self.static = (tol, mode, fallback)
        self.head = (regimen.id, regimen.name, regimen.cycles, rounding.mode, rounding.tolerance, rounding.source)

    def cycle(self, body: BodySize, number: int, dose_level) -> CycleDoses:
        bsa, weight = body.bsa_m2, body.weight_kg
        tol, mode, fallback = self.static
        out = [None] * self.size
        doses = list(self.doses)
        calcs = list(self.calcs)
        for li, basis, amount, drug_id, route, text, per, daily, label, infusion, increment, slots, fixed in self.lines:
            if fixed is not None:
                for pos, a in fixed:
                    out[pos] = a
                continue
            if basis is Basis.PER_M2:
                calc = amount * bsa
            elif basis is Basis.AUC:
                raise DoseError(f"{drug_id} is dosed to a target AUC, which needs the Calvert formula; chemo does not "
                                "calculate AUC doses (no regimen here uses one)", field="dose")
            elif weight is None:
                raise DoseError(f"{drug_id} is dosed per kg: give the weight, not only a BSA", field="weight")
            else:
                calc = amount * weight
            calcs[li] = calc
            dose_mg, step, note = dispense(calc, increment, tol, mode, fallback)
            deviation = dose_mg / calc - 1 if calc else 0.0
            for pos, day in slots:
                out[pos] = _new(Administration, (drug_id, day, route, text, per, daily, label, calc, dose_mg, step,
                                                 deviation, None, infusion, note))
                doses[pos] = dose_mg
        for fraction, drug_id, route, text, daily, label, infusion, increment, parent, slots in self.derived:
            rounded: dict[float, tuple] = {}
            for pos, day, li in slots:
                calc = calcs[li] * fraction
                made = rounded.get(calc)
                if made is None:
                    made = rounded[calc] = dispense(calc, increment, tol, mode, fallback)
                dose_mg, step, note = made
                out[pos] = _new(Administration, (drug_id, day, route, text, "day", daily, label, calc, dose_mg, step,
                                                 dose_mg / calc - 1 if calc else 0.0, parent, infusion, note))
                doses[pos] = dose_mg
        warnings = []
        for drug_id, positions, total, largest, single_limits, cycle_limits, source in self.checks:
            if total is None:
                total = largest = 0.0
                for pos in positions:
                    dose_mg = doses[pos]
                    total = total + dose_mg
                    largest = max(largest, dose_mg)
            single = _limit(single_limits, bsa, weight)
            if single is not None and largest > single * (1 + 1e-9):
                warnings.append(f"{drug_id}: {largest:g} mg a day is above the largest plausible single dose "
                                f"({single:.0f} mg; {source}): verification will stop it")
            cycle = _limit(cycle_limits, bsa, weight)
            if cycle is not None and total > cycle * (1 + 1e-9):
                warnings.append(f"{drug_id}: {total:g} mg per cycle is above the largest plausible cycle dose "
                                f"({cycle:.0f} mg; {source}): verification will stop it")
        rid, name, cycles, rounding_mode, tolerance, rounding_source = self.head
        return _new(CycleDoses, (rid, name, number, cycles, dose_level, body, tuple(out), rounding_mode, tolerance,
                                 rounding_source, tuple(warnings)))
