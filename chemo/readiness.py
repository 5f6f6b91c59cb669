"""Is the patient ready for the next cycle?  Every threshold of the plan's regimen, checked.

For each ``[[thresholds]]`` entry of the regimen the newest result of its
analyte (collected on or before the moment asked about) is converted into
*the threshold's own unit* and compared with the operator as written:

* ``pass`` / ``fail``: the comparison holds or does not;
* ``missing``: no result, or a ULN-relative threshold with no ULN stored with the result;
* ``stale``: the newest result is older than the threshold's ``max_age``.

Numbers within 1e-9 (relative) of the threshold count as equal, so
``1500 /µL`` against ``> 1.5 ×10⁹/L`` fails the way the written operator says,
whatever the floating-point error of the conversion.

eGFR: the newest recorded eGFR, or when a creatinine is newer (or no eGFR was
recorded) CKD-EPI 2021 from that creatinine, with the method named.  An eGFR
recorded de-indexed (mL/min) is indexed with the patient's BSA (eGFR × 1.73 / BSA).

The weight rule (``regimens/library/body-size.toml`` ``[recalculate]``):
``recalculate`` is set when the newest weight differs from the plan's dosing
weight by the configured fraction or more, or is older than the configured age.

Dose-modification bands of the regimen that the newest values fall in are
listed as suggestions with their sources; they are not applied here.
"""

from __future__ import annotations

import datetime as _dt
import re

from attrs import evolve, frozen

from .errors import ChemoError, NextStep
from .db import labs
from .db.store import Store, now_local

STATUSES = ("pass", "fail", "missing", "stale")
OVERRIDABLE = ("fail", "stale")  # what a prescriber's gate override lets through (never a result not measured)
REL_EPSILON = 1e-9
_LEADING_NUMBER = re.compile(r"^\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)\s*")


@frozen
class Gate:
    analyte: str
    status: str
    value: str | None  # the result in the threshold's unit (or as a multiple of ULN)
    threshold: str  # "hemoglobin > 9.0 g/dL"
    message: str
    source: str
    entered: str | None = None  # as entered: "5.6 mmol/L"
    collected_at: str | None = None
    method: str | None = None  # how the value was obtained when not recorded directly
    origin: str | None = None  # where the result came from: typed, fhir, hl7
    # what would settle a missing result, as data (chemo.errors.NextStep): ``message`` is ``finding`` with the
    # steps in plain words; each interface words them its own way (the CLI its options, chemo.cli)
    finding: str | None = None
    next_steps: tuple = ()
    kind: str = "eligibility"  # eligibility (before cycle 1) or retreatment (before every cycle): chemo.regimen
    action: str | None = None  # the protocol's action when a retreatment gate fails
    each_day: bool = False
    override: dict | None = None  # a prescriber's override of this failing gate for the cycle: by, at, reason

    @property
    def passes(self) -> bool:
        """It passes, or it fails (or is stale) and a prescriber let this cycle through it."""
        return self.status == "pass" or (self.override is not None and self.status in OVERRIDABLE)

    @property
    def shown_status(self) -> str:
        return "OVERRIDDEN" if self.status != "pass" and self.passes else self.status.upper()

    def as_json(self) -> dict:
        return {"analyte": self.analyte, "status": self.status, "value": self.value, "threshold": self.threshold,
                "message": self.message, "entered": self.entered, "collected_at": self.collected_at,
                "method": self.method, "source": self.source, "origin": self.origin, "kind": self.kind,
                "action": self.action, "each_day": self.each_day, "override": self.override,
                "passes": self.passes}


@frozen
class Suggestion:
    drug: str
    give: float
    analyte: str
    value: str
    band: str
    source: str

    def message(self) -> str:
        action = "do not give" if self.give == 0 else f"give {self.give * 100:g} %"
        return f"{self.drug}: {action} ({self.analyte} {self.value} is in the band {self.band}; {self.source})"

    def as_json(self) -> dict:
        return {"drug": self.drug, "give_pct": self.give * 100, "analyte": self.analyte, "value": self.value,
                "band": self.band, "source": self.source, "message": self.message()}


@frozen
class ReadinessReport:
    mrn: str
    regimen_id: str
    as_of: str
    gates: tuple
    recalculate: bool
    recalculate_reasons: tuple
    recalculate_source: str
    suggestions: tuple
    warnings: tuple
    cycle: int = 1  # the cycle assessed: eligibility gates count before cycle 1, retreatment gates before every one
    band_values: tuple = ()  # ({"analyte", "value", "method"}, ...): the values the dose bands read, as computed

    def band_value_lines(self) -> list[str]:
        return [f"{b['analyte']} {b['value']}" + (f": {b['method']}" if b["method"] else "") for b in self.band_values]

    @property
    def ready(self) -> bool:
        return bool(self.gates) and all(g.passes for g in self.gates)

    @property
    def overrides(self) -> tuple:
        """The gates that pass only through a prescriber's override."""
        return tuple(g for g in self.gates if g.status != "pass" and g.passes)

    @property
    def modification_applies(self) -> bool:
        return bool(self.suggestions)

    def verdict(self) -> str:
        """``READY``, ``NOT READY``, or READY with the dose modifications that apply named."""
        word = "READY" if self.ready else "NOT READY"
        if self.ready and self.overrides:
            word += " ON A PRESCRIBER'S OVERRIDE (" + ", ".join(
                f"{g.analyte}: {g.override['by']}, {g.override['reason']}" for g in self.overrides) + ")"
        if not self.suggestions:
            return word
        shown = "; ".join(f"{s.drug} {'do not give' if s.give == 0 else f'give {s.give * 100:g} %'}"
                          for s in self.suggestions)
        return (f"{word}: DOSE MODIFICATION APPLIES ({shown}): the dose sign-off is refused at a higher dose "
                "level unless overridden")

    def as_json(self) -> dict:
        return {"ready": self.ready, "verdict": self.verdict(), "modification_applies": self.modification_applies,
                "mrn": self.mrn, "regimen": self.regimen_id, "as_of": self.as_of, "cycle": self.cycle,
                "overrides": [g.analyte for g in self.overrides], "band_values": list(self.band_values),
                "gates": [g.as_json() for g in self.gates], "recalculate": self.recalculate,
                "recalculate_reasons": list(self.recalculate_reasons), "recalculate_source": self.recalculate_source,
                "modifications": [s.as_json() for s in self.suggestions], "warnings": list(self.warnings)}


# ------------------------------------------------------------------ comparisons

def compare(value: float, op: str, bound: float) -> bool:
    """``value op bound`` with values within REL_EPSILON counted as equal."""
    equal = abs(value - bound) <= REL_EPSILON * max(abs(value), abs(bound), 1e-300)
    if op == ">":
        return value > bound and not equal
    if op == ">=":
        return value > bound or equal
    if op == "<":
        return value < bound and not equal
    if op == "<=":
        return value < bound or equal
    raise ValueError(op)


def bound_unit(text: str) -> str:
    """The unit as a bound writes it: ``"1.5 ×10⁹/L"`` -> ``"×10⁹/L"``."""
    return _LEADING_NUMBER.sub("", text).strip()


def bound_number(bound) -> tuple[float, str]:
    """(number, unit text) of an absolute bound, as written."""
    from .units import split_number

    number, unit_text = split_number(bound.text)
    return number, unit_text


def in_bound_unit(analyte, q, bound) -> float:
    """``q`` as a number of the bound's written unit (across mass/substance via the library)."""
    _, unit_text = bound_number(bound)
    return analyte.value_in(q, unit_text)


def _fmt(number: float) -> str:
    return f"{number:.4g}" if abs(number) < 1e4 else f"{number:.0f}"


# ------------------------------------------------------------------ reading values

@frozen
class _Value:
    """The newest value of an analyte as a Quantity, with where it came from."""

    q: object
    entered: str
    collected_at: str
    uln: float | None = None
    uln_text: str | None = None
    method: str | None = None
    origin: str | None = None
    comparator: str | None = None  # a censored value ("<0.5"): q is its bound (chemo.labs.censored)


def _quantity(row: dict):
    from .units import parse_quantity

    return parse_quantity(row["value_text"])


class _Context:
    def __init__(self, store, patient, plan, regimen, as_of):
        from .library import load_library
        from .records import latest_body

        self.store, self.patient, self.plan, self.regimen, self.as_of = store, patient, plan, regimen, as_of
        self.library = load_library()
        self.body = latest_body(store, patient["id"], as_of.date())
        self._newest: dict | None = None

    def age_at(self, when: _dt.datetime) -> int:
        from .records import age_years

        return age_years(_dt.date.fromisoformat(self.patient["born"]), when.date())

    def bsa_m2(self) -> float | None:
        from .bodysize import bsa_m2

        if self.body["height_cm"] is None or self.body["weight_kg"] is None:
            return None
        return bsa_m2(self.body["height_cm"], self.body["weight_kg"], self.plan["bsa_formula"])

    def lab(self, analyte: str) -> dict | None:
        if self._newest is None:
            # every analyte's newest result in one query; imported results count only when final, amended or
            # corrected and not replaced (chemo.labs.importer)
            self._newest = labs.newest_each(self.store, self.patient["id"], self.as_of.isoformat())
        return self._newest.get(analyte)

    def value(self, analyte: str) -> _Value | None:
        """The newest value; eGFR and CrCl computed from creatinine where that is newer or the only one."""
        if analyte == "egfr":
            return self._egfr()
        if analyte == "crcl":
            return self._crcl()
        row = self.lab(analyte)
        if row is None:
            return None
        comparator = row.get("comparator")
        return _Value(_quantity(row), f"{comparator or ''}{row['value_text']}", row["collected_at"], row["uln"],
                      row["uln_text"], origin=row["source"], comparator=comparator)

    def _creatinine_newer(self, row):
        creat = self.lab("creatinine")
        if creat is None:
            return None
        if row is not None and row["collected_at"] >= creat["collected_at"]:
            return None
        return creat

    def _egfr(self) -> _Value | None:
        from .bodysize import egfr_ckd_epi_2021
        from .units import Q_

        row = self.lab("egfr")
        creat = self._creatinine_newer(row)
        if creat is not None and creat.get("comparator"):
            return _censored_creatinine(creat, "eGFR")
        if creat is not None:
            when = _dt.datetime.fromisoformat(creat["collected_at"])
            formula = self.library.body_size["egfr"]["ckd-epi-2021"]
            q = egfr_ckd_epi_2021(creat["value_text"], self.age_at(when), self.patient["sex"])
            why = "no eGFR recorded" if row is None else "the creatinine is newer than the recorded eGFR"
            return _Value(q, f"creatinine {creat['value_text']}", creat["collected_at"],
                          method=f"computed by {formula['name']} from creatinine {creat['value_text']} "
                                 f"({why}; {formula['source']})", origin=creat["source"])
        if row is None:
            return None
        q = _quantity(row)
        analyte = self.library.analytes["egfr"]
        if analyte.deindexed_unit and q.is_compatible_with("mL/min") and not q.is_compatible_with("mL/min/std_bsa"):
            area = self.bsa_m2()
            if area is None:
                return _Value(None, row["value_text"], row["collected_at"],
                              method="recorded de-indexed (mL/min), and no height and weight to index it")
            indexed = Q_(q.to("mL/min").magnitude / area, "mL/min/m**2").to("mL/min/std_bsa")
            return _Value(indexed, row["value_text"], row["collected_at"], origin=row["source"],
                          method=f"recorded de-indexed as {row['value_text']}, indexed with BSA {area:.2f} m² "
                                 f"(eGFR × 1.73 m² ÷ BSA)")
        return _Value(q, row["value_text"], row["collected_at"], origin=row["source"])

    def _crcl(self) -> _Value | None:
        from .bodysize import crcl_cockcroft_gault

        row = self.lab("crcl")
        creat = self._creatinine_newer(row)
        if creat is not None and creat.get("comparator"):
            return _censored_creatinine(creat, "creatinine clearance")
        if creat is not None and self.body["weight_kg"] is not None:
            from .bodysize import crcl_weight

            when = _dt.datetime.fromisoformat(creat["collected_at"])
            formula = self.library.body_size["crcl"]["cockcroft-gault"]
            kg, basis, words = crcl_weight(self.body["height_cm"], self.body["weight_kg"], self.patient["sex"])
            q = crcl_cockcroft_gault(creat["value_text"], self.age_at(when), f"{kg} kg", self.patient["sex"])
            return _Value(q, f"creatinine {creat['value_text']}", creat["collected_at"],
                          method=f"computed by {formula['name']} from creatinine {creat['value_text']} on the "
                                 f"{words} ({formula['source']}; weight policy: body-size.toml [crcl_weight])",
                          origin=creat["source"])
        if row is None:
            return None
        return _Value(_quantity(row), row["value_text"], row["collected_at"], origin=row["source"])


def _censored_creatinine(creat: dict, what: str) -> _Value:
    shown = f"{creat['comparator']}{creat['value_text']}"
    return _Value(None, f"creatinine {shown}", creat["collected_at"],
                  method=f"cannot decide: the newest creatinine is censored ({shown}), and {what} is not computed "
                         "from a bound")


def _censored(value: _Value, x: float, op: str, limit: float, ok: bool) -> bool | None:
    """The comparison for a censored value (chemo.labs.censored), else ``ok`` as compared."""
    if not value.comparator:
        return ok
    from .labs.censored import censored_verdict

    return censored_verdict(value.comparator, x, op, limit)


# ------------------------------------------------------------------ the gates

def _gate(ctx: _Context, threshold, override: dict | None = None) -> Gate:
    """The gate, with where its result came from (typed, fhir, hl7), its kind, the protocol's action when a
    retreatment gate does not pass, and a prescriber's override of it for the cycle."""
    gate = _gate_checked(ctx, threshold)
    gate = evolve(gate, kind=threshold.kind, action=threshold.action, each_day=threshold.each_day)
    if gate.status != "pass" and threshold.action:
        gate = evolve(gate, message=f"{gate.message}; the protocol: {threshold.action} ({threshold.kind} gate)")
    if override is not None and gate.status in OVERRIDABLE:
        gate = evolve(gate, override=override, message=f"{gate.message}; OVERRIDDEN for this cycle by "
                                                       f"{override['by']} ({override['at']}): {override['reason']}")
    if gate.collected_at is None:
        return gate
    try:
        value = ctx.value(threshold.analyte)
    except (ChemoError, ValueError):
        return gate
    return evolve(gate, origin=value.origin) if value is not None else gate


def _gate_checked(ctx: _Context, threshold) -> Gate:
    analyte = ctx.library.analytes[threshold.analyte]
    described = threshold.describe()
    src = threshold.source
    try:
        value = ctx.value(threshold.analyte)
    except (ChemoError, ValueError) as exc:  # e.g. an adult-only equation for an under-18 patient
        why = exc.message if isinstance(exc, ChemoError) else str(exc)
        return Gate(threshold.analyte, "missing", None, described,
                    f"{analyte.name}: cannot be evaluated: {why}", src)
    if value is None or value.q is None:
        why = value.method if value is not None else f"no {analyte.name} result"
        return Gate(threshold.analyte, "missing", None, described,
                    f"{why} on or before {ctx.as_of:%Y-%m-%d %H:%M}; the regimen needs {described} "
                    f"(within {threshold.max_age_days:g} days)", src)
    collected = _dt.datetime.fromisoformat(value.collected_at)
    age_days = (ctx.as_of - collected).total_seconds() / 86400
    when = f"collected {value.collected_at.replace('T', ' ')[:16]}, {age_days:.1f} days old"
    bound = threshold.value
    if bound.uln_multiple is not None:
        if value.uln is None:
            finding = f"{analyte.name} {value.entered} has no ULN stored with it, and the threshold is {bound.text}"
            return Gate(threshold.analyte, "missing", None, described, finding + " (record the result with its ULN)",
                        src, value.entered, value.collected_at, finding=finding, next_steps=(NextStep.RECORD_ULN,))
        row = ctx.lab(threshold.analyte)
        ratio = row["value"] / value.uln
        shown = f"{_fmt(ratio)} × ULN"
        ok = _censored(value, ratio, threshold.op, bound.uln_multiple,
                       compare(ratio, threshold.op, bound.uln_multiple))
        detail = f"{analyte.name} {value.entered} is {shown} (ULN {value.uln_text})"
        limit = f"{bound.uln_multiple:g} × ULN"
    else:
        number, _ = bound_number(bound)
        try:
            converted = in_bound_unit(analyte, value.q, bound)
        except (ValueError, ChemoError) as exc:
            why = exc.message if isinstance(exc, ChemoError) else str(exc)
            return Gate(threshold.analyte, "missing", None, described,
                        f"{analyte.name} {value.entered} cannot be compared with {bound.text}: {why}", src,
                        value.entered, value.collected_at, value.method)
        unit = bound_unit(bound.text)
        shown = f"{_fmt(converted)} {unit}"
        ok = _censored(value, converted, threshold.op, number, compare(converted, threshold.op, number))
        same = value.entered and bound_unit(value.entered.lstrip("<>=")) == unit
        if value.method and value.method.startswith("computed"):
            detail = f"{analyte.name} {shown}"
        else:
            detail = f"{analyte.name} {value.entered}" + ("" if same else f" = {shown}")
        limit = bound.text
    if value.comparator:
        shown = f"{value.comparator}{shown}"
    if age_days > threshold.max_age_days:
        return Gate(threshold.analyte, "stale", shown, described,
                    f"{detail}, but too old to count: {when}; the regimen accepts results up to "
                    f"{threshold.max_age_days:g} days old", src, value.entered, value.collected_at, value.method)
    op = threshold.op_text
    if ok is None:
        return Gate(threshold.analyte, "missing", shown, described,
                    f"cannot decide: {detail} is censored ({value.entered}), and a value on either side of {limit} "
                    f"is possible ({when}); ask the lab for the value or repeat the test", src, value.entered,
                    value.collected_at, value.method)
    if ok:
        message = f"{detail} {op} {limit} ({when})"
    else:
        message = f"{detail} is not {op} {limit} ({when})"
    if value.method:
        message += f"; {value.method}"
    return Gate(threshold.analyte, "pass" if ok else "fail", shown, described, message, src, value.entered,
                value.collected_at, value.method)


def _in_band(ctx: _Context, mod) -> "Suggestion | Gate | None":
    """The suggestion when the newest value lies in the band; a ``missing`` Gate when the band
    cannot be compared with the value (whether a modification applies is then unknown)."""
    try:
        return _in_band_or_raise(ctx, mod)
    except (ValueError, ChemoError) as exc:
        why = exc.message if isinstance(exc, ChemoError) else str(exc)
        return Gate(mod.analyte, "missing", None, mod.describe(),
                    f"the dose-modification band {mod.describe()} cannot be compared: {why} ({mod.source})",
                    mod.source)


def _in_band_or_raise(ctx: _Context, mod) -> Suggestion | None:
    analyte = ctx.library.analytes[mod.analyte]
    try:
        value = ctx.value(mod.analyte)
    except ChemoError:
        return None
    if value is None or value.q is None:
        return None

    def number_for(bound):
        if bound.uln_multiple is not None:
            if value.uln is None:
                return None, None
            return ctx.lab(mod.analyte)["value"] / value.uln, bound.uln_multiple
        return in_bound_unit(analyte, value.q, bound), bound_number(bound)[0]

    shown = None
    for bound, inclusive, op_in, op_ex in ((mod.low, mod.low_inclusive, ">=", ">"),
                                           (mod.high, mod.high_inclusive, "<=", "<")):
        if bound is None:
            continue
        x, limit = number_for(bound)
        if x is None:
            return None
        inside = _censored(value, x, op_in if inclusive else op_ex, limit, compare(x, op_in if inclusive else op_ex,
                                                                                    limit))
        if inside is None:
            raise ChemoError(f"{analyte.name} {value.entered} is censored: whether it lies in the band cannot be "
                             "decided")
        if not inside:
            return None
        shown = f"{_fmt(x)} × ULN" if bound.uln_multiple is not None else f"{_fmt(x)} {bound_unit(bound.text)}"
    text = f"{value.entered}" + (f" (= {shown})" if shown and value.entered and bound_unit(value.entered) not in shown
                                 else "")
    if value.method:
        text += f" [{value.method.split(' (')[0]}]"
    return Suggestion(mod.drug, mod.give, mod.analyte, text, mod.describe().split(":")[0], mod.source)


def weight_change_threshold(library) -> tuple[float, str]:
    """(fraction, source) of the recalculation threshold: ``body-size.toml`` ``[recalculate] weight_change``."""
    from .units import parse_quantity

    rule = library.body_size.get("recalculate")
    if not rule:
        raise ChemoError("regimens/library/body-size.toml has no [recalculate] table", field="recalculate")
    return parse_quantity(rule["weight_change"], "%").to("").magnitude, rule["source"]


def _recalculate(ctx: _Context) -> tuple[bool, list[str], str]:
    from .units import parse_quantity

    rule = ctx.library.body_size.get("recalculate")
    change, _ = weight_change_threshold(ctx.library)
    max_age = parse_quantity(rule["max_weight_age"], "day").to("day").magnitude
    reasons = []
    weight, dosing = ctx.body["weight_kg"], ctx.plan["dosing_weight_kg"]
    if weight is None:
        return True, ["no weight recorded"], rule["source"]
    moved = abs(weight - dosing) / dosing
    if moved >= change - REL_EPSILON:
        reasons.append(f"weight {weight:g} kg ({ctx.body['weight_on']}) differs from the dosing weight {dosing:g} kg "
                       f"by {moved * 100:.1f} % (≥ {change * 100:g} %)")
    height, dosing_height = ctx.body["height_cm"], ctx.plan["dosing_height_cm"]
    if height is not None and abs(height - dosing_height) > REL_EPSILON * dosing_height:
        # the plan's BSA stands on its height: a height recorded since (a correction, most often) changes every dose
        reasons.append(f"height {height:g} cm ({ctx.body['height_on']}) differs from the dosing height "
                       f"{dosing_height:g} cm the plan's BSA was worked out from")
    age = (ctx.as_of.date() - _dt.date.fromisoformat(ctx.body["weight_on"])).days
    if age > max_age:
        reasons.append(f"the newest weight is from {ctx.body['weight_on']}, {age} days ago (more than {max_age:g} days)")
    return bool(reasons), reasons, rule["source"]


def parse_as_of(text) -> _dt.datetime:
    """``--date``: a date means the end of that day (results of that day count; ages are counted to its end)."""
    from .records import parse_when

    if text is None:
        return now_local()
    raw = str(text).strip()
    if len(raw) == 10:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
            raise ChemoError(f"{text!r}: expected a date as YYYY-MM-DD", field="date")
        try:
            day = _dt.date.fromisoformat(raw)
        except ValueError as exc:
            raise ChemoError(f"{text!r} is not a date ({exc})", field="date") from None
        return _dt.datetime.combine(day, _dt.time(23, 59, 59))
    return parse_when(raw, "date", allow_future=True)


def assess(store: Store, mrn: str, as_of=None, cycle: int | None = None) -> ReadinessReport:
    """The readiness of ``cycle`` (default: the plan's next cycle by the calendar, :func:`chemo.calendar.next_cycle`):
    before cycle 1 the eligibility and retreatment gates, before a later cycle the retreatment gates; a prescriber's
    override of a failing gate for that cycle (:mod:`chemo.db.calendar`) lets it pass, and says so."""
    from .calendar import next_cycle
    from .db import calendar as calendar_db
    from .records import active_plan, get_patient, plan_regimen

    when = as_of if isinstance(as_of, _dt.datetime) else parse_as_of(as_of)
    patient = get_patient(store, mrn)
    plan = active_plan(store, patient["id"], mrn)
    regimen, changed = plan_regimen(plan)
    if cycle is None:
        cycle = next_cycle(store, plan, regimen)
    ctx = _Context(store, patient, plan, regimen, when)
    overrides = {o["analyte"]: {"by": o["recorded_by"], "at": o["recorded_at"], "reason": o["reason"]}
                 for o in calendar_db.overrides(store, plan["id"], cycle)}
    gates = tuple(_gate(ctx, t, overrides.get(t.analyte)) for t in regimen.thresholds if t.applies_to(cycle))
    suggestions = []
    for mod in regimen.modifications:
        s = _in_band(ctx, mod)
        if isinstance(s, Gate):  # a band that cannot be compared: not ready until it can
            gates += (s,)
        elif s is not None:
            suggestions.append(s)
    if cycle > 1:  # the eligibility gates no longer read bilirubin or renal function: the bands do, on a result
        gates += _band_results_missing(ctx, regimen, when)
    recalc, reasons, rsource = _recalculate(ctx)
    warnings = []
    if changed:
        warnings.append(f"the regimen file {regimen.path} has changed since the plan was started")
    if not regimen.thresholds:
        warnings.append(f"{regimen.id} has no thresholds: nothing to check")
    return ReadinessReport(patient["mrn"], regimen.id, when.isoformat(), gates, recalc, tuple(reasons), rsource,
                           tuple(suggestions), tuple(warnings), cycle, _band_values(ctx, regimen))


def _band_values(ctx: _Context, regimen) -> tuple:
    """The value each analyte of the dose bands has now, with how it was obtained (CrCl: the weight it used)."""
    from .units import format_quantity

    out = []
    for analyte in dict.fromkeys(m.analyte for m in regimen.modifications):
        try:
            value = ctx.value(analyte)
        except (ChemoError, ValueError):
            continue
        if value is None or value.q is None:
            continue
        out.append({"analyte": analyte, "value": format_quantity(value.q, 1) if value.method else value.entered,
                    "method": value.method, "collected_at": value.collected_at})
    return tuple(out)


def _band_results_missing(ctx: _Context, regimen, when) -> tuple:
    """A ``missing`` gate for each analyte a dose-modification band reads that has no result at all: a band
    cannot apply to a value never measured (from cycle 2, when no eligibility gate asks for it)."""
    out = []
    for analyte in dict.fromkeys(m.analyte for m in regimen.modifications):
        try:
            value = ctx.value(analyte)
        except (ChemoError, ValueError):
            continue  # reported by _in_band as a band that cannot be compared
        drugs = ", ".join(dict.fromkeys(m.drug for m in regimen.modifications if m.analyte == analyte))
        name = ctx.library.analytes[analyte].name
        if value is None or value.q is None:
            out.append(Gate(analyte, "missing", None, f"{analyte} result for the dose bands",
                            f"no {name} result on or before {when:%Y-%m-%d %H:%M}: the dose-modification bands of "
                            f"{drugs} read it", "the regimen's [[modifications]] bands", kind="retreatment"))
        elif value.uln is None and any(b is not None and b.uln_multiple is not None for m in regimen.modifications
                                       if m.analyte == analyte for b in (m.low, m.high)):
            finding = (f"{name} {value.entered} has no ULN stored with it, and the dose-modification bands of {drugs} "
                       "are multiples of ULN")
            out.append(Gate(analyte, "missing", None, f"{analyte} ULN for the dose bands",
                            finding + " (record the result with its ULN)", "the regimen's [[modifications]] bands",
                            value.entered, value.collected_at, finding=finding, next_steps=(NextStep.RECORD_ULN,),
                            kind="retreatment"))
    return tuple(out)
