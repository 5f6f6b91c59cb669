"""Administrations day by day (issue 13, point 1).

Doxorubicin + ifosfamide gives doxorubicin 25 mg/m² on days 1-3: a patient of 170 cm and 70 kg (Mosteller
1.818 m²) gets 45 mg a day, 24.75 mg/m².  ``chemo administer MRN --cycle N`` without ``--day`` records one day,
the next not yet given, and says which; it never records days that have not happened.  ``--all-days`` records
every day still to give, a calendar day apart, and is refused when one would fall in the future.
"""

import datetime as dt
import json

import pytest
from click.testing import CliRunner

from chemo.cli import cli
from cli_support import one_line
from chemo.cumulative import report
from chemo.demo import GOOD, NURSE, PHARMACIST, PRESCRIBER, add_users, approve_regimens
from chemo.records import add_lab, add_patient, start_plan
from chemo.db import now_local, open_store
from chemo.treatment import DayRefused, administer, signoff

DAY_MG_M2 = 45 / (170 * 70 / 3600) ** 0.5  # 24.75 mg/m² of doxorubicin a day


@pytest.fixture
def db(tmp_path, monkeypatch, clock):
    """Patient M1 measured four days ago, tested then and an hour ago; cycle 1 signed off (dose and readiness) four days
    ago.  The record's clock stands at noon today, so that "three days and two hours ago" is on the day the
    wording says whatever the hour the suite runs."""
    clock.set(clock.now.replace(hour=12, minute=0, second=0))
    path = tmp_path / "days.db"
    monkeypatch.setenv("CHEMO_DB", str(path))
    four_days_ago = now_local() - dt.timedelta(days=4)
    with open_store(path) as store:
        add_users(store)
        approve_regimens(store)  # two pharmacists approve the shipped regimens
        add_patient(store, PRESCRIBER, mrn="M1", name="Synthetic M1", sex="female", born="1970-05-01",
                    height="170 cm", weight="70 kg", measured_on=four_days_ago.date().isoformat())
        start_plan(store, PRESCRIBER, "M1", "doxorubicin-ifosfamide")
        for at in (four_days_ago, now_local() - dt.timedelta(hours=1)):  # results of then, and of today
            for analyte, (value, uln) in GOOD.items():
                add_lab(store, NURSE, "M1", analyte, value, uln=uln, at=at)
        signoff(store, PHARMACIST, "M1", 1, "dose")
        signoff(store, NURSE, "M1", 1, "readiness", as_of=four_days_ago + dt.timedelta(hours=1))
    return path


def chemo(*args):
    return CliRunner().invoke(cli, [str(a) for a in args] + ["--user", NURSE])


def given(db):
    with open_store(db) as store:
        return store.query("SELECT day, drug, given_at FROM administrations ORDER BY day, drug")



def test_administer_without_day_records_only_the_next_day_and_says_which(db):
    """`chemo administer M1 --cycle 1` on a three-day cycle: day 1 only, today; days 2-3 are not counted."""
    three_days_ago = (now_local() - dt.timedelta(days=3, hours=2)).isoformat(timespec="minutes")
    result = chemo("administer", "M1", "--cycle", "1", "--at", three_days_ago)
    assert result.exit_code == 0, result.output
    assert "cycle 1 day 1, the next day not yet given" in result.stdout
    assert {r["day"] for r in given(db)} == {1}
    with open_store(db) as store:
        assert report(store, "M1").given_mg_m2 == pytest.approx(DAY_MG_M2, abs=0.01)
    # the next call, a day later, is day 2; its JSON names the day it chose
    two_days_ago = (now_local() - dt.timedelta(days=2, hours=2)).isoformat(timespec="minutes")
    data = json.loads(chemo("administer", "M1", "--cycle", "1", "--at", two_days_ago, "--json").stdout)
    assert data["day"] == 2 and data["days"] == [2] and data["implied_day"] is True
    assert {a["day"] for a in data["administrations"]} == {2}
    assert data["cumulative_after_mg_m2"] == pytest.approx(2 * DAY_MG_M2, abs=0.01)


def test_a_second_entry_on_the_same_calendar_day_is_refused_not_recorded_as_tomorrow(db):
    assert chemo("administer", "M1", "--cycle", "1").exit_code == 0  # day 1, now
    before = given(db)
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    one_line(chemo("administer", "M1", "--cycle", "1"), 1, "day 2", f"due on {tomorrow}", "recorded on its date")
    assert given(db) == before
    # named explicitly, day 2 is still refused on day 1's date: it falls on tomorrow (issue 19)
    one_line(chemo("administer", "M1", "--cycle", "1", "--day", "2"), 1, "cycle 1 day 2 falls on", tomorrow)
    assert given(db) == before


def test_a_day_is_given_once(db):
    assert chemo("administer", "M1", "--cycle", "1", "--day", "1").exit_code == 0
    one_line(chemo("administer", "M1", "--cycle", "1", "--day", "1"), 1, "was recorded at")


def test_all_days_at_now_on_a_three_day_cycle_is_refused_because_days_2_and_3_have_not_happened(db):
    one_line(chemo("administer", "M1", "--cycle", "1", "--all-days"), 1, "day 2", "in the future")
    assert given(db) == []


def test_all_days_records_each_day_a_calendar_day_apart_and_states_the_times(db):
    start = (now_local() - dt.timedelta(days=3)).replace(second=0)
    result = chemo("administer", "M1", "--cycle", "1", "--all-days", "--at", start.isoformat(timespec="minutes"))
    assert result.exit_code == 0, result.output
    times = {r["day"]: r["given_at"] for r in given(db)}
    assert times == {d: (start + dt.timedelta(days=d - 1)).isoformat() for d in (1, 2, 3)}
    for d in (1, 2, 3):
        assert f"day {d} {(start + dt.timedelta(days=d - 1)).isoformat(sep=' ')}" in result.stdout
    with open_store(db) as store:
        assert report(store, "M1").given_mg_m2 == pytest.approx(3 * DAY_MG_M2, abs=0.01)
    one_line(chemo("administer", "M1", "--cycle", "1"), 1, "every day (1, 2, 3) is already recorded")


def test_at_is_never_in_the_future(db):
    later = (now_local() + dt.timedelta(hours=2)).isoformat(timespec="minutes")
    one_line(chemo("administer", "M1", "--cycle", "1", "--day", "1", "--at", later), 2, "at:", "in the future")
    assert given(db) == []


def test_day_and_all_days_together_is_a_usage_error(db):
    one_line(chemo("administer", "M1", "--cycle", "1", "--day", "1", "--all-days"), 2, "not both")


def test_a_day_is_not_recorded_before_the_day_recorded_before_it(db):
    yesterday = (now_local() - dt.timedelta(days=1)).isoformat(timespec="minutes")
    two_days_ago = (now_local() - dt.timedelta(days=2)).isoformat(timespec="minutes")
    assert chemo("administer", "M1", "--cycle", "1", "--day", "1", "--at", yesterday).exit_code == 0
    one_line(chemo("administer", "M1", "--cycle", "1", "--day", "2", "--at", two_days_ago), 1,
             "cycle 1 day 2 falls on", "day 1 was given on")


def test_the_api_refusal_is_a_day_refusal_and_writes_nothing(db):
    with open_store(db) as store:
        administer(store, NURSE, "M1", 1)
        n = store.one("SELECT count(*) AS n FROM audit")["n"]
        with pytest.raises(DayRefused) as err:
            administer(store, NURSE, "M1", 1)
        assert err.value.exit_code == 1
        assert store.one("SELECT count(*) AS n FROM audit")["n"] == n
