"""Named queries: treatment plans."""

from __future__ import annotations

from .store import Store


def active(store: Store, patient_id: int) -> dict | None:
    """The patient's active plan (the newest, should there be two)."""
    return store.one("SELECT * FROM plans WHERE patient_id = ? AND status = 'active' ORDER BY id DESC LIMIT 1",
                     (patient_id,))


def all_active(store: Store, patient_id: int) -> list[dict]:
    """(id, regimen_id) of every active plan of the patient."""
    return store.query("SELECT id, regimen_id FROM plans WHERE patient_id = ? AND status = 'active'", (patient_id,))


def for_patient(store: Store, patient_id: int) -> list[dict]:
    return store.query("SELECT id, regimen_id, start_date, planned_cycles, dosing_weight_kg, status "
                       "FROM plans WHERE patient_id = ? ORDER BY id", (patient_id,))


def supersede(store: Store, plan_id: int) -> None:
    store.set_column("plans", plan_id, "status", "superseded")


def add(store: Store, record: dict) -> int:
    return store.insert("plans", record)
