"""The TUI as a pharmacist uses it (issue 12): the line being typed is marked and named, placeholders hold no
number, nothing a user needs is cut at 80×24, every key is named, and the sign-off message hides nothing."""

from __future__ import annotations

import re

import pytest

from test_tui_support import (  # noqa: F401
    NURSE, PHARMACIST, demo_db, demo_template, make, open_patient, paste_order, screen_text, type_text)

NAMED = re.compile(r"▶ Ordered dose for (\S+) day (\d+) \(calculated ([\d.]+) mg\)")
MARKED = re.compile(r"▶ d(\d+)\s+(\S+)\s+([\d.]+) mg")


async def _verify(pilot, mrn: str = "001"):
    from tui.screens.verify import VerifyScreen

    await open_patient(pilot, mrn)
    await pilot.press("v")
    await pilot.pause()
    assert isinstance(pilot.app.screen, VerifyScreen)
    return pilot.app.screen


def _shown(app) -> tuple[str, int]:
    """The drug and day the screen names above the table, checked against the one ▶ line of the table."""
    text = screen_text(app)
    named = NAMED.findall(text)
    marked = MARKED.findall(text)
    assert len(named) == 1 and len(marked) == 1, text
    drug, day, calculated = named[0]
    assert (marked[0][1], marked[0][0], marked[0][2]) == (drug, day, calculated), text
    return drug, int(day)


def _fields(screen) -> dict[tuple[str, int], str]:
    return {(a.drug, a.day): screen.query_one(f"#order-{i}").value for i, a in enumerate(screen.session.rows)}


async def test_a_dose_typed_lands_in_the_row_whose_drug_and_day_were_shown(make):
    app = make(PHARMACIST)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _verify(pilot)
        calculated = {(a.drug, a.day): a.dose_mg for a in screen.session.rows}
        typed: dict[tuple[str, int], str] = {}
        # the first line, then ↓, Enter, ↓, then ↑ back to the second line (typed again: replaced)
        for move in (None, "down", "enter", "down", "up"):
            if move:
                before = _shown(app)
                await pilot.press(move)
                await pilot.pause()
                assert _shown(app) != before, f"{move} did not move the focus"
            key = _shown(app)
            dose = f"{calculated[key]:g} mg"
            await pilot.press("ctrl+u")
            await type_text(pilot, dose)
            await pilot.pause()
            typed[key] = dose
            assert _fields(screen) == {k: typed.get(k, "") for k in calculated}
        assert list(typed) == [("doxorubicin", 1), ("ifosfamide", 1), ("mesna", 1), ("doxorubicin", 2)]
        by_key = {(v.drug, v.day): v.status for v in screen.verdicts}
        assert all(by_key[k] == "ok" for k in typed), by_key  # each the calculated dose of its own line


async def test_the_focused_line_stands_out_without_colour_and_with_it(make):
    from tui.screens.verify import DoseRow

    app = make(PHARMACIST)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _verify(pilot)
        await pilot.press("down")
        await pilot.pause()
        rows = list(screen.query(DoseRow))
        focused = [r for r in rows if r.has_class("-focused")]
        assert [r.index for r in focused] == [1]
        assert _shown(app) == ("ifosfamide", 1)  # in plain text: the ▶ marker and the line above the table
        assert focused[0].styles.background != rows[0].styles.background  # and a colour of its own
        await pilot.press("ctrl+l")  # the dose level: no dose line is marked, the line above says so
        await pilot.pause()
        text = screen_text(app)
        assert not MARKED.findall(text) and not any(r.has_class("-focused") for r in rows)
        assert "▶ Dose level:" in text


async def test_dose_placeholders_name_the_unit_and_hold_no_number(make):
    app = make(PHARMACIST)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _verify(pilot)
        fields = list(screen.query("PasteInput"))
        assert len(fields) == len(screen.session.rows) == 9
        for field in fields:
            assert field.placeholder == "dose in mg"
        assert "e.g." not in screen_text(app)
        await pilot.press("escape", "n")
        await pilot.pause()
        for field in app.screen.query("#lab-fields Input"):
            assert not re.search(r"\d", field.placeholder), field.placeholder


@pytest.mark.parametrize("size", [(80, 24), (60, 20)], ids=["80x24", "60x20"])
async def test_the_patients_name_and_mrn_are_whole_in_the_title(make, size):
    app = make(PHARMACIST)
    async with app.run_test(size=size) as pilot:
        await _verify(pilot, "001")
        assert "Verify doses · Demo Patient 01 (DEMO-001)" in screen_text(app).splitlines()[0]
        assert "demo-pharmacist" in screen_text(app).splitlines()[0]  # who signs stays in view
        await pilot.press("escape", "n")
        await pilot.pause()
        assert "Readiness · Demo Patient 01 (DEMO-001)" in screen_text(app).splitlines()[0]


def test_a_long_name_takes_a_second_line_rather_than_an_ellipsis():
    import datetime as dt
    from types import SimpleNamespace

    from tui.widgets.titlebar import TitleBar

    class Bar(TitleBar):
        app = SimpleNamespace(user_label="demo-pharmacist (pharmacist)", today=dt.date(2026, 6, 15))

    name = "María del Carmen Fernández-Gutiérrez de la Vega (MRN-0001234)"
    bar = Bar("Verify doses", name, essential=True)
    assert bar.line(140).plain.startswith("chemo · Verify doses · " + name)
    assert bar.line(140).plain.endswith("demo-pharmacist (pharmacist)  2026-06-15")
    # at 80 columns the screen's name goes before the patient's, and the user who signs stays
    assert bar.line(78).plain.startswith(name) and bar.line(78).plain.endswith("  demo-pharmacist")
    assert bar.line(40).plain == name  # wraps onto a second line: never "María del Carmen Fernán…"
    bar = Bar("Regimens", "every regimen file, checked")  # not essential: cut with an ellipsis
    assert bar.line(20).plain.endswith("…") and len(bar.line(20)) == 20


SCREENS = {  # screen: (mrn to open or None, key from the overview or the list, user)
    "patients": (None, None, PHARMACIST),
    "overview": ("022", None, PHARMACIST),
    "verify": ("001", "v", PHARMACIST),
    "readiness": ("005", "n", NURSE),
    "regimens": (None, "f3", PHARMACIST),
}


async def _go(pilot, screen: str) -> None:
    mrn, key, _user = SCREENS[screen]
    await pilot.pause()
    if mrn:
        await open_patient(pilot, mrn)
    if key:
        await pilot.press(key)
    await pilot.pause()


def _footer_keys(app) -> list:
    from textual.widgets._footer import FooterKey

    return [k for k in app.screen.query(FooterKey) if k.display]


@pytest.mark.parametrize("screen", list(SCREENS))
async def test_at_80x24_every_footer_key_is_whole_and_every_key_is_listed(make, screen):
    from tui.screens.keys import KeysScreen, key_rows

    app = make(SCREENS[screen][2])
    async with app.run_test(size=(80, 24)) as pilot:
        await _go(pilot, screen)
        keys = _footer_keys(app)
        dock = [k for k in keys if k.has_class("-keys")]
        assert len(dock) == 1 and dock[0].description == "Keys"
        footer = screen_text(app).splitlines()[-1]
        for key in keys:
            region = key.region
            assert region.right <= 80, (key.key, region)
            if key is not dock[0]:
                assert region.right <= dock[0].region.x, (key.key, region, dock[0].region)  # not under "Keys"
            assert f"{key.key_display} {key.description}" in footer, (key.key_display, footer)
        rows = key_rows(app.screen)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, KeysScreen)
        lines = screen_text(app).splitlines()
        for keys_text, words in rows:  # the keys, and their words beside them (long words wrap)
            assert any(f"{keys_text}  {words[:30]}" in line for line in lines), (keys_text, words)
        for key in keys:  # every key the footer shows is in the list, with its words
            assert any(key.key_display in k for k, _ in rows), key.key_display
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, KeysScreen)


async def test_the_patient_list_footer_shows_what_is_bound_there_and_each_key_works(make):
    from tui.screens.keys import KeysScreen
    from tui.screens.overview import OverviewScreen
    from tui.screens.patients import PatientListScreen
    from tui.screens.regimens import RegimenScreen

    app = make(PHARMACIST)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        shown = {k.key: k.description for k in _footer_keys(app)}
        assert shown == {"enter": "Open", "ctrl+f": "Search", "f3": "Regimens", "f1": "Keys"}
        footer = screen_text(app).splitlines()[-1]
        for word in ("Verify", "Readiness", "Regimen ", "Patients"):  # the overview's v/n/g, F2: not here
            assert word not in footer, footer
        # each shown key does what it says, here
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, KeysScreen)
        await pilot.press("escape")
        await pilot.press("down")  # to the list; the search takes the focus back with ctrl+f
        assert app.focused.id == "patient-table"
        shown = {k.key: k.description for k in _footer_keys(app)}  # Enter opens from the list too; "?" works
        assert shown == {"enter": "Open", "ctrl+f": "Search", "f3": "Regimens", "question_mark": "Keys"}
        await pilot.press("question_mark")  # "?" works where no field takes the typing
        await pilot.pause()
        assert isinstance(app.screen, KeysScreen)
        await pilot.press("escape", "ctrl+f")
        assert app.focused.id == "patient-search"
        await type_text(pilot, "012")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, PatientListScreen)
        await pilot.press("f3")
        await pilot.pause()
        assert isinstance(app.screen, RegimenScreen)


async def test_the_sign_off_message_is_above_the_table_and_hides_nothing(make):
    app = make(PHARMACIST)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:  # as in a terminal: toasts shown
        screen = await _verify(pilot)
        await paste_order(pilot, screen)
        assert screen.overall == "ok"
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("ctrl+s")  # the summary of what is signed: ctrl+s signs exactly that
        await pilot.pause()
        assert screen.signed
        status = screen.query_one("#verify-status")
        table = screen.query_one("#verify-rows")
        assert "signed off by demo-pharmacist (pharmacist)" in str(status.render())
        assert status.region.bottom <= table.region.y  # the message is a line above the table
        assert not list(app.screen.query("Toast"))  # and nothing lies over the table
        last = screen.query("DoseRow").last()  # the lower right of the table: the last line's verdict
        table.scroll_end(animate=False)
        await pilot.pause()
        line = next(line for line in screen_text(app).splitlines() if f"d{last.a.day}  {last.a.drug}" in line)
        assert line.rstrip(" │").endswith("[OK]"), line


async def test_the_nurses_sign_off_is_on_the_verdict_line_not_over_the_table(make):
    app = make(NURSE)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await open_patient(pilot, "001")  # ready
        await pilot.press("n")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        verdict = app.screen.query_one("#ready-verdict")
        assert "readiness signed off by demo-nurse" in str(verdict.render())
        assert verdict.region.bottom <= app.screen.query_one("#ready-table").region.y
        assert not list(app.screen.query("Toast"))


async def test_a_search_typed_fast_then_enter_opens_the_patient_searched(make):
    """Keys arriving in one burst (a fast typist, a paste, a terminal multiplexer): Enter opens what the search
    as typed found, never the row highlighted before the last keys were handled."""
    from test_tui_support import burst

    app = make(PHARMACIST)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        for mrn in ("017", "005"):
            await burst(pilot, *mrn, "enter")
            await pilot.pause()
            assert f"MRN DEMO-{mrn}" in screen_text(app), screen_text(app).splitlines()[:2]
            await pilot.press("escape", "ctrl+f", "ctrl+u")


async def test_the_new_lab_box_names_the_field_being_typed(make):
    app = make(NURSE)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_patient(pilot, "005")
        await pilot.press("n")
        await pilot.pause()
        assert "╭─ New lab (ctrl+l) ─" in screen_text(app)  # the table has the focus
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert app.focused.id == "lab-analyte" and "╭─ New lab · ▶ analyte ─" in screen_text(app)
        await pilot.press("tab")
        await pilot.pause()
        assert app.focused.id == "lab-value" and "╭─ New lab · ▶ value with its unit ─" in screen_text(app)


async def test_a_burst_of_doses_and_arrows_fills_each_line_with_its_own_dose(make):
    """A pharmacist types each line's dose and ↓ faster than the screen answers (every key queued before the
    first is handled): each dose lands in its own line, none in the line above."""
    from test_tui_support import burst

    app = make(PHARMACIST)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _verify(pilot)
        rows = [(a.drug, a.day) for a in screen.session.rows][:4]
        doses = {key: f"{100 + i} mg" for i, key in enumerate(rows)}
        keys = []
        for i, key in enumerate(rows):
            keys += ["ctrl+u", *doses[key]] + (["down"] if i < len(rows) - 1 else [])
        await burst(pilot, *keys)
        assert {k: v for k, v in _fields(screen).items() if k in doses} == doses
