"""Sign-offs and administrations: the two-person check before a cycle is given.

* The **dose check** (a pharmacist): the doses of the cycle are calculated by the
  dose engine on the plan's dosing body size at the chosen dose level and
  stored with the sign-off; refused while the cycle would take the cumulative
  anthracycline dose past the regimen's cap, unless the pharmacist records an
  override with a reason (it goes into the audit log).
  Also refused while the weight calls for a recalculation (changed by the
  library's threshold from the plan's dosing weight, or too old), unless
  overridden the same way.
* The **readiness check** (a nurse): refused while the readiness gates are not all ``pass``.
* The two checks of one cycle need two different people.
* An **administration** (a nurse) records the signed-off doses of a day (or of
  every day of the cycle): refused without both sign-offs, or when the cap
  would be passed and the dose sign-off carries no override.

Each of these runs in one ``BEGIN IMMEDIATE`` transaction: all checks, the
rows and their audit rows commit together, or nothing is written.
"""

from __future__ import annotations

import json

from attrs import frozen

from . import audit
from .cumulative import factor_of, passes_cap, report
from .errors import ChemoError
from .records import active_plan, get_patient, parse_when, plan_body, plan_regimen
from .roles import require
from .store import Refusal, Store, now_local

CHECKS = ("dose", "readiness")


class CapRefused(Refusal):
    """The cumulative anthracycline cap would be passed (exit 1)."""


class TwoPersonRefused(Refusal):
    """One person tried to make both checks of a cycle (exit 1)."""


class NotReady(Refusal):
    """A readiness sign-off while a gate does not pass (exit 1)."""


class RecalculateRefused(Refusal):
    """A dose sign-off on a stale or changed weight (exit 1)."""


class SignoffMissing(Refusal):
    """An administration without both sign-offs (exit 1)."""


def _cycle_number(plan: dict, cycle) -> int:
    if isinstance(cycle, bool) or not isinstance(cycle, int) or not 1 <= cycle <= plan["planned_cycles"]:
        raise ChemoError(f"{cycle!r}: the plan ({plan['regimen_id']}) has cycles 1-{plan['planned_cycles']}",
                         field="cycle")
    return cycle


def _unchanged(regimen, changed: bool) -> None:
    if changed:
        raise Refusal(f"the regimen file {regimen.path} has changed since the plan was started (its hash differs): "
                      "start a new plan with 'chemo plan start' before signing or giving doses", field="regimen")


def _signoffs(store: Store, plan_id: int, cycle: int) -> dict:
    return {r["check_kind"]: r for r in store.query(
        "SELECT * FROM signoffs WHERE plan_id = ? AND cycle = ?", (plan_id, cycle))}


def _anthracycline_mg_m2(library, model: str, doses: list[dict], bsa: float, skip=frozenset(), cycle=None) -> float:
    total = 0.0
    for d in doses:
        factor = factor_of(library, model, d["drug"])
        if factor and (cycle, d["day"], d["drug"]) not in skip:
            total += d["dose_mg"] / bsa * factor
    return total


@frozen
class CapCheck:
    """Cumulative anthracycline if a cycle is given as calculated."""

    total_mg_m2: float  # given + earlier cycles still to give + this cycle
    added_mg_m2: float  # the part still to give, up to and with this cycle
    report: object  # the cumulative.Report it stands on
    finding: str | None  # why the cap forbids the cycle, or None


def cap_check(store: Store, mrn: str, plan: dict, cycle: int, doses: list[dict], bsa_m2: float, library) -> CapCheck:
    """The sum the dose sign-off makes (and the TUI shows before it): doses of earlier
    cycles not yet given count first, then this cycle's doses not yet given."""
    cum = report(store, mrn)
    done = {(r["cycle"], r["day"], r["drug"]) for r in store.query(
        "SELECT cycle, day, drug FROM administrations WHERE plan_id = ?", (plan["id"],))}
    added = _anthracycline_mg_m2(library, cum.model, doses, bsa_m2, done, cycle)
    added += sum(v for c, v in cum.remaining_by_cycle.items() if c < cycle)
    total = cum.given_mg_m2 + added
    finding = None
    if passes_cap(total, cum.cap_mg_m2):
        finding = (f"cycle {cycle} would take the cumulative anthracycline dose to {total:.1f} mg/m² "
                   f"doxorubicin-equivalent (given {cum.given_mg_m2:.1f} + {added:.1f} still to give up to and with "
                   f"this cycle), past the cap of {cum.cap_mg_m2:g} mg/m² ({cum.model}: {cum.factors_text()})")
    return CapCheck(total, added, cum, finding)


def signoff(store: Store, actor: str, mrn: str, cycle: int, check: str, *, override_reason: str | None = None,
            dose_level=0, as_of=None, ordered: list | None = None) -> dict:
    """A pharmacist's dose check or a nurse's readiness check of one cycle.

    ``ordered``: the ordered lines as checked (e.g. by the TUI), kept in the
    sign-off's audit row.
    """
    from .dose import calculate_cycle
    from .library import load_library
    from .readiness import assess

    if check not in CHECKS:
        raise ChemoError(f"{check!r}: expected 'dose' or 'readiness'", field="check")
    if override_reason is not None:
        override_reason = override_reason.strip()
        if check != "dose":
            raise ChemoError("an override applies to the dose check only", field="override-reason")
        if len(override_reason) < 10:
            raise ChemoError("an override needs a reason of at least 10 characters", field="override-reason")
    library = load_library()
    with store.transaction():
        role = require(store, actor, ("pharmacist",) if check == "dose" else ("nurse",), f"the {check} sign-off")
        patient = get_patient(store, mrn)
        plan = active_plan(store, patient["id"], mrn)
        cycle = _cycle_number(plan, cycle)
        existing = _signoffs(store, plan["id"], cycle)
        if check in existing:
            s = existing[check]
            raise Refusal(f"cycle {cycle}: the {check} check was signed off by {s['login']} at {s['signed_at']}",
                          field="check")
        other = existing.get("readiness" if check == "dose" else "dose")
        if other is not None and other["login"] == actor:
            raise TwoPersonRefused(f"cycle {cycle}: {actor} made the {other['check_kind']} check; the {check} check "
                                   "must be made by a different person", field="user")
        detail: dict = {}
        audit_new: dict = {"plan_id": plan["id"], "cycle": cycle, "check": check, "role": role}
        if check == "dose":
            regimen, changed = plan_regimen(plan)
            _unchanged(regimen, changed)
            weight = assess(store, mrn, as_of)
            if weight.recalculate:
                finding = (f"the doses must be recalculated: {'; '.join(weight.recalculate_reasons)} "
                           f"({weight.recalculate_source})")
                if override_reason is None:
                    raise RecalculateRefused(
                        finding + "; record a new weight ('chemo measure') and start a new plan ('chemo plan start'), "
                        "or sign off with --override-reason", field="weight")
                audit_new["recalculate_override"] = {"reason": override_reason, "by": actor, "finding": finding}
            body = plan_body(plan, regimen)
            doses = calculate_cycle(regimen, body, cycle=cycle, dose_level=dose_level)
            dose_rows = [{"drug": a.drug, "day": a.day, "dose_mg": a.dose_mg, "calculated_mg": round(a.calculated_mg, 4),
                          "level": a.level} for a in doses.administrations]
            cap = cap_check(store, mrn, plan, cycle, dose_rows, body.bsa_m2, library)
            detail = {"bsa_m2": body.bsa_m2, "body": body.describe(), "dose_level": dose_level, "doses": dose_rows,
                      "regimen_sha256": regimen.sha256, "cumulative_after_mg_m2": round(cap.total_mg_m2, 2),
                      "model": cap.report.model, "cap_mg_m2": cap.report.cap_mg_m2}
            audit_new.update(detail)
            if ordered is not None:
                audit_new["ordered"] = ordered
            if cap.finding:
                if override_reason is None:
                    raise CapRefused(cap.finding + "; a pharmacist may sign off with --override-reason", field="cycle")
                audit_new["cap_override"] = {"reason": override_reason, "by": actor, "finding": cap.finding}
        else:
            verdict = assess(store, mrn, as_of)
            if not verdict.ready:
                failing = [f"{g.analyte} {g.status}" for g in verdict.gates if g.status != "pass"]
                raise NotReady(f"cycle {cycle}: not ready ({', '.join(failing)}); see 'chemo readiness {mrn}'",
                               field="check")
            detail = {"as_of": verdict.as_of, "gates": [[g.analyte, g.status, g.value] for g in verdict.gates],
                      "recalculate": verdict.recalculate}
            audit_new.update(detail)
        record = {"plan_id": plan["id"], "cycle": cycle, "check_kind": check, "login": actor, "role": role,
                  "signed_at": now_local().isoformat(), "override_reason": override_reason,
                  "detail": json.dumps(detail, ensure_ascii=False)}
        sid = store.insert("signoffs", record)
        action = ("signoff.cap-override" if audit_new.get("cap_override")
                  else "signoff.recalculate-override" if audit_new.get("recalculate_override") else f"signoff.{check}")
        audit.append(store, actor, action, "signoffs", sid, None, audit_new)
    return {"id": sid, **record, "detail": detail}


def administer(store: Store, actor: str, mrn: str, cycle: int, day: int | None = None, *, at=None) -> dict:
    from .library import load_library

    when = parse_when(at, "at") if at else now_local()
    library = load_library()
    with store.transaction():
        require(store, actor, ("nurse",), "recording an administration")
        patient = get_patient(store, mrn)
        plan = active_plan(store, patient["id"], mrn)
        cycle = _cycle_number(plan, cycle)
        regimen, changed = plan_regimen(plan)
        _unchanged(regimen, changed)
        checks = _signoffs(store, plan["id"], cycle)
        missing = [c for c in CHECKS if c not in checks]
        if missing:
            raise SignoffMissing(f"cycle {cycle} is not signed off: the {' and '.join(missing)} check"
                                 f"{'s are' if len(missing) > 1 else ' is'} missing", field="cycle")
        if checks["dose"]["login"] == checks["readiness"]["login"]:  # cannot happen through signoff(); checked anyway
            raise TwoPersonRefused(f"cycle {cycle}: both checks were made by {checks['dose']['login']}", field="user")
        detail = json.loads(checks["dose"]["detail"])
        if detail.get("regimen_sha256") != regimen.sha256:
            raise Refusal(f"cycle {cycle}: the doses were signed off on another version of {regimen.path}",
                          field="regimen")
        doses = detail["doses"]
        bsa = detail["bsa_m2"]
        if day is not None:
            if isinstance(day, bool) or not isinstance(day, int) or day < 1:
                raise ChemoError(f"{day!r}: expected a day number", field="day")
            doses = [d for d in doses if d["day"] == day]
            if not doses:
                days = sorted({d["day"] for d in detail["doses"]})
                raise ChemoError(f"no doses on day {day} of cycle {cycle} (days: {', '.join(map(str, days))})",
                                 field="day")
        given = {(r["day"], r["drug"]): r for r in store.query(
            "SELECT day, drug, given_at, given_by FROM administrations WHERE plan_id = ? AND cycle = ?",
            (plan["id"], cycle))}
        again = [d for d in doses if (d["day"], d["drug"]) in given]
        if again:
            g = given[(again[0]["day"], again[0]["drug"])]
            raise Refusal(f"cycle {cycle} day {again[0]['day']}: {again[0]['drug']} was recorded at {g['given_at']} "
                          f"by {g['given_by']}", field="day")
        cum = report(store, mrn)
        added = _anthracycline_mg_m2(library, cum.model, doses, bsa)
        total = cum.given_mg_m2 + added
        override = checks["dose"]["override_reason"]
        if passes_cap(total, cum.cap_mg_m2) and not override:
            raise CapRefused(f"cycle {cycle}: giving these doses takes the cumulative anthracycline dose to "
                             f"{total:.1f} mg/m², past the cap of {cum.cap_mg_m2:g} mg/m² ({cum.model}), and the dose "
                             "sign-off has no override", field="cycle")
        rows = []
        for d in doses:
            record = {"plan_id": plan["id"], "cycle": cycle, "day": d["day"], "drug": d["drug"], "dose_mg": d["dose_mg"],
                      "bsa_m2": bsa, "given_at": when.isoformat(), "given_by": actor}
            aid = store.insert("administrations", record)
            new = dict(record)
            if passes_cap(total, cum.cap_mg_m2):
                new["cap_override"] = {"reason": override, "by": checks["dose"]["login"]}
            audit.append(store, actor, "administration.add", "administrations", aid, None, new)
            rows.append(record)
    return {"cycle": cycle, "day": day, "administrations": rows, "cumulative_after_mg_m2": round(total, 2),
            "cap_mg_m2": cum.cap_mg_m2, "model": cum.model}
