"""Relative dose intensity (RDI): how much of the planned dose a patient received, per unit of time.

:func:`compute` is the engine, a pure function of the planned schedule (the regimen's daily doses
on its days, its cycle length, the planned cycles and their planned dates) and the per-day ledger of
doses given (mg, the BSA of that day, the time given).  For each drug of the regimen (derived drugs
such as mesna are not counted):

* planned dose intensity  PDI = P / Tp, where P is the sum of the regimen's daily doses (mg/m², or mg
  for a flat dose) over the cycles counted and Tp their planned time, cycles x cycle length, in weeks;
* delivered dose intensity DDI = D / Ta, where D is the sum of what was given, each day's mg over that
  day's BSA (a flat dose: the mg), and Ta the time actually taken: from the first dose of cycle 1 (the
  plan's start if cycle 1 was not given at all) to the first dose of the last cycle counted plus one
  cycle length;
* RDI = DDI / PDI = (D / P) x (Tp / Ta).

The points lost, 100 - RDI %, are split three ways that add up exactly: **omission** (planned days
of cycles counted that were not given at all), **reduction** (given days below their planned dose,
which includes the dispensing rounding, either way), and **delay** (what the longer time took of
the rest: (D / P) x (1 - Tp / Ta)).

The cycles counted are those up to the newest cycle with any dose given (the whole plan once its
last cycle is given); a course in progress is marked so.  RDI below the library's target (``[rdi]`` of ``toxicity-rules.toml``, with its
source) is flagged.
"""

from __future__ import annotations

import datetime as _dt

import attrs



@attrs.frozen
class PlannedDay:
    cycle: int
    day: int
    drug: str
    amount: float  # mg/m², or mg for a flat dose
    basis: str  # "mg/m²" or "mg"
    date: _dt.date  # as first planned: plan start + (cycle - 1) cycle lengths + (day - 1)


@attrs.frozen
class GivenDay:
    cycle: int
    day: int
    drug: str
    dose_mg: float
    bsa_m2: float
    given_at: str  # local ISO time


@attrs.frozen
class CurvePoint:
    date: str
    planned: float  # cumulative planned, on the planned dates
    delivered: float  # cumulative delivered, on the dates given


@attrs.frozen
class DrugRdi:
    drug: str
    basis: str
    planned_total: float
    delivered_total: float
    planned_weeks: float
    actual_weeks: float
    planned_intensity: float  # per week
    delivered_intensity: float
    rdi_pct: float | None  # None: nothing given yet
    lost_delay: float  # points
    lost_reduction: float
    lost_omission: float
    cycles_counted: int
    complete: bool
    planned_curve: tuple  # ((date, cumulative planned), ...)
    delivered_curve: tuple  # ((date, cumulative delivered), ...)
    target_pct: float  # the library's RDI target (chemo.toxicity_data.RdiTarget)

    @property
    def below_target(self) -> bool:
        return self.rdi_pct is not None and self.rdi_pct < self.target_pct - 1e-9

    def as_json(self) -> dict:
        return {
            "drug": self.drug, "unit": f"{self.basis}/week", "basis": self.basis,
            "planned_total": round(self.planned_total, 3), "delivered_total": round(self.delivered_total, 3),
            "planned_weeks": round(self.planned_weeks, 4), "actual_weeks": round(self.actual_weeks, 4),
            "planned_intensity": round(self.planned_intensity, 4),
            "delivered_intensity": round(self.delivered_intensity, 4), "rdi_pct": None if self.rdi_pct is None else round(self.rdi_pct, 2),
            "lost_points": {"delay": round(self.lost_delay, 2), "reduction": round(self.lost_reduction, 2),
                            "omission": round(self.lost_omission, 2)},
            "below_target": self.below_target, "cycles_counted": self.cycles_counted, "complete": self.complete,
            "planned_curve": [[d, round(v, 3)] for d, v in self.planned_curve],
            "delivered_curve": [[d, round(v, 3)] for d, v in self.delivered_curve],
        }


@attrs.frozen
class Rdi:
    mrn: str
    regimen: str
    start_date: str
    cycle_length_days: int
    planned_cycles: int
    drugs: tuple  # DrugRdi
    target_pct: float
    target_source: str
    delays: tuple = ()  # (cycle, days late against the planned date, reasons)

    def as_json(self) -> dict:
        return {"mrn": self.mrn, "regimen": self.regimen, "start_date": self.start_date,
                "cycle_length_days": self.cycle_length_days, "planned_cycles": self.planned_cycles,
                "target_pct": self.target_pct, "target_source": self.target_source,
                "drugs": [d.as_json() for d in self.drugs],
                "delays": [{"cycle": c, "days_late": n, "reasons": list(r)} for c, n, r in self.delays]}


def points(x: float) -> str:
    """Points of RDI to one decimal, never "-0.0"."""
    return f"{0.0 if abs(x) < 0.05 else x:.1f}"


def planned_schedule(regimen, start: _dt.date, cycles: int, planned_dates: dict | None = None) -> list[PlannedDay]:
    """Every planned day of every drug line of the regimen, at the protocol dose as the regimen writes it, on the
    cycles' planned dates (the calendar's, else the start plus whole cycle lengths)."""
    from .calendar import planned_day1

    out = []
    for cycle in range(1, cycles + 1):
        first = (planned_dates or {}).get(cycle) or planned_day1(start, regimen.cycle_length_days, cycle)
        for line in regimen.drugs:
            daily = line.daily
            basis = "mg" if daily.basis.value == "flat" else "mg/m²" if daily.basis.value == "per m²" else None
            if basis is None:
                continue  # per kg or AUC: not in these regimens; an RDI on it needs the day's weight
            for day in line.days:
                out.append(PlannedDay(cycle, day, line.drug, daily.amount, basis,
                                      first + _dt.timedelta(days=day - 1)))
    return out


def _date(text: str) -> _dt.date:
    return _dt.date.fromisoformat(text[:10])


def _delivered(g: GivenDay, basis: str) -> float:
    return g.dose_mg if basis == "mg" else g.dose_mg / g.bsa_m2


def _drug_rdi(drug, basis, planned, given, starts, counted, cycle_length_days, planned_cycles,
              pending: frozenset, plan_start: _dt.date, target) -> DrugRdi:
    plan_in = [p for p in planned if p.cycle <= counted and (p.cycle, p.day) not in pending]
    P = sum(p.amount for p in plan_in)
    by_key = {(g.cycle, g.day): g for g in given if g.cycle <= counted}
    D = sum(_delivered(g, basis) for g in by_key.values())
    omitted = sum(p.amount for p in plan_in if (p.cycle, p.day) not in by_key)
    reduced = sum(p.amount - _delivered(by_key[(p.cycle, p.day)], basis) for p in plan_in if (p.cycle, p.day) in by_key)
    Tp = counted * cycle_length_days / 7
    if counted and starts:
        first = starts.get(1, plan_start)  # a first cycle not given at all: its time counts from the planned start
        last = starts[max(starts)] if counted in starts else max(starts.values())
        Ta = ((last - first).days + cycle_length_days) / 7
    else:
        Ta = 0.0
    if not counted or P <= 0 or Ta <= 0:
        rdi = None  # nothing given yet: no intensity to speak of
        ratio = 0.0
    else:
        ratio = D / P
        rdi = ratio * (Tp / Ta) * 100
    lost_omission = 100 * omitted / P if P else 0.0
    lost_reduction = 100 * reduced / P if P else 0.0
    lost_delay = (100 * ratio - rdi) if rdi is not None else 0.0
    # the curves: cumulative planned on the planned dates, delivered on the dates given
    pc, total, points = [], 0.0, {}
    for p in sorted(planned, key=lambda p: p.date):
        points[p.date.isoformat()] = points.get(p.date.isoformat(), 0.0) + p.amount
    for d in sorted(points):
        total += points[d]
        pc.append((d, total))
    dc, total, points = [], 0.0, {}
    for g in sorted(given, key=lambda g: g.given_at):
        key = g.given_at[:10]
        points[key] = points.get(key, 0.0) + _delivered(g, basis)
    for d in sorted(points):
        total += points[d]
        dc.append((d, total))
    full_weeks = planned_cycles * cycle_length_days / 7
    pdi = sum(p.amount for p in planned) / full_weeks  # the regimen's intensity over the whole plan
    ddi = 0.0 if rdi is None else pdi * rdi / 100  # = D / Ta once no day of the newest cycle is pending
    return DrugRdi(drug, basis, P, D, Tp, Ta, pdi, ddi, rdi, lost_delay,
                   lost_reduction, lost_omission, counted, counted >= planned_cycles, tuple(pc), tuple(dc),
                   target.pct)


def compute(mrn: str, regimen, start: _dt.date, planned_cycles: int, given: list[GivenDay],
            delays: tuple = (), today: _dt.date | None = None, planned_dates: dict | None = None) -> Rdi:
    """The RDI of every drug line of ``regimen`` (see the module text).  The cycles counted are the same for
    every drug: up to the newest cycle in which any drug was given, so a drug stopped early counts its
    missing days as omitted."""
    from .toxicity_data import load

    target = load()[1].rdi_target
    planned = planned_schedule(regimen, start, planned_cycles, planned_dates)
    counted = max((g.cycle for g in given), default=0)
    starts: dict[int, _dt.date] = {}
    for g in given:
        d = _date(g.given_at)
        if g.cycle not in starts or d < starts[g.cycle]:
            starts[g.cycle] = d
    # the newest cycle's days not reached yet (after its last day given, on a day still to come) are pending,
    # neither planned nor omitted so far
    today = today or _dt.date.today()
    last_day = max((g.day for g in given if g.cycle == counted), default=0)
    pending = frozenset((counted, p.day) for p in planned if p.cycle == counted and p.day > last_day
                        and starts[counted] + _dt.timedelta(days=p.day - 1) >= today) if counted else frozenset()
    drugs = []
    for line in regimen.drugs:
        mine = [p for p in planned if p.drug == line.drug]
        if not mine:
            continue
        drugs.append(_drug_rdi(line.drug, mine[0].basis, mine, [g for g in given if g.drug == line.drug], starts,
                               counted, regimen.cycle_length_days, planned_cycles, pending, start, target))
    return Rdi(mrn, regimen.id, start.isoformat(), regimen.cycle_length_days, planned_cycles, tuple(drugs),
               target.pct, target.source, tuple(delays))


# ------------------------------------------------------------------ from the record

def for_plan(store, mrn: str, plan: dict, today: _dt.date | None = None) -> Rdi:
    """The RDI of a plan from the record: the calendar's planned dates and delays (with their reasons), the
    per-day ledger of doses given."""
    from . import calendar
    from .db import administrations
    from .records import plan_regimen

    regimen, _ = plan_regimen(plan)
    cal = calendar.build(store, plan, regimen, mrn, today)
    rows = administrations.in_plan(store, plan["id"])
    given = [GivenDay(r["cycle"], r["day"], r["drug"], r["dose_mg"], r["bsa_m2"], r["given_at"]) for r in rows]
    delays = []
    previous = None
    for c in cal.cycles:
        if previous is not None and previous.first_given is not None and c.first_given is not None:
            late = (c.first_given - previous.first_given).days - regimen.cycle_length_days
            if late > 0:
                reasons = tuple(f"{d['reason']}" + (f": {d['note']}" if d.get("note") else "")
                                + f" (recorded by {d['recorded_by']})" for d in c.delays if d["kind"] == "delay")
                delays.append((c.cycle, late, reasons or ("no delay recorded in the calendar",)))
        previous = c
    planned_dates = {c.cycle: c.planned for c in cal.cycles}
    return compute(mrn, regimen, cal.start_date, plan["planned_cycles"], given, tuple(delays), today=cal.today,
                   planned_dates=planned_dates)


def for_patient(store, mrn: str) -> Rdi:
    from .records import active_plan, get_patient

    patient = get_patient(store, mrn)
    return for_plan(store, mrn, active_plan(store, patient["id"], mrn))


def cohort(store) -> list[tuple[dict, Rdi]]:
    """(patient, RDI of the active plan) of every patient with an active plan, by MRN."""
    from .db import patients, plans

    out = []
    for listed in patients.listing(store):
        p = patients.by_mrn(store, listed["mrn"])
        plan = plans.active(store, p["id"])
        if plan is not None:
            out.append((p, for_plan(store, p["mrn"], plan)))
    return out
