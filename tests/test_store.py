"""The database file: where it is, who may read it, and how every connection is set up."""

import os
import sqlite3
import stat

import pytest

from chemo.errors import ChemoError
from chemo.store import StoreError, open_store, resolve_db_path, user_data_dir
from chemo.schema import MIGRATIONS


def test_db_path_is_the_option_then_the_environment_then_the_user_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CHEMO_DB", str(tmp_path / "env.db"))
    assert resolve_db_path(tmp_path / "opt.db") == tmp_path / "opt.db"
    assert resolve_db_path(None) == tmp_path / "env.db"
    monkeypatch.delenv("CHEMO_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    if os.name == "posix" and not os.uname().sysname == "Darwin":
        assert resolve_db_path(None) == tmp_path / "data" / "chemo" / "chemo.db"
    assert resolve_db_path(None).parent == user_data_dir()


def test_a_new_database_is_readable_by_its_owner_only(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("CHEMO_DB", raising=False)
    with open_store() as store:
        path = store.path
    assert path == tmp_path / "data" / "chemo" / "chemo.db"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_every_connection_has_wal_foreign_keys_and_a_busy_timeout(tmp_path):
    db = tmp_path / "c.db"
    for _ in range(2):  # a new file, then an existing one
        with open_store(db) as store:
            assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
            assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
            assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_migrations_run_once_and_are_recorded(tmp_path):
    db = tmp_path / "m.db"
    open_store(db).close()
    with open_store(db) as store:
        assert MIGRATIONS.pending(store.db) == []
        applied = [m.name for m in MIGRATIONS.applied(store.db)]
        assert applied == ["0001_initial", "0002_lab_sources"]
        tables = set(store.db.table_names())
    assert {"patients", "measurements", "labs", "plans", "administrations", "prior_exposure", "signoffs",
            "roles", "users", "audit"} <= tables


def test_a_failed_transaction_writes_nothing(tmp_path):
    with open_store(tmp_path / "t.db") as store:
        with pytest.raises(RuntimeError):
            with store.transaction():
                store.conn.execute("INSERT INTO users (login, added_at, added_by) VALUES ('x', 'now', 'x')")
                raise RuntimeError("refused half-way")
        assert store.one("SELECT count(*) AS n FROM users")["n"] == 0


def test_a_row_pointing_at_a_missing_patient_is_rejected(tmp_path):
    with open_store(tmp_path / "fk.db") as store:
        with pytest.raises(sqlite3.IntegrityError):
            with store.transaction():
                store.conn.execute(
                    "INSERT INTO labs (patient_id, analyte, value_text, value, unit, collected_at, recorded_at, "
                    "recorded_by) VALUES (999, 'anc', '1 10^9/L', 1, '10^9/L', 'x', 'x', 'x')")


def test_a_file_that_is_not_a_database_is_one_clear_error(tmp_path):
    bad = tmp_path / "notes.db"
    bad.write_text("these are not the droids " * 100)
    with pytest.raises(StoreError) as err:
        open_store(bad)
    assert "not a chemo database" in str(err.value)
    assert err.value.exit_code == 3
    assert isinstance(err.value, ChemoError)


def test_a_folder_is_not_a_database(tmp_path):
    with pytest.raises(StoreError, match="is a folder"):
        open_store(tmp_path)
