"""The record in an SQLite file, through Python's ``sqlite3``.

Every connection gets the same setup (:func:`open_sqlite`): WAL journal,
``synchronous=FULL`` (a committed row survives a crash of the process or the
machine), ``foreign_keys=ON`` (SQLite forgets it per connection), a busy
timeout, and the schema brought up to date by :mod:`chemo.db.migrate` while
holding the write lock.  A new file is created with mode 0600 in a 0700
folder: it holds patient data.

Every read-modify-write runs in :meth:`SQLiteStore.transaction`: ``BEGIN
IMMEDIATE`` takes the write lock before the first read, so what was read is
still true at ``COMMIT``; an exception rolls everything back.  The connection
runs with ``isolation_level=None``: Python's sqlite3 never opens or commits a
transaction behind our back.

Plain ``sqlite3`` does the reading and the writing (an insert is one
statement; sqlite-utils' ``Table.insert`` cost ten times as much per row, and
importing sqlite-utils 80 ms).  sqlite-utils is used only to take over the
migration history an older chemo left in a file (its public
``Migrations.applied``), once per such file.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import sqlite3
import time
from pathlib import Path

from . import migrate
from .store import BUSY_TIMEOUT_MS, Engine, StoreError, busy_error

LEGACY_SET = "chemo"  # the sqlite_utils.Migrations set older chemo recorded its versions under


def _create_file(path: Path) -> None:
    """Create an empty database file readable by its owner only (0600)."""
    if path.exists():
        return
    try:
        if not path.parent.exists():
            path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
    except FileExistsError:
        pass  # another process created it first
    except OSError as exc:
        raise StoreError(f"cannot create the database {str(path)!r}: {exc.strerror or exc}", field="db") from None


class SQLiteStore(Engine):
    """An open SQLite record (the :class:`chemo.db.store.Store` protocol)."""

    engine = "sqlite"
    # SQL for "the ids in one parameter", the parameter being a JSON array of integers
    ids_in = "SELECT value FROM json_each(?)"

    def __init__(self, conn: sqlite3.Connection, path: Path):
        self.conn = conn
        self.path = path
        self.where = str(path)

    def close(self) -> None:
        self.conn.close()

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    @contextlib.contextmanager
    def transaction(self, *, per_patient: bool = False):
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; ``ROLLBACK`` on any exception (``per_patient`` too: one writer).

        Not nestable: a function that writes takes the store and opens the one
        transaction itself; helpers it calls only execute statements.
        """
        if self.conn.in_transaction:
            raise RuntimeError("transaction() does not nest")  # a bug, not user input
        try:
            started = time.perf_counter()
            self.conn.execute("BEGIN IMMEDIATE")
            self.lock_wait_s = time.perf_counter() - started  # how long this writer waited for the others (bench)
        except sqlite3.OperationalError as exc:
            raise _store_error(exc, self.path) from None
        try:
            yield self
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise _store_error(exc, self.path) from None

    def execute(self, sql: str, params=()) -> None:
        self.conn.execute(sql, params)

    def query(self, sql: str, params=()) -> list[dict]:
        cursor = self.conn.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    def one(self, sql: str, params=()) -> dict | None:
        cursor = self.conn.execute(sql, params)
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cursor.description], row))

    def insert(self, table: str, record: dict) -> int:
        """Insert one row (inside a transaction) and return its id (the next after the largest)."""
        return self.conn.execute(_insert_sql(table, list(record)), tuple(record.values())).lastrowid

    def insert_rows(self, table: str, rows: list[dict]) -> None:
        """Insert rows as they are, ids included (``chemo db copy``; inside a transaction)."""
        if rows:
            columns = list(rows[0])
            self.conn.executemany(_insert_sql(table, columns), [tuple(r[c] for c in columns) for r in rows])

    def set_column(self, table: str, row_id: int, column: str, value) -> None:
        self.conn.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", (value, row_id))

    def has_table(self, name: str) -> bool:
        return self.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                 (name,)).fetchone() is not None

    def table_names(self) -> list[str]:
        """The tables, in the order SQLite lists them."""
        return [r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()]

    def ddl(self, statement: str) -> str | None:
        from .schema import sqlite

        return sqlite(statement)  # the schema is written in SQLite's types

    def _legacy(self):
        from sqlite_utils import Database, Migrations

        return Database(self.conn, execute_plugins=False), Migrations(LEGACY_SET)

    def legacy_versions(self) -> list[tuple[str, str]]:
        """The history older chemo kept with ``sqlite_utils.Migrations`` (set ``chemo``), oldest first."""
        db, migrations = self._legacy()
        return [(m.name, _iso(m.applied_at)) for m in migrations.applied(db)]

    def forget_legacy_versions(self) -> None:
        """Remove set ``chemo`` from sqlite-utils' history (the table too when no other set is left)."""
        db, migrations = self._legacy()
        table = db[migrations.migrations_table]
        table.delete_where("migration_set = ?", [LEGACY_SET])
        if table.count == 0:
            table.drop()

    def data_version(self):
        return self.conn.execute("PRAGMA data_version").fetchone()[0]

    def integrity_problems(self) -> list[str]:
        """``integrity_check`` and ``foreign_key_check``."""
        problems = []
        rows = [r[0] for r in self.conn.execute("PRAGMA integrity_check").fetchall()]
        if rows != ["ok"]:
            problems += [f"integrity_check: {r}" for r in rows]
        for row in self.conn.execute("PRAGMA foreign_key_check").fetchall():
            problems.append(f"foreign_key_check: {row[0]} row {row[1]} refers to a missing {row[2]}")
        return problems

    def database_user(self) -> str | None:
        return None


def _insert_sql(table: str, columns: list[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"


def _iso(stamp: str) -> str:
    """sqlite-utils' ``str(datetime)`` as the ISO text ``chemo_migrations`` keeps."""
    try:
        return _dt.datetime.fromisoformat(stamp).isoformat(timespec="microseconds")
    except (TypeError, ValueError):
        return str(stamp)


def _store_error(exc: sqlite3.Error, path) -> StoreError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return busy_error(path)
    if "not a database" in text or "malformed" in text:
        return StoreError(f"{str(path)!r} is not a chemo database (or is damaged): {text}", field="db")
    return StoreError(f"database {str(path)!r}: {text}", field="db")


def open_sqlite(target: Path, *, create: bool = True) -> SQLiteStore:
    """Open (and if needed create and migrate) the record in the file ``target``."""
    if target.is_dir():
        raise StoreError(f"{str(target)!r} is a folder, expected a database file", field="db")
    if not target.exists():
        if not create:
            raise StoreError(f"no database at {str(target)!r}", field="db")
        _create_file(target)
    try:
        conn = sqlite3.connect(str(target), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except sqlite3.Error as exc:
        raise _store_error(exc, target) from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if mode.lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA recursive_triggers = ON")  # as earlier chemo (through sqlite_utils.Database) set it
        store = SQLiteStore(conn, target)
        migrate.migrate(store)
        if conn.execute("PRAGMA foreign_keys").fetchone()[0] != 1:  # pragma: no cover - a broken build
            raise StoreError("foreign keys could not be switched on", field="db")
        return store
    except sqlite3.Error as exc:
        conn.close()
        raise _store_error(exc, target) from None
    except BaseException:
        conn.close()
        raise
