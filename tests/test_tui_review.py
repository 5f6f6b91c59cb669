"""Pilot walks for the review's findings: signed levels, dose-modification bands, read-only signed cycles and
typing on the patient list."""

from __future__ import annotations

import json

from test_tui_support import (  # noqa: F401
    NURSE, PHARMACIST, demo_db, demo_template, make, open_patient, paste_order, screen_text, type_text)


def _store(path):
    from chemo.db import open_store

    return open_store(path, create=False)


def _bilirubin_in_the_50_percent_band(path) -> None:
    """DEMO-012 (doxorubicin + dacarbazine) ready, with bilirubin in the band 'doxorubicin give 50 %'."""
    from chemo.records import add_lab

    with _store(path) as store:
        add_lab(store, NURSE, "DEMO-012", "bilirubin", "22 µmol/L", uln="26 µmol/L")


def _dose_signoff(path) -> dict | None:
    with _store(path) as store:
        row = store.one("SELECT s.detail FROM signoffs s JOIN plans p ON p.id = s.plan_id JOIN patients x "
                        "ON x.id = p.patient_id WHERE x.mrn = 'DEMO-012' AND s.check_kind = 'dose'")
    return json.loads(row["detail"]) if row else None


async def test_a_cycle_signed_at_a_reduced_level_is_shown_at_that_level_and_read_only(make, demo_db):
    from chemo.treatment import signoff

    _bilirubin_in_the_50_percent_band(demo_db)
    with _store(demo_db) as store:
        signoff(store, PHARMACIST, "DEMO-012", 1, "dose", dose_level={"doxorubicin": -2})
    signed = {(d["drug"], d["day"]): d["dose_mg"] for d in _dose_signoff(demo_db)["doses"]}
    app = make(PHARMACIST)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_patient(pilot, "DEMO-012")
        await pilot.press("v")
        await pilot.pause()
        screen = app.screen
        assert screen.signed and screen.context.dose_level == {"doxorubicin": -2}  # as the sign-off recorded it
        assert {(a.drug, a.day): a.dose_mg for a in screen.session.rows} == signed
        doxorubicin = screen.session.rows[0]
        assert doxorubicin.drug == "doxorubicin" and doxorubicin.level == "50 %"
        text = screen_text(app)
        assert "[SIGNED]" in text and "doxorubicin=-2" in text and f"{doxorubicin.dose_mg:g} mg" in text
        # opened signed: the ordered doses and the level are read-only
        assert all(field.disabled for field in screen.query("PasteInput"))
        assert screen.query_one("#dose-level").disabled
        await pilot.press("4", "7", "0")
        await pilot.pause()
        assert all(field.value == "" for field in screen.query("PasteInput"))
        assert "[HARD STOP]" not in screen_text(app)


async def test_a_modification_band_is_shown_to_the_nurse_and_on_the_patient_list(make, demo_db):
    _bilirubin_in_the_50_percent_band(demo_db)
    app = make(NURSE)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        row = next(line for line in screen_text(app).splitlines() if "DEMO-012" in line)
        assert "[READY·MODIFY]" in row, row
        await open_patient(pilot, "DEMO-012")
        await pilot.press("n")
        await pilot.pause()
        head = "\n".join(screen_text(app).splitlines()[:5])  # the top of the screen, at 80×24
        assert "[READY·MODIFY]" in head
        assert "READY — DOSE MODIFICATION APPLIES (doxorubicin give 50 %)" in " ".join(head.split()), head
        assert "every threshold passes" in " ".join(screen_text(app).split())


async def test_a_modification_band_refuses_the_sign_off_and_offers_the_level(make, demo_db):
    _bilirubin_in_the_50_percent_band(demo_db)
    app = make(PHARMACIST)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_patient(pilot, "DEMO-012")
        await pilot.press("v")
        await pilot.pause()
        screen = app.screen
        text = " ".join(screen_text(app).split())
        assert "DOSE MODIFICATION APPLIES: doxorubicin: give 50 %" in text  # the band, before signing
        assert "NOT met at this dose level" in text
        await paste_order(pilot, screen)  # every line as calculated at full dose
        assert screen.overall == "ok"
        assert "[OK]" not in screen_text(app).split("\n", 4)[3]  # the overall badge does not look signable
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not screen.signed and _dose_signoff(demo_db) is None
        text = " ".join(screen_text(app).split())
        assert "[REFUSED]" in text and "SIGN-OFF REFUSED: a dose modification applies" in text
        assert "override from the command line: chemo signoff DEMO-012 --cycle 1 --check dose" in text
        assert "--override-reason" in text and "ctrl+l sets the dose level the engine names: doxorubicin=-2" in text
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert app.focused.id == "dose-level" and app.focused.value == "doxorubicin=-2"
        assert screen.context.dose_level == {"doxorubicin": -2, "dacarbazine": 0}
        assert screen.session.rows[0].level == "50 %"
        await paste_order(pilot, screen)
        assert screen.overall == "ok"
        assert "met at this dose level" in screen_text(app) and "[REFUSED]" not in screen_text(app)
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("ctrl+s")  # the summary of what is signed: ctrl+s signs exactly that
        await pilot.pause()
        assert screen.signed
        # signed: the ordered doses are read-only, an edit cannot put a [HARD STOP] under [SIGNED]
        assert all(field.disabled for field in screen.query("PasteInput"))
        await paste_order(pilot, screen, {0: "470 mg"})
        assert "[HARD STOP]" not in screen_text(app) and "[SIGNED]" in screen_text(app)
    assert _dose_signoff(demo_db)["dose_level"] == {"doxorubicin": -2, "dacarbazine": 0}


async def test_the_engine_refusal_of_a_sign_off_is_shown_with_the_command_line(make, demo_db, monkeypatch):
    """Should the engine refuse what the screen's own checks passed (a change in between), the refusal is
    shown the same way: never an [OK] that looks signable."""
    from types import SimpleNamespace

    from tui.backend import Backend

    _bilirubin_in_the_50_percent_band(demo_db)
    nothing = SimpleNamespace(problems=(), bands=())  # the screen's own check sees no problem
    monkeypatch.setattr(Backend, "sign_check", lambda self, context, session: nothing, raising=False)
    app = make(PHARMACIST)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_patient(pilot, "DEMO-012")
        await pilot.press("v")
        await pilot.pause()
        screen = app.screen
        await paste_order(pilot, screen)
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("ctrl+s")  # the summary of what is signed: ctrl+s signs exactly that
        await pilot.pause()
        assert not screen.signed
        text = " ".join(screen_text(app).split())
        assert "[REFUSED]" in text and "[OK] 2 ok" not in text
        assert "SIGN-OFF REFUSED" in text and "chemo signoff DEMO-012 --cycle 1 --check dose" in text
        assert "ctrl+l sets the dose level the engine names: doxorubicin=-2" in text


async def test_typing_on_the_patient_table_searches(make):
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("f2", "down")
        assert app.focused.id == "patient-table"
        await type_text(pilot, "DEMO-012")
        await pilot.pause()
        assert app.focused.id == "patient-search" and app.focused.value == "DEMO-012"
        assert app.screen.query_one("#patient-table").row_count == 1
        await pilot.press("enter")
        await pilot.pause()
        assert "MRN DEMO-012" in screen_text(app)
