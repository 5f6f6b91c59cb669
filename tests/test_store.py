"""The database file: where it is, who may read it, and how every connection is set up."""

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from chemo.errors import ChemoError
from chemo.db import StoreError, open_store, resolve_db_path, user_data_dir
from chemo.db import migrate
from chemo.db.schema import VERSIONS


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
        assert migrate.pending(store) == []
        assert migrate.applied(store) == [name for name, _ in VERSIONS]
        assert migrate.applied(store)[:3] == ["0001_initial", "0002_db_logins", "0003_lab_sources"]
        tables = set(store.table_names())
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


def test_db_takes_a_path_a_sqlite_url_or_a_postgresql_url(tmp_path, monkeypatch):
    from chemo.db import resolve_db

    monkeypatch.chdir(tmp_path)
    assert resolve_db("ward.db") == Path("ward.db")
    assert resolve_db("sqlite:///ward.db") == Path("ward.db")  # relative, as SQLAlchemy reads it
    assert resolve_db(f"sqlite:///{tmp_path}/ward.db") == tmp_path / "ward.db"
    url = "postgresql://pharm1@db.example:5432/chemo"
    assert resolve_db(url) == url
    monkeypatch.setenv("CHEMO_DB", "postgres://pharm1@db.example/chemo")
    assert resolve_db(None) == "postgres://pharm1@db.example/chemo"


@pytest.mark.parametrize("bad", ["mysql://root@db/chemo", "sqlite://ward.db", "sqlite:///"])
def test_a_url_of_another_kind_is_one_clear_error(bad):
    from chemo.db import resolve_db

    with pytest.raises(StoreError, match="expected") as err:
        resolve_db(bad)
    assert err.value.exit_code == 3


def test_a_password_never_shows_in_a_message():
    from chemo.db import redact

    assert redact("postgresql://pharm1:s3cret@db:5432/chemo") == "postgresql://pharm1:***@db:5432/chemo"


def test_an_unreachable_server_is_one_line_and_exit_3(runner, chemo_cli):
    result = runner.invoke(chemo_cli, ["patient", "list", "--db", "postgresql://nobody:pw@127.0.0.1:1/none"])
    assert result.exit_code == 3
    assert result.stderr.startswith("chemo: db: cannot reach the PostgreSQL server for "
                                    "'postgresql://nobody:***@127.0.0.1:1/none'")
    assert result.stderr.count("\n") == 1 and "pw" not in result.stderr


# ------------------------------------------------------------------ on both engines

def test_the_schema_is_migrated_once_from_its_one_description(new_db):
    from chemo.db.schema import VERSIONS

    where = new_db("m.db")
    open_store(where).close()
    with open_store(where) as store:
        assert store.applied_versions() == [name for name, _ in VERSIONS]
        assert {"patients", "measurements", "labs", "plans", "administrations", "prior_exposure", "signoffs",
                "roles", "users", "audit", "audit_head"} <= set(store.table_names())


def test_a_new_schema_version_is_applied_to_an_existing_record(new_db, monkeypatch):
    from chemo.db import schema

    where = new_db("v.db")
    open_store(where).close()
    monkeypatch.setattr(schema, "VERSIONS", schema.VERSIONS + [("0099_lab_source", [
        "ALTER TABLE labs ADD COLUMN source_note TEXT", "ALTER TABLE labs ADD COLUMN source_rank INTEGER"])])
    with open_store(where) as store:
        assert store.applied_versions()[-1] == "0099_lab_source"
        with store.transaction():
            store.execute("INSERT INTO users (login, added_at, added_by) VALUES ('x', 'now', 'x')")
        assert store.query("SELECT source_note, source_rank FROM labs") == []


def test_a_failed_transaction_writes_nothing_on_either_engine(new_db):
    with open_store(new_db("t.db")) as store:
        with pytest.raises(RuntimeError):
            with store.transaction():
                store.execute("INSERT INTO users (login, added_at, added_by) VALUES ('x', 'now', 'x')")
                raise RuntimeError("refused half-way")
        assert store.one("SELECT count(*) AS n FROM users")["n"] == 0
        assert not store.in_transaction


def test_a_row_pointing_at_a_missing_patient_is_rejected_on_either_engine(new_db):
    with open_store(new_db("fk.db")) as store:
        with pytest.raises(Exception) as err:
            with store.transaction():
                store.insert("labs", {"patient_id": 999, "analyte": "anc", "value_text": "1 10^9/L", "value": 1,
                                      "unit": "10^9/L", "collected_at": "x", "recorded_at": "x", "recorded_by": "x"})
        assert any(c.__name__ == "IntegrityError" for c in type(err.value).__mro__)
        assert store.one("SELECT count(*) AS n FROM labs")["n"] == 0


def test_text_sorts_byte_by_byte_on_either_engine(new_db):
    with open_store(new_db("sort.db")) as store:
        with store.transaction():
            for login in ("b", "B", "a-2", "a_1", "A"):
                store.execute("INSERT INTO users (login, added_at, added_by) VALUES (?, 'now', 'x')", (login,))
        assert [r["login"] for r in store.query("SELECT login FROM users ORDER BY login")] == [
            "A", "B", "a-2", "a_1", "b"]


@pytest.mark.postgresql
def test_a_writer_kept_waiting_on_postgresql_gets_the_busy_line(pg_schema):
    url = pg_schema()
    with open_store(url) as first, open_store(url) as second:
        second.execute("SET lock_timeout = 200")  # the real wait is BUSY_TIMEOUT_MS
        with first.transaction():
            first.one("SELECT 1 AS one")  # the lock goes with the transaction's first statement
            with pytest.raises(StoreError) as err:
                with second.transaction():
                    pass
        assert str(err.value).startswith("db: the database 'postgresql://") and "is busy" in str(err.value)
        assert err.value.exit_code == 3 and not second.in_transaction
        with second.transaction():  # and once the first has committed, it writes
            second.execute("INSERT INTO users (login, added_at, added_by) VALUES ('x', 'now', 'x')")


@pytest.mark.postgresql
def test_reading_a_postgresql_schema_without_a_record_is_an_error_and_creates_nothing(pg_schema, runner, chemo_cli):
    url = pg_schema()
    result = runner.invoke(chemo_cli, ["readiness", "M1", "--db", url])
    assert result.exit_code == 3 and result.stderr == f"chemo: db: no database at {url!r}\n"
    with pytest.raises(StoreError, match="no database at"):
        open_store(url, create=False)


def test_a_chemo_db_made_before_the_schema_was_described_once_still_opens(tmp_path):
    """A file whose history is only 0001_initial (sqlite_utils.Migrations set "chemo") gets the newer versions."""
    import sqlite3 as _sqlite3

    from sqlite_utils import Database, Migrations

    from chemo.db.schema import VERSIONS

    old = Migrations("chemo")

    @old(name="0001_initial")
    def _initial(db):
        for statement in VERSIONS[0][1]:
            db.execute(statement)

    path = tmp_path / "old.db"
    conn = _sqlite3.connect(path)
    old.apply(Database(conn))
    conn.execute("INSERT INTO users VALUES ('phil', '2026-01-01T00:00:00', 'phil')")
    conn.commit()
    conn.close()
    with open_store(path, create=False) as store:
        assert store.applied_versions() == [name for name, _ in VERSIONS]
        assert store.one("SELECT login FROM users")["login"] == "phil"
        assert "db_logins" in store.table_names()


def test_percent_and_question_marks_in_sql_text_are_text_on_either_engine(new_db):
    with open_store(new_db("pct.db")) as store:
        with store.transaction():
            store.execute("INSERT INTO users (login, added_at, added_by) VALUES ('a%b', 'x?', 'x')")
            store.execute("INSERT INTO users (login, added_at, added_by) VALUES (?, ?, 'x')", ("a%%b", "y"))
        assert [r["login"] for r in store.query("SELECT login FROM users WHERE login LIKE 'a%b' ORDER BY login")] == [
            "a%%b", "a%b"]
        assert store.one("SELECT added_at FROM users WHERE login = 'a%b'")["added_at"] == "x?"
        assert store.one("SELECT count(*) AS n FROM users WHERE added_at = :at", {"at": "y"})["n"] == 1


@pytest.mark.postgresql
def test_a_session_cut_off_by_the_server_says_so_in_one_line_and_then_works_again(pg_schema, pg_admin):
    """A TUI left open across a server restart: one clear error, then the next command reconnects."""
    from chemo.demo import USERS, add_users

    url = pg_schema()
    with open_store(url) as store:
        add_users(store)
        pid = store.one("SELECT pg_backend_pid() AS pid")["pid"]
        pg_admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(StoreError) as err:
            store.query("SELECT login FROM users")
        assert "the connection to the server was lost" in str(err.value) and "\n" not in str(err.value)
        assert err.value.exit_code == 3
        assert len(store.query("SELECT login FROM users")) == len(USERS)
        with store.transaction():
            store.execute("INSERT INTO users (login, added_at, added_by) VALUES ('x', 'now', 'x')")
        assert store.one("SELECT pg_backend_pid() AS pid")["pid"] != pid


def test_a_listing_prefers_a_standby_and_keeps_the_rest_of_the_url():
    from chemo.db.postgres import reading_url

    many = "postgresql://nurse@db1:5432,db2:5432/chemo?target_session_attrs=read-write&options=-csearch_path%3Dward4"
    assert reading_url(many) == ("postgresql://nurse@db1:5432,db2:5432/chemo?target_session_attrs=prefer-standby"
                                 "&options=-csearch_path%3Dward4")
    assert reading_url("postgresql://nurse@db1/chemo") == "postgresql://nurse@db1/chemo?target_session_attrs=prefer-standby"
