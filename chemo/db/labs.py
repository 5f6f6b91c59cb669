"""Named queries: lab results, typed and imported."""

from __future__ import annotations

from .store import Store

def newest_each(store: Store, patient_id: int, as_of: str) -> dict[str, dict]:
    """analyte -> the newest result collected at or before ``as_of`` (ISO local time) that counts: final,
    amended or corrected, and not replaced by another row; every analyte in one query."""
    return {r["analyte"]: r for r in store.query(
        "SELECT analyte, value_text, value, unit, uln, uln_text, collected_at, source, comparator FROM ("
        "SELECT analyte, value_text, value, unit, uln, uln_text, collected_at, source, comparator, "
        "row_number() OVER (PARTITION BY analyte ORDER BY collected_at DESC, id DESC) AS newest FROM labs "
        "WHERE patient_id = ? AND collected_at <= ? AND status IN ('final', 'amended', 'corrected') "
        "AND superseded_by IS NULL) ranked WHERE newest = 1", (patient_id, as_of))}


def for_patient(store: Store, patient_id: int) -> list[dict]:
    """Every result of a patient, newest first."""
    return store.query("SELECT id, analyte, value_text, value, unit, uln_text, range_text, collected_at, recorded_by, "
                       "source, status, superseded_by, source_id, source_message, lab_time, comparator "
                       "FROM labs WHERE patient_id = ? ORDER BY collected_at DESC, id DESC", (patient_id,))


def count_for(store: Store, patient_id: int) -> int:
    return store.one("SELECT count(*) AS n FROM labs WHERE patient_id = ?", (patient_id,))["n"]


def by_source_id(store: Store, source: str, source_id: str) -> list[dict]:
    """The rows imported before for one result of the lab (its identity there), oldest first."""
    return store.query("SELECT id, patient_id, analyte, status, value_text, uln_text, collected_at, superseded_by, "
                       "source_file, comparator FROM labs WHERE source = ? AND source_id = ? ORDER BY id", (source, source_id))


def values_of(store: Store, lab_id: int) -> dict | None:
    """(value_text, uln_text, comparator) of one row."""
    return store.one("SELECT value_text, uln_text, comparator FROM labs WHERE id = ?", (lab_id,))


def supersede(store: Store, lab_id: int, by_id: int) -> None:
    store.set_column("labs", lab_id, "superseded_by", by_id)


def add(store: Store, record: dict) -> int:
    return store.insert("labs", record)
