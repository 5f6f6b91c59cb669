"""Cycle doses: what each bag and capsule of one cycle holds for one patient.

``calculate_cycle`` takes a regimen, a :class:`BodySize` (from height and
weight, or a BSA given directly), a cycle number and a dose level, and returns
every administration: the protocol dose as written, the exact calculated mg,
the dispensed mg rounded with ``Decimal`` to the drug's increment (mode and
tolerance from the drug library), the deviation that rounding makes, derived
drugs (mesna from ifosfamide), flat oral doses (no BSA, no rounding) and the
per-cycle totals.  Units are converted once at this boundary; inside, doses are
plain mg, mg/m² and m² numbers.  Body size is :mod:`chemo.bodysize`'s (formulas and
plausibility from the library); rounding is exact, in ``Decimal``.
"""

from __future__ import annotations

import functools
import itertools
import re
from decimal import Decimal

import attrs

from .bodysize import bsa_given, bsa_m2, check_pair, height_cm, weight_kg
from .errors import BodySizeError, ChemoError
from .library import Library, load_library
from .regimen import Regimen
from .units import Basis, Dose, display_text

DEFAULT_FORMULA = "mosteller"


class DoseError(ChemoError):
    """A dose that cannot be calculated: a missing level, cycle or body size."""


@attrs.frozen
class BodySize:
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


def body_size(height=None, weight=None, bsa=None, formula: str = DEFAULT_FORMULA, regimen: Regimen | None = None,
              library: Library | None = None) -> BodySize:
    """Height and weight (any units), or a BSA given directly; the regimen's cap applied and reported."""
    library = library or load_library()
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


@attrs.frozen
class Administration:
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
    schedule: tuple = ()  # ((time as written, hours from the day's start, dispensed mg), ...): a split day dose

    def as_json(self) -> dict:
        out = {
            "drug": self.drug, "day": self.day, "dose_mg": self.dose_mg, "calculated_mg": round(self.calculated_mg, 3),
            "basis": self.basis, "per": self.per, "daily_basis": str(self.daily), "level": self.level, "route": self.route,
            "increment_mg": self.increment_mg, "deviation_pct": round(self.deviation * 100, 3),
            "derived_from": self.derived_from, "infusion": self.infusion, "note": self.note,
        }
        if self.schedule:
            out["schedule"] = [{"at": t, "hours": h, "dose_mg": mg} for t, h, mg in self.schedule]
        return out


@attrs.frozen
class SupportiveDose:
    """One supportive administration (antiemetic, hydration, G-CSF, dexrazoxane ...) on one day at one time."""

    category: str
    drug: str  # a library drug id, or the fluid's id for hydration
    day: int
    at: str  # as written: "30 min before"
    hours: float  # from the start of the day's treatment
    route: str
    basis: str  # "8 mg", "10:1 of doxorubicin", "1000 mL over 6 h"
    calculated_mg: float | None
    dose_mg: float | None
    increment_mg: float | None
    deviation: float
    source: str
    of: str | None = None
    volume_ml: float | None = None
    duration_h: float | None = None
    rate_ml_h: float | None = None
    target: str | None = None
    condition: str | None = None  # why a conditional line applies ("cumulative 310 mg/m² ≥ 300 mg/m²")
    note: str | None = None

    def as_json(self) -> dict:
        out = attrs.asdict(self)
        out["deviation_pct"] = round(out.pop("deviation") * 100, 3)
        if self.calculated_mg is not None:
            out["calculated_mg"] = round(self.calculated_mg, 3)
        return out


@attrs.frozen
class CycleDoses:
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
    emetogenic_class: str | None = None
    cumulative_mg_m2: float | None = None  # the cumulative dose conditional lines were judged on
    # (regimen, library, calculated mg by drug and day): the supportive lines are worked out from these on first
    # use (order verification, which calculates many cycles, never needs them)
    support: tuple | None = attrs.field(default=None, repr=False, eq=False)

    @functools.cached_property
    def _support(self) -> tuple:
        if self.support is None:
            return (), (), ()
        regimen, library, calculated_by_drug = self.support
        doses, skipped = _supportive(regimen, self.body, library, calculated_by_drug, self.cumulative_mg_m2)
        return tuple(doses), tuple(skipped), _over_limits((), library, self.body, doses)

    @property
    def supportive(self) -> tuple:
        """SupportiveDose, by day and time: calculated, rounded and checked by the one dose path."""
        return self._support[0]

    @property
    def conditional(self) -> tuple:
        """Words for each conditional supportive line not given (and why)."""
        return self._support[1]

    @property
    def supportive_warnings(self) -> tuple:
        """Supportive doses above their drug's plausible limit for this body size."""
        return self._support[2]

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
            "warnings": list(self.warnings) + list(self.supportive_warnings),
            "emetogenic_class": self.emetogenic_class,
            "supportive": [s.as_json() for s in self.supportive],
            "conditional": list(self.conditional),
        }


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
    exact = Decimal(repr(calculated_mg))
    first, limit = _decimal(increment_mg), exact * _decimal(tolerance)
    if fallback_mg is None:
        fallback_mg = load_library().rounding.fallback_mg
    for step in itertools.chain((first,), map(_decimal, fallback_mg)):
        rounded = (exact / step).to_integral_value(rounding=mode) * step
        if rounded > 0 and abs(rounded - exact) <= limit:
            note = None
            if step != first:
                note = f"rounded to {step} mg: the {increment_mg:g} mg increment would move the dose by more than {tolerance * 100:g} %"
            return float(rounded), float(step), note
    return calculated_mg, None, "not rounded: no increment keeps the dose within the tolerance"


def _decimal(value: float) -> Decimal:
    """An increment or tolerance as the Decimal of its shortest repr (``0.05`` → ``Decimal('0.05')``)."""
    return Decimal(repr(value))


def limit_mg(drug, which: str, body: BodySize) -> tuple | None:
    """The smallest of a drug's plausible limits (``which``: "single" or "cycle") that
    applies to this body, in mg: (mg, basis, amount as written), or None."""
    limits = drug.limits.single if which == "single" else drug.limits.cycle
    best = None
    for basis, amount in limits.items():
        mg = mg_on(amount, basis, body)
        if mg is None:
            continue
        if best is None or mg < best[0]:
            best = (mg, basis, amount)
    return best


def _over_limits(administrations, library: Library, body: BodySize, supportive=()) -> tuple:
    """Words for every calculated dose above its drug's plausible single or cycle limit (a supportive
    drug's single dose is what it gets in a day)."""
    largest: dict[str, float] = {}
    totals: dict[str, float] = {}
    for a in administrations:
        totals[a.drug] = totals.get(a.drug, 0.0) + a.dose_mg
        largest[a.drug] = max(largest.get(a.drug, 0.0), a.dose_mg)
    daily: dict[tuple, float] = {}
    for s in supportive:
        if s.dose_mg is not None and s.drug in library.drugs:
            totals[s.drug] = totals.get(s.drug, 0.0) + s.dose_mg
            daily[(s.drug, s.day)] = daily.get((s.drug, s.day), 0.0) + s.dose_mg
    for (drug, _), mg in daily.items():
        largest[drug] = max(largest.get(drug, 0.0), mg)
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


def mg_on(amount: float, basis: Basis, body: BodySize) -> float | None:
    """``amount`` on its ``basis`` in mg for this body: flat as it is, per m² × BSA, per kg × weight; None where
    the body lacks what the basis needs (per kg without a weight) or chemo does not calculate the basis (AUC).
    The one place a dose, an ordered dose and a plausible limit become mg."""
    if basis is Basis.FLAT:
        return amount
    if basis is Basis.PER_M2:
        return amount * body.bsa_m2
    if basis is Basis.PER_KG and body.weight_kg is not None:
        return amount * body.weight_kg
    return None


def _amount_mg(daily: Dose, body: BodySize, drug: str) -> float:
    mg = mg_on(daily.amount, daily.basis, body)
    if mg is not None:
        return mg
    if daily.basis is Basis.AUC:
        raise DoseError(f"{drug} is dosed to a target AUC, which needs the Calvert formula; chemo does not "
                        "calculate AUC doses (no regimen here uses one)", field="dose")
    raise DoseError(f"{drug} is dosed per kg: give the weight, not only a BSA", field="weight")


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


def _supportive(regimen: Regimen, body: BodySize, library: Library, calculated_by_drug: dict,
                cumulative_mg_m2: float | None) -> tuple[list, list]:
    """The supportive doses of the cycle, and words for each conditional line not given."""
    rounding = library.rounding
    out, skipped = [], []
    for line in regimen.supportive:
        condition = None
        if line.when_cumulative is not None:
            what = f"{line.drug} ({line.ratio_text or line.dose.text} {'of ' + line.of if line.of else ''})".replace(" )", ")")
            if cumulative_mg_m2 is None:
                skipped.append(f"{what} from a cumulative doxorubicin-equivalent dose of {line.when_text}: not evaluated "
                               "(no cumulative dose given)")
                continue
            if cumulative_mg_m2 < line.when_cumulative - 1e-9:
                skipped.append(f"{what}: not given, cumulative {cumulative_mg_m2:.1f} mg/m² is below {line.when_text}")
                continue
            condition = f"cumulative {cumulative_mg_m2:.1f} mg/m² ≥ {line.when_text}"
        if line.category == "hydration":
            basis = f"{line.volume_ml:g} mL over {line.duration_h:g} h"
            rate = round(line.volume_ml / line.duration_h, 1)
            out += [SupportiveDose(line.category, line.fluid, day, t.text, t.hours, line.route, basis, None, None, None,
                                   0.0, line.source, volume_ml=line.volume_ml, duration_h=line.duration_h,
                                   rate_ml_h=rate, target=line.target, note=line.note)
                    for day in line.days for t in line.at]
            continue
        drug = library.drugs[line.drug]
        if line.of is not None:
            basis = f"{line.ratio_text} of {line.of}"
            parent = calculated_by_drug[line.of]
            by_day = {day: parent[day] * line.ratio for day in line.days}
        else:
            basis = display_text(line.dose.text)
            by_day = dict.fromkeys(line.days, _amount_mg(line.dose, body, line.drug))
        rounded: dict[float, tuple] = {}  # the same calculated dose is rounded once
        for day, calculated in by_day.items():
            if calculated not in rounded:
                rounded[calculated] = dispense(calculated, drug.rounding_mg, rounding.tolerance, rounding.decimal_mode,
                                               rounding.fallback_mg)
            dose_mg, step, note = rounded[calculated]
            deviation = dose_mg / calculated - 1 if calculated else 0.0
            out += [SupportiveDose(line.category, line.drug, day, t.text, t.hours, line.route, basis, calculated,
                                   dose_mg, step, deviation, line.source, of=line.of, condition=condition,
                                   note=note or line.note) for t in line.at]
    out.sort(key=lambda s: (s.day, s.hours))
    return out, skipped


def schedules_of(regimen: Regimen, rows, library: Library | None = None) -> dict:
    """``{"mesna:1": [["0 h", 1140.0], ...]}`` for each dose row (``{"drug", "day", "dose_mg"}``, as signed) of a
    derived drug with a schedule: the row's mg split into the schedule's equal doses, each rounded as
    :func:`calculate_cycle` rounds them (so a dose signed as calculated splits exactly as calculated)."""
    library = library or load_library()
    out = {}
    for row in rows:
        derived = regimen.derived_line(row["drug"])
        if derived is None or not derived.schedule or row.get("dose_mg") is None:
            continue
        _, _, _, schedule = _split(row["dose_mg"], derived.schedule, library.drugs[row["drug"]], library.rounding)
        out[f"{row['drug']}:{row['day']}"] = [[t, mg] for t, _, mg in schedule]
    return out


def _split(calculated: float, times: tuple, drug, rounding) -> tuple[float, float | None, str | None, tuple]:
    """A day's derived dose split into equal doses at ``times``: (day total, increment, note, schedule);
    each dose is rounded on its own, and the day total is their sum."""
    each, step, note = dispense(calculated / len(times), drug.rounding_mg, rounding.tolerance, rounding.decimal_mode,
                                rounding.fallback_mg)
    return each * len(times), step, note, tuple((t.text, t.hours, each) for t in times)


def calculate_cycle(regimen: Regimen, body: BodySize, cycle: int = 1, dose_level=0,
                    library: Library | None = None, cumulative_mg_m2: float | None = None) -> CycleDoses:
    """Every administration of ``cycle`` at ``dose_level`` for this body size.

    ``dose_level`` is one whole number for every drug (0 full dose, -1 one step
    down) or a mapping ``{"anlotinib": -1}``; derived drugs follow their parent.
    ``cumulative_mg_m2`` (doxorubicin-equivalent, before this cycle) switches on the
    supportive lines with a cumulative condition (dexrazoxane); without it they are
    listed as not evaluated.
    """
    library = library or load_library()
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
                if derived.schedule:
                    rounded[calculated] = _split(calculated, derived.schedule, drug, rounding)
                else:
                    rounded[calculated] = dispense(calculated, drug.rounding_mg, rounding.tolerance,
                                                   rounding.decimal_mode, rounding.fallback_mg) + ((),)
            dose_mg, step, note, schedule = rounded[calculated]
            administrations.append(Administration(
                drug=derived.drug, day=day, route=derived.route,
                basis=basis, per="day", daily=daily,
                level=f"follows {derived.from_drug}", calculated_mg=calculated, dose_mg=dose_mg, increment_mg=step,
                deviation=dose_mg / calculated - 1 if calculated else 0.0, derived_from=derived.from_drug,
                infusion=derived.infusion, note=note, schedule=schedule))
    order = {d: i for i, d in enumerate(regimen.drug_ids)}
    administrations.sort(key=lambda a: (a.day, order[a.drug]))
    return CycleDoses(
        regimen_id=regimen.id, regimen_name=regimen.name, cycle=cycle, cycles=regimen.cycles, dose_level=dose_level,
        body=body, administrations=tuple(administrations), rounding_mode=rounding.mode,
        tolerance=rounding.tolerance, rounding_source=rounding.source,
        warnings=_over_limits(administrations, library, body), emetogenic_class=regimen.emetogenic_class,
        cumulative_mg_m2=cumulative_mg_m2,
        support=(regimen, library, calculated_by_drug) if regimen.supportive else None)
