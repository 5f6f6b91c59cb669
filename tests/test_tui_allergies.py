"""The TUI shows a recorded allergy on the overview and the verify screen, and the verify screen names
the supportive lines signed with the doses (issue 20)."""

from __future__ import annotations

import pytest

from test_tui_support import (  # noqa: F401
    NURSE, PHARMACIST, TODAY, demo_template, freeze, make, open_patient, screen_text)


@pytest.fixture
def demo_db(demo_template, engine, tmp_path, request, monkeypatch):
    from conftest import clone_db

    freeze(monkeypatch)
    monkeypatch.delenv("CHEMO_DB", raising=False)
    monkeypatch.delenv("CHEMO_USER", raising=False)
    return clone_db(demo_template, engine, tmp_path, request, "demo.db")


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
