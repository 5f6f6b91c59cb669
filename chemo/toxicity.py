"""The toxicity record: adverse events by CTCAE v5.0 term and grade, per cycle of the active plan.

``add_event`` records one (a prescriber or a nurse), checked against ``ctcae.toml``: the term must be
one of its terms and the grade one CTCAE defines for it (0 records that an event has resolved).
``events`` lists what was recorded beside the grades derived from lab results where CTCAE defines
a grade by value (neutrophils, platelets, haemoglobin, creatinine against its ULN, LVEF against
its value and its fall from the baseline), each naming the result it came from.  A derived grade
is shown, never stored: the lab row is the record.
"""

from __future__ import annotations

import datetime as _dt

import attrs

from . import audit
from .db import toxicities
from .db.store import Store, now_local
from .errors import ChemoError
from .records import active_plan, get_patient, locked_patient, parse_when
from .roles import TOXICITY_RECORDERS as RECORDERS, require

MAX_NOTE = 1000


@attrs.frozen
class Event:
    """One event the modification rules read: recorded, or derived from a lab result."""

    cycle: int  # the cycle it followed (0: before the first dose)
    term: str
    grade: int
    at: str  # local ISO time it occurred (the lab's collection time)
    kind: str  # "recorded" or "derived"
    by: str = ""  # who recorded it
    note: str | None = None
    lab: dict | None = None  # derived: {"analyte", "value", "unit", "uln", "baseline", "collected_at", "rows"}
    id: int | None = None

    def describe(self) -> str:
        if self.kind == "derived":
            lab = self.lab
            base = f", baseline {lab['baseline']:g} {lab['unit']}" if lab.get("baseline") is not None else ""
            return (f"{self.term} grade {self.grade} derived from {lab['analyte']} {lab['value']:g} {lab['unit']}"
                    f"{base} collected {lab['collected_at'][:16].replace('T', ' ')}")
        return f"{self.term} grade {self.grade} on {self.at[:16].replace('T', ' ')} (recorded by {self.by})"

    def as_json(self) -> dict:
        out = {"cycle": self.cycle, "term": self.term, "grade": self.grade, "at": self.at, "kind": self.kind}
        if self.kind == "recorded":
            out.update({"id": self.id, "recorded_by": self.by, "note": self.note})
        else:
            out["lab"] = self.lab
        return out


def _data():
    from .toxicity_data import load

    return load()


def cycle_starts(store: Store, plan_id: int) -> dict[int, str]:
    """cycle -> local ISO time its first dose was given (the calendar's actual day 1)."""
    from .db.calendar import first_days

    return first_days(store, plan_id)


def cycle_of(at: str, starts: dict[int, str]) -> int:
    """The cycle a time falls after: the newest cycle whose first dose was given at or before it (0: none)."""
    found = 0
    for cycle, start in sorted(starts.items()):
        if start <= at:
            found = cycle
    return found


def add_event(store: Store, actor: str, mrn: str, *, cycle: int, term: str, grade, at=None,
              note: str | None = None) -> dict:
    ctcae, _ = _data()
    t = ctcae.term(term)
    if t is None:
        raise ChemoError(f"{term!r} is not a CTCAE v5.0 term chemo records (known: {', '.join(sorted(ctcae.terms))})",
                         field="term", file=ctcae.file)
    try:
        g = int(str(grade).strip())
    except ValueError:
        raise ChemoError(f"{grade!r}: a CTCAE grade is a whole number 1-5 (0: resolved)", field="grade") from None
    if g != 0 and g not in t.grades:
        defined = ", ".join(str(k) for k in sorted(t.grades))
        raise ChemoError(f"{t.term} has no grade {g} in {ctcae.version} (its grades: {defined}; 0 records that "
                         "it resolved)", field="grade", file=ctcae.file)
    if not isinstance(cycle, int) or cycle < 1:
        raise ChemoError(f"{cycle!r}: a cycle is a whole number from 1", field="cycle")
    when = parse_when(at, "at") if at else now_local()
    if note is not None:
        note = str(note).strip()
        if not note or len(note) > MAX_NOTE:
            raise ChemoError(f"a note is 1-{MAX_NOTE} characters", field="note")
    with store.transaction():
        require(store, actor, RECORDERS, "recording a toxicity")
        patient = locked_patient(store, mrn)  # the checks below (the plan, its cycles given) hold while it writes
        plan = active_plan(store, patient["id"], mrn)
        if cycle > plan["planned_cycles"]:
            raise ChemoError(f"cycle {cycle}: the plan has {plan['planned_cycles']} cycles", field="cycle")
        starts = cycle_starts(store, plan["id"])
        if cycle not in starts:
            given = ", ".join(map(str, sorted(starts))) or "none"
            raise ChemoError(f"cycle {cycle} has no dose given yet (cycles given: {given}): an event follows a "
                             "cycle that was given", field="cycle")
        if when.isoformat() < starts[cycle]:
            raise ChemoError(f"{when.isoformat()} is before cycle {cycle}'s first dose ({starts[cycle]})", field="at")
        record = {"patient_id": patient["id"], "plan_id": plan["id"], "cycle": cycle, "term": t.id, "grade": g,
                  "ctcae_version": ctcae.version, "occurred_at": when.isoformat(), "note": note,
                  "recorded_at": now_local().isoformat(), "recorded_by": actor}
        tid = toxicities.add(store, record)
        audit.append(store, actor, "toxicity.add", "toxicities", tid, None, record)
    return {"id": tid, **record, "term_text": t.term, "grade_text": t.grades.get(g, "resolved")}


def baseline_of(rows: list[dict], analyte: str, start_date: str, first_dose: str | None = None) -> dict | None:
    """The baseline of ``analyte``: the newest counting result collected before the first dose of the plan
    (before any dose is given: on or before the plan's start date)."""
    if first_dose is not None:
        before = [r for r in rows if r["analyte"] == analyte and r["collected_at"] < first_dose]
    else:
        before = [r for r in rows if r["analyte"] == analyte and r["collected_at"][:10] <= start_date]
    return max(before, key=lambda r: (r["collected_at"], r["id"])) if before else None


def derived_events(lab_rows: list[dict], plan: dict, starts: dict[int, str], ctcae) -> list[Event]:
    """The grades CTCAE defines by value, of every counting lab result collected since the plan's baseline."""
    out = []
    analytes = {d.analyte for t in ctcae.terms.values() for d in t.derive}
    baselines = {a: baseline_of(lab_rows, a, plan["start_date"], starts.get(1)) for a in analytes}
    for row in lab_rows:
        if row["analyte"] not in analytes:
            continue
        base = baselines[row["analyte"]]
        if base is not None and row["id"] == base["id"]:
            continue  # the baseline itself is the reference, not an event
        if row["collected_at"][:10] < plan["start_date"]:
            continue
        if row.get("comparator"):
            continue  # a censored value ("<0.5") is not graded by value: its bound is not the value
        for t in ctcae.terms.values():
            grade, rows = t.derived_grade(row["analyte"], row["value"], row["uln"],
                                          None if base is None else base["value"])
            if grade is None:
                continue
            lab = {"id": row["id"], "analyte": row["analyte"], "value": row["value"], "unit": row["unit"],
                   "value_text": row["value_text"], "uln": row["uln"], "collected_at": row["collected_at"],
                   "baseline": None if base is None else base["value"],
                   "baseline_at": None if base is None else base["collected_at"],
                   "rows": [d.text for d in rows]}
            out.append(Event(cycle_of(row["collected_at"], starts), t.id, grade, row["collected_at"], "derived",
                             lab=lab))
    return out


def recorded_events(rows: list[dict]) -> list[Event]:
    return [Event(r["cycle"], r["term"], r["grade"], r["occurred_at"], "recorded", r["recorded_by"], r["note"],
                  id=r["id"]) for r in rows]


def plan_events(store: Store, plan: dict) -> tuple[list[Event], list[dict], dict[int, str]]:
    """(recorded and derived events of the plan, in time order; the counting lab rows; cycle starts)."""
    ctcae, _ = _data()
    starts = cycle_starts(store, plan["id"])
    lab_rows = toxicities.graded_labs(store, plan["patient_id"])
    events = recorded_events(toxicities.for_plan(store, plan["id"])) + derived_events(lab_rows, plan, starts, ctcae)
    events.sort(key=lambda e: (e.at, e.kind))
    return events, lab_rows, starts


def events(store: Store, mrn: str) -> dict:
    """``chemo toxicity list``: the events of the active plan with the CTCAE text of each grade."""
    ctcae, _ = _data()
    patient = get_patient(store, mrn)
    plan = active_plan(store, patient["id"], mrn)
    found, _, _ = plan_events(store, plan)
    rows = []
    for e in found:
        t = ctcae.terms.get(e.term)
        row = e.as_json()
        row["term_text"] = t.term if t else e.term
        row["grade_text"] = "resolved" if e.grade == 0 else (t.grades.get(e.grade, "") if t else "")
        rows.append(row)
    return {"mrn": mrn, "regimen": plan["regimen_id"], "ctcae": ctcae.version, "events": rows}


def today() -> _dt.date:
    return now_local().date()
