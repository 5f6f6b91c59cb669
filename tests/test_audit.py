"""The audit trail: every write leaves a hash-chained row; edits, deletions and reordering are found."""

import json

import pytest

from chemo import audit
from chemo.demo import NURSE, PRESCRIBER, add_ready_patient, add_users
from chemo.records import add_lab
from chemo.store import open_store


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "audit.db") as s:
        add_users(s)
        add_ready_patient(s, "A1")
        yield s


def test_every_write_appends_one_audit_row_with_user_old_and_new(store):
    before = store.one("SELECT count(*) AS n FROM audit")["n"]
    add_lab(store, NURSE, "A1", "platelets", "180 10^9/L")
    rows = store.query("SELECT * FROM audit ORDER BY id")
    assert len(rows) == before + 1
    last = rows[-1]
    assert (last["login"], last["action"], last["entity"]) == (NURSE, "lab.add", "labs")
    assert json.loads(last["new"])["value_text"] == "180 10^9/L"
    assert last["old"] is None and last["at"].endswith("Z")
    assert last["prev_hash"] == rows[-2]["hash"]


def test_an_untouched_chain_verifies(store):
    count, problems = audit.verify(store)
    assert count > 10 and problems == []


def _tamper(store, sql, params=()):
    store.conn.execute(sql, params)


def test_an_edited_row_is_found(store):
    _tamper(store, "UPDATE audit SET new = replace(new, '250', '25') WHERE action = 'lab.add' AND new LIKE '%250%'")
    _, problems = audit.verify(store)
    assert any("do not match its hash (edited)" in p for p in problems)


def test_an_edited_user_is_found(store):
    _tamper(store, "UPDATE audit SET login = 'mallory' WHERE id = 3")
    _, problems = audit.verify(store)
    assert problems and "row 3" in problems[0]


def test_a_deleted_row_is_found(store):
    _tamper(store, "DELETE FROM audit WHERE id = 4")
    _, problems = audit.verify(store)
    assert any("row 5" in p and "deleted" in p for p in problems)


def test_a_deleted_last_row_is_found(store):
    last = store.one("SELECT max(id) AS n FROM audit")["n"]
    _tamper(store, "DELETE FROM audit WHERE id = ?", (last,))
    _, problems = audit.verify(store)
    assert any(f"should be row {last}" in p for p in problems)


def test_reordered_rows_are_found(store):
    a = store.one("SELECT * FROM audit WHERE id = 5")
    b = store.one("SELECT * FROM audit WHERE id = 6")
    cols = [c for c in a if c != "id"]
    for row, other in ((a, b), (b, a)):
        sets = ", ".join(f"{c} = ?" for c in cols)
        _tamper(store, f"UPDATE audit SET {sets} WHERE id = ?", [other[c] for c in cols] + [row["id"]])
    _, problems = audit.verify(store)
    assert any("does not follow" in p for p in problems)


def test_renumbered_rows_are_found(store):
    _tamper(store, "UPDATE audit SET id = 1000 WHERE id = 5")
    _tamper(store, "UPDATE audit SET id = 5 WHERE id = 6")
    _tamper(store, "UPDATE audit SET id = 6 WHERE id = 1000")
    _, problems = audit.verify(store)
    assert problems


def test_a_refused_write_leaves_no_audit_row(store):
    before = store.one("SELECT count(*) AS n, max(hash) AS h FROM audit")
    from chemo.errors import ChemoError

    with pytest.raises(ChemoError):
        add_lab(store, PRESCRIBER, "A1", "platelets", "5 g/dL")
    with pytest.raises(ChemoError):
        add_lab(store, "nobody", "A1", "platelets", "150 10^9/L")
    assert store.one("SELECT count(*) AS n, max(hash) AS h FROM audit") == before
    assert audit.verify(store)[1] == []
