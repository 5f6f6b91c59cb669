"""Every screen pinned at 80×24 and 120×40 (pytest-textual-snapshot; accept with --snapshot-update).

The demo database is built with the clinic clock frozen (``test_tui_support``),
so dates, ages and doses are the same on every run.
"""

from __future__ import annotations

import pytest

from test_tui_support import (  # noqa: F401
    NURSE, PHARMACIST, demo_db, demo_template, make, open_patient, paste_order, type_text)

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


async def settle(pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def to_patients(pilot):
    await settle(pilot)


async def to_overview(pilot):
    await settle(pilot)
    await open_patient(pilot, "022")  # one cycle given, the next due
    await settle(pilot)


async def to_verify(pilot):
    await settle(pilot)
    await open_patient(pilot, "001")
    await pilot.press("v")
    await settle(pilot)
    screen = pilot.app.screen
    await type_text(pilot, f"{screen.session.rows[0].dose_mg * 10:g} mg")  # a ten-fold error on the first line
    await paste_order(pilot, screen, skip=(0,))  # the others as calculated
    await settle(pilot)


async def to_readiness(pilot):
    await settle(pilot)
    await open_patient(pilot, "005")  # haemoglobin fails
    await pilot.press("n")
    await settle(pilot)


async def to_regimens(pilot):
    await settle(pilot)
    await pilot.press("f3", "down")
    await settle(pilot)


SCREENS = {
    "patients": (to_patients, PHARMACIST),
    "overview": (to_overview, PHARMACIST),
    "verify": (to_verify, PHARMACIST),
    "readiness": (to_readiness, NURSE),
    "regimens": (to_regimens, PHARMACIST),
}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen_snapshot(snap_compare, make, screen, size):
    run_before, user = SCREENS[screen]
    assert snap_compare(make(user), terminal_size=size, run_before=run_before)
