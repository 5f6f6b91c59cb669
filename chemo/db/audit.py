"""Named queries: the audit chain and what it checks the audited tables against."""

from __future__ import annotations

import json

from .store import Store

COLUMNS = "id, at, login, action, entity, entity_key, old, new, prev_hash, hash"


def head(store: Store) -> dict | None:
    """(last_id, last_hash, rows): the newest audit row as the head row records it."""
    return store.one("SELECT last_id, last_hash, rows FROM audit_head WHERE one = 1")


def newest(store: Store) -> dict | None:
    """(id, hash) of the newest audit row."""
    return store.one("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1")


def append_row(store: Store, row: dict, rows: int) -> None:
    """Write an audit row and move the head to it (``rows``: the count with it), in the caller's transaction."""
    store.execute(
        f"INSERT INTO audit ({COLUMNS}) "
        "VALUES (:id, :at, :login, :action, :entity, :entity_key, :old, :new, :prev_hash, :hash)", row)
    store.execute(
        "INSERT INTO audit_head (one, last_id, last_hash, rows) VALUES (1, ?, ?, ?) "
        "ON CONFLICT(one) DO UPDATE SET last_id = excluded.last_id, last_hash = excluded.last_hash, "
        "rows = excluded.rows", (row["id"], row["hash"], rows))


def append_on_server(store: Store, row: dict) -> int:
    """PostgreSQL: the server appends the row, keyed with the key only the record's owner reads; its id."""
    return store.one("SELECT chemo_audit_append(:at, :login, :action, :entity, :entity_key, :old, :new) AS id",
                     row)["id"]


def key(store: Store) -> dict | None:
    """SQLite: (key, since_id) of the record's audit key (None before the first keyed row)."""
    return store.one("SELECT key, since_id FROM audit_key WHERE one = 1")


def add_key(store: Store, key_hex: str, since_id: int) -> None:
    store.execute("INSERT INTO audit_key (one, key, since_id) VALUES (1, ?, ?)", (key_hex, since_id))


def keyed_from(store: Store) -> int | None:
    """PostgreSQL: the first keyed audit row (None: none yet), without reading the key."""
    return store.one("SELECT chemo_audit_keyed_from() AS since")["since"]


def bad_keyed_rows(store: Store) -> set[int]:
    """PostgreSQL: the ids of keyed audit rows whose hash is not the HMAC of their contents, checked by the server."""
    return {r["id"] for r in store.query("SELECT chemo_audit_bad_rows() AS id")}


def chain(store: Store) -> list[dict]:
    """Every audit row, oldest first."""
    return store.query(f"SELECT {COLUMNS} FROM audit ORDER BY id")


def latest(store: Store, limit: int) -> list[dict]:
    """The newest ``limit`` audit rows (without their hashes), newest first."""
    return store.query("SELECT id, at, login, action, entity, entity_key, old, new FROM audit ORDER BY id DESC "
                       "LIMIT ?", (limit,))


def _first(store: Store, column: str, entity: str, key: str) -> str | None:
    row = store.one(f"SELECT {column} FROM audit WHERE entity = ? AND entity_key = ? ORDER BY id LIMIT 1",
                    (entity, key))
    return row[column] if row else None


def first_new(store: Store, entity: str, key: str) -> str | None:
    """The ``new`` of the first audit row of one row of ``entity``."""
    return _first(store, "new", entity, key)


def first_hash(store: Store, entity: str, key: str) -> str | None:
    """The ``hash`` of the first audit row of one row of ``entity`` (a sign-off's: printed on its labels)."""
    return _first(store, "hash", entity, key)


# the audited tables, read whole: ``table`` and ``columns`` are the audit module's own names, never input

def rows_with_ids(store: Store, table: str, ids) -> list[dict]:
    return store.query(f"SELECT * FROM {table} WHERE id IN ({store.ids_in})", (json.dumps(sorted(ids)),))


def row_count(store: Store, table: str) -> int:
    return store.one(f"SELECT count(*) AS n FROM {table}")["n"]


def ids_without(store: Store, table: str, ids, limit: int) -> list[int]:
    """The first ``limit`` ids of ``table`` (in order) not among ``ids``."""
    return [r["id"] for r in store.query(f"SELECT id FROM {table} WHERE id NOT IN ({store.ids_in}) ORDER BY id LIMIT ?",
                                         (json.dumps(sorted(ids)), limit))]


def ordered(store: Store, table: str, columns: str) -> list[dict]:
    """``columns`` of every row of ``table``, ordered by the first."""
    return store.query(f"SELECT {columns} FROM {table} ORDER BY {columns.split(',')[0]}")
