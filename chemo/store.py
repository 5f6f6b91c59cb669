"""The patient record: an SQLite file or a PostgreSQL database, behind one interface.

Where the record is: the ``--db`` given, else ``$CHEMO_DB``, else
``chemo.db`` in the user's data directory (``$XDG_DATA_HOME/chemo`` or
``~/.local/share/chemo`` on Linux, ``~/Library/Application Support/chemo`` on
macOS, ``%APPDATA%\\chemo`` on Windows; the same places ``click.get_app_dir``
picks, without depending on click).  A new file is created with mode 0600 in a
0700 folder: it holds patient data.

Every connection gets the same setup (:func:`open_store`): WAL journal,
``synchronous=FULL`` (a committed row survives a crash of the process or the
machine), ``foreign_keys=ON`` (SQLite forgets it per connection), a busy
timeout, and the schema brought up to date with ``sqlite_utils.Migrations``
while holding the write lock, so two processes opening a new file at once do
not both migrate it.  Whether a version is pending is read with plain
``sqlite3`` from sqlite-utils' own history table (``_sqlite_migrations``, set
``chemo``): opening an up-to-date record to read it does not import
sqlite-utils at all; the first write (:meth:`Store.insert`) or a pending
migration does.

``--db`` and ``$CHEMO_DB`` take a path, ``sqlite:///path`` or
``postgresql://user@host:5432/dbname`` (any libpq URI; ``postgres://`` too).
The engine modules talk only to :class:`Store` (``query``, ``one``,
``execute``, ``insert``, ``transaction`` and a few named helpers); which
database is behind it is this module's business (and :mod:`chemo.pgstore`'s,
which holds the PostgreSQL side and imports psycopg only when a URL asks).

Every read-modify-write runs in :meth:`Store.transaction`: ``BEGIN IMMEDIATE``
takes the write lock before the first read, so what was read is still true at
``COMMIT``; an exception rolls everything back, so a refused or failed command
writes nothing.  The connection runs with ``isolation_level=None``: Python's
sqlite3 never opens or commits a transaction behind our back.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import re
import sqlite3
import sys
import time
from pathlib import Path

from .errors import ChemoError

BUSY_TIMEOUT_MS = 10_000  # how long a writer waits for another writer's lock
DB_FILENAME = "chemo.db"
APP_NAME = "chemo"


class StoreError(ChemoError):
    """The database cannot be opened, is busy, or is not a chemo database (exit 3)."""

    exit_code = 3


class Refusal(ChemoError):
    """A request the record refuses: a role, the two-person rule, the cap, not ready (exit 1)."""

    exit_code = 1


class NotFound(ChemoError):
    """An unknown patient, plan or user (exit 2: bad input)."""

    exit_code = 2


# ------------------------------------------------------------------ where

def user_data_dir(app: str = APP_NAME) -> Path:
    """The per-user data folder, as ``click.get_app_dir(app)`` would choose it."""
    if sys.platform.startswith("win"):
        base = os.environ.get("APPDATA") or os.environ.get("LOCALAPPDATA") or str(Path.home())
        return Path(base) / app
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / app
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / app


_PG_URL = re.compile(r"^postgres(ql)?://", re.IGNORECASE)
_SQLITE_URL = "sqlite://"


def resolve_db(target: str | os.PathLike | None = None) -> str | Path:
    """``--db``, else ``$CHEMO_DB``, else the user's data folder: a Path (SQLite) or a postgresql:// URL."""
    text = os.fspath(target) if target else os.environ.get("CHEMO_DB") or ""
    if not text:
        return user_data_dir() / DB_FILENAME
    if is_postgresql(text):
        return text
    if text.lower().startswith(_SQLITE_URL):  # as SQLAlchemy reads it: sqlite:///rel.db, sqlite:////abs.db
        text = text[len(_SQLITE_URL):]
        if not text.startswith("/") or text == "/":
            raise StoreError(f"{os.fspath(target or os.environ.get('CHEMO_DB'))!r}: expected sqlite:///path/to/file.db "
                             "(or a plain path)", field="db")
        text = text[1:]
    elif "://" in text:
        raise StoreError(f"{text!r}: expected a file path, sqlite:///path or postgresql://user@host:5432/dbname",
                         field="db")
    return Path(text).expanduser()


def is_postgresql(target) -> bool:
    return isinstance(target, str) and bool(_PG_URL.match(target))


def resolve_db_path(path: str | os.PathLike | None = None) -> Path:
    """The SQLite file of ``--db``/``$CHEMO_DB``/the data folder (a PostgreSQL URL is not a path)."""
    found = resolve_db(path)
    if isinstance(found, str):
        raise StoreError(f"{redact(found)!r} is a PostgreSQL database, not a file", field="db")
    return found


def redact(url: str) -> str:
    """A URL as messages show it: never the password."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)


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


# ------------------------------------------------------------------ time

def now_local() -> _dt.datetime:
    """Clinic time: collection, administration and measurement times are local, to the second."""
    return _dt.datetime.now().replace(microsecond=0)


def utc_stamp() -> str:
    """Audit time: UTC with microseconds."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


# ------------------------------------------------------------------ the store

class Store:
    """An open record.  What the engine modules may use:

    ``query``/``one``/``execute`` (SQL with ``?`` or ``:name`` parameters, in the
    SQL both engines read), ``insert``, ``transaction``, ``in_transaction``,
    ``ids_in`` (a set of ids from one parameter), ``data_version``,
    ``integrity_problems``, ``table_names``, ``where`` (for messages) and
    ``close``.  ``path`` is the file (SQLite) or the redacted URL (PostgreSQL).
    """

    engine = "sqlite"
    lock_wait_s = 0.0  # the wait for the write lock of the last transaction (benchmarks/bench_sessions.py)

    def __init__(self, db, path: Path):
        """``db``: the ``sqlite3`` connection (or a ``sqlite_utils.Database`` on it)."""
        if isinstance(db, sqlite3.Connection):
            self.conn = db  # self.db is made on first use (__getattr__)
        else:
            self.db = db
            self.conn = db.conn
        self.path = path
        self.where = str(path)

    def __getattr__(self, name):
        """``db``, the ``sqlite_utils.Database`` on this connection, made when something first writes through it."""
        if name != "db" or "conn" not in self.__dict__:
            raise AttributeError(name)
        from sqlite_utils import Database

        self.db = Database(self.conn, execute_plugins=False)
        return self.db

    def close(self) -> None:
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    @contextlib.contextmanager
    def transaction(self):
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; ``ROLLBACK`` on any exception.

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
        return self.db[table].insert(record).last_rowid

    def insert_rows(self, table: str, rows: list[dict]) -> None:
        """Insert rows as they are, ids included (``chemo db copy``; inside a transaction)."""
        if rows:
            columns = list(rows[0])
            self.conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                                  f"({', '.join('?' for _ in columns)})", [tuple(r[c] for c in columns) for r in rows])

    # SQL for "the ids in one parameter", the parameter being a JSON array of integers
    ids_in = "SELECT value FROM json_each(?)"

    def data_version(self):
        """A value that changes when another connection commits (this one's own writes need not change it)."""
        return self.conn.execute("PRAGMA data_version").fetchone()[0]

    def integrity_problems(self) -> list[str]:
        """Problems the database finds in itself: ``integrity_check`` and ``foreign_key_check``."""
        problems = []
        rows = [r[0] for r in self.conn.execute("PRAGMA integrity_check").fetchall()]
        if rows != ["ok"]:
            problems += [f"integrity_check: {r}" for r in rows]
        for row in self.conn.execute("PRAGMA foreign_key_check").fetchall():
            problems.append(f"foreign_key_check: {row[0]} row {row[1]} refers to a missing {row[2]}")
        return problems

    def table_names(self) -> list[str]:
        """The tables, as ``sqlite_utils.Database.table_names`` lists them."""
        return [r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()]

    def database_user(self) -> str | None:
        """The user the database server authenticated, when it restricts who may act as whom (None: SQLite)."""
        return None

    def applied_versions(self) -> list[str]:
        return applied_versions(self.conn)


MIGRATIONS_TABLE = "_sqlite_migrations"  # sqlite_utils.Migrations' history table
MIGRATION_SET = "chemo"  # the set :func:`chemo.schema.sqlite_migrations` records its versions under


def applied_versions(conn: sqlite3.Connection) -> list[str]:
    """The versions applied to the file, oldest first: what ``sqlite_utils.Migrations("chemo").applied`` reads,
    read with plain ``sqlite3`` (the same table, the same rows, the same order)."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                    (MIGRATIONS_TABLE,)).fetchone() is None:
        return []
    return [r[0] for r in conn.execute(f"SELECT name FROM [{MIGRATIONS_TABLE}] WHERE migration_set = ? "
                                       "ORDER BY rowid", (MIGRATION_SET,)).fetchall()]


def pending_versions(conn: sqlite3.Connection) -> list[str]:
    """The names of :data:`chemo.schema.VERSIONS` not applied yet (``sqlite_utils.Migrations.pending``)."""
    from .schema import VERSIONS

    done = set(applied_versions(conn))
    return [name for name, _ in VERSIONS if name not in done]


def _store_error(exc: sqlite3.Error, path) -> StoreError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return busy_error(path)
    if "not a database" in text or "malformed" in text:
        return StoreError(f"{str(path)!r} is not a chemo database (or is damaged): {text}", field="db")
    return StoreError(f"database {str(path)!r}: {text}", field="db")


def busy_error(where) -> StoreError:
    return StoreError(f"the database {str(where)!r} is busy (another writer held it for "
                      f"{BUSY_TIMEOUT_MS / 1000:g} s); try again", field="db")


def open_store(path: str | os.PathLike | None = None, *, create: bool = True) -> Store:
    """Open (and if needed create and migrate) the record; see the module text."""
    target = resolve_db(path)
    if isinstance(target, str):
        from .pgstore import open_postgresql

        return open_postgresql(target, create=create)
    return _open_sqlite(target, create)


def _open_sqlite(target: Path, create: bool) -> Store:
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
        conn.execute("PRAGMA recursive_triggers = ON")  # as sqlite_utils.Database sets it on every connection
        store = Store(conn, target)
        if pending_versions(conn):
            from .schema import sqlite_migrations

            with store.transaction():
                sqlite_migrations().apply(store.db)  # nests as savepoints inside our BEGIN IMMEDIATE
        if conn.execute("PRAGMA foreign_keys").fetchone()[0] != 1:  # pragma: no cover - a broken build
            raise StoreError("foreign keys could not be switched on", field="db")
        return store
    except sqlite3.Error as exc:
        conn.close()
        raise _store_error(exc, target) from None
    except BaseException:
        conn.close()
        raise


def check_integrity(store: Store) -> list[str]:
    """Problems the database finds in itself (SQLite: ``integrity_check`` and ``foreign_key_check``)."""
    return store.integrity_problems()
