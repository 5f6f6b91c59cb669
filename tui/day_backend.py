"""The treatment day as the nurse's screen needs it (issue 19): the plan's calendar, the next day's administration
(with every check of ``chemo administer``), a new weight, a delay with its reason.  Through the engine only:
:mod:`chemo.calendar`, :func:`chemo.treatment.administer`, :func:`chemo.records.add_measurement`."""

from __future__ import annotations

import attrs


@attrs.frozen
class DayRow:
    cycle: int
    status: str  # given, in progress, due, upcoming
    words: str  # "due 2026-12-27 (from 2026-12-24); cycle 1 day 1 given on ... + 21 days"
    given: str  # "day 1 2026-12-06, day 2 2026-12-07" or ""
    delays: tuple  # "delayed from X to Y: low-counts (note), by login"


@attrs.frozen
class DayView:
    mrn: str
    name: str
    regimen_id: str
    rows: tuple  # DayRow
    next_words: str  # "next: cycle 2, due 2026-12-27" or "next: every cycle is given"
    next_cycle: int | None


def day_view(backend, patient_id: int) -> DayView:
    from chemo.calendar import for_patient
    from chemo.calendar_text import delay_words, due_words, given_words, next_words

    p = backend.patient(patient_id)
    cal = for_patient(backend.store, p["mrn"], today=backend.today)
    rows = tuple(DayRow(c.cycle, c.status, due_words(c), given_words(c), tuple(delay_words(d) for d in c.delays))
                 for c in cal.cycles)
    next_cycle = None if cal.next is None else cal.next.cycle
    return DayView(p["mrn"], p["name"], cal.regimen_id, rows, next_words(cal), next_cycle)


def give_next_day(backend, patient_id: int, cycle: int, scans: tuple = ()) -> str:
    """Record the next day of ``cycle`` not yet given, now, with every check of ``chemo administer`` (the
    calendar's date, both sign-offs, readiness, the cap, and each scanned label's code against the signed
    dose); the sentence that says what was recorded."""
    from chemo.treatment import administer

    p = backend.patient(patient_id)
    backend.changed(p["id"])
    result = administer(backend.store, backend.login, p["mrn"], cycle, None, at=backend.now().isoformat(),
                        scans=tuple(scans))
    day = result["days"][0]
    drugs = ", ".join(f"{a['drug']} {a['dose_mg']:g} mg" for a in result["administrations"])
    return (f"Cycle {cycle} day {day} recorded as given at {result['times'][str(day)].replace('T', ' ')} by "
            f"{backend.login}: {drugs}; cumulative {result['cumulative_after_mg_m2']:g} of {result['cap_mg_m2']:g} "
            "mg/m²")


def record_weight(backend, patient_id: int, weight_text: str) -> str:
    from chemo.records import add_measurement

    p = backend.patient(patient_id)
    backend.changed(p["id"])
    row = add_measurement(backend.store, backend.login, p["mrn"], weight=weight_text, on=backend.today.isoformat())
    warnings = "; ".join(row.get("warnings") or ())
    return (f"Weight {row['weight_kg']:g} kg recorded for {row['measured_on']} by {backend.login}"
            + (f"; WARNING {warnings}" if warnings else ""))


def ask_delay(backend, patient_id: int, cycle: int, to_text: str, reason: str, note: str | None) -> str:
    from chemo.calendar import delay
    from chemo.calendar_text import moved_word

    p = backend.patient(patient_id)
    backend.changed(p["id"])
    row = delay(backend.store, backend.login, p["mrn"], cycle, to_text, reason, note or None)
    return f"Cycle {cycle} {moved_word(row)} from {row['due_date']} to {row['to_date']} ({reason}); later cycles follow"
