"""The audit trail: one row per write, chained by SHA-256.

Each row's hash covers its own id, time, user, action, entity, old and new
values *and the previous row's hash*, so:

* an edited row no longer matches its hash;
* a deleted row breaks the link of the row after it (and leaves a gap in ids);
* reordered rows (contents swapped, or ids renumbered) break the links;
* a deleted *last* row no longer matches ``audit_head``, which every append
  updates in the same transaction.

This is tamper-*evident* against edits made with a SQLite tool, not proof
against someone who recomputes the whole chain: there is no secret key.

:func:`append` must run inside the caller's ``BEGIN IMMEDIATE`` transaction
(the one that makes the change), so the change and its audit row commit or
vanish together, and two writers can never both extend the chain from the
same previous row.
"""

from __future__ import annotations

import hashlib
import json

from .store import Store, utc_stamp

GENESIS = "0" * 64


def _canonical(value) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def row_hash(row: dict) -> str:
    payload = json.dumps(
        [row["id"], row["at"], row["login"], row["action"], row["entity"], row["entity_key"],
         row["old"], row["new"], row["prev_hash"]],
        ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def append(store: Store, login: str, action: str, entity: str, key=None, old=None, new=None) -> int:
    """Append one audit row (inside the caller's transaction); returns its id."""
    if not store.conn.in_transaction:
        raise RuntimeError("audit.append outside a transaction")  # a bug, not user input
    head = store.one("SELECT last_id, last_hash, rows FROM audit_head WHERE one = 1")
    last = store.one("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1")
    prev = last["hash"] if last else GENESIS
    row = {
        "id": (last["id"] + 1) if last else 1,
        "at": utc_stamp(),
        "login": login,
        "action": action,
        "entity": entity,
        "entity_key": None if key is None else str(key),
        "old": _canonical(old),
        "new": _canonical(new),
        "prev_hash": prev,
    }
    row["hash"] = row_hash(row)
    store.conn.execute(
        "INSERT INTO audit (id, at, login, action, entity, entity_key, old, new, prev_hash, hash) "
        "VALUES (:id, :at, :login, :action, :entity, :entity_key, :old, :new, :prev_hash, :hash)", row)
    rows = (head["rows"] if head else 0) + 1
    store.conn.execute(
        "INSERT INTO audit_head (one, last_id, last_hash, rows) VALUES (1, ?, ?, ?) "
        "ON CONFLICT(one) DO UPDATE SET last_id = excluded.last_id, last_hash = excluded.last_hash, "
        "rows = excluded.rows", (row["id"], row["hash"], rows))
    return row["id"]


def verify(store: Store) -> tuple[int, list[str]]:
    """(rows checked, problems): every broken hash, link, gap, and a head that does not match."""
    problems: list[str] = []
    prev_hash = GENESIS
    expected_id = 1
    count = 0
    last = None
    cursor = store.conn.execute(
        "SELECT id, at, login, action, entity, entity_key, old, new, prev_hash, hash FROM audit ORDER BY id")
    names = [d[0] for d in cursor.description]
    for values in cursor:
        row = dict(zip(names, values))
        count += 1
        if row["id"] != expected_id:
            problems.append(f"audit row {row['id']}: expected row {expected_id} here (a row was deleted or renumbered)")
        if row["prev_hash"] != prev_hash:
            problems.append(f"audit row {row['id']}: does not follow the row before it (deleted or reordered rows)")
        if row_hash(row) != row["hash"]:
            problems.append(f"audit row {row['id']}: its contents do not match its hash (edited)")
        prev_hash = row["hash"]
        expected_id = row["id"] + 1
        last = row
    head = store.one("SELECT last_id, last_hash, rows FROM audit_head WHERE one = 1")
    if head is None and last is not None:
        problems.append("audit_head is missing")
    elif head is not None:
        if last is None or head["last_id"] != last["id"] or head["last_hash"] != last["hash"]:
            problems.append(f"the newest audit row should be row {head['last_id']}: "
                            f"{'none is left' if last is None else 'found row ' + str(last['id'])} "
                            "(the last rows were deleted or edited)")
        if head["rows"] != count:
            problems.append(f"audit_head counts {head['rows']} rows, the table has {count}")
    return count, problems
