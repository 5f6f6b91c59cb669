"""Named queries: a patient's allergies."""

from __future__ import annotations

from .store import Store


def for_patient(store: Store, patient_id: int) -> list[dict]:
    """Every allergy of a patient, in the order recorded."""
    return store.query("SELECT id, substance, drug, drug_class, reaction, severity, recorded_at, recorded_by "
                       "FROM allergies WHERE patient_id = ? ORDER BY id", (patient_id,))


def add(store: Store, record: dict) -> int:
    return store.insert("allergies", record)
