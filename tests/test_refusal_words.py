"""A refusal of a sign-off or an administration carries what would let it through as data; the command line
writes its commands and options from those fields (the engine's own words name none).

Each case is the refusal as the engine raises it (see chemo/treatment.py) and the line `chemo` prints for it,
unchanged since the commands were first written."""

from __future__ import annotations

import pytest

from chemo.cli import command_line_words
from chemo.errors import NextStep
from chemo.treatment import CapRefused, DayRefused, ModificationRefused, NoBodySize, RecalculateRefused, RegimenChanged

RECALC = "the doses must be recalculated: the weight changed by 12 % (library thresholds)"
CAP = "cycle 6 would take the cumulative anthracycline dose to 475.0 mg/m² doxorubicin-equivalent"
DUE = ("cycle 1: the next day not yet given is day 2, due on 2026-06-16 (day 1 was given at 2026-06-15T10:00:00 by "
       "nora); if day 1 was meant it is already recorded")
BAND = {"drug": "doxorubicin", "finding": "doxorubicin: bilirubin 2 mg/dL is in the band b (give at most 50 %; src)",
        "satisfied_by_level": -2, "satisfied_by_pct": 50.0}

CASES = [
    (RecalculateRefused(RECALC + "; record a new weight and start a new plan, or sign off with an override and its "
                        "reason", finding=RECALC, overridable=True, field="weight",
                        next_steps=(NextStep.NEW_WEIGHT, NextStep.NEW_PLAN, NextStep.OVERRIDE)),
     f"weight: {RECALC}; record a new weight ('chemo measure') and start a new plan ('chemo plan start'), or sign "
     "off with --override-reason"),
    (CapRefused(CAP + "; a pharmacist may sign off with an override and its reason", finding=CAP, overridable=True,
                next_steps=(NextStep.OVERRIDE,), field="cycle"),
     f"cycle: {CAP}; a pharmacist may sign off with --override-reason"),
    (RegimenChanged("the regimen file r.toml has changed since the plan was started (its hash differs): start a new "
                    "plan before signing or giving doses", field="regimen", next_steps=(NextStep.NEW_PLAN,),
                    finding="the regimen file r.toml has changed since the plan was started (its hash differs)"),
     "regimen: the regimen file r.toml has changed since the plan was started (its hash differs): start a new plan "
     "with 'chemo plan start' before signing or giving doses"),
    (NoBodySize("S2: no height and weight recorded on or before 2026-06-12, so the BSA of the day of administration "
                "is unknown (record them, dated on or before that day)", mrn="S2", at="2026-06-12", field="at",
                finding="S2: no height and weight recorded on or before 2026-06-12, so the BSA of the day of "
                        "administration is unknown", next_steps=(NextStep.BODY_SIZE_ON,)),
     "at: S2: no height and weight recorded on or before 2026-06-12, so the BSA of the day of administration is "
     "unknown (record them with 'chemo measure --date')"),
    (DayRefused(DUE + "; to record day 2 now, name the day", finding=DUE, cycle=1, day=2, field="day",
                next_steps=(NextStep.NAME_DAY,)),
     f"day: {DUE}; to record day 2 now give --day 2"),
    (DayRefused("(words)", cycle=1, day=2, at="2026-06-16 10:00:00", first_day=1, first_at="2026-06-15 10:00:00",
                field="at", next_steps=(NextStep.EACH_DAY,)),
     "at: cycle 1: with --all-days day 2 would be recorded at 2026-06-16 10:00:00, in the future (day 1 at "
     "2026-06-15 10:00:00, each later day a calendar day later): record each day when it is given with --day, or "
     "give --at the time day 1 was given"),
    (ModificationRefused("(words)", head="cycle 1: a dose modification applies: ", bands=(BAND,), cycle=1,
                         overridable=True, next_steps=(NextStep.DOSE_LEVEL, NextStep.OVERRIDE), field="dose-level"),
     f"dose-level: cycle 1: a dose modification applies: {BAND['finding']}; sign off with --dose-level "
     "doxorubicin=-2 (50 %); or a pharmacist may sign off with --override-reason"),
    (ModificationRefused("(words)", finding="cycle 1: a dose modification applies now that the dose sign-off did "
                         "not cover: " + BAND["finding"], bands=(BAND,), cycle=1, next_steps=(NextStep.NEW_PLAN,),
                         field="cycle"),
     "cycle: cycle 1: a dose modification applies now that the dose sign-off did not cover: " + BAND["finding"]
     + "; the signed-off doses cannot be given: have the prescriber start a new plan ('chemo plan start') and the "
       "pharmacist sign off its doses at a level that meets the band"),
]


@pytest.mark.parametrize("refusal, line", CASES, ids=[type(r).__name__ + "-" + r.next_steps[-1].value
                                                      for r, _ in CASES])
def test_the_command_line_writes_its_options_from_the_refusals_fields(refusal, line):
    assert command_line_words(refusal) == line
    assert "--" not in str(refusal) and "'chemo " not in str(refusal)  # the engine's words name no command


def test_a_refusal_keeps_its_fields_when_located():
    refusal = CASES[-2][0].located(file="order.toml")
    assert refusal.suggested_levels == {"doxorubicin": -2} and refusal.overridable and refusal.file == "order.toml"
    assert command_line_words(refusal).startswith("order.toml: dose-level: cycle 1: a dose modification applies")


# ---------------------------------------------------------------- the record's errors outside treatment.py
# Each error as the engine raises it (its words name no command or option), and the line `chemo` prints for it,
# unchanged since the commands were first written.

@pytest.fixture
def run(tmp_path, monkeypatch, new_db):
    from chemo.cli import cli
    from cli_support import approve_regimen, cli_invoker

    monkeypatch.setenv("CHEMO_DB", str(new_db("words.db")))
    monkeypatch.delenv("CHEMO_USER", raising=False)
    invoke = cli_invoker(cli)
    assert invoke("user", "add", "phil", "--role", "pharmacist", user="phil").exit_code == 0
    assert invoke("user", "add", "pete", "--role", "prescriber", user="phil").exit_code == 0
    approve_regimen(invoke, "phil")
    assert invoke("patient", "add", "--mrn", "M1", "--name", "Synthetic One", "--sex", "female", "--born",
                  "1970-05-01", "--height", "170 cm", "--weight", "70 kg", user="pete").exit_code == 0
    return invoke


def test_an_unknown_mrn_points_to_the_patient_list(run):
    result = run("patient", "show", "M9")
    assert (result.exit_code, result.stderr) == (2, "chemo: mrn: no patient with MRN 'M9' (see 'chemo patient list')\n")


def test_a_patient_without_a_plan_points_to_plan_start_with_the_mrn(run):
    result = run("readiness", "M1")
    assert (result.exit_code, result.stderr) == (
        2, "chemo: mrn: M1: no treatment plan (start one with 'chemo plan start M1 REGIMEN')\n")


def test_an_implausible_weight_change_is_recorded_only_with_confirm(run):
    result = run("measure", "M1", "--weight", "40 kg", user="pete")
    assert (result.exit_code, result.stderr) == (
        1, "chemo: weight: '40 kg' is 43 % away from the weight 70 kg measured on "
           f"{__import__('datetime').date.today().isoformat()}: a change of 30 % or more within 7 days is not "
           "plausible; check the number and its unit, or record it with --confirm if it is right\n")


def test_an_unregistered_user_is_told_that_a_pharmacist_adds_users(run):
    result = run("patient", "add", "--mrn", "M2", "--name", "Synthetic Two", "--sex", "male", "--born",
                 "1971-05-01", "--height", "170 cm", "--weight", "70 kg", user="zed")
    assert (result.exit_code, result.stderr) == (
        1, "chemo: user: 'zed' is not a registered user and changes nothing (a pharmacist adds users with "
           "'chemo user add')\n")


def test_mapping_a_database_user_to_an_unregistered_login_names_user_add(run):
    result = run("user", "map", "ward", "zed", user="phil")
    assert (result.exit_code, result.stderr) == (
        2, "chemo: login: 'zed' is not a registered user (add it with 'chemo user add')\n")


def test_the_demo_refuses_a_database_in_use_and_asks_for_a_new_db(run):
    result = run("demo")
    assert result.exit_code == 2
    assert result.stderr.startswith("chemo: db: ") and result.stderr.endswith(
        " already holds users or patients: give a new --db for the demo\n")


def test_a_result_without_its_uln_asks_for_uln_in_the_readiness_report_text_and_json(run):
    import json

    assert run("user", "add", "nora", "--role", "nurse", user="phil").exit_code == 0
    assert run("plan", "start", "M1", "doxorubicin-ifosfamide", user="pete").exit_code == 0
    assert run("labs", "add", "M1", "bilirubin", "10 µmol/L", user="nora").exit_code == 0
    line = ("total bilirubin 10 µmol/L has no ULN stored with it, and the threshold is 1.0 × ULN "
            "(record the result with --uln)")
    text = run("readiness", "M1")
    assert text.exit_code == 1 and f"  MISSING bilirubin <= 1.0 × ULN           [eligibility] {line}\n" in text.stdout
    gate = next(g for g in json.loads(run("readiness", "M1", "--json").stdout)["gates"] if g["analyte"] == "bilirubin")
    assert gate["status"] == "missing" and gate["message"] == line


def test_no_login_name_asks_for_user_or_chemo_user(monkeypatch):
    import getpass

    from chemo.errors import ChemoError
    from chemo.roles import acting_user

    def no_login():
        raise OSError("no login name")

    monkeypatch.delenv("CHEMO_USER", raising=False)
    monkeypatch.setattr(getpass, "getuser", no_login)
    with pytest.raises(ChemoError) as raised:
        acting_user(None)
    assert command_line_words(raised.value) == "user: cannot tell who you are: give --user or set CHEMO_USER"
    assert str(raised.value) == "user: cannot tell who you are: name the user or set CHEMO_USER"


def test_a_record_that_does_not_verify_names_its_first_problem_and_counts_the_rest(tmp_path, monkeypatch):
    from chemo.db import copy as record_copy, open_store
    from chemo.db.store import Refusal

    problems = ["labs row 5: value is 0.1, the audit says 10", "labs row 6: value is 0.2, the audit says 20"]
    with open_store(tmp_path / "r.db") as store:
        monkeypatch.setattr(record_copy.audit, "verify", lambda s: (False, list(problems)))
        with pytest.raises(Refusal) as raised:
            record_copy.check_chain(store, "source")
        where = store.where
    assert command_line_words(raised.value) == (f"db: the source record {where!r} does not verify: {problems[0]} "
                                                 "(and 1 more; see 'chemo audit verify')")
    monkeypatch.setattr(record_copy.audit, "verify", lambda s: (False, problems[:1]))
    with open_store(tmp_path / "r.db") as store, pytest.raises(Refusal) as one:
        record_copy.check_chain(store, "source")
    assert command_line_words(one.value) == str(one.value) == f"db: the source record {where!r} does not verify: " \
                                                              f"{problems[0]}"


@pytest.mark.postgresql
def test_a_commit_whose_connection_is_lost_points_to_the_audit_trail(pg_schema):
    import psycopg

    from chemo.db import StoreError, open_store

    class LosesCommit:
        def __init__(self, conn):
            self.conn = conn

        def execute(self, sql, *args, **kwargs):
            if sql == "COMMIT":
                raise psycopg.OperationalError("server closed the connection unexpectedly")
            return self.conn.execute(sql, *args, **kwargs)

        def __getattr__(self, name):
            return getattr(self.conn, name)

    with open_store(pg_schema()) as store:
        store.conn = LosesCommit(store.conn)
        with pytest.raises(StoreError) as raised, store.transaction():
            pass
        assert raised.value.exit_code == 3
        assert command_line_words(raised.value) == (
            f"db: database {store.where!r}: the connection to the server was lost while committing (server closed the "
            "connection unexpectedly); this write may or may not have been recorded: check with 'chemo audit show'")


def test_the_engines_words_for_these_errors_name_no_command_or_option(run, monkeypatch):
    from chemo.db import open_store
    from chemo.demo import build_demo
    from chemo.errors import ChemoError
    from chemo.readiness import assess
    from chemo.records import add_measurement, get_patient
    from chemo.roles import map_login, require

    import os

    raised = []
    with open_store(os.environ["CHEMO_DB"]) as store:
        for attempt in (lambda: get_patient(store, "M9"), lambda: assess(store, "M1"),
                        lambda: add_measurement(store, "pete", "M1", weight="40 kg"),
                        lambda: require(store, "zed", ("nurse",), "recording a lab"),
                        lambda: map_login(store, "phil", "ward", "zed"), lambda: build_demo(store)):
            with pytest.raises(ChemoError) as error:
                attempt()
            raised.append(error.value)
    assert [e.next_steps[0].value for e in raised] == ["patient-list", "plan-start", "confirm", "add-user", "add-user",
                                                       "new-db"]
    for error in raised:
        assert "--" not in str(error) and "'chemo " not in str(error) and command_line_words(error) != str(error)


def test_the_tui_asks_for_the_uln_in_its_own_field_where_the_command_line_asks_for_uln(run):
    import os

    from chemo.db import open_store
    from chemo.readiness import assess
    from tui.backend import gate_words

    assert run("plan", "start", "M1", "doxorubicin-ifosfamide", user="pete").exit_code == 0
    assert run("labs", "add", "M1", "bilirubin", "10 µmol/L", user="phil").exit_code == 0
    with open_store(os.environ["CHEMO_DB"]) as store:
        gate = next(g for g in assess(store, "M1").gates if g.analyte == "bilirubin")
    assert gate.message == ("total bilirubin 10 µmol/L has no ULN stored with it, and the threshold is 1.0 × ULN "
                            "(record the result with its ULN)")
    assert gate_words(gate) == ("total bilirubin 10 µmol/L has no ULN stored with it, and the threshold is 1.0 × "
                                "ULN (record the result again with its ULN in the ULN field)")
    assert command_line_words(gate).endswith(" 1.0 × ULN (record the result with --uln)")
