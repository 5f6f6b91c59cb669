"""Sign-offs and administrations: the two-person check before a cycle is given.

* The **dose check** (a pharmacist): the doses of the cycle are calculated by the
  dose engine on the plan's dosing body size at the chosen dose level and
  stored with the sign-off; refused while the cycle would take the cumulative
  anthracycline dose past the regimen's cap, unless the pharmacist records an
  override with a reason (it goes into the audit log).
  Also refused while the weight calls for a recalculation (changed by the
  library's threshold from the plan's dosing weight, or too old), and while a
  dose-modification band of the regimen applies (readiness's suggestions) and
  the sign-off's dose level of that drug gives more than the band allows (or
  the band says do not give), unless overridden the same way.  Each override
  is recorded as what it covered: ``overrides`` in the sign-off's detail
  (``cap``, ``recalculate``, ``modification``) and its own audit entry.
* The **readiness check** (a nurse): refused while the readiness gates are not all ``pass``.
* The two checks of one cycle need two different people.
* A check is signed once.  A dose sign-off that has lapsed (:func:`chemo.prescription.lapsed`: its
  prescription superseded, a prescription written after a sign-off of the calculated doses, a later weight
  or height) is signed again the same way, with the same checks, while no dose of the cycle is given: the
  lapsed row is kept, marked superseded by the new one (:func:`chemo.db.signoffs.replace`), both audited.
  A readiness sign-off never lapses (what lapses a dose sign-off is not what it signs).
* An **administration** (a nurse) records the signed-off doses of one day: the
  day named, else the next day of the cycle not yet given (refused before its
  calendar day, so a second entry of today's doses never becomes tomorrow's);
  every day not yet given only when asked (``all_days``), each at its own time
  (a calendar day apart), never in the future.  A day is given once, at a time
  not before the day recorded before it.  Refused without both sign-offs; while the readiness
  gates do not all pass at the time given (on a later day of a cycle already
  started, a result grown too old since is accepted; a failing one never is); while a dose of an earlier cycle
  of the plan is not given; while a modification band applies that the signed
  dose level does not meet and the sign-off did not override; or when the cap
  would be passed and the dose sign-off recorded no *cap* override.  The BSA
  stored with each dose is the patient's BSA that day (the newest height and
  weight on or before it, with the plan's formula), so the cumulative dose is
  counted as mg given ÷ BSA on that day; the dose given is the one signed off.
  The calendar (:mod:`chemo.calendar`): a cycle's first day is refused before the cycle's earliest date (its due
  date less the regimen's early window) and so is its dose sign-off; a later day before its calendar day
  (day 1 + (day - 1)).  Readiness is assessed for the cycle: eligibility gates before cycle 1, retreatment
  gates before every cycle; a prescriber's gate override lets the cycle through a failing gate, and the
  nurse's readiness sign-off records that it rests on it.

Each of these runs in one ``BEGIN IMMEDIATE`` transaction: all checks, the
rows and their audit rows commit together, or nothing is written.
"""

from __future__ import annotations

import datetime as _dt
import json

from attrs import frozen

from . import audit, calendar
from .cumulative import anthracycline_mg_m2, factor_of, passes_cap, report
from .errors import MIN_REASON, ChemoError, NextStep
from .records import CLOCK_SKEW, active_plan, locked_patient, parse_when, plan_body, plan_regimen
from .roles import require
from .db import administrations, signoffs
from .db import audit as audit_log
from .db.store import Refusal, Store, now_local

CHECKS = ("dose", "readiness")


class TreatmentRefusal(Refusal):
    """A sign-off or administration refused, as data: what was found and what would let it through.

    * ``finding``: what the engine found, in words that name no command;
    * ``next_steps``: what would let it through (:class:`chemo.errors.NextStep`), with the facts the
      steps need: ``mrn``, ``at`` (ISO time), ``cycle``, ``day``, ``first_day``/``first_at``;
    * ``overridable``: a pharmacist's sign-off with an override (and its reason) would;
    * ``bands``: the dose-modification bands not met (:func:`band_findings`), ``head`` the words before them;
      ``suggested_levels``: {drug: dose level} that meets each band (where a level does).

    The message is the finding with those steps in plain words; the CLI writes its commands and
    options from the fields (``chemo.cli``), the TUI its keys.
    """

    kind: str | None = None  # of a refusal an override could let through: its OVERRIDE_KINDS entry

    def __init__(self, message: str, *, field: str | None = None, file: str | None = None, finding: str | None = None,
                 next_steps: tuple = (), overridable: bool = False, bands: tuple = (), head: str = "",
                 mrn: str | None = None, at: str | None = None, cycle: int | None = None, day: int | None = None,
                 first_day: int | None = None, first_at: str | None = None):
        super().__init__(message, field=field, file=file, finding=finding, next_steps=next_steps, mrn=mrn)
        self.overridable = overridable
        self.bands = tuple(bands)
        self.head = head
        self.at, self.cycle, self.day, self.first_day, self.first_at = at, cycle, day, first_day, first_at

    @property
    def suggested_levels(self) -> dict:
        return {b["drug"]: b["satisfied_by_level"] for b in self.bands if b.get("satisfied_by_level") is not None}


class RegimenChanged(TreatmentRefusal):
    """The regimen file differs from the one the plan was started on (exit 1)."""


class NoBodySize(TreatmentRefusal):
    """No height and weight recorded on or before the day of an administration (exit 1)."""


class CapRefused(TreatmentRefusal):
    """The cumulative anthracycline cap would be passed (exit 1)."""

    kind = "cap"


class TwoPersonRefused(TreatmentRefusal):
    """One person tried to make both checks of a cycle (exit 1)."""


class NotReady(TreatmentRefusal):
    """A readiness sign-off while a gate does not pass (exit 1)."""


class RecalculateRefused(TreatmentRefusal):
    """A dose sign-off on a stale or changed weight (exit 1)."""

    kind = "recalculate"


class SignoffMissing(TreatmentRefusal):
    """An administration without both sign-offs (exit 1)."""


class ModificationRefused(TreatmentRefusal):
    """A dose sign-off or administration above a dose-modification band that applies (exit 1)."""

    kind = "modification"


class AllergyRefused(TreatmentRefusal):
    """A dose sign-off of a cycle with a drug (or drug class) the patient is recorded allergic to (exit 1)."""

    kind = "allergy"


class OutOfOrder(TreatmentRefusal):
    """An administration while a dose of an earlier cycle is not given (exit 1)."""


OVERRIDE_KINDS = ("cap", "recalculate", "modification", "allergy")
FRACTION_EPSILON = 1e-9


def band_findings(regimen, dose_level, suggestions, library) -> list[dict]:
    """The modification bands (readiness suggestions) the dose level does not meet.

    A band is met when the drug's level gives at most the band's fraction (the
    fraction :func:`chemo.dose.level_factor` gives); a band of 0 % (do not
    give) is never met.  Each finding names the lab value, the band, its source
    and, as data, the level that would meet it (``satisfied_by_level``, giving
    ``satisfied_by_pct``; None: none does, which ``finding`` says).
    """
    from .dose import level_factor, levels_by_drug
    from .errors import ChemoError as _Err

    if not suggestions:
        return []
    levels = levels_by_drug(regimen, dose_level, library)
    findings = []
    for s in suggestions:
        line = regimen.line(s.drug)
        drug = library.drugs.get(s.drug)
        if line is None or drug is None:  # not a drug line of this regimen: nothing this sign-off sets
            continue
        level = levels.get(s.drug, 0)
        fraction = level_factor(drug, level, line.daily)[0]
        if s.give > 0 and fraction <= s.give + FRACTION_EPSILON:
            continue
        action = "do not give" if s.give == 0 else f"give at most {s.give * 100:g} %"
        text = (f"{s.drug}: {s.analyte} {s.value} is in the band {s.band} ({action}; {s.source}), "
                f"and this sign-off gives {fraction * 100:g} % (level {level})")
        if s.give == 0:
            text += "; no dose level satisfies a band that says do not give"
            suggestion = suggestion_pct = None
        else:
            suggestion, suggestion_pct, lowest = None, None, (fraction, level)
            step = 0
            while True:
                try:
                    f = level_factor(drug, step, line.daily)[0]
                except _Err:
                    break
                lowest = (f, step)
                if f <= s.give + FRACTION_EPSILON:
                    suggestion = step
                    break
                step -= 1
            if suggestion is not None:
                suggestion_pct = lowest[0] * 100
            else:
                text += (f"; no dose level of {s.drug} reaches {s.give * 100:g} % (the lowest is "
                         f"{lowest[0] * 100:g} % at level {lowest[1]}): a further reduction is a prescriber's decision")
        findings.append({"drug": s.drug, "analyte": s.analyte, "value": s.value, "band": s.band, "give_pct": s.give * 100,
                         "source": s.source, "level": level, "level_pct": fraction * 100,
                         "satisfied_by_level": suggestion, "satisfied_by_pct": suggestion_pct, "finding": text})
    return findings


def recalculate_finding(report) -> str:
    """Why a readiness assessment (``report.recalculate``) calls for the doses to be recalculated: the finding
    of a dose sign-off's refusal (and of the TUI's check before it)."""
    return f"the doses must be recalculated: {'; '.join(report.recalculate_reasons)} ({report.recalculate_source})"


def _signoff_overrides(store: Store, signoff_row: dict, detail: dict) -> list:
    """What the dose sign-off's override covered; for rows written before ``overrides`` was kept,
    what its audit row recorded."""
    if "overrides" in detail:
        return list(detail["overrides"])
    if not signoff_row["override_reason"]:
        return []
    first = audit_log.first_new(store, "signoffs", str(signoff_row["id"]))
    new = json.loads(first) if first else {}
    return [k for k in OVERRIDE_KINDS if new.get(f"{k}_override")]


def checked_cycle(plan: dict, cycle) -> int:
    if isinstance(cycle, bool) or not isinstance(cycle, int) or not 1 <= cycle <= plan["planned_cycles"]:
        raise ChemoError(f"{cycle!r}: the plan ({plan['regimen_id']}) has cycles 1-{plan['planned_cycles']}",
                         field="cycle")
    return cycle


def require_unchanged_regimen(regimen, changed: bool) -> None:
    if changed:
        finding = f"the regimen file {regimen.path} has changed since the plan was started (its hash differs)"
        raise RegimenChanged(finding + ": start a new plan before signing or giving doses", finding=finding,
                             next_steps=(NextStep.NEW_PLAN,), field="regimen")


@frozen
class CapCheck:
    """Cumulative anthracycline if a cycle is given as calculated."""

    total_mg_m2: float  # given + earlier cycles still to give + this cycle
    added_mg_m2: float  # the part still to give, up to and with this cycle
    report: object  # the cumulative.Report it stands on
    finding: str | None  # why the cap forbids the cycle, or None


def cap_check(store: Store, mrn: str, plan: dict, cycle: int, doses: list[dict], bsa_m2: float, library,
              cum=None) -> CapCheck:
    """The sum the dose sign-off makes (and the TUI shows before it): doses of earlier
    cycles not yet given count first, then this cycle's doses not yet given.  ``cum``: the patient's
    cumulative report when the caller has just made it."""
    cum = cum or report(store, mrn)
    done = administrations.given(store, plan["id"])
    added = anthracycline_mg_m2(library, cum.model, doses, bsa_m2, done, cycle)
    added += sum(v for c, v in cum.remaining_by_cycle.items() if c < cycle)
    total = cum.given_mg_m2 + added
    finding = None
    if passes_cap(total, cum.cap_mg_m2):
        finding = (f"cycle {cycle} would take the cumulative anthracycline dose to {total:.1f} mg/m² "
                   f"doxorubicin-equivalent (given {cum.given_mg_m2:.1f} + {added:.1f} still to give up to and with "
                   f"this cycle), past the cap of {cum.cap_mg_m2:g} mg/m² ({cum.model}: {cum.factors_text()})")
    return CapCheck(total, added, cum, finding)


def signoff(store: Store, actor: str, mrn: str, cycle: int, check: str, *, override_reason: str | None = None,
            dose_level=0, as_of=None, ordered: list | None = None, accept: dict | None = None,
            reason: str | None = None) -> dict:
    """A pharmacist's dose check or a nurse's readiness check of one cycle.

    With a standing prescription (:mod:`chemo.prescription`) the dose check signs it: its mg exactly,
    each review line with its reason (``accept`` {(drug, day): reason}, or ``reason`` for all).
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
        if len(override_reason) < MIN_REASON:
            raise ChemoError(f"an override needs a reason of at least {MIN_REASON} characters",
                             field="override-reason")
    library = load_library()
    with store.transaction(per_patient=True):
        role = require(store, actor, ("pharmacist",) if check == "dose" else ("nurse",), f"the {check} sign-off")
        patient = locked_patient(store, mrn)
        plan = active_plan(store, patient["id"], mrn)
        cycle = checked_cycle(plan, cycle)
        existing = signoffs.for_cycle(store, plan["id"], cycle)
        replaces = _lapsed_to_replace(store, patient, plan, cycle, check, existing.get(check), library)
        other = existing.get("readiness" if check == "dose" else "dose")
        if other is not None and other["login"] == actor:
            raise TwoPersonRefused(f"cycle {cycle}: {actor} made the {other['check_kind']} check; the {check} check "
                                   "must be made by a different person", field="user")
        detail: dict = {}
        audit_new: dict = {"plan_id": plan["id"], "cycle": cycle, "check": check, "role": role}
        regimen, changed = plan_regimen(plan)
        # both checks are of a cycle about to be given: neither is signed before the cycle's earliest date
        # (a readiness sign-off weeks ahead would rest on labs that say nothing of the day it is given)
        calendar.check_cycle_due(calendar.build(store, plan, regimen, mrn), cycle, now_local().date(),
                                 f"the {check} sign-off")
        if check == "dose":
            require_unchanged_regimen(regimen, changed)
            weight = assess(store, mrn, as_of, cycle=cycle)
            if weight.recalculate:
                finding = recalculate_finding(weight)
                if override_reason is None:
                    raise RecalculateRefused(
                        finding + "; record a new weight and start a new plan, or sign off with an override and its "
                        "reason", finding=finding, next_steps=(NextStep.NEW_WEIGHT, NextStep.NEW_PLAN, NextStep.OVERRIDE),
                        overridable=True, field="weight")
                audit_new["recalculate_override"] = {"reason": override_reason, "by": actor, "finding": finding}
            if isinstance(dose_level, (list, tuple)):  # as typed: ("-1",) or ("doxorubicin=-2",)
                from .dose import parse_dose_levels

                dose_level = parse_dose_levels(dose_level, regimen, library, field="dose-level")
            body = plan_body(plan, regimen)
            from .prescription import sign_prescription

            prescribed = sign_prescription(store, mrn, plan, cycle, regimen, library, dose_level=dose_level,
                                           accept=accept, reason=reason)
            carried = None
            if prescribed is not None:  # the prescription's mg, exactly
                dose_level, dose_rows, prescribed = prescribed
                carried = prescribed.pop("supportive", None)
            ledger = report(store, mrn)  # the cumulative dose given so far switches on dexrazoxane
            # the supportive lines: the one dose path at the signed level (a prescription's own, when it carries them)
            doses = calculate_cycle(regimen, body, cycle=cycle, dose_level=dose_level,
                                    cumulative_mg_m2=ledger.given_mg_m2)
            if prescribed is None:
                dose_rows = [{"drug": a.drug, "day": a.day, "dose_mg": a.dose_mg,
                              "calculated_mg": round(a.calculated_mg, 4), "level": a.level}
                             for a in doses.administrations]
            cap = cap_check(store, mrn, plan, cycle, dose_rows, body.bsa_m2, library, cum=ledger)
            detail = {"bsa_m2": body.bsa_m2, "body": body.describe(), "dose_level": dose_level, "doses": dose_rows,
                      "regimen_sha256": regimen.sha256, "cumulative_after_mg_m2": round(cap.total_mg_m2, 2),
                      "model": cap.report.model, "cap_mg_m2": cap.report.cap_mg_m2}
            if prescribed is not None:
                detail["prescription"] = prescribed
            from .prescription import body_at_signing

            detail["record_body"] = body_at_signing(store, patient)  # what a later change lapses the sign-off from
            if carried is not None:  # the supportive lines as prescribed
                detail["supportive"] = carried["supportive"]
                conditional = carried["conditional"]
            else:
                detail["supportive"] = [s.as_json() for s in doses.supportive]
                conditional = list(doses.conditional)
            if conditional:
                detail["conditional"] = conditional
            from .dose import schedules_of

            schedules = schedules_of(regimen, dose_rows, library)  # the signed mg, split at the regimen's times
            if schedules:
                detail["schedules"] = schedules
            audit_new.update(detail)
            if ordered is not None:
                audit_new["ordered"] = ordered
            _allergy_check(store, patient, [d["drug"] for d in dose_rows] + [s["drug"] for s in detail["supportive"]],
                           library, override_reason, actor, audit_new, detail)
            bands = band_findings(regimen, dose_level, weight.suggestions, library)
            if bands:
                if override_reason is None:
                    head = f"cycle {cycle}: a dose modification applies: "
                    finding = head + "; ".join(b["finding"] for b in bands)
                    levels = [f"{b['drug']} at dose level {b['satisfied_by_level']} ({b['satisfied_by_pct']:g} %)"
                              for b in bands if b["satisfied_by_level"] is not None]
                    raise ModificationRefused(
                        finding + (f"; sign off with {', '.join(levels)}" if levels else "")
                        + "; or a pharmacist may sign off with an override and its reason", finding=finding, head=head,
                        bands=bands, cycle=cycle, overridable=True,
                        next_steps=((NextStep.DOSE_LEVEL,) if levels else ()) + (NextStep.OVERRIDE,), field="dose-level")
                audit_new["modification_override"] = {
                    "reason": override_reason, "by": actor, "findings": [b["finding"] for b in bands],
                    # the level that would have met each band (the finding's words no longer name it: issue 17)
                    "satisfied_by_levels": {b["drug"]: b["satisfied_by_level"] for b in bands
                                            if b["satisfied_by_level"] is not None}}
                detail["modification_bands"] = [[b["drug"], b["band"], b["give_pct"]] for b in bands]
            if cap.finding:
                if override_reason is None:
                    raise CapRefused(cap.finding + "; a pharmacist may sign off with an override and its reason",
                                     finding=cap.finding, next_steps=(NextStep.OVERRIDE,), overridable=True,
                                     field="cycle")
                audit_new["cap_override"] = {"reason": override_reason, "by": actor, "finding": cap.finding}
            detail["overrides"] = [k for k in OVERRIDE_KINDS if f"{k}_override" in audit_new]
            audit_new["overrides"] = detail["overrides"]
            if "modification_bands" in detail:
                audit_new["modification_bands"] = detail["modification_bands"]
        else:
            verdict = assess(store, mrn, as_of, cycle=cycle)
            if not verdict.ready:
                failing = list(dict.fromkeys(f"{g.analyte} {g.status}" for g in verdict.gates if not g.passes))
                finding = f"cycle {cycle}: not ready ({', '.join(failing)})"
                raise NotReady(finding + f"; see the readiness of {mrn}", finding=finding, mrn=mrn,
                               next_steps=(NextStep.READINESS,), field="check")
            detail = {"as_of": verdict.as_of, "gates": [[g.analyte, g.status, g.value] for g in verdict.gates],
                      "recalculate": verdict.recalculate}
            if verdict.overrides:  # the nurse's sign-off rests on a prescriber's override: recorded as such
                detail["rests_on_overrides"] = [{"analyte": g.analyte, **g.override} for g in verdict.overrides]
            audit_new.update(detail)
        record = {"plan_id": plan["id"], "cycle": cycle, "check_kind": check, "login": actor, "role": role,
                  "signed_at": now_local().isoformat(), "override_reason": override_reason,
                  "detail": json.dumps(detail, ensure_ascii=False)}
        if replaces is None:
            sid = signoffs.add(store, record)
        else:  # the lapsed sign-off stays, marked superseded by this one; both audited
            sid = signoffs.replace(store, replaces["id"], record)
            audit_new["supersedes"] = {"id": replaces["id"], "lapsed": replaces["lapsed"]}
        action = ("signoff.cap-override" if audit_new.get("cap_override")
                  else "signoff.recalculate-override" if audit_new.get("recalculate_override")
                  else "signoff.modification-override" if audit_new.get("modification_override")
                  else "signoff.allergy-override" if audit_new.get("allergy_override")
                  else f"signoff.{check}")
        audit_new.update(signed_at=record["signed_at"], override_reason=override_reason)  # checked by audit.verify
        audit.append(store, actor, action, "signoffs", sid, None, audit_new)
        if replaces is not None:
            audit.append(store, actor, "signoff.supersede", "signoffs", replaces["id"], {"superseded_by": None},
                         {"superseded_by": sid, "lapsed": replaces["lapsed"]})
    out = {"id": sid, **record, "detail": detail}
    if replaces is not None:
        out["supersedes"] = replaces["id"]
        out["lapsed"] = replaces["lapsed"]
    return out


def _lapsed_to_replace(store: Store, patient: dict, plan: dict, cycle: int, check: str, standing: dict | None,
                       library) -> dict | None:
    """The standing sign-off of ``check`` that a new one would replace: None when the cycle has none; refused when
    it stands (a sign-off is made once) or when a dose of the cycle was given (the doses given were the signed ones).
    A dose sign-off is replaced only when it has lapsed (:func:`chemo.prescription.lapsed`, the one decision the
    worksheet and the administration read too); a readiness sign-off never lapses (what lapses a dose sign-off --
    the prescription, the weight, the height -- is not what it signs), so it is never replaced.  Returns the row
    with ``lapsed``, why."""
    if standing is None:
        return None
    from .prescription import lapsed, refuse_lapsed

    signed = f"cycle {cycle}: the {check} check was signed off by {standing['login']} at {standing['signed_at']}"
    why = lapsed(store, patient, plan, cycle, json.loads(standing["detail"]), library) if check == "dose" else None
    if why is None:
        raise Refusal(signed + (" and still stands (nothing has lapsed it): a sign-off is made once"
                                if check == "dose" else ""), field="check")
    started = first_given(store, plan["id"], cycle)
    if started:
        refuse_lapsed(why, mrn=patient["mrn"], cycle=cycle, started=started)
    return {**standing, "lapsed": why}


def first_given(store: Store, plan_id: int, cycle: int) -> dict | None:
    """The first administration recorded of a cycle (its lowest day, earliest), or None: not started."""
    return min(administrations.in_cycle(store, plan_id, cycle), key=lambda r: (r["day"], r["given_at"]), default=None)


def _allergy_check(store: Store, patient: dict, drug_ids: list, library, override_reason, actor, audit_new: dict,
                   detail: dict) -> None:
    """Refuse a dose sign-off with a drug of the cycle the patient is allergic to, unless overridden."""
    from .allergies import conflicts
    from .db import allergies as allergy_rows

    found = conflicts(allergy_rows.for_patient(store, patient["id"]), drug_ids, library)
    if not found:
        return
    finding = "; ".join(c.finding() for c in found)
    if override_reason is None:
        raise AllergyRefused(finding + "; a pharmacist may sign off with an override and its reason", finding=finding,
                             next_steps=(NextStep.OVERRIDE,), overridable=True, field="allergy")
    audit_new["allergy_override"] = {"reason": override_reason, "by": actor, "finding": finding}
    detail["allergies"] = [[c.drug, c.allergy["substance"]] for c in found]
    audit_new["allergies"] = detail["allergies"]


def _earlier_not_given(store: Store, plan: dict, cycle: int, regimen, library) -> list[str]:
    """Each earlier cycle of the plan with a dose not given: "cycle 1 (doxorubicin day 2, ...)"."""
    from .cumulative import planned_doses
    from .records import plan_body

    if cycle <= 1:
        return []
    done = administrations.given(store, plan["id"], before_cycle=cycle)
    signed = signoffs.dose_details(store, plan["id"])
    body = None
    out = []
    for c in range(1, cycle):
        if c not in signed and not any(k[0] == c for k in done):
            out.append(f"cycle {c} (nothing given)")
            continue
        if body is None:
            body = plan_body(plan, regimen)
        doses, _ = planned_doses(store, plan, signed, regimen, body, c)
        missing = [f"{d['drug']} day {d['day']}" for d in doses if (c, d["day"], d["drug"]) not in done]
        if missing:
            out.append(f"cycle {c} ({', '.join(missing)} not given)")
    return out


def _bsa_on(store: Store, plan: dict, patient: dict, day) -> tuple[float, dict]:
    """The patient's BSA on ``day``: the newest height and weight on or before it, with the plan's formula."""
    from .bodysize import bsa_m2
    from .records import latest_body

    body = latest_body(store, patient["id"], day)
    if body["height_cm"] is None or body["weight_kg"] is None:
        finding = (f"{patient['mrn']}: no height and weight recorded on or before {day.isoformat()}, so the BSA of "
                   "the day of administration is unknown")
        raise NoBodySize(finding + " (record them, dated on or before that day)", finding=finding, mrn=patient["mrn"],
                         at=day.isoformat(), next_steps=(NextStep.BODY_SIZE_ON,), field="at")
    return bsa_m2(body["height_cm"], body["weight_kg"], plan["bsa_formula"]), body


class DayRefused(TreatmentRefusal):
    """An administration of a day not yet due, given twice or out of time (exit 1)."""


def administer(store: Store, actor: str, mrn: str, cycle: int, day: int | None = None, *, at=None,
               all_days: bool = False, scans: tuple = ()) -> dict:
    """Record the signed-off doses of one day of a cycle as given (or, with ``all_days``, of every day not yet given).

    * ``day`` given: that day, at ``at`` (default now).
    * Neither ``day`` nor ``all_days``: the next day of the cycle not yet given, which the result names
      (``implied_day``); refused while that day is not yet due by the calendar (day 2 is due the calendar day
      after day 1 was given), so a second entry of today's doses never becomes tomorrow's.
    * ``all_days``: every day not yet given, the first at ``at`` (default now) and each later day of the cycle
      that many calendar days later; refused when a day would fall in the future.

    A time is never in the future and never before a day of the plan already recorded before it.
    """
    from .library import load_library
    from .readiness import assess

    if all_days and day is not None:
        raise ChemoError("give a day or every day, not both", field="day")
    when = parse_when(at, "at") if at else now_local()
    library = load_library()
    with store.transaction(per_patient=True):
        require(store, actor, ("nurse",), "recording an administration")
        patient = locked_patient(store, mrn)
        plan = active_plan(store, patient["id"], mrn)
        cycle = checked_cycle(plan, cycle)
        regimen, changed = plan_regimen(plan)
        require_unchanged_regimen(regimen, changed)
        cal = calendar.build(store, plan, regimen, mrn)  # a cycle not yet started is refused before its date
        calendar.check_cycle_due(cal, cycle, when.date(), f"giving cycle {cycle}")
        checks = signoffs.for_cycle(store, plan["id"], cycle)
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
        from .prescription import lapsed, refuse_lapsed

        why = lapsed(store, patient, plan, cycle, detail, library)
        if why:
            refuse_lapsed(why, mrn=mrn, cycle=cycle, started=first_given(store, plan["id"], cycle))
        signed = detail["doses"]
        cycle_days = sorted({d["day"] for d in signed})
        given = {(r["day"], r["drug"]): r for r in administrations.in_cycle(store, plan["id"], cycle)}
        given_days = sorted({k[0] for k in given})
        open_days = [d for d in cycle_days if not any((d, x["drug"]) in given for x in signed if x["day"] == d)]
        implied = day is None and not all_days
        if day is not None:
            if isinstance(day, bool) or not isinstance(day, int) or day < 1:
                raise ChemoError(f"{day!r}: expected a day number", field="day")
            if day not in cycle_days:
                raise ChemoError(f"no doses on day {day} of cycle {cycle} (days: {', '.join(map(str, cycle_days))})",
                                 field="day")
            days = [day]
        elif not open_days:
            last = max(given.values(), key=lambda g: g["given_at"])
            raise DayRefused(f"cycle {cycle}: every day ({', '.join(map(str, cycle_days))}) is already recorded, the "
                             f"last at {last['given_at']} by {last['given_by']}", field="cycle")
        elif all_days:
            days = open_days
        else:
            days = open_days[:1]
        times = {d: when + _dt.timedelta(days=d - days[0]) for d in days}
        again = [d for d in signed if d["day"] in days and (d["day"], d["drug"]) in given]
        if again:
            g = given[(again[0]["day"], again[0]["drug"])]
            raise DayRefused(f"cycle {cycle} day {again[0]['day']}: {again[0]['drug']} was recorded at {g['given_at']} "
                             f"by {g['given_by']}", field="day")
        before = [d for d in open_days if d < days[0]]
        if before:
            raise OutOfOrder(f"cycle {cycle} day {days[0]} cannot be given before day {before[0]} of the cycle "
                             f"(not yet recorded)", field="day")
        if implied and given_days:
            _due(cal, cycle, days[0], when, given, given_days)
        for d in days:
            calendar.check_day_date(cal, cycle, d, times[d].date())
        latest = now_local() + CLOCK_SKEW
        future = [d for d in days if times[d] > latest]
        if future:
            d = future[0]
            finding = (f"cycle {cycle}: recording every day, day {d} would be recorded at "
                       f"{times[d].isoformat(sep=' ')}, in the future (day {days[0]} at {when.isoformat(sep=' ')}, "
                       "each later day a calendar day later)")
            raise DayRefused(
                finding + f": record each day when it is given, or give the time day {days[0]} was given",
                finding=finding, cycle=cycle, day=d, at=times[d].isoformat(sep=" "), first_day=days[0],
                first_at=when.isoformat(sep=" "), next_steps=(NextStep.EACH_DAY,), field="at")
        scanned = []
        if scans:  # each bag's label must match a dose the sign-off in force holds for the day given
            from .db import audit as audit_log
            from .labels import check_scans

            sign_hash = audit_log.first_hash(store, "signoffs", str(checks["dose"]["id"])) or ""
            scanned = check_scans(store, mrn, cycle, days, detail, sign_hash, scans)
        earlier = _earlier_not_given(store, plan, cycle, regimen, library)
        if earlier:
            raise OutOfOrder(f"cycle {cycle} cannot be given before the earlier cycles: {'; '.join(earlier)}",
                             field="cycle")
        overrides = _signoff_overrides(store, checks["dose"], detail)
        covered = {(b[0], b[1]) for b in detail.get("modification_bands", [])}
        started = bool(given)
        rests_on: dict = {}
        for d in days:
            verdict = assess(store, mrn, times[d], cycle=cycle)
            # a later day of a cycle already started (ifosfamide d1-5, anlotinib d1-14) does not need new blood
            # tests: a result grown too old since the cycle started counts, a result that fails never does; a gate
            # its source asks for before each day (each_day) needs a result young enough on that day too
            def holds(g):
                return g.passes or (started and g.status == "stale" and not g.each_day)
            if not verdict.gates or not all(holds(g) for g in verdict.gates):
                failing = list(dict.fromkeys(f"{g.analyte} {g.status}" + (f" ({g.action})" if g.action else "")
                                             for g in verdict.gates if not holds(g))) or ["no thresholds"]
                at_text = times[d].isoformat(sep=" ")
                finding = (f"cycle {cycle}: not ready at {at_text}" + (f" (day {d})" if len(days) > 1 else "")
                           + f" ({', '.join(failing)})")
                raise NotReady(finding + f"; see the readiness of {mrn} at {times[d].isoformat()}", finding=finding,
                               mrn=mrn, at=times[d].isoformat(), next_steps=(NextStep.READINESS,), field="cycle")
            started = True
            if verdict.overrides:
                rests_on[d] = [{"analyte": g.analyte, **g.override} for g in verdict.overrides]
            day_drugs = {x["drug"] for x in signed if x["day"] == d}
            bands = [b for b in band_findings(regimen, detail.get("dose_level", 0), verdict.suggestions, library)
                     if (b["drug"], b["band"]) not in covered and b["drug"] in day_drugs]
            if bands:
                head = f"cycle {cycle}: a dose modification applies now that the dose sign-off did not cover: "
                finding = head + "; ".join(b["finding"] for b in bands)
                raise ModificationRefused(
                    finding + "; the signed-off doses cannot be given: have the prescriber start a new plan and the "
                    "pharmacist sign off its doses at a level that meets the band", finding=finding, head=head,
                    bands=bands, cycle=cycle, next_steps=(NextStep.NEW_PLAN,), field="cycle")
        bodies = {d: _bsa_on(store, plan, patient, times[d].date()) for d in days}
        _not_before(store, plan, cycle, days[0], when)
        doses = [x for x in signed if x["day"] in days]
        cum = report(store, mrn)
        added = sum(anthracycline_mg_m2(library, cum.model, [x for x in doses if x["day"] == d], bodies[d][0])
                    for d in days)
        total = cum.given_mg_m2 + added
        override = checks["dose"]["override_reason"]
        cap_override = "cap" in overrides
        if passes_cap(total, cum.cap_mg_m2) and not cap_override:
            raise CapRefused(f"cycle {cycle}: giving these doses takes the cumulative anthracycline dose to "
                             f"{total:.1f} mg/m², past the cap of {cum.cap_mg_m2:g} mg/m² ({cum.model}), and the dose "
                             "sign-off has no override of the cap" + (f" (its override covered: {', '.join(overrides)})"
                                                               if overrides else ""), field="cycle")
        rows = []
        for d in doses:
            bsa, body = bodies[d["day"]]
            record = {"plan_id": plan["id"], "cycle": cycle, "day": d["day"], "drug": d["drug"], "dose_mg": d["dose_mg"],
                      "bsa_m2": bsa, "given_at": times[d["day"]].isoformat(), "given_by": actor}
            aid = administrations.add(store, record)
            new = dict(record)
            new["bsa_basis"] = {"height_cm": body["height_cm"], "height_on": body["height_on"],
                                "weight_kg": body["weight_kg"], "weight_on": body["weight_on"],
                                "formula": plan["bsa_formula"], "signed_off_bsa_m2": detail["bsa_m2"]}
            new["recorded_as"] = "all-days" if all_days else "next-day" if implied else "day"
            if d["day"] in rests_on:
                new["rests_on_gate_overrides"] = rests_on[d["day"]]
            if scanned:
                new["scanned"] = [f"{x['drug']} {x['mg']:g} mg day {x['day']} {x['at']}" for x in scanned]
            if passes_cap(total, cum.cap_mg_m2):
                new["cap_override"] = {"reason": override, "by": checks["dose"]["login"]}
            audit.append(store, actor, "administration.add", "administrations", aid, None, new)
            rows.append(record)
    return {"cycle": cycle, "day": days[0] if len(days) == 1 and not all_days else None, "days": days,
            "implied_day": implied, "times": {str(d): times[d].isoformat() for d in days},
            "administrations": rows, "cumulative_after_mg_m2": round(total, 2), "cap_mg_m2": cum.cap_mg_m2,
            "model": cum.model}


def _due(cal, cycle: int, day: int, when, given: dict, given_days: list) -> None:
    """The next day not yet given, chosen for the nurse, is refused before its calendar day
    (:func:`chemo.calendar.check_day_date`), in words that name the day chosen and the earlier day recorded."""
    earlier = [d for d in given_days if d < day]
    if not earlier:
        return
    try:
        calendar.check_day_date(cal, cycle, day, when.date())
    except calendar.CalendarRefused as exc:
        prev = max(earlier)
        row = max((g for k, g in given.items() if k[0] == prev), key=lambda g: g["given_at"])
        finding = (f"cycle {cycle}: the next day not yet given is day {day}, due on {exc.falls.isoformat()} (day "
                   f"{prev} was given at {row['given_at']} by {row['given_by']}); if day {prev} was meant it is "
                   "already recorded")
        raise DayRefused(finding + f"; day {day} is recorded on its date (the calendar)", finding=finding,
                         cycle=cycle, day=day, field="day") from None


def _not_before(store: Store, plan: dict, cycle: int, day: int, when) -> None:
    """A day is not recorded at a time before an earlier day of the plan was given."""
    row = administrations.latest_before(store, plan["id"], cycle, day)
    if row and _dt.datetime.fromisoformat(row["given_at"]) > when:
        raise DayRefused(f"cycle {cycle} day {day} at {when.isoformat(sep=' ')} would be before cycle {row['cycle']} "
                         f"day {row['day']}, recorded as given at {row['given_at']}", field="at")
