"""Who may do what (Issue 4): roles, unregistered users, and the two-person rule."""

import pytest

from chemo.demo import NURSE, PHARMACIST, PRESCRIBER, add_ready_patient, add_users, approve_regimens
from chemo.records import add_lab, add_measurement, add_patient, add_prior, start_plan
from chemo.roles import RoleRefused, acting_user, add_user
from chemo.db import open_store
from chemo.treatment import SignoffMissing, TwoPersonRefused, administer, signoff


@pytest.fixture
def store(new_db):
    with open_store(new_db("roles.db")) as s:
        add_users(s)
        approve_regimens(s)  # two pharmacists approve the shipped regimens
        add_ready_patient(s, "R1")
        yield s


def count(store, table):
    return store.one(f"SELECT count(*) AS n FROM {table}")["n"]


def test_the_first_user_of_an_empty_database_may_be_added_by_anyone(new_db):
    with open_store(new_db("empty.db")) as s:
        add_user(s, "whoever", "ph1", "pharmacist")
        with pytest.raises(RoleRefused, match="not a registered user"):
            add_user(s, "whoever", "n1", "nurse")
        add_user(s, "ph1", "n1", "nurse")
        with pytest.raises(RoleRefused, match="needs a pharmacist"):
            add_user(s, "n1", "n2", "nurse")
        assert count(s, "roles") == 2


def test_an_unregistered_user_changes_nothing(store):
    before = {t: count(store, t) for t in ("patients", "labs", "measurements", "audit")}
    with pytest.raises(RoleRefused, match="not a registered user"):
        add_lab(store, "stranger", "R1", "anc", "2 10^9/L")
    with pytest.raises(RoleRefused):
        add_patient(store, "stranger", mrn="X1", name="X", sex="male", born="1960-01-01", height="180 cm",
                    weight="80 kg")
    assert {t: count(store, t) for t in before} == before


def test_a_nurse_records_labs_and_weights_but_does_not_register_patients_prior_or_plans(store):
    add_lab(store, NURSE, "R1", "anc", "2 10^9/L")
    add_measurement(store, NURSE, "R1", weight="71 kg", height="170 cm")  # nurses weigh patients (issue 19)
    for action in (
        lambda: add_patient(store, NURSE, mrn="N1", name="N", sex="male", born="1960-01-01", height="180 cm",
                            weight="80 kg"),
        lambda: add_prior(store, NURSE, "R1", "epirubicin", "100 mg/m²"),
        lambda: start_plan(store, NURSE, "R1", "doxorubicin-dacarbazine"),
    ):
        with pytest.raises(RoleRefused, match="prescriber or pharmacist"):
            action()


def test_a_pharmacist_registers_as_well_as_a_prescriber(store):
    add_measurement(store, PHARMACIST, "R1", weight="71 kg")
    add_measurement(store, PRESCRIBER, "R1", weight="71.5 kg")


def test_the_dose_check_needs_a_pharmacist_and_the_readiness_check_a_nurse(store):
    with pytest.raises(RoleRefused, match="pharmacist"):
        signoff(store, NURSE, "R1", 1, "dose")
    with pytest.raises(RoleRefused, match="nurse"):
        signoff(store, PHARMACIST, "R1", 1, "readiness")
    with pytest.raises(RoleRefused, match="nurse"):
        signoff(store, PRESCRIBER, "R1", 1, "readiness")


def test_one_person_cannot_make_both_checks_of_a_cycle(store):
    add_user(store, PHARMACIST, "dual", "pharmacist")
    add_user(store, PHARMACIST, "dual", "nurse")
    signoff(store, "dual", "R1", 1, "dose")
    with pytest.raises(TwoPersonRefused, match="different person"):
        signoff(store, "dual", "R1", 1, "readiness")
    signoff(store, NURSE, "R1", 1, "readiness")  # a second person may
    assert count(store, "signoffs") == 1 + 1


def test_a_cycle_is_administered_only_after_both_checks_and_only_by_a_nurse(store):
    with pytest.raises(SignoffMissing, match="dose and readiness"):
        administer(store, NURSE, "R1", 1)
    signoff(store, PHARMACIST, "R1", 1, "dose")
    with pytest.raises(SignoffMissing, match="readiness check is missing"):
        administer(store, NURSE, "R1", 1)
    signoff(store, NURSE, "R1", 1, "readiness")
    with pytest.raises(RoleRefused, match="nurse"):
        administer(store, PHARMACIST, "R1", 1)
    assert count(store, "administrations") == 0
    result = administer(store, NURSE, "R1", 1, 1)
    assert {r["drug"] for r in result["administrations"]} == {"doxorubicin", "ifosfamide", "mesna"}
    assert all(r["given_by"] == NURSE for r in result["administrations"])


def test_the_acting_user_is_the_option_then_the_environment_then_the_login(monkeypatch):
    monkeypatch.setenv("CHEMO_USER", "env-user")
    assert acting_user("opt-user") == "opt-user"
    assert acting_user(None) == "env-user"
    monkeypatch.delenv("CHEMO_USER")
    import getpass

    assert acting_user(None) == getpass.getuser()


@pytest.mark.postgresql
def test_on_postgresql_a_workstation_acts_as_its_database_user_unless_a_pharmacist_mapped_it(
        pg_admin, pg_schema, runner, chemo_cli):
    """Also plain grants, as before the DBA script of `chemo db setup-sql` (tests/test_least_privilege.py runs that): the
    audit is appended through the owner's function, so SELECT and INSERT, UPDATE of plans and labs suffice."""
    import uuid

    from chemo.regimen import regimen_path

    url = pg_schema()
    schema = url.split("search_path%3D", 1)[1].split("%20", 1)[0]
    role = f"chemo_ward_{uuid.uuid4().hex[:8]}"

    def run(*args, db=url):
        result = runner.invoke(chemo_cli, [*args, "--db", db])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        return result

    def last_audit_login():
        with open_store(url) as s:
            return s.one("SELECT login FROM audit ORDER BY id DESC LIMIT 1")["login"]

    for args in (("user", "add", "phil", "--role", "pharmacist"), ("user", "add", role, "--role", "nurse"),
                 ("user", "add", "nora", "--role", "nurse"), ("user", "add", "pia", "--role", "pharmacist"),
                 ("patient", "add", "--mrn", "M1", "--name", "Synthetic One", "--sex", "female", "--born",
                  "1970-05-01", "--height", "170 cm", "--weight", "70 kg")):
        assert run(*args, "--user", "phil").exit_code == 0  # the test server's user is a superuser: --user as on SQLite
    for pharmacist in ("phil", "pia"):  # a plan starts on a regimen two pharmacists approved
        assert run("regimen", "approve", str(regimen_path("doxorubicin-ifosfamide")), "--user", pharmacist).exit_code == 0
    pg_admin.execute(f"CREATE ROLE {role} LOGIN")
    try:
        pg_admin.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        pg_admin.execute(f"GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA {schema} TO {role}")
        pg_admin.execute(f"GRANT UPDATE ON {schema}.plans, {schema}.labs TO {role}")
        ward = url.replace("postgres@", f"{role}@", 1)
        assert run("labs", "add", "M1", "anc", "2 10^9/L", db=ward).exit_code == 0
        assert last_audit_login() == role  # the database user, not the workstation's login name
        refused = run("labs", "add", "M1", "anc", "2 10^9/L", "--user", "nora", db=ward)
        assert refused.exit_code == 1
        assert refused.stderr == (f"chemo: user: the database user {role!r} may not act as 'nora': a pharmacist maps "
                                  f"it with 'chemo user map {role} nora'\n")
        assert run("user", "map", role, "nora", "--user", "nora", db=ward).exit_code == 1  # a nurse does not map
        assert run("user", "map", role, "nora", "--user", "phil").exit_code == 0
        assert run("labs", "add", "M1", "platelets", "200 10^9/L", "--user", "nora", db=ward).exit_code == 0
        assert last_audit_login() == "nora"
        assert run("plan", "start", "M1", "doxorubicin-ifosfamide", "--user", "phil").exit_code == 0
        assert run("audit", "verify", db=ward).exit_code == 0
    finally:
        pg_admin.execute(f"DROP OWNED BY {role}")
        pg_admin.execute(f"DROP ROLE {role}")
