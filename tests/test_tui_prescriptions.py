"""The TUI of issue 18: the wrong-patient burst, the prescriber's screen, the pharmacist's signing summary."""

from __future__ import annotations

import asyncio
import json

import pytest

from test_tui_support import (  # noqa: F401
    NURSE, PHARMACIST, TODAY, demo_template, freeze, make, open_patient, screen_text, type_text)

SIZE = (110, 36)
PRESCRIBER = "demo-prescriber"


@pytest.fixture
def demo_db(demo_template, engine, tmp_path, request, monkeypatch):
    from conftest import clone_db

    freeze(monkeypatch)
    monkeypatch.delenv("CHEMO_DB", raising=False)
    monkeypatch.delenv("CHEMO_USER", raising=False)
    return clone_db(demo_template, engine, tmp_path, request, "demo.db")


async def test_a_burst_of_backspaces_an_mrn_and_enter_opens_the_typed_patient_20_times_of_20(make):
    """On DEMO-012's screen: F2, a pause, then in one burst 8 backspaces, "DEMO-005", Enter: DEMO-005 opens."""
    from tui.screens.overview import OverviewScreen

    app = make()
    async with app.run_test(size=SIZE) as pilot:
        opened = []
        for _ in range(20):
            await open_patient(pilot, "DEMO-012")
            assert isinstance(app.screen, OverviewScreen) and "MRN DEMO-012" in screen_text(app)
            await pilot.press("f2")
            await asyncio.sleep(0.05)
            await pilot.pause()
            assert app.screen.query_one("#patient-search").value == ""  # F2 clears the old search
            await type_text(pilot, "DEMO-012")  # as the old search text, which a burst then rubs out
            await pilot.press(*(["backspace"] * 8), *"DEMO-005", "enter")
            await pilot.pause()
            screen = app.screen
            opened.append(screen.data.patient["mrn"] if isinstance(screen, OverviewScreen) else None)
            await pilot.press("f2")
            await pilot.pause()
        assert opened == ["DEMO-005"] * 20
