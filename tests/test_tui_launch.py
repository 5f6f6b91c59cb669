"""The TUI's path to its first screen (issue 11): what it reads, imports and caches.

The launch figure itself is a benchmark (benchmarks/bench_tui.py); these tests check that the
faster path reads the same record, checks it as strictly, and imports no more than it needs.
"""

from __future__ import annotations

import gc
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from test_tui_support import PHARMACIST, TODAY, demo_db, demo_template, make  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------ reading the record without sqlite-utils

def test_the_demo_record_keeps_one_history_and_reads_as_sqlite_utils_reads_it(demo_db):
    """The versions are in chemo_migrations only; tables and rows read as sqlite_utils' public API reads them."""
    from sqlite_utils import Database

    from chemo.db import migrate, open_store
    from chemo.db.schema import VERSIONS

    with open_store(demo_db, create=False) as store:
        db = Database(store.conn, execute_plugins=False)
        assert migrate.applied(store) == store.applied_versions() == [n for n, _ in VERSIONS]
        assert migrate.pending(store) == [] and "_sqlite_migrations" not in db.table_names()
        assert store.table_names() == db.table_names()
        assert store.query("SELECT mrn, name FROM patients ORDER BY mrn") == [
            {"mrn": r["mrn"], "name": r["name"]} for r in db.query("SELECT mrn, name FROM patients ORDER BY mrn")]


def test_opening_an_up_to_date_record_and_writing_to_it_imports_no_sqlite_utils(demo_db):
    """A fresh process opens the demo record, checks its connection and inserts a patient: plain sqlite3 only."""
    script = (
        "import sys\n"
        "from chemo.db import open_store\n"
        "with open_store(sys.argv[1], create=False) as store:\n"
        "    assert store.conn.execute('PRAGMA foreign_keys').fetchone()[0] == 1\n"
        "    assert store.conn.execute('PRAGMA recursive_triggers').fetchone()[0] == 1\n"
        "    before = store.one('SELECT max(id) AS n FROM patients')['n']\n"
        "    with store.transaction():\n"
        "        new = store.insert('patients', {'mrn': 'NEW-1', 'name': 'N', 'sex': 'female', 'born': '1990-01-01',\n"
        f"                                        'created_at': '2026-06-15T10:00:00', 'created_by': {PHARMACIST!r}}})\n"
        "    assert new == before + 1, (new, before)\n"
        "    assert store.one('SELECT mrn FROM patients WHERE id = ?', (new,)) == {'mrn': 'NEW-1'}\n"
        "print('sqlite_utils' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script, str(demo_db)], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"


def test_first_screen_imports_neither_sqlite_utils_nor_click(demo_db):
    """The app on a record, up to its patient list with the rows read (a fresh process)."""
    script = (
        "import asyncio, datetime, sys\n"
        "from tui.app import make_app\n"
        f"app = make_app(db_path=sys.argv[1], user={PHARMACIST!r}, today=datetime.date.fromisoformat({TODAY.isoformat()!r}))\n"
        "async def main():\n"
        "    async with app.run_test() as pilot:\n"
        "        await pilot.pause()\n"
        "        assert app.backend is not None and app.screen.rows, app.backend_error\n"
        "asyncio.run(main())\n"
        "print(' '.join(m for m in ('sqlite_utils', 'click', 'dateutil', 'pluggy') if m in sys.modules) or 'none')\n")
    env = {k: v for k, v in os.environ.items() if k not in ("CHEMO_DB", "CHEMO_USER")}
    done = subprocess.run([sys.executable, "-c", script, str(demo_db)], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "none"


# ------------------------------------------------------------------ the checked-regimen cache

def _plan(rid: str) -> dict:
    from chemo.regimen import regimen_path

    return {"regimen_path": str(regimen_path(rid)), "regimen_id": rid, "regimen_sha256": ""}


def test_a_regimen_checked_clean_is_served_from_the_disk_cache_until_a_byte_changes(tmp_path, monkeypatch):
    import chemo.regimen
    from chemo import records

    monkeypatch.setenv("CHEMO_CACHE_DIR", str(tmp_path / "cache"))
    checks = []
    real = chemo.regimen._read_regimen
    monkeypatch.setattr(chemo.regimen, "_read_regimen", lambda *a, **k: checks.append(a) or real(*a, **k))
    copy = tmp_path / "doxorubicin-ifosfamide.toml"
    copy.write_bytes(Path(_plan("doxorubicin-ifosfamide")["regimen_path"]).read_bytes())
    plan = {"regimen_path": str(copy), "regimen_id": "doxorubicin-ifosfamide", "regimen_sha256": ""}

    monkeypatch.setattr(chemo.regimen, "_CHECKED", {})  # a new process
    first, _ = records.plan_regimen(plan)
    monkeypatch.setattr(chemo.regimen, "_CHECKED", {})
    again, _ = records.plan_regimen(plan)
    assert len(checks) == 1 and again == first and again is not first

    copy.write_text(copy.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    monkeypatch.setattr(chemo.regimen, "_CHECKED", {})
    edited, changed = records.plan_regimen({**plan, "regimen_sha256": first.sha256})
    assert len(checks) == 2 and changed and edited.sha256 != first.sha256


def test_a_regimen_with_problems_is_never_cached(tmp_path, monkeypatch, mutated):
    import chemo.regimen
    from chemo import records
    from chemo.errors import ChemoError

    monkeypatch.setenv("CHEMO_CACHE_DIR", str(tmp_path / "cache"))
    bad = mutated("doxorubicin-ifosfamide", ('cycle_length = "21 days"', 'cycle_length = "0 days"'))
    plan = {"regimen_path": str(bad), "regimen_id": "x", "regimen_sha256": ""}
    messages = []
    for _ in range(2):
        monkeypatch.setattr(chemo.regimen, "_CHECKED", {})
        with pytest.raises(ChemoError) as err:
            records.plan_regimen(plan)
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    assert not list((tmp_path / "cache").glob("regimen-*.pickle"))


# ------------------------------------------------------------------ value classes and start-up

def test_value_classes_compare_and_print_by_field():
    import attrs

    from tui.backend import CycleState, PatientRow
    from tui.verify_model import DoseContext

    row = PatientRow(1, "DEMO-001", "A B", "plan", "C1 due today", None)
    assert row == PatientRow(1, "DEMO-001", "A B", "plan", "C1 due today", None, None)
    assert repr(row) == ("PatientRow(id=1, mrn='DEMO-001', name='A B', plan_text='plan', next_text='C1 due today', "
                         "readiness=None, readiness_word=None)")
    with pytest.raises(AttributeError):
        row.mrn = "x"
    assert CycleState(1, "due", TODAY, "due today").dose_signed is None
    context = DoseContext("A B (DEMO-001)", None, 2)
    assert attrs.evolve(context, dose_level=-1) == DoseContext("A B (DEMO-001)", None, 2, dose_level=-1)
    assert context.dose_level == 0


async def test_start_up_turns_the_paused_collector_back_on_and_draws_the_rows(make):
    app = make()
    app.gc_paused = True
    gc.disable()
    try:
        async with app.run_test() as pilot:
            await pilot.pause()
            assert gc.isenabled() and not app.gc_paused
            assert app.screen.rows
    finally:
        gc.enable()
        gc.unfreeze()
