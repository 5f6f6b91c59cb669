"""The keyed audit chain on both engines: the issue's attacks made by someone who can write every table (the SQLite
file's owner, a PostgreSQL superuser) are found by ``audit verify``, and a record whose chain predates the key still
verifies after the upgrade, its old rows anchored by the first keyed row."""

from __future__ import annotations

import json

import pytest

from chemo import audit
from chemo.db import open_store
from chemo.demo import NURSE, PHARMACIST, add_ready_patient, add_users, approve_regimens
from chemo.records import add_lab
from chemo.roles import map_login


@pytest.fixture
def store(new_db):
    with open_store(new_db("keyed.db")) as s:
        add_users(s)
        approve_regimens(s)  # two pharmacists approve the shipped regimens
        add_ready_patient(s, "K1")
        yield s


def problems(store):
    return audit.verify(store)[1]


def test_a_new_record_is_keyed_from_its_first_row_and_verifies(store):
    assert audit.verify(store)[0] > 5 and problems(store) == []
    if store.engine == "sqlite":
        assert store.one("SELECT since_id FROM audit_key")["since_id"] == 1


def test_a_db_logins_row_inserted_outside_chemo_is_found(store):
    store.execute("INSERT INTO db_logins VALUES (?, ?, ?, ?)", (NURSE, PHARMACIST, "2026-01-01T00:00:00", NURSE))
    assert f"db_logins row {NURSE}/{PHARMACIST}: no audit row (inserted outside chemo)" in problems(store)


def test_a_mapping_made_by_chemo_verifies_and_an_edited_one_is_found(store):
    map_login(store, PHARMACIST, "ward4", NURSE)
    assert problems(store) == []
    store.execute("UPDATE db_logins SET added_by = ? WHERE db_user = 'ward4'", (NURSE,))
    assert any(p.startswith(f"db_logins row ward4/{NURSE}: added_by is {NURSE!r}") for p in problems(store))


@pytest.mark.parametrize("sql", ["UPDATE labs SET status = 'entered-in-error' WHERE id = ?",
                                 "UPDATE labs SET superseded_by = id WHERE id = ?"])
def test_a_failing_lab_hidden_by_its_status_or_superseded_by_is_found(store, sql):
    add_lab(store, NURSE, "K1", "anc", "0.6 10^9/L")
    lab = store.one("SELECT max(id) AS id FROM labs")["id"]
    store.execute(sql, (lab,))
    column = "status" if "status" in sql else "superseded_by"
    assert any(p.startswith(f"labs row {lab}: {column} is ") and "changed outside chemo" in p for p in problems(store))


def _forge_signoff(store, hashing):
    plan = store.one("SELECT id FROM plans")["id"]
    store.execute("INSERT INTO signoffs (id, plan_id, cycle, check_kind, login, role, signed_at, override_reason, "
                  "detail) VALUES (77, ?, 1, 'dose', ?, 'pharmacist', '2026-01-01T09:00:00', NULL, '{}')",
                  (plan, PHARMACIST))
    last = store.one("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1")
    row = {"id": last["id"] + 1, "at": "2026-01-01T09:00:00.000000Z", "login": PHARMACIST, "action": "signoff",
           "entity": "signoffs", "entity_key": "77", "old": None,
           "new": json.dumps({"plan_id": plan, "cycle": 1, "check": "dose", "role": "pharmacist",
                              "signed_at": "2026-01-01T09:00:00"}), "prev_hash": last["hash"]}
    row["hash"] = hashing(row)
    store.execute("INSERT INTO audit (id, at, login, action, entity, entity_key, old, new, prev_hash, hash) "
                  "VALUES (:id, :at, :login, :action, :entity, :entity_key, :old, :new, :prev_hash, :hash)", row)
    store.execute("UPDATE audit_head SET last_id = ?, last_hash = ?, rows = rows + 1", (row["id"], row["hash"]))
    return row["id"]


@pytest.mark.parametrize("hashing", [audit.row_hash, lambda row: audit.keyed_hash("ab" * 32, row)],
                         ids=["unkeyed chain recomputed", "a guessed key"])
def test_a_forged_signoff_with_a_recomputed_chain_is_found(store, hashing):
    forged = _forge_signoff(store, hashing)
    assert f"audit row {forged}: its contents do not match its hash (edited)" in problems(store)


def _as_before_the_key(store):
    """The record as a chemo before 0005_keyed_audit left it: every row hashed with the unkeyed SHA-256, no key."""
    prev = audit.GENESIS
    for row in store.query("SELECT * FROM audit ORDER BY id"):
        row["prev_hash"] = prev
        row["hash"] = prev = audit.row_hash(row)
        store.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?", (row["prev_hash"], row["hash"], row["id"]))
    store.execute("UPDATE audit_head SET last_hash = ?", (prev,))
    store.execute("DELETE FROM audit_key")


def test_an_unkeyed_record_verifies_after_the_upgrade_and_its_old_rows_stay_anchored(store):
    _as_before_the_key(store)
    assert problems(store) == []  # the old chain as it was
    old_rows = audit.verify(store)[0]
    add_lab(store, NURSE, "K1", "platelets", "180 10^9/L")  # the first write after the upgrade makes the key
    assert problems(store) == []
    first_keyed = old_rows + 1
    # someone rewrites an old row and recomputes the unkeyed chain up to the keyed row: the keyed link breaks
    store.execute("UPDATE audit SET login = 'mallory' WHERE id = 2")
    prev = store.one("SELECT prev_hash FROM audit WHERE id = 2")["prev_hash"]
    for row in store.query("SELECT * FROM audit WHERE id >= 2 AND id < ? ORDER BY id", (first_keyed,)):
        row["prev_hash"] = prev
        row["hash"] = prev = audit.row_hash(row)
        store.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?", (row["prev_hash"], row["hash"], row["id"]))
    found = problems(store)
    assert f"audit row {first_keyed}: does not follow the row before it (deleted or reordered rows)" in found


@pytest.mark.postgresql
def test_the_server_computes_the_same_keyed_hash_as_chemo(pg_schema):
    with open_store(pg_schema()) as store:
        row = {"id": 7, "at": "2026-01-01T00:00:00Z", "login": "zoë", "action": "lab.add", "entity": "labs",
               "entity_key": None, "old": None, "new": '{"value_text":"1,5 ×10⁹/L: 2"}', "prev_hash": "0" * 64}
        key = "0123456789abcdef" * 4
        on_server = store.one("SELECT chemo_hmac(?, chemo_audit_payload(:id, :at, :login, :action, :entity, "
                              ":entity_key, :old, :new, :prev_hash)) AS h".replace("?", ":key"), {**row, "key": key})
        assert on_server["h"] == audit.keyed_hash(key, row)


def test_a_change_to_any_column_of_any_audited_table_is_found(tmp_path):
    """Every column of every audited table, changed in the first row that has it (check constraints and foreign
    keys off, as a file editor would): audit verify names a problem each time."""
    import shutil
    import sqlite3

    from chemo.audit import _ID_TABLES
    from chemo.demo import build_demo

    demo = tmp_path / "demo.db"
    with open_store(demo) as store:
        build_demo(store)
        map_login(store, PHARMACIST, "ward4", NURSE)
        add_lab(store, NURSE, "DEMO-001", "anc", "0.6 10^9/L")
        store.execute("UPDATE labs SET superseded_by = NULL")  # a changed value of every column, NULL too
    missed, tried = [], 0
    for table in (*_ID_TABLES, "users", "roles", "db_logins"):
        conn = sqlite3.connect(demo)
        columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        conn.close()
        for column in columns:
            if column == "id":
                continue
            target = tmp_path / f"{table}-{column}.db"
            shutil.copyfile(demo, target)
            conn = sqlite3.connect(target)
            conn.execute("PRAGMA ignore_check_constraints = ON")
            row = conn.execute(f"SELECT rowid, {column} FROM {table} ORDER BY rowid LIMIT 1").fetchone()
            if row is None:
                continue
            value = row[1]
            changed = (1 if value is None else value + 1000 if isinstance(value, (int, float)) else value + "x")
            conn.execute(f"UPDATE {table} SET {column} = ? WHERE rowid = ?", (changed, row[0]))
            conn.commit()
            conn.close()
            tried += 1
            with open_store(target, create=False) as store:
                if not audit.verify(store)[1]:
                    missed.append(f"{table}.{column}")
    assert tried > 60 and missed == []
