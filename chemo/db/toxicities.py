"""Named queries: adverse events (CTCAE terms and grades) recorded per cycle."""

from __future__ import annotations

from .store import Store


def for_patient(store: Store, patient_id: int) -> list[dict]:
    """Every event of a patient, in the order they occurred."""
    return store.query("SELECT id, plan_id, cycle, term, grade, ctcae_version, occurred_at, note, recorded_at, "
                       "recorded_by FROM toxicities WHERE patient_id = ? ORDER BY occurred_at, id", (patient_id,))


def for_plan(store: Store, plan_id: int) -> list[dict]:
    """Every event recorded under a plan, in the order they occurred."""
    return store.query("SELECT id, cycle, term, grade, occurred_at, note, recorded_by FROM toxicities "
                       "WHERE plan_id = ? ORDER BY occurred_at, id", (plan_id,))


def add(store: Store, record: dict) -> int:
    return store.insert("toxicities", record)


def graded_labs(store: Store, patient_id: int) -> list[dict]:
    """The patient's lab results that count (final, amended, corrected; not replaced), oldest first:
    what CTCAE grades by value are derived from."""
    return store.query("SELECT id, analyte, value_text, value, unit, uln, collected_at, comparator FROM labs "
                       "WHERE patient_id = ? AND status IN ('final', 'amended', 'corrected') "
                       "AND superseded_by IS NULL ORDER BY collected_at, id", (patient_id,))
