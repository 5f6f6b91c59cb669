"""The nurse's treatment day in the TUI (issue 19): the calendar on the overview and its own screen, each day of
a cycle recorded from the TUI with the checks of ``chemo administer``, a weight, a delay with its reason."""

from __future__ import annotations

import datetime as dt

import pytest

from test_tui_support import (  # noqa: F401
    demo_db_on_engine, NURSE, PHARMACIST, TODAY, demo_template, freeze, open_patient, screen_text, type_text)

SIZE = (110, 36)


@pytest.fixture
def demo_db(demo_db_on_engine):
    """This test's copy of the demo record, on SQLite and on PostgreSQL, with the clock frozen."""
    return demo_db_on_engine


def _rows(path, sql, params=()):
    from chemo.db import open_store

    with open_store(path, create=False) as store:
        return store.query(sql, params)


async def _day_screen(pilot, mrn):
    from tui.screens.treatment_day import TreatmentDayScreen

    await open_patient(pilot, mrn)
    await pilot.press("t")
    await pilot.pause()
    assert isinstance(pilot.app.screen, TreatmentDayScreen)


async def test_a_nurse_gives_day_1_from_the_tui_and_day_2_waits_for_its_date(demo_db):
    from chemo.db import open_store
    from chemo.treatment import signoff
    from tui.app import make_app

    with open_store(demo_db, create=False) as store:  # DEMO-001: doxorubicin + ifosfamide, days 1-3, ready
        signoff(store, PHARMACIST, "DEMO-001", 1, "dose")
        signoff(store, NURSE, "DEMO-001", 1, "readiness")
    app = make_app(db_path=demo_db, user=NURSE, today=TODAY, demo=False)
    async with app.run_test(size=SIZE) as pilot:
        await _day_screen(pilot, "001")
        assert "C1 [DUE]" in screen_text(app) and f"due {TODAY.isoformat()}" in screen_text(app)
        await pilot.press("ctrl+g")
        await pilot.pause()
        text = screen_text(app)
        assert "Cycle 1 day 1 recorded as given" in text and "doxorubicin" in text
        assert f"given: day 1 {TODAY.isoformat()}" in text
        await pilot.press("ctrl+g")  # the same day again: day 2 falls tomorrow
        await pilot.pause()
        tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
        assert f"due on {tomorrow}" in screen_text(app) and "not recorded" in screen_text(app)
        app.screen.query_one("#day-weight").focus()
        await type_text(pilot, "69.5 kg")
        await pilot.press("enter")
        await pilot.pause()
        assert "Weight 69.5 kg recorded" in screen_text(app)
    given = _rows(demo_db, "SELECT a.day FROM administrations a JOIN plans p ON p.id = a.plan_id JOIN patients x "
                           "ON x.id = p.patient_id WHERE x.mrn = 'DEMO-001'")
    assert {r["day"] for r in given} == {1}
    weights = _rows(demo_db, "SELECT m.weight_kg, m.recorded_by FROM measurements m JOIN patients x ON "
                             "x.id = m.patient_id WHERE x.mrn = 'DEMO-001' ORDER BY m.id DESC LIMIT 1")
    assert weights == [{"weight_kg": 69.5, "recorded_by": NURSE}]


async def test_a_nurse_delays_the_next_cycle_with_a_reason_and_the_overview_shows_it(demo_db):
    from tui.app import make_app

    app = make_app(db_path=demo_db, user=NURSE, today=TODAY, demo=False)
    week = (TODAY + dt.timedelta(days=7)).isoformat()
    async with app.run_test(size=SIZE) as pilot:
        await _day_screen(pilot, "022")  # cycle 1 given 21 days ago: cycle 2 due today
        app.screen.query_one("#day-delay-to").focus()
        await type_text(pilot, week)
        app.screen.query_one("#day-delay-reason").focus()
        await type_text(pilot, "low-counts")
        app.screen.query_one("#day-delay-note").focus()
        await type_text(pilot, "ANC 1.1")
        await pilot.press("ctrl+d")
        await pilot.pause()
        text = screen_text(app)
        assert f"Cycle 2 delayed from {TODAY.isoformat()} to {week} (low-counts)" in text
        assert f"delayed from {TODAY.isoformat()} to {week}: low-counts (ANC 1.1), by {NURSE}" in text
        await pilot.press("escape")
        await pilot.pause()
        assert f"C2 [PLANNED] due {week}" in screen_text(app) and "low-counts" in screen_text(app)
