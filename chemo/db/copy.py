"""``chemo db copy``: move a record between databases (SQLite to PostgreSQL and back).

Nothing is lost and nothing is trusted blindly: the source's audit chain must
verify before anything is written, the target must hold no row at all, every
table is copied row by row with its ids in one transaction of the target, and
before that commits the target's chain must verify, every table must count the
same rows on both sides and the chain's head hash must be the same (else it
rolls back: a refused or failed copy writes no row).  A column naming another
row of its own table (a corrected lab's ``superseded_by``) is copied empty and
filled in once the whole table is there (a lapsed sign-off's ``superseded_by`` is copied as it is: its key is
checked at COMMIT).  The audit key travels with the
record: copying from PostgreSQL takes the owner's role (a workstation role
cannot read the key).  Both sides are :class:`chemo.db.store.Store`: the copy
does not know which engine either is.
"""

from __future__ import annotations

from .. import audit
from ..errors import NextStep
from . import audit as audit_log
from .store import Refusal, Store, StoreError

# every table of the record, parents before children (the foreign keys)
TABLES = ("users", "roles", "db_logins", "patients", "measurements", "labs", "prior_exposure", "plans", "prescriptions",
          "signoffs", "administrations", "cycle_delays", "gate_overrides", "toxicities", "allergies",
          "regimen_approvals", "audit", "audit_head", "audit_key")
KEYS = {"users": "login", "roles": "login, role", "db_logins": "db_user, login", "audit_head": "one",
        "audit_key": "one"}  # the rest are ordered by id
# columns that name another row of their own table: copied empty, then filled in once every row of the table is
# there (a correction may point at a row of a later batch, or at a lower id)
# (a lapsed sign-off's ``signoffs.superseded_by`` is not one of these: copied as it is, in id order, its key checked at
# COMMIT (DEFERRABLE INITIALLY DEFERRED); copied empty, two sign-offs of one cycle would both stand and the unique
# index of the standing ones refuse the second)
SELF_REFERENCES = {"labs": ("superseded_by",)}
BATCH = 5_000


def counts(store: Store) -> dict[str, int]:
    return {t: audit_log.row_count(store, t) for t in TABLES}


def head_hash(store: Store) -> str:
    head = audit_log.head(store)
    return head["last_hash"] if head else audit.GENESIS


def check_chain(store: Store, side: str) -> None:
    """Refuse (exit 1) a record whose audit chain or rows do not verify."""
    _, problems = audit.verify(store)
    problems += store.integrity_problems()
    if problems:
        finding, more = f"the {side} record {store.where!r} does not verify: {problems[0]}", len(problems) - 1
        if more:
            raise Refusal(finding + f" (and {more} more; see the audit verification)", finding=finding, more=more,
                          next_steps=(NextStep.AUDIT_VERIFY,), field="db")
        raise Refusal(finding, field="db")


def _rows(store: Store, table: str):
    """Every row of ``table`` in key order, in batches (a 100,000-patient record does not fit in one list)."""
    if table in KEYS:
        yield store.query(f"SELECT * FROM {table} ORDER BY {KEYS[table]}")
        return
    last = None
    while True:
        if last is None:
            batch = store.query(f"SELECT * FROM {table} ORDER BY id LIMIT ?", (BATCH,))
        else:
            batch = store.query(f"SELECT * FROM {table} WHERE id > ? ORDER BY id LIMIT ?", (last, BATCH))
        if not batch:
            return
        yield batch
        last = batch[-1]["id"]


def copy_record(source: Store, target: Store, *, source_checked: bool = False) -> dict:
    """Copy every row of ``source`` into the empty ``target``; returns the counts and the head hash of both."""
    if source.where == target.where:
        raise StoreError(f"{source.where!r}: the source and the target are the same database", field="db")
    if not source_checked:
        check_chain(source, "source")
    with target.transaction():  # a refused or failed copy leaves the target as it was
        before = counts(target)
        if any(before.values()):
            filled = ", ".join(f"{t} {n}" for t, n in before.items() if n)
            raise Refusal(f"the target {target.where!r} is not empty ({filled}): chemo db copy writes only into an "
                          "empty record", field="db")
        for table in TABLES:
            later = []
            refs = SELF_REFERENCES.get(table, ())
            for batch in _rows(source, table):
                if refs:
                    later += [(r["id"], c, r[c]) for r in batch for c in refs if r[c] is not None]
                    batch = [{**r, **{c: None for c in refs}} for r in batch]
                target.insert_rows(table, batch)
            for row_id, column, value in later:
                target.set_column(table, row_id, column, value)
        check_chain(target, "copied")
        result = {"from": {"db": source.where, "rows": counts(source), "head": head_hash(source)},
                  "to": {"db": target.where, "rows": counts(target), "head": head_hash(target)}}
        if result["from"]["rows"] != result["to"]["rows"] or result["from"]["head"] != result["to"]["head"]:
            raise StoreError(f"the copy differs from its source (rows {result['to']['rows']}, head "
                             f"{result['to']['head']}; was the source written to while copying?): nothing was copied",
                             field="db")
    return result
