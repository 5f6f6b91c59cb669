"""A lapsed dose sign-off is signed again on the same plan (the cycle numbering goes on): ``chemo signoff MRN --cycle N
--check dose``, the same command and the same rules as the first sign-off, before a dose of the cycle is given.

The patient: 170 cm, 70 kg (BSA 1.818 m²), doxorubicin-ifosfamide, doxorubicin 25 mg/m² on days 1-3: 45 mg a day
at full dose, 34 mg at dose level -1 (75 %: 25 mg/m² x 75 % x 1.818 m² = 34.09 mg).  The dose is calculated on the
plan's dosing weight (70 kg): a later weight does not change the mg signed on this plan; a prescription does.
"""

from __future__ import annotations

import json

import pytest

from chemo.audit import verify as audit_verify
from chemo.cli import cli
from chemo.db import open_store
from chemo.db.store import Refusal
from chemo.demo import NURSE, PHARMACIST, PRESCRIBER, add_ready_patient, add_users, approve_regimens
from chemo.prescription import SignoffLapsed, prescribe
from chemo.records import add_measurement
from chemo.treatment import RecalculateRefused, administer, signoff
from chemo.worksheet import build
from test_tui_support import demo_db, demo_template, make  # noqa: F401  (the TUI's record and app, SQLite)

DOX_IFO = "doxorubicin-ifosfamide"
BELOW = "frail: one level below the protocol dose from the start"
DRY_WEIGHT = "oedema; the dry weight is unchanged, the dosing weight stands (team decision)"


@pytest.fixture
def where(new_db):
    return new_db("resign.db")


@pytest.fixture
def store(where):
    with open_store(where) as s:
        add_users(s)
        approve_regimens(s)
        yield s


def cycle_rows(store, mrn, check="dose"):
    """Every sign-off of cycle 1 of the patient's plan, oldest first."""
    return store.query("SELECT s.id, s.login, s.superseded_by, s.detail FROM signoffs s JOIN plans p ON p.id = "
                       "s.plan_id JOIN patients x ON x.id = p.patient_id WHERE x.mrn = ? AND s.cycle = 1 "
                       "AND s.check_kind = ? ORDER BY s.id", (mrn, check))


def doxorubicin_mg(detail_text: str, day: int = 1) -> float:
    return next(d["dose_mg"] for d in json.loads(detail_text)["doses"] if d["drug"] == "doxorubicin" and d["day"] == day)


def cli_signoff(where, mrn, *extra):
    from click.testing import CliRunner

    return CliRunner().invoke(cli, ["signoff", mrn, "--cycle", "1", "--check", "dose", *extra, "--db", str(where),
                                    "--user", PHARMACIST])


def signed_both(store, mrn):
    signoff(store, PHARMACIST, mrn, 1, "dose")
    signoff(store, NURSE, mrn, 1, "readiness")


def test_a_weight_12_percent_off_lapses_the_sign_off_and_the_pharmacist_signs_cycle_1_again(store, where):
    add_ready_patient(store, "RS1", DOX_IFO)
    signed_both(store, "RS1")
    add_measurement(store, PRESCRIBER, "RS1", weight="78.4 kg")  # +12 % from the dosing 70 kg
    sheet = build(store, "RS1", 1)
    assert sheet.draft
    assert any(n.startswith("SIGN-OFF LAPSED") and "78.4 kg" in n for s in sheet.sections for n in s.notes)
    with pytest.raises(SignoffLapsed, match="a pharmacist signs the doses of cycle 1 again") as refused:
        administer(store, NURSE, "RS1", 1, 1)
    assert "'chemo " not in str(refused.value)  # the engine's words name no command; the CLI's do:
    from click.testing import CliRunner

    line = CliRunner().invoke(cli, ["administer", "RS1", "--cycle", "1", "--day", "1", "--db", str(where), "--user",
                                    NURSE])
    assert line.exit_code == 1
    assert line.stderr.endswith("the dose sign-off has lapsed; a pharmacist signs the doses again with 'chemo signoff "
                                "RS1 --cycle 1 --check dose'\n")
    # the same rules as a first sign-off: a weight 12 % off calls for a recalculation, or an override and its reason
    with pytest.raises(RecalculateRefused, match="recalculated"):
        signoff(store, PHARMACIST, "RS1", 1, "dose")
    result = cli_signoff(where, "RS1", "--override-reason", DRY_WEIGHT, "--json")
    assert result.exit_code == 0, result.output
    again = json.loads(result.stdout)
    old, new = cycle_rows(store, "RS1")
    assert (old["superseded_by"], new["superseded_by"]) == (new["id"], None)
    assert again["supersedes"] == old["id"] and "a weight of 78.4 kg" in again["lapsed"]
    assert again["detail"]["overrides"] == ["recalculate"]
    assert json.loads(new["detail"])["record_body"]["weight_kg"] == 78.4  # signed on the weight now recorded
    assert doxorubicin_mg(new["detail"]) == 45  # on the plan's dosing weight, 25 mg/m² x 1.818 m²
    assert not build(store, "RS1", 1).draft
    given = administer(store, NURSE, "RS1", 1, 1)
    assert {a["drug"]: a["dose_mg"] for a in given["administrations"]}["doxorubicin"] == 45
    assert audit_verify(store)[1] == []


def test_a_prescribed_cycle_lapsed_by_a_weight_12_percent_off_is_not_signed_again_on_this_plan(store):
    """The prescription was written on the dosing 70 kg: against the 78.4 kg now recorded it no longer verifies
    (record-mismatch, a hard stop), override or not; the doses are recalculated on a new plan."""
    from chemo.prescription import PrescriptionRefused

    add_ready_patient(store, "RS8", DOX_IFO)
    prescribe(store, PRESCRIBER, "RS8", 1)
    signed_both(store, "RS8")
    add_measurement(store, PRESCRIBER, "RS8", weight="78.4 kg")
    with pytest.raises(PrescriptionRefused, match="no longer verifies .hard stop.: the order's weight 70 kg differs"):
        signoff(store, PHARMACIST, "RS8", 1, "dose", override_reason=DRY_WEIGHT)
    assert [r["superseded_by"] for r in cycle_rows(store, "RS8")] == [None]


def test_a_lapsed_sign_off_signed_again_gives_the_new_prescriptions_mg(store, where):
    """Signed at 45 mg (calculated), prescribed at level -1 after it: signed again with the same command, the
    worksheet prints 34 mg and the nurse gives 34 mg; the old row is kept, superseded; both audited."""
    add_ready_patient(store, "RS2", DOX_IFO)
    signed_both(store, "RS2")
    prescribe(store, PRESCRIBER, "RS2", 1, dose_level=("-1",), reason=BELOW)
    assert build(store, "RS2", 1).draft
    result = cli_signoff(where, "RS2")
    assert result.exit_code == 0, result.output
    assert "signed again: sign-off" in result.output and "kept, superseded" in result.output
    old, new = cycle_rows(store, "RS2")
    assert old["superseded_by"] == new["id"] and new["superseded_by"] is None
    assert (doxorubicin_mg(old["detail"]), doxorubicin_mg(new["detail"])) == (45, 34)
    sheet = build(store, "RS2", 1)
    assert not sheet.draft
    table = next(s for s in sheet.sections if s.title.startswith("Administrations"))
    dispensed = table.header.index("Dispensed mg")
    assert [r[dispensed] for r in table.rows if r[1] == "doxorubicin"] == ["34", "34", "34"]
    given = administer(store, NURSE, "RS2", 1, 1)
    assert {a["drug"]: a["dose_mg"] for a in given["administrations"]}["doxorubicin"] == 34
    actions = [(r["action"], r["entity_key"]) for r in store.query(
        "SELECT action, entity_key FROM audit WHERE entity = 'signoffs' ORDER BY id")]
    assert actions == [("signoff.dose", str(old["id"])), ("signoff.readiness", str(old["id"] + 1)),
                       ("signoff.dose", str(new["id"])), ("signoff.supersede", str(old["id"]))]
    assert audit_verify(store)[1] == []
    # changed outside chemo, the mark is found: the audit records which sign-off replaced the lapsed one
    class Undo(Exception):
        pass

    with pytest.raises(Undo):
        with store.transaction():
            store.execute("UPDATE signoffs SET superseded_by = ? WHERE id = ?", (old["id"] + 1, old["id"]))
            problems = audit_verify(store)[1]
            raise Undo
    assert any(f"signoffs row {old['id']}: superseded_by is {old['id'] + 1}, its audit row" in p for p in problems)
    assert audit_verify(store)[1] == []


def test_a_sign_off_that_has_not_lapsed_is_not_signed_twice(store, where):
    from chemo.roles import add_user

    add_user(store, PHARMACIST, "nina", "nurse")
    add_ready_patient(store, "RS3", DOX_IFO)
    signed_both(store, "RS3")
    result = cli_signoff(where, "RS3")
    assert result.exit_code == 1
    assert "cycle 1: the dose check was signed off by" in result.stderr
    assert "still stands (nothing has lapsed it)" in result.stderr
    with pytest.raises(Refusal, match="cycle 1: the readiness check was signed off by"):
        signoff(store, "nina", "RS3", 1, "readiness")  # a readiness sign-off never lapses: never signed again
    assert len(cycle_rows(store, "RS3")) == 1 and len(cycle_rows(store, "RS3", "readiness")) == 1


def test_once_day_1_is_given_a_lapsed_sign_off_is_not_signed_again(store, where):
    add_ready_patient(store, "RS4", DOX_IFO)
    signed_both(store, "RS4")
    administer(store, NURSE, "RS4", 1, 1)
    add_measurement(store, PRESCRIBER, "RS4", weight="78.4 kg")
    with pytest.raises(SignoffLapsed, match="start a new plan"):
        administer(store, NURSE, "RS4", 1, 2)
    result = cli_signoff(where, "RS4", "--override-reason", DRY_WEIGHT)
    assert result.exit_code == 1
    assert "day 1 of cycle 1 was given" in result.stderr and "is not signed again" in result.stderr
    assert "start a new plan with 'chemo plan start'" in result.stderr
    assert [r["superseded_by"] for r in cycle_rows(store, "RS4")] == [None]


def test_the_two_person_rule_holds_for_the_sign_off_made_again(store):
    """The nurse who made the readiness check cannot make the dose check, the first time or the second."""
    from chemo.roles import add_user

    add_user(store, PHARMACIST, "dual", "pharmacist")
    add_user(store, PHARMACIST, "dual", "nurse")
    add_ready_patient(store, "RS5", DOX_IFO)
    signoff(store, PHARMACIST, "RS5", 1, "dose")
    signoff(store, "dual", "RS5", 1, "readiness")
    prescribe(store, PRESCRIBER, "RS5", 1, dose_level=("-1",), reason=BELOW)
    from chemo.treatment import TwoPersonRefused

    with pytest.raises(TwoPersonRefused, match="dual made the readiness check"):
        signoff(store, "dual", "RS5", 1, "dose")
    assert [r["superseded_by"] for r in cycle_rows(store, "RS5")] == [None]


def test_two_pharmacists_signing_a_lapsed_sign_off_again_at_once_one_signs_the_other_is_refused(store, where):
    """Both at their workstations, at the same moment: the writers' lock orders them; the second finds the first's
    sign-off standing (signed on the weight now recorded: nothing lapses it) and is refused; one sign-off stands."""
    import threading

    from chemo.demo import SECOND_PHARMACIST

    add_ready_patient(store, "RS8", DOX_IFO)
    signed_both(store, "RS8")
    add_measurement(store, PRESCRIBER, "RS8", weight="78.4 kg")
    go, outcomes = threading.Barrier(2), {}

    def resign(login):
        with open_store(where, create=False) as own:
            go.wait()
            try:
                outcomes[login] = signoff(own, login, "RS8", 1, "dose", override_reason=DRY_WEIGHT)["id"]
            except Refusal as exc:
                outcomes[login] = str(exc)

    threads = [threading.Thread(target=resign, args=(login,)) for login in (PHARMACIST, SECOND_PHARMACIST)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    signed = [v for v in outcomes.values() if isinstance(v, int)]
    refused = [v for v in outcomes.values() if isinstance(v, str)]
    assert len(signed) == 1 and len(refused) == 1, outcomes
    assert "still stands (nothing has lapsed it)" in refused[0]
    rows = cycle_rows(store, "RS8")
    assert [r["superseded_by"] for r in rows] == [signed[0], None] and rows[1]["id"] == signed[0]
    assert audit_verify(store)[1] == []


def test_db_copy_keeps_both_rows_and_the_mark(store, engine, tmp_path, request):
    """Copied to the other engine (SQLite to PostgreSQL when a server is named, PostgreSQL to SQLite)."""
    import os

    from chemo.db.copy import copy_record

    add_ready_patient(store, "RS6", DOX_IFO)
    signed_both(store, "RS6")
    prescribe(store, PRESCRIBER, "RS6", 1, dose_level=("-1",), reason=BELOW)
    signoff(store, PHARMACIST, "RS6", 1, "dose")
    other = (request.getfixturevalue("pg_schema")() if engine == "sqlite" and os.environ.get("CHEMO_TEST_POSTGRES")
             else tmp_path / "copy.db")
    with open_store(other) as target:
        copied = copy_record(store, target)
        assert copied["to"]["rows"]["signoffs"] == 3
        assert [(r["id"], r["superseded_by"]) for r in cycle_rows(target, "RS6")] == [
            (r["id"], r["superseded_by"]) for r in cycle_rows(store, "RS6")]
        assert audit_verify(target)[1] == []


def _as_at_0010(store):
    """The record as 0010 left it: signoffs without superseded_by, UNIQUE (plan_id, cycle, check_kind)."""
    from chemo.db.schema import _V1

    table = next(t for t in _V1 if "CREATE TABLE signoffs" in t)
    columns = "id, plan_id, cycle, check_kind, login, role, signed_at, override_reason, detail"
    with store.transaction():
        if store.engine == "sqlite":
            store.execute(table.replace("CREATE TABLE signoffs", "CREATE TABLE signoffs_old"))
            store.execute(f"INSERT INTO signoffs_old ({columns}) SELECT {columns} FROM signoffs")
            store.execute("DROP TABLE signoffs")
            store.execute("ALTER TABLE signoffs_old RENAME TO signoffs")
        else:
            store.execute("DROP INDEX signoffs_current")
            store.execute("ALTER TABLE signoffs DROP COLUMN superseded_by")
            store.execute("ALTER TABLE signoffs ADD UNIQUE (plan_id, cycle, check_kind)")
        store.execute("DELETE FROM chemo_migrations WHERE name = '0011_signoff_resign'")


def test_a_record_signed_before_0011_upgrades_with_its_rows_keys_and_audit_chain(where):
    from chemo.db import migrate

    with open_store(where) as store:
        add_users(store)
        approve_regimens(store)
        add_ready_patient(store, "RS7", DOX_IFO)
        signed_both(store, "RS7")
        before = store.query("SELECT * FROM signoffs ORDER BY id")
        _as_at_0010(store)
        assert "0011_signoff_resign" in migrate.pending(store)
        with pytest.raises(Exception, match="(?i)unique"):  # the old UNIQUE: one row per plan, cycle and check
            with store.transaction():
                store.execute("INSERT INTO signoffs (id, plan_id, cycle, check_kind, login, role, signed_at, detail) "
                              "SELECT id + 100, plan_id, cycle, check_kind, login, role, signed_at, detail FROM signoffs")
    with open_store(where) as store:  # opening it upgrades it
        assert migrate.pending(store) == []
        assert store.query("SELECT * FROM signoffs ORDER BY id") == before  # the same rows, ids, superseded_by NULL
        assert audit_verify(store)[1] == [] and store.integrity_problems() == []
        prescribe(store, PRESCRIBER, "RS7", 1, dose_level=("-1",), reason=BELOW)
        again = signoff(store, PHARMACIST, "RS7", 1, "dose")
        assert [r["superseded_by"] for r in cycle_rows(store, "RS7")] == [again["id"], None]
        assert audit_verify(store)[1] == [] and store.integrity_problems() == []


# ------------------------------------------------------------------ PostgreSQL, least privilege (chemo db setup-sql)

@pytest.fixture(scope="module")
def deployed():
    from conftest import least_privilege_deployment

    with least_privilege_deployment() as deployment:
        yield deployment


@pytest.mark.postgresql
@pytest.mark.xdist_group("least_privilege")
def test_a_workstation_cannot_mark_a_sign_off_superseded_by_hand(deployed):
    d, rec, invoke = deployed
    P = d.pharmacist
    assert invoke(["signoff", "LP1", "--cycle", "1", "--check", "dose"], d.url(P)) == 0
    assert invoke(["measure", "LP1", "--weight", "78.4 kg"], d.url(P)) == 0  # +12 %: the sign-off lapses
    sid = int(d.psql(d.nurse, f"SELECT id FROM signoffs WHERE plan_id = {rec.plan} AND cycle = 1").stdout)
    nxt = sid + 1
    stamp = "2026-01-04T09:00:00"
    for role, sql, said in (
            (d.nurse, f"UPDATE signoffs SET superseded_by = {nxt} WHERE id = {sid}",
             "permission denied for table signoffs"),
            (P, f"UPDATE signoffs SET superseded_by = {nxt} WHERE id = {sid}", "permission denied for table signoffs"),
            (d.nurse, f"SELECT chemo_update('signoffs', {sid}, 'superseded_by', '{nxt}')",
             "signed again by a pharmacist"),
            (P, f"SELECT chemo_update('signoffs', {sid}, 'superseded_by', '{sid}')",
             "superseded only once, by the next sign-off of its cycle"),
            (P, f"SELECT chemo_update('signoffs', {sid}, 'login', '{d.nurse}')", "signoffs.login is not changed"),
            # pointing at the next row, then writing a sign-off of cycle 2 there
            (P, f"SELECT chemo_update('signoffs', {sid}, 'superseded_by', '{nxt}'); INSERT INTO signoffs VALUES "
                f"({nxt}, {rec.plan}, 2, 'dose', '{P}', 'pharmacist', '{stamp}', NULL, '{{}}')",
             "replaces a sign-off of another plan, cycle or check"),
            # pointing at the next row and writing none: the key is checked at COMMIT
            (P, f"SELECT chemo_update('signoffs', {sid}, 'superseded_by', '{nxt}')", "foreign key"),
            # a second sign-off of the cycle without the mark: one stands
            (P, f"INSERT INTO signoffs VALUES ({nxt}, {rec.plan}, 1, 'dose', '{P}', 'pharmacist', '{stamp}', NULL, "
                "'{}')", "signoffs_current")):
        done = d.psql(role, sql)
        assert done.returncode != 0 and said in done.stderr, (sql, done.stderr)
    assert d.psql(d.nurse, f"SELECT count(*) FROM signoffs WHERE superseded_by IS NOT NULL").stdout.strip() == "0"
    # the pharmacist signs it again with chemo: the mark goes through chemo_update, both rows kept
    assert invoke(["signoff", "LP1", "--cycle", "1", "--check", "dose"], d.url(P)) == 1  # the weight: an override
    assert invoke(["signoff", "LP1", "--cycle", "1", "--check", "dose", "--override-reason", DRY_WEIGHT],
                  d.url(P)) == 0
    rows = d.psql(d.nurse, f"SELECT id, coalesce(superseded_by, 0) FROM signoffs WHERE plan_id = {rec.plan} "
                           "ORDER BY id").stdout.split()
    assert rows == [f"{sid}|{nxt}", f"{nxt}|0"]
    again = d.psql(P, f"SELECT chemo_update('signoffs', {sid}, 'superseded_by', '{nxt + 1}')")
    assert again.returncode != 0 and "superseded only once" in again.stderr
    assert invoke(["audit", "verify"], d.url(d.nurse)) == 0


@pytest.mark.postgresql
@pytest.mark.xdist_group("least_privilege")
def test_a_workstation_cannot_sign_a_dose_sign_off_again_once_a_day_of_its_cycle_was_given(deployed):
    """Cycle 2: the pharmacist's dose sign-off, then a day of the cycle recorded given (both written with psql, as
    the guard lets them): the server refuses to mark the sign-off superseded through chemo_update."""
    d, rec, invoke = deployed
    P = d.pharmacist
    done = d.psql(P, f"INSERT INTO signoffs VALUES ((SELECT coalesce(max(id), 0) + 1 FROM signoffs), {rec.plan}, 2, "
                     f"'dose', '{P}', 'pharmacist', '2026-01-26T09:00:00', NULL, '{{}}') RETURNING id")
    assert done.returncode == 0, done.stderr
    sid = done.stdout.split()[0]
    given = d.psql(d.nurse, "INSERT INTO administrations VALUES ((SELECT coalesce(max(id), 0) + 1 FROM "
                            f"administrations), {rec.plan}, 2, 1, 'doxorubicin', 45, 1.8, '2026-01-26T10:00:00', "
                            f"'{d.nurse}')")
    assert given.returncode == 0, given.stderr
    again = d.psql(P, f"SELECT chemo_update('signoffs', {sid}, 'superseded_by', "
                      "(SELECT max(id) + 1 FROM signoffs)::text); INSERT INTO signoffs VALUES ((SELECT max(id) + 1 "
                      f"FROM signoffs), {rec.plan}, 2, 'dose', '{P}', 'pharmacist', '2026-01-26T11:00:00', NULL, '{{}}')")
    assert again.returncode != 0 and "cycle 2 was started: its dose sign-off is not signed again" in again.stderr
    assert d.psql(P, f"SELECT superseded_by IS NULL FROM signoffs WHERE id = {sid}").stdout.strip() == "t"


# ------------------------------------------------------------------ the TUI's signing screen

async def test_the_verify_screen_signs_a_lapsed_sign_off_again(make, demo_db):
    """DEMO-001 cycle 1 signed at the calculated doses, then prescribed at level -1: the pharmacist's verify screen
    shows the lapse, takes ctrl+s (the engine's sign-off, the same function) and the lapsed row is kept."""
    from test_tui_support import open_patient, screen_text

    from tui.screens.signing import SignSummaryScreen
    from tui.screens.verify import VerifyScreen

    with open_store(demo_db, create=False) as store:
        signoff(store, PHARMACIST, "DEMO-001", 1, "dose")
        prescribe(store, PRESCRIBER, "DEMO-001", 1, dose_level=("-1",), reason=BELOW)
    app = make(PHARMACIST)
    async with app.run_test(size=(110, 36)) as pilot:
        await open_patient(pilot, "001")
        await pilot.press("v")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, VerifyScreen) and not screen.signed
        assert "was written after it" in screen.context.lapsed and screen.context.dose_level == -1
        assert "SIGN-OFF LAPSED" in screen_text(app)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SignSummaryScreen)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is screen and screen.signed
        assert "is kept, superseded" in screen_text(app)
    with open_store(demo_db, create=False) as store:
        old, new = cycle_rows(store, "DEMO-001")
        assert old["superseded_by"] == new["id"] and json.loads(new["detail"])["dose_level"] == -1
        assert audit_verify(store)[1] == []


# ------------------------------------------------------------------ the law

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

STEPS = st.lists(st.sampled_from(["prescribe 0", "prescribe -1", "sign", "weight 78.4 kg", "weight 70 kg",
                                  "height 172 cm"]), min_size=1, max_size=6)


@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
def test_whatever_lapses_one_dose_sign_off_stands_and_it_is_signed_again_only_when_lapsed(tmp_path_factory, steps):
    """After any sequence of prescriptions, sign-offs and new weights and heights, cycle 1 has one standing dose
    sign-off, the others each superseded by the next; a sign-off is made again only when it had lapsed (the one
    decision, chemo.prescription.lapsed), and the worksheet is a DRAFT exactly when it has."""
    from chemo.db import plans
    from chemo.errors import ChemoError
    from chemo.library import load_library
    from chemo.prescription import lapsed
    from chemo.records import get_patient, latest_body

    library = load_library()
    with open_store(tmp_path_factory.mktemp("law") / "law.db") as store:
        add_users(store)
        approve_regimens(store)
        add_ready_patient(store, "L1", DOX_IFO)
        signoff(store, PHARMACIST, "L1", 1, "dose")
        patient = get_patient(store, "L1")
        plan = plans.active(store, patient["id"])

        def why():
            return lapsed(store, patient, plan, 1, json.loads(cycle_rows(store, "L1")[-1]["detail"]), library)

        for step in steps:
            before, n = why(), len(cycle_rows(store, "L1"))
            kind, _, value = step.partition(" ")
            done = False
            try:
                if kind == "prescribe":
                    prescribe(store, PRESCRIBER, "L1", 1, dose_level=(value,), reason=BELOW)
                elif kind == "sign":
                    signoff(store, PHARMACIST, "L1", 1, "dose", override_reason=DRY_WEIGHT)
                    done = True
                elif kind == "weight":
                    add_measurement(store, PRESCRIBER, "L1", weight=value, confirm=True)
                else:  # a height is recorded with the weight it was measured with: the newest
                    add_measurement(store, PRESCRIBER, "L1", weight=f"{latest_body(store, patient['id'])['weight_kg']:g} kg",
                                    height=value, confirm=True)
            except ChemoError as exc:
                if kind == "sign" and before is None:
                    assert "still stands" in exc.message
            rows = cycle_rows(store, "L1")
            if kind == "sign":
                assert before is not None or not done  # signed again only when it had lapsed
                assert len(rows) == n + done  # and then one row more
            assert [r["superseded_by"] for r in rows] == [r["id"] for r in rows[1:]] + [None]
            assert build(store, "L1", 1).draft == (why() is not None)
        assert audit_verify(store)[1] == []


def test_a_height_corrected_after_the_sign_off_is_not_signed_again_on_the_old_bsa(store):
    """170 cm at the plan's start, corrected to 150 cm after the dose sign-off: the sign-off lapses, and signing
    again on this plan would sign 45 mg doxorubicin a day on the plan's BSA (1.818 m²), not on the 1.708 m² of
    150 cm.  It is refused as a first sign-off would be: the doses must be recalculated (a new plan)."""
    add_ready_patient(store, "RS9", DOX_IFO)
    signed_both(store, "RS9")
    add_measurement(store, PRESCRIBER, "RS9", height="150 cm", weight="70 kg")
    assert build(store, "RS9", 1).draft
    with pytest.raises(RecalculateRefused, match="height 150 cm .* differs from the dosing height 170 cm"):
        signoff(store, PHARMACIST, "RS9", 1, "dose")
    assert [r["superseded_by"] for r in cycle_rows(store, "RS9")] == [None]  # the lapsed one is all there is
