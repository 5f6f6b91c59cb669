"""psql as a workstation role against a least-privilege record: every attack refused, or found by ``audit verify``.

    python -m reliability.least_privilege            # make reliability runs it as part "least_privilege"

The deployment is the README's: a least-privilege PostgreSQL record for the attack tests and this part.

Everything is made on the server of ``$CHEMO_TEST_POSTGRES`` with unique names
and dropped after: a database of its own (the DBA script revokes the advisory
locks and temporary tables database-wide), an owner role (not a superuser) that
owns the ``chemo`` schema and runs the first command, a group role for the
workstations, and login roles for a pharmacist and two nurses, members of the
group only.  The DBA script is the one ``chemo db setup-sql`` prints, run with
psql as the superuser.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from urllib.parse import urlsplit, urlunsplit

import attrs


@attrs.define
class Deployment:
    admin_url: str  # the superuser, in the deployment's database
    owner: str
    group: str
    pharmacist: str
    nurse: str
    nurse2: str
    pharmacist2: str  # the second pharmacist, who approves the regimen with the first (chemo regimen approve)
    database: str
    script: str

    def url(self, role: str) -> str:
        parts = urlsplit(self.admin_url)
        netloc = f"{role}@{parts.hostname}:{parts.port or 5432}"
        return urlunsplit((parts.scheme, netloc, parts.path, "options=-csearch_path%3Dchemo", ""))

    def psql(self, role: str, sql: str) -> subprocess.CompletedProcess:
        """Run ``sql`` with psql as ``role`` (stop at the first error)."""
        return subprocess.run(["psql", self.url(role), "-v", "ON_ERROR_STOP=1", "-X", "-q", "-At", "-c", sql],
                              capture_output=True, text=True, timeout=60)


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, "", ""))


def deploy(base_url: str, invoke) -> Deployment:
    """Create the deployment; ``invoke(args, db)`` runs one chemo command and returns its exit code."""
    import psycopg

    from chemo.db.privileges import setup_sql

    tag = uuid.uuid4().hex[:8]
    d = Deployment(admin_url=_with_database(base_url, f"chemo_lp_{tag}"), owner=f"lp_owner_{tag}",
                   group=f"lp_users_{tag}", pharmacist=f"lp_phil_{tag}", nurse=f"lp_nora_{tag}",
                   nurse2=f"lp_nina_{tag}", pharmacist2=f"lp_pia_{tag}", database=f"chemo_lp_{tag}", script="")
    with psycopg.connect(base_url, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {d.owner} LOGIN")
        admin.execute(f"CREATE ROLE {d.group} NOLOGIN")
        for login in (d.pharmacist, d.nurse, d.nurse2, d.pharmacist2):
            admin.execute(f"CREATE ROLE {login} LOGIN IN ROLE {d.group}")
        admin.execute(f"CREATE DATABASE {d.database}")
    with psycopg.connect(d.admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA chemo AUTHORIZATION {d.owner}")
    # the owner's first command creates the tables and registers the first pharmacist
    assert invoke(["user", "add", d.pharmacist, "--role", "pharmacist"], d.url(d.owner)) == 0
    d.script = setup_sql(d.owner, d.group, "chemo")
    done = subprocess.run(["psql", d.admin_url, "-X", "-q"], input=d.script, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return d


def teardown(base_url: str, d: Deployment) -> None:
    import psycopg

    with psycopg.connect(base_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {d.database} WITH (FORCE)")
        admin.execute(f"REVOKE pg_signal_backend, pg_read_all_stats FROM {d.owner}")
        for role in (d.pharmacist, d.nurse, d.nurse2, d.pharmacist2, d.group, d.owner):
            admin.execute(f"DROP ROLE IF EXISTS {role}")


def base_url() -> str:
    return os.environ.get("CHEMO_TEST_POSTGRES") or "postgresql://postgres@127.0.0.1:5432/test"


@attrs.define
class Record:
    """The rows the attacks aim at."""

    patient: int
    plan: int
    lab: int  # an ANC of 0.6 x 10^9/L, recorded by the nurse: readiness NOT READY


def populate(d: Deployment, invoke) -> Record:
    """The pharmacist registers two nurses and a second pharmacist, both pharmacists approve the regimen, the
    pharmacist registers a patient and starts a plan; the nurse records a failing ANC."""
    import psycopg

    from chemo.regimen import regimen_path

    P, N, P2 = d.pharmacist, d.nurse, d.pharmacist2
    regimen = str(regimen_path("doxorubicin-ifosfamide"))
    for args, role in ((["user", "add", N, "--role", "nurse"], P), (["user", "add", d.nurse2, "--role", "nurse"], P),
                       (["user", "add", P2, "--role", "pharmacist"], P),
                       (["regimen", "approve", regimen], P), (["regimen", "approve", regimen], P2),
                       (["patient", "add", "--mrn", "LP1", "--name", "Synthetic Lp", "--sex", "female", "--born",
                         "1970-05-01", "--height", "170 cm", "--weight", "70 kg"], P),
                       (["plan", "start", "LP1", "doxorubicin-ifosfamide", "--start", "2026-01-05"], P),
                       (["labs", "add", "LP1", "anc", "0.6 10^9/L", "--at", "2026-01-04T08:00"], N)):
        code = invoke(args, d.url(role))
        assert code == 0, (args, code)
    with psycopg.connect(d.admin_url + "?options=-csearch_path%3Dchemo") as conn:
        patient = conn.execute("SELECT id FROM patients WHERE mrn = 'LP1'").fetchone()[0]
        plan = conn.execute("SELECT id FROM plans WHERE patient_id = %s", (patient,)).fetchone()[0]
        lab = conn.execute("SELECT id FROM labs WHERE patient_id = %s AND analyte = 'anc'", (patient,)).fetchone()[0]
    return Record(patient, plan, lab)


STAMP = "2026-01-04T09:00:00"
# (name, who: "nurse" | "pharmacist", SQL); {P} {P2} {N} {N2} the logins, {patient} {plan} {lab} the rows
ATTACKS = (
    ("the issue: a nurse maps herself to the pharmacist's login",
     "nurse", "INSERT INTO db_logins VALUES ('{N}', '{P}', '" + STAMP + "', '{N}')"),
    ("the issue: a nurse maps herself, naming the pharmacist as the one who did",
     "nurse", "INSERT INTO db_logins VALUES ('{N}', '{P}', '" + STAMP + "', '{P}')"),
    ("the issue: a failing ANC marked entered-in-error",
     "nurse", "UPDATE labs SET status = 'entered-in-error' WHERE id = {lab}"),
    ("the issue: a failing ANC superseded by itself", "nurse", "UPDATE labs SET superseded_by = id WHERE id = {lab}"),
    ("the issue: a failing ANC superseded by itself, through the owner's function", "nurse",
     "SELECT chemo_update('labs', {lab}, 'superseded_by', '{lab}')"),
    ("the issue: a failing ANC marked entered-in-error, through the owner's function", "nurse",
     "SELECT chemo_update('labs', {lab}, 'status', 'entered-in-error')"),
    ("the issue: a forged dose sign-off in the pharmacist's name",
     "nurse", "INSERT INTO signoffs VALUES ((SELECT coalesce(max(id), 0) + 1 FROM signoffs), {plan}, 1, 'dose', '{P}', 'pharmacist', '" + STAMP + "', NULL, '{{}}')"),
    ("the issue: an audit row with a recomputed unkeyed chain",
     "nurse", "INSERT INTO audit SELECT id + 1, at, login, action, entity, entity_key, old, new, hash, hash "
              "FROM audit ORDER BY id DESC LIMIT 1"),
    ("the issue: the audit head moved", "nurse", "UPDATE audit_head SET rows = rows + 1"),
    ("the issue: the writers' lock taken directly",
     "nurse", "SELECT pg_advisory_xact_lock(1667788143, hashtext('chemo'))"),
    ("the writers' lock, session level", "nurse", "SELECT pg_advisory_lock(1667788143, hashtext('chemo'))"),
    ("a nurse makes herself a pharmacist", "nurse", "INSERT INTO roles VALUES ('{N}', 'pharmacist')"),
    ("the labs locked against writers", "nurse", "SELECT id FROM labs FOR UPDATE"),
    ("the plans locked against sign-offs", "nurse", "SELECT id FROM plans FOR KEY SHARE"),
    ("a table locked", "nurse", "LOCK TABLE labs IN ACCESS EXCLUSIVE MODE"),
    ("a lab numbered at the end of the range (no id left for chemo)", "nurse",
     "INSERT INTO labs (id, patient_id, analyte, value_text, value, unit, collected_at, recorded_at, recorded_by) "
     "VALUES (9223372036854775807, {patient}, 'anc', '2 10^9/L', 2.0, '10^9/L', '2026-01-04T08:30:00', '"
     + STAMP + "', '{N}')"),
    ("a plan's weight changed through the owner's function", "pharmacist",
     "SELECT chemo_update('plans', {plan}, 'dosing_weight_kg', '140')"),
    ("a table named as a column through the owner's function", "pharmacist",
     "SELECT chemo_update('plans; DELETE FROM labs; --', {plan}, 'status', 'superseded')"),
    ("a nurse registers a user", "nurse", "INSERT INTO users VALUES ('eve', '" + STAMP + "', '{N}')"),
    ("a nurse registers a user in the pharmacist's name", "nurse",
     "INSERT INTO users VALUES ('eve', '" + STAMP + "', '{P}')"),
    ("a lab value edited", "nurse", "UPDATE labs SET value = 2.0, value_text = '2 10^9/L' WHERE id = {lab}"),
    ("a lab deleted", "nurse", "DELETE FROM labs WHERE id = {lab}"),
    ("a lab truncated", "nurse", "TRUNCATE labs CASCADE"),
    ("a lab moved to another time", "nurse", "UPDATE labs SET collected_at = '2020-01-01T00:00:00' WHERE id = {lab}"),
    ("a sign-off as a pharmacist under the nurse's own login", "nurse",
     "INSERT INTO signoffs VALUES ((SELECT coalesce(max(id), 0) + 1 FROM signoffs), {plan}, 1, 'dose', '{N}', 'pharmacist', '" + STAMP + "', NULL, '{{}}')"),
    ("a sign-off by a login that does not exist", "nurse",
     "INSERT INTO signoffs VALUES ((SELECT coalesce(max(id), 0) + 1 FROM signoffs), {plan}, 1, 'readiness', 'nobody', 'nurse', '" + STAMP + "', NULL, '{{}}')"),
    ("the audit key read", "nurse", "SELECT key FROM audit_key"),
    ("the audit key replaced", "nurse", "UPDATE audit_key SET key = repeat('0', 64)"),
    ("the audit key deleted", "nurse", "DELETE FROM audit_key"),
    ("the audit key inserted", "nurse", "INSERT INTO audit_key VALUES (2, repeat('0', 64), 1)"),
    ("an audit row deleted", "nurse", "DELETE FROM audit WHERE id = (SELECT max(id) FROM audit)"),
    ("an audit row edited", "nurse", "UPDATE audit SET login = '{P}' WHERE id = 1"),
    ("an audit row appended in the pharmacist's name", "nurse",
     "SELECT chemo_audit_append('" + STAMP + "', '{P}', 'signoff', 'signoffs', '1', NULL, '{{}}')"),
    ("the audit check replaced", "nurse",
     "CREATE OR REPLACE FUNCTION chemo_audit_bad_rows() RETURNS SETOF BIGINT LANGUAGE sql AS 'SELECT 0 WHERE false'"),
    ("a temporary audit key shadowing the real one", "nurse",
     "CREATE TEMP TABLE audit_key (one INTEGER, key TEXT, since_id INTEGER)"),
    ("a table of one's own in the record's schema", "nurse", "CREATE TABLE chemo.mine (x INTEGER)"),
    ("the guard switched off", "nurse", "ALTER TABLE labs DISABLE TRIGGER chemo_guard"),
    ("the guard dropped", "nurse", "DROP TRIGGER chemo_guard ON labs"),
    ("the guard replaced", "nurse",
     "CREATE OR REPLACE FUNCTION chemo_guard() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END'"),
    ("the migrations forgotten", "nurse", "DELETE FROM chemo_migrations"),
    ("a patient renamed", "nurse", "UPDATE patients SET name = 'Someone Else' WHERE id = {patient}"),
    ("a plan's dosing weight raised", "pharmacist", "UPDATE plans SET dosing_weight_kg = 140 WHERE id = {plan}"),
    ("a plan superseded by a nurse", "nurse", "UPDATE plans SET status = 'superseded' WHERE id = {plan}"),
    ("a weight recorded by a nurse", "nurse",
     "INSERT INTO measurements VALUES ((SELECT coalesce(max(id), 0) + 1 FROM measurements), {patient}, '2026-01-04', NULL, NULL, '90 kg', 90, '" + STAMP + "', '{N}')"),
    ("a mapping deleted", "pharmacist", "DELETE FROM db_logins"),
    ("a role removed", "pharmacist", "DELETE FROM roles WHERE login = '{N2}'"),
    ("a role renamed", "pharmacist", "UPDATE roles SET role = 'pharmacist' WHERE login = '{N}'"),
    ("becoming the pharmacist", "nurse", "SET ROLE {P}"),
    ("becoming the owner", "nurse", "SET SESSION AUTHORIZATION {owner}"),
    # allowed by the guard (the author's own login and role) but written around chemo: audit verify finds them
    ("a lab typed around chemo", "nurse",
     "INSERT INTO labs (id, patient_id, analyte, value_text, value, unit, collected_at, recorded_at, recorded_by) "
     "VALUES ((SELECT max(id) + 1 FROM labs), {patient}, 'anc', '2 10^9/L', 2.0, '10^9/L', '2026-01-04T08:30:00', '" + STAMP + "', '{N}')"),
    ("a failing ANC superseded by a lab typed around chemo", "nurse",
     "SELECT chemo_update('labs', {lab}, 'superseded_by', (SELECT max(id) FROM labs)::text)"),
    ("a readiness sign-off around chemo", "nurse",
     "INSERT INTO signoffs VALUES ((SELECT coalesce(max(id), 0) + 1 FROM signoffs), {plan}, 1, 'readiness', '{N}', 'nurse', '" + STAMP + "', NULL, '{{}}')"),
    ("an administration around chemo", "nurse",
     "INSERT INTO administrations VALUES ((SELECT coalesce(max(id), 0) + 1 FROM administrations), {plan}, 1, 1, 'doxorubicin', 130, 1.8, '" + STAMP + "', '{N}')"),
    ("a weight recorded around chemo by the pharmacist", "pharmacist",
     "INSERT INTO measurements VALUES ((SELECT coalesce(max(id), 0) + 1 FROM measurements), {patient}, '2026-01-04', NULL, NULL, '90 kg', 90, '" + STAMP + "', '{P}')"),
    ("a mapping added around chemo by the pharmacist", "pharmacist",
     "INSERT INTO db_logins VALUES ('{N2}', '{N}', '" + STAMP + "', '{P}')"),
    ("a plan superseded directly by the pharmacist", "pharmacist",
     "UPDATE plans SET status = 'superseded' WHERE id = {plan}"),
    ("a plan superseded around chemo by the pharmacist", "pharmacist",
     "SELECT chemo_update('plans', {plan}, 'status', 'superseded')"),
    ("a superseded plan made active again", "pharmacist", "SELECT chemo_update('plans', {plan}, 'status', 'active')"),
    ("an audit row describing the failing ANC as 2.0", "nurse",
     "SELECT chemo_audit_append('" + STAMP + "', '{N}', 'lab.add', 'labs', '{lab}', NULL, "
     "'{{\"value\": 2.0, \"value_text\": \"2 10^9/L\"}}')"),
    # regimen approval (issue 24): two pharmacists from two database users approve a file's exact bytes; a plan
    # starts only on approved bytes
    ("a plan started on a regimen no one approved, its audit row appended", "pharmacist",
     "INSERT INTO plans SELECT id + 1, patient_id, regimen_id, '/tmp/edited.toml', repeat('ab', 32), start_date, "
     "planned_cycles, dosing_weight_text, dosing_weight_kg, dosing_height_cm, bsa_formula, 'active', created_at, "
     "'{P}' FROM plans WHERE id = (SELECT max(id) FROM plans); SELECT chemo_audit_append('" + STAMP + "', '{P}', "
     "'plan.start', 'plans', id::text, NULL, (to_jsonb(p) - 'id')::text) FROM plans p "
     "WHERE id = (SELECT max(id) FROM plans)"),
    ("a regimen approval whose sha256 is not its text's", "pharmacist",
     "INSERT INTO regimen_approvals SELECT (SELECT max(id) + 1 FROM regimen_approvals), regimen_id, version, sha256, "
     "file_name, file_text || '#', "
     "NULL, NULL, '{P}', '{P}', approved_at, NULL FROM regimen_approvals WHERE id = 1"),
    ("a regimen approval naming another database user", "pharmacist",
     "INSERT INTO regimen_approvals SELECT (SELECT max(id) + 1 FROM regimen_approvals), regimen_id, version, "
     "encode(sha256(convert_to(file_text || '#', 'UTF8')), 'hex'), file_name, file_text || '#', NULL, NULL, '{P}', "
     "'{P2}', approved_at, NULL FROM regimen_approvals WHERE id = 1"),
    ("a nurse approves a regimen", "nurse",
     "INSERT INTO regimen_approvals SELECT (SELECT max(id) + 1 FROM regimen_approvals), regimen_id, version, "
     "encode(sha256(convert_to(file_text || '#', 'UTF8')), 'hex'), file_name, file_text || '#', NULL, NULL, '{N}', "
     "'{N}', approved_at, NULL FROM regimen_approvals WHERE id = 1"),
    ("the approved regimen approved a third time, by its first pharmacist", "pharmacist",
     "INSERT INTO regimen_approvals SELECT (SELECT max(id) + 1 FROM regimen_approvals), regimen_id, version, sha256, "
     "file_name, file_text, NULL, NULL, '{P}', '{P}', approved_at, NULL FROM regimen_approvals WHERE id = 1"),
    ("other bytes approved under the regimen id and version approved before", "pharmacist",
     "INSERT INTO regimen_approvals SELECT (SELECT max(id) + 1 FROM regimen_approvals), regimen_id, version, "
     "encode(sha256(convert_to(file_text || '#', 'UTF8')), 'hex'), file_name, file_text || '#', NULL, NULL, '{P}', "
     "'{P}', approved_at, NULL FROM regimen_approvals WHERE id = 1"),
    ("an edited regimen approved twice from one database user, the second login mapped to it", "pharmacist",
     "INSERT INTO db_logins VALUES ('{P}', '{P2}', '" + STAMP + "', '{P}'); " + " ".join(
         "INSERT INTO regimen_approvals SELECT (SELECT max(id) + 1 FROM regimen_approvals), regimen_id, version, "
         "encode(sha256(convert_to(file_text || '#', 'UTF8')), 'hex'), file_name, file_text || '#', NULL, NULL, "
         f"'{login}', '{{P}}', approved_at, NULL FROM regimen_approvals WHERE id = 1;" for login in ("{P}", "{P2}"))),
    ("a regimen text of 300,000 bytes approved (a regimen file is at most 256 KiB)", "pharmacist",
     "INSERT INTO regimen_approvals SELECT (SELECT max(id) + 1 FROM regimen_approvals), regimen_id, version, "
     "encode(sha256(convert_to(file_text || repeat('#', 300000), 'UTF8')), 'hex'), file_name, "
     "file_text || repeat('#', 300000), NULL, NULL, '{P}', '{P}', approved_at, NULL FROM regimen_approvals "
     "WHERE id = 1"),
    ("a regimen approval whose file name clears the reader's terminal", "pharmacist",
     "INSERT INTO regimen_approvals SELECT (SELECT max(id) + 1 FROM regimen_approvals), regimen_id, version, "
     "encode(sha256(convert_to(file_text || '#', 'UTF8')), 'hex'), E'\\x1b[2J\\x1b[H/regimens/ok.toml', "
     "file_text || '#', NULL, NULL, '{P}', '{P}', approved_at, NULL FROM regimen_approvals WHERE id = 1"),
    ("an approved regimen's text edited", "pharmacist", "UPDATE regimen_approvals SET file_text = file_text || '#'"),
    ("an approved regimen's text edited through the owner's function", "pharmacist",
     "SELECT chemo_update('regimen_approvals', 1, 'file_text', 'x')"),
    ("an approval deleted", "pharmacist", "DELETE FROM regimen_approvals WHERE id = 2"),
    ("the approvals truncated", "pharmacist", "TRUNCATE regimen_approvals"),
    ("a first approval of an edited regimen, around chemo", "pharmacist",
     "INSERT INTO regimen_approvals SELECT (SELECT max(id) + 1 FROM regimen_approvals), regimen_id, version, "
     "encode(sha256(convert_to(file_text || '#', 'UTF8')), 'hex'), file_name, file_text || '#', NULL, NULL, '{P}', "
     "'{P}', approved_at, NULL FROM regimen_approvals WHERE id = 1"),
    # the lapsed dose sign-off signed again (0011_signoff_resign): whether it lapsed is the program's decision
    ("a standing dose sign-off marked superseded and signed again, around chemo", "pharmacist",
     "INSERT INTO signoffs VALUES ((SELECT coalesce(max(id), 0) + 1 FROM signoffs), {plan}, 2, 'dose', '{P}', "
     "'pharmacist', '" + STAMP + "', NULL, '{{}}'); SELECT chemo_update('signoffs', max(id), 'superseded_by', "
     "(max(id) + 1)::text) FROM signoffs; INSERT INTO signoffs VALUES ((SELECT max(id) + 1 FROM signoffs), {plan}, "
     "2, 'dose', '{P}', 'pharmacist', '" + STAMP + "', NULL, '{{}}')"),
)
QUICK = 14  # the tests run the first attacks (the and a few more); make reliability runs them all


def attack(d: Deployment, rec: Record, name: str, who: str, sql: str) -> str:
    """``refused``, ``detected`` (it went through and audit verify reports something new) or ``UNDETECTED``."""
    from chemo import audit
    from chemo.db import open_store

    role = d.pharmacist if who == "pharmacist" else d.nurse
    text = sql.format(P=d.pharmacist, P2=d.pharmacist2, N=d.nurse, N2=d.nurse2, owner=d.owner, patient=rec.patient,
                      plan=rec.plan, lab=rec.lab)
    with open_store(d.url(d.owner), create=False) as store:
        before = set(audit.verify(store)[1])
    done = d.psql(role, text)
    if done.returncode != 0:
        return "refused"
    with open_store(d.url(d.owner), create=False) as store:
        after = set(audit.verify(store)[1])
    return "detected" if after - before else "UNDETECTED"


def concurrent_writers(d: Deployment, writers: int, each: int) -> tuple[int, list[str], list[str]]:
    """``writers`` threads, each its own session as a workstation role (the nurses in turn), record ``each`` labs
    at once through the guard, ``chemo_lock`` and the keyed append: (acknowledged, errors, chain problems)."""
    import threading

    from chemo import audit
    from chemo.db import open_store
    from chemo.records import add_lab

    acknowledged, errors = [], []
    go = threading.Barrier(writers)

    def writer(k: int) -> None:
        role = (d.nurse, d.nurse2)[k % 2]
        with open_store(d.url(role), create=False) as store:
            go.wait()
            for i in range(each):
                try:
                    add_lab(store, role, "LP1", "platelets", f"{100 + k * each + i} 10^9/L")
                    acknowledged.append((k, i))
                except Exception as exc:  # noqa: BLE001 - counted and shown, the figure says what failed
                    errors.append(f"writer {k}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open_store(d.url(d.owner), create=False) as store:
        problems = audit.verify(store)[1]
    return len(acknowledged), errors, problems


def busy_holder(d: Deployment) -> tuple[float | None, bool, int]:
    """A nurse's session takes the writers' lock and runs ``pg_sleep(120)`` in its transaction (never idle); the
    pharmacist's writer retries a lab until one is acknowledged: (seconds until then or None, the holder was cut
    off, writes refused busy meanwhile)."""
    import threading
    import time

    import psycopg

    from chemo.db import StoreError, open_store
    from chemo.db.privileges import STALE_OPEN_S
    from chemo.db.schema import LOCK_CLASS
    from chemo.records import add_lab

    cut_off = []
    holding = threading.Event()

    def hold() -> None:
        with psycopg.connect(d.url(d.nurse)) as conn:
            try:
                conn.execute("SELECT chemo_lock(%s, hashtext('chemo'))", (LOCK_CLASS,))
                holding.set()
                conn.execute("SELECT pg_sleep(120)")
            except psycopg.OperationalError:
                cut_off.append(True)

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    holding.wait(30)
    started, busy, acknowledged = time.monotonic(), 0, None
    with open_store(d.url(d.pharmacist), create=False) as store:
        while time.monotonic() - started < STALE_OPEN_S + 30:
            try:
                add_lab(store, d.pharmacist, "LP1", "platelets", "210 10^9/L")
                acknowledged = time.monotonic() - started
                break
            except StoreError:
                busy += 1
    thread.join(10)
    return acknowledged, bool(cut_off), busy


def cli_invoke(args, db) -> int:
    from .common import run_chemo

    return run_chemo([*args, "--db", db]).returncode


def run(quick: bool = False) -> list:
    from .common import Missing, exactly
    from .postgres import reachable

    url = base_url()
    why = reachable(url)
    if why:
        raise Missing(f"no PostgreSQL server at {url} ({why}); set CHEMO_TEST_POSTGRES")
    d = deploy(url, cli_invoke)
    try:
        rec = populate(d, cli_invoke)
        writers, each = 4, (10 if quick else 100)
        acknowledged, errors, chain = concurrent_writers(d, writers, each)
        holder = None if quick else busy_holder(d)
        outcomes = [(name, attack(d, rec, name, who, sql)) for name, who, sql in ATTACKS[:QUICK if quick else None]]
    finally:
        teardown(url, d)
    undetected = [name for name, o in outcomes if o == "UNDETECTED"]
    refused = sum(o == "refused" for _, o in outcomes)
    return [exactly(f"{writers} workstation roles writing at once through the guard, {each} labs each: acknowledged",
                    acknowledged, writers * each, examples=errors),
            exactly("  and then audit chain problems", len(chain), 0, examples=chain),
            *([] if holder is None else [
                exactly("a workstation holding the writers' lock while running pg_sleep: cut off, and a writer "
                        "acknowledged after", int(holder[1] and holder[0] is not None), 1,
                        detail=(f"a writer acknowledged again after {holder[0]:.1f} s, {holder[2]} busy refusals "
                                "before" if holder[0] is not None else "no write acknowledged"))]),
            exactly(f"psql as a workstation role: attacks neither refused nor found by audit verify "
                    f"({len(outcomes)} attacks, {refused} refused, {len(outcomes) - refused - len(undetected)} "
                    "found by audit verify)", len(undetected), 0, examples=undetected)]


def main(argv=None) -> int:
    import sys

    from .common import print_figures

    args = sys.argv[1:] if argv is None else argv
    return print_figures(run(quick="--quick" in args))


if __name__ == "__main__":
    import sys

    sys.exit(main())
