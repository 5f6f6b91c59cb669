"""The audit trail: every write leaves a hash-chained row; edits, deletions and reordering are found."""

import json

import pytest

from chemo import audit
from chemo.demo import NURSE, PRESCRIBER, add_ready_patient, add_users, approve_regimens
from chemo.records import add_lab
from chemo.db import open_store


@pytest.fixture
def store(new_db):
    with open_store(new_db("audit.db")) as s:
        add_users(s)
        approve_regimens(s)  # two pharmacists approve the shipped regimens
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
    store.execute(sql, params)


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


# ------------------------------------------------------------------ the rows the chain describes

@pytest.fixture(scope="module")
def demo_template(tmp_path_factory):
    from chemo.demo import build_demo

    path = tmp_path_factory.mktemp("audit-demo") / "demo.db"
    with open_store(path) as s:
        build_demo(s)
        s.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture
def demo_path(demo_template, engine, tmp_path, request):
    from conftest import clone_db

    return clone_db(demo_template, engine, tmp_path, request, "demo.db")


@pytest.fixture
def demo(demo_path):
    with open_store(demo_path, create=False) as s:
        yield s


def _row_problems(store, prefix):
    _, problems = audit.verify(store)
    return [p for p in problems if p.startswith(prefix)]


def test_an_untouched_demo_database_verifies_intact(demo):
    count, problems = audit.verify(demo)
    assert count > 200 and problems == []


def test_an_edited_lab_value_is_found(demo):
    lab = demo.one("SELECT id FROM labs WHERE analyte = 'anc' ORDER BY collected_at DESC, id DESC LIMIT 1")
    demo.execute("UPDATE labs SET value = 50, value_text = '50 10^9/L' WHERE id = ?", (lab["id"],))
    found = _row_problems(demo, f"labs row {lab['id']}:")
    assert any(p.startswith(f"labs row {lab['id']}: value is 50.0,") and "changed outside chemo" in p for p in found)
    assert any(p.startswith(f"labs row {lab['id']}: value_text is '50 10^9/L',") for p in found)
    assert len(found) == 2


def test_an_edited_administration_dose_is_found(demo):
    row = demo.one("SELECT id, dose_mg FROM administrations ORDER BY id LIMIT 1")
    demo.execute("UPDATE administrations SET dose_mg = dose_mg * 2 WHERE id = ?", (row["id"],))
    found = _row_problems(demo, f"administrations row {row['id']}:")
    assert found == [f"administrations row {row['id']}: dose_mg is {row['dose_mg'] * 2!r}, its audit row "
                     f"{_audit_id(demo, 'administrations', row['id'])} recorded {row['dose_mg']!r} (changed outside chemo)"]


def _audit_id(store, entity, key):
    return store.one("SELECT max(id) AS n FROM audit WHERE entity = ? AND entity_key = ?", (entity, str(key)))["n"]


def test_a_deleted_prior_exposure_is_found(demo):
    row = demo.one("SELECT id FROM prior_exposure ORDER BY id LIMIT 1")
    demo.execute("DELETE FROM prior_exposure WHERE id = ?", (row["id"],))
    found = _row_problems(demo, "prior_exposure")
    assert found == [f"prior_exposure row {row['id']}: missing, its audit row {_audit_id(demo, 'prior_exposure', row['id'])} "
                     "(prior.add) records it (deleted outside chemo)"]


def test_an_edited_prior_exposure_is_found(demo):
    row = demo.one("SELECT id FROM prior_exposure ORDER BY id LIMIT 1")
    demo.execute("UPDATE prior_exposure SET mg_m2 = 10, dose_text = '10 mg/m²' WHERE id = ?", (row["id"],))
    fields = {p.split(": ")[1].split(" is ")[0] for p in _row_problems(demo, f"prior_exposure row {row['id']}:")}
    assert fields == {"mg_m2", "dose_text"}


def test_an_inserted_lab_row_without_audit_is_found(demo):
    with demo.transaction():  # straight into the table, as a database tool would, without an audit row
        lid = demo.insert("labs", {**_bench_lab(1), "value_text": "9 10^9/L", "value": 9,
                                   "collected_at": "2030-01-01T00:00:00", "recorded_by": "demo-nurse"})
    assert _row_problems(demo, "labs") == [f"labs row {lid}: no audit row (inserted outside chemo)"]


def test_a_renumbered_row_is_found_as_deleted_and_inserted(demo):
    demo.execute("UPDATE labs SET id = 100000 WHERE id = 3")
    found = _row_problems(demo, "labs")
    assert any(p.startswith("labs row 3: missing") for p in found)
    assert any(p.startswith("labs row 100000: no audit row") for p in found)


def test_edited_measurement_plan_and_patient_are_found(demo):
    demo.execute("UPDATE measurements SET weight_kg = weight_kg + 10 WHERE id = 1")
    demo.execute("UPDATE plans SET dosing_height_cm = 190 WHERE id = 2")
    demo.execute("UPDATE patients SET born = '1930-01-01' WHERE id = 3")
    _, problems = audit.verify(demo)
    assert any(p.startswith("measurements row 1: weight_kg is") for p in problems)
    assert any(p.startswith("plans row 2: dosing_height_cm is 190.0") for p in problems)
    assert any(p.startswith("patients row 3: born is '1930-01-01'") for p in problems)


def test_a_superseded_plan_verifies_and_a_reactivated_one_is_found(store):
    from chemo.demo import PRESCRIBER
    from chemo.records import start_plan

    start_plan(store, PRESCRIBER, "A1", "doxorubicin-dacarbazine")
    assert audit.verify(store)[1] == []
    old = store.one("SELECT id FROM plans WHERE status = 'superseded'")["id"]
    store.execute("UPDATE plans SET status = 'active' WHERE id = ?", (old,))
    found = _row_problems(store, f"plans row {old}:")
    assert len(found) == 1 and found[0].startswith(f"plans row {old}: status is 'active', its audit row ")
    assert "recorded 'superseded'" in found[0]


def test_an_edited_signoff_is_found(demo):
    row = demo.one("SELECT id, detail FROM signoffs WHERE check_kind = 'dose' ORDER BY id LIMIT 1")
    detail = json.loads(row["detail"])
    first = detail["doses"][0]["dose_mg"]
    detail["doses"][0]["dose_mg"] = first * 3
    demo.execute("UPDATE signoffs SET detail = ?, override_reason = 'a reason typed in later' WHERE id = ?",
                      (json.dumps(detail), row["id"]))
    found = _row_problems(demo, f"signoffs row {row['id']}:")
    assert any(p.startswith(f"signoffs row {row['id']}: detail.doses[0].dose_mg is {first * 3!r}") for p in found)
    assert any(p.startswith(f"signoffs row {row['id']}: override_reason is 'a reason typed in later'") for p in found)


def test_users_and_roles_are_checked(demo):
    demo.execute("INSERT INTO roles (login, role) VALUES ('demo-nurse', 'pharmacist')")
    demo.execute("UPDATE users SET added_at = '2000-01-01T00:00:00' WHERE login = 'demo-prescriber'")
    _, problems = audit.verify(demo)
    assert "roles row demo-nurse/pharmacist: no audit row (inserted outside chemo)" in problems
    assert any(p.startswith("users row demo-prescriber: added_at is '2000-01-01T00:00:00'") for p in problems)


def test_audit_rows_that_recorded_fewer_fields_still_verify(store):
    """An audit row written before a field was recorded (users.added_at) checks what it did record."""
    with store.transaction():
        store.execute("INSERT INTO users (login, added_at, added_by) VALUES ('old-nurse', '2020-01-01', ?)",
                           (NURSE.replace("nurse", "pharmacist"),))
        store.execute("INSERT INTO roles (login, role) VALUES ('old-nurse', 'nurse')")
        audit.append(store, NURSE.replace("nurse", "pharmacist"), "user.add", "roles", "old-nurse", None,
                     {"login": "old-nurse", "role": "nurse", "first_user": False})
    assert audit.verify(store)[1] == []


def test_many_rows_without_audit_are_counted_in_one_line(store):
    """A bulk load (benchmarks/bench_store.py writes no audit rows) is summed up per table, not listed row by row."""
    pid = store.one("SELECT id FROM patients")["id"]
    n = audit.LIST_LIMIT + 30
    with store.transaction():
        for _ in range(n):
            store.insert("labs", _bench_lab(pid))
    found = _row_problems(store, "labs")
    assert len(found) == 1 and found[0].startswith(f"labs: {n:,} rows have no audit row")


def _bench_lab(pid):
    return {"patient_id": pid, "analyte": "anc", "value_text": "3 10^9/L", "value": 3, "unit": "10^9/L",
            "collected_at": "2024-01-01T00:00:00", "recorded_at": "2024-01-01T00:00:00", "recorded_by": "bench"}


def test_a_database_without_any_audit_row_says_so(new_db):
    with open_store(new_db("bulk.db")) as s:
        with s.transaction():
            s.execute("INSERT INTO users VALUES ('bench', '2024-01-01', 'bench')")
            s.execute("INSERT INTO patients (id, mrn, name, sex, born, created_at, created_by) "
                           "VALUES (1, 'B1', 'Bench', 'female', '1970-01-01', '2024-01-01', 'bench')")
            for _ in range(500):
                s.insert("labs", _bench_lab(1))
        count, problems = audit.verify(s)
    assert count == 0
    assert problems[0].startswith("the audit is empty but the audited tables hold rows")
    assert "labs: 500 rows have no audit row" in "\n".join(problems)
    assert len(problems) == 4  # the headline, labs, patients row 1, users row bench


def test_audit_verify_command_names_each_problem_and_caps_the_lines(demo_path, runner, chemo_cli):
    from conftest import raw_execute

    assert runner.invoke(chemo_cli, ["audit", "verify", "--db", str(demo_path)]).exit_code == 0
    # every lab, patient and measurement: one problem line per row up to LIST_LIMIT per table, then a count
    raw_execute(demo_path, "UPDATE labs SET value = value + 1")
    raw_execute(demo_path, "UPDATE patients SET name = name || ' x'")
    raw_execute(demo_path, "UPDATE measurements SET weight_kg = weight_kg + 1")
    raw_execute(demo_path, "UPDATE administrations SET dose_mg = 1 WHERE id = 1")
    result = runner.invoke(chemo_cli, ["audit", "verify", "--db", str(demo_path)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines[-1].endswith("problems: NOT intact")
    assert lines[-2].startswith("... and ") and "more problems" in lines[-2]
    assert len(lines) == 52
    total = int(lines[-1].split(", ")[1].split()[0])
    assert total == 3 * (audit.LIST_LIMIT + 1) + 1 and lines[-2] == f"... and {total - 50} more problems (--json lists them all)"
    data = json.loads(runner.invoke(chemo_cli, ["audit", "verify", "--db", str(demo_path), "--json"]).output)
    assert not data["intact"]
    assert any(p.startswith("administrations row 1: dose_mg is 1.0") for p in data["problems"])
    assert any(p.startswith("labs: ") and "more rows differ" in p for p in data["problems"])


@pytest.mark.parametrize("entity, new", [("roles", {"login": ["x"], "role": "nurse"}),
                                         ("roles", {"login": "x", "role": {"a": 1}}),
                                         ("db_logins", {"db_user": ["u"], "login": "x"})])
def test_an_audit_row_whose_names_are_not_text_is_no_traceback(store, entity, new):
    # on PostgreSQL any workstation role appends audit rows of its own through chemo_audit_append: one naming a
    # login as a JSON list must not stop `audit verify` for everyone; the record's rows still verify
    with store.transaction():
        audit.append(store, NURSE, "role.add", entity, None, None, new)
    count, problems = audit.verify(store)
    assert count > 10 and problems == []
