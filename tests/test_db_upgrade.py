"""A chemo.db of every earlier schema version opens with today's code, keeps its rows and reaches today's schema.

Earlier chemo kept a SQLite file's history in sqlite-utils' ``_sqlite_migrations`` (set
``chemo``) and applied the versions with ``sqlite_utils.Migrations``; :func:`legacy_sqlite` builds
a file exactly that way, stopped after the first ``k`` versions.  Today one runner keeps one
history (``chemo_migrations``) on both engines.
"""

from __future__ import annotations

import sqlite3

import pytest

from chemo.db import migrate, open_store
from chemo.db.schema import VERSIONS, sqlite

NAMES = [name for name, _ in VERSIONS]


def legacy_sqlite(path, k: int) -> None:
    """A file at version ``VERSIONS[k - 1]``, made as chemo made it before ``chemo_migrations``."""
    from sqlite_utils import Database, Migrations

    old = Migrations("chemo")
    for name, statements in VERSIONS[:k]:
        def run(db, statements=statements) -> None:
            for statement in statements:
                if sqlite(statement) is not None:  # a PostgreSQL-only statement is not SQLite's
                    db.execute(statement)
        old(name=name)(run)
    conn = sqlite3.connect(path)
    old.apply(Database(conn))
    conn.commit()
    conn.close()


def _schema(path) -> set[tuple[str, str]]:
    """Every table and index with its columns (not its SQL text: ADD COLUMN writes that differently)."""
    conn = sqlite3.connect(path)
    found = set()
    for kind, name, table in conn.execute("SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"):
        if kind == "table":
            columns = conn.execute(f"PRAGMA table_xinfo({name})").fetchall()
            found.add((name, repr([(c[1], c[2].upper(), c[3], c[4], c[5]) for c in columns])))
        else:
            found.add((name, repr([c[2] for c in conn.execute(f"PRAGMA index_info({name})")])))
    conn.close()
    return found


@pytest.mark.parametrize("k", range(1, len(VERSIONS) + 1))
def test_a_record_of_every_earlier_version_opens_keeps_its_rows_and_reaches_the_current_schema(tmp_path, k):
    path = tmp_path / f"v{k}.db"
    legacy_sqlite(path, k)
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO users VALUES ('phil', '2026-01-01T00:00:00', 'phil')")
    conn.execute("INSERT INTO roles VALUES ('phil', 'pharmacist')")
    conn.execute("INSERT INTO patients (mrn, name, sex, born, created_at, created_by) VALUES "
                 "('OLD-1', 'Old', 'female', '1970-01-01', '2026-01-01T00:00:00', 'phil')")
    conn.execute("INSERT INTO labs (patient_id, analyte, value_text, value, unit, collected_at, recorded_at, "
                 "recorded_by) VALUES (1, 'anc', '1.2 10^9/L', 1.2, '10^9/L', '2026-03-01T08:00:00', "
                 "'2026-03-01T08:00:00', 'phil')")
    conn.commit()
    conn.close()

    with open_store(path, create=False) as store:
        assert migrate.applied(store) == NAMES and migrate.pending(store) == []
        assert store.one("SELECT mrn, name, born FROM patients") == {"mrn": "OLD-1", "name": "Old",
                                                                      "born": "1970-01-01"}
        # a result typed before labs had a source reads as typed and final
        assert store.one("SELECT value_text, value, source, status, superseded_by FROM labs") == {
            "value_text": "1.2 10^9/L", "value": 1.2, "source": "typed", "status": "final", "superseded_by": None}
        assert not store.has_table("_sqlite_migrations")  # one history: the old one was taken over
    fresh = tmp_path / "fresh.db"
    open_store(fresh).close()
    assert _schema(path) == _schema(fresh)
    with open_store(path, create=False) as store:  # and opening it again changes nothing
        assert migrate.applied(store) == NAMES


def test_the_old_history_of_another_set_in_the_same_file_is_left_alone(tmp_path):
    from sqlite_utils import Database

    path = tmp_path / "shared.db"
    legacy_sqlite(path, 1)
    conn = sqlite3.connect(path)
    Database(conn)["_sqlite_migrations"].insert({"migration_set": "other", "name": "0001_x", "applied_at": "x"})
    conn.commit()
    conn.close()
    with open_store(path) as store:
        assert migrate.applied(store) == NAMES
        assert store.query("SELECT migration_set, name FROM _sqlite_migrations") == [
            {"migration_set": "other", "name": "0001_x"}]


def test_a_failed_upgrade_leaves_the_old_file_as_it_was(tmp_path, monkeypatch):
    from chemo.db import schema

    path = tmp_path / "v1.db"
    legacy_sqlite(path, 1)
    before = _schema(path)
    monkeypatch.setattr(schema, "VERSIONS", VERSIONS + [("0099_broken", ["ALTER TABLE nowhere ADD COLUMN x TEXT"])])
    with pytest.raises(Exception, match="nowhere"):
        open_store(path)
    assert _schema(path) == before
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT name FROM _sqlite_migrations").fetchall() == [(NAMES[0],)]
    conn.close()


def test_a_new_record_has_one_history_on_either_engine(new_db):
    with open_store(new_db("h.db")) as store:
        assert migrate.applied(store) == NAMES
        assert store.has_table("chemo_migrations") and not store.has_table("_sqlite_migrations")
        assert [r["name"] for r in store.query("SELECT name FROM chemo_migrations ORDER BY name")] == NAMES


@pytest.mark.postgresql
@pytest.mark.parametrize("k", range(1, len(VERSIONS)))
def test_a_postgresql_record_of_every_earlier_version_opens_and_reaches_the_current_schema(pg_schema, monkeypatch, k):
    from chemo.db import schema

    url = pg_schema()
    with monkeypatch.context() as mp:
        mp.setattr(schema, "VERSIONS", VERSIONS[:k])
        with open_store(url) as store:
            with store.transaction():
                store.execute("INSERT INTO users (login, added_at, added_by) VALUES ('phil', 'then', 'phil')")
                store.insert("patients", {"mrn": "OLD-1", "name": "Old", "sex": "female", "born": "1970-01-01",
                                          "created_at": "then", "created_by": "phil"})
                store.insert("labs", {"patient_id": 1, "analyte": "anc", "value_text": "1.2 10^9/L", "value": 1.2,
                                      "unit": "10^9/L", "collected_at": "then", "recorded_at": "then",
                                      "recorded_by": "phil"})
            assert migrate.applied(store) == NAMES[:k]
    with open_store(url, create=False) as store:
        assert migrate.applied(store) == NAMES
        assert store.one("SELECT mrn FROM patients") == {"mrn": "OLD-1"}
        assert store.one("SELECT source, status FROM labs") == {"source": "typed", "status": "final"}
        assert store.has_table("db_logins")


def test_both_engines_implement_the_store_protocol_and_neither_imports_the_other(tmp_path):
    import subprocess
    import sys

    from chemo.db.postgres import PostgresStore
    from chemo.db.sqlite import SQLiteStore
    from chemo.db.store import Store

    members = {n for n in vars(Store) if not n.startswith("_")} | set(Store.__annotations__) | {"__enter__",
                                                                                               "__exit__"}
    assert {"transaction", "query", "one", "execute", "insert", "ddl", "legacy_versions"} <= members
    per_instance = {"path", "where"}  # set by __init__
    for engine in (SQLiteStore, PostgresStore):
        assert not [n for n in members - per_instance if not hasattr(engine, n)], engine
    with open_store(tmp_path / "p.db") as store:
        assert isinstance(store, SQLiteStore) and not [n for n in members if not hasattr(store, n)]
    assert not issubclass(SQLiteStore, PostgresStore) and not issubclass(PostgresStore, SQLiteStore)
    script = ("import sys; import chemo.db.sqlite; print(sorted(m for m in ('chemo.db.postgres', 'psycopg', "
              "'sqlite_utils') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr
    script = "import sys; import chemo.db.postgres; print('chemo.db.sqlite' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr
