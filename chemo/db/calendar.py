"""Named queries: the treatment calendar's delays and the prescribers' gate overrides (issue 19)."""

from __future__ import annotations

from .store import Store


def delays(store: Store, plan_id: int) -> list[dict]:
    """Every delay (or bringing forward) of the plan's cycles, oldest first."""
    return store.query("SELECT * FROM cycle_delays WHERE plan_id = ? ORDER BY id", (plan_id,))


def add_delay(store: Store, record: dict) -> int:
    return store.insert("cycle_delays", record)


def overrides(store: Store, plan_id: int, cycle: int | None = None) -> list[dict]:
    """The gate overrides of the plan (of one cycle), oldest first."""
    if cycle is None:
        return store.query("SELECT * FROM gate_overrides WHERE plan_id = ? ORDER BY id", (plan_id,))
    return store.query("SELECT * FROM gate_overrides WHERE plan_id = ? AND cycle = ? ORDER BY id", (plan_id, cycle))


def add_override(store: Store, record: dict) -> int:
    return store.insert("gate_overrides", record)


def first_days(store: Store, plan_id: int) -> dict:
    """cycle -> the earliest ``given_at`` of a dose of that cycle (its actual day 1)."""
    rows = store.query("SELECT cycle, min(given_at) AS first FROM administrations WHERE plan_id = ? GROUP BY cycle",
                       (plan_id,))
    return {r["cycle"]: r["first"] for r in rows}
