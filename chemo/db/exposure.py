"""Named queries: anthracycline given before the record (prior exposure)."""

from __future__ import annotations

from .store import Store


def for_patient(store: Store, patient_id: int) -> list[dict]:
    """(drug, dose_text, mg_m2, note) of every prior exposure, in the order recorded."""
    return store.query("SELECT drug, dose_text, mg_m2, note FROM prior_exposure WHERE patient_id = ? ORDER BY id",
                       (patient_id,))


def add(store: Store, record: dict) -> int:
    return store.insert("prior_exposure", record)
