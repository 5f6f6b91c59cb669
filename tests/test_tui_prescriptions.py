"""The TUI of issue 18: the wrong-patient burst, the prescriber's screen, the pharmacist's signing summary."""

from __future__ import annotations

import json

import pytest

from test_tui_support import (  # noqa: F401
    burst, demo_db_on_engine, NURSE, PHARMACIST, TODAY, demo_template, freeze, make, open_patient, screen_text, type_text)

SIZE = (110, 36)
PRESCRIBER = "demo-prescriber"


@pytest.fixture
def demo_db(demo_db_on_engine):
    """This test's copy of the demo record, on SQLite and on PostgreSQL, with the clock frozen."""
    return demo_db_on_engine


@pytest.mark.parametrize("engine", ["sqlite"])  # the search is the screen's, not the record's: one engine
async def test_a_burst_of_backspaces_an_mrn_and_enter_opens_the_typed_patient_each_time(make):
    """On DEMO-012's screen: F2, then in one burst, every key queued before the first is handled, 8 backspaces,
    "DEMO-005", Enter: DEMO-005 opens; then the same back to DEMO-012 (every key is queued before the first is
    handled, so one burst each way states the fact).
    (Before OrderedInput, the characters overtook the backspaces and Enter opened the old search's patient.)"""
    from tui.screens.overview import OverviewScreen

    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await open_patient(pilot, "DEMO-012")
        assert isinstance(app.screen, OverviewScreen) and "MRN DEMO-012" in screen_text(app)
        opened, wanted = [], []
        for n in range(2):
            here, there = ("DEMO-012", "DEMO-005") if n % 2 == 0 else ("DEMO-005", "DEMO-012")
            await pilot.press("f2")
            await pilot.pause()
            assert app.screen.query_one("#patient-search").value == ""  # F2 clears the old search
            search = app.screen.query_one("#patient-search")
            search.value, search.cursor_position = here, len(here)  # an old search text, which a burst rubs out
            await pilot.pause()
            await burst(pilot, *(["backspace"] * 8), *there, "enter")
            screen = app.screen
            opened.append(screen.data.patient["mrn"] if isinstance(screen, OverviewScreen) else None)
            wanted.append(there)
        assert opened == wanted


def _store(path):
    from chemo.db import open_store

    return open_store(path, create=False)


async def test_a_prescriber_prescribes_level_minus_one_the_pharmacist_signs_it_and_the_worksheet_prints_it(
        make, demo_db):
    from chemo.dose import calculate_cycle
    from chemo.records import plan_body, plan_regimen
    from chemo.worksheet import build
    from tui.screens.prescribe import PrescribeScreen
    from tui.screens.signing import SignSummaryScreen
    from tui.screens.verify import VerifyScreen

    app = make(PRESCRIBER)
    async with app.run_test(size=SIZE) as pilot:
        await open_patient(pilot, "001")
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, PrescribeScreen)
        await pilot.press("end", "ctrl+u")
        await type_text(pilot, "-1")
        await pilot.pause()
        assert "75 %" in screen_text(app)  # the doses shown are at level -1
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "needs a reason" in screen_text(app)  # level -1 is not what chemo next suggests (0)
        app.screen.query_one("#rx-reason").value = "frail: one level down from the start"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Prescription" in screen_text(app) and "signed by demo-prescriber" in screen_text(app)
    with _store(demo_db) as store:
        rows = store.query("SELECT r.dose_level, r.lines FROM prescriptions r JOIN plans p ON p.id = r.plan_id "
                           "JOIN patients x ON x.id = p.patient_id WHERE x.mrn = 'DEMO-001'")
        assert [json.loads(r["dose_level"]) for r in rows] == [-1]
        prescribed = {(x["drug"], x["day"]): x["dose_mg"] for x in json.loads(rows[0]["lines"])}

    app = make(PHARMACIST)
    async with app.run_test(size=SIZE) as pilot:
        await open_patient(pilot, "001")
        await pilot.press("v")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, VerifyScreen)
        assert screen.context.dose_level == -1 and screen.overall == "ok"  # the prescription, nothing typed
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SignSummaryScreen)
        summary = screen_text(app)
        assert "About to sign" in summary and "Prescription" in summary
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is screen and screen.signed

    with _store(demo_db) as store:
        from chemo.db import patients, plans

        patient = patients.by_mrn(store, "DEMO-001")
        plan = plans.active(store, patient["id"])
        regimen, _ = plan_regimen(plan)
        level = calculate_cycle(regimen, plan_body(plan, regimen), 1, -1)
        sheet = build(store, "DEMO-001", 1)
    assert {(a.drug, a.day): a.dose_mg for a in level.administrations} == prescribed
    table = next(s for s in sheet.sections if s.title.startswith("Administrations"))
    printed = {(r[1], int(r[0])): float(r[5]) for r in table.rows}
    assert printed == prescribed and not sheet.draft
    assert all(r[3] in ("75 %", "follows ifosfamide") for r in table.rows)
