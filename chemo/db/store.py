"""What every record is, whichever engine holds it: the :class:`Store` protocol, its errors and its clocks.

Two engines implement :class:`Store` side by side, neither importing the other:
:class:`chemo.db.sqlite.SQLiteStore` (a file, through Python's ``sqlite3``) and
:class:`chemo.db.postgres.PostgresStore` (a server, through psycopg 3).  SQL
text is written for both (``?`` and ``:name`` parameters, the common types)
and lives only in the modules of :mod:`chemo.db`: the engine, the CLI and the
TUI call the named query functions (``patients.by_mrn``, ``labs.newest_each``
...), never ``query``/``one``/``execute`` themselves.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import ContextManager, Protocol

from ..errors import ChemoError

BUSY_TIMEOUT_MS = 10_000  # how long a writer waits for another writer's lock


class StoreError(ChemoError):
    """The database cannot be opened, is busy, or is not a chemo database (exit 3)."""

    exit_code = 3


class Refusal(ChemoError):
    """A request the record refuses: a role, the two-person rule, the cap, not ready (exit 1)."""

    exit_code = 1


class NotFound(ChemoError):
    """An unknown patient, plan or user (exit 2: bad input)."""

    exit_code = 2


class Store(Protocol):
    """An open record.

    ``engine`` (``"sqlite"`` or ``"postgresql"``); ``path``/``where``: the file,
    or the URL with its password hidden, as messages show it; ``lock_wait_s``:
    the wait for the write lock of the last transaction (the sessions benchmark).

    Every read-modify-write runs in :meth:`transaction`, which takes the
    writers' lock before its first read (SQLite ``BEGIN IMMEDIATE``; a
    PostgreSQL advisory lock), commits at the end and rolls back on any
    exception: a refused or failed command writes nothing.  It does not nest.

    ``transaction(per_patient=True)`` is the shorter lock of a write about one
    patient (a sign-off, an administration, a lab, a weight): the caller takes
    :meth:`lock_patient` before the reads its checks stand on, and the
    record-wide lock (:meth:`lock_chain`) is taken only at the first write
    (``insert``/``execute``) and held to ``COMMIT``, so the Python work of the
    checks never holds it.  A per-patient transaction takes its patient locks
    first (in id order when several) and the chain lock last, and no
    whole-record transaction takes a patient lock: no two writers can wait
    for each other.  SQLite has one writer per file whatever is asked: there
    both are no-ops under ``BEGIN IMMEDIATE``.
    """

    engine: str
    path: object
    where: str
    lock_wait_s: float

    def close(self) -> None: ...

    def __enter__(self) -> "Store": ...

    def __exit__(self, *exc) -> None: ...

    @property
    def in_transaction(self) -> bool: ...

    def transaction(self, *, per_patient: bool = False) -> ContextManager["Store"]: ...

    def lock_patient(self, patient_id: int) -> None:
        """Wait for (and hold to the end of the transaction) the writers' lock of one patient."""

    def lock_chain(self) -> None:
        """Wait for (and hold to the end of the transaction) the record-wide writers' lock (the audit chain's)."""

    def execute(self, sql: str, params=()) -> None: ...

    def query(self, sql: str, params=()) -> list[dict]: ...

    def one(self, sql: str, params=()) -> dict | None: ...

    def insert(self, table: str, record: dict) -> int:
        """Insert one row (inside a transaction); its id, the next after the largest."""

    def insert_rows(self, table: str, rows: list[dict]) -> None:
        """Insert rows as they are, ids included (``chemo db copy``; inside a transaction)."""

    def set_column(self, table: str, row_id: int, column: str, value) -> None:
        """Set one column of one row (inside a transaction): on a least-privilege PostgreSQL record through the
        owner's ``chemo_update`` (workstation roles hold no UPDATE; :mod:`chemo.db.privileges`)."""

    ids_in: str
    """SQL for "the ids in one parameter", the parameter being a JSON array of integers."""

    def has_table(self, name: str) -> bool: ...

    def table_names(self) -> list[str]: ...

    def ddl(self, statement: str) -> str:
        """A statement of :data:`chemo.db.schema.VERSIONS` as this engine runs it."""

    def legacy_versions(self) -> list[tuple[str, str]]:
        """(name, applied_at) of versions an older chemo recorded elsewhere than ``chemo_migrations``."""

    def forget_legacy_versions(self) -> None:
        """Remove that older history once :mod:`chemo.db.migrate` has taken it over (inside its transaction)."""

    def data_version(self):
        """A value that changes when another connection commits (this one's own writes need not change it)."""

    def integrity_problems(self) -> list[str]:
        """Problems the database finds in itself."""

    def database_user(self) -> str | None:
        """The user the database server authenticated, when it restricts who may act as whom (None: SQLite)."""


class Engine:
    """What both engines do the same way, inherited by each (neither imports the other)."""

    lock_wait_s = 0.0

    def lock_patient(self, patient_id: int) -> None:
        """One writer per file already (SQLite ``BEGIN IMMEDIATE``): nothing more to take."""

    def lock_chain(self) -> None:
        """One writer per file already (SQLite ``BEGIN IMMEDIATE``): nothing more to take."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def applied_versions(self) -> list[str]:
        """The schema versions applied to the record, oldest first."""
        from .migrate import applied

        return applied(self)


def redact(url: str) -> str:
    """A URL as messages show it: never the password."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)


def busy_error(where) -> StoreError:
    return StoreError(f"the database {str(where)!r} is busy (another writer held it for "
                      f"{BUSY_TIMEOUT_MS / 1000:g} s); try again", field="db")


# ------------------------------------------------------------------ time

CLOCK = None  # tests set a function returning a naive local datetime (pytest's monkeypatch); None: the system clock


def now_local() -> _dt.datetime:
    """Clinic time: collection, administration and measurement times are local, to the second.

    The one clock every rule of the record reads (the calendar's due dates, a time "in the future", the age of a
    result); :data:`CLOCK` replaces it in tests, so that a test moves time without sleeping."""
    now = CLOCK() if CLOCK is not None else _dt.datetime.now()
    return now.replace(microsecond=0)


def today_local() -> _dt.date:
    """Today's date in clinic time (:func:`now_local`)."""
    return now_local().date()


def utc_stamp() -> str:
    """Audit time: UTC with microseconds."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")
