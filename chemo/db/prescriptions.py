"""Named queries: prescriptions (a prescriber's order of one cycle).

Rows are only ever added: the standing prescription of a plan's cycle is its newest row
(``supersedes`` names the row it replaced), so a superseded order stays in the record as written.
"""

from __future__ import annotations

from .store import Store


def standing(store: Store, plan_id: int, cycle: int) -> dict | None:
    """The newest prescription of a plan's cycle (every column), or None."""
    return store.one("SELECT * FROM prescriptions WHERE plan_id = ? AND cycle = ? ORDER BY id DESC LIMIT 1",
                     (plan_id, cycle))


def by_id(store: Store, prescription_id: int) -> dict | None:
    return store.one("SELECT * FROM prescriptions WHERE id = ?", (prescription_id,))


def for_plan(store: Store, plan_id: int, cycle: int | None = None) -> list[dict]:
    """Every prescription of a plan (of one cycle), oldest first."""
    if cycle is None:
        return store.query("SELECT * FROM prescriptions WHERE plan_id = ? ORDER BY cycle, id", (plan_id,))
    return store.query("SELECT * FROM prescriptions WHERE plan_id = ? AND cycle = ? ORDER BY id", (plan_id, cycle))


def for_patient(store: Store, patient_id: int, cycle: int | None = None) -> list[dict]:
    """Every prescription of every plan of a patient (of one cycle), with the plan's regimen and status."""
    sql = ("SELECT r.*, p.regimen_id, p.status AS plan_status FROM prescriptions r JOIN plans p ON p.id = r.plan_id "
           "WHERE p.patient_id = ?")
    args: tuple = (patient_id,)
    if cycle is not None:
        sql += " AND r.cycle = ?"
        args += (cycle,)
    return store.query(sql + " ORDER BY r.plan_id, r.cycle, r.id", args)


def add(store: Store, record: dict) -> int:
    return store.insert("prescriptions", record)
