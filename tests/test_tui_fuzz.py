"""A few hundred seeded random strings into every input: no crash, and no bad row saved."""

from __future__ import annotations

import random

from test_tui_support import NURSE, PHARMACIST, demo_db, demo_template, make, open_patient, type_text  # noqa: F401

SEED = 20260615
COUNT = 300

FRAGMENTS = [
    "mg", "g", "mg/m²", "mg/m2", "mg/m^2", "mg/kg", "m²", "×10⁹/L", "10^9/L", "x10^9/L", "/µL", "/uL", "G/L", "g/dL",
    "mmol/L", "µmol/L", "U/L", "%", "ULN", "× ULN", "kg", "cm", "lb", "ft", "in", "mL/min", "mL/min/1.73 m²",
    "1e308", "1e-308", "9" * 40, "nan", "inf", "-inf", "-", "+", ",", ".", "..", "e", "**", "^", "(", ")", "/", "*",
    "[bold]", "[/]", "[red]x[/red]", "\\", "'", '"', "\x00", "\t", "\x1b[31m", "🙂", "١٢٣", "Ⅻ", "０", "ﬁ", "\u200b",
    "\u202e", "DROP TABLE labs;--", "%s", "{}", "${x}", "day 1", "d1", "doxorubicin", "hb", "anc", "bilirubin",
    "G", "T/L", "m**999", "10**-999", "1,200", "0", "0.0", "000", "5 ft 7 in", "²", "³", "µ", "μ",
]


def random_strings(seed: int = SEED, count: int = COUNT) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        kind = rng.random()
        if kind < 0.15:  # random code points, any length
            out.append("".join(chr(rng.randint(0x20, 0x2FFF)) for _ in range(rng.randint(0, 120))))
            continue
        parts = []
        for _ in range(rng.randint(1, 5)):
            pick = rng.random()
            if pick < 0.4:
                parts.append(rng.choice([str(rng.randint(-10, 100000)), f"{rng.uniform(-5, 5000):.{rng.randint(0, 6)}f}",
                                         f"{rng.uniform(0, 10):g}e{rng.randint(-400, 400)}"]))
            elif pick < 0.9:
                parts.append(rng.choice(FRAGMENTS))
            else:
                parts.append(chr(rng.randint(0x20, 0x10FFF)))
        out.append(rng.choice(["", " "]).join(parts))
    return out


def put(field, text: str, rng: random.Random) -> None:
    """Half typed (the Input's own limits apply), half set outright (the engine's limits must hold)."""
    if rng.random() < 0.5:
        field.value = ""
        field.insert_text_at_cursor(text)
    else:
        field.value = text


def test_the_strings_are_seeded_and_varied():
    strings = random_strings()
    assert strings == random_strings() and len(strings) == COUNT
    assert len(set(strings)) > COUNT * 0.9 and any(len(s) > 80 for s in strings)


async def test_patient_search_takes_any_text(make):
    app = make()
    rng = random.Random(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        search = app.screen.query_one("#patient-search")
        for i, text in enumerate(random_strings(SEED + 1)):
            put(search, text, rng)
            if i % 50 == 0:
                await pilot.pause()
        await pilot.pause()
        await pilot.press("ctrl+u")
        await type_text(pilot, "[b]07")  # typed key by key, markup-looking
        await pilot.press("enter")
        await pilot.pause()
    assert app.return_code in (None, 0)


async def test_command_palette_takes_any_text(make):
    from textual.command import CommandPalette

    app = make()
    rng = random.Random(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        field = app.screen.query_one("CommandInput")
        for i, text in enumerate(random_strings(SEED + 5)):
            put(field, text, rng)
            if i % 60 == 0:
                await pilot.pause()
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
    assert app.return_code in (None, 0)


async def test_dose_inputs_take_any_text_and_never_sign(make, demo_db):
    from chemo.db import open_store

    app = make(PHARMACIST)
    rng = random.Random(SEED)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_patient(pilot, "001")
        await pilot.press("v")
        await pilot.pause()
        screen = app.screen
        fields = list(screen.query("PasteInput"))
        strings = random_strings(SEED + 2)
        statuses = {"ok", "review", "hard-stop", "unread"}
        for n, field in enumerate(fields):  # every line, every string: its inline validation and its verdict
            for text in strings:
                field.validate(text)
                texts = [""] * len(fields)
                texts[n] = text
                verdicts, overall = screen.session.check(texts)
                assert {v.status for v in verdicts} <= statuses and overall in statuses - {"unread"}
        level = screen.query_one("#dose-level")
        for text in strings + ["-1", "0", "ifosfamide=-2", "doxorubicin=-1, -1"]:  # the dose level too
            put(level, text, rng)
        await pilot.pause()
        assert len(screen.session.rows) == len(fields)
        for field in (fields[0], fields[-1]):  # and through the screen itself, as typed or set
            for text in strings:
                put(field, text, rng)
            await pilot.pause()
            assert len(screen.verdicts) == len(fields)
            assert {v.status for v in screen.verdicts} <= statuses
            await pilot.press("ctrl+s", "ctrl+s")
        from textual.events import Paste

        for text in random_strings(SEED + 3, 20):  # multi-line pastes
            fields[0].post_message(Paste(text + "\n" + text[::-1] + "\n\n" + text.upper()))
        await pilot.pause()
        await type_text(pilot, "1,2 mg")  # typed key by key into the focused line
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not screen.signed
    with open_store(demo_db, create=False) as store:
        assert store.query("SELECT * FROM signoffs s JOIN plans p ON p.id = s.plan_id JOIN patients x "
                           "ON x.id = p.patient_id WHERE x.mrn = 'DEMO-001'") == []


async def test_lab_inputs_take_any_text_and_save_only_valid_rows(make, demo_db):
    from chemo.records import parse_lab
    from chemo.db import open_store

    app = make(NURSE)
    rng = random.Random(SEED)
    analytes = ["hb", "anc", "platelets", "bilirubin", "alt", "egfr", "creatinine", "lvef"]
    async with app.run_test(size=(80, 24)) as pilot:
        await open_patient(pilot, "005")
        await pilot.press("n")
        await pilot.pause()
        screen = app.screen
        analyte, value, uln = (screen.query_one(f"#{f}") for f in ("lab-analyte", "lab-value", "lab-uln"))
        strings = random_strings(SEED + 4)
        for i, text in enumerate(strings):
            put(analyte, rng.choice(analytes) if rng.random() < 0.8 else text, rng)
            put(value, text, rng)
            put(uln, rng.choice(["", text, strings[(i + 7) % len(strings)], "40 U/L", "1.2 mg/dL"]), rng)
            screen.action_record()
            if i % 50 == 0:
                await pilot.pause()
        await pilot.pause()
    with open_store(demo_db, create=False) as store:
        rows = store.query("SELECT l.* FROM labs l JOIN patients p ON p.id = l.patient_id WHERE p.mrn = 'DEMO-005' "
                           "AND l.recorded_at = ?", ("2026-06-15T10:00:00",))
        baseline = store.query("SELECT count(*) AS n FROM labs l JOIN patients p ON p.id = l.patient_id "
                               "WHERE p.mrn = 'DEMO-005'")[0]["n"]
    assert baseline >= len(rows)
    for row in rows:  # every row saved re-reads as the same value through the engine
        again = parse_lab(row["analyte"], row["value_text"], row["uln_text"], row["range_text"])
        assert again["value"] == row["value"] and again["unit"] == row["unit"]
        assert len(row["value_text"]) <= 80
