"""Named queries: the dose and readiness sign-offs of a cycle.

One sign-off of a plan, cycle and check stands: the one not superseded (``superseded_by IS NULL``; a lapsed dose
sign-off signed again is kept, marked with the id of the one that replaced it).  Every reader here reads the
standing ones; :func:`history` reads them all.
"""

from __future__ import annotations

from .store import Store, StoreError

CURRENT = "superseded_by IS NULL"


def for_cycle(store: Store, plan_id: int, cycle: int) -> dict:
    """The standing sign-offs of one cycle by check kind (``dose``, ``readiness``), every column."""
    return {r["check_kind"]: r for r in store.query(
        f"SELECT * FROM signoffs WHERE plan_id = ? AND cycle = ? AND {CURRENT}", (plan_id, cycle))}


def dose_detail(store: Store, plan_id: int, cycle: int) -> str | None:
    """The ``detail`` (JSON text) of a cycle's standing dose sign-off; None when it has none."""
    row = store.one(f"SELECT detail FROM signoffs WHERE plan_id = ? AND cycle = ? AND check_kind = 'dose' AND {CURRENT}",
                    (plan_id, cycle))
    return row["detail"] if row else None


def dose_details(store: Store, plan_id: int) -> dict[int, str]:
    """cycle -> the ``detail`` (JSON text) of its standing dose sign-off, for every cycle of a plan signed: one query."""
    return {r["cycle"]: r["detail"] for r in store.query(
        f"SELECT cycle, detail FROM signoffs WHERE plan_id = ? AND check_kind = 'dose' AND {CURRENT}", (plan_id,))}


def for_plan(store: Store, plan_id: int) -> list[dict]:
    """(cycle, check_kind, login, signed_at, detail) of every standing sign-off of a plan, in the order signed."""
    return store.query("SELECT cycle, check_kind, login, signed_at, detail FROM signoffs WHERE plan_id = ? "
                       f"AND {CURRENT} ORDER BY id", (plan_id,))


def add(store: Store, record: dict) -> int:
    return store.insert("signoffs", record)


def replace(store: Store, old_id: int, record: dict) -> int:
    """Sign again: ``old_id`` marked superseded by the new row, then the new row; returns its id.  The mark goes
    first (one row of a plan, cycle and check stands at every statement), naming the id the new row takes: the next
    after the largest, under the record-wide writers' lock so no other writer takes it in between."""
    store.lock_chain()
    new_id = store.one("SELECT coalesce(max(id), 0) + 1 AS n FROM signoffs")["n"]
    store.set_column("signoffs", old_id, "superseded_by", new_id)
    got = store.insert("signoffs", {"id": new_id, **record})
    if got != new_id:  # pragma: no cover - the writers' lock makes the next id this one
        raise StoreError(f"signoffs: the sign-off written is row {got}, the lapsed one was marked for row {new_id}",
                         field="db")
    return new_id
