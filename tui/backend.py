"""The patient record as the screens need it: one object between the UI and ``chemo``.

Every read and write goes through the record modules of the engine
(``chemo.db``, ``chemo.records``, ``chemo.readiness``, ``chemo.cumulative``,
``chemo.treatment``): their checks, roles, transactions and audit rows apply
unchanged.  This module gathers what a screen shows and turns the engine's
answers into plain values.  It writes only through those functions (plus one
audit row, through ``chemo.audit.append``, listing the ordered lines a
pharmacist signed); it reads a few rows no engine function returns
(administrations, sign-offs and prior exposure of a plan or patient) with
read-only queries.  The one thing it computes itself is the state of each
cycle of a plan (given, due, delayed), from the plan's dates and the recorded
administrations.

``today`` is the app's date: the real date, or a fixed one (tests).  With a
fixed date, "now" is noon of that day, so results recorded on the screen are
counted as of that day.
"""

import datetime as dt
import json
import time
from pathlib import Path

import attrs

from chemo.errors import ChemoError

DEMO_FILENAME = "demo.db"
READINESS_TTL = 60.0  # seconds a readiness badge of the patient list is reused


# ------------------------------------------------------------------ values shown

@attrs.frozen
class CycleState:
    cycle: int
    status: str  # given, partly-given, due, delayed, planned
    due_on: dt.date
    words: str  # "given 2026-10-01", "due today", "delayed 3 days (due 2026-11-20)"
    dose_signed: str | None = None  # login
    readiness_signed: str | None = None


@attrs.frozen
class PatientRow:
    id: int
    mrn: str
    name: str
    plan_text: str  # "doxorubicin-ifosfamide" or "no plan"
    next_text: str  # "C2 due today", "C3 delayed 4 d", "plan complete"
    readiness: str | None  # ready, not-ready, unknown, none (no cycle to assess); None: not assessed yet
    readiness_word: str | None = None


@attrs.frozen
class Overview:
    patient: dict  # mrn, name, sex, born, id
    age: int
    height_text: str
    weight_text: str  # "72 kg (2026-11-20)"
    body_text: str  # "BSA 1.84 m² (mosteller) on the dosing weight 75 kg"
    recalculate: bool
    recalculate_reasons: tuple
    plan: dict | None
    regimen: object | None
    cycles: tuple  # CycleState
    next_cycle: int | None
    gauge: object | None  # widgets.gauge.GaugeData
    problems: tuple  # one-line messages: why part of the overview is missing
    prior: tuple  # "doxorubicin 150 mg/m² (note)"
    rdi: object | None = None  # chemo.rdi.Rdi of the active plan
    allergies: tuple = ()  # "Ifex = ifosfamide: anaphylaxis, severe" (chemo.allergies.describe)


@attrs.frozen
class ReadinessRow:
    analyte: str
    entered: str  # as entered, or "—"
    threshold: str  # as the regimen writes it: "> 1.5 ×10⁹/L"
    age: str  # "0.5 of 3 d": the result's age and the most the regimen accepts
    status: str  # pass, fail, stale, missing
    message: str
    source: str = "—"  # where the result came from: typed, FHIR, HL7
    kind: str = "eligibility"  # the gate's kind: eligibility (before cycle 1) or retreatment (every cycle)


SOURCE_WORDS = {"typed": "typed", "fhir": "FHIR", "hl7": "HL7"}


@attrs.frozen
class Readiness:
    mrn: str
    cycle: int | None
    ready: bool
    rows: tuple
    verdict_words: str
    recalculate: bool
    recalculate_reasons: tuple
    suggestions: tuple  # one line each
    warnings: tuple
    signed_by: str | None
    modifications: tuple = ()  # "doxorubicin give 50 %": the dose-modification bands that apply


def modification_words(suggestion) -> str:
    """``doxorubicin give 50 %`` (or ``do not give``): a readiness suggestion in a few words."""
    action = "do not give" if suggestion.give == 0 else f"give {suggestion.give * 100:g} %"
    return f"{suggestion.drug} {action}"


@attrs.frozen
class SignProblem:
    """Why the engine will refuse (or refused) a dose sign-off, and what the pharmacist can do in the TUI."""

    kind: str  # cap, recalculate, modification, other
    finding: str  # the engine's finding, with the steps the TUI cannot take itself in words
    level: str | None = None  # the dose level the engine suggests ("doxorubicin=-2"), for a modification
    short: str | None = None  # the finding in a few words, where the screen shows the rest elsewhere


# a recalculation is for the command line: the TUI records no weight and starts no plan
RECALCULATE_STEPS = "; record a new weight ('chemo measure') and start a new plan ('chemo plan start')"


@attrs.frozen
class SignCheck:
    problems: tuple  # SignProblem: each refuses the sign-off
    bands: tuple  # (message, met at this level) for each dose-modification band that applies


def engine_problem(exc: BaseException) -> SignProblem | None:
    """The engine's refusal of a dose sign-off as a SignProblem (read from the refusal's fields: its kind,
    finding and suggested dose levels); None for any other refusal."""
    from .verify_model import level_text

    from chemo.treatment import OVERRIDE_KINDS  # the refusals of a dose sign-off that an override lets through

    kind = getattr(exc, "kind", None)
    if kind not in OVERRIDE_KINDS:
        return None
    text = exc.finding + (RECALCULATE_STEPS if kind == "recalculate" else "")
    return SignProblem(kind, text, level_text(exc.suggested_levels) or None)


def gate_words(gate) -> str:
    """A readiness row's message as this screen words its next step (``chemo.errors.NextStep``): a result
    without its ULN is recorded again with the lab form's ULN field."""
    from chemo.errors import NextStep

    if NextStep.RECORD_ULN in gate.next_steps:
        return gate.finding + " (record the result again with its ULN in the ULN field)"
    return gate.message


def matches(query: str, *fields: str) -> bool:
    """Every word of ``query`` occurs in one of ``fields``, ignoring case."""
    hay = " ".join(fields).casefold()
    return all(word in hay for word in str(query).casefold().split())


# ------------------------------------------------------------------ opening

def demo_path(today: dt.date | None = None) -> Path:
    """The TUI's own demo database beside the default database, one per day and per
    version of the regimen files: the demo's labs are dated from the day it is built
    (yesterday's would be stale) and its plans carry the regimen files' hashes (an
    edited file would refuse every sign-off), so either change builds a new one."""
    import hashlib

    from chemo.regimen import available_regimens, regimen_path
    from chemo.db import user_data_dir

    digest = hashlib.sha256()
    for rid in available_regimens():
        digest.update(regimen_path(rid).read_bytes())
    stem = DEMO_FILENAME.removesuffix(".db")
    return user_data_dir() / f"{stem}-{(today or dt.date.today()).isoformat()}-{digest.hexdigest()[:8]}.db"


def open_backend(db_path=None, user: str | None = None, today: dt.date | None = None, *, demo: bool = False) -> "Backend":
    """Open the configured database; with ``demo``, the demo database (built on first run)."""
    from chemo.roles import acting_user, session_login
    from chemo.db import open_store, resolve_db

    login = acting_user(user)
    today = today or dt.date.today()
    if demo:
        path = Path(db_path) if db_path else demo_path(today)
        if not path.exists():
            build_demo(path)
            if not db_path:  # the demos of other days or regimen versions are stale
                for old in path.parent.glob(f"{DEMO_FILENAME.removesuffix('.db')}-*.db*"):
                    if not old.name.startswith(path.name):
                        old.unlink(missing_ok=True)
        store = open_store(path)
    else:  # a configured database must exist: a mistyped --db never creates an empty record
        path = resolve_db(db_path)
        store = open_store(path, create=False)
        path = store.path
    try:
        login = session_login(store, user, login)
    except BaseException:
        store.close()
        raise
    return Backend(store, login, today, path, demo)


def build_demo(path: Path) -> None:
    """Build the demo database at ``path`` with the engine's builder (``chemo demo``).

    It is built in a new file beside ``path`` and renamed into place when
    complete, so an interrupted first run leaves no half-built demo behind.
    """
    import os

    from chemo.demo import build_demo as engine_build
    from chemo.db import open_store

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_name(f".{path.name}.{os.getpid()}.building")
    for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        leftover.unlink(missing_ok=True)
    try:
        with open_store(partial) as store:
            engine_build(store)
        os.replace(partial, path)
    finally:
        for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
            leftover.unlink(missing_ok=True)


class Backend:
    def __init__(self, store, login: str, today: dt.date, path, demo: bool):
        from chemo.library import load_library

        self.store = store
        self.login = login
        self.today = today
        self.path = path if isinstance(path, str) else Path(path)  # a file, or a PostgreSQL URL (no password)
        self.demo = demo
        self.library = load_library()
        self._readiness_cache: dict = {}
        self._ready_version = None

    def close(self) -> None:
        try:
            self.store.close()
        except Exception:
            pass

    # ------------------------------------------------------------------ time
    def now(self) -> dt.datetime:
        """The clinic's clock; on a fixed day other than today, noon of that day."""
        from chemo.db.store import now_local

        now = now_local()
        if now.date() == self.today:
            return now
        return dt.datetime.combine(self.today, dt.time(12, 0))

    def as_of(self) -> dt.datetime:
        """Readiness is judged as of now."""
        return self.now()

    # ------------------------------------------------------------------ who and where
    def roles(self) -> set:
        from chemo.roles import roles_of

        return roles_of(self.store, self.login)

    def require(self, roles: tuple, action: str) -> str:
        """The role under which the acting user may do ``action`` (``chemo.roles.require``); its refusal else."""
        from chemo.roles import require

        return require(self.store, self.login, roles, action)

    def user_label(self) -> str:
        roles = sorted(self.roles())
        return f"{self.login} ({', '.join(roles) if roles else 'not registered'})"

    def describe(self) -> str:
        kind = "demo database" if self.demo else "database"
        text = f"{kind} {self.path if isinstance(self.path, str) else self.path.name}"
        if not self.roles():
            users = ", ".join(u["login"] for u in self._users()[:4])
            text += f" · {self.login} is not registered here: sign-offs are refused (users: {users}; --user)"
        return text

    def _users(self) -> list[dict]:
        from chemo.roles import list_users

        return list_users(self.store)

    # ------------------------------------------------------------------ patients
    def _patients(self) -> list[dict]:
        from chemo.records import get_patient, list_patients

        return [get_patient(self.store, p["mrn"]) for p in list_patients(self.store)]

    def patient(self, patient_id: int) -> dict:
        from chemo.records import get_patient
        from chemo.db import NotFound, patients

        mrn = patients.mrn_of(self.store, patient_id)
        if mrn is not None:
            return get_patient(self.store, mrn)
        raise NotFound(f"no patient with id {patient_id}", field="patient")

    def patients(self, query: str = "", *, readiness: bool = False) -> list[PatientRow]:
        """Patients whose name or MRN contains every word of ``query`` (any case).

        Readiness costs a full assessment per patient (~20 ms); without
        ``readiness`` the rows carry ``readiness=None`` and the list fills it
        in afterwards with :meth:`readiness_of`.
        """
        rows = []
        for p in self._patients():
            if matches(query, p["name"], p["mrn"]):
                rows.append(self._row(p, readiness))
        return rows

    def _row(self, p: dict, readiness: bool) -> PatientRow:
        plan = self._plan(p)
        if plan is None:
            return PatientRow(p["id"], p["mrn"], p["name"], "no plan", "—", "none", "NO PLAN")
        try:
            regimen = self._regimen(plan)
            states = self.cycle_states(plan, regimen)
        except ChemoError as exc:
            return PatientRow(p["id"], p["mrn"], p["name"], plan["regimen_id"], f"error: {exc.message}"[:40],
                              "unknown", "UNKNOWN")
        nxt = next((s for s in states if s.status not in ("given",)), None)
        if nxt is None:
            return PatientRow(p["id"], p["mrn"], p["name"], plan["regimen_id"], "plan complete", "none", "DONE")
        ready = self.readiness_of(p["id"]) if readiness else None
        return PatientRow(p["id"], p["mrn"], p["name"], plan["regimen_id"], f"C{nxt.cycle} {nxt.words}",
                          ready, None)

    def readiness_of(self, patient_id: int) -> str:
        """``ready``, ``ready-modify`` (ready, and a dose-modification band applies), ``not-ready``
        or ``unknown`` (the assessment could not be made).

        Kept for the patient list while nothing in the database changed (the
        store's ``data_version`` sees other connections' commits; this one's own
        writes clear the patient) and for at most ``READINESS_TTL`` seconds, since
        results grow old with time.
        """
        from chemo.readiness import assess

        version = self.store.data_version()
        now = time.monotonic()
        if version != self._ready_version:
            self._readiness_cache.clear()
            self._ready_version = version
        cached = self._readiness_cache.get(patient_id)
        if cached is not None and now - cached[1] < READINESS_TTL:
            return cached[0]
        try:
            p = self.patient(patient_id)
            report = assess(self.store, p["mrn"], self.as_of())
            status = "not-ready" if not report.ready else "ready-modify" if report.modification_applies else "ready"
        except ChemoError:
            status = "unknown"
        self._readiness_cache[patient_id] = (status, now)
        return status

    def changed(self, patient_id: int) -> None:
        """This connection wrote for ``patient_id``: its cached readiness is gone."""
        self._readiness_cache.pop(patient_id, None)

    def _plan(self, p: dict) -> dict | None:
        from chemo.records import active_plan
        from chemo.db import NotFound

        try:
            return active_plan(self.store, p["id"], p["mrn"])
        except NotFound:
            return None

    def _regimen(self, plan: dict):
        from chemo.records import plan_regimen

        regimen, _changed = plan_regimen(plan)
        return regimen

    # ------------------------------------------------------------------ cycles
    def _administrations(self, plan_id: int) -> list[dict]:
        from chemo.db import administrations

        return administrations.in_plan(self.store, plan_id)

    def _signoffs(self, plan_id: int) -> list[dict]:
        from chemo.db import signoffs

        return signoffs.for_plan(self.store, plan_id)

    def cycle_states(self, plan: dict, regimen) -> list[CycleState]:
        """Each planned cycle on the plan's calendar (:mod:`chemo.calendar`, the one that refuses a cycle before its
        date): given (all its doses recorded), partly given, due, delayed or planned.

        A cycle is due a cycle length after the previous one started (its first administration), the first on the
        plan's start date, or on the date a recorded delay moved it to (named with its reason); past that date and
        not started, it is delayed.
        """
        from chemo.calendar import build
        from chemo.calendar_text import moved_word

        given: dict[int, list[dict]] = {}
        for a in self._administrations(plan["id"]):
            given.setdefault(a["cycle"], []).append(a)
        signed: dict[int, dict] = {}
        for s in self._signoffs(plan["id"]):
            signed.setdefault(s["cycle"], {})[s["check_kind"]] = s
        per_cycle = sum(len(line.days) for line in regimen.drugs) + sum(len(d.days) for d in regimen.derived)
        cal = build(self.store, plan, regimen, today=self.today)
        states = []
        blocked = False
        for c in cal.cycles:
            n, due = c.cycle, c.due
            rows = given.get(n, [])
            checks = signed.get(n, {})
            dose_by = checks.get("dose", {}).get("login")
            ready_by = checks.get("readiness", {}).get("login")
            moved = ""
            if c.delays:
                d = c.delays[-1]
                moved = f" ({moved_word(d)} from {d['due_date']}: {d['reason']})"
            if rows:
                first = c.first_given
                expected = len(json.loads(checks["dose"]["detail"]).get("doses", [])) if "dose" in checks else per_cycle
                if len(rows) >= expected:
                    states.append(CycleState(n, "given", due, f"given {first.isoformat()}", dose_by, ready_by))
                else:
                    days = ", ".join(f"d{day} {at[5:]}" for day, at in c.days_given)
                    states.append(CycleState(n, "partly-given", due, f"started {first.isoformat()}, {len(rows)} of "
                                                                     f"{expected} doses ({days})", dose_by, ready_by))
                continue
            if blocked:
                states.append(CycleState(n, "planned", due, f"planned {due.isoformat()}{moved}", dose_by, ready_by))
            elif self.today > due:
                late = (self.today - due).days
                states.append(CycleState(n, "delayed", due, f"delayed {late} d (due {due.isoformat()}){moved}",
                                         dose_by, ready_by))
            elif self.today == due:
                states.append(CycleState(n, "due", due, f"due today{moved}", dose_by, ready_by))
            else:
                early = f", from {c.earliest.isoformat()}" if c.earliest < due else ""
                states.append(CycleState(n, "planned", due, f"due {due.isoformat()}{early}{moved}", dose_by,
                                         ready_by))
            blocked = True
        return states

    # ------------------------------------------------------------------ overview
    def overview(self, patient_id: int) -> Overview:
        from chemo.db import exposure
        from chemo.records import age_years, latest_body

        p = self.patient(patient_id)
        problems = []
        body = latest_body(self.store, p["id"], self.today)
        age = age_years(dt.date.fromisoformat(p["born"]), self.today)
        height = f"{body['height_cm']:g} cm ({body['height_on']})" if body["height_cm"] else "not recorded"
        weight = f"{body['weight_text']} ({body['weight_on']})" if body["weight_kg"] else "not recorded"
        plan = self._plan(p)
        regimen = None
        states: list = []
        body_text = "no plan: no dosing body size"
        recalc, reasons = False, ()
        gauge = rdi = None
        nxt = None
        if plan is not None:
            try:
                from chemo.records import plan_body

                regimen = self._regimen(plan)
                states = self.cycle_states(plan, regimen)
                size = plan_body(plan, regimen)
                shown = plan["dosing_weight_text"]
                if f"{plan['dosing_weight_kg']:g} kg" != shown.strip():
                    shown += f" ({plan['dosing_weight_kg']:g} kg)"
                body_text = (f"{size.describe()}, on the plan's dosing height {plan['dosing_height_cm']:g} cm and "
                             f"weight {shown}")
                nxt = next((s.cycle for s in states if s.status != "given"), None)
            except ChemoError as exc:
                problems.append(f"plan: {exc}")
            try:
                from chemo.readiness import assess

                report = assess(self.store, p["mrn"], self.as_of())
                recalc, reasons = report.recalculate, report.recalculate_reasons
            except ChemoError as exc:
                problems.append(f"recalculate: {exc}")
            try:
                gauge = self.gauge(p["mrn"])
            except ChemoError as exc:
                problems.append(f"cumulative: {exc}")
            try:
                from chemo.rdi import for_plan

                rdi = for_plan(self.store, p["mrn"], plan, today=self.today)
            except ChemoError as exc:
                problems.append(f"relative dose intensity: {exc}")
        prior = tuple(f"{r['drug']} {r['dose_text']}" + (f" ({r['note']})" if r["note"] else "")
                      for r in exposure.for_patient(self.store, p["id"]))
        return Overview(p, age, height, weight, body_text, recalc, tuple(reasons), plan, regimen, tuple(states), nxt,
                        gauge, tuple(problems), prior, rdi, self.allergies(p["id"]))

    def allergies(self, patient_id: int) -> tuple:
        """The patient's allergies as the screens print them (the overview, the verify screen)."""
        from chemo.allergies import describe
        from chemo.db import allergies

        return tuple(describe(a) for a in allergies.for_patient(self.store, patient_id))

    def gauge(self, mrn: str):
        from chemo.cumulative import report

        from .widgets.gauge import GaugeData

        r = report(self.store, mrn)
        return GaugeData(r.given_mg_m2, r.after_next_cycle_mg_m2, r.after_plan_mg_m2, r.warn_at_mg_m2, r.cap_mg_m2,
                         r.model, r.model_name, r.next_cycle, tuple(r.warnings))

    # ------------------------------------------------------------------ dose verification
    def dose_context(self, patient_id: int, cycle: int | None = None, dose_level=0):
        """The cycle to verify (the next one by default), dosed on the plan's dosing body size.

        A cycle whose doses are signed off is shown as signed: at the dose level
        the sign-off recorded, with the doses it recorded (its ``detail``).
        """
        from .verify_model import DoseContext

        p = self.patient(patient_id)
        plan = self._plan(p)
        if plan is None:
            raise ChemoError(f"{p['mrn']}: no treatment plan, nothing to verify", field="plan")
        regimen = self._regimen(plan)
        if cycle is None:
            states = self.cycle_states(plan, regimen)
            cycle = next((s.cycle for s in states if s.status != "given"), None)
            if cycle is None:
                raise ChemoError(f"{p['mrn']}: every cycle of the plan is given", field="cycle")
        row = next((s for s in self._signoffs(plan["id"]) if s["cycle"] == cycle and s["check_kind"] == "dose"), None)
        signed, signed_doses, lapsed = None, (), None
        from chemo.prescription import standing

        prescription = standing(self.store, plan["id"], cycle)
        if row is not None:
            lapsed = self._lapsed(p, plan, cycle, row)
            if lapsed is not None:  # signed again as a first sign-off is: at the prescription's level, else its own
                try:
                    dose_level = json.loads(row["detail"] or "{}").get("dose_level", dose_level)
                except ValueError:
                    pass
                row = None
        if prescription is not None and row is None:
            dose_level = prescription["dose_level"]  # the pharmacist verifies what was prescribed
        if row is not None:
            signed = f"{row['login']} at {row['signed_at'].replace('T', ' ')}"
            try:
                detail = json.loads(row["detail"] or "{}")
            except ValueError:
                detail = {}
            dose_level = detail.get("dose_level", dose_level)
            signed_doses = tuple((d["drug"], d["day"], d["dose_mg"], d.get("level")) for d in detail.get("doses", ())
                                 if isinstance(d, dict) and {"drug", "day", "dose_mg"} <= d.keys())
        return DoseContext(
            patient_label=f"{p['name']} ({p['mrn']})", regimen=regimen, cycle=cycle, dose_level=dose_level,
            signed=signed, signed_doses=signed_doses, mrn=p["mrn"],
            height=f"{plan['dosing_height_cm']} cm", weight=f"{plan['dosing_weight_kg']} kg",
            formula=plan["bsa_formula"], weight_date=f"plan of {plan['start_date']}", patient_id=p["id"], plan_id=plan["id"],
            prescription=prescription, lapsed=lapsed)

    def _lapsed(self, patient: dict, plan: dict, cycle: int, row: dict) -> str | None:
        """Why the cycle's dose sign-off lapsed (``chemo.prescription.lapsed``, the engine's one decision) when it
        may be signed again: no dose of the cycle given yet (else the engine refuses, and the screen shows it
        signed)."""
        from chemo.db import administrations
        from chemo.prescription import lapsed

        if administrations.in_cycle(self.store, plan["id"], cycle):
            return None
        try:
            detail = json.loads(row["detail"] or "{}")
        except ValueError:
            return None
        return lapsed(self.store, patient, plan, cycle, detail, self.library)

    def sign_check(self, context, session) -> "SignCheck":
        """What the engine's dose sign-off will say about this cycle at this dose level, before it is tried.

        The same checks as ``chemo.treatment.signoff``: a weight that calls for
        recalculation, the dose-modification bands of the readiness
        assessment that the level does not meet (``band_findings``) and the
        cumulative cap (``cap_check``).  ``bands`` lists every band that
        applies, met or not, for the screen to show before signing.
        """
        from chemo.readiness import assess
        from chemo.treatment import band_findings, cap_check, recalculate_finding

        p = self.patient(context.patient_id)
        plan = self._plan(p)
        report = assess(self.store, p["mrn"], self.as_of(), cycle=context.cycle)
        problems = []
        if report.recalculate:
            problems.append(SignProblem("recalculate", recalculate_finding(report) + RECALCULATE_STEPS))
        findings = band_findings(context.regimen, context.dose_level, report.suggestions, self.library)
        unmet = {f["drug"] for f in findings}
        for f in findings:
            level = None
            if f.get("satisfied_by_level") is not None:
                level = self.offer_level(context, {f["drug"]: f["satisfied_by_level"]})
            short = (f"a dose modification applies: {f['drug']} at {f['level_pct']:g} % (level {f['level']}) is "
                     f"above the band's " + ("do not give" if not f["give_pct"] else f"{f['give_pct']:g} %"))
            problems.append(SignProblem("modification", f"a dose modification applies: {f['finding']}", level,
                                        short))
        bands = tuple((s.message(), s.drug not in unmet) for s in report.suggestions)
        doses = [{"drug": a.drug, "day": a.day, "dose_mg": a.dose_mg} for a in session.cycle.administrations]
        cap = cap_check(self.store, p["mrn"], plan, context.cycle, doses, session.body.bsa_m2, self.library)
        if cap.finding:
            problems.append(SignProblem("cap", f"the cap stands: {cap.finding}"))
        return SignCheck(tuple(problems), bands)

    def offer_level(self, context, change: dict) -> str:
        """The dose level typed in the level field: the current one with ``change`` ({drug: level}) applied."""
        from .verify_model import level_text

        from chemo.dose import levels_by_drug

        levels = dict(levels_by_drug(context.regimen, context.dose_level, self.library))
        levels.update(change)
        shown = {drug: level for drug, level in levels.items() if level != 0 or drug in change}
        return level_text(shown)

    def cap_problem(self, context, session) -> str | None:
        """Why the cap forbids this cycle, or None: the sign-off's own sum (``chemo.treatment.cap_check``)."""
        from chemo.treatment import cap_check

        p = self.patient(context.patient_id)
        plan = self._plan(p)
        doses = [{"drug": a.drug, "day": a.day, "dose_mg": a.dose_mg} for a in session.cycle.administrations]
        cap = cap_check(self.store, p["mrn"], plan, context.cycle, doses, session.body.bsa_m2, self.library)
        return f"the cap stands: {cap.finding}" if cap.finding else None

    def sign_pharmacist(self, context, session, texts: list[str], verdicts: list, accept: dict | None = None) -> str:
        """The dose sign-off (``chemo.treatment.signoff``), with the ordered lines as checked in its audit row;
        ``accept``: {(drug, day): reason} of the review lines (a prescription's sign-off)."""
        from chemo.treatment import signoff

        p = self.patient(context.patient_id)
        self.changed(p["id"])
        ordered = [{"drug": v.drug, "day": v.day, "ordered": t.strip(), "status": v.status, "reasons": list(v.reasons)}
                   for t, v in zip(texts, verdicts)]
        result = signoff(self.store, self.login, p["mrn"], context.cycle, "dose", dose_level=context.dose_level,
                         ordered=ordered, accept=accept)
        again = (f"; the lapsed sign-off {result['supersedes']} is kept, superseded" if result.get("supersedes")
                 else "")
        return (f"Cycle {context.cycle} doses signed off by {self.login} (pharmacist) at "
                f"{result['signed_at'].replace('T', ' ')}; recorded in the audit log with the ordered lines{again}")

    def suggestion(self, context):
        """``chemo next`` for the context's cycle (chemo.modification)."""
        from chemo.modification import for_plan

        p = self.patient(context.patient_id)
        plan = self._plan(p)
        if plan is None:
            raise ChemoError(f"{p['mrn']}: no treatment plan", field="plan")
        return for_plan(self.store, p["mrn"], plan, context.cycle, self._regimen(plan))

    def prescribed(self, context) -> bool:
        """Whether the context's cycle has a standing prescription."""
        from chemo.prescription import standing

        plan = self._plan(self.patient(context.patient_id))
        return plan is not None and standing(self.store, plan["id"], context.cycle) is not None

    def prescribe(self, context, level_text: str, lines: list[str], reason: str | None):
        """A prescriber's order of the context's cycle (``chemo.prescription.prescribe``): the stored row with its
        verification; a refusal (``PrescriptionRefused``) carries the verification that decided."""
        from chemo.prescription import prescribe

        p = self.patient(context.patient_id)
        self.changed(p["id"])
        levels = tuple(part.strip() for part in level_text.split(",") if part.strip())
        return prescribe(self.store, self.login, p["mrn"], context.cycle, dose_level=levels, lines=tuple(lines),
                         reason=reason or None)

    # ------------------------------------------------------------------ readiness
    def readiness(self, patient_id: int) -> Readiness:
        from chemo.readiness import assess

        p = self.patient(patient_id)
        report = assess(self.store, p["mrn"], self.as_of())
        regimen = None
        plan = self._plan(p)
        cycle, signed_by = None, None
        if plan is not None:
            regimen = self._regimen(plan)
            states = self.cycle_states(plan, regimen)
            nxt = next((s for s in states if s.status != "given"), None)
            if nxt is not None:
                cycle, signed_by = nxt.cycle, nxt.readiness_signed
        limits = {t.analyte: t.max_age_days for t in regimen.thresholds} if regimen else {}
        rows = []
        for g in report.gates:
            threshold = g.threshold[len(g.analyte):].strip() if g.threshold.startswith(g.analyte) else g.threshold
            if g.collected_at:
                days = (self.as_of() - dt.datetime.fromisoformat(g.collected_at)).total_seconds() / 86400
                age = f"{days:.1f} of {limits.get(g.analyte, 0):g} d"
            else:
                age = f"— of {limits.get(g.analyte, 0):g} d"
            entered = g.entered or "—"
            status = g.shown_status.lower()
            rows.append(ReadinessRow(g.analyte, entered, threshold, age, status, gate_words(g),
                                     SOURCE_WORDS.get(g.origin or "", "—"), g.kind))
        failing = [r for r in rows if r.status not in ("pass", "overridden")]
        modifications = tuple(modification_words(s) for s in report.suggestions)
        modify = f" — DOSE MODIFICATION APPLIES ({'; '.join(modifications)})" if modifications else ""
        for_cycle = f" for cycle {cycle}" if cycle else ""
        if report.ready and modify:
            words = (f"READY{modify}{for_cycle}: every threshold passes; the dose sign-off is refused above "
                     "the band's dose")
        elif report.ready and report.overrides:
            words = (f"READY{for_cycle} ON A PRESCRIBER'S OVERRIDE: " + "; ".join(
                f"{g.analyte} overridden by {g.override['by']} ({g.override['reason']})" for g in report.overrides))
        elif report.ready:
            words = f"READY{for_cycle}: every threshold passes"
        else:
            parts = ", ".join(dict.fromkeys(f"{r.analyte} {r.status}" for r in failing))
            words = f"NOT READY{for_cycle}: {parts}" + (f"{modify.replace(' — ', '; ')}" if modify else "")
        return Readiness(p["mrn"], cycle, report.ready, tuple(rows), words, report.recalculate,
                         report.recalculate_reasons, tuple(s.message() for s in report.suggestions),
                         report.warnings, signed_by, modifications)

    def analytes(self) -> list[str]:
        return sorted(self.library.analytes)

    def check_lab(self, analyte: str, value_text: str, uln_text: str | None) -> dict:
        """The row the record would store, or the ChemoError it would raise; nothing is written."""
        from chemo.records import parse_lab

        return parse_lab(analyte, value_text, uln_text or None)

    def record_lab(self, patient_id: int, analyte: str, value_text: str, uln_text: str | None) -> str:
        from chemo.records import add_lab

        p = self.patient(patient_id)
        self.changed(p["id"])
        row = add_lab(self.store, self.login, p["mrn"], analyte, value_text, uln=uln_text or None, at=self.now())
        uln = f", ULN {row['uln_text']}" if row.get("uln_text") else ""
        return f"Recorded {row['analyte']} {row['value_text']}{uln} at {row['collected_at'].replace('T', ' ')}"

    def write_worksheet(self, context, folder: Path | None = None) -> str:
        """The cycle's worksheet as a PDF in ``folder`` (default the current one); the sentence that says where."""
        from chemo.worksheet import build, write

        sheet = build(self.store, context.mrn, context.cycle, self.as_of())
        path = Path(folder or Path.cwd()) / f"worksheet-{context.mrn}-cycle-{context.cycle}.pdf"
        write(sheet, pdf_path=path)
        return (f"Cycle {context.cycle} worksheet written to {path}"
                + (" (DRAFT: no dose sign-off)" if sheet.draft else ""))

    def sign_nurse(self, patient_id: int, cycle: int) -> str:
        from chemo.treatment import signoff

        p = self.patient(patient_id)
        self.changed(p["id"])
        result = signoff(self.store, self.login, p["mrn"], cycle, "readiness", as_of=self.as_of())
        rests = "".join(f"; it rests on {o['by']}'s override of the {o['analyte']} gate"
                        for o in result["detail"].get("rests_on_overrides", []))
        return (f"Cycle {cycle} readiness signed off by {self.login} (nurse) at "
                f"{result['signed_at'].replace('T', ' ')}{rests}; recorded in the audit log")
