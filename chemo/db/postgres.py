"""The record on a PostgreSQL server: the :class:`chemo.db.store.Store` protocol, through psycopg 3.

Imported only when ``--db``/``$CHEMO_DB`` is a ``postgresql://`` URL, so SQLite
users never load psycopg.  What SQLite gives by being one file, this store
gives the same way on a server:

* one writer at a time: :meth:`PostgresStore.transaction` takes a
  transaction-level advisory lock (one per schema) before its first read, as
  ``BEGIN IMMEDIATE`` does, so what a write checked is still true at
  ``COMMIT``, two writers never extend the audit chain from the same row, and
  a new row's id is the next after the largest, as in SQLite.  Readers never
  wait.  A writer that waits longer than the busy timeout gets the same
  "busy" line as on SQLite (exit 3);
* the schema of :mod:`chemo.db.schema`, migrated under that lock by
  :mod:`chemo.db.migrate` (the runner SQLite uses too), the applied versions
  kept in ``chemo_migrations``;
* SQL written for both engines: ``?`` and ``:name`` parameters become
  psycopg's ``%s`` and ``%(name)s`` here;
* an unreachable server or a connection lost mid-command is one line and exit 3;
  a connection lost while committing says that the write may or may not have
  been recorded.

The schema is the one ``search_path`` names (``?options=-csearch_path%3Dward4``
in the URL picks another), so one server can hold several records.
"""

from __future__ import annotations

import contextlib
import functools
import re
import time

import psycopg
from psycopg import errors as pgerrors
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row

from ..errors import NextStep
from . import migrate
from .schema import LOCK_CLASS, postgresql
from .store import BUSY_TIMEOUT_MS, Engine, Refusal, StoreError, busy_error, redact

CONNECT_TIMEOUT_S = 10

_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|::|%|\?|(?<![:\w]):([A-Za-z_]\w*)")


@functools.lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """SQL with ``?``/``:name`` parameters as psycopg writes them (``%s``/``%(name)s``; a literal ``%`` doubled)."""

    def one(match: re.Match) -> str:
        token = match.group(0)
        if token[0] in "'\"":
            return token.replace("%", "%%")
        if token == "::":
            return token
        if token == "%":
            return "%%"
        if token == "?":
            return "%s"
        return f"%({match.group(1)})s"

    return _TOKEN.sub(one, sql)


def _line(exc: BaseException) -> str:
    """A driver message as one line."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


class PostgresStore(Engine):
    """An open PostgreSQL record (the :class:`chemo.db.store.Store` protocol)."""

    engine = "postgresql"

    def __init__(self, conn, url: str):
        self.conn = conn
        self.url = url
        self.path = self.where = redact(url)
        self._lock_key = None
        self._lock_sql = None
        self._guarded = False
        self._closed = False

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(Exception):
            self.conn.close()

    @property
    def in_transaction(self) -> bool:
        return self.conn.info.transaction_status != TransactionStatus.IDLE

    # ------------------------------------------------------------------ statements
    def _ensure(self) -> None:
        """A session whose server went away (a restart) connects again at its next command (a TUI stays usable)."""
        if self.conn.closed and not self._closed:
            self.conn = _connect(self.url)

    def _run(self, sql: str, params=()):
        self._ensure()
        try:
            return self.conn.execute(translate(sql), params or ())  # () too: "%%" must become "%"
        except pgerrors.LockNotAvailable:
            raise busy_error(self.where) from None
        except pgerrors.InsufficientPrivilege as exc:
            raise self._refused(exc) from None
        except psycopg.OperationalError as exc:
            raise self._lost(exc) from None

    def _refused(self, exc) -> StoreError:
        """The server refused a write: its guard (a rule of chemo's, exit 1), or grants chemo lacks (exit 3)."""
        text = _line(exc.diag.message_primary or exc)
        if text.startswith("chemo: "):
            return Refusal(f"database {self.where!r} refused: {text[len('chemo: '):]}", field="db")
        return StoreError(f"database {self.where!r}: {text} (the DBA's script, 'chemo db setup-sql', grants what "
                          "chemo needs)", field="db")

    def _lost(self, exc) -> StoreError:
        if self.conn.closed or isinstance(exc, (pgerrors.AdminShutdown, pgerrors.CrashShutdown)):
            return StoreError(f"database {self.where!r}: the connection to the server was lost ({_line(exc)}); "
                              "nothing of this command was recorded", field="db")
        return StoreError(f"database {self.where!r}: {_line(exc)}", field="db")

    def execute(self, sql: str, params=()) -> None:
        self._run(sql, params)

    def query(self, sql: str, params=()) -> list[dict]:
        return self._run(sql, params).fetchall()

    def one(self, sql: str, params=()) -> dict | None:
        return self._run(sql, params).fetchone()

    def insert(self, table: str, record: dict) -> int:
        """Insert one row (inside a transaction, so under the writers' lock); its id is the next after the largest."""
        columns = [c for c in record if c != "id"]
        names = ", ".join(["id"] + columns)
        values = ", ".join(["%(id)s" if "id" in record else f"(SELECT coalesce(max(id), 0) + 1 FROM {table})"]
                           + [f"%({c})s" for c in columns])
        try:
            row = self.conn.execute(f"INSERT INTO {table} ({names}) VALUES ({values}) RETURNING id", record).fetchone()
        except pgerrors.InsufficientPrivilege as exc:
            raise self._refused(exc) from None
        except psycopg.OperationalError as exc:
            raise self._lost(exc) from None
        return row["id"]

    def insert_rows(self, table: str, rows: list[dict]) -> None:
        """Insert rows as they are, ids included (``chemo db copy``; inside a transaction)."""
        if not rows:
            return
        columns = list(rows[0])
        try:
            with self.conn.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row(tuple(r[c] for c in columns))
        except psycopg.OperationalError as exc:
            raise self._lost(exc) from None

    def set_column(self, table: str, row_id: int, column: str, value) -> None:
        """Set one column of one row; on a least-privilege record through the owner's ``chemo_update``."""
        self._schema_key()
        if self._guarded:
            self.execute("SELECT chemo_update(?, ?, ?, ?)", (table, row_id, column, None if value is None else str(value)))
        else:
            self.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", (value, row_id))

    ids_in = "SELECT CAST(jsonb_array_elements_text(CAST(? AS jsonb)) AS BIGINT)"

    @contextlib.contextmanager
    def transaction(self):
        """``BEGIN``, the writers' lock, ... ``COMMIT``; ``ROLLBACK`` on any exception (see the module text)."""
        if self.in_transaction:
            raise RuntimeError("transaction() does not nest")  # a bug, not user input
        self._ensure()
        try:
            self.conn.execute("BEGIN")
            started = time.perf_counter()
            self._advisory_lock(LOCK_CLASS, self._schema_key())
            self.lock_wait_s = time.perf_counter() - started
        except pgerrors.LockNotAvailable:
            self._rollback()
            raise busy_error(self.where) from None
        except psycopg.OperationalError as exc:
            self._rollback()
            raise self._lost(exc) from None
        try:
            yield self
        except BaseException:
            self._rollback()
            raise
        try:
            self.conn.execute("COMMIT")
        except psycopg.OperationalError as exc:
            self._rollback()
            finding = (f"database {self.where!r}: the connection to the server was lost while committing "
                       f"({_line(exc)}); this write may or may not have been recorded")
            raise StoreError(finding + ": check the audit trail", finding=finding,
                             next_steps=(NextStep.AUDIT_SHOW,), field="db") from None

    def _rollback(self) -> None:
        if not self.conn.closed and self.in_transaction:
            with contextlib.suppress(psycopg.Error):
                self.conn.execute("ROLLBACK")

    def _schema_key(self) -> int:
        if self._lock_key is None:
            row = self.conn.execute("SELECT hashtext(current_schema()) AS k, "
                                    "to_regprocedure('chemo_lock(integer, integer)') IS NOT NULL AS guarded").fetchone()
            self._lock_key, self._guarded = row["k"], row["guarded"]  # guarded: `chemo db setup-sql` was run
            self._lock_sql = "SELECT chemo_lock(%s, %s)" if row["guarded"] else "SELECT pg_advisory_xact_lock(%s, %s)"
        return self._lock_key

    def _advisory_lock(self, k1: int, k2: int) -> None:
        """Take the writers' advisory lock (k1, k2) until the transaction ends.  Where the DBA script
        (``chemo db setup-sql``) made the record least-privilege, only the owner's ``chemo_lock`` may take it
        (and it cuts off a workstation that holds it); otherwise ``pg_advisory_xact_lock`` directly."""
        self._schema_key()
        self.conn.execute(self._lock_sql, (k1, k2))

    # ------------------------------------------------------------------ the rest of the interface
    def data_version(self):
        """The newest audit row: every write of chemo appends one."""
        row = self.one("SELECT last_id FROM audit_head WHERE one = 1")
        return row["last_id"] if row else 0

    def integrity_problems(self) -> list[str]:
        """PostgreSQL enforces keys and checks itself; a constraint it has not validated is reported."""
        return [f"constraint {r['name']} of {r['tbl']} is not validated" for r in self.query(
            "SELECT conname AS name, CAST(conrelid AS regclass) AS tbl FROM pg_constraint "
            "WHERE NOT convalidated AND connamespace = CAST(current_schema() AS regnamespace)")]

    def table_names(self) -> list[str]:
        return [r["table_name"] for r in self.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
            "ORDER BY table_name")]

    def database_user(self) -> str | None:
        """``current_user``; None for a superuser, who could rewrite every table anyway (the DBA, the tests)."""
        row = self.one("SELECT current_user AS name, rolsuper FROM pg_roles WHERE rolname = current_user")
        return None if row is None or row["rolsuper"] else row["name"]

    def has_table(self, name: str) -> bool:
        return self.one("SELECT to_regclass(?) IS NOT NULL AS found", (name,))["found"]

    def ddl(self, statement: str) -> str:
        return postgresql(statement)

    def legacy_versions(self) -> list[tuple[str, str]]:
        return []  # PostgreSQL records have kept their history in chemo_migrations from the first

    def forget_legacy_versions(self) -> None:
        pass


def _connect(url: str):
    """A connection with chemo's settings (autocommit: :meth:`PostgresStore.transaction` says BEGIN; the busy timeout)."""
    extra = {} if "connect_timeout" in url else {"connect_timeout": CONNECT_TIMEOUT_S}
    try:
        conn = psycopg.connect(url, autocommit=True, row_factory=dict_row, application_name="chemo", **extra)
        conn.execute(f"SET lock_timeout = {int(BUSY_TIMEOUT_MS)}")
    except psycopg.Error as exc:
        raise StoreError(f"cannot reach the PostgreSQL server for {redact(url)!r}: {_line(exc)}", field="db") from None
    return conn


def open_postgresql(url: str, *, create: bool = True) -> PostgresStore:
    """Connect, set the busy timeout, and bring the schema up to date (``create``: may create it)."""
    shown = redact(url)
    conn = _connect(url)
    store = PostgresStore(conn, url)
    try:
        if not create and not migrate.is_record(store):
            raise StoreError(f"no database at {shown!r}", field="db")
        migrate.migrate(store)
        return store
    except psycopg.Error as exc:
        store.close()
        if isinstance(exc, pgerrors.DuplicateTable):
            raise StoreError(f"{shown!r} is not a chemo database (it holds other tables): {_line(exc)}",
                             field="db") from None
        raise StoreError(f"database {shown!r}: {_line(exc)}", field="db") from None
    except BaseException:
        store.close()
        raise
