"""The writers' locks on PostgreSQL: a write about one patient holds that patient's lock for its checks and the
record-wide (chain) lock only from its first write, so a sign-off's Python work never holds up a writer of
another patient, while two writers of the same patient still take turns (issue 22).

SQLite has one writer per file whatever is asked; there the same calls run under ``BEGIN IMMEDIATE``.
"""

import pytest

from chemo import audit
from chemo.db import StoreError, open_store
from chemo.demo import NURSE, add_ready_patient, add_users, approve_regimens
from chemo.records import add_lab, get_patient, locked_patient

pytestmark = pytest.mark.postgresql


@pytest.fixture
def two_patients(pg_schema):
    where = pg_schema()
    with open_store(where) as store:
        add_users(store)
        approve_regimens(store)  # two pharmacists approve the shipped regimens
        add_ready_patient(store, "L1")
        add_ready_patient(store, "L2")
    return where


def _short_wait(store, ms: int = 300) -> None:
    store.conn.execute(f"SET lock_timeout = {ms}")  # the busy line after 0.3 s instead of 10 s


def test_a_writer_of_another_patient_is_not_held_up_by_checks_in_progress(two_patients):
    with open_store(two_patients) as checking, open_store(two_patients) as other, open_store(two_patients) as same:
        _short_wait(other)
        _short_wait(same)
        with checking.transaction(per_patient=True):
            locked_patient(checking, "L1")
            get_patient(checking, "L1")  # a sign-off's checks of L1 are running (the lock went with the first)
            row = add_lab(other, NURSE, "L2", "platelets", "150 10^9/L")  # L2's writer goes straight through
            assert row["value_text"] == "150 10^9/L"
            with pytest.raises(StoreError, match="busy"):  # L1's second writer waits for the first
                add_lab(same, NURSE, "L1", "platelets", "140 10^9/L")
            assert checking.lock_wait_s < 0.3
        row = add_lab(same, NURSE, "L1", "platelets", "140 10^9/L")  # the first committed: its turn now
        assert row["value_text"] == "140 10^9/L"
        count, problems = audit.verify(other)
        assert problems == []


def test_the_chain_lock_is_held_from_the_first_write_to_commit(two_patients):
    with open_store(two_patients) as first, open_store(two_patients) as second:
        _short_wait(second)
        with first.transaction(per_patient=True):
            patient = locked_patient(first, "L1")
            audit.append(first, NURSE, "note", "patients", patient["id"], None, {"note": "chain held"})
            with pytest.raises(StoreError, match="busy"):  # another patient's write must wait for the chain
                add_lab(second, NURSE, "L2", "platelets", "150 10^9/L")
        add_lab(second, NURSE, "L2", "platelets", "150 10^9/L")
        assert audit.verify(second)[1] == []


def test_a_patient_lock_after_the_chain_lock_is_a_bug_not_a_deadlock(two_patients):
    with open_store(two_patients) as store:
        with pytest.raises(RuntimeError, match="after the chain lock"):
            with store.transaction(per_patient=True):
                first = get_patient(store, "L1")
                store.lock_patient(first["id"])
                store.lock_chain()
                store.lock_patient(get_patient(store, "L2")["id"])
        assert not store.in_transaction
