"""A neoadjuvant course given on past dates, through the engine's own writes (for the toxicity and RDI tests).

The patient is 200 cm and 80 kg: Mosteller BSA sqrt(200 x 80 / 3600) = 2.108 m2; the plan starts
``days_ago`` days before today; each cycle is given on the day named, one day after another, with a full
set of passing labs the hour before its first day.
"""

from __future__ import annotations

import datetime as dt

from chemo.demo import GOOD, NURSE, PHARMACIST, PRESCRIBER, add_users, approve_regimens
from chemo.records import add_lab, add_measurement, add_patient, start_plan
from chemo.treatment import administer, signoff


def start_course(store, mrn: str, regimen: str = "doxorubicin-ifosfamide", days_ago: int = 70,
                 height: str = "200 cm", weight: str = "80 kg") -> dt.date:
    add_users(store)
    approve_regimens(store)  # two pharmacists approve the shipped regimens
    start = dt.date.today() - dt.timedelta(days=days_ago)
    add_patient(store, PRESCRIBER, mrn=mrn, name=f"Synthetic {mrn}", sex="female", born="1970-05-01",
                height=height, weight=weight, measured_on=start.isoformat())
    start_plan(store, PRESCRIBER, mrn, regimen, start=start.isoformat())
    return start


def labs_at(store, mrn: str, when: dt.datetime, **override) -> None:
    values = dict(GOOD)
    values.update(override)
    for analyte, item in values.items():
        if item is not None:
            add_lab(store, NURSE, mrn, analyte, item[0], uln=item[1], at=when.isoformat(timespec="minutes"))


def give_cycle(store, mrn: str, cycle: int, first_day: dt.date, *, dose_level=0, days=(1, 2, 3),
               override_reason=None, weight: str = "80 kg", **labs) -> None:
    """Sign off and give every day of ``cycle``, day 1 at 09:00 on ``first_day``, each next day a day later."""
    at = dt.datetime.combine(first_day, dt.time(9, 0))
    add_measurement(store, PRESCRIBER, mrn, weight=weight, on=first_day.isoformat())
    labs_at(store, mrn, at - dt.timedelta(hours=1), **labs)
    signoff(store, PHARMACIST, mrn, cycle, "dose", dose_level=dose_level, as_of=at, override_reason=override_reason)
    signoff(store, NURSE, mrn, cycle, "readiness", as_of=at)
    for day in days:
        administer(store, NURSE, mrn, cycle, day, at=(at + dt.timedelta(days=day - 1)).isoformat(timespec="minutes"))
