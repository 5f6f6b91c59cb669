"""Order verification: does a prescription match the regimen's doses for this patient?

The expected doses come from :func:`chemo.dose.calculate_cycle` (the same
numbers ``chemo dose`` prints); each ordered line is compared with them and
gets a status and reason codes:

==================== ========= ==========================================================
reason               status    when
==================== ========= ==========================================================
deviation            review    differs from the calculated dose by more than the tolerance
decimal-error        hard-stop ten-fold or more, or a tenth or less, of the calculated dose
per-cycle-as-daily   hard-stop a daily line equal to the cycle total of a multi-day drug
basis-confusion      hard-stop the ordered number is the per-m²/per-kg number, or the reverse (see below)
over-max             hard-stop above the drug's largest plausible single (or cycle) dose
wrong-drug           hard-stop a drug not in the regimen (PLD for doxorubicin, or the reverse)
missing-drug         review    a regimen drug and day with no order line
unit-error           hard-stop a dose whose unit is not a mass or a mass per body size
wrong-day            hard-stop a regimen drug ordered on a day the regimen does not give it
duplicate            hard-stop a second line for the same drug and day (a double dose)
overdose             hard-stop above the calculated dose (at the order's level) by more than the library's limit
record-mismatch      hard-stop (order-level) the order's height, weight or BSA differs from the patient's record
==================== ========= ==========================================================

``overdose``: the drug library's ``[verification] overdose`` (10 %, with its source).  The
expected dose is calculated at the order's dose level, so a level -1 order at 75 % is ``ok``;
below the calculated dose by more than the limit is a ``deviation`` (review, a reason needed).
``record-mismatch`` is checked only for an order that names its patient (``mrn``) against the
record (:func:`body_findings`, called by :mod:`chemo.prescription`): it is an order-level
:class:`Finding`, not a line.

Every comparison "equals" / "within" uses the library's rounding tolerance
(5 %, drug library ``[rounding]``), inclusive: a dose exactly 5 % from the
calculated dose is ``ok``, the same rule that lets the pharmacy round a dose by
up to 5 %.  Ten-fold is judged with the same tolerance: a correctly rounded dose
with its decimal point moved (141 mg → 1411 mg, against 141.14 mg calculated, is
9.997×) must count, so the thresholds are 10 × (1 − tol) and 0.1 × (1 + tol).

Basis confusion is a transcription: the ordered number *is* the protocol's per-m² (or
per-kg) number, equal to it within the drug's dispensing increment (drug library
``rounding``; exactly, for a drug that is not rounded), written with the wrong unit, or
the mg dose written per m².  An order that is merely near that number (within the
tolerance of it but further than one increment) is judged by its deviation from the
calculated dose alone: a review, not a hard stop.

Units are converted once, when the order is read; inside, everything is plain
mg, mg/m² and m² floats.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from .dose import CycleDoses, body_size, calculate_cycle, limit_mg, mg_on
from .errors import ChemoError
from .library import Library, load_library
from .order import Order, OrderError, read_order
from .regimen import Regimen, load_regimen, regimen_path
from .units import Basis, display_text

OK, REVIEW, HARD_STOP = "ok", "review", "hard-stop"
STATUS_RANK = {OK: 0, REVIEW: 1, HARD_STOP: 2}
EXIT_CODES = {OK: 0, REVIEW: 1, HARD_STOP: 3}

REASONS = {
    "deviation": REVIEW,
    "decimal-error": HARD_STOP,
    "per-cycle-as-daily": HARD_STOP,
    "basis-confusion": HARD_STOP,
    "over-max": HARD_STOP,
    "wrong-drug": HARD_STOP,
    "missing-drug": REVIEW,
    "unit-error": HARD_STOP,
    "wrong-day": HARD_STOP,
    "duplicate": HARD_STOP,
    "overdose": HARD_STOP,
    "record-mismatch": HARD_STOP,
}
EPS = 1e-9  # relative slack so that "exactly 5 %" is not lost to binary floating point


# ------------------------------------------------------------------ results

@attrs.frozen
class LineResult:
    """One ordered (or missing) line's verdict.  ``message`` is given as the text or as a
    function that writes it (made when asked: most lines are never printed)."""

    drug: str  # the library id (or the name as ordered when the library does not know it)
    day: int
    line: int | None  # the order's [[line]] number; None for a missing line
    ordered: str | None  # the dose as written
    ordered_mg: float | None
    expected_mg: float | None  # the dispensed dose of chemo dose
    calculated_mg: float | None  # the exact dose
    status: str = attrs.field(validator=attrs.validators.in_(STATUS_RANK))
    reasons: tuple
    _message: object  # the message, or a function that writes it
    ordered_drug: str | None = None  # as written, when it differs from the id

    @property
    def message(self) -> str:
        message = self._message
        return message() if callable(message) else message

    @property
    def deviation(self) -> float | None:
        if self.ordered_mg is None or not self.calculated_mg:
            return None
        return self.ordered_mg / self.calculated_mg - 1

    def as_json(self) -> dict:
        dev = self.deviation
        return {
            "drug": self.drug, "day": self.day, "ordered_mg": _r(self.ordered_mg), "expected_mg": self.expected_mg,
            "status": self.status, "reasons": list(self.reasons), "message": self.message,
            "line": self.line, "ordered": self.ordered, "calculated_mg": _r(self.calculated_mg),
            "deviation_pct": None if dev is None else round(dev * 100, 2),
            "ordered_drug": self.ordered_drug,
        }


@attrs.frozen
class Finding:
    """An order-level verdict (not a line): the order's body size against the patient's record."""

    reason: str = attrs.field(validator=attrs.validators.in_(REASONS))
    field: str  # the order's key: height, weight, bsa
    message: str
    order_value: float | None = None
    record_value: float | None = None

    @property
    def status(self) -> str:
        return REASONS[self.reason]

    def as_json(self) -> dict:
        return {"reason": self.reason, "field": self.field, "status": self.status, "message": self.message,
                "order_value": self.order_value, "record_value": self.record_value}


@attrs.frozen
class Verification:
    order: Order
    cycle: CycleDoses
    lines: tuple
    status: str
    sources: tuple  # (what, source) pairs for the rules that decided
    findings: tuple = ()  # order-level findings (record-mismatch), when the order was checked against a record
    record: dict | None = None  # what the record held, when checked against one

    def with_record(self, record: dict, findings) -> "Verification":
        """This verification with the order-level findings of a record check: the status is the worst of both."""
        findings = tuple(findings)
        status = max([self.status] + [f.status for f in findings], key=STATUS_RANK.__getitem__)
        return attrs.evolve(self, findings=findings, status=status, record=record)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def counts(self) -> dict:
        counts = {OK: 0, REVIEW: 0, HARD_STOP: 0}
        for line in self.lines:
            counts[line.status] += 1
        return counts

    def as_json(self) -> dict:
        body = self.cycle.body
        return {
            "status": self.status,
            "lines": [line.as_json() for line in self.lines],
            "order": self.order.path, "regimen": self.cycle.regimen_id, "cycle": self.cycle.cycle,
            "dose_level": self.order.dose_level, "bsa_m2": round(body.bsa_m2, 4), "formula": body.formula,
            "tolerance_pct": self.cycle.tolerance * 100, "counts": self.counts(),
            "sources": [{"rule": what, "source": src} for what, src in self.sources],
            **({"findings": [f.as_json() for f in self.findings], "record": self.record}
               if self.record is not None else {}),
        }


def _r(value):
    return None if value is None else round(value, 3)


# ------------------------------------------------------------------ finding the regimen

def _resolve(ref: str, base_dir: str | None) -> Path:
    """Where ``ref`` is: a path is looked up beside the order file first, then from the
    working directory; an id in the regimens folder."""
    if base_dir and (ref.endswith(".toml") or "/" in ref):
        beside = Path(base_dir) / ref
        if beside.exists():
            return beside
    return regimen_path(ref)


# ------------------------------------------------------------------ verification

def verify_file(path) -> Verification:
    """Read and verify an order file; :class:`OrderError` (exit 2) if it cannot be."""
    order = read_order(path)
    return verify_order(order, base_dir=str(Path(path).parent))


def verify_order(order: Order, library: Library | None = None, base_dir: str | None = None) -> Verification:
    """Check every line of ``order`` against the regimen's calculated doses."""
    library = library or load_library()
    try:
        regimen = load_regimen(_resolve(order.regimen, base_dir), library)
        if order.cycle > regimen.cycles:
            raise OrderError(f"{order.cycle}: {regimen.id} has {regimen.cycles} cycle{'s' * (regimen.cycles != 1)} "
                             f"(cycles 1-{regimen.cycles})", field="cycle")
        body = body_size(order.height, order.weight, order.bsa, order.formula, regimen, library)
        cycle = calculate_cycle(regimen, body, order.cycle, order.dose_level, library)
    except ChemoError as exc:
        error = OrderError(exc.message, field=exc.field or "regimen", file=order.path)
        if exc.file and exc.file != order.path:  # a broken regimen file: name it
            error = OrderError(f"{exc.file}: {exc.message}", field=exc.field or "regimen", file=order.path)
        raise error from None
    return Checker(order, regimen, cycle, library).run()


class Checker:
    """The rules, on plain floats (mg, mg/m², m²)."""

    def __init__(self, order: Order, regimen: Regimen, cycle: CycleDoses, library: Library):
        self.order, self.regimen, self.cycle, self.library = order, regimen, cycle, library
        self.tol = cycle.tolerance
        self.body = cycle.body
        self.expected = expected = {}
        self.days: dict[str, list[int]] = {}
        for a in cycle.administrations:
            expected[a.drug, a.day] = a
            self.days.setdefault(a.drug, []).append(a.day)
        self._totals = None  # calculated and dispensed mg per cycle, by drug: made when a rule needs them
        self.rank = {d: i for i, d in enumerate(regimen.drug_ids)}
        self._limits: dict = {}
        self.sources: dict[str, str] = {"tolerance": cycle.rounding_source}

    @property
    def total(self) -> dict:
        """Calculated mg per cycle, by drug."""
        return self._sums()[0]

    @property
    def dispensed(self) -> dict:
        """Dispensed mg per cycle, by drug."""
        return self._sums()[1]

    def _sums(self) -> tuple:
        if self._totals is None:
            total: dict[str, float] = {}
            dispensed: dict[str, float] = {}
            for a in self.cycle.administrations:
                total[a.drug] = total.get(a.drug, 0.0) + a.calculated_mg
                dispensed[a.drug] = dispensed.get(a.drug, 0.0) + a.dose_mg
            self._totals = (total, dispensed)
        return self._totals

    # -- helpers
    def within(self, value: float, target: float) -> bool:
        return target > 0 and abs(value - target) <= target * self.tol * (1 + EPS)

    def limits(self, drug) -> tuple:
        """(single, cycle): the smallest applicable plausibility limit in mg of each, and how it was
        made (:func:`chemo.dose.limit_mg`), worked out once per drug and order."""
        both = self._limits.get(drug.id)
        if both is None:
            both = self._limits[drug.id] = (limit_mg(drug, "single", self.body), limit_mg(drug, "cycle", self.body))
        return both

    def limit_text(self, limit: tuple) -> str:
        """``169 mg (90 mg/m² × 1.88 m²)``."""
        mg, basis, amount = limit
        if basis is Basis.FLAT:
            return f"{fmt(mg, 0)} mg"
        if basis is Basis.PER_M2:
            return f"{fmt(mg, 0)} mg ({amount:g} mg/m² × {self.body.bsa_m2:.2f} m²)"
        return f"{fmt(mg, 0)} mg ({amount:g} mg/kg × {self.body.weight_kg:g} kg)"

    def how(self, a) -> str:
        """How the expected dose was made: ``75 mg/m² × 1.88 m²``."""
        if a.derived_from:
            parent = self.expected[(a.derived_from, a.day)]
            return f"{a.basis} {fmt(parent.calculated_mg, 1)} mg"
        amount, level = a.daily.amount, ""
        line = self.regimen.line(a.drug)
        if a.level.endswith("%") and a.level != "100 %" and line is not None:
            amount, level = line.daily.amount, f" at {a.level}"  # the protocol dose, then the level: 1000 × 80 %
        elif "(" in a.level:
            level = " (" + a.level.split("(", 1)[1]  # a ladder step: "8 mg flat (ladder level -1)"
        if a.daily.basis is Basis.FLAT:
            return f"{fmt(amount)} mg flat{level}"
        if a.daily.basis is Basis.PER_M2:
            return f"{fmt(amount)} mg/m² × {self.body.bsa_m2:.2f} m²{level}"
        return f"{fmt(amount)} mg/kg × {self.body.weight_kg:g} kg{level}"

    def protocol_numbers(self, drug_id: str, a) -> list[float]:
        """The per-body-size numbers a prescriber could mistake for mg: daily and per cycle, at the level and at 100 %."""
        n = len(self.days[drug_id])
        numbers = [a.daily.amount, a.daily.amount * n]
        line = self.regimen.line(drug_id)
        if line is not None:
            numbers += [line.daily.amount, line.per_cycle.amount]
        return numbers

    # -- the run
    def run(self) -> Verification:
        results = []
        seen: dict[tuple, int] = {}
        running: dict[str, float] = {}
        check = self.check_line
        for line in self.order.lines:
            results.append(check(line, seen, running))
        for a in self.cycle.administrations:
            if (a.drug, a.day) not in seen:
                results.append(LineResult(
                    a.drug, a.day, None, None, None, a.dose_mg, a.calculated_mg, REVIEW, ("missing-drug",),
                    lambda a=a: f"{a.drug} day {a.day}: no order line; expected {fmt(a.dose_mg)} mg ({self.how(a)}): missing"))
        rank, last = self.rank, len(self.rank)
        results.sort(key=lambda r: (r.day, rank.get(r.drug, last), r.line or 10**6))  # day, drug, line
        status = max((r.status for r in results), key=STATUS_RANK.__getitem__, default=OK)
        return Verification(self.order, self.cycle, tuple(results), status, tuple(self.sources.items()))

    def check_line(self, line, seen: dict, running: dict) -> LineResult:
        dose = line.dose
        reasons: list[str] = []
        phrases: list[str] = []
        drug = self.library.drug(line.drug)
        drug_id = drug.id if drug else line.drug
        written = line.drug if line.drug != drug_id else None

        # the ordered amount in mg
        ordered_mg = None
        basis = dose.basis
        if dose.unit_problem:
            reasons.append("unit-error")
            phrases.append(dose.unit_problem)
        elif (mg := mg_on(dose.amount, basis, self.body)) is not None:
            ordered_mg = mg
        elif basis is Basis.PER_KG:
            reasons.append("unit-error")
            phrases.append(f"{dose.text!r} is per kg but the order gives no weight")
        else:
            reasons.append("unit-error")
            phrases.append(f"{dose.text!r} is a target AUC, not a mass: order in mg, g, mg/m² or mg/kg")

        # is it a drug and a day of this cycle?
        if drug is None:
            reasons.append("wrong-drug")
            phrases.append(f"{line.drug!r} is not a drug of {self.regimen.id} (nor of the drug library)")
            return self.result(line, drug_id, written, ordered_mg, None, reasons, phrases)
        if drug_id not in self.days:
            reasons.append("wrong-drug")
            phrases.append(self.wrong_drug(drug, line.day))
            self.check_max(drug, ordered_mg, reasons, phrases, running)
            return self.result(line, drug_id, written, ordered_mg, None, reasons, phrases)
        key = (drug_id, line.day)
        a = self.expected.get(key)
        if a is None:
            reasons.append("wrong-day")
            days = self.days[drug_id]
            phrases.append(f"{self.regimen.id} gives {drug_id} on {_days(days)} of the cycle, not day {line.day}")
            self.check_max(drug, ordered_mg, reasons, phrases, running)
            return self.result(line, drug_id, written, ordered_mg, None, reasons, phrases)

        if key in seen:
            reasons.append("duplicate")
            phrases.append(f"{drug_id} day {line.day} is already ordered on line {seen[key]}: together a double dose")
        else:
            seen[key] = line.index

        if ordered_mg is not None:
            self.compare(drug_id, a, dose, ordered_mg, reasons, phrases)
            self.check_max(drug, ordered_mg, reasons, phrases, running)
        return self.result(line, drug_id, written, ordered_mg, a, reasons, phrases)

    def compare(self, drug_id, a, dose, ordered_mg: float, reasons: list, phrases: list) -> None:
        calc = a.calculated_mg
        tol = self.tol
        ratio = ordered_mg / calc
        if calc > 0 and abs(ordered_mg - calc) <= calc * tol * (1 + EPS):  # self.within, the usual case inline
            return
        reasons.append("deviation")
        fold = self.library.verification.decimal_error
        if ratio >= fold * (1 - tol) - EPS or ratio <= (1 + tol) / fold + EPS:
            reasons.append("decimal-error")
            phrases.append(f"ten-fold error ({_times(ratio)} the calculated {fmt(calc, 1)} mg)")
        else:
            phrases.append(f"{ratio * 100 - 100:+.1f} % from the calculated {fmt(calc, 1)} mg, "
                           f"beyond the {tol * 100:g} % tolerance")
            limit = self.library.verification.overdose
            if ratio - 1 > limit * (1 + EPS):
                reasons.append("overdose")
                phrases.append(f"more than {limit * 100:g} % above the calculated dose: an overdose")
                self.sources["overdose"] = self.library.verification.overdose_source
        days = self.days[drug_id]
        if len(days) > 1 and self.within(ordered_mg, self.total[drug_id]):
            reasons.append("per-cycle-as-daily")
            phrases.append(f"this is the cycle total of {drug_id} ({fmt(self.dispensed[drug_id])} mg over {_days(days)}) "
                           "ordered as one day's dose")
        confusion = self.basis_confusion(drug_id, a, dose)
        if confusion:
            reasons.append("basis-confusion")
            phrases.append(confusion)

    def transcribes(self, value: float, number: float, drug_id: str) -> bool:
        """``value`` is ``number`` written down: equal within the drug's dispensing increment."""
        drug = self.library.drugs.get(drug_id)
        increment = (drug.rounding_mg if drug else None) or 0.0
        return number > 0 and abs(value - number) <= increment + number * EPS

    def basis_confusion(self, drug_id, a, dose) -> str | None:
        protocol = a.daily.basis
        if dose.basis is not protocol:
            for number in self.protocol_numbers(drug_id, a):
                if self.transcribes(dose.amount, number, drug_id):
                    return (f"the ordered {fmt(dose.amount)} {dose.basis.label} is the protocol's "
                            f"{fmt(number)} {protocol.label}: {dose.basis.label} ordered where {protocol.label} is meant")
        if dose.basis is not Basis.FLAT:
            for mg in (a.calculated_mg, a.dose_mg):
                if self.transcribes(dose.amount, mg, drug_id):
                    return (f"the ordered {fmt(dose.amount)} {dose.basis.label} is the dose in mg "
                            f"({fmt(a.dose_mg)} mg): {dose.basis.label} written where mg is meant")
        return None

    def check_max(self, drug, ordered_mg, reasons: list, phrases: list, running: dict) -> None:
        if ordered_mg is None:
            return
        single, cycle = self.limits(drug)
        if single and ordered_mg > single[0] * (1 + EPS):
            reasons.append("over-max")
            phrases.append(f"above the largest plausible single dose of {drug.id}, {self.limit_text(single)}")
            self.sources[f"{drug.id} limits"] = drug.limits.source
        before = running.get(drug.id, 0.0)
        running[drug.id] = before + ordered_mg
        if cycle and running[drug.id] > cycle[0] * (1 + EPS) and before <= cycle[0] * (1 + EPS):
            if "over-max" in reasons:  # the single limit already said it
                return
            reasons.append("over-max")
            phrases.append(f"brings the cycle's {drug.id} to {fmt(running[drug.id], 0)} mg, above the largest plausible "
                           f"cycle dose, {self.limit_text(cycle)}")
            self.sources[f"{drug.id} limits"] = drug.limits.source

    def wrong_drug(self, drug, day: int) -> str:
        text = f"{drug.id} is not a drug of {self.regimen.id}"
        for other in self.days:
            if other in drug.not_interchangeable_with or drug.id in self.library.drugs[other].not_interchangeable_with:
                a = self.expected.get((other, day))
                expect = f" ({fmt(a.dose_mg)} mg expected on day {day})" if a else ""
                self.sources[f"{drug.id} / {other}"] = drug.source
                return (f"{text}: the regimen gives {other}{expect}; {drug.name} and {self.library.drugs[other].name} "
                        "are not interchangeable (drug library: do not substitute)")
        return f"{text} (its drugs: {', '.join(self.days)})"

    def ordered_text(self, dose, ordered_mg) -> str:
        if dose.basis is Basis.FLAT or ordered_mg is None:
            return f"ordered {display_text(dose.text)}" if ordered_mg is None else f"ordered {fmt(ordered_mg)} mg"
        return f"ordered {display_text(dose.text)} = {fmt(ordered_mg, 1)} mg"

    def result(self, line, drug_id, written, ordered_mg, a, reasons, phrases) -> LineResult:
        status = OK
        for reason in reasons:
            if REASONS[reason] == HARD_STOP:
                status = HARD_STOP
                break
            status = REVIEW
        text = line.dose.text

        def message() -> str:
            tail = "; ".join(phrases) if phrases else "ok"
            name = f" (ordered as {written!r})" if written else ""
            expected = f", expected {fmt(a.dose_mg)} mg ({self.how(a)})" if a else ""
            return f"{drug_id} day {line.day}{name}: {self.ordered_text(line.dose, ordered_mg)}{expected}: {tail}"

        return LineResult(
            drug_id, line.day, line.index, display_text(text), ordered_mg,
            a.dose_mg if a else None, a.calculated_mg if a else None, status, tuple(reasons), message, written)


# ------------------------------------------------------------------ formatting

def fmt(value: float, places: int = 2) -> str:
    """``141``, ``141.14``, ``5645.8``: no trailing zeros, no exponent."""
    text = f"{value:.{places}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _times(ratio: float) -> str:
    return f"{ratio:.3g}×" if ratio >= 1 else f"1/{1 / ratio:.3g}"


def _days(days) -> str:
    days = sorted(days)
    if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
        return f"days {days[0]}-{days[-1]}"
    return ("day " if len(days) == 1 else "days ") + ", ".join(map(str, days))


# ------------------------------------------------------------------ the order against the record

def body_findings(body, record: dict, threshold: float, threshold_source: str) -> list[Finding]:
    """``record-mismatch`` findings of an order's body size (:class:`chemo.dose.BodySize`) against the patient's
    record: ``record`` holds ``height_cm``, ``weight_kg`` (the newest), ``dosing_weight_kg`` (the plan's, or
    None) and ``bsa_m2`` (the plan's dosing BSA, or None).  A value that differs by ``threshold`` (the
    recalculation threshold, a fraction) or more is a hard stop naming both values."""
    out = []
    pairs = (("height", body.height_cm, record.get("height_cm"), "cm", "the newest recorded height"),
             ("weight", body.weight_kg, record.get("weight_kg"), "kg", "the newest recorded weight"),
             ("weight", body.weight_kg, record.get("dosing_weight_kg"), "kg", "the plan's dosing weight"),
             ("bsa", body.bsa_m2, record.get("bsa_m2"), "m²", "the plan's dosing BSA"))
    for field, mine, theirs, unit, what in pairs:
        if mine is None or not theirs:
            continue
        moved = abs(mine - theirs) / theirs
        if moved >= threshold - EPS:
            out.append(Finding(
                "record-mismatch", field,
                f"the order's {field} {fmt(mine)} {unit} differs from {what}, {fmt(theirs)} {unit}, by "
                f"{moved * 100:.1f} % (≥ {threshold * 100:g} %, {threshold_source}): the order was not written "
                "for this patient's record", mine, theirs))
    return out
