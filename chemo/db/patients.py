"""Named queries: patients."""

from __future__ import annotations

from .store import Store


def by_mrn(store: Store, mrn: str) -> dict | None:
    return store.one("SELECT * FROM patients WHERE mrn = ?", (mrn,))


def mrn_of(store: Store, patient_id: int) -> str | None:
    row = store.one("SELECT mrn FROM patients WHERE id = ?", (patient_id,))
    return row["mrn"] if row else None


def listing(store: Store) -> list[dict]:
    """Every patient (mrn, name, sex, born) by MRN."""
    return store.query("SELECT mrn, name, sex, born FROM patients ORDER BY mrn")


def count(store: Store) -> int:
    return store.one("SELECT count(*) AS n FROM patients")["n"]


def add(store: Store, record: dict) -> int:
    return store.insert("patients", record)
