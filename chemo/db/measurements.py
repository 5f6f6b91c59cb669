"""Named queries: heights and weights."""

from __future__ import annotations

from .store import Store


def latest_weight(store: Store, patient_id: int, on_or_before: str) -> dict | None:
    """The newest weight (weight_kg, weight_text, measured_on) measured on or before the ISO day given."""
    return store.one("SELECT weight_kg, weight_text, measured_on FROM measurements WHERE patient_id = ? "
                     "AND measured_on <= ? ORDER BY measured_on DESC, id DESC LIMIT 1", (patient_id, on_or_before))


def latest_height(store: Store, patient_id: int, on_or_before: str) -> dict | None:
    """The newest height (height_cm, measured_on) measured on or before the ISO day given."""
    return store.one("SELECT height_cm, measured_on FROM measurements WHERE patient_id = ? AND height_cm "
                     "IS NOT NULL AND measured_on <= ? ORDER BY measured_on DESC, id DESC LIMIT 1",
                     (patient_id, on_or_before))


def weights_between(store: Store, patient_id: int, low: str, high: str) -> list[dict]:
    """Every weight (weight_kg, measured_on) measured from ``low`` to ``high`` (ISO days, both included)."""
    return store.query("SELECT weight_kg, measured_on FROM measurements WHERE patient_id = ? AND measured_on "
                       "BETWEEN ? AND ?", (patient_id, low, high))


def add(store: Store, record: dict) -> int:
    return store.insert("measurements", record)
