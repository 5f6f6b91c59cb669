"""The record on a PostgreSQL server: the :class:`chemo.db.store.Store` protocol, through psycopg 3.

Imported only when ``--db``/``$CHEMO_DB`` is a ``postgresql://`` URL, so SQLite
users never load psycopg.  What SQLite gives by being one file, this store
gives the same way on a server:

* one writer at a time where it matters: :meth:`PostgresStore.transaction`
  takes a transaction-level advisory lock (the chain lock, one per schema)
  before its first read, as ``BEGIN IMMEDIATE`` does, so what a write checked
  is still true at ``COMMIT``, two writers never extend the audit chain from
  the same row, and a new row's id is the next after the largest, as in
  SQLite.  A write about one patient (``transaction(per_patient=True)``)
  holds that patient's lock for its checks and takes the chain lock only at
  its first write, so the Python work of a sign-off (the dose, the cap, the
  readiness) never holds up another patient's writer.  Readers never wait.
  A writer that waits longer than the busy timeout gets the same "busy" line
  as on SQLite (exit 3);
* statements prepared on their second run (``prepare_threshold = 1``): a
  workstation's session runs the same few queries again and again, and a
  one-shot command does not pay the extra round trip of preparing;
* fewer round trips: inside a transaction, a statement whose answer nothing
  waits for (``BEGIN``, a lock, an audit row, an UPDATE) is queued and sent
  with the next statement that has an answer, or with ``COMMIT``, in one
  round trip (psycopg's pipeline).  The server runs them in order, so a
  lock is held before any read sent after it, as if it had been sent alone;
  a write the server refuses surfaces at that round trip and nothing of the
  transaction is committed;
* the schema of :mod:`chemo.db.schema`, migrated under that lock by
  :mod:`chemo.db.migrate` (the runner SQLite uses too), the applied versions
  kept in ``chemo_migrations``;
* SQL written for both engines: ``?`` and ``:name`` parameters become
  psycopg's ``%s`` and ``%(name)s`` here;
* an unreachable server or a connection lost mid-command is one line and exit 3;
  a connection lost while committing says that the write may or may not have
  been recorded.

A URL may name several hosts (``postgresql://h1:5432,h2:5433/chemo?target_session_attrs=read-write``):
libpq tries them in order and keeps the one that takes writes, so after a standby is promoted the next
command, or a session's next statement once its connection is found lost, reaches the new primary
(docs/deployment.md).  A read that may be a moment old goes to a standby (:func:`reading_url`).

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
PREPARE_THRESHOLD = 1  # psycopg prepares a statement on its second run (its default: the sixth)

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


PATIENT_SALT = 0x70617469  # "pati": a patient's lock is (schema key ^ this, patient id), beside the chain's (LOCK_CLASS,
# schema key); through chemo_lock on a least-privilege record, as the chain's.  Ids 2**32 apart share a lock: a wait,
# never a wrong result.


def _int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def _line(exc: BaseException) -> str:
    """A driver message as one line."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


class PostgresStore(Engine):
    """An open PostgreSQL record (the :class:`chemo.db.store.Store` protocol)."""

    engine = "postgresql"

    def __init__(self, conn, url: str, shown: str | None = None):
        self.conn = conn
        self.url = url
        self.path = self.where = shown or redact(url)
        self._lock_key = None
        self._lock_sql = None
        self._guarded = False
        self._closed = False
        self._per_patient = False  # the open transaction takes the chain lock at its first write
        self._chain_held = False
        self._patients_held: set[int] = set()
        self._in_txn = False  # inside transaction()
        self._pending: list = []  # statements queued to go with the next one (see _send)
        self._pending_lock = False

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(Exception):
            self.conn.close()

    @property
    def in_transaction(self) -> bool:
        """Inside :meth:`transaction` (its BEGIN perhaps still queued), or BEGIN sent and not yet ended (a lost
        connection is not in one: its transaction is gone)."""
        return self._in_txn or self.conn.info.transaction_status in (
            TransactionStatus.INTRANS, TransactionStatus.INERROR, TransactionStatus.ACTIVE)

    # ------------------------------------------------------------------ statements
    def _ensure(self) -> None:
        """A session whose server went away (a restart) connects again at its next command (a TUI stays usable)."""
        if self._closed:
            return
        if self.conn.closed or self.conn.info.transaction_status == TransactionStatus.UNKNOWN:
            with contextlib.suppress(Exception):
                self.conn.close()
            self.conn = _connect(self.url, self.where)  # a multi-host URL: whichever server takes writes now

    def _run(self, sql: str, params=()):
        """Run one statement (after the queued ones, in the same round trip); its cursor."""
        self._ensure()
        return self._send(translate(sql), params or ())  # () too: "%%" must become "%"

    def _send(self, sql: str | None, params=(), *, committing: bool = False):
        """The queued statements and then ``sql`` in one round trip (psycopg's pipeline); the cursor of ``sql``.

        Inside a transaction a statement whose answer nothing waits for (``BEGIN``, a lock, an UPDATE, the
        audit row) is queued (:meth:`_queue`) and sent with the next one that has an answer, or with
        ``COMMIT``: the server runs them in order, so a read queued after a lock runs once the lock is held.
        The time of a round trip that carried a lock is added to ``lock_wait_s``."""
        pending, self._pending = self._pending, []
        locking, self._pending_lock = self._pending_lock, False
        started = time.perf_counter()
        try:
            if not pending:
                return None if sql is None else self.conn.execute(sql, params)
            cursor = None
            with self.conn.pipeline():
                for q, p, prepare in pending:
                    self.conn.execute(q, p, prepare=prepare)
                if sql is not None:
                    cursor = self.conn.execute(sql, params)
            return cursor
        except pgerrors.LockNotAvailable:
            self._rollback()
            raise busy_error(self.where) from None
        except pgerrors.InsufficientPrivilege as exc:
            raise self._refused(exc) from None
        except psycopg.OperationalError as exc:
            self._rollback()
            if committing:
                finding = (f"database {self.where!r}: the connection to the server was lost while committing "
                           f"({_line(exc)}); this write may or may not have been recorded")
                raise StoreError(finding + ": check the audit trail", finding=finding,
                                 next_steps=(NextStep.AUDIT_SHOW,), field="db") from None
            raise self._lost(exc) from None
        finally:
            if locking:
                self.lock_wait_s += time.perf_counter() - started

    def _queue(self, sql: str, params=(), *, lock: bool = False, prepare: bool | None = None) -> None:
        self._pending.append((sql, params, prepare))
        self._pending_lock = self._pending_lock or lock

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

    def query(self, sql: str, params=()) -> list[dict]:
        return self._run(sql, params).fetchall()

    def one(self, sql: str, params=()) -> dict | None:
        return self._run(sql, params).fetchone()

    def execute(self, sql: str, params=()) -> None:
        """A statement that writes: in a per-patient transaction, the chain lock first; inside a transaction,
        queued (sent with the next statement that has an answer, or with COMMIT)."""
        if not self._in_txn:
            self._run(sql, params)
            return
        self._chain_before_write()
        self._queue(translate(sql), params or ())

    def _chain_before_write(self) -> None:
        """A per-patient write takes the record-wide chain lock at its first write (its checks ran under the
        patient's lock alone)."""
        if self._per_patient and not self._chain_held:
            self.lock_chain()

    def insert(self, table: str, record: dict) -> int:
        """Insert one row (inside a transaction, under the chain lock); its id is the next after the largest."""
        self._chain_before_write()
        columns = [c for c in record if c != "id"]
        names = ", ".join(["id"] + columns)
        values = ", ".join(["%(id)s" if "id" in record else f"(SELECT coalesce(max(id), 0) + 1 FROM {table})"]
                           + [f"%({c})s" for c in columns])
        row = self._send(f"INSERT INTO {table} ({names}) VALUES ({values}) RETURNING id", record).fetchone()
        return row["id"]

    def insert_rows(self, table: str, rows: list[dict]) -> None:
        """Insert rows as they are, ids included (``chemo db copy``; inside a transaction)."""
        if not rows:
            return
        self._chain_before_write()
        columns = list(rows[0])
        self._send(None)
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
    def transaction(self, *, per_patient: bool = False):
        """``BEGIN``, the chain lock (``per_patient``: at the first write), ... ``COMMIT``; ``ROLLBACK`` on any
        exception (see the module text)."""
        self._ensure()
        if self.in_transaction:
            raise RuntimeError("transaction() does not nest")  # a bug, not user input
        self.lock_wait_s = 0.0
        self._per_patient, self._chain_held, self._patients_held = per_patient, False, set()
        self._in_txn = True
        try:
            self._queue("BEGIN")
            if not per_patient:
                self.lock_chain()
            try:
                yield self
            except BaseException:
                self._rollback()
                raise
            try:
                self._send("COMMIT", committing=True)
            except BaseException:  # a queued write the server refused (a constraint): nothing was committed
                self._rollback()
                raise
        finally:
            self._per_patient, self._chain_held, self._patients_held = False, False, set()
            self._in_txn, self._pending, self._pending_lock = False, [], False

    def _advisory(self, sql: str, params) -> None:
        """Queue one transaction-level advisory lock: it is waited for before the statements after it."""
        if not self._in_txn:
            raise RuntimeError("a writers' lock outside a transaction")  # a bug, not user input
        self._queue(sql, params, lock=True, prepare=True)

    def lock_chain(self) -> None:
        """The record-wide writers' lock (one per schema), to the end of the transaction; taken once."""
        if self._chain_held:
            return
        key = self._schema_key()
        self._advisory(self._lock_sql, (LOCK_CLASS, key))
        self._chain_held = True

    def lock_patient(self, patient_id: int) -> None:
        """One patient's writers' lock, to the end of the transaction (a per-patient transaction, before its
        checks; see the module text).  Within a whole-record transaction the chain lock already excludes
        every other writer of the patient: nothing to take."""
        if not self._per_patient or patient_id in self._patients_held:
            return
        if self._chain_held:  # patient locks come first: taken after the chain lock, two writers could deadlock
            raise RuntimeError("lock_patient after the chain lock")  # a bug, not user input
        key = self._schema_key()
        self._advisory(self._lock_sql, (_int32(key ^ PATIENT_SALT), _int32(patient_id)))
        self._patients_held.add(patient_id)

    def _rollback(self) -> None:
        self._pending, self._pending_lock = [], False
        if not self.conn.closed and self.conn.info.transaction_status in (
                TransactionStatus.INTRANS, TransactionStatus.INERROR, TransactionStatus.ACTIVE):
            with contextlib.suppress(psycopg.Error):
                self.conn.execute("ROLLBACK")

    def _schema_key(self) -> int:
        if self._lock_key is None:
            row = self.conn.execute("SELECT hashtext(current_schema()) AS k, "
                                    "to_regprocedure('chemo_lock(integer, integer)') IS NOT NULL AS guarded").fetchone()
            self._lock_key, self._guarded = row["k"], row["guarded"]  # guarded: `chemo db setup-sql` was run
            self._lock_sql = "SELECT chemo_lock(%s, %s)" if row["guarded"] else "SELECT pg_advisory_xact_lock(%s, %s)"
        return self._lock_key

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


_SESSION_ATTRS = re.compile(r"([?&])target_session_attrs=[^&]*")


def reading_url(url: str) -> str:
    """``url`` for a read that may be a moment old: a standby among its hosts if one answers, else the primary
    (libpq's ``target_session_attrs=prefer-standby``).

    With ``synchronous_commit = remote_apply`` on the primary (docs/deployment.md) the synchronous standby has
    applied every acknowledged write before the writer hears of it, so such a read misses only writes still
    in flight; with ``on`` it may miss the newest acknowledged ones by the standby's replay delay.  Only
    listings take it (``chemo patient list``, ``chemo audit show``, ``chemo audit verify``): every check that
    gates a dose (readiness, the sign-offs, the cap, what was given) reads on the primary, in the writer's
    transaction."""
    if _SESSION_ATTRS.search(url):
        return _SESSION_ATTRS.sub(r"\1target_session_attrs=prefer-standby", url, count=1)
    return f"{url}{'&' if '?' in url else '?'}target_session_attrs=prefer-standby"


def _connect(url: str, shown: str | None = None):
    """A connection with chemo's settings (autocommit: :meth:`PostgresStore.transaction` says BEGIN; the busy timeout);
    ``shown``: the URL as messages name it (the one the user gave)."""
    extra = {} if "connect_timeout" in url else {"connect_timeout": CONNECT_TIMEOUT_S}
    try:
        conn = psycopg.connect(url, autocommit=True, row_factory=dict_row, application_name="chemo", **extra)
        conn.prepare_threshold = PREPARE_THRESHOLD
        conn.execute(f"SET lock_timeout = {int(BUSY_TIMEOUT_MS)}")
    except psycopg.Error as exc:
        raise StoreError(f"cannot reach the PostgreSQL server for {shown or redact(url)!r}: {_line(exc)}",
                         field="db") from None
    return conn


def open_postgresql(url: str, *, create: bool = True, may_lag: bool = False) -> PostgresStore:
    """Connect, set the busy timeout, and bring the schema up to date (``create``: may create it; ``may_lag``:
    a standby if one answers, :func:`reading_url`)."""
    shown = redact(url)
    target = reading_url(url) if may_lag else url
    conn = _connect(target, shown)
    store = PostgresStore(conn, target, shown)
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
