"""The treatment calendar and the retreatment rules (issue 19), on both engines where they touch the record.

Time moves through the record's one clock (the ``clock`` fixture of conftest): no test sleeps.
A patient of 170 cm and 70 kg has a Mosteller BSA of 1.818 m².
"""

import datetime as dt
import json

import pytest

from chemo.cli import cli
from chemo.db import now_local, open_store
from chemo.demo import GOOD, NURSE, PHARMACIST, PRESCRIBER, add_ready_patient, add_users, approve_regimens
from chemo.readiness import assess
from chemo.records import add_lab, add_measurement, add_patient, add_prior, start_plan
from chemo.treatment import administer, signoff
from chemo import audit
from cli_support import cli_invoker, one_line

chemo = cli_invoker(cli)


@pytest.fixture
def db(new_db, monkeypatch, clock):
    where = new_db("calendar.db")
    monkeypatch.setenv("CHEMO_DB", str(where))
    with open_store(where) as store:
        add_users(store)
        approve_regimens(store)  # two pharmacists approve the shipped regimens
    return where


def fresh_labs(store, mrn, **changes):
    """A full set of passing labs an hour before the clock's now, with ``changes`` ({analyte: value})."""
    values = {a: v for a, (v, _) in GOOD.items()}
    values.update(changes)
    for analyte, value in values.items():
        add_lab(store, NURSE, mrn, analyte, value, uln=GOOD.get(analyte, (None, None))[1],
                at=now_local() - dt.timedelta(hours=1))


def sign_and_give_day_1(store, mrn, cycle):
    signoff(store, PHARMACIST, mrn, cycle, "dose")
    signoff(store, NURSE, mrn, cycle, "readiness")
    return administer(store, NURSE, mrn, cycle, 1)


def calendar_json(mrn):
    result = chemo("plan", "show", mrn, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# ------------------------------------------------------------------ cycles on their dates

def test_cycle_2_the_day_cycle_1_was_given_is_refused_naming_its_due_date_and_goes_through_on_it(db, clock):
    """Doxorubicin + dacarbazine every 21 days: cycle 2 is due cycle 1's day 1 + 21 days (earliest 3 days before)."""
    day0 = now_local().date()
    with open_store(db) as store:
        add_ready_patient(store, "AD1", "doxorubicin-dacarbazine")
        sign_and_give_day_1(store, "AD1", 1)
    due = (day0 + dt.timedelta(days=21)).isoformat()
    one_line(chemo("signoff", "AD1", "--cycle", "2", "--check", "dose", user=PHARMACIST), 1,
             f"cycle 2 is not due until {due}", f"cycle 1 day 1 given on {day0.isoformat()} + 21 days")
    one_line(chemo("administer", "AD1", "--cycle", "2", user=NURSE), 1, f"cycle 2 is not due until {due}",
             f"the earliest is {(day0 + dt.timedelta(days=18)).isoformat()}")
    cal = calendar_json("AD1")
    assert [c["due"] for c in cal["cycles"]] == [day0.isoformat(), due, (day0 + dt.timedelta(days=42)).isoformat()]
    assert cal["cycles"][0]["status"] == "given" and cal["next"]["cycle"] == 2
    assert cal["early_window_days"] == 3 and "project choice" in cal["early_window_source"]

    clock.advance(days=21)  # the due date
    with open_store(db) as store:
        fresh_labs(store, "AD1")
        sign_and_give_day_1(store, "AD1", 2)
    cal = calendar_json("AD1")
    assert cal["cycles"][1]["days_given"] == [{"day": 1, "date": due}]
    assert cal["cycles"][2]["due"] == (day0 + dt.timedelta(days=42)).isoformat()

    # a delay of cycle 3 by a week, for low counts: its due date moves by a week, with the reason shown
    week_later = (day0 + dt.timedelta(days=49)).isoformat()
    result = chemo("delay", "AD1", "--cycle", "3", "--to", week_later, "--reason", "low-counts",
                   "--note", "ANC 1.1 on the day", user=NURSE)
    assert result.exit_code == 0, result.output
    assert f"cycle 3 delayed from {(day0 + dt.timedelta(days=42)).isoformat()} to {week_later}" in result.stdout
    cal = calendar_json("AD1")
    assert cal["cycles"][2]["due"] == week_later and cal["cycles"][2]["earliest"] == week_later
    assert cal["cycles"][2]["delays"][0]["reason"] == "low-counts"
    text = chemo("plan", "show", "AD1").stdout
    assert "low-counts (ANC 1.1 on the day)" in text and f"next: cycle 3, due {week_later}" in text
    with open_store(db) as store:
        assert audit.verify(store)[1] == []


def test_the_readiness_sign_off_of_cycle_2_is_refused_before_its_earliest_date_and_goes_through_on_it(db, clock):
    """A nurse's readiness sign-off of cycle 2 on cycle 1's day rests on labs three weeks old by the time it is
    given: refused like the dose sign-off, naming the due date (21-day cycle, 3 days early at most)."""
    day0 = now_local().date()
    with open_store(db) as store:
        add_ready_patient(store, "AD9", "doxorubicin-dacarbazine")
        sign_and_give_day_1(store, "AD9", 1)
    due = (day0 + dt.timedelta(days=21)).isoformat()
    one_line(chemo("signoff", "AD9", "--cycle", "2", "--check", "readiness", user=NURSE), 1,
             f"cycle 2 is not due until {due}", "the readiness sign-off on")
    clock.advance(days=18)  # the earliest date
    with open_store(db) as store:
        fresh_labs(store, "AD9")
    assert chemo("signoff", "AD9", "--cycle", "2", "--check", "readiness", user=NURSE).exit_code == 0


def test_a_delay_of_cycle_2_moves_cycle_3_with_it(db):
    day0 = now_local().date()
    with open_store(db) as store:
        add_ready_patient(store, "AD2", "doxorubicin-dacarbazine")
        sign_and_give_day_1(store, "AD2", 1)
    assert calendar_json("AD2")["cycles"][2]["due"] == (day0 + dt.timedelta(days=42)).isoformat()
    result = chemo("delay", "AD2", "--cycle", "2", "--to", (day0 + dt.timedelta(days=28)).isoformat(),
                   "--reason", "patient", "--json", user=NURSE)
    assert result.exit_code == 0, result.output
    cycles = json.loads(result.stdout)["calendar"]["cycles"]
    assert [c["due"] for c in cycles[1:]] == [(day0 + dt.timedelta(days=28)).isoformat(),
                                             (day0 + dt.timedelta(days=49)).isoformat()]
    assert cycles[1]["planned"] == (day0 + dt.timedelta(days=21)).isoformat()


def test_bringing_a_cycle_forward_is_a_prescribers_decision_with_a_note(db):
    day0 = now_local().date()
    with open_store(db) as store:
        add_ready_patient(store, "AD3", "doxorubicin-dacarbazine")
        sign_and_give_day_1(store, "AD3", 1)
    early = (day0 + dt.timedelta(days=14)).isoformat()  # a week before the due date, past the 3-day window
    one_line(chemo("delay", "AD3", "--cycle", "2", "--to", early, "--reason", "logistics",
                   "--note", "surgery date moved earlier", user=NURSE), 1, "needs a prescriber")
    one_line(chemo("delay", "AD3", "--cycle", "2", "--to", early, "--reason", "logistics", user=PRESCRIBER), 2,
             "note:", "at least 10 characters")
    result = chemo("delay", "AD3", "--cycle", "2", "--to", early, "--reason", "logistics",
                   "--note", "surgery date moved earlier", user=PRESCRIBER)
    assert result.exit_code == 0, result.output
    assert "brought forward" in result.stdout
    assert calendar_json("AD3")["cycles"][1]["earliest"] == early
    bad = chemo("delay", "AD3", "--cycle", "2", "--to", early, "--reason", "soon", user=PRESCRIBER)
    assert bad.exit_code == 2 and "'soon' is not one of 'low-counts', 'toxicity', 'patient'" in bad.stderr


def test_day_2_of_ifosfamide_on_day_1s_date_is_refused_and_goes_through_the_next_day(db, clock):
    with open_store(db) as store:
        add_ready_patient(store, "AI1", "doxorubicin-ifosfamide")
        sign_and_give_day_1(store, "AI1", 1)
    tomorrow = (now_local().date() + dt.timedelta(days=1)).isoformat()
    one_line(chemo("administer", "AI1", "--cycle", "1", "--day", "2", user=NURSE), 1,
             f"cycle 1 day 2 falls on {tomorrow}")
    clock.advance(days=1)
    result = chemo("administer", "AI1", "--cycle", "1", "--day", "2", "--json", user=NURSE)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["times"]["2"].startswith(tomorrow)


# ------------------------------------------------------------------ eligibility and retreatment

def test_anc_1_5_and_platelets_100_pass_retreatment_and_fail_eligibilitys_strict_operator(db):
    with open_store(db) as store:
        add_ready_patient(store, "G1", labs={"anc": ("1.5 10^9/L", None), "platelets": ("100 10^9/L", None)})
        before_1 = assess(store, "G1", cycle=1)
        before_2 = assess(store, "G1", cycle=2)
    status = {(g.analyte, g.kind): g.status for g in before_1.gates}
    assert status[("anc", "eligibility")] == "fail" and status[("platelets", "eligibility")] == "fail"
    assert status[("anc", "retreatment")] == "pass" and status[("platelets", "retreatment")] == "pass"
    assert not before_1.ready
    assert {g.kind for g in before_2.gates if g.analyte in ("anc", "platelets")} == {"retreatment"}
    assert before_2.ready  # the bilirubin, eGFR, ALT, AST and LVEF entry criteria are not checked again


def test_hb_8_4_names_the_protocols_action_and_a_prescribers_override_lets_cycle_2_through(db, clock):
    start = now_local()
    with open_store(db) as store:
        add_ready_patient(store, "H1", "doxorubicin-dacarbazine")
        sign_and_give_day_1(store, "H1", 1)
    clock.set(start + dt.timedelta(days=21))
    with open_store(db) as store:
        fresh_labs(store, "H1", hemoglobin="8.4 g/dL")
        report = assess(store, "H1")
        signoff(store, PHARMACIST, "H1", 2, "dose")
    assert report.cycle == 2 and not report.ready
    hb = next(g for g in report.gates if g.analyte == "hemoglobin")
    assert hb.status == "fail" and hb.kind == "retreatment" and "transfuse and treat" in hb.message
    one_line(chemo("signoff", "H1", "--cycle", "2", "--check", "readiness", user=NURSE), 1, "hemoglobin fail")
    one_line(chemo("override", "H1", "--cycle", "2", "--gate", "hemoglobin", "--reason",
                   "asymptomatic, transfusion booked", user=NURSE), 1, "needs a prescriber")
    one_line(chemo("override", "H1", "--cycle", "2", "--gate", "anc", "--reason", "counts are fine anyway",
                   user=PRESCRIBER), 1, "anc gate passes")
    result = chemo("override", "H1", "--cycle", "2", "--gate", "hemoglobin", "--reason",
                   "asymptomatic, transfusion booked after", user=PRESCRIBER)
    assert result.exit_code == 0, result.output
    ready = chemo("readiness", "H1", "--json")
    assert ready.exit_code == 0, ready.output
    data = json.loads(ready.stdout)
    assert data["ready"] and data["overrides"] == ["hemoglobin"] and "PRESCRIBER'S OVERRIDE" in data["verdict"]
    assert "OVERRIDDEN" in chemo("readiness", "H1").stdout
    with open_store(db) as store:
        signoff_readiness = signoff(store, NURSE, "H1", 2, "readiness")
        row = administer(store, NURSE, "H1", 2, 1)
        assert audit.verify(store)[1] == []
    rests = signoff_readiness["detail"]["rests_on_overrides"]
    assert rests[0]["analyte"] == "hemoglobin" and rests[0]["by"] == PRESCRIBER
    assert {a["drug"] for a in row["administrations"]} == {"doxorubicin", "dacarbazine"}
    sheet = chemo("worksheet", "H1", "--cycle", "2").stdout
    assert "OVERRIDE: hemoglobin gate failed and was overridden for cycle 2 by" in sheet
    assert "asymptomatic, transfusion booked after" in sheet
    assert f"rests on {PRESCRIBER}'s override of the hemoglobin gate" in sheet  # the nurse's sign-off row


# ------------------------------------------------------------------ creatinine clearance's body weight

def test_crcl_of_a_140_kg_man_uses_the_weight_the_policy_names_and_says_which(db, tmp_path, monkeypatch):
    """140 kg, 180 cm (BMI 43.2), 60 years, creatinine 1.6 mg/dL.  Ideal weight (Devine) 50 + 2.3 × 10.87 in =
    75.0 kg; adjusted 75.0 + 0.4 × 65.0 = 101.0 kg.  Cockcroft-Gault (140 − 60) × kg / (72 × 1.6): 97.2 mL/min on
    the actual weight, 70.1 on the adjusted weight (the file's policy at BMI ≥ 30: no ifosfamide band), 52.1 on
    the ideal weight (a policy naming it: the 30-60 mL/min band, 75 %)."""
    born = now_local().date().replace(year=now_local().year - 61) + dt.timedelta(days=10)  # 60 years old
    with open_store(db) as store:
        add_patient(store, PRESCRIBER, mrn="K1", name="Synthetic K1", sex="male", born=born.isoformat(),
                    height="180 cm", weight="140 kg")
        start_plan(store, PRESCRIBER, "K1", "doxorubicin-ifosfamide")
        fresh_labs(store, "K1", creatinine="1.6 mg/dL")
        report = assess(store, "K1")
    [crcl] = [b for b in report.band_values if b["analyte"] == "crcl"]
    assert crcl["value"] == "70.1 mL/min"
    assert "adjusted body weight 101.0 kg" in crcl["method"] and "BMI 43.2" in crcl["method"]
    assert not [s for s in report.suggestions if s.drug == "ifosfamide"]
    printed = chemo("readiness", "K1").stdout
    assert "BANDS   crcl 70.1 mL/min" in printed and "adjusted body weight 101.0 kg" in printed
    sheet = chemo("worksheet", "K1", "--cycle", "1").stdout
    assert "For the dose bands: crcl 70.1 mL/min" in sheet and "adjusted body weight 101.0 kg" in sheet

    # the same patient under a policy that names the ideal weight: 52.1 mL/min, ifosfamide's 75 % band
    import shutil

    from chemo.library import regimens_dir

    copy = tmp_path / "regimens"
    shutil.copytree(regimens_dir(), copy)
    size = copy / "library" / "body-size.toml"
    size.write_text(size.read_text().replace('obese = "adjusted"', 'obese = "ideal"'))
    monkeypatch.setenv("CHEMO_REGIMENS", str(copy))
    with open_store(db) as store:
        start_plan(store, PRESCRIBER, "K1", str(copy / "doxorubicin-ifosfamide.toml"))
        report = assess(store, "K1")
    [crcl] = [b for b in report.band_values if b["analyte"] == "crcl"]
    assert crcl["value"] == "52.1 mL/min" and "ideal body weight 75.0 kg" in crcl["method"]
    [band] = [s for s in report.suggestions if s.drug == "ifosfamide"]
    assert band.give == pytest.approx(0.75)


# ------------------------------------------------------------------ the worksheet's cumulative dose

def test_a_reprinted_cycle_1_worksheet_shows_cycle_1s_own_before_and_after(db, clock):
    """Prior epirubicin 300 mg/m² = 150 doxorubicin-equivalent (seed 003's cap ratio 0.5); cycle 1 gives 136 mg
    doxorubicin on 1.818 m² (74.8 mg/m²): before 150.0, after 224.8, whatever is given later."""
    start = now_local()
    with open_store(db) as store:
        add_ready_patient(store, "W1", "doxorubicin-dacarbazine")
        add_prior(store, PRESCRIBER, "W1", "epirubicin", "300 mg/m²")
        given = sign_and_give_day_1(store, "W1", 1)
    dox = next(a for a in given["administrations"] if a["drug"] == "doxorubicin")
    after_1 = 150 + dox["dose_mg"] / dox["bsa_m2"]

    def rows(cycle):
        text = chemo("worksheet", "W1", "--cycle", str(cycle)).stdout
        return {k: line.split(k, 1)[1].strip() for line in text.splitlines()
                for k in ("Before this cycle", "After this cycle") if line.strip().startswith(k)}

    first = rows(1)
    assert first == {"Before this cycle": "150.0 mg/m² doxorubicin-equivalent", "After this cycle": f"{after_1:.1f} mg/m²"}
    clock.set(start + dt.timedelta(days=21))
    with open_store(db) as store:
        fresh_labs(store, "W1")
        add_measurement(store, NURSE, "W1", weight="70 kg")  # a nurse weighs the patient (issue 19)
        sign_and_give_day_1(store, "W1", 2)
    assert rows(1) == first  # reprinted after cycle 2 was given: cycle 1's own figures
    assert rows(2)["Before this cycle"] == f"{after_1:.1f} mg/m² doxorubicin-equivalent"


def test_a_day_given_late_moves_the_next_day_with_it(db, clock):
    """Day 2 given a day late (on day 3's date): day 3 is not recorded on that date too."""
    with open_store(db) as store:
        add_ready_patient(store, "AI2", "doxorubicin-ifosfamide")
        sign_and_give_day_1(store, "AI2", 1)
        clock.advance(days=2)
        administer(store, NURSE, "AI2", 1, 2)
    late = now_local().date()
    one_line(chemo("administer", "AI2", "--cycle", "1", "--day", "3", user=NURSE), 1,
             f"cycle 1 day 3 falls on {(late + dt.timedelta(days=1)).isoformat()}", f"day 2 was given on {late}")
    clock.advance(days=1)
    result = chemo("administer", "AI2", "--cycle", "1", "--day", "3", user=NURSE)
    # ifosfamide's each-day platelet gate (Ifex label) wants a count younger than 3 days before day 3
    assert result.exit_code == 1 and "platelets stale (withhold ifosfamide that day" in result.stderr
    with open_store(db) as store:
        add_lab(store, NURSE, "AI2", "platelets", "180 10^9/L", at=now_local() - dt.timedelta(hours=1))
    result = chemo("administer", "AI2", "--cycle", "1", "--day", "3", user=NURSE)
    assert result.exit_code == 0, result.stderr


# ------------------------------------------------------------------ the regimen's source, the Feijen label

def test_a_regimens_source_is_its_own_not_its_last_notes():
    from chemo.regimen import load_regimen

    for rid in ("doxorubicin-ifosfamide", "epirubicin-ifosfamide"):
        r = load_regimen(rid)
        assert r.source.startswith("Seed 003") and "Ifex" not in r.source
        assert any("Ifex label" in n.source for n in r.notes)  # the note keeps its own source


def test_the_feijen_model_is_named_for_cardiotoxicity(library):
    name = library.models["feijen-2019"].name
    assert "cardiotoxicity" in name and "haematological" not in name


# ------------------------------------------------------------------ a law of the calendar

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cycle=st.integers(2, 3), days=st.integers(1, 30), reason=st.sampled_from(("low-counts", "toxicity", "patient",
                                                                                   "logistics", "other")))
def test_a_delay_of_n_days_moves_that_cycle_and_every_later_one_by_n_days(tmp_path_factory, cycle, days, reason):
    from chemo.calendar import delay, for_patient

    path = tmp_path_factory.mktemp("law") / "law.db"
    with open_store(path) as store:
        add_users(store)
        approve_regimens(store)  # two pharmacists approve the shipped regimens
        add_ready_patient(store, "L1", "doxorubicin-dacarbazine")
        sign_and_give_day_1(store, "L1", 1)
        before = [c.due for c in for_patient(store, "L1").cycles]
        moved = before[cycle - 1] + dt.timedelta(days=days)
        after = [c.due for c in delay(store, NURSE, "L1", cycle, moved.isoformat(), reason)["calendar"].cycles]
    assert after[:cycle - 1] == before[:cycle - 1]
    assert [(a - b).days for a, b in zip(after[cycle - 1:], before[cycle - 1:])] == [days] * (4 - cycle)


def test_from_cycle_2_the_bands_still_need_their_results(db):
    """Bilirubin and renal function are no longer gates after cycle 1, but the dose bands read them: a result
    must be there (and an AST band in multiples of ULN needs the ULN)."""
    with open_store(db) as store:
        add_ready_patient(store, "B1", "epirubicin-ifosfamide", labs={"creatinine": None, "ast": ("30 U/L", None)})
        report = assess(store, "B1", cycle=2)
    missing = {g.analyte: g.message for g in report.gates if g.status == "missing"}
    assert "crcl" in missing and "ifosfamide" in missing["crcl"]
    assert "ast" in missing and "no ULN" in missing["ast"]
    assert not report.ready
