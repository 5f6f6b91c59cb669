"""Named queries: doses given."""

from __future__ import annotations

from .store import Store


def given(store: Store, plan_id: int, *, before_cycle: int | None = None) -> set[tuple[int, int, str]]:
    """(cycle, day, drug) of every dose of the plan recorded as given (only cycles before ``before_cycle``)."""
    if before_cycle is None:
        rows = store.query("SELECT cycle, day, drug FROM administrations WHERE plan_id = ?", (plan_id,))
    else:
        rows = store.query("SELECT cycle, day, drug FROM administrations WHERE plan_id = ? AND cycle < ?",
                           (plan_id, before_cycle))
    return {(r["cycle"], r["day"], r["drug"]) for r in rows}


def in_cycle(store: Store, plan_id: int, cycle: int) -> list[dict]:
    """(day, drug, dose_mg, bsa_m2, given_at, given_by) of the doses of one cycle given."""
    return store.query("SELECT day, drug, dose_mg, bsa_m2, given_at, given_by FROM administrations "
                       "WHERE plan_id = ? AND cycle = ?", (plan_id, cycle))


def for_patient(store: Store, patient_id: int) -> list[dict]:
    """Every dose the patient was given under any plan, with its plan's regimen, in time order."""
    return store.query(
        "SELECT a.drug, a.dose_mg, a.bsa_m2, a.cycle, a.day, a.given_at, p.regimen_id FROM administrations a "
        "JOIN plans p ON p.id = a.plan_id WHERE p.patient_id = ? ORDER BY a.given_at, a.id", (patient_id,))


def count_for_patient(store: Store, patient_id: int) -> int:
    return store.one(
        "SELECT count(*) AS n FROM administrations a JOIN plans p ON p.id = a.plan_id WHERE p.patient_id = ?",
        (patient_id,))["n"]


def latest_before(store: Store, plan_id: int, cycle: int, day: int) -> dict | None:
    """(cycle, day, given_at) of the dose given last among the days of the plan before ``cycle`` ``day``."""
    return store.one("SELECT cycle, day, given_at FROM administrations WHERE plan_id = ? AND (cycle < ? OR "
                     "(cycle = ? AND day < ?)) ORDER BY given_at DESC LIMIT 1", (plan_id, cycle, cycle, day))


def add(store: Store, record: dict) -> int:
    return store.insert("administrations", record)


def in_plan(store: Store, plan_id: int) -> list[dict]:
    """(cycle, day, drug, dose_mg, bsa_m2, given_at) of every dose of a plan given: the per-day ledger."""
    return store.query("SELECT cycle, day, drug, dose_mg, bsa_m2, given_at FROM administrations WHERE plan_id = ? "
                       "ORDER BY given_at, id", (plan_id,))
