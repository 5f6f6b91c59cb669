"""chemo db copy: a record moves from SQLite to PostgreSQL and back with nothing lost (issue 9)."""

import json

import pytest

from chemo.db.copy import TABLES

pytestmark = pytest.mark.postgresql  # every test here needs the PostgreSQL server


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):
    from chemo.demo import build_demo
    from chemo.db import open_store

    path = tmp_path_factory.mktemp("copy") / "demo.db"
    with open_store(path) as store:
        build_demo(store)
    return path


def copy(runner, chemo_cli, *args):
    return runner.invoke(chemo_cli, ["db", "copy", *map(str, args)])


def test_sqlite_to_postgresql_and_back_loses_nothing(demo_file, pg_schema, tmp_path, runner, chemo_cli):
    url = pg_schema()
    there = copy(runner, chemo_cli, demo_file, url, "--json")
    assert there.exit_code == 0, there.output
    data = json.loads(there.stdout)
    assert data["from"]["rows"] == data["to"]["rows"] and data["from"]["rows"]["patients"] == 24
    assert data["from"]["head"] == data["to"]["head"] and len(data["to"]["head"]) == 64
    back = copy(runner, chemo_cli, url, f"sqlite:///{tmp_path}/back.db")
    assert back.exit_code == 0, back.output
    lines = back.stdout.splitlines()
    assert lines[0] == f"copied {url} -> {tmp_path}/back.db"
    assert [line.split()[0] for line in lines[2:-1]] == list(TABLES)
    labs = next(line for line in lines if line.startswith("labs "))
    assert labs.split()[1:] == ["196", "196"]
    assert lines[-1] == f"audit head {data['to']['head']} (the same on both sides)"
    for db in (url, tmp_path / "back.db"):
        verified = runner.invoke(chemo_cli, ["audit", "verify", "--db", str(db), "--json"])
        assert json.loads(verified.stdout) == {"intact": True, "rows": data["to"]["rows"]["audit"], "problems": []}
    readiness = [json.loads(runner.invoke(chemo_cli, ["readiness", "DEMO-003", "--db", str(db), "--json"]).stdout)
                 for db in (demo_file, url, tmp_path / "back.db")]
    for answer in readiness:
        answer.pop("as_of")  # now, to the second
    assert readiness[0] == readiness[1] == readiness[2]


def test_a_copied_record_takes_new_rows_after_the_copied_ids(demo_file, pg_schema):
    from chemo.db.copy import copy_record
    from chemo.demo import NURSE
    from chemo.records import add_lab
    from chemo.db import open_store

    url = pg_schema()
    with open_store(demo_file, create=False) as source, open_store(url) as target:
        copy_record(source, target)
        row = add_lab(target, NURSE, "DEMO-001", "platelets", "180 10^9/L")
        assert row["id"] == 197
        assert target.one("SELECT max(id) AS n FROM audit")["n"] == 300  # the demo: 299 (8 approvals) + 1


def test_a_target_that_is_not_empty_is_refused_and_left_as_it_was(demo_file, pg_schema, runner, chemo_cli):
    url = pg_schema()
    assert copy(runner, chemo_cli, demo_file, url).exit_code == 0
    again = copy(runner, chemo_cli, demo_file, url)
    assert again.exit_code == 1
    assert again.stderr.startswith("chemo: db: the target ") and "is not empty (users 4, " in again.stderr
    assert again.stderr.count("\n") == 1


def test_a_source_whose_chain_is_broken_is_refused_before_anything_is_written(demo_file, pg_schema, tmp_path,
                                                                                runner, chemo_cli):
    import shutil

    from conftest import raw_execute

    broken = tmp_path / "broken.db"
    shutil.copyfile(demo_file, broken)
    raw_execute(broken, "UPDATE labs SET value = 0.1 WHERE id = 5")
    url = pg_schema()
    result = copy(runner, chemo_cli, broken, url)
    assert result.exit_code == 1
    assert "the source record" in result.stderr and "does not verify: labs row 5: value is 0.1" in result.stderr
    from chemo.db import StoreError, open_store

    with pytest.raises(StoreError, match="no database at"):  # not even the schema was created
        open_store(url, create=False)


def test_a_record_with_lab_corrections_across_batches_copies_both_ways(pg_schema, tmp_path, monkeypatch):
    """A corrected result points at a row of a later batch (issue 22): PostgreSQL to SQLite was a FOREIGN KEY
    failure, SQLite to PostgreSQL failed when the correcting row came in a later batch."""
    from pathlib import Path

    from chemo import audit, records
    from chemo.db import copy as copying
    from chemo.db import open_store
    from chemo.demo import NURSE, add_ready_patient, add_users, approve_regimens
    from chemo.labs.importer import import_files
    from chemo.labs.site import load_site

    labs = Path(__file__).resolve().parent / "fixtures" / "labs"
    monkeypatch.setattr(copying, "BATCH", 2)  # rows 1-2, 3-4, ...: the correction lands batches after its row
    source = tmp_path / "corrected.db"
    with open_store(source) as store:
        add_users(store)
        approve_regimens(store)  # two pharmacists approve the shipped regimens
        add_ready_patient(store, "T-HL7-01")
        records.add_lab(store, NURSE, "T-HL7-01", "anc", "2.0 10^9/L", at="2026-03-01T08:00")
        site = load_site(labs / "chemo-site.toml")
        import_files(store, NURSE, [str(labs / "hl7-oru-cbc-demo.hl7")], site=site)
        import_files(store, NURSE, [str(labs / "hl7-oru-cbc-corrected.hl7")], site=site)
        corrected = {r["id"]: r["superseded_by"] for r in store.query("SELECT id, superseded_by FROM labs")}
    assert [v for v in corrected.values() if v is not None]  # at least one correction
    assert any(v is not None and (v - 1) // 2 != (k - 1) // 2 for k, v in corrected.items())  # across batches
    url = pg_schema()
    with open_store(source, create=False) as a, open_store(url) as b:
        copying.copy_record(a, b)
    with open_store(url, create=False) as b, open_store(tmp_path / "back.db") as c:
        copying.copy_record(b, c)
    for where in (url, tmp_path / "back.db"):
        with open_store(where, create=False) as store:
            assert {r["id"]: r["superseded_by"] for r in store.query("SELECT id, superseded_by FROM labs")} == corrected
            assert audit.verify(store)[1] == []
