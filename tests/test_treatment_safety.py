"""Safety review of sign-off and administration: facts a clinician can check.

1. A dose-modification band that applies (doxorubicin US label 2.4, Table 1: bilirubin 1.2-3 mg/dL give 50 %,
   3.1-5 give 25 %, > 5 do not give) stops a full-dose sign-off.
2. A ULN is a plausible value with its unit.
3. An administration re-checks readiness at its time and the order of cycles.
4. An override covers what it was given for: a weight override is not a cap override.
5. --date / --born / --at / --start: impossible or non-ASCII dates are one-line errors.
6. A threshold or band that cannot be converted is "missing", never a traceback.
7. Cumulative dose is mg given ÷ BSA on the day of administration (clinical.md, 'Cumulative anthracycline').

Patients are 170 cm; Mosteller BSA √(170·W/3600): 70 kg 1.818 m², 78 kg 1.919 m², 66 kg 1.766 m².
"""

import datetime as dt
import json

import pytest
from click.testing import CliRunner

from chemo.cli import cli, command_line_words
from chemo.demo import NURSE, PHARMACIST, PRESCRIBER, add_ready_patient, add_users, approve_regimens
from chemo.errors import ChemoError, NextStep
from chemo.readiness import assess
from chemo.records import LabError, add_lab, add_measurement, add_patient, add_prior, parse_lab, start_plan
from chemo.db import now_local, open_store
from chemo.treatment import (CapRefused, ModificationRefused, NotReady, OutOfOrder, administer, signoff)

DOX_DAC = "doxorubicin-dacarbazine"  # doxorubicin 75 mg/m² d1, dacarbazine 1 g/m² d1


@pytest.fixture
def store(new_db):
    with open_store(new_db("safety.db")) as s:
        add_users(s)
        approve_regimens(s)  # two pharmacists approve the shipped regimens
        yield s


def add_ready_patient_labs(store, mrn):
    """A full set of passing labs an hour before the clock's now."""
    from chemo.demo import GOOD

    for analyte, (value, uln) in GOOD.items():
        add_lab(store, NURSE, mrn, analyte, value, uln=uln, at=now_local() - dt.timedelta(hours=1))


def counts(store):
    return {t: store.one(f"SELECT count(*) AS n FROM {t}")["n"] for t in ("administrations", "signoffs", "audit")}


def doses_of(row):
    return {d["drug"]: d["dose_mg"] for d in row["detail"]["doses"]}


# ------------------------------------------------------------------ 1. modification bands

def test_bilirubin_1_2_mg_dl_refuses_a_full_doxorubicin_dose_and_names_the_level_that_gives_50_percent(store):
    # bilirubin 1.2 mg/dL with ULN 1.2 passes the eligibility gate (<= 1.0 × ULN) but is in the 50 % band
    add_ready_patient(store, "B1", DOX_DAC, labs={"bilirubin": ("1.2 mg/dL", "1.2 mg/dL")})
    report = assess(store, "B1")
    assert report.ready and [(s.drug, s.give) for s in report.suggestions] == [("doxorubicin", 0.5)]
    before = counts(store)
    with pytest.raises(ModificationRefused) as err:
        signoff(store, PHARMACIST, "B1", 1, "dose")
    refusal = err.value
    message = str(refusal)
    assert refusal.exit_code == 1
    for words in ("bilirubin 1.2 mg/dL", "≥ 1.2 mg/dL and ≤ 3 mg/dL", "50 %", "Doxorubicin US label section 2.4",
                  "doxorubicin at dose level -2 (50 %)"):
        assert words in message, message
    # the refusal as data: the level that gives 50 %, and that a pharmacist's override would also do; the
    # engine's words name no command-line option, the CLI writes its options from these fields
    assert refusal.kind == "modification" and refusal.suggested_levels == {"doxorubicin": -2} and refusal.overridable
    assert refusal.next_steps == (NextStep.DOSE_LEVEL, NextStep.OVERRIDE) and "--" not in message
    assert command_line_words(refusal).endswith(
        "(level 0); sign off with --dose-level doxorubicin=-2 (50 %); or a pharmacist may sign off with "
        "--override-reason")
    assert counts(store) == before
    with pytest.raises(ModificationRefused):  # 75 % is still more than 50 %
        signoff(store, PHARMACIST, "B1", 1, "dose", dose_level={"doxorubicin": -1})
    row = signoff(store, PHARMACIST, "B1", 1, "dose", dose_level={"doxorubicin": -2})
    # 75 mg/m² × 50 % × 1.818 m² = 68.2 mg, dispensed 68 mg; dacarbazine stays at full dose (1818 → 1820 mg)
    assert doses_of(row)["doxorubicin"] == 68
    assert row["detail"]["overrides"] == []


def test_the_signoff_cli_takes_the_level_the_refusal_names(tmp_path, monkeypatch, new_db):
    monkeypatch.setenv("CHEMO_DB", str(new_db("cli.db")))
    with open_store(new_db("cli.db")) as s:
        add_users(s)
        approve_regimens(s)  # two pharmacists approve the shipped regimens
        add_ready_patient(s, "B1", DOX_DAC, labs={"bilirubin": ("1.2 mg/dL", "1.2 mg/dL")})
    runner = CliRunner()
    refused = runner.invoke(cli, ["signoff", "B1", "--cycle", "1", "--check", "dose", "--user", PHARMACIST])
    assert refused.exit_code == 1 and "--dose-level doxorubicin=-2" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    ok = runner.invoke(cli, ["signoff", "B1", "--cycle", "1", "--check", "dose", "--dose-level", "doxorubicin=-2",
                             "--user", PHARMACIST, "--json"])
    assert ok.exit_code == 0, ok.output
    assert {d["drug"]: d["level"] for d in json.loads(ok.stdout)["detail"]["doses"]}["doxorubicin"] == "50 %"


def test_readiness_says_a_modification_applies_in_text_and_json(tmp_path, monkeypatch, new_db):
    monkeypatch.setenv("CHEMO_DB", str(new_db("cli.db")))
    with open_store(new_db("cli.db")) as s:
        add_users(s)
        approve_regimens(s)  # two pharmacists approve the shipped regimens
        add_ready_patient(s, "B1", DOX_DAC, labs={"bilirubin": ("1.2 mg/dL", "1.2 mg/dL")})
        add_ready_patient(s, "B2", DOX_DAC)
    runner = CliRunner()
    text = runner.invoke(cli, ["readiness", "B1"])
    assert text.exit_code == 0  # the seed's eligibility gates pass
    assert "DOSE MODIFICATION APPLIES (doxorubicin give 50 %)" in text.stdout.strip().splitlines()[-1]
    data = json.loads(runner.invoke(cli, ["readiness", "B1", "--json"]).stdout)
    assert data["ready"] is True and data["modification_applies"] is True
    assert "DOSE MODIFICATION" in data["verdict"] and data["modifications"][0]["give_pct"] == 50
    plain = runner.invoke(cli, ["readiness", "B2", "--json"])
    assert json.loads(plain.stdout)["modification_applies"] is False
    assert runner.invoke(cli, ["readiness", "B2"]).stdout.strip().splitlines()[-1] == "READY"


def test_bilirubin_3_5_mg_dl_has_no_level_that_reaches_25_percent(store):
    add_ready_patient(store, "B3", DOX_DAC, labs={"bilirubin": ("3.5 mg/dL", "1.2 mg/dL")})
    with pytest.raises(ModificationRefused, match="no dose level of doxorubicin reaches 25 %"):
        signoff(store, PHARMACIST, "B3", 1, "dose", dose_level={"doxorubicin": -2})


def test_bilirubin_above_5_mg_dl_do_not_give_is_refused_at_every_level_unless_overridden(store):
    add_ready_patient(store, "B5", DOX_DAC, labs={"bilirubin": ("5.5 mg/dL", "1.2 mg/dL")})
    for level in (0, -1, -2):
        with pytest.raises(ModificationRefused, match="do not give"):
            signoff(store, PHARMACIST, "B5", 1, "dose", dose_level={"doxorubicin": level})
    reason = "tumour board: hepatic metastases, oncologist accepts the risk"
    row = signoff(store, PHARMACIST, "B5", 1, "dose", override_reason=reason, dose_level={"doxorubicin": -2})
    assert row["detail"]["overrides"] == ["modification"]
    audit_row = store.one("SELECT action, new FROM audit WHERE action LIKE 'signoff.%' ORDER BY id DESC LIMIT 1")
    new = json.loads(audit_row["new"])
    assert audit_row["action"] == "signoff.modification-override"
    assert new["modification_override"]["reason"] == reason and "bilirubin 5.5 mg/dL" in \
        new["modification_override"]["findings"][0]
    assert "cap_override" not in new and "recalculate_override" not in new


def test_an_overridden_band_keeps_the_level_that_would_have_met_it_in_the_audit(store):
    """Bilirubin 1.2 mg/dL (1.0 x ULN) on doxorubicin + dacarbazine: give 50 %, which level -2 meets; signed at
    full dose with an override, the audit row keeps that level as data (the finding's words name no option)."""
    add_ready_patient(store, "B6", DOX_DAC, labs={"bilirubin": ("1.2 mg/dL", "1.2 mg/dL")})
    reason = "prescriber and pharmacist reviewed: Gilbert syndrome, conjugated bilirubin normal"
    signoff(store, PHARMACIST, "B6", 1, "dose", override_reason=reason)
    audit_row = store.one("SELECT new FROM audit WHERE action LIKE 'signoff.%' ORDER BY id DESC LIMIT 1")
    override = json.loads(audit_row["new"])["modification_override"]
    assert override["satisfied_by_levels"] == {"doxorubicin": -2}
    assert "--dose-level" not in override["findings"][0] and "give at most 50 %" in override["findings"][0]


# ------------------------------------------------------------------ 2. the ULN

@pytest.mark.parametrize("analyte, value, uln, words", [
    ("bilirubin", "1.2 mg/dL", "21", "has no unit"),          # the lab meant 21 µmol/L
    ("creatinine", "0.8 mg/dL", "1.1", "has no unit"),
    ("hemoglobin", "12 g/dL", "16", "has no unit"),
    ("bilirubin", "1.2 mg/dL", "1.2 g/L", "outside the possible range"),  # 1.2 g/L = 120 mg/dL
    ("bilirubin", "1.2 mg/dL", "0 mg/dL", "more than 0"),
    ("alt", "60 U/L", "40000 U/L", "outside the possible range"),
    ("anc", "1200 /uL", "7", "has no unit"),                  # the value is not in 10^9/L: a bare 7 is ambiguous
])
def test_an_implausible_or_unitless_uln_is_refused(analyte, value, uln, words):
    with pytest.raises(LabError, match=words) as err:
        parse_lab(analyte, value, uln)
    assert err.value.field == "uln"


def test_a_bare_reference_range_for_bilirubin_is_refused_because_its_top_becomes_the_uln():
    with pytest.raises(LabError, match="has no unit"):
        parse_lab("bilirubin", "1.0 mg/dL", range_text="5-21")


def test_a_bare_uln_is_kept_for_alt_in_u_per_l_and_a_uln_with_its_unit_for_bilirubin():
    assert parse_lab("alt", "60 U/L", "40")["uln_text"] == "40 U/L"
    row = parse_lab("bilirubin", "1.2 mg/dL", "21 µmol/L")
    assert row["uln"] == pytest.approx(21 / 17.1)


def test_the_cli_refuses_a_unitless_bilirubin_uln_and_writes_nothing(tmp_path, monkeypatch, new_db):
    monkeypatch.setenv("CHEMO_DB", str(new_db("cli.db")))
    with open_store(new_db("cli.db")) as s:
        add_users(s)
        approve_regimens(s)  # two pharmacists approve the shipped regimens
        add_ready_patient(s, "U1")
        before = s.one("SELECT count(*) AS n FROM labs")["n"]
    result = CliRunner().invoke(cli, ["labs", "add", "U1", "bilirubin", "1.2 mg/dL", "--uln", "21", "--user", NURSE])
    assert result.exit_code == 2 and "uln" in result.stderr and "unit" in result.stderr
    with open_store(new_db("cli.db")) as s:
        assert s.one("SELECT count(*) AS n FROM labs")["n"] == before


# ------------------------------------------------------------------ 3. administration re-checks

def test_a_readiness_signoff_is_refused_while_anc_fails_and_points_to_the_assessment(store, monkeypatch, new_db):
    add_ready_patient(store, "R1")
    add_lab(store, NURSE, "R1", "anc", "0.3 10^9/L")
    with pytest.raises(NotReady) as err:
        signoff(store, NURSE, "R1", 1, "readiness")
    refusal = err.value
    assert refusal.finding == "cycle 1: not ready (anc fail)" and refusal.mrn == "R1" and not refusal.overridable
    assert refusal.next_steps == (NextStep.READINESS,) and refusal.at is None
    assert command_line_words(refusal) == "check: cycle 1: not ready (anc fail); see 'chemo readiness R1'"
    monkeypatch.setenv("CHEMO_DB", str(new_db("cli.db")))
    with open_store(new_db("cli.db")) as s:
        add_users(s)
        approve_regimens(s)  # two pharmacists approve the shipped regimens
        add_ready_patient(s, "R1")
        add_lab(s, NURSE, "R1", "anc", "0.3 10^9/L")
    refused = CliRunner().invoke(cli, ["signoff", "R1", "--cycle", "1", "--check", "readiness", "--user", NURSE])
    assert refused.exit_code == 1
    assert refused.stderr == "chemo: check: cycle 1: not ready (anc fail); see 'chemo readiness R1'\n"


def test_an_administration_is_refused_when_anc_and_platelets_fell_after_the_signoffs(store):
    add_ready_patient(store, "A1")
    signoff(store, PHARMACIST, "A1", 1, "dose")
    signoff(store, NURSE, "A1", 1, "readiness")
    add_lab(store, NURSE, "A1", "anc", "0.3 10^9/L")
    add_lab(store, NURSE, "A1", "platelets", "20 10^9/L")
    before = counts(store)
    with pytest.raises(NotReady) as err:
        administer(store, NURSE, "A1", 1)
    assert "anc fail" in str(err.value) and "platelets fail" in str(err.value) and err.value.exit_code == 1
    assert counts(store) == before


def test_cycle_3_cannot_be_given_before_cycles_1_and_2(store, clock):
    start = now_local()
    add_ready_patient(store, "A2")
    clock.advance(days=42)  # cycle 3's due date by the calendar (issue 19): only the order of cycles refuses it
    add_ready_patient_labs(store, "A2")
    add_measurement(store, NURSE, "A2", weight="70 kg")
    signoff(store, PHARMACIST, "A2", 3, "dose")
    signoff(store, NURSE, "A2", 3, "readiness")
    before = counts(store)
    with pytest.raises(OutOfOrder) as err:
        administer(store, NURSE, "A2", 3)
    assert "cycle 1 (nothing given)" in str(err.value) and "cycle 2" in str(err.value)
    assert counts(store) == before
    # a partly given cycle 1 still blocks cycle 2, naming what is missing
    clock.set(start)
    signoff(store, PHARMACIST, "A2", 1, "dose")
    signoff(store, NURSE, "A2", 1, "readiness")
    administer(store, NURSE, "A2", 1, 1)
    clock.advance(days=21)
    add_ready_patient_labs(store, "A2")
    signoff(store, PHARMACIST, "A2", 2, "dose")
    signoff(store, NURSE, "A2", 2, "readiness")
    with pytest.raises(OutOfOrder, match="doxorubicin day 2"):
        administer(store, NURSE, "A2", 2)
    clock.set(start + dt.timedelta(days=1))
    administer(store, NURSE, "A2", 1, 2)
    clock.advance(days=1)
    administer(store, NURSE, "A2", 1, 3)
    clock.set(start + dt.timedelta(days=21))
    administer(store, NURSE, "A2", 2)


def test_a_band_that_applies_at_administration_and_was_not_signed_for_refuses_it(store):
    add_ready_patient(store, "A3", DOX_DAC)
    signoff(store, PHARMACIST, "A3", 1, "dose")
    signoff(store, NURSE, "A3", 1, "readiness")
    add_lab(store, NURSE, "A3", "bilirubin", "1.2 mg/dL", uln="1.2 mg/dL")  # now in the 50 % band
    with pytest.raises(ModificationRefused, match="50 %"):
        administer(store, NURSE, "A3", 1)


# ------------------------------------------------------------------ 4. what an override covers

def test_a_weight_override_does_not_let_the_administration_pass_the_cap(store, clock):
    add_ready_patient(store, "O1", weight="70 kg")
    add_measurement(store, PRESCRIBER, "O1", weight="78 kg")  # +11.4 %: recalculate
    row = signoff(store, PHARMACIST, "O1", 1, "dose", override_reason="oedema; dry weight unchanged per team")
    assert row["detail"]["overrides"] == ["recalculate"]
    signoff(store, NURSE, "O1", 1, "readiness")
    add_prior(store, PRESCRIBER, "O1", "epirubicin", "800 mg/m²")  # 400 equivalent, learnt after the sign-off
    administer(store, NURSE, "O1", 1, 1)  # 400 + 25 mg/m² a day (48 mg on 1.919 m²)
    clock.advance(days=1)  # each day on its calendar day
    administer(store, NURSE, "O1", 1, 2)  # 450: at the cap, not past it
    clock.advance(days=1)
    before = counts(store)
    with pytest.raises(CapRefused, match="no override of the cap"):
        administer(store, NURSE, "O1", 1, 3)
    assert counts(store) == before


def test_a_cap_override_still_lets_the_administration_pass_the_cap(store, clock):
    add_ready_patient(store, "O2")
    add_prior(store, PRESCRIBER, "O2", "epirubicin", "760 mg/m²")  # 380 + 74.25 > 450
    row = signoff(store, PHARMACIST, "O2", 1, "dose", override_reason="cardio-oncology review, dexrazoxane")
    assert row["detail"]["overrides"] == ["cap"]
    signoff(store, NURSE, "O2", 1, "readiness")
    administer(store, NURSE, "O2", 1, 1)
    clock.advance(days=1)
    administer(store, NURSE, "O2", 1, 2)
    clock.advance(days=1)
    assert administer(store, NURSE, "O2", 1, 3)["cumulative_after_mg_m2"] > 450


def test_the_cli_names_the_override_it_recorded(tmp_path, monkeypatch, new_db):
    monkeypatch.setenv("CHEMO_DB", str(new_db("cli.db")))
    with open_store(new_db("cli.db")) as s:
        add_users(s)
        approve_regimens(s)  # two pharmacists approve the shipped regimens
        add_ready_patient(s, "O3", weight="70 kg")
        add_measurement(s, PRESCRIBER, "O3", weight="78 kg")
    result = CliRunner().invoke(cli, ["signoff", "O3", "--cycle", "1", "--check", "dose", "--override-reason",
                                      "oedema; dry weight unchanged per team", "--user", PHARMACIST])
    assert result.exit_code == 0, result.output
    assert "RECALCULATE OVERRIDE recorded" in result.stdout and "CAP OVERRIDE" not in result.stdout


# ------------------------------------------------------------------ 5. dates

@pytest.mark.parametrize("date", ["2026-02-30", "２０２６-１１-２３", "2026-13-01"])
def test_an_impossible_or_non_ascii_readiness_date_is_one_line_naming_date(tmp_path, monkeypatch, date, new_db):
    monkeypatch.setenv("CHEMO_DB", str(new_db("cli.db")))
    with open_store(new_db("cli.db")) as s:
        add_users(s)
        approve_regimens(s)  # two pharmacists approve the shipped regimens
        add_ready_patient(s, "D1")
    result = CliRunner().invoke(cli, ["readiness", "D1", "--date", date])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "date" in lines[0], result.stderr


@pytest.mark.parametrize("text", ["2026-02-30", "２０２６-０１-０１", "2025-W01-1", "20250101", "2025-01-01T０８:00"])
def test_every_date_option_refuses_impossible_and_non_ascii_dates(store, text):
    add_ready_patient(store, "D2")
    calls = {
        "born": lambda: add_patient(store, PRESCRIBER, mrn="D3", name="X", sex="male", born=text, height="180 cm",
                                    weight="80 kg"),
        "date": lambda: add_measurement(store, PRESCRIBER, "D2", weight="70 kg", on=text),
        "at": lambda: add_lab(store, NURSE, "D2", "anc", "2 10^9/L", at=text),
        "start": lambda: start_plan(store, PRESCRIBER, "D2", DOX_DAC, start=text),
    }
    for field, call in calls.items():
        with pytest.raises(ChemoError) as err:
            call()
        assert err.value.field == field and err.value.exit_code == 2


# ------------------------------------------------------------------ 6. unconvertible thresholds and bands

def test_a_threshold_or_band_that_cannot_be_converted_is_missing_not_a_traceback(store, monkeypatch):
    from chemo.library import Analyte

    add_ready_patient(store, "V1", DOX_DAC)
    real = Analyte.value_in

    def broken(self, q, unit):
        if self.id in ("hemoglobin", "bilirubin"):
            raise ValueError(f"{q} cannot be converted to {unit} for {self.id}")
        return real(self, q, unit)

    monkeypatch.setattr(Analyte, "value_in", broken)
    report = assess(store, "V1")
    hb = next(g for g in report.gates if g.analyte == "hemoglobin")
    assert hb.status == "missing" and "cannot be compared" in hb.message
    band = [g for g in report.gates if g.analyte == "bilirubin" and "band" in g.message]
    assert band and all(g.status == "missing" and "cannot be compared" in g.message for g in band)
    assert not report.ready


# ------------------------------------------------------------------ 7. BSA on the day of administration

def test_a_patient_dosed_at_78_kg_who_weighs_66_kg_on_the_day_is_counted_with_the_bsa_of_66_kg(store, clock):
    add_ready_patient(store, "S1", weight="78 kg")  # plan BSA √(170·78/3600) = 1.919 m²
    add_measurement(store, PRESCRIBER, "S1", weight="66 kg")  # that day: √(170·66/3600) = 1.766 m²
    row = signoff(store, PHARMACIST, "S1", 1, "dose", override_reason="weight loss reviewed; keep the plan doses")
    assert doses_of(row)["doxorubicin"] == 48  # 25 mg/m² × 1.919 = 47.98: the dose as signed off
    signoff(store, NURSE, "S1", 1, "readiness")
    result = {"administrations": []}
    for day in (1, 2, 3):  # each on its calendar day
        result["administrations"] += administer(store, NURSE, "S1", 1, day)["administrations"]
        clock.advance(days=1)
    day_bsa = (170 * 66 / 3600) ** 0.5
    dox = [a for a in result["administrations"] if a["drug"] == "doxorubicin"]
    assert [a["dose_mg"] for a in dox] == [48, 48, 48]
    assert all(a["bsa_m2"] == pytest.approx(day_bsa) for a in result["administrations"])
    from chemo.cumulative import report

    assert report(store, "S1").given_mg_m2 == pytest.approx(3 * 48 / day_bsa)  # 81.6, not 75.0 on 1.919 m²


def test_a_backdated_administration_uses_the_weight_of_that_day_and_needs_one(store):
    from chemo.demo import GOOD

    today = dt.date.today()
    add_patient(store, PRESCRIBER, mrn="S2", name="Synthetic S2", sex="female", born="1970-05-01", height="170 cm",
                weight="70 kg", measured_on=(today - dt.timedelta(days=2)).isoformat())
    start_plan(store, PRESCRIBER, "S2", "doxorubicin-ifosfamide", start=(today - dt.timedelta(days=3)).isoformat())
    add_measurement(store, PRESCRIBER, "S2", weight="66 kg")  # today, after the administration below
    for analyte, (value, uln) in GOOD.items():
        add_lab(store, NURSE, "S2", analyte, value, uln=uln, at=now_local() - dt.timedelta(days=3, hours=12))
    signoff(store, PHARMACIST, "S2", 1, "dose")
    signoff(store, NURSE, "S2", 1, "readiness", as_of=now_local() - dt.timedelta(days=1))
    before = counts(store)
    three_days_ago = (now_local() - dt.timedelta(days=3)).replace(microsecond=0)  # before any weight
    with pytest.raises(ChemoError, match="no height and weight recorded on or before"):
        administer(store, NURSE, "S2", 1, 1, at=three_days_ago.isoformat())
    assert counts(store) == before
    yesterday = (now_local() - dt.timedelta(days=1)).replace(microsecond=0)
    result = administer(store, NURSE, "S2", 1, 1, at=yesterday.isoformat())
    assert result["administrations"][0]["bsa_m2"] == pytest.approx((170 * 70 / 3600) ** 0.5)


def test_later_days_of_a_started_cycle_accept_results_grown_old_but_not_a_failing_one(store):
    """Anlotinib is taken on days 1-14: blood tests of day 1 count for the whole cycle unless a newer one fails."""
    from chemo.demo import GOOD

    now = now_local().replace(microsecond=0)
    add_patient(store, PRESCRIBER, mrn="L1", name="Synthetic L1", sex="female", born="1970-05-01", height="170 cm",
                weight="70 kg", measured_on=(now - dt.timedelta(days=14)).date().isoformat())
    start_plan(store, PRESCRIBER, "L1", "pld-ifosfamide-anlotinib", start=(now - dt.timedelta(days=13)).date().isoformat())
    for analyte, (value, uln) in GOOD.items():
        add_lab(store, NURSE, "L1", analyte, value, uln=uln, at=now - dt.timedelta(days=13))
    signoff(store, PHARMACIST, "L1", 1, "dose")
    signoff(store, NURSE, "L1", 1, "readiness", as_of=now - dt.timedelta(days=12, hours=23))
    administer(store, NURSE, "L1", 1, 1, at=(now - dt.timedelta(days=12, hours=22)).isoformat())
    assert next(g for g in assess(store, "L1", now - dt.timedelta(days=8)).gates if g.analyte == "anc").status == "stale"
    for day in (2, 3, 4):  # the days of a cycle are recorded in order
        administer(store, NURSE, "L1", 1, day, at=(now - dt.timedelta(days=13 - day, hours=1)).isoformat())
    administer(store, NURSE, "L1", 1, 5, at=(now - dt.timedelta(days=8)).isoformat())  # 5-day-old results: accepted
    add_lab(store, NURSE, "L1", "anc", "0.3 10^9/L", at=now - dt.timedelta(days=7))
    with pytest.raises(NotReady, match="anc fail"):
        administer(store, NURSE, "L1", 1, 6, at=(now - dt.timedelta(days=6)).isoformat())


def test_a_later_day_of_a_cycle_waits_for_the_earlier_days(store, clock):
    """PLD + ifosfamide + anlotinib: day 3 cannot be recorded before days 1 and 2."""
    from chemo.demo import GOOD
    from chemo.treatment import OutOfOrder

    add_patient(store, PRESCRIBER, mrn="D1", name="Synthetic D1", sex="female", born="1970-05-01", height="170 cm",
                weight="70 kg")
    start_plan(store, PRESCRIBER, "D1", "pld-ifosfamide-anlotinib")
    for analyte, (value, uln) in GOOD.items():
        add_lab(store, NURSE, "D1", analyte, value, uln=uln)
    signoff(store, PHARMACIST, "D1", 1, "dose")
    signoff(store, NURSE, "D1", 1, "readiness")
    before = counts(store)
    with pytest.raises(OutOfOrder, match="day 3 cannot be given before day 1"):
        administer(store, NURSE, "D1", 1, 3)
    assert counts(store) == before
    administer(store, NURSE, "D1", 1, 1)
    clock.advance(days=1)
    administer(store, NURSE, "D1", 1, 2)
    clock.advance(days=1)
    administer(store, NURSE, "D1", 1, 3)


@pytest.mark.parametrize("analyte,value,uln", [
    ("alt", "500 U/L", "400 U/L"),        # the value typed as its ULN: 500 would pass as 1.25 × ULN
    ("bilirubin", "4.5 mg/dL", "12 mg/dL"),
    ("creatinine", "1.0 mg/dL", "10 mg/dL"),
])
def test_an_upper_limit_of_normal_outside_reference_ranges_is_refused(analyte, value, uln):
    """ALT 500 U/L is about 12 × a usual ULN of 40: a ULN of 400 would turn a failing liver test into a pass."""
    with pytest.raises(LabError, match="where reference ranges put it"):
        parse_lab(analyte, value, uln_text=uln)


def test_a_usual_upper_limit_of_normal_is_accepted_in_either_unit():
    assert parse_lab("bilirubin", "1.0 mg/dL", uln_text="21 µmol/L")["uln"] == pytest.approx(21 / 17.1)
    assert parse_lab("alt", "30 U/L", uln_text="40 U/L")["uln"] == 40
