"""The audit trail: one row per write, chained by SHA-256.

Each row's hash covers its own id, time, user, action, entity, old and new
values *and the previous row's hash*, so:

* an edited row no longer matches its hash;
* a deleted row breaks the link of the row after it (and leaves a gap in ids);
* reordered rows (contents swapped, or ids renumbered) break the links;
* a deleted *last* row no longer matches ``audit_head``, which every append
  updates in the same transaction.

The chain is keyed (HMAC-SHA256) from the first row written by a chemo that
knows schema version ``0005_keyed_audit``: someone who rewrites rows and
recomputes the chain without the key is found.  On PostgreSQL the key is
readable only by the record's owner; workstation roles append and verify
through the owner's ``SECURITY DEFINER`` functions (:mod:`chemo.db.schema`),
which compute the HMAC on the server.  On SQLite the key is in the file: the
file is single-user (mode 0600) and whoever can write it can read the key, so
there the chain is evident against edits, not against the file's owner.  Rows
written before the key existed keep their unkeyed SHA-256 hashes; the first
keyed row covers the last of them (its ``prev_hash``), so rewriting an old row
breaks that keyed link.

:func:`verify` also checks the rows the chain describes: every row of an
audited table (users, roles, patients, measurements, labs, prior exposure,
plans, prescriptions, sign-offs, administrations, regimen approvals ...) must still hold what its audit rows say it
became (their ``new`` values, folded in order), no such row may exist without
an audit row (inserted behind the program's back) and none the audit records
may be missing (deleted).  Fields an older audit row did not record are not
checked.  Rows without audit rows are listed one by one up to
:data:`LIST_LIMIT` per table, then counted in one line (a bulk-loaded
benchmark database has millions).

:func:`append` must run inside the caller's transaction (the one that makes
the change), so the change and its audit row commit or vanish together; it
takes the chain lock (:meth:`Store.lock_chain`, already held from the first
write), so two writers can never both extend the chain from the same
previous row.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets

from .db import audit as audit_log
from .db.store import Store, utc_stamp
from .db.schema import LAB_DEFAULTS

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


def keyed_payload(row: dict) -> str:
    """The text the keyed hash covers: each field as ``length:text`` (``-`` for NULL), joined by ``,``
    (``chemo_audit_payload`` on PostgreSQL is the same)."""
    fields = [row[k] for k in ("id", "at", "login", "action", "entity", "entity_key", "old", "new", "prev_hash")]
    return ",".join("-" if v is None else f"{len(str(v))}:{v}" for v in fields)


def keyed_hash(key_hex: str, row: dict) -> str:
    """HMAC-SHA256 of :func:`keyed_payload` under the record's key (SQLite; the server computes it on PostgreSQL)."""
    return hmac.new(bytes.fromhex(key_hex), keyed_payload(row).encode("utf-8"), hashlib.sha256).hexdigest()


def append(store: Store, login: str, action: str, entity: str, key=None, old=None, new=None) -> int:
    """Append one audit row (inside the caller's transaction); returns its id."""
    if not store.in_transaction:
        raise RuntimeError("audit.append outside a transaction")  # a bug, not user input
    store.lock_chain()  # a per-patient transaction's checks are done: the chain is extended by one writer at a time
    row = {
        "at": utc_stamp(),
        "login": login,
        "action": action,
        "entity": entity,
        "entity_key": None if key is None else str(key),
        "old": _canonical(old),
        "new": _canonical(new),
    }
    if store.engine == "postgresql":  # keyed by the server, with the key workstation roles cannot read
        return audit_log.append_on_server(store, row)
    head = audit_log.head(store)
    last = audit_log.newest(store)
    row["id"] = (last["id"] + 1) if last else 1
    row["prev_hash"] = last["hash"] if last else GENESIS
    found = audit_log.key(store)
    if found is None:  # the first row of a new record, or the first after the upgrade: the key is made here
        found = {"key": secrets.token_hex(32), "since_id": row["id"]}
        audit_log.add_key(store, found["key"], found["since_id"])
    row["hash"] = keyed_hash(found["key"], row)
    rows = (head["rows"] if head else 0) + 1
    audit_log.append_row(store, row, rows)
    return row["id"]


def _keyed_check(store: Store):
    """(first keyed id or None, a function telling whether a keyed row's hash is right)."""
    if store.engine == "postgresql":
        since = audit_log.keyed_from(store)
        bad = audit_log.bad_keyed_rows(store) if since is not None else set()
        return since, lambda row: row["id"] not in bad
    found = audit_log.key(store)
    if found is None:
        return None, None
    return found["since_id"], lambda row: hmac.compare_digest(keyed_hash(found["key"], row), str(row["hash"]))


def verify(store: Store) -> tuple[int, list[str]]:
    """(audit rows checked, problems): every broken hash, link, gap, a head that does not match, and every
    audited row that differs from its audit rows, has none, or is missing (:func:`check_rows`)."""
    problems: list[str] = []
    prev_hash = GENESIS
    expected_id = 1
    count = 0
    last = None
    described: list[dict] = []
    since, hash_ok = _keyed_check(store)
    for row in audit_log.chain(store):
        count += 1
        if row["entity"] in _ENTITIES:
            described.append(row)
        if row["id"] != expected_id:
            problems.append(f"audit row {row['id']}: expected row {expected_id} here (a row was deleted or renumbered)")
        if row["prev_hash"] != prev_hash:
            problems.append(f"audit row {row['id']}: does not follow the row before it (deleted or reordered rows)")
        keyed = since is not None and row["id"] >= since
        if not (hash_ok(row) if keyed else row_hash(row) == row["hash"]):
            problems.append(f"audit row {row['id']}: its contents do not match its hash (edited)")
        prev_hash = row["hash"]
        expected_id = row["id"] + 1
        last = row
    head = audit_log.head(store)
    if head is None and last is not None:
        problems.append("audit_head is missing")
    elif head is not None:
        if last is None or head["last_id"] != last["id"] or head["last_hash"] != last["hash"]:
            problems.append(f"the newest audit row should be row {head['last_id']}: "
                            f"{'none is left' if last is None else 'found row ' + str(last['id'])} "
                            "(the last rows were deleted or edited)")
        if head["rows"] != count:
            problems.append(f"audit_head counts {head['rows']} rows, the table has {count}")
    rows = check_rows(store, described)
    if rows and count == 0:
        problems.append("the audit is empty but the audited tables hold rows: a database loaded without the program "
                        "(e.g. by benchmarks/bench_store.py) has no audit trail to verify")
    problems += rows
    return count, problems


# ------------------------------------------------------------------ the rows the chain describes

LIST_LIMIT = 20  # rows of one table listed one by one per kind of problem; more are counted in one line
_ID_TABLES = ("patients", "measurements", "labs", "prior_exposure", "plans", "prescriptions", "signoffs",
              "administrations", "cycle_delays", "gate_overrides", "toxicities", "allergies", "regimen_approvals")
_ENTITIES = frozenset(_ID_TABLES + ("roles", "db_logins"))  # the audit's entity names; user.add rows describe users
# what a column holds when the audit row that created the row did not name it (the schema's DEFAULT, else NULL):
# every column of an audited row is checked, those an audit row leaves out against this
_DEFAULTS = {"labs": LAB_DEFAULTS}
# keys of a sign-off's audit row that are not part of its ``detail`` column (nor is any ``*_override``)
_SIGNOFF_OWN = frozenset(("plan_id", "cycle", "check", "role", "ordered", "signed_at", "override_reason",
                          "supersedes"))


def _signoff_fields(row: dict, new: dict) -> dict | None:
    """The ``signoffs`` columns a sign-off's audit row records (``None``: a note on a sign-off, not the sign-off);
    a ``signoff.supersede`` row records the ``superseded_by`` of a lapsed sign-off signed again."""
    if "check" not in new:
        return {"superseded_by": new["superseded_by"]} if "superseded_by" in new else None
    fields = {"login": row["login"], "check_kind": new["check"],
              "detail": {k: v for k, v in new.items() if k not in _SIGNOFF_OWN and not k.endswith("_override")}}
    for k in ("plan_id", "cycle", "role", "signed_at"):
        if k in new:
            fields[k] = new[k]
    if "override_reason" in new:
        fields["override_reason"] = new["override_reason"]
    else:  # an audit row written before the reason was recorded on its own: the reason of an override it carries
        reasons = [v["reason"] for k, v in sorted(new.items()) if k.endswith("_override") and isinstance(v, dict)
                   and "reason" in v]
        if reasons:
            fields["override_reason"] = reasons[0]
    return fields


def _recorded(audit_rows: list[dict]) -> dict[str, dict]:
    """table -> row key -> {"audit": newest audit id, "action": its action, "fields": column -> value}."""
    state: dict[str, dict] = {t: {} for t in _ID_TABLES + ("users", "roles", "db_logins")}

    def put(table, key, row, fields):
        entry = state[table].setdefault(key, {"fields": {}})
        entry["fields"].update(fields)
        entry["audit"], entry["action"] = row["id"], row["action"]

    for row in audit_rows:
        try:
            new = json.loads(row["new"]) if row["new"] else None
        except ValueError:
            continue  # an edited audit row: the chain check reports it
        if not isinstance(new, dict):
            continue
        entity = row["entity"]
        if entity == "roles":
            login, role = new.get("login"), new.get("role")
            if not isinstance(login, str) or not isinstance(role, str):
                continue  # chemo writes text here; anything else names no row (and a list is no key)
            if login not in state["users"]:  # the first role of a login created its users row
                user = {"login": login, "added_by": row["login"]}
                if "added_at" in new:
                    user["added_at"] = new["added_at"]
                put("users", login, row, user)
            put("roles", (login, role), row, {"login": login, "role": role})
            continue
        if entity == "db_logins":
            if isinstance(new.get("db_user"), str) and isinstance(new.get("login"), str):
                put("db_logins", (new["db_user"], new["login"]), row, new)
            continue
        fields = _signoff_fields(row, new) if entity == "signoffs" else new
        if fields is not None:
            put(entity, row["entity_key"], row, fields)
    return state


def _same(recorded, found) -> bool:
    if isinstance(recorded, bool) or isinstance(found, bool):
        return recorded is found
    if isinstance(recorded, (int, float)) and isinstance(found, (int, float)):
        return recorded == found
    return type(recorded) is type(found) and recorded == found


class _Absent:
    def __repr__(self):
        return "(nothing)"


_ABSENT = _Absent()


def _first_difference(found, recorded, path: str):
    """(path, found part, recorded part) of the first place two JSON values differ, or (None, None, None)."""
    if isinstance(found, dict) and isinstance(recorded, dict):
        for k in sorted(set(found) | set(recorded), key=str):
            hit = _first_difference(found.get(k, _ABSENT), recorded.get(k, _ABSENT), f"{path}.{k}")
            if hit[0] is not None:
                return hit
        return None, None, None
    if isinstance(found, list) and isinstance(recorded, list) and len(found) == len(recorded):
        for i, (a, b) in enumerate(zip(found, recorded)):
            hit = _first_difference(a, b, f"{path}[{i}]")
            if hit[0] is not None:
                return hit
        return None, None, None
    if isinstance(found, (dict, list)) or isinstance(recorded, (dict, list)):
        same = json.dumps(found, sort_keys=True, default=str) == json.dumps(recorded, sort_keys=True, default=str)
    else:
        same = _same(recorded, found)
    return (None, None, None) if same else (path, found, recorded)


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _differences(table: str, key, entry: dict, found: dict) -> list[str]:
    out = []
    name = f"{table} row {_key_text(key)}"
    if table in _ID_TABLES:  # a column the audit rows never named must hold its default
        defaults = _DEFAULTS.get(table, {})
        for column in found:
            if column != "id" and column not in entry["fields"] and not _same(defaults.get(column), found[column]):
                out.append(f"{name}: {column} is {_shown(found[column])}, its audit rows record "
                           f"{_shown(defaults.get(column))} (changed outside chemo; audit row {entry['audit']})")
    for column, recorded in entry["fields"].items():
        if column not in found:
            continue  # a key of the audit row that is not a column (cap_override, first_user)
        value = found[column]
        if table == "signoffs" and column == "detail":
            try:
                stored = json.loads(value)
            except (TypeError, ValueError):
                stored = None
            if not isinstance(stored, dict):
                out.append(f"{name}: detail is not the JSON the sign-off wrote: {_shown(value)} "
                           f"(changed outside chemo; audit row {entry['audit']})")
                continue
            for k in sorted(set(stored) | set(recorded)):
                where, now, then = _first_difference(stored.get(k, _ABSENT), recorded.get(k, _ABSENT), f"detail.{k}")
                if where is not None:
                    out.append(f"{name}: {where} is {_shown(now)}, its audit row {entry['audit']} recorded "
                               f"{_shown(then)} (changed outside chemo)")
            continue
        if not _same(recorded, value):
            out.append(f"{name}: {column} is {_shown(value)}, its audit row {entry['audit']} recorded "
                       f"{_shown(recorded)} (changed outside chemo)")
    return out


def _key_text(key) -> str:
    return "/".join(map(str, key)) if isinstance(key, tuple) else str(key)


def _listed(table: str, kind: str, keys: list, total: int, line) -> list[str]:
    """One line per row up to LIST_LIMIT, else one line with the count and the first keys."""
    if total <= LIST_LIMIT:
        return [line(k) for k in keys]
    first = ", ".join(_key_text(k) for k in keys[:5])
    return [f"{table}: {total:,} rows {kind} (rows {first}, ...)"]


def check_rows(store: Store, audit_rows: list[dict]) -> list[str]:
    """Problems of the audited tables against the audit rows that describe them (see the module text)."""
    state = _recorded(audit_rows)
    problems: list[str] = []
    unaudited = "have no audit row (inserted outside chemo, or bulk-loaded without an audit trail)"

    def no_audit(table):
        return lambda k: f"{table} row {_key_text(k)}: no audit row (inserted outside chemo)"

    def missing_line(table, recorded):
        return lambda k: (f"{table} row {_key_text(k)}: missing, its audit row {recorded[k]['audit']} "
                          f"({recorded[k]['action']}) records it (deleted outside chemo)")

    for table in _ID_TABLES:
        recorded = state[table]
        ids = {}
        for key in recorded:
            try:
                ids[int(key)] = key
            except (TypeError, ValueError):
                pass
        seen = set()
        changed = []
        for found in audit_log.rows_with_ids(store, table, ids):
            key = ids[found["id"]]
            seen.add(key)
            diff = _differences(table, key, recorded[key], found)
            if diff:
                changed.append(diff)
        for diff in changed[:LIST_LIMIT]:
            problems += diff
        if len(changed) > LIST_LIMIT:
            problems.append(f"{table}: {len(changed) - LIST_LIMIT:,} more rows differ from their audit rows")
        gone = sorted((k for k in recorded if k not in seen), key=lambda k: (len(str(k)), str(k)))
        problems += _listed(table, "recorded by the audit are missing (deleted outside chemo)", gone, len(gone),
                            missing_line(table, recorded))
        total = audit_log.row_count(store, table)
        if total > len(seen):
            extra = audit_log.ids_without(store, table, ids, LIST_LIMIT + 1)
            problems += _listed(table, unaudited, extra, total - len(seen), no_audit(table))

    for table, columns, key_of in (("users", "login, added_at, added_by", lambda r: r["login"]),
                                   ("roles", "login, role", lambda r: (r["login"], r["role"])),
                                   ("db_logins", "db_user, login, added_at, added_by",
                                    lambda r: (r["db_user"], r["login"]))):
        recorded = state[table]
        rows = audit_log.ordered(store, table, columns)
        seen, extra = set(), []
        for found in rows:
            key = key_of(found)
            if key not in recorded:
                extra.append(key)
                continue
            seen.add(key)
            problems += _differences(table, key, recorded[key], found)
        gone = [k for k in recorded if k not in seen]
        problems += _listed(table, "recorded by the audit are missing (deleted outside chemo)", gone, len(gone),
                            missing_line(table, recorded))
        problems += _listed(table, unaudited, extra, len(extra), no_audit(table))
    return problems
