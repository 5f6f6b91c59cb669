"""The treatment calendar: each cycle of a plan on its date, delays with their reasons.

* Cycle 1 is due on the plan's start date.  Cycle N+1 is due on cycle N's *actual* day 1 (the date its first dose
  was given) plus the regimen's cycle length; while cycle N has not started, on cycle N's due date plus the length.
* The earliest a cycle may be given is its due date less the regimen's ``early_window`` (a data value with its
  source: :mod:`chemo.regimen`).
* A delay (``chemo delay``) moves one cycle's day 1 to a later date, with a reason; the later cycles move with it,
  since each is due a cycle length after the one before.  A delayed cycle is not given before the date it was
  delayed to (the early window does not reach back past a decision to wait).
* Bringing a cycle forward (earlier than it is due) is a prescriber's decision with a reason and a note.
* Day d of a cycle falls on its day 1 + (d - 1) calendar days: it is not given before that date.

Every date is read against one clock, :func:`chemo.db.store.now_local`.  The refusals here are
:class:`CalendarRefused` (exit 1), naming the date the cycle or day is due.
"""

from __future__ import annotations

import datetime as _dt

from attrs import frozen

from . import audit
from .calendar_text import moved_word, reason_words
from .db import administrations
from .db import calendar as calendar_db
from .db.store import Refusal, Store, now_local
from .errors import MIN_REASON, ChemoError

REASONS = ("low-counts", "toxicity", "patient", "logistics", "other")
MIN_NOTE = MIN_REASON  # characters of the note a cycle brought forward needs


class CalendarRefused(Refusal):
    """A cycle before it is due, or a day before its calendar day (exit 1); ``falls``: the date the refused day
    falls on (:func:`check_day_date`)."""

    def __init__(self, message: str, *, falls: _dt.date | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.falls = falls


@frozen
class CycleDates:
    cycle: int
    planned: _dt.date  # the plan's start + (cycle - 1) cycle lengths: the date as first planned
    due: _dt.date  # as the calendar now stands: the previous cycle's actual day 1 + the length, or a delay's date
    earliest: _dt.date  # the first date it may be given
    basis: str  # why it is due then, in words
    days_given: tuple  # ((day, "YYYY-MM-DD"), ...) of days with a dose recorded
    first_given: _dt.date | None
    delays: tuple  # the cycle's delays (dicts, oldest first)
    status: str  # given, in progress, due, upcoming

    def day_date(self, day: int) -> _dt.date:
        """The calendar date of ``day``: day 1 as given (else as due) + (day - 1)."""
        return (self.first_given or self.due) + _dt.timedelta(days=day - 1)

    def as_json(self) -> dict:
        return {"cycle": self.cycle, "planned": self.planned.isoformat(), "due": self.due.isoformat(),
                "earliest": self.earliest.isoformat(), "basis": self.basis, "status": self.status,
                "first_given": self.first_given.isoformat() if self.first_given else None,
                "days_given": [{"day": d, "date": at} for d, at in self.days_given],
                "delays": [{"to": d["to_date"], "from": d["due_date"], "kind": d["kind"], "reason": d["reason"],
                            "note": d["note"], "by": d["recorded_by"], "at": d["recorded_at"]} for d in self.delays]}


@frozen
class Calendar:
    mrn: str
    plan_id: int
    regimen_id: str
    start_date: _dt.date
    cycle_length_days: int
    early_window_days: int
    early_window_source: str
    cycles: tuple  # CycleDates
    today: _dt.date

    @property
    def next(self) -> CycleDates | None:
        return next((c for c in self.cycles if c.status != "given"), None)

    def cycle(self, n: int) -> CycleDates:
        return self.cycles[n - 1]

    def as_json(self) -> dict:
        nxt = self.next
        return {"mrn": self.mrn, "plan_id": self.plan_id, "regimen": self.regimen_id,
                "start_date": self.start_date.isoformat(), "cycle_length_days": self.cycle_length_days,
                "early_window_days": self.early_window_days, "early_window_source": self.early_window_source,
                "today": self.today.isoformat(), "cycles": [c.as_json() for c in self.cycles],
                "next": None if nxt is None else {"cycle": nxt.cycle, "due": nxt.due.isoformat(),
                                                  "earliest": nxt.earliest.isoformat(), "status": nxt.status}}


def _regimen_days(regimen) -> set:
    return {d for line in regimen.drugs for d in line.days}


def planned_day1(start: _dt.date, cycle_length_days: int, cycle: int) -> _dt.date:
    """Cycle ``cycle``'s day 1 as first planned: the plan's start + whole cycle lengths."""
    return start + _dt.timedelta(days=cycle_length_days * (cycle - 1))


def build(store: Store, plan: dict, regimen, mrn: str = "", today: _dt.date | None = None) -> Calendar:
    """The plan's calendar as the record stands."""
    today = today or now_local().date()
    length = _dt.timedelta(days=regimen.cycle_length_days)
    window = _dt.timedelta(days=regimen.early_window_days)
    start = _dt.date.fromisoformat(plan["start_date"])
    given_rows = administrations.in_plan(store, plan["id"])
    by_cycle: dict = {}
    for r in given_rows:
        by_cycle.setdefault(r["cycle"], {}).setdefault(r["day"], r["given_at"][:10])
    delays: dict = {}
    for d in calendar_db.delays(store, plan["id"]):
        delays.setdefault(d["cycle"], []).append(d)
    all_days = _regimen_days(regimen)
    cycles = []
    previous = None
    for n in range(1, plan["planned_cycles"] + 1):
        planned = planned_day1(start, regimen.cycle_length_days, n)
        if previous is None:
            due, basis = start, f"the plan's start date {start.isoformat()}"
        elif previous.first_given is not None:
            due = previous.first_given + length
            basis = (f"cycle {n - 1} day 1 given on {previous.first_given.isoformat()} + "
                     f"{regimen.cycle_length_days} days")
        else:
            due = previous.due + length
            basis = f"cycle {n - 1} due on {previous.due.isoformat()} + {regimen.cycle_length_days} days"
        earliest = due - window
        mine = tuple(delays.get(n, ()))
        if mine:
            last = mine[-1]
            due = earliest = _dt.date.fromisoformat(last["to_date"])
            basis = f"{moved_word(last)} to {last['to_date']} ({reason_words(last)})"
        days = by_cycle.get(n, {})
        first = _dt.date.fromisoformat(days[min(days)]) if days else None
        if days and all_days <= set(days):
            status = "given"
        elif days:
            status = "in progress"
        elif today >= earliest:
            status = "due"
        else:
            status = "upcoming"
        previous = CycleDates(n, planned, due, earliest, basis, tuple(sorted(days.items())), first, mine, status)
        cycles.append(previous)
    return Calendar(mrn, plan["id"], regimen.id, start, regimen.cycle_length_days, regimen.early_window_days,
                    regimen.early_window_source, tuple(cycles), today)


def next_cycle(store: Store, plan: dict, regimen=None) -> int:
    """The plan's next cycle: the first not given on every day (the last cycle once all are given)."""
    if regimen is None:
        from .records import plan_regimen

        regimen, _ = plan_regimen(plan)
    nxt = build(store, plan, regimen).next
    return nxt.cycle if nxt is not None else plan["planned_cycles"]


def for_patient(store: Store, mrn: str, today: _dt.date | None = None) -> Calendar:
    from .records import active_plan, get_patient, plan_regimen

    patient = get_patient(store, mrn)
    plan = active_plan(store, patient["id"], mrn)
    regimen, _ = plan_regimen(plan)
    return build(store, plan, regimen, patient["mrn"], today)


def check_cycle_due(cal: Calendar, cycle: int, on: _dt.date, what: str) -> None:
    """Refuse ``what`` (giving a cycle's day 1, its dose sign-off) before the cycle's earliest date."""
    c = cal.cycle(cycle)
    if c.first_given is not None or on >= c.earliest:
        return
    window = (f"; the earliest is {c.earliest.isoformat()} ({cal.early_window_days} days early: "
              f"{cal.early_window_source.split(':')[0]})" if c.earliest != c.due else "")
    finding = (f"cycle {cycle} is not due until {c.due.isoformat()} ({c.basis}){window}: {what} on "
               f"{on.isoformat()} is refused")
    raise CalendarRefused(finding + "; a prescriber may bring the cycle forward with a reason", finding=finding,
                          field="cycle")


def check_day_date(cal: Calendar, cycle: int, day: int, on: _dt.date) -> None:
    """Refuse a day of a started cycle before its calendar day: day 1 + (day - 1), and never on or before the date
    of an earlier day given late (day p given on D: day d not before D + (d - p)), so that two days' doses never
    share a date."""
    c = cal.cycle(cycle)
    if day == 1 or c.first_given is None:
        return
    falls, why = c.day_date(day), f"day 1 was given on {c.first_given.isoformat()}"
    earlier = [(d, _dt.date.fromisoformat(at)) for d, at in c.days_given if d < day]
    if earlier:
        prev, prev_on = max(earlier)
        after_prev = prev_on + _dt.timedelta(days=day - prev)
        if after_prev > falls:
            falls, why = after_prev, f"day {prev} was given on {prev_on.isoformat()}"
    if on < falls:
        finding = f"cycle {cycle} day {day} falls on {falls.isoformat()} ({why}): it cannot be recorded on {on.isoformat()}"
        raise CalendarRefused(finding + "; record each day on its own date", finding=finding, field="day",
                              falls=falls)


def delay(store: Store, actor: str, mrn: str, cycle: int, to, reason: str, note: str | None = None) -> dict:
    """Move ``cycle``'s day 1 to ``to`` with a reason; later cycles follow.

    A nurse, pharmacist or prescriber delays (a later date than the cycle is due).  Moving it earlier than it is
    due is bringing it forward: a prescriber only, with a note of at least :data:`MIN_NOTE` characters; its new
    date is then the earliest it may be given (the early window does not reach back past a date a person set).
    A cycle already started cannot be moved, nor a date before today."""
    from .records import active_plan, locked_patient, parse_date, plan_regimen
    from .roles import ROLES, require

    if reason not in REASONS:
        raise ChemoError(f"{reason!r}: expected one of {', '.join(REASONS)}", field="reason")
    note = note.strip() if isinstance(note, str) and note.strip() else None
    to_date = parse_date(to, "to", allow_future=True)
    with store.transaction(per_patient=True):
        role = require(store, actor, ROLES, "moving a cycle")
        patient = locked_patient(store, mrn)
        plan = active_plan(store, patient["id"], mrn)
        regimen, _ = plan_regimen(plan)
        if isinstance(cycle, bool) or not isinstance(cycle, int) or not 1 <= cycle <= plan["planned_cycles"]:
            raise ChemoError(f"{cycle!r}: the plan ({plan['regimen_id']}) has cycles 1-{plan['planned_cycles']}",
                             field="cycle")
        today = now_local().date()
        cal = build(store, plan, regimen, patient["mrn"], today)
        c = cal.cycle(cycle)
        if c.first_given is not None:
            raise Refusal(f"cycle {cycle} started on {c.first_given.isoformat()}: a cycle already started cannot be "
                          "moved", field="cycle")
        if to_date < today:
            raise ChemoError(f"{to_date.isoformat()} is in the past (today is {today.isoformat()})", field="to")
        if to_date == c.due:
            raise ChemoError(f"cycle {cycle} is already due on {c.due.isoformat()}", field="to")
        kind = "delay" if to_date > c.due else "forward"
        if kind == "forward":  # earlier than it is due: a prescriber's decision, with a note (the server checks too)
            from .roles import RoleRefused, roles_of

            if "prescriber" not in roles_of(store, actor):
                raise RoleRefused(f"bringing cycle {cycle} forward to {to_date.isoformat()}, before the date it is due "
                                  f"({c.due.isoformat()}: {c.basis}), needs a prescriber ({actor} is a {role})",
                                  field="user")
            if note is None or len(note) < MIN_NOTE:
                raise ChemoError(f"bringing a cycle forward needs a note of at least {MIN_NOTE} characters saying why",
                                 field="note")
        record = {"plan_id": plan["id"], "cycle": cycle, "due_date": c.due.isoformat(), "to_date": to_date.isoformat(),
                  "kind": kind, "reason": reason, "note": note, "recorded_at": now_local().isoformat(),
                  "recorded_by": actor}
        did = calendar_db.add_delay(store, record)
        audit.append(store, actor, f"calendar.{kind}", "cycle_delays", did, None, record)
        after = build(store, plan, regimen, patient["mrn"], today)
    return {"id": did, **record, "calendar": after}


def override_gate(store: Store, actor: str, mrn: str, cycle: int, analyte: str, reason: str) -> dict:
    """A prescriber lets ``cycle`` through the failing readiness gate of ``analyte``, with a reason (audited).

    Refused for a nurse or pharmacist, for a gate that passes or has no result (an override lets a measured value
    through, never a value not measured), and for a cycle already started."""
    from .readiness import OVERRIDABLE, assess
    from .records import active_plan, locked_patient
    from .roles import require

    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise ChemoError(f"a gate override needs a reason of at least {MIN_REASON} characters", field="reason")
    with store.transaction(per_patient=True):
        require(store, actor, ("prescriber",), "overriding a readiness gate")
        patient = locked_patient(store, mrn)
        plan = active_plan(store, patient["id"], mrn)
        if isinstance(cycle, bool) or not isinstance(cycle, int) or not 1 <= cycle <= plan["planned_cycles"]:
            raise ChemoError(f"{cycle!r}: the plan ({plan['regimen_id']}) has cycles 1-{plan['planned_cycles']}",
                             field="cycle")
        report = assess(store, mrn, None, cycle=cycle)
        gates = [g for g in report.gates if g.analyte == analyte]
        if not gates:
            known = ", ".join(dict.fromkeys(g.analyte for g in report.gates))
            raise ChemoError(f"{analyte!r} is not a readiness gate of cycle {cycle} (gates: {known})", field="gate")
        failing = [g for g in gates if not g.passes]
        if not failing:
            raise Refusal(f"cycle {cycle}: the {analyte} gate passes ({gates[0].message}); nothing to override",
                          field="gate")
        unmeasured = [g for g in failing if g.status not in OVERRIDABLE]
        if unmeasured:
            raise Refusal(f"cycle {cycle}: {unmeasured[0].message}: an override lets a measured value through, "
                          "never a result that is missing", field="gate")
        finding = "; ".join(g.message for g in failing)
        record = {"plan_id": plan["id"], "cycle": cycle, "analyte": analyte, "reason": reason, "finding": finding,
                  "recorded_at": now_local().isoformat(), "recorded_by": actor}
        oid = calendar_db.add_override(store, record)
        audit.append(store, actor, "readiness.gate-override", "gate_overrides", oid, None, record)
    return {"id": oid, **record}
