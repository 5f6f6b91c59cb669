"""Every screen pinned at 80×24 and 120×40, verify and readiness also at 60×20, and the key list
(pytest-textual-snapshot; accept with --snapshot-update, then look at what changed).

The demo database is built with the clinic clock frozen (``test_tui_support``),
so dates, ages and doses are the same on every run.
"""

from __future__ import annotations

import pytest

from test_tui_support import (  # noqa: F401
    NURSE, PHARMACIST, demo_db, demo_template, make, open_patient, paste_order, type_text)

SIZES = [(80, 24), (120, 40)]
NARROW = (60, 20)


async def settle(pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    for field in pilot.app.screen.query("Input"):  # a blinking cursor would make the picture depend on timing
        field.cursor_blink = False
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


async def to_verify_keys(pilot):
    await to_verify(pilot)
    await pilot.press("down")  # the focus on the second line: ▶ on it, its drug and day above the table
    await pilot.press("f1")
    await settle(pilot)


SCREENS = {
    "patients": (to_patients, PHARMACIST),
    "overview": (to_overview, PHARMACIST),
    "verify": (to_verify, PHARMACIST),
    "readiness": (to_readiness, NURSE),
    "regimens": (to_regimens, PHARMACIST),
}


SCREENS["verify-keys"] = (to_verify_keys, PHARMACIST)
CASES = [pytest.param(screen, size, id=f"{screen}-{size[0]}x{size[1]}") for screen, size in
         [(s, size) for s in SCREENS if s != "verify-keys" for size in SIZES]
         + [("verify", NARROW), ("readiness", NARROW), ("verify-keys", (80, 24))]]


@pytest.mark.parametrize(("screen", "size"), CASES)
def test_screen_snapshot(snap_compare, make, screen, size):
    run_before, user = SCREENS[screen]
    assert snap_compare(make(user), terminal_size=size, run_before=run_before)
