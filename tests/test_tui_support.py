"""Shared helpers of the TUI tests (no tests here): a frozen clock, the demo database, text captures.

The demo database is built once per session, with the clinic clock frozen at
``FROZEN``, into a template file; every test copies it into its own
``tmp_path`` and runs the app with ``today = FROZEN.date()`` and the clock
still frozen, so every date, age and snapshot is the same on every run.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
from pathlib import Path

import pytest

FROZEN = dt.datetime(2026, 6, 15, 10, 0, 0)
TODAY = FROZEN.date()
CLOCK_MODULES = ("chemo.db.store", "chemo.demo", "chemo.readiness", "chemo.records", "chemo.roles", "chemo.treatment",
                 "chemo.prescription", "chemo.calendar")
PHARMACIST, NURSE = "demo-pharmacist", "demo-nurse"


def freeze(mp: pytest.MonkeyPatch) -> None:
    """Every ``now_local`` of the record modules returns ``FROZEN``."""
    import importlib

    # import them all first: a module imported while chemo.db.store.now_local is patched
    # would bind the frozen clock as its own, and monkeypatch would "restore" that
    modules = [importlib.import_module(name) for name in CLOCK_MODULES]
    for module in modules:
        mp.setattr(module, "now_local", lambda: FROZEN)
    mp.setattr(modules[0], "CLOCK", lambda: FROZEN)  # the record's one clock, which chemo.calendar reads


def build_template(directory: Path) -> Path:
    from chemo.demo import build_demo
    from chemo.db import open_store

    path = directory / "demo-template.db"
    with pytest.MonkeyPatch.context() as mp:
        freeze(mp)
        with open_store(path) as store:
            build_demo(store)
    return path


_TEMPLATE: list = []  # built once per test process, whichever TUI test module asks first


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    if not _TEMPLATE:
        _TEMPLATE.append(build_template(tmp_path_factory.mktemp("tui-demo")))
    return _TEMPLATE[0]


@pytest.fixture
def demo_db(demo_template, tmp_path, monkeypatch) -> Path:
    """A fresh copy of the demo database for this test, with the clock frozen."""
    freeze(monkeypatch)
    monkeypatch.delenv("CHEMO_DB", raising=False)
    monkeypatch.delenv("CHEMO_USER", raising=False)
    target = tmp_path / "demo.db"
    shutil.copyfile(demo_template, target)
    return target


@pytest.fixture
def demo_db_on_engine(demo_template, engine, tmp_path, request, monkeypatch):
    """This test's copy of the demo record on the test's engine (SQLite and PostgreSQL), with the clock frozen.
    A module whose record tests run on both engines names it its ``demo_db``."""
    from conftest import clone_db

    freeze(monkeypatch)
    monkeypatch.delenv("CHEMO_DB", raising=False)
    monkeypatch.delenv("CHEMO_USER", raising=False)
    return clone_db(demo_template, engine, tmp_path, request, "demo.db")


@pytest.fixture
def make(demo_db):
    """``make(user)``: the app on this test's demo database, on the frozen day."""
    from tui.app import make_app

    def build(user: str = PHARMACIST):
        return make_app(db_path=demo_db, user=user, today=TODAY, demo=False)

    return build


def screen_text(app) -> str:
    """The screen as plain text (what the snapshot shows, without colour)."""
    from rich.console import Console

    console = Console(width=app.size.width, height=app.size.height, file=io.StringIO(), record=True,
                      color_system=None, legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


KEY_NAMES = {"-": "minus", " ": "space", ".": "full_stop", "/": "slash"}  # the key names of characters typed here


async def type_text(pilot, text: str) -> None:
    """Text typed as a fast typist types it: every key queued before the first is handled (:func:`burst`)."""
    await burst(pilot, *text)


def key_name(character: str) -> str:
    """The name Textual gives the key of a character: itself for a letter or digit, else its Unicode name
    (``minus`` and the others of KEY_NAMES as Textual shortens them)."""
    import unicodedata

    if character.isalnum():
        return character
    return KEY_NAMES.get(character) or unicodedata.name(character, "unknown").lower().replace("-", "_").replace(" ", "_")


async def burst(pilot, *keys: str) -> None:
    """Keys as a terminal hands them over when they come faster than the screen answers (a fast typist, a key
    held down, a scanner): all queued at once, then one pause.  ``Pilot.press`` waits for each key to be
    handled before the next, which hides a key overtaking another.  A key is a character (``"D"``, ``"-"``)
    or a key name (``"backspace"``, ``"enter"``)."""
    from textual import events

    for key in keys:
        if len(key) == 1:
            pilot.app.post_message(events.Key(key_name(key), key))
        else:
            pilot.app.post_message(events.Key(key, {"enter": "\r"}.get(key)))
    await pilot.pause()


async def open_patient(pilot, mrn: str) -> None:
    """Search the patient list for ``mrn`` (its number is enough: ``"022"``) and open the one match."""
    await type_text(pilot, mrn)
    await pilot.press("enter")
    await pilot.pause()


def order_text(screen, changes: dict | None = None) -> str:
    """The order of the verify screen's cycle as a prescriber writes it, one named line per dose
    (``doxorubicin day 1 47 mg``); ``changes`` replaces the dose of some rows: {row index: "470 mg"}."""
    changes = changes or {}
    return "\n".join(f"{a.drug} day {a.day} {changes.get(i, f'{a.dose_mg:g} mg')}"
                     for i, a in enumerate(screen.session.rows))


async def paste_order(pilot, screen, changes: dict | None = None, skip: tuple = ()) -> None:
    """Paste the order into the first dose line (a multi-line paste fills one row per line)."""
    from textual.events import Paste

    lines = [line for i, line in enumerate(order_text(screen, changes).splitlines()) if i not in skip]
    screen.query_one("#order-0").post_message(Paste("\n".join(lines)))
    await pilot.pause()
