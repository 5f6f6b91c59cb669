"""The record on PostgreSQL deployed as the README says (``chemo db setup-sql`` run with psql), then attacked with psql
as a nurse's workstation role (a non-superuser): every attack refused, or found by ``audit verify``.

One deployment for the module (its own database and roles, unique names, dropped after); the broad attack list is
the fault suite's (reliability/least_privilege.py), its first attacks -- the issue's -- run here.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from reliability import least_privilege as lp

pytestmark = pytest.mark.xdist_group("least_privilege")
LABS = Path(__file__).resolve().parent / "fixtures" / "labs"


@pytest.fixture(scope="module")
def deployed():
    from conftest import least_privilege_deployment

    with least_privilege_deployment() as (d, rec, invoke):
        assert invoke(["patient", "add", "--mrn", "T-HL7-01", "--name", "Synthetic Hl7", "--sex", "female", "--born",
                       "1970-05-01", "--height", "170 cm", "--weight", "70 kg"], d.url(d.pharmacist)) == 0
        yield d, rec


def chemo(runner, chemo_cli, d, role, *args):
    return runner.invoke(chemo_cli, [*args, "--db", d.url(role)])


@pytest.mark.postgresql
def test_the_dba_script_is_what_setup_sql_prints_and_workstations_work_under_it(deployed, runner, chemo_cli):
    d, _ = deployed
    printed = runner.invoke(chemo_cli, ["db", "setup-sql", "--owner", d.owner, "--users", d.group, "--schema", "chemo"])
    assert printed.exit_code == 0 and printed.stdout == d.script
    import subprocess

    again = subprocess.run(["psql", d.admin_url, "-X", "-q"], input=d.script, capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 0, again.stderr  # run again after every upgrade: idempotent
    for role in (d.owner, d.pharmacist, d.nurse):
        assert d.psql(role, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").stdout.strip() == "f"
    assert d.psql(d.nurse, "SELECT count(*) FROM audit").returncode == 0  # reads every table but the key
    result = chemo(runner, chemo_cli, d, d.nurse, "audit", "verify")  # verified by the server, keyed, as the nurse
    assert result.exit_code == 0, result.output


def test_a_bad_role_name_is_one_line_exit_2(runner, chemo_cli):
    result = runner.invoke(chemo_cli, ["db", "setup-sql", "--owner", "x; DROP TABLE labs", "--users", "u"])
    assert result.exit_code == 2
    assert "expected a PostgreSQL owner name" in result.stderr


@pytest.mark.postgresql
@pytest.mark.parametrize("name, who, sql", lp.ATTACKS[:lp.QUICK], ids=[a[0] for a in lp.ATTACKS[:lp.QUICK]])
def test_an_attack_with_psql_as_a_workstation_role_is_refused_or_found(deployed, name, who, sql):
    d, rec = deployed
    assert lp.attack(d, rec, name, who, sql) in ("refused", "detected")


@pytest.mark.postgresql
def test_the_issues_attacks_are_refused_by_the_server_itself(deployed):
    d, rec = deployed
    for sql, said in ((f"INSERT INTO db_logins VALUES ('{d.nurse}', '{d.pharmacist}', 'x', '{d.pharmacist}')",
                       f"may not act as {d.pharmacist}"),
                      (f"UPDATE labs SET superseded_by = id WHERE id = {rec.lab}", "permission denied for table labs"),
                      (f"SELECT chemo_update('labs', {rec.lab}, 'superseded_by', '{rec.lab}')",
                       "replaced only once, by a newer result of the same lab identity"),
                      (f"SELECT chemo_update('labs', {rec.lab}, 'status', 'entered-in-error')",
                       "labs.status is not changed by workstations"),
                      (f"UPDATE labs SET status = 'entered-in-error' WHERE id = {rec.lab}", "permission denied"),
                      ("INSERT INTO audit_head VALUES (2, 1, 'x', 1)", "permission denied"),
                      ("SELECT pg_advisory_xact_lock(1, 2)", "permission denied for function pg_advisory_xact_lock"),
                      ("SELECT key FROM audit_key", "permission denied")):
        done = d.psql(d.nurse, sql)
        assert done.returncode != 0 and said in done.stderr, (sql, done.stderr)


@pytest.mark.postgresql
def test_the_nurse_cannot_sign_the_pharmacists_dose_check(deployed, runner, chemo_cli):
    d, _ = deployed
    result = chemo(runner, chemo_cli, d, d.nurse, "signoff", "LP1", "--cycle", "1", "--check", "dose",
                   "--user", d.pharmacist)
    assert result.exit_code == 1
    assert f"the database user {d.nurse!r} may not act as {d.pharmacist!r}" in result.stderr


@pytest.mark.postgresql
def test_labs_import_acts_as_the_database_user_and_imports_a_correction(deployed, runner, chemo_cli):
    d, _ = deployed
    site = ("--site", str(LABS / "chemo-site.toml"))
    refused = chemo(runner, chemo_cli, d, d.nurse, "labs", "import", str(LABS / "hl7-oru-cbc-demo.hl7"), *site,
                    "--user", d.pharmacist)
    assert refused.exit_code == 1 and "may not act as" in refused.stderr
    for name in ("hl7-oru-cbc-demo.hl7", "hl7-oru-cbc-corrected.hl7"):  # a correction supersedes a row: UPDATE
        result = chemo(runner, chemo_cli, d, d.nurse, "labs", "import", str(LABS / name), *site)
        assert result.exit_code == 0, result.output
    shown = json.loads(chemo(runner, chemo_cli, d, d.nurse, "labs", "show", "T-HL7-01", "--json").stdout)
    assert {r["recorded_by"] for r in shown} == {d.nurse}
    assert any(r["superseded_by"] is not None for r in shown)
    assert chemo(runner, chemo_cli, d, d.nurse, "audit", "verify").exit_code == 0


@pytest.mark.postgresql
def test_a_workstation_that_holds_the_writers_lock_is_cut_off(deployed, runner, chemo_cli):
    import psycopg

    from chemo.db.schema import LOCK_CLASS

    d, _ = deployed
    holder = psycopg.connect(d.url(d.nurse))
    holder.execute("SELECT chemo_lock(%s, hashtext('chemo'))", (LOCK_CLASS,))  # a transaction left open
    started = time.monotonic()
    result = chemo(runner, chemo_cli, d, d.pharmacist, "labs", "add", "LP1", "platelets", "200 10^9/L",
                   "--at", "2026-01-04T08:00")
    waited = time.monotonic() - started
    assert result.exit_code == 0, result.output  # the writer got the lock
    assert waited < 10  # within the busy timeout: cut off once idle for privileges.STALE_IDLE_S
    with pytest.raises(psycopg.OperationalError):
        holder.execute("SELECT 1")  # the holder's session was ended
    holder.close()


def test_every_table_of_the_schema_is_written_through_the_guard_or_read_only(tmp_path):
    """A table added by a later schema version must be put in privileges.WRITES (with who writes it) or READ_ONLY:
    otherwise workstations could not write it, or the guard would not know it."""
    from chemo.db import open_store
    from chemo.db.privileges import READ_ONLY, WRITES

    with open_store(tmp_path / "tables.db") as store:
        tables = set(store.table_names())
    assert tables == set(WRITES) | set(READ_ONLY)


@pytest.mark.postgresql
def test_a_write_the_server_refuses_is_one_line_exit_1_not_a_traceback(deployed):
    from chemo.db import open_store
    from chemo.db.store import Refusal

    d, rec = deployed
    with open_store(d.url(d.nurse), create=False) as store:
        with pytest.raises(Refusal) as refused, store.transaction():
            store.set_column("labs", rec.lab, "superseded_by", rec.lab)
    assert refused.value.exit_code == 1
    assert str(refused.value).endswith(f"refused: lab row {rec.lab} is replaced only once, by a newer result of the "
                                       "same lab identity")


@pytest.mark.postgresql
def test_labs_listen_acts_as_the_database_user_too(deployed, runner, chemo_cli):
    d, _ = deployed
    refused = chemo(runner, chemo_cli, d, d.nurse, "labs", "listen", "--site", str(LABS / "chemo-site.toml"),
                    "--port", "0", "--user", d.pharmacist)
    assert refused.exit_code == 1 and f"may not act as {d.pharmacist!r}" in refused.stderr


@pytest.mark.postgresql
def test_a_workstation_cannot_write_or_rewrite_a_prescription_behind_chemo(deployed):
    """Prescriptions (issue 18) are written by prescribers through the guard only: a nurse's psql session can
    neither add one nor change the mg of one."""
    d, _ = deployed
    insert = d.psql(d.nurse, "INSERT INTO prescriptions (id, plan_id, cycle, dose_level, lines, status, source, body, "
                             "regimen_sha256, prescribed_at, prescribed_by) SELECT coalesce(max(id), 0) + 1, "
                             "(SELECT min(id) FROM plans), 1, '0', '[]', 'ok', 'psql', '{}', 'x', "
                             f"'2026-01-01T00:00:00', '{d.nurse}' FROM prescriptions")
    assert insert.returncode != 0 and "prescriber" in insert.stderr, insert.stderr  # the guard: not a prescriber
    update = d.psql(d.nurse, "UPDATE prescriptions SET lines = '[]'")
    assert update.returncode != 0 and "permission denied" in update.stderr, update.stderr
    assert d.psql(d.owner, "SELECT count(*) FROM prescriptions").stdout.strip() == "0"


def test_the_calendars_writes_pass_the_guard_as_the_roles_allow(deployed, runner, chemo_cli):
    """Issue 19 on the server: a nurse records a weight and delays a cycle through chemo; with psql she can neither
    override a readiness gate nor bring a cycle forward (both a prescriber's)."""
    d, rec = deployed
    result = chemo(runner, chemo_cli, d, d.nurse, "measure", "LP1", "--weight", "69 kg", "--confirm")
    assert result.exit_code == 0, result.output
    result = chemo(runner, chemo_cli, d, d.nurse, "delay", "LP1", "--cycle", "2", "--to", "2099-01-01",
                   "--reason", "patient")
    assert result.exit_code == 0, result.output
    stamp = "2026-01-04T09:00:00"
    for sql, said in ((f"INSERT INTO gate_overrides VALUES ((SELECT coalesce(max(id), 0) + 1 FROM gate_overrides), "
                       f"{rec.plan}, 1, 'anc', 'treat anyway, the nurse says', 'anc fail', '{stamp}', '{d.nurse}')",
                       "needs a prescriber"),
                      (f"INSERT INTO cycle_delays VALUES ((SELECT coalesce(max(id), 0) + 1 FROM cycle_delays), "
                       f"{rec.plan}, 3, '2099-01-22', '2026-01-05', 'forward', 'other', 'sooner', '{stamp}', "
                       f"'{d.nurse}')", "bringing a cycle forward needs a prescriber")):
        done = d.psql(d.nurse, sql)
        assert done.returncode != 0 and said in done.stderr, (sql, done.stderr)
    verified = chemo(runner, chemo_cli, d, d.nurse, "audit", "verify")
    assert verified.exit_code == 0, verified.output


@pytest.mark.postgresql
def test_a_toxicity_is_written_only_by_a_nurse_or_prescriber_as_themselves(deployed):
    """Issue 23's table is in the guard's list: the pharmacist's role cannot record an event, nor can a nurse
    record one in another nurse's name, nor change or delete one (psql as the workstation role)."""
    d, rec = deployed
    row = ("INSERT INTO toxicities VALUES ((SELECT coalesce(max(id), 0) + 1 FROM toxicities), {patient}, {plan}, 1, "
           "'febrile-neutropenia', 3, 'CTCAE v5.0', '2026-01-10T08:00:00', NULL, '2026-01-10T08:00:00', '{who}')")
    for role, who, said in ((d.pharmacist, d.pharmacist, "chemo:"), (d.nurse, d.nurse2, f"may not act as {d.nurse2}")):
        done = d.psql(role, row.format(patient=rec.patient, plan=rec.plan, who=who))
        assert done.returncode != 0 and said in done.stderr, done.stderr
    for sql in ("UPDATE toxicities SET grade = 0", "DELETE FROM toxicities"):
        done = d.psql(d.nurse, sql)
        assert done.returncode != 0 and "permission denied" in done.stderr, done.stderr


@pytest.mark.postgresql
def test_a_failing_anc_cannot_be_superseded_by_another_tests_result_under_the_same_lab_id(deployed):
    """A FHIR id is the server's, not one test's: with psql a nurse adds two results under one lab identity, a
    failing ANC and a platelet count, and the platelet count may not "correct" the ANC (the guard checks the
    analyte as well as the patient and the lab identity)."""
    d, rec = deployed

    def copy_of(analyte):
        return d.psql(d.nurse, "INSERT INTO labs SELECT * FROM jsonb_populate_record(NULL::labs, (SELECT to_jsonb(l) "
                               "|| jsonb_build_object('id', (SELECT max(id) + 1 FROM labs), 'source', 'fhir', "
                               f"'source_id', 'same-id-{rec.lab}', 'analyte', '{analyte}', 'recorded_by', "
                               f"'{d.nurse}') FROM labs l WHERE id = {rec.lab})) RETURNING id")

    anc, plt = copy_of("anc"), copy_of("platelets")
    assert anc.returncode == 0 and plt.returncode == 0, (anc.stderr, plt.stderr)
    done = d.psql(d.nurse, f"SELECT chemo_update('labs', {anc.stdout.split()[0]}, 'superseded_by', "
                           f"'{plt.stdout.split()[0]}')")
    assert done.returncode != 0 and "replaced only once, by a newer result of the same lab identity" in done.stderr
