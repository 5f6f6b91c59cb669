"""Regimen approval is a fact of the record (issue 24), on both engines: a plan starts only on a regimen file whose
exact bytes two different pharmacists approved in this record; one changed character is unapproved again.

The record: pharmacists phil and pia, nurse nora, prescriber pete, patients M1 and M2 (170 cm, 70 kg).
"""

from __future__ import annotations

import json

import pytest

from chemo import audit
from chemo.approval import NotApproved, RetiredRegimen, approval_status, approve, history
from chemo.cli import command_line_words
from chemo.db import open_store
from chemo.db.store import NotFound, Refusal
from chemo.errors import ChemoError
from chemo.records import plan_regimen, start_plan
from chemo.regimen import load_regimen, regimen_path
from chemo.roles import RoleRefused, add_user

DOX_IFO = "doxorubicin-ifosfamide"
RETIRED = '\n[retired]\ndate = 2026-11-30\nreason = "withdrawn by the sarcoma board"\nreplaced_by = "epirubicin-ifosfamide"\n'
V11 = ('version = "1.0"', 'version = "1.1"')  # the edit that gives a changed file its new version


@pytest.fixture
def store(new_db):
    from chemo.records import add_patient

    with open_store(new_db("approval.db")) as s:
        add_user(s, "phil", "phil", "pharmacist")
        for login, role in (("pia", "pharmacist"), ("nora", "nurse"), ("pete", "prescriber")):
            add_user(s, "phil", login, role)
        for mrn in ("M1", "M2"):
            add_patient(s, "pete", mrn=mrn, name=f"Synthetic {mrn}", sex="female", born="1970-05-01",
                        height="170 cm", weight="70 kg")
        yield s


def shipped(rid: str = DOX_IFO):
    from chemo.library import load_library

    return load_regimen(regimen_path(rid), load_library())


def plans(store) -> int:
    return store.one("SELECT count(*) AS n FROM plans")["n"]


def approvals(store) -> int:
    return store.one("SELECT count(*) AS n FROM regimen_approvals")["n"]


def test_a_regimen_not_approved_in_this_record_does_not_start_a_plan(store):
    with pytest.raises(NotApproved) as refused:
        start_plan(store, "pete", "M1", DOX_IFO)
    assert refused.value.exit_code == 1
    words = command_line_words(refused.value)
    assert words.startswith(f"regimen: {DOX_IFO} version 1.0 (sha256 {shipped().sha256[:12]}) is not approved in "
                            "this record: it needs two different pharmacists to run 'chemo regimen approve ")
    assert words.endswith(f"{DOX_IFO}.toml' (approved by: no one yet)")
    assert plans(store) == 0


def test_two_different_pharmacists_approve_and_then_a_plan_starts(store):
    regimen = shipped()
    first = approve(store, regimen, "phil")
    assert (first["approved"], first["status"], first["approvers"], first["diff"]) == (
        False, "awaiting second", ["phil"], None)
    with pytest.raises(NotApproved) as refused:  # one pharmacist is not enough
        start_plan(store, "pete", "M1", DOX_IFO)
    assert command_line_words(refused.value).endswith("(approved by: phil)")
    second = approve(store, regimen, "pia", comment="drug and therapeutics committee, 2026-12")
    assert (second["approved"], second["status"], second["approvers"]) == (True, "approved", ["phil", "pia"])
    plan = start_plan(store, "pete", "M1", DOX_IFO)
    assert plan["regimen_sha256"] == regimen.sha256
    assert approval_status(store, regimen).approved


def test_the_same_pharmacist_twice_is_refused_and_leaves_the_regimen_unapproved(store):
    regimen = shipped()
    approve(store, regimen, "phil")
    with pytest.raises(Refusal, match="phil approved it already.*a second, different pharmacist") as refused:
        approve(store, regimen, "phil")
    assert refused.value.exit_code == 1
    assert approval_status(store, regimen).approvers == ("phil",) and approvals(store) == 1
    with pytest.raises(NotApproved):
        start_plan(store, "pete", "M1", DOX_IFO)
    approve(store, regimen, "pia")
    add_user(store, "phil", "paul", "pharmacist")
    with pytest.raises(Refusal, match="approved already, by phil and pia"):  # a third approval adds nothing
        approve(store, regimen, "paul")
    assert approvals(store) == 2


def test_a_nurse_or_a_prescriber_does_not_approve(store):
    for login in ("nora", "pete"):
        with pytest.raises(RoleRefused, match="approving a regimen needs a pharmacist") as refused:
            approve(store, shipped(), login)
        assert refused.value.exit_code == 1
    assert approvals(store) == 0


def test_one_character_changed_in_a_dose_is_unapproved_again_and_history_shows_the_change(store, mutated):
    original = shipped()
    for login in ("phil", "pia"):
        approve(store, original, login)
    start_plan(store, "pete", "M1", DOX_IFO)
    path = mutated(DOX_IFO, ('dose = "75 mg/m²"', 'dose = "70 mg/m²"'))  # one character: 75 -> 70 mg/m²
    changed = load_regimen(path)
    assert changed.sha256 != original.sha256 and changed.version == original.version
    with pytest.raises(NotApproved, match=f"sha256 {changed.sha256[:12]}"):
        start_plan(store, "pete", "M2", str(path))
    # and it is not approved as "version 1.0": that names the bytes approved first
    with pytest.raises(Refusal, match=f"version 1.0 of {DOX_IFO} names other bytes .*a changed file carries a new"):
        approve(store, changed, "phil")
    path = mutated(DOX_IFO, ('dose = "75 mg/m²"', 'dose = "70 mg/m²"'), V11)
    changed = load_regimen(path)
    first = approve(store, changed, "phil")
    assert first["diff_from"] == original.sha256
    dose = [c for c in first["diff"]["changes"] if c["item"] == "doxorubicin" and c["field"] == "dose"]
    assert [(c["old"], c["new"], c["clinical"]) for c in dose] == [("75 mg/m² per cycle", "70 mg/m² per cycle", True)]
    assert round(dose[0]["change_pct"], 1) == -6.7
    approve(store, changed, "pia")
    assert start_plan(store, "pete", "M2", str(path))["regimen_sha256"] == changed.sha256

    versions = history(store, DOX_IFO)
    assert [(v["sha256"], v["status"], [a["login"] for a in v["approvals"]]) for v in versions] == [
        (original.sha256, "approved", ["phil", "pia"]), (changed.sha256, "approved", ["phil", "pia"])]
    assert versions[0]["diff"] is None and versions[1]["diff_from"] == original.sha256
    assert "doxorubicin: dose 75 mg/m² → 70 mg/m² per cycle (−6.7 %)" in versions[1]["diff"]["lines"]

    # the plan already started keeps the bytes it pinned: nothing changed for it
    m1 = store.one("SELECT p.* FROM plans p JOIN patients t ON t.id = p.patient_id WHERE t.mrn = 'M1'")
    assert (m1["regimen_sha256"], m1["status"]) == (original.sha256, "active")
    assert plan_regimen(m1)[1] is False


def test_a_retired_regimen_is_neither_approved_nor_started_on(store, mutated):
    retired = load_regimen(mutated(DOX_IFO, append=RETIRED))
    for act in (lambda: approve(store, retired, "phil"), lambda: start_plan(store, "pete", "M1", retired.path)):
        with pytest.raises(RetiredRegimen) as refused:
            act()
        assert refused.value.exit_code == 1
        assert "retired on 2026-11-30 (withdrawn by the sarcoma board)" in str(refused.value)
        assert "use epirubicin-ifosfamide instead" in str(refused.value)
    assert approvals(store) == 0 and plans(store) == 0
    assert history(store, DOX_IFO, current=retired)[-1]["status"] == "retired"


def test_the_audit_chain_records_each_approval_and_verifies(store, mutated, engine):
    from conftest import raw_execute

    original = shipped()
    for login in ("phil", "pia"):
        approve(store, original, login)
    changed = load_regimen(mutated(DOX_IFO, ('dose = "75 mg/m²"', 'dose = "70 mg/m²"'), V11))
    approve(store, changed, "phil")
    rows = store.query("SELECT login, new FROM audit WHERE action = 'regimen.approve' ORDER BY id")
    recorded = [(r["login"], json.loads(r["new"])) for r in rows]
    assert [(login, n["sha256"], n["version"]) for login, n in recorded] == [
        ("phil", original.sha256, "1.0"), ("pia", original.sha256, "1.0"), ("phil", changed.sha256, "1.1")]
    assert recorded[0][1]["diff_json"] is None and "70 mg/m²" in recorded[2][1]["diff_json"]
    assert audit.verify(store)[1] == []
    if engine == "sqlite":  # an approval's login changed behind chemo's back is found
        raw_execute(store.path, "UPDATE regimen_approvals SET approved_by = 'nora' WHERE id = 2")
        assert any("regimen_approvals row 2: approved_by" in p for p in audit.verify(store)[1])


def test_the_demo_record_approves_every_shipped_regimen_with_its_two_pharmacists(tmp_path):
    from chemo.demo import PHARMACIST, REGIMENS, SECOND_PHARMACIST, build_demo

    with open_store(tmp_path / "demo.db") as s:
        build_demo(s)
        for rid in REGIMENS:
            status = approval_status(s, shipped(rid))
            assert (status.approved, status.approvers) == (True, (PHARMACIST, SECOND_PHARMACIST))
        assert audit.verify(s)[1] == []


# ------------------------------------------------------------------ the commands

def test_the_commands_approve_show_history_and_exit_as_documented(store, new_db, runner, chemo_cli, mutated):
    db = str(new_db("approval.db"))  # the store's record
    file = str(regimen_path(DOX_IFO))

    def run(*args):
        result = runner.invoke(chemo_cli, [*args, "--db", db])
        assert "Traceback" not in result.output
        return result

    nurse = run("regimen", "approve", file, "--user", "nora")
    assert nurse.exit_code == 1 and "needs a pharmacist" in nurse.stderr
    bad = run("regimen", "approve", str(mutated(DOX_IFO, ('dose = "75 mg/m²"', 'dose = "75 mg/m3"'), name="bad")),
              "--user", "phil")
    assert bad.exit_code == 2 and bad.stderr.startswith("chemo: ")
    first = run("regimen", "approve", file, "--user", "phil")
    assert first.exit_code == 0
    assert first.stdout.startswith(f"{DOX_IFO} version 1.0 (sha256 {shipped().sha256[:12]}): approved by phil; it "
                                   "needs a second, different pharmacist")
    again = run("regimen", "approve", file, "--user", "phil")
    assert again.exit_code == 1 and "phil approved it already" in again.stderr
    second = run("regimen", "approve", file, "--user", "pia", "--comment", "committee 2026-12", "--json")
    assert second.exit_code == 0
    row = json.loads(second.stdout)
    assert {k: row[k] for k in ("regimen_id", "version", "approved_by", "approvers", "approved", "status", "comment",
                                "diff")} == {
        "regimen_id": DOX_IFO, "version": "1.0", "approved_by": "pia", "approvers": ["phil", "pia"],
        "approved": True, "status": "approved", "comment": "committee 2026-12", "diff": None}
    started = runner.invoke(chemo_cli, ["plan", "start", "M1", DOX_IFO, "--db", db, "--user", "pete"])
    assert started.exit_code == 0, started.output

    shown = run("regimen", "history", DOX_IFO, "--json")
    assert shown.exit_code == 0
    versions = json.loads(shown.stdout)["versions"]
    assert [(v["version"], v["status"], [(a["login"], a["comment"]) for a in v["approvals"]]) for v in versions] == [
        ("1.0", "approved", [("phil", None), ("pia", "committee 2026-12")])]
    text = run("regimen", "history", DOX_IFO)
    assert text.exit_code == 0 and "first approval: phil at " in text.stdout and "second approval: pia at " in text.stdout
    unknown = run("regimen", "history", "no-such-regimen")
    assert unknown.exit_code == 2 and "no version of 'no-such-regimen'" in unknown.stderr


# ------------------------------------------------------------------ the server's two-person rule

@pytest.fixture(scope="module")
def deployed():
    from conftest import least_privilege_deployment

    with least_privilege_deployment() as (d, _, invoke):  # both pharmacists approved doxorubicin-ifosfamide
        yield d, invoke


@pytest.mark.postgresql
def test_on_postgresql_one_database_user_cannot_give_the_second_approval_under_another_login(deployed):
    d, invoke = deployed
    P = d.pharmacist
    file = str(regimen_path("epirubicin-ifosfamide"))
    # the pharmacist registers a second pharmacist login and maps it to their own database user
    for args in (["user", "add", "alt-pharmacist", "--role", "pharmacist"], ["user", "map", P, "alt-pharmacist"],
                 ["regimen", "approve", file]):
        assert invoke(args, d.url(P)) == 0, args
    assert invoke(["regimen", "approve", file, "--user", "alt-pharmacist"], d.url(P)) == 1  # chemo refuses
    sha = shipped("epirubicin-ifosfamide").sha256
    text = regimen_path("epirubicin-ifosfamide").read_text(encoding="utf-8").replace("'", "''")
    for login, db_user in (("alt-pharmacist", P), (P, P), ("alt-pharmacist", "someone-else"),
                           (d.pharmacist2, P)):
        done = d.psql(P, "INSERT INTO regimen_approvals (id, regimen_id, version, sha256, file_name, file_text, "
                         f"approved_by, db_user, approved_at) VALUES ((SELECT max(id) + 1 FROM regimen_approvals), "
                         f"'epirubicin-ifosfamide', '1.0', '{sha}', 'x', '{text}', '{login}', '{db_user}', "
                         "'2026-12-06T10:00:00')")
        assert done.returncode != 0 and "chemo: " in done.stderr, (login, db_user, done.stdout)
    with open_store(d.url(d.owner), create=False) as s:
        assert approval_status(s, shipped("epirubicin-ifosfamide")).approvers == (P,)
    assert invoke(["regimen", "approve", file], d.url(d.pharmacist2)) == 0  # another pharmacist, another role
    with open_store(d.url(d.owner), create=False) as s:
        assert approval_status(s, shipped("epirubicin-ifosfamide")).approved
        # this test's approvals are in the chain (the module's other tests leave rows written around chemo)
        mine = [r["id"] for r in s.query("SELECT id FROM regimen_approvals WHERE sha256 = ?", (sha,))]
        assert len(mine) == 2
        assert not [p for p in audit.verify(s)[1] if any(f"regimen_approvals row {i}:" in p for i in mine)]


# ------------------------------------------------------------------ a law: bytes, not meaning, are approved

@pytest.mark.parametrize("engine", ["sqlite"])
def test_any_character_added_to_the_approved_file_even_in_a_comment_is_unapproved(store, tmp_path):
    """The same regimen with one character more in its first comment line reads the same, but is other bytes:
    never approved by the approvals of the original."""
    from hypothesis import HealthCheck, given, settings, strategies as st

    from chemo.library import load_library
    from chemo.regimen import regimen_from_bytes

    original = shipped()
    for login in ("phil", "pia"):
        approve(store, original, login)
    data = regimen_path(DOX_IFO).read_bytes()
    comment_end = data.index(b"\n")  # the first line is a comment
    library = load_library()

    @settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.integers(1, comment_end), st.characters(min_codepoint=32, max_codepoint=0x2FFF,
                                                      blacklist_categories=("Cs", "Cc")))
    def law(at, char):
        changed = regimen_from_bytes(data[:at] + char.encode("utf-8") + data[at:], "changed.toml", library)
        assert changed.drugs == original.drugs and changed.sha256 != original.sha256
        assert not approval_status(store, changed).approved

    law()
    assert approval_status(store, original).approved


# ------------------------------------------------------------------ attacks at a workstation (both engines)

def test_an_older_approved_version_does_not_start_a_plan_once_a_newer_one_is_approved(store, mutated):
    """Version 1.0 approved, then a corrected copy approved by both pharmacists: 1.0's bytes (the shipped file, or
    a copy of it kept anywhere) no longer start a plan; the newest approved version does."""
    from chemo.approval import OlderVersion

    original = shipped()
    for login in ("phil", "pia"):
        approve(store, original, login)
    path = mutated(DOX_IFO, ('dose = "75 mg/m²"', 'dose = "70 mg/m²"'), V11)
    for login in ("phil", "pia"):
        approve(store, load_regimen(path), login)
    for ref in (DOX_IFO, str(regimen_path(DOX_IFO))):
        with pytest.raises(OlderVersion) as refused:
            start_plan(store, "pete", "M1", ref)
        assert refused.value.exit_code == 1
        assert f"was approved after it: a plan starts on the newest approved version of {DOX_IFO}" in str(refused.value)
    assert plans(store) == 0
    assert start_plan(store, "pete", "M1", str(path))["regimen_sha256"] == load_regimen(path).sha256


def test_a_retirement_in_the_regimen_folder_reaches_a_copy_of_the_version_approved_before_it(store, tmp_path,
                                                                                          monkeypatch):
    """The centre retires doxorubicin-ifosfamide in its regimen folder; a copy of the approved bytes kept in another
    folder (taken from git before the retirement) does not start a plan."""
    from chemo.library import library_dir

    approved_text = regimen_path(DOX_IFO).read_text(encoding="utf-8")
    for login in ("phil", "pia"):
        approve(store, shipped(), login)
    folder = tmp_path / "centre"
    folder.mkdir()
    (folder / "library").symlink_to(library_dir())
    (folder / f"{DOX_IFO}.toml").write_text(approved_text + RETIRED, encoding="utf-8")
    copy = tmp_path / "kept" / f"{DOX_IFO}.toml"
    copy.parent.mkdir()
    copy.write_text(approved_text, encoding="utf-8")
    monkeypatch.setenv("CHEMO_REGIMENS", str(folder))
    assert approval_status(store, load_regimen(copy)).approved  # the same bytes two pharmacists approved
    with pytest.raises(RetiredRegimen) as refused:
        start_plan(store, "pete", "M1", str(copy))
    assert "retired on 2026-11-30 (withdrawn by the sarcoma board): no new plan starts on any version of it" \
        in str(refused.value) and "use epirubicin-ifosfamide instead" in str(refused.value)
    assert plans(store) == 0


def test_history_shows_stored_text_written_around_chemo_as_text_without_a_traceback(store, new_db, runner, chemo_cli):
    """Approval rows written behind chemo's back (psql, the SQLite file): a stored diff that is not chemo's JSON,
    a comment and a file name with terminal escape sequences, a file text that is not TOML: the history is shown,
    exit 0, no escape sequence reaches the terminal, and the approval is still not a diff chemo made."""
    import hashlib

    text = "not [valid TOML\n"
    sha = hashlib.sha256(text.encode()).hexdigest()
    for n, (diff_json, who) in enumerate((("{", "phil"), ("[1, 2]", "pia")), start=1):
        store.insert("regimen_approvals", {
            "id": n, "regimen_id": "hostile", "version": "1.0\x1b[2J", "sha256": sha, "file_name": "/x\x1b]0;pwned\x07",
            "file_text": text, "diff_from": sha, "diff_json": diff_json, "approved_by": who, "db_user": None,
            "approved_at": "2026-12-06T10:00:00", "comment": "ok\x1b[1A\x1b[2K\u202e"})
    store.insert("regimen_approvals", {
        "id": 3, "regimen_id": "hostile", "version": "2", "sha256": "b" * 64, "file_name": "/y", "file_text": "x",
        "diff_from": sha, "diff_json": '{"lines": [7]}', "approved_by": "phil", "db_user": None,
        "approved_at": "2026-12-06T10:00:00", "comment": None})
    for args in ([], ["--json"]):
        shown = runner.invoke(chemo_cli, ["regimen", "history", "hostile", "--db", str(new_db("approval.db")), *args])
        assert shown.exit_code == 0, shown.output
        assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout  # JSON escapes them: \u001b
        assert args or "\u202e" not in shown.stdout  # the text shows U+202E (right-to-left) as its code
    assert "no diff: the stored diff is not one chemo wrote (changed outside chemo)" in shown.stdout
    versions = history(store, "hostile")
    assert [v["diff"]["lines"] for v in versions] == [["no diff: the stored diff is not one chemo wrote (changed "
                                                       "outside chemo)"]] * 2


def test_an_approved_text_edited_in_the_record_is_not_diffed_against_and_audit_verify_finds_it(store, new_db,
                                                                                               mutated):
    """Someone with the record (the SQLite file; the owner on PostgreSQL) changes the approved version's stored
    text from 75 to 90 mg/m²: the next version's diff does not show a 90 -> 70 change as if approved, and
    audit verify names the row."""
    from conftest import raw_execute

    for login in ("phil", "pia"):
        approve(store, shipped(), login)
    raw_execute(new_db("approval.db"), "UPDATE regimen_approvals SET file_text = replace(file_text, "
                "'dose = \"75 mg/m²\"', 'dose = \"90 mg/m²\"')")
    row = approve(store, load_regimen(mutated(DOX_IFO, ('dose = "75 mg/m²"', 'dose = "70 mg/m²"'), V11)), "phil")
    assert row["diff"]["changes"] == [] and "is not the bytes approved (changed outside chemo" in row["diff"]["lines"][0]
    assert [p for p in audit.verify(store)[1] if "regimen_approvals row 1: file_text" in p]


def test_a_comment_with_a_control_character_is_refused(store, runner, chemo_cli, new_db):
    result = runner.invoke(chemo_cli, ["regimen", "approve", str(regimen_path(DOX_IFO)), "--user", "phil",
                                       "--comment", "fine\x1b[2Kapproved by the board", "--db",
                                       str(new_db("approval.db"))])
    assert result.exit_code == 2 and "control character U+001B" in result.stderr
    assert approvals(store) == 0


def test_a_plan_started_on_a_copy_keeps_its_bytes_a_swapped_symlink_or_an_edited_copy_signs_nothing(store, tmp_path):
    """A plan started through a symlink to the approved file pins the approved sha256; the link then pointed at an
    edited file (or the copy edited in place): the dose sign-off refuses, naming the changed hash."""
    from chemo.treatment import signoff

    for login in ("phil", "pia"):
        approve(store, shipped(), login)
    approved_bytes = regimen_path(DOX_IFO).read_bytes()
    real, edited = tmp_path / "real.toml", tmp_path / "edited.toml"
    real.write_bytes(approved_bytes)
    edited.write_bytes(approved_bytes.replace('dose = "75 mg/m²"'.encode(), 'dose = "90 mg/m²"'.encode()))
    link = tmp_path / f"{DOX_IFO}.toml"
    link.symlink_to(real)
    plan = start_plan(store, "pete", "M1", str(link), start="2026-01-05")
    assert plan["regimen_sha256"] == shipped().sha256
    link.unlink()
    link.symlink_to(edited)
    real.write_bytes(edited.read_bytes())  # the resolved path the plan kept: edited too
    with pytest.raises(ChemoError, match="has changed since the plan was started"):
        signoff(store, "phil", "M1", 1, "dose")
    assert store.one("SELECT count(*) AS n FROM signoffs")["n"] == 0


def test_a_worksheet_signed_on_the_approved_bytes_is_a_draft_once_the_file_changed(store, tmp_path):
    """Signed on the approved bytes, then the plan's file edited (90 mg/m²): no dose is given on the plan
    (administer refuses), so the worksheet is not for compounding: a draft, saying why."""
    from chemo.treatment import signoff
    from chemo.worksheet import build

    for login in ("phil", "pia"):
        approve(store, shipped(), login)
    kept = tmp_path / f"{DOX_IFO}.toml"
    kept.write_bytes(regimen_path(DOX_IFO).read_bytes())
    start_plan(store, "pete", "M1", str(kept))
    signoff(store, "phil", "M1", 1, "dose")
    assert not build(store, "M1", 1).draft
    kept.write_bytes(kept.read_bytes().replace('dose = "75 mg/m²"'.encode(), 'dose = "90 mg/m²"'.encode()))
    sheet = build(store, "M1", 1)
    assert sheet.draft
    assert any("has changed since the plan was started: not for compounding" in n for s in sheet.sections
               for n in s.notes)


@pytest.mark.postgresql
def test_on_postgresql_psql_cannot_start_a_plan_on_bytes_two_pharmacists_did_not_approve(deployed):
    """The pharmacist, with psql, inserts a plan on an edited file's sha256 and appends its audit row: the server
    refuses it (before, audit verify found nothing: the row and its audit row agree)."""
    from reliability import least_privilege as lp

    d, _ = deployed
    with open_store(d.url(d.owner), create=False) as s:
        plan = s.one("SELECT max(id) AS id FROM plans")["id"]
        patient = s.one("SELECT patient_id FROM plans WHERE id = ?", (plan,))["patient_id"]
    rec = lp.Record(patient, plan, 0)
    attacks = [a for a in lp.ATTACKS if ("regimen" in a[0] or "approval" in a[0]) and "around chemo" not in a[0]]
    assert len(attacks) >= 10
    for name, who, sql in attacks:
        assert lp.attack(d, rec, name, who, sql) == "refused", name
    done = d.psql(d.pharmacist, lp.ATTACKS[[a[0] for a in lp.ATTACKS].index(
        "a plan started on a regimen no one approved, its audit row appended")][2].format(P=d.pharmacist))
    assert done.returncode != 0 and "which 2 pharmacists have not approved" in done.stderr


def test_a_first_approval_naming_the_bytes_another_regimen_id_is_not_seconded(store):
    """The first approval, written around chemo, files the bytes of doxorubicin-ifosfamide under another id (so
    that its history shows nothing): chemo refuses the second approval, naming it; nothing starts on the bytes."""
    import hashlib

    text = regimen_path(DOX_IFO).read_text(encoding="utf-8")
    store.insert("regimen_approvals", {
        "id": 1, "regimen_id": "something-else", "version": "1.0", "sha256": hashlib.sha256(text.encode()).hexdigest(),
        "file_name": "/x", "file_text": text, "diff_from": None, "diff_json": None, "approved_by": "phil",
        "db_user": None, "approved_at": "2026-12-06T10:00:00", "comment": None})
    with pytest.raises(Refusal, match="names it something-else version 1.0, not what the file says"):
        approve(store, shipped(), "pia")
    with pytest.raises(NotApproved):
        start_plan(store, "pete", "M1", DOX_IFO)


@pytest.mark.postgresql
def test_on_postgresql_an_approval_is_no_larger_than_a_regimen_file_and_names_its_bytes_as_the_first(deployed):
    d, _ = deployed
    base = ("INSERT INTO regimen_approvals SELECT (SELECT max(id) + 1 FROM regimen_approvals), {rid}, '1.1', "
            "encode(sha256(convert_to({text}, 'UTF8')), 'hex'), file_name, {text}, NULL, NULL, '{P}', '{P}', "
            "approved_at, NULL FROM regimen_approvals WHERE id = 1")
    for rid, text, said in (("regimen_id", "file_text || repeat('#', 300000)", "at most 262144 bytes"),
                            ("regimen_id || E'\\x1b[2J'", "file_text || '#'", "plain text (no control characters)"),
                            ("'elsewhere'", "file_text || '#'", None)):
        done = d.psql(d.pharmacist, base.format(rid=rid, text=text, P=d.pharmacist))
        if said:
            assert done.returncode != 0 and said in done.stderr, done.stderr
        else:  # a first approval of new bytes under another id: the server cannot read TOML; it goes through
            assert done.returncode == 0, done.stderr
    second = d.psql(d.pharmacist2, base.format(rid="regimen_id", text="file_text || '#'", P=d.pharmacist2))
    assert second.returncode != 0 and "was approved under another regimen id or version" in second.stderr


@pytest.mark.postgresql
def test_on_postgresql_a_pharmacist_who_maps_a_nurses_database_user_to_another_pharmacist_does_not_approve_twice(
        deployed):
    """The pharmacist maps the nurse's database user to the second pharmacist's login (a pharmacist may map any
    database user): the nurse's session then approves as the second pharmacist, and the pharmacist as himself --
    one pharmacist's approval twice. The server refuses an approval from a database user that also acts as a
    login without the pharmacist role."""
    d, _ = deployed
    P, P2, N = d.pharmacist, d.pharmacist2, d.nurse
    insert = ("INSERT INTO regimen_approvals SELECT (SELECT max(id) + 1 FROM regimen_approvals), regimen_id, "
              "'1.2', encode(sha256(convert_to(file_text || '##', 'UTF8')), 'hex'), file_name, file_text || '##', "
              "NULL, NULL, '{login}', '{db}', approved_at, NULL FROM regimen_approvals WHERE id = 1")
    mapped = d.psql(P, f"INSERT INTO db_logins VALUES ('{N}', '{P2}', '2026-01-04T09:00:00', '{P}')")
    assert mapped.returncode == 0, mapped.stderr
    done = d.psql(N, insert.format(login=P2, db=N))
    assert done.returncode != 0 and f"{N} also acts as {N}, who is not a pharmacist" in done.stderr, done.stderr
    assert d.psql(P, insert.format(login=P, db=P)).returncode == 0  # his own approval: one of two
    assert d.psql(N, insert.format(login=P2, db=N)).returncode != 0


@pytest.mark.parametrize("engine", ["sqlite"])
def test_on_sqlite_an_approval_inserted_or_deleted_with_sqlite3_is_found_by_audit_verify(store, new_db):
    """The SQLite file's user adds the second approval with sqlite3 (the regimen is then approved: the file is
    single-user and refuses nothing), or deletes one: audit verify names the row either way."""
    from conftest import raw_execute

    approve(store, shipped(), "phil")
    raw_execute(new_db("approval.db"), "INSERT INTO regimen_approvals (id, regimen_id, version, sha256, file_name, "
                "file_text, approved_by, approved_at) SELECT 2, regimen_id, version, sha256, file_name, file_text, "
                "'pia', approved_at FROM regimen_approvals WHERE id = 1")
    assert approval_status(store, shipped()).approved
    assert "regimen_approvals row 2: no audit row (inserted outside chemo)" in audit.verify(store)[1]
    raw_execute(new_db("approval.db"), "DELETE FROM regimen_approvals")
    problems = audit.verify(store)[1]
    assert any(p.startswith("regimen_approvals row 1: missing, its audit row") for p in problems), problems


@pytest.mark.postgresql
def test_on_postgresql_psql_cannot_start_a_plan_on_an_older_approved_version(deployed):
    """Both pharmacists approve a newer version of doxorubicin-ifosfamide (one comment character more); the
    pharmacist then writes a plan on the older version's bytes with psql, with its audit row: the server refuses
    it, as chemo does."""
    from reliability import least_privilege as lp

    d, _ = deployed
    newer = ("INSERT INTO regimen_approvals SELECT (SELECT max(id) + 1 FROM regimen_approvals), regimen_id, '1.3', "
             "encode(sha256(convert_to(file_text || '# v1.0.1', 'UTF8')), 'hex'), file_name, file_text || '# v1.0.1', "
             "NULL, NULL, '{P}', '{P}', approved_at, NULL FROM regimen_approvals WHERE id = 1")
    for who in (d.pharmacist, d.pharmacist2):
        done = d.psql(who, newer.format(P=who))
        assert done.returncode == 0, done.stderr
    older = shipped().sha256
    attack = lp.ATTACKS[[a[0] for a in lp.ATTACKS].index(
        "a plan started on a regimen no one approved, its audit row appended")][2]
    done = d.psql(d.pharmacist, attack.replace("repeat('ab', 32)", f"'{older}'").format(P=d.pharmacist))
    assert done.returncode != 0 and "but a newer version of it was approved since" in done.stderr, done.stderr


def test_history_shows_the_approved_versions_when_the_file_as_it_is_now_does_not_validate(
        store, new_db, runner, chemo_cli, tmp_path, monkeypatch):
    """A broken edit of the regimen folder's file does not hide what the record approved: history lists the
    approved version and says why the file as it is now does not read."""
    import shutil

    approved = shipped()
    for login in ("phil", "pia"):
        approve(store, approved, login)
    folder = tmp_path / "regimens"
    shutil.copytree(regimen_path(DOX_IFO).parent / "library", folder / "library")
    (folder / f"{DOX_IFO}.toml").write_text(regimen_path(DOX_IFO).read_text(encoding="utf-8").replace('dose = "75 mg/m²"', 'dose = "75 mg/m3"'),
                                             encoding="utf-8")
    monkeypatch.setenv("CHEMO_REGIMENS", str(folder))
    result = runner.invoke(chemo_cli, ["regimen", "history", DOX_IFO, "--db", str(new_db("approval.db")), "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert [(v["sha256"], v["status"]) for v in shown["versions"]] == [(approved.sha256, "approved")]
    assert "mg/m3" in shown["current_error"] and "drugs[1].dose" in shown["current_error"]
