"""Pilot-driven walks through every flow of the TUI on the demo database (issue 5)."""

from __future__ import annotations

import json

import pytest

from test_tui_support import (  # noqa: F401
    demo_db_on_engine, NURSE, PHARMACIST, TODAY, demo_template, freeze, make, open_patient, paste_order, screen_text, type_text)

SIZE = (100, 32)


# What the screen does with what it reads runs on one engine (the engine functions the screens call are tested on
# both, tests/test_*.py); the flows that sign, record labs or give doses through the screens run on both.
ONE_ENGINE = pytest.mark.parametrize("engine", ["sqlite"])


@pytest.fixture
def demo_db(demo_db_on_engine):
    """This test's copy of the demo record, on SQLite and on PostgreSQL, with the clock frozen."""
    return demo_db_on_engine


def _store(path):
    from chemo.db import open_store

    return open_store(path, create=False)


def _signoffs(path, mrn: str) -> list[dict]:
    with _store(path) as store:
        return store.query("SELECT s.cycle, s.check_kind, s.login FROM signoffs s JOIN plans p ON p.id = s.plan_id "
                           "JOIN patients x ON x.id = p.patient_id WHERE x.mrn = ? AND p.status = 'active' "
                           "ORDER BY s.id", (mrn,))


def _audit_actions(path) -> list[str]:
    with _store(path) as store:
        return [r["action"] for r in store.query("SELECT action FROM audit ORDER BY id")]


@ONE_ENGINE
async def test_find_a_patient_by_name_and_by_mrn(make):
    from tui.screens.overview import OverviewScreen
    from tui.screens.patients import PatientListScreen

    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, PatientListScreen)
        table = app.screen.query_one("#patient-table")
        assert table.row_count == 24
        await type_text(pilot, "ent 07")
        assert table.row_count == 1
        text = screen_text(app)
        assert "DEMO-007" in text and "1 of 24 patients match 'ent 07'" in text
        await pilot.press("ctrl+u")
        await type_text(pilot, "o-012")
        assert table.row_count == 1 and "DEMO-012" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)
        text = screen_text(app)
        assert "Demo Patient 12" in text and "MRN DEMO-012" in text
        assert "BSA" in text and "mosteller" in text and "Cumulative anthracycline" in text
        await pilot.press("escape")
        await type_text(pilot, "zz")
        assert table.row_count == 0
        assert "0 of 24 patients match" in screen_text(app)
        await pilot.press("enter")  # nothing to open: a bell, not a crash
        assert isinstance(app.screen, PatientListScreen)


@ONE_ENGINE
async def test_overview_shows_cycles_recalculate_and_gauge(make):
    app = make()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_patient(pilot, "022")  # cycle 1 given 21 days ago
        text = screen_text(app)
        assert "C1 [GIVEN]" in text and "C2 [DUE] due today" in text and "C3 [PLANNED]" in text
        assert "given 75" in text and "after cycle 2 151" in text and "cap 450" in text
        assert "seed-003-cap-ratio" in text
        await pilot.press("escape")
        await pilot.press("ctrl+u")
        await open_patient(pilot, "020")  # weight 12 % below the dosing weight
        text = screen_text(app)
        assert "[RECALCULATE]" in text and "differs from the dosing weight" in text


async def _open_verify(pilot, app, mrn):
    from tui.screens.verify import VerifyScreen

    await open_patient(pilot, mrn)
    await pilot.press("v")
    await pilot.pause()
    assert isinstance(app.screen, VerifyScreen)
    return app.screen


@ONE_ENGINE
async def test_ten_fold_error_is_stopped_and_a_correct_order_is_signed(make, demo_db):
    app = make(PHARMACIST)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_verify(pilot, app, "DEMO-001")
        first = screen.session.rows[0]
        assert (first.drug, first.day) == ("doxorubicin", 1)
        ten_fold = f"{first.dose_mg * 10:g} mg"
        await type_text(pilot, ten_fold)  # the first line has the focus
        await paste_order(pilot, screen, skip=(0,))  # every other line as calculated, pasted by name
        assert screen.query_one("#order-0").value == ten_fold
        assert screen.verdicts[0].status == "hard-stop"
        assert "decimal-error" in screen.verdicts[0].reasons
        assert all(v.status == "ok" for v in screen.verdicts[1:])
        text = screen_text(app)
        assert "[HARD STOP]" in text and "ten-fold error" in text
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Cannot sign: hard stop on doxorubicin day 1" in screen_text(app)
        assert _signoffs(demo_db, "DEMO-001") == []
        # the pharmacist corrects the line: the verdict changes as they type, then the sign-off is accepted
        await pilot.press("ctrl+u")
        await type_text(pilot, f"{first.dose_mg:g} mg")
        await pilot.pause()
        assert screen.overall == "ok"
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("ctrl+s")  # the summary of what is signed: ctrl+s signs exactly that
        await pilot.pause()
        assert screen.signed
        assert "signed off by demo-pharmacist (pharmacist)" in screen_text(app)
        # signed: the ordered doses and the level are read-only (no [HARD STOP] under [SIGNED])
        assert all(field.disabled for field in screen.query("PasteInput"))
        assert screen.query_one("#dose-level").disabled
        await pilot.press("0")
        await pilot.pause()
        assert screen.query_one("#order-0").value == f"{first.dose_mg:g} mg"
        assert "[HARD STOP]" not in screen_text(app) and "[SIGNED]" in screen_text(app)
    assert _signoffs(demo_db, "DEMO-001") == [{"cycle": 1, "check_kind": "dose", "login": PHARMACIST}]
    actions = _audit_actions(demo_db)
    assert actions[-1] == "signoff.dose"  # one row: the sign-off and the ordered lines together


async def test_a_review_line_is_never_signed_as_another_dose_and_a_prescribed_one_needs_its_reason(make, demo_db):
    """Issue 18: a dose typed 8 % over, without a prescription, was signed (and given) as the calculated dose.
    Now it is not signed; prescribed with a reason, the summary asks the pharmacist's reason and the
    sign-off holds the prescribed mg."""
    from chemo.demo import PRESCRIBER
    from chemo.prescription import prescribe
    from tui.screens.signing import SignSummaryScreen

    app = make(PHARMACIST)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_verify(pilot, app, "001")
        first = screen.session.rows[0]
        over = round(first.dose_mg * 1.08)
        await paste_order(pilot, screen, {0: f"{over} mg"})  # 8 % over: review
        assert screen.verdicts[0].status == "review", screen.verdicts[0]
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not screen.signed and not isinstance(app.screen, SignSummaryScreen)
        assert "NOT SIGNED" in screen_text(app) and "must be prescribed" in " ".join(screen_text(app).split())
    assert _signoffs(demo_db, "DEMO-001") == []
    with _store(demo_db) as store:
        prescribe(store, PRESCRIBER, "DEMO-001", 1, lines=(f"{first.drug} {first.day} {over} mg",),
                  reason="rounded up to whole vials")
    app = make(PHARMACIST)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_verify(pilot, app, "001")
        assert screen.verdicts[0].status == "review"  # the prescription's line, nothing typed
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SignSummaryScreen)
        await pilot.press("ctrl+s")  # no reason yet
        await pilot.pause()
        assert isinstance(app.screen, SignSummaryScreen) and "needs a reason" in screen_text(app)
        await type_text(pilot, "vial rounding agreed with the prescriber")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert screen.signed
    assert _signoffs(demo_db, "DEMO-001") == [{"cycle": 1, "check_kind": "dose", "login": PHARMACIST}]
    with _store(demo_db) as store:
        detail = json.loads(store.one("SELECT detail FROM signoffs ORDER BY id DESC LIMIT 1")["detail"])
    assert detail["doses"][0]["dose_mg"] == over
    assert detail["prescription"]["accepted"][0]["reason"] == "vial rounding agreed with the prescriber"


async def test_a_reduced_dose_level_is_verified_and_signed_at_that_level(make, demo_db):
    app = make(PHARMACIST)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_verify(pilot, app, "001")
        full = screen.session.rows[0].dose_mg
        await pilot.press("shift+tab")  # the dose level field, before the first line (also ctrl+l)
        assert app.focused.id == "dose-level"
        await pilot.press("ctrl+u")
        await type_text(pilot, "doxorubicin=-9")  # no such level: an inline message, doses unchanged
        await pilot.pause()
        assert "no level below" in screen_text(app) and screen.session.rows[0].dose_mg == full
        await pilot.press("backspace")
        await type_text(pilot, "1")
        await pilot.pause()
        assert screen.context.dose_level == {"doxorubicin": -1, "ifosfamide": 0}
        reduced = screen.session.rows[0]
        assert reduced.level == "75 %" and reduced.dose_mg < full
        await paste_order(pilot, screen)
        assert screen.overall == "ok"
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("ctrl+s")  # the summary of what is signed: ctrl+s signs exactly that
        await pilot.pause()
        assert screen.signed
    with _store(demo_db) as store:
        detail = json.loads(store.one("SELECT detail FROM signoffs ORDER BY id DESC LIMIT 1")["detail"])
    assert detail["dose_level"] == {"doxorubicin": -1, "ifosfamide": 0}
    assert detail["doses"][0]["level"] == "75 %"


@ONE_ENGINE
async def test_per_m2_order_pasted_line_by_line(make):
    app = make(PHARMACIST)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_verify(pilot, app, "DEMO-003")  # doxorubicin + dacarbazine, day 1
        rows = screen.session.rows
        assert [(a.drug, a.day) for a in rows] == [("doxorubicin", 1), ("dacarbazine", 1)]
        from textual.events import Paste

        field = screen.query_one("#order-0")
        # named lines go to their rows whatever the order; the dacarbazine line is in mg/m² (basis confusion)
        field.post_message(Paste(f"dacarbazine day 1 {rows[1].dose_mg:g} mg/m²\ndoxorubicin d1 {rows[0].dose_mg:g} mg"))
        await pilot.pause()
        assert screen.query_one("#order-0").value == f"{rows[0].dose_mg:g} mg"
        assert screen.verdicts[0].status == "ok"
        assert screen.verdicts[1].status == "hard-stop" and "basis-confusion" in screen.verdicts[1].reasons


async def test_cap_stands_refuses_the_sign_off(make, demo_db):
    from chemo.records import add_prior

    with _store(demo_db) as store:  # 400 mg/m² before: cycle 1 (75 mg/m²) would pass the 450 mg/m² cap
        add_prior(store, "demo-prescriber", "DEMO-001", "doxorubicin", "400 mg/m²", note="test")
    app = make(PHARMACIST)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_verify(pilot, app, "DEMO-001")
        assert screen.context.cycle == 1
        await paste_order(pilot, screen)
        assert screen.overall == "ok"
        assert "the cap stands" in screen_text(app)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not screen.signed
        assert "the cap stands" in screen_text(app)
    assert _signoffs(demo_db, "DEMO-001") == []


@ONE_ENGINE
async def test_a_signed_cycle_is_shown_signed_and_not_signed_again(make, demo_db):
    app = make(PHARMACIST)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_verify(pilot, app, "DEMO-024")  # cycle 1 signed with an override, day 1 given
        assert screen.context.cycle == 1 and screen.signed
        assert "Signed off by demo-pharmacist" in screen_text(app)
        await paste_order(pilot, screen)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "already signed off" in screen_text(app)
    assert [s["cycle"] for s in _signoffs(demo_db, "DEMO-024")] == [1, 1]


@ONE_ENGINE
async def test_a_nurse_cannot_sign_doses(make, demo_db):
    app = make(NURSE)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_verify(pilot, app, "DEMO-001")
        await paste_order(pilot, screen)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not screen.signed
        assert "needs a pharmacist" in screen_text(app)
    assert _signoffs(demo_db, "DEMO-001") == []


async def test_failing_lab_then_passing_lab_then_nurse_signs(make, demo_db):
    from tui.screens.readiness import ReadinessScreen

    app = make(NURSE)
    async with app.run_test(size=SIZE) as pilot:
        await open_patient(pilot, "005")  # haemoglobin 8.4 g/dL
        await pilot.press("n")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReadinessScreen)
        assert not screen.data.ready
        assert "NOT READY for cycle 1: hemoglobin fail" in screen_text(app)
        await pilot.press("ctrl+s")  # refused while a gate fails
        await pilot.pause()
        assert "Sign-off refused" in screen_text(app)
        # a value without a unit: an inline message, nothing stored
        await pilot.press("ctrl+l")
        await type_text(pilot, "hb")
        await pilot.press("tab")
        await type_text(pilot, "9.5")
        await pilot.press("enter")
        await pilot.pause()
        assert "not recorded" in screen_text(app) and "has no unit" in screen_text(app)
        # a failing result
        await pilot.press("ctrl+u")
        await type_text(pilot, "8.6 g/dL")
        await pilot.press("enter")
        await pilot.pause()
        assert not screen.data.ready
        row = next(r for r in screen.data.rows if r.analyte == "hemoglobin")
        assert (row.entered, row.status) == ("8.6 g/dL", "fail")
        # a passing one, in another unit: the verdict changes
        await type_text(pilot, "5.9 mmol/L")
        await pilot.press("enter")
        await pilot.pause()
        row = next(r for r in screen.data.rows if r.analyte == "hemoglobin")
        assert (row.entered, row.status, row.threshold) == ("5.9 mmol/L", "pass", "> 9.0 g/dL")
        assert screen.data.ready
        assert "READY for cycle 1" in screen_text(app)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "readiness signed off by demo-nurse (nurse)" in screen_text(app)
    assert _signoffs(demo_db, "DEMO-005") == [{"cycle": 1, "check_kind": "readiness", "login": NURSE}]
    with _store(demo_db) as store:
        labs = store.query("SELECT value_text FROM labs l JOIN patients p ON p.id = l.patient_id "
                           "WHERE p.mrn = 'DEMO-005' AND analyte = 'hemoglobin' ORDER BY l.id")
    assert [r["value_text"] for r in labs] == ["8.4 g/dL", "8.6 g/dL", "5.9 mmol/L"]


@ONE_ENGINE
async def test_browse_a_regimen_and_jump_with_the_palette(make):
    from tui.screens.overview import OverviewScreen
    from tui.screens.regimens import RegimenScreen

    app = make()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("f3")
        await pilot.pause()
        assert isinstance(app.screen, RegimenScreen)
        assert [e.valid for e in app.screen.entries] == [True] * 4
        await pilot.press("down")
        await pilot.pause()
        assert app.screen.current.id == "doxorubicin-ifosfamide"
        text = screen_text(app)
        assert "[VALID] Doxorubicin + ifosfamide (AI)" in text and "9 g/m²" in text and "> 1.5 ×10⁹/L" in text
        # the command palette jumps to a regimen ...
        await pilot.press("ctrl+p")
        await type_text(pilot, "anlo")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.current.id == "pld-ifosfamide-anlotinib"
        # ... and to a patient
        await pilot.press("ctrl+p")
        await type_text(pilot, "ent 09")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)
        assert "MRN DEMO-009" in screen_text(app)


@ONE_ENGINE
async def test_an_invalid_regimen_file_is_listed_with_its_problems(make, tmp_path, monkeypatch, mutated):
    from tui.screens.regimens import RegimenScreen

    folder = tmp_path / "regimens"
    folder.mkdir()
    import shutil

    from chemo.library import regimens_dir

    shutil.copytree(regimens_dir() / "library", folder / "library")
    bad = mutated("doxorubicin-ifosfamide", ('dose = "75 mg/m²"', 'dose = "75 mg/m³"'), name="broken")
    shutil.copy(bad, folder / "broken.toml")
    monkeypatch.setenv("CHEMO_REGIMENS", str(folder))
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("f3")
        await pilot.pause()
        assert isinstance(app.screen, RegimenScreen)
        text = screen_text(app)
        assert "[INVALID]" in text and "broken" in text
        assert "problem" in text


async def test_a_configured_database_that_does_not_exist_is_not_created(tmp_path, monkeypatch):
    from tui.app import make_app

    monkeypatch.delenv("CHEMO_DB", raising=False)
    missing = tmp_path / "typo.db"
    app = make_app(db_path=missing, user="someone", today=TODAY)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "no database at" in screen_text(app)
    assert not missing.exists()


async def test_a_database_that_cannot_be_opened_is_one_message(tmp_path, monkeypatch):
    from tui.app import make_app

    monkeypatch.delenv("CHEMO_DB", raising=False)
    app = make_app(db_path=tmp_path, user="someone", today=TODAY)  # a folder, not a database
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = " ".join(screen_text(app).split())  # the words, wherever the folder's path made the line wrap
        assert "No patient record" in text and "is a folder" in text
        await pilot.press("f3")  # the regimen browser still works
        await pilot.pause()
        assert "[VALID]" in screen_text(app)


async def test_the_demo_database_is_built_on_first_run(tmp_path, monkeypatch):
    from tui.app import make_app

    from test_tui_support import freeze

    freeze(monkeypatch)
    target = tmp_path / "data" / "demo.db"
    app = make_app(db_path=target, user=PHARMACIST, today=TODAY, demo=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert target.exists()
        assert app.screen.query_one("#patient-table").row_count >= 20
        assert "demo database demo.db" in screen_text(app)
    assert not list(target.parent.glob("*.building*"))


@ONE_ENGINE
async def test_an_unregistered_user_is_told_before_signing(make):
    app = make("visitor")
    async with app.run_test(size=(100, 24)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "visitor (not registered)" in text and "sign-offs are refused" in text and "demo-pharmacist" in text


def test_make_app_without_a_database_uses_the_demo(monkeypatch):
    from tui.app import make_app

    monkeypatch.delenv("CHEMO_DB", raising=False)
    assert make_app().demo is True
    assert make_app(db_path="x.db").demo is False
    monkeypatch.setenv("CHEMO_DB", "y.db")
    assert make_app().demo is False


def test_chemo_help_lists_tui_without_importing_textual():
    import subprocess
    import sys

    code = ("import sys\nfrom click.testing import CliRunner\nfrom chemo.cli import cli\n"
            "r = CliRunner().invoke(cli, ['--help'])\nassert r.exit_code == 0, r.output\n"
            "assert 'tui' in r.output, r.output\nassert 'textual' not in sys.modules\n"
            "import chemo.verify, chemo.treatment, chemo.readiness\nassert 'textual' not in sys.modules\nprint('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_tui_command_help(runner, chemo_cli):
    result = runner.invoke(chemo_cli, ["tui", "--help"])
    assert result.exit_code == 0
    assert "--db" in result.output and "--user" in result.output


def test_tui_command_refuses_a_bad_login_in_one_line(runner, chemo_cli):
    result = runner.invoke(chemo_cli, ["tui", "--user", "no such login!"])
    assert result.exit_code == 2
    assert "is not a login" in result.output and "Traceback" not in result.output


def test_the_demo_database_is_one_per_day_and_regimen_version(tmp_path, monkeypatch):
    """Yesterday's demo has stale labs and an edited regimen file changes every plan's hash:
    the default demo path changes with either, so a new demo is built."""
    import datetime as dt

    from tui.backend import demo_path

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    today, tomorrow = demo_path(dt.date(2026, 6, 15)), demo_path(dt.date(2026, 6, 16))
    assert today != tomorrow and today.parent == tomorrow.parent
    assert today.name.startswith("demo-2026-06-15-") and today.suffix == ".db"
