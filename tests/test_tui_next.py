"""The prescriber's screen shows chemo next's suggestion, rule by rule with its source, and starts the order at it
(issue 23)."""

from __future__ import annotations

import json

import pytest

from test_tui_support import (  # noqa: F401
    demo_db_on_engine, NURSE, TODAY, demo_template, freeze, make, open_patient, screen_text)

SIZE = (120, 40)
PRESCRIBER = "demo-prescriber"


@pytest.fixture
def demo_db(demo_db_on_engine):
    """This test's copy of the demo record, on SQLite and on PostgreSQL, with the clock frozen."""
    return demo_db_on_engine


async def test_the_prescriber_screen_starts_at_the_suggested_level_and_names_the_rule(demo_db, make):
    from chemo.db import open_store
    from chemo.toxicity import add_event
    from tui.screens.prescribe import PrescribeScreen

    with open_store(demo_db, create=False) as store:  # DEMO-022: AI cycle 1 given; febrile neutropenia after it
        add_event(store, NURSE, "DEMO-022", cycle=1, term="febrile-neutropenia", grade=3, at="2026-06-01T22:00")
    app = make(PRESCRIBER)
    async with app.run_test(size=SIZE) as pilot:
        await open_patient(pilot, "022")
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, PrescribeScreen)
        text = screen_text(app)
        assert "Suggested by the toxicity rules" in text and "rule fn-doxorubicin-ifosfamide (reduce)" in text
        assert "source: [FNMOD]" in text
        assert app.screen.query_one("#rx-level").value == "doxorubicin=-1, ifosfamide=-1"
        assert "75 %" in text  # the doses shown are at the suggestion
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "signed by demo-prescriber" in screen_text(app)  # the suggestion itself needs no reason
    with open_store(demo_db, create=False) as store:
        row = store.one("SELECT r.dose_level FROM prescriptions r JOIN plans p ON p.id = r.plan_id "
                        "JOIN patients x ON x.id = p.patient_id WHERE x.mrn = 'DEMO-022' AND r.cycle = 2")
    assert json.loads(row["dose_level"]) == {"doxorubicin": -1, "ifosfamide": -1}
