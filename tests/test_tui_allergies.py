"""The TUI shows a recorded allergy on the overview and the verify screen, and the verify screen names
the supportive lines signed with the doses (issue 20)."""

from __future__ import annotations

import pytest

from test_tui_support import (  # noqa: F401
    demo_db_on_engine, NURSE, PHARMACIST, TODAY, demo_template, freeze, make, open_patient, screen_text)


@pytest.fixture
def demo_db(demo_db_on_engine):
    """This test's copy of the demo record, on SQLite and on PostgreSQL, with the clock frozen."""
    return demo_db_on_engine


async def test_an_allergy_shows_on_the_overview_and_the_verify_screen(make, demo_db):
    from chemo.allergies import add_allergy
    from chemo.db import open_store
    from tui.screens.verify import VerifyScreen

    with open_store(demo_db, create=False) as store:
        add_allergy(store, NURSE, "DEMO-001", "ifosfamide", "anaphylaxis", "severe")
    app = make()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_patient(pilot, "001")
        assert "ALLERGIES: ifosfamide: anaphylaxis, severe" in screen_text(app)
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, VerifyScreen)
        text = screen_text(app)
        assert "ALLERGIES: ifosfamide: anaphylaxis, severe" in text
        assert "Supportive (moderate emetogenic), signed with the doses" in text


async def test_a_scanned_label_that_does_not_match_the_signed_dose_is_refused_in_the_tui(demo_db):
    from chemo.db import open_store
    from chemo.labels import day_labels
    from chemo.treatment import signoff
    from tui.app import make_app
    from tui.screens.treatment_day import TreatmentDayScreen

    with open_store(demo_db, create=False) as store:  # DEMO-001: doxorubicin + ifosfamide, ready
        signoff(store, PHARMACIST, "DEMO-001", 1, "dose")
        signoff(store, NURSE, "DEMO-001", 1, "readiness")
        code = next(x.payload for x in day_labels(store, "DEMO-001", 1, 1) if x.item.drug == "ifosfamide")
    wrong = code.replace("|ifosfamide|", "|mesna|")
    app = make_app(db_path=demo_db, user=NURSE, today=TODAY, demo=False)
    async with app.run_test(size=(110, 36)) as pilot:
        await open_patient(pilot, "001")
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, TreatmentDayScreen)
        app.screen.query_one("#day-scan").value = wrong  # as a scanner types it, at once
        await pilot.press("ctrl+g")
        await pilot.pause()
        text = screen_text(app)
        assert "not recorded" in text and "does not match the signed dose" in text
        app.screen.query_one("#day-scan").value = code
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert "Cycle 1 day 1 recorded as given" in screen_text(app)
