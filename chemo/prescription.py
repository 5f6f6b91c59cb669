"""Prescriptions in the record: what the prescriber orders is what is verified, signed, printed and given.

* :func:`prescribe` (a prescriber) records one cycle's order.  Without lines it is the calculated doses at
  the dose level (the common case); ``lines`` (``"ifosfamide 1 1950 mg"``) replace the calculated dose of
  their drug and day; an order file (``docs/order-format.md``, which may carry ``mrn``) gives every line.
  The order is verified at entry by :mod:`chemo.verify` **against the record**: the plan's regimen (its
  file hash unchanged), the plan's dosing height and weight (its BSA, the regimen's cap), the patient's
  newest height and weight (``record-mismatch`` when they moved by the recalculation threshold), the
  dose-modification bands of the newest labs and the cumulative cap.  A hard stop refuses it (exit 1,
  the verification kept on the refusal); review lines, bands not met and a cap passed need a reason.
  A new order of a cycle supersedes the old one: both rows are kept (the newest stands), both audited.
* :func:`sign_prescription` is the pharmacist's dose check of the standing prescription (called by
  :func:`chemo.treatment.signoff`): the lines are verified again on the record as it is now, every review
  line needs its reason (one per line, or one for all), and **the signed doses are the prescription's mg**:
  the worksheet prints them, administration records them, the cumulative ledger counts them.
* :func:`lapsed` says why a dose sign-off no longer stands: the prescription it signed was superseded,
  the newest weight moved from the dosing weight by the recalculation threshold, the height changed.  It is the
  one decision: the worksheet prints DRAFT on it, the administration refuses on it, and a pharmacist may sign the
  cycle again on it (before a dose of the cycle is given; :func:`chemo.treatment.signoff`).
* :func:`record_check` is ``chemo verify ORDER.toml`` for an order that names its patient (``mrn``): the
  file's height, weight and BSA against the record.

Every write goes through :func:`chemo.audit.append` in the transaction that makes it.
"""

from __future__ import annotations

import json
import re

from . import audit
from .db import administrations, prescriptions as rx
from .db.store import Refusal, Store, now_local
from .errors import MIN_REASON, ChemoError, NextStep

LINE_TEXT = re.compile(r"^\s*(?P<drug>[^\d].*?)\s+(?:day\s*)?(?P<day>\d{1,3})\s*[:,]?\s+(?P<dose>\S.*?)\s*$",
                       re.IGNORECASE)


class PrescriptionRefused(Refusal):
    """A prescription (or its sign-off) refused: a hard stop, or a review line without its reason (exit 1).
    ``verification`` is the :class:`chemo.verify.Verification` that decided (None when it was not reached)."""

    def __init__(self, message: str, *, verification=None, needs_reason: tuple = (), field: str | None = None,
                 finding: str | None = None, next_steps: tuple = (), mrn: str | None = None):
        super().__init__(message, field=field, finding=finding, next_steps=next_steps, mrn=mrn)
        self.verification = verification
        self.needs_reason = tuple(needs_reason)


class SignoffLapsed(Refusal):
    """A dose sign-off that no longer stands (exit 1): what changed after it is the finding; ``cycle`` its cycle."""

    def __init__(self, message: str, *, cycle: int | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.cycle = cycle


# ------------------------------------------------------------------ reading what the prescriber typed

def parse_line(text: str, index: int = 1):
    """``"ifosfamide 1 1950 mg"`` / ``"doxorubicin day 2 25 mg/m²"`` as an :class:`chemo.order.OrderLine`."""
    from .order import OrderLine, ordered_dose
    from .regimen import MAX_CYCLE_DAYS

    m = LINE_TEXT.match(str(text))
    if not m:
        raise ChemoError(f"{text!r}: expected DRUG DAY DOSE, e.g. \"ifosfamide 1 1950 mg\"", field="line")
    day = int(m["day"])
    if not 1 <= day <= MAX_CYCLE_DAYS:
        raise ChemoError(f"{text!r}: day {day} is not a day of a cycle (1-{MAX_CYCLE_DAYS})", field="line")
    try:
        dose = ordered_dose(m["dose"])
    except ChemoError as exc:
        raise ChemoError(f"{text!r}: {exc.message}", field="line") from None
    if dose.unit_problem:
        raise ChemoError(f"{text!r}: {dose.unit_problem}", field="line")
    return OrderLine(index=index, drug=m["drug"].strip(), day=day, dose=dose)


def _reason(text, field: str = "reason") -> str | None:
    if text is None:
        return None
    text = str(text).strip()
    if len(text) < MIN_REASON:
        raise ChemoError(f"{text!r}: a reason needs at least {MIN_REASON} characters", field=field)
    return text


def parse_accepts(items) -> dict:
    """``--accept "DRUG DAY: reason"`` (repeatable) as {(drug id, day): reason}."""
    from .library import load_library

    library = load_library()
    out: dict = {}
    for item in items or ():
        head, colon, text = str(item).partition(":")
        m = re.match(r"^\s*(?P<drug>[^\d].*?)\s+(?:day\s*)?(?P<day>\d{1,3})\s*$", head, re.IGNORECASE)
        if not colon or not m:
            raise ChemoError(f"{item!r}: expected \"DRUG DAY: reason\", e.g. \"ifosfamide 1: reduced for "
                             "neuropathy\"", field="accept")
        drug = library.drug(m["drug"].strip())
        key = (drug.id if drug else m["drug"].strip().lower(), int(m["day"]))
        out[key] = _reason(text, "accept")
    return out


# ------------------------------------------------------------------ the record's body size

def _threshold(library) -> tuple[float, str]:
    from .readiness import weight_change_threshold

    return weight_change_threshold(library)


def _record_values(store: Store, patient: dict, plan: dict | None, plan_bsa: float | None) -> dict:
    from .records import latest_body

    body = latest_body(store, patient["id"])
    return {"mrn": patient["mrn"], "height_cm": body["height_cm"], "weight_kg": body["weight_kg"],
            "weight_on": body["weight_on"], "height_on": body["height_on"],
            "dosing_weight_kg": plan["dosing_weight_kg"] if plan else None,
            "dosing_height_cm": plan["dosing_height_cm"] if plan else None, "bsa_m2": plan_bsa,
            "plan_id": plan["id"] if plan else None}


def record_check(store: Store, verification, mrn: str):
    """``chemo verify`` of an order naming its patient: the verification with ``record-mismatch`` findings of
    the file's height, weight and BSA against the record (newest height and weight, the plan's dosing weight
    and BSA)."""
    from .db import plans
    from .library import load_library
    from .records import get_patient, plan_body, plan_regimen
    from .verify import body_findings

    library = load_library()
    patient = get_patient(store, mrn)
    plan = plans.active(store, patient["id"])
    plan_bsa = None
    if plan is not None:
        regimen, _ = plan_regimen(plan)
        plan_bsa = plan_body(plan, regimen).bsa_m2
    record = _record_values(store, patient, plan, plan_bsa)
    threshold, source = _threshold(library)
    findings = body_findings(verification.cycle.body, record, threshold, source)
    return verification.with_record(record, findings)


# ------------------------------------------------------------------ verifying on the record

def _verify_on_record(regimen, plan: dict, cycle: int, dose_level, lines: tuple, name: str, library):
    """The lines verified by :func:`chemo.verify.verify_order` on the plan's dosing body size."""
    from .order import Order
    from .verify import verify_order

    order = Order(path=name, regimen=str(regimen.path), cycle=cycle, dose_level=dose_level,
                  height=f"{plan['dosing_height_cm']} cm", weight=f"{plan['dosing_weight_kg']} kg", bsa=None,
                  formula=plan["bsa_formula"], lines=tuple(lines))
    try:
        return verify_order(order, library)
    except ChemoError as exc:
        raise ChemoError(exc.message, field="dose-level" if exc.field == "dose_level" else exc.field) from None


def _line_rows(verification) -> list[dict]:
    """The verified lines as stored: the mg of each ordered line is what will be signed and given."""
    rows = []
    for r in verification.lines:
        rows.append({"drug": r.drug, "day": r.day, "line": r.line, "ordered": r.ordered,
                     "dose_mg": None if r.ordered_mg is None else round(r.ordered_mg, 4),
                     "expected_mg": r.expected_mg,
                     "calculated_mg": None if r.calculated_mg is None else round(r.calculated_mg, 4),
                     "status": r.status, "reasons": list(r.reasons), "message": r.message})
    return rows


def _calculated_lines(regimen, plan: dict, cycle: int, dose_level, library) -> list:
    """The calculated doses at the level as order lines (``"2060 mg"``): the common prescription."""
    from .dose import calculate_cycle
    from .order import OrderLine, ordered_dose
    from .records import plan_body
    from .verify import fmt

    doses = calculate_cycle(regimen, plan_body(plan, regimen), cycle, dose_level, library)
    return [OrderLine(index=i, drug=a.drug, day=a.day, dose=ordered_dose(f"{fmt(a.dose_mg, 4)} mg"))
            for i, a in enumerate(doses.administrations, 1)]


def _stops(verification) -> list[str]:
    out = [f.message for f in verification.findings if f.status == "hard-stop"]
    out += [r.message for r in verification.lines if r.status == "hard-stop"]
    return out


def _reviews(verification) -> list:
    return [r for r in verification.lines if r.status == "review"]


# ------------------------------------------------------------------ prescribe

def prescribe(store: Store, actor: str, mrn: str, cycle: int, *, dose_level=(), lines=(), order_path=None,
              reason: str | None = None) -> dict:
    """Record a prescriber's order of ``cycle`` (see the module text); returns the stored row with its
    verification (``"verification"``) and what it superseded."""
    from .dose import parse_dose_levels
    from .library import load_library
    from .order import read_order
    from .readiness import assess
    from .records import active_plan, get_patient, plan_body, plan_regimen
    from .roles import require
    from .treatment import band_findings, cap_check, checked_cycle, require_unchanged_regimen
    from .verify import body_findings, verify_file

    reason = _reason(reason)
    library = load_library()
    typed = [parse_line(text, i) for i, text in enumerate(lines or (), 1)]
    order = None
    if order_path is not None:
        if typed:
            raise ChemoError("give lines or an order file, not both", field="line")
        order = read_order(order_path)
    with store.transaction():
        require(store, actor, ("prescriber",), "prescribing")
        patient = get_patient(store, mrn)
        plan = active_plan(store, patient["id"], mrn)
        cycle = checked_cycle(plan, cycle)
        given = administrations.in_cycle(store, plan["id"], cycle)
        if given:  # what was given stands; a new order would lapse the sign-off of the days left or rewrite history
            first = min(given, key=lambda r: (r["day"], r["given_at"]))
            raise Refusal(f"cycle {cycle}: day {first['day']} was given on {str(first['given_at'])[:10]}: "
                          "a cycle already started is not prescribed again", field="cycle")
        regimen, changed = plan_regimen(plan)
        require_unchanged_regimen(regimen, changed)
        body = plan_body(plan, regimen)
        level = parse_dose_levels(dose_level, regimen, library, field="dose-level") if dose_level else 0
        from .modification import departures, for_plan as suggestion_for

        suggestion = suggestion_for(store, mrn, plan, cycle, regimen)  # chemo next: the order starts from it
        if not dose_level and order is None:
            level = suggestion.starting_level()
        findings: list = []
        threshold, source = _threshold(library)
        record = _record_values(store, patient, plan, body.bsa_m2)
        if order is not None:
            if order.mrn is not None and order.mrn != mrn:
                raise ChemoError(f"the order file is for {order.mrn!r}, not {mrn!r}", field="mrn", file=order.path)
            if order.cycle != cycle:
                raise ChemoError(f"the order file is for cycle {order.cycle}, not cycle {cycle}", field="cycle",
                                 file=order.path)
            if dose_level and order.dose_level != level:
                raise ChemoError("the order file gives its own dose level: give it there or with --dose-level, "
                                 "not both", field="dose-level")
            level = order.dose_level
            checked = verify_file(order_path)
            if checked.cycle.regimen_id != regimen.id:
                raise ChemoError(f"the order file is for {checked.cycle.regimen_id}, the plan's regimen is "
                                 f"{regimen.id}", field="regimen", file=order.path)
            findings += body_findings(checked.cycle.body, record, threshold, source)
            order_lines, source_text = order.lines, f"file {order.path}"
        else:
            calculated = _calculated_lines(regimen, plan, cycle, level, library)
            if typed:
                chosen = {}
                for t in typed:
                    drug = library.drug(t.drug)
                    chosen.setdefault((drug.id if drug else t.drug, t.day), []).append(t)
                order_lines = []
                for c in calculated:
                    order_lines += chosen.pop((c.drug, c.day), [c])
                for extra in chosen.values():  # a drug or day the calculation does not have: verify stops it
                    order_lines += extra
                order_lines = [type(x)(index=i, drug=x.drug, day=x.day, dose=x.dose, note=x.note)
                               for i, x in enumerate(order_lines, 1)]
                source_text = "lines"
            else:
                order_lines, source_text = calculated, "calculated"
        # the newest height and weight against the plan's dosing body size (a recalculation due)
        now_body = {"height_cm": record["height_cm"], "weight_kg": record["weight_kg"]}
        findings += body_findings(body, now_body, threshold, source)
        v = _verify_on_record(regimen, plan, cycle, level, order_lines, f"prescription {mrn} cycle {cycle}", library)
        v = v.with_record(record, findings)
        stops = _stops(v)
        if stops:
            finding = f"cycle {cycle}: the prescription is refused (hard stop): " + "; ".join(stops)
            raise PrescriptionRefused(finding, verification=v, field="line", mrn=mrn)
        notes = []
        report = assess(store, mrn)
        for b in band_findings(regimen, level, report.suggestions, library):
            notes.append(f"dose modification: {b['finding']}")
        rows = [{"drug": r["drug"], "day": r["day"], "dose_mg": r["dose_mg"]} for r in _line_rows(v)
                if r["dose_mg"] is not None]
        cap = cap_check(store, mrn, plan, cycle, rows, body.bsa_m2, library)
        if cap.finding:
            notes.append(f"cap: {cap.finding}")
        from .dose import levels_by_drug

        notes += [f"next: {d}" for d in departures(suggestion, levels_by_drug(regimen, level, library))]
        reviews = _reviews(v)
        if (reviews or notes) and reason is None:
            items = [r.message for r in reviews] + notes
            raise PrescriptionRefused(
                f"cycle {cycle}: the prescription needs a reason for: " + "; ".join(items), verification=v,
                needs_reason=tuple(items), field="reason", mrn=mrn)
        old = rx.standing(store, plan["id"], cycle)
        from .cumulative import report as ledger
        from .dose import calculate_cycle

        # the supportive lines the prescription carries: the one dose path at its level, dexrazoxane on the ledger
        support = calculate_cycle(regimen, body, cycle, level, library, cumulative_mg_m2=ledger(store, mrn).given_mg_m2)
        record_row = {
            "plan_id": plan["id"], "cycle": cycle, "dose_level": json.dumps(level, sort_keys=True),
            "lines": json.dumps(_line_rows(v), ensure_ascii=False), "status": v.status, "reason": reason,
            "source": source_text,
            "body": json.dumps({"bsa_m2": round(body.bsa_m2, 6), "height_cm": plan["dosing_height_cm"],
                                "weight_kg": plan["dosing_weight_kg"], "formula": plan["bsa_formula"],
                                "describe": body.describe()}, ensure_ascii=False),
            "regimen_sha256": regimen.sha256, "supersedes": old["id"] if old else None,
            "prescribed_at": now_local().isoformat(), "prescribed_by": actor,
            "supportive": json.dumps({"emetogenic_class": support.emetogenic_class,
                                      "supportive": [x.as_json() for x in support.supportive],
                                      "conditional": list(support.conditional)}, ensure_ascii=False)}
        pid = rx.add(store, record_row)
        new = dict(record_row)
        if notes:
            new["notes"] = notes
        new["suggestion"] = suggestion.summary()  # what chemo next suggested when this was prescribed
        audit.append(store, actor, "prescription.supersede" if old else "prescription.add", "prescriptions", pid,
                     None, new)
    return {"id": pid, **record_row, "notes": notes, "verification": v, "superseded": old["id"] if old else None}


def as_dict(row: dict, standing_id: int | None = None) -> dict:
    """A stored prescription as the CLI and the TUI show it (JSON columns read)."""
    return {"id": row["id"], "plan_id": row["plan_id"], "cycle": row["cycle"],
            "dose_level": json.loads(row["dose_level"]), "lines": json.loads(row["lines"]), "status": row["status"],
            "reason": row["reason"], "source": row["source"], "body": json.loads(row["body"]),
            "regimen_sha256": row["regimen_sha256"], "supersedes": row["supersedes"],
            "prescribed_at": row["prescribed_at"], "prescribed_by": row["prescribed_by"],
            "supportive": json.loads(row["supportive"]) if row.get("supportive") else None,
            "standing": standing_id is not None and row["id"] == standing_id,
            **({"regimen": row["regimen_id"]} if "regimen_id" in row else {})}


def orders(store: Store, mrn: str, cycle: int | None = None) -> list[dict]:
    """Every prescription of the patient (of one cycle), oldest first; ``standing`` marks the newest of each
    cycle of the active plan."""
    from .db import plans
    from .records import get_patient

    patient = get_patient(store, mrn)
    plan = plans.active(store, patient["id"])
    out = []
    for row in rx.for_patient(store, patient["id"], cycle):
        standing = None
        if plan is not None and row["plan_id"] == plan["id"]:
            top = rx.standing(store, plan["id"], row["cycle"])
            standing = top["id"] if top else None
        out.append(as_dict(row, standing))
    return out


def standing(store: Store, plan_id: int, cycle: int) -> dict | None:
    row = rx.standing(store, plan_id, cycle)
    return None if row is None else as_dict(row, row["id"])


# ------------------------------------------------------------------ the pharmacist's sign-off

def sign_prescription(store: Store, mrn: str, plan: dict, cycle: int, regimen, library, *, dose_level=None,
                      accept: dict | None = None, reason: str | None = None) -> tuple | None:
    """(dose level, dose rows, what was signed) of the standing prescription, verified again on the record as
    it is now; None when the cycle has no prescription.  Refused on a hard stop, on a review line without its
    reason, and when the pharmacist names a dose level other than the prescription's."""
    from .records import get_patient

    row = rx.standing(store, plan["id"], cycle)
    if row is None:
        return None
    p = as_dict(row, row["id"])
    level = p["dose_level"]
    if dose_level not in (None, 0, (), []) and dose_level != level:
        raise ChemoError(f"the prescription of cycle {cycle} is at dose level {level!r}: the pharmacist signs what "
                         "was prescribed; a different level is a new prescription", field="dose-level")
    from .order import OrderLine, ordered_dose
    from .treatment import require_unchanged_regimen

    if row["regimen_sha256"] != regimen.sha256:
        require_unchanged_regimen(regimen, True)
    lines = [OrderLine(index=i, drug=x["drug"], day=x["day"], dose=ordered_dose(x["ordered"]))
             for i, x in enumerate((x for x in p["lines"] if x["ordered"]), 1)]
    v = _verify_on_record(regimen, plan, cycle, level, lines, f"prescription {p['id']}", library)
    patient = get_patient(store, mrn)
    threshold, source = _threshold(library)
    from .records import plan_body
    from .verify import body_findings

    record = _record_values(store, patient, plan, None)
    v = v.with_record(record, body_findings(plan_body(plan, regimen), record, threshold, source))
    stops = _stops(v)
    if stops:
        raise PrescriptionRefused(f"cycle {cycle}: the prescription no longer verifies (hard stop): "
                                  + "; ".join(stops), verification=v, field="check", mrn=mrn)
    accept = dict(accept or {})
    reason = _reason(reason)
    accepted, missing = [], []
    for r in _reviews(v):
        why = accept.pop((r.drug, r.day), None) or reason
        if why is None:
            missing.append(r)
        else:
            accepted.append({"drug": r.drug, "day": r.day, "reasons": list(r.reasons), "reason": why})
    if missing:
        words = "; ".join(r.message for r in missing)
        raise PrescriptionRefused(f"cycle {cycle}: each review line needs the pharmacist's reason: {words}",
                                  verification=v, needs_reason=tuple((r.drug, r.day) for r in missing),
                                  field="accept", mrn=mrn)
    if accept:
        (drug, day), _ = next(iter(accept.items()))
        raise ChemoError(f"{drug} day {day}: not a review line of the prescription (nothing to accept)",
                         field="accept")
    levels = {(a.drug, a.day): a.level for a in v.cycle.administrations}
    doses = [{"drug": r.drug, "day": r.day, "dose_mg": round(r.ordered_mg, 4),
              "calculated_mg": None if r.calculated_mg is None else round(r.calculated_mg, 4),
              "level": levels.get((r.drug, r.day), ""), "status": r.status}
             for r in v.lines if r.ordered_mg is not None]
    signed = {"id": p["id"], "prescribed_by": p["prescribed_by"], "prescribed_at": p["prescribed_at"],
              "status": v.status, "accepted": accepted}
    if p.get("supportive") is not None:  # the supportive lines it carries (issue 20): taken out by the sign-off
        signed["supportive"] = p["supportive"]
    return level, doses, signed


def body_at_signing(store: Store, patient: dict) -> dict:
    """The newest height and weight when a dose sign-off is made (kept in its detail): a later change lapses it."""
    from .records import latest_body

    body = latest_body(store, patient["id"])
    return {"weight_kg": body["weight_kg"], "weight_on": body["weight_on"], "height_cm": body["height_cm"]}


def lapsed(store: Store, patient: dict, plan: dict, cycle: int, detail: dict, library) -> str | None:
    """Why a dose sign-off (its ``detail``) no longer stands, or None: the prescription it signed was
    superseded; after it, a weight was recorded that differs from the dosing weight by the recalculation
    threshold; or a height was recorded that differs from the one at signing.  (A weight already known when
    signing was the sign-off's own decision: its recalculation override.)"""
    signed = detail.get("prescription")
    row = rx.standing(store, plan["id"], cycle)
    if signed:
        if row is not None and row["id"] != signed["id"]:
            return (f"cycle {cycle}: the dose sign-off signed prescription {signed['id']}, superseded by "
                    f"prescription {row['id']} ({row['prescribed_by']}, {row['prescribed_at']})")
    elif row is not None:  # signed on the calculated doses; the prescriber's order came after and may differ
        return (f"cycle {cycle}: the dose sign-off signed the calculated doses; prescription {row['id']} "
                f"({row['prescribed_by']}, {row['prescribed_at']}) was written after it")
    then = detail.get("record_body")
    if not then:  # a sign-off made before the body at signing was kept
        return None
    now = body_at_signing(store, patient)
    threshold, _ = _threshold(library)
    dosing = plan["dosing_weight_kg"]
    if (now["weight_kg"] is not None and (now["weight_kg"], now["weight_on"]) != (then["weight_kg"], then["weight_on"])
            and abs(now["weight_kg"] - dosing) / dosing >= threshold - 1e-9):
        return (f"cycle {cycle}: a weight of {now['weight_kg']:g} kg ({now['weight_on']}) was recorded after the dose "
                f"sign-off; it differs from the dosing weight {dosing:g} kg by {threshold * 100:g} % or more")
    if now["height_cm"] is not None and then["height_cm"] is not None and abs(now["height_cm"] - then["height_cm"]) > 1e-9:
        return (f"cycle {cycle}: a height of {now['height_cm']:g} cm was recorded after the dose sign-off "
                f"(signed with {then['height_cm']:g} cm)")
    return None


def refuse_lapsed(why: str, *, mrn: str, cycle: int, started: dict | None = None) -> None:
    """Refuse what rests on a lapsed dose sign-off: before a dose of the cycle is given a pharmacist signs the
    cycle again (:func:`chemo.treatment.signoff`); once one was given (``started``: the first administration),
    a new plan: the doses given were the ones it signed."""
    finding = why + ": the dose sign-off has lapsed"
    if started:
        finding += (f", and day {started['day']} of cycle {cycle} was given at {started['given_at']} by "
                    f"{started['given_by']} on the doses it signed: a cycle already started is not signed again")
        raise SignoffLapsed(finding + "; start a new plan and have the new doses prescribed and signed",
                            finding=finding, next_steps=(NextStep.NEW_PLAN,), field="cycle", mrn=mrn, cycle=cycle)
    raise SignoffLapsed(finding + f"; a pharmacist signs the doses of cycle {cycle} again", finding=finding,
                        next_steps=(NextStep.SIGN_AGAIN,), field="cycle", mrn=mrn, cycle=cycle)
