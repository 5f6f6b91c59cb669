"""Named queries: the dose and readiness sign-offs of a cycle."""

from __future__ import annotations

from .store import Store


def for_cycle(store: Store, plan_id: int, cycle: int) -> dict:
    """The sign-offs of one cycle by check kind (``dose``, ``readiness``), every column."""
    return {r["check_kind"]: r for r in store.query(
        "SELECT * FROM signoffs WHERE plan_id = ? AND cycle = ?", (plan_id, cycle))}


def dose_detail(store: Store, plan_id: int, cycle: int) -> str | None:
    """The ``detail`` (JSON text) of a cycle's dose sign-off; None when it has none."""
    row = store.one("SELECT detail FROM signoffs WHERE plan_id = ? AND cycle = ? AND check_kind = 'dose'",
                    (plan_id, cycle))
    return row["detail"] if row else None


def dose_details(store: Store, plan_id: int) -> dict[int, str]:
    """cycle -> the ``detail`` (JSON text) of its dose sign-off, for every cycle of a plan signed: one query."""
    return {r["cycle"]: r["detail"] for r in store.query(
        "SELECT cycle, detail FROM signoffs WHERE plan_id = ? AND check_kind = 'dose'", (plan_id,))}


def for_plan(store: Store, plan_id: int) -> list[dict]:
    """(cycle, check_kind, login, signed_at, detail) of every sign-off of a plan, in the order signed."""
    return store.query("SELECT cycle, check_kind, login, signed_at, detail FROM signoffs WHERE plan_id = ? "
                       "ORDER BY id", (plan_id,))


def add(store: Store, record: dict) -> int:
    return store.insert("signoffs", record)
