"""The one migration runner, for both engines: :data:`chemo.db.schema.VERSIONS` applied in order.

The applied versions are kept in one table, ``chemo_migrations`` (name,
applied_at: UTC ISO time), on SQLite as on PostgreSQL.  Pending versions are
applied in one transaction of the store, under the writers' lock (so two
processes opening a new record at once do not both migrate it; the second
finds nothing left to do), each statement as the engine writes it
(:meth:`Store.ddl`), each version's name recorded beside its statements: a
failure leaves the record as it was.

Older chemo kept the history of a SQLite file in sqlite-utils' own
``_sqlite_migrations`` table (set ``chemo``).  A file without
``chemo_migrations`` has that history taken over (read through
``sqlite_utils.Migrations``' public API, by :meth:`Store.legacy_versions`) in
the same transaction as the versions it lacks, and the old set removed: one
history from then on.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: chemo.db.store reads the applied versions through this module
    from .store import Store

TABLE = "chemo_migrations"


def _versions():
    from .schema import VERSIONS  # read when needed: a test may add a version

    return VERSIONS


def applied(store: Store) -> list[str]:
    """The versions applied to the record, oldest first."""
    if not store.has_table(TABLE):
        return []
    return [r["name"] for r in store.query(f"SELECT name FROM {TABLE} ORDER BY applied_at, name")]


def pending(store: Store) -> list[str]:
    """The names of :data:`chemo.db.schema.VERSIONS` not applied yet."""
    done = set(applied(store))
    return [name for name, _ in _versions() if name not in done]


def is_record(store: Store) -> bool:
    """Whether the database holds a chemo record (of any version) at all."""
    return store.has_table(TABLE) or bool(store.legacy_versions())


def _stamp() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")


def migrate(store: Store) -> None:
    """Bring the record up to date (a no-op, without the write lock, when it is)."""
    if store.has_table(TABLE) and not pending(store):
        return
    with store.transaction():
        if not store.has_table(TABLE):
            store.execute(f"CREATE TABLE {TABLE} (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            legacy = store.legacy_versions()
            for name, at in legacy:
                store.execute(f"INSERT INTO {TABLE} (name, applied_at) VALUES (?, ?)", (name, at))
            if legacy:
                store.forget_legacy_versions()
        done = set(applied(store))
        for name, statements in _versions():
            if name in done:
                continue
            for statement in statements:
                sql = store.ddl(statement)
                if sql is not None:  # None: a statement of the other engine only
                    store.execute(sql)
            store.execute(f"INSERT INTO {TABLE} (name, applied_at) VALUES (?, ?)", (name, _stamp()))
