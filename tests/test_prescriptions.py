"""Prescriptions in the record (issue 18): what is verified is what is signed, printed and given.

Facts a pharmacist can check, on both engines:

* DEMO-004's body (186 cm, 82 kg: Mosteller 2.058 m²) on PLD + ifosfamide + anlotinib: ifosfamide 1 g/m² is
  2058.3 mg calculated, 2060 mg dispensed; 1950 mg is -5.3 % (review).  Prescribed with a reason and signed,
  1950 mg is what the sign-off, the worksheet PDF and the administration hold; PLD 40 mg/m² (82.3 mg) ordered
  at 76 mg (-7.7 %) is what the cumulative ledger counts (76 mg / 2.058 m² = 36.9 mg/m²).
* Doxorubicin 25 mg/m² a day on days 1-3 at 170 cm, 70 kg (1.818 m²): 45.45 mg a day calculated.  +60 % on
  day 1 and +19 % on each day are hard stops (``overdose``), +5.1 % review, +4 % ok; level -1 (75 %) ok.
* An order file naming a 45 kg patient written at 54 kg: ``record-mismatch``.
"""

import json

import pytest
from click.testing import CliRunner

from chemo.audit import verify as audit_verify
from chemo.cli import cli
from chemo.cumulative import report
from chemo.db import open_store
from chemo.db.store import Refusal
from chemo.demo import NURSE, PHARMACIST, PRESCRIBER, add_ready_patient, add_users, approve_regimens
from chemo.dose import body_size, calculate_cycle
from chemo.prescription import PrescriptionRefused, SignoffLapsed, orders, prescribe
from chemo.records import add_measurement
from chemo.regimen import load_regimen
from chemo.treatment import administer, signoff
from chemo.worksheet import build, to_pdf

PIA = "pld-ifosfamide-anlotinib"
DOX_IFO = "doxorubicin-ifosfamide"


@pytest.fixture
def where(new_db):
    return new_db("rx.db")


@pytest.fixture
def store(where):
    with open_store(where) as s:
        add_users(s)
        approve_regimens(s)  # two pharmacists approve the shipped regimens
        yield s


def rows(store, table):
    return store.one(f"SELECT count(*) AS n FROM {table}")["n"]


def calc(regimen_id, height, weight, level=0):
    regimen = load_regimen(regimen_id)
    doses = calculate_cycle(regimen, body_size(height, weight, regimen=regimen), 1, level)
    return {(a.drug, a.day): a for a in doses.administrations}


# ------------------------------------------------------------------ one dose from prescription to bedside

BELOW_NEXT = "frail: one level below the protocol dose from the start"  # chemo next suggests 0: a departure

def test_ifosfamide_1950_mg_prescribed_with_a_reason_is_signed_printed_given_and_counted(store, where, tmp_path):
    add_ready_patient(store, "R1", PIA, sex="male", height="186 cm", weight="82 kg")
    expected = calc(PIA, "186 cm", "82 kg")
    assert expected["ifosfamide", 1].dose_mg == 2060 and expected["pld", 1].dose_mg == 82
    lines = ("ifosfamide 1 1950 mg", "pld 1 76 mg")
    with pytest.raises(PrescriptionRefused, match="needs a reason"):
        prescribe(store, PRESCRIBER, "R1", 1, lines=lines)
    assert rows(store, "prescriptions") == 0
    row = prescribe(store, PRESCRIBER, "R1", 1, lines=lines, reason="reduced for grade 2 neuropathy")
    assert row["status"] == "review"
    # the pharmacist: each review line needs a reason
    with pytest.raises(PrescriptionRefused, match="each review line needs"):
        signoff(store, PHARMACIST, "R1", 1, "dose", accept={("ifosfamide", 1): "agreed with the prescriber"})
    signed = signoff(store, PHARMACIST, "R1", 1, "dose", accept={("ifosfamide", 1): "agreed with the prescriber",
                                                                 ("pld", 1): "agreed with the prescriber"})
    doses = {(d["drug"], d["day"]): d["dose_mg"] for d in signed["detail"]["doses"]}
    assert doses["ifosfamide", 1] == 1950 and doses["pld", 1] == 76 and doses["ifosfamide", 2] == 2060
    assert [a["drug"] for a in signed["detail"]["prescription"]["accepted"]] == ["pld", "ifosfamide"]
    # the worksheet PDF, read back
    pdf = tmp_path / "w.pdf"
    pdf.write_bytes(to_pdf(build(store, "R1", 1)))
    import pypdf

    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(str(pdf)).pages)
    day1 = [line for line in text.splitlines() if "ifosfamide" in line and "1 g/m" in line]
    assert day1 and "1950" in day1[0] and "2060" not in day1[0]
    # the bedside
    signoff(store, NURSE, "R1", 1, "readiness")
    given = administer(store, NURSE, "R1", 1, 1)["administrations"]
    by_drug = {a["drug"]: a["dose_mg"] for a in given}
    assert by_drug["ifosfamide"] == 1950 and by_drug["pld"] == 76
    stored = store.query("SELECT drug, dose_mg FROM administrations WHERE day = 1")
    assert {r["drug"]: r["dose_mg"] for r in stored}["ifosfamide"] == 1950
    bsa = (186 * 82 / 3600) ** 0.5
    assert report(store, "R1").given_mg_m2 == pytest.approx(76 / bsa)  # 36.9 mg/m², not 82 mg's 39.8
    assert audit_verify(store)[1] == []


def test_a_prescription_at_level_minus_one_is_ok_and_the_sign_off_holds_its_doses(store):
    add_ready_patient(store, "R2", DOX_IFO)
    with pytest.raises(PrescriptionRefused, match="level -1 is below the suggested level 0"):
        prescribe(store, PRESCRIBER, "R2", 1, dose_level=("-1",))  # not what chemo next suggests: a reason
    row = prescribe(store, PRESCRIBER, "R2", 1, dose_level=("-1",), reason=BELOW_NEXT)
    assert row["status"] == "ok"
    assert "next: doxorubicin: level -1 is below the suggested level 0" in row["notes"][0]
    level = calc(DOX_IFO, "170 cm", "70 kg", -1)
    signed = signoff(store, PHARMACIST, "R2", 1, "dose")
    assert signed["detail"]["dose_level"] == -1
    assert {(d["drug"], d["day"]): d["dose_mg"] for d in signed["detail"]["doses"]} == {
        k: a.dose_mg for k, a in level.items()}
    assert level["doxorubicin", 1].dose_mg == 34  # 25 mg/m² × 75 % × 1.818 m² = 34.09


# ------------------------------------------------------------------ severity that matches the harm

@pytest.mark.parametrize("ratio, days, status", [
    (1.60, (1,), "hard-stop"),  # +60 % on day 1 only
    (1.19, (1, 2, 3), "hard-stop"),  # +19 % on each day
    (1.051, (1,), "review"),
    (1.04, (1,), "ok"),
])
def test_doxorubicin_above_the_calculated_dose(store, ratio, days, status):
    add_ready_patient(store, "R3", DOX_IFO)
    mg = calc(DOX_IFO, "170 cm", "70 kg")["doxorubicin", 1].calculated_mg  # 45.45 mg
    lines = tuple(f"doxorubicin {d} {mg * ratio:.2f} mg" for d in days)
    if status == "hard-stop":
        with pytest.raises(PrescriptionRefused) as err:
            prescribe(store, PRESCRIBER, "R3", 1, lines=lines, reason="a reason that is long enough")
        v = err.value.verification
        stopped = [r for r in v.lines if r.drug == "doxorubicin" and r.day in days]
        assert [r.reasons for r in stopped] == [("deviation", "overdose")] * len(days)
        assert err.value.exit_code == 1 and rows(store, "prescriptions") == 0
        assert "overdose" in dict(v.sources)
        return
    row = prescribe(store, PRESCRIBER, "R3", 1, lines=lines, reason="a reason that is long enough")
    line = [x for x in json.loads(row["lines"]) if x["drug"] == "doxorubicin" and x["day"] == 1][0]
    assert line["status"] == status and line["dose_mg"] == pytest.approx(round(mg * ratio, 2))


def test_a_file_written_at_54_kg_for_a_45_kg_patient_is_a_record_mismatch(store, where, tmp_path, monkeypatch):
    add_ready_patient(store, "R4", "epirubicin-ifosfamide", height="160 cm", weight="45 kg")
    at54 = calc("epirubicin-ifosfamide", "160 cm", "54 kg")
    at45 = calc("epirubicin-ifosfamide", "160 cm", "45 kg")
    assert at54["epirubicin", 1].dose_mg > at45["epirubicin", 1].dose_mg
    lines = "".join(f'[[line]]\ndrug = "{d}"\nday = {day}\ndose = "{a.dose_mg:g} mg"\n\n' for (d, day), a in at54.items())
    body = 'regimen = "epirubicin-ifosfamide"\ncycle = 1\nheight = "160 cm"\nweight = "54 kg"\n'
    plain, named = tmp_path / "plain.toml", tmp_path / "named.toml"
    plain.write_text(body + lines)
    named.write_text('mrn = "R4"\n' + body + lines)
    runner = CliRunner()
    result = runner.invoke(cli, ["verify", str(plain), "--json"])
    assert result.exit_code == 0 and "findings" not in json.loads(result.stdout)  # without mrn: as before
    result = runner.invoke(cli, ["verify", str(named), "--db", str(where), "--json"])
    assert result.exit_code == 3, result.output
    data = json.loads(result.stdout)
    mismatch = [f for f in data["findings"] if f["reason"] == "record-mismatch"]
    assert "weight" in {f["field"] for f in mismatch}  # +20 % (the BSA only +9.5 %: √(54/45))
    weight = [f for f in mismatch if f["field"] == "weight"][0]
    assert weight["order_value"] == 54 and weight["record_value"] == 45 and "54 kg" in weight["message"]
    assert "45 kg" in weight["message"] and data["status"] == "hard-stop"
    # the prescriber's order from that file is refused too, and nothing is written
    with pytest.raises(PrescriptionRefused, match="record-mismatch|differs from"):
        prescribe(store, PRESCRIBER, "R4", 1, order_path=str(named))
    assert rows(store, "prescriptions") == 0


# ------------------------------------------------------------------ superseding and lapsing

def test_a_new_prescription_supersedes_the_old_and_lapses_its_sign_off(store):
    add_ready_patient(store, "R5", DOX_IFO)
    first = prescribe(store, PRESCRIBER, "R5", 1)
    signoff(store, PHARMACIST, "R5", 1, "dose")
    signoff(store, NURSE, "R5", 1, "readiness")
    second = prescribe(store, PRESCRIBER, "R5", 1, dose_level=("-1",), reason=BELOW_NEXT)
    assert second["supersedes"] == first["id"]
    listed = orders(store, "R5", 1)
    assert [(p["id"], p["standing"]) for p in listed] == [(first["id"], False), (second["id"], True)]
    before = rows(store, "administrations")
    with pytest.raises(SignoffLapsed, match=f"superseded by prescription {second['id']}"):
        administer(store, NURSE, "R5", 1, 1)
    assert rows(store, "administrations") == before
    sheet = build(store, "R5", 1)
    assert sheet.draft  # DRAFT on every page: a lapsed sign-off is no sign-off
    notes = [n for s in sheet.sections for n in s.notes]
    assert any(n.startswith("SIGN-OFF LAPSED") for n in notes)
    # the cumulative projection counts the standing prescription (level -1), not a recalculation at full dose
    from chemo.cumulative import planned_doses
    from chemo.records import plan_body, plan_regimen
    from chemo.db import plans, signoffs

    plan = plans.active(store, store.one("SELECT id FROM patients WHERE mrn = 'R5'")["id"])
    regimen, _ = plan_regimen(plan)
    full = {(d["drug"], d["day"]): d["dose_mg"] for d in planned_doses(
        store, plan, signoffs.dose_details(store, plan["id"]), regimen, plan_body(plan, regimen), 2)[0]}
    assert full["doxorubicin", 1] == 45  # no prescription of cycle 2 yet: calculated, 25 mg/m² × 1.818 m²
    prescribe(store, PRESCRIBER, "R5", 2, dose_level=("-1",), reason=BELOW_NEXT)
    reduced = {(d["drug"], d["day"]): d["dose_mg"] for d in planned_doses(
        store, plan, signoffs.dose_details(store, plan["id"]), regimen, plan_body(plan, regimen), 2)[0]}
    assert reduced["doxorubicin", 1] == 34  # the standing prescription's mg (75 %)
    actions = [r["action"] for r in store.query("SELECT action FROM audit WHERE entity = 'prescriptions'")]
    assert actions == ["prescription.add", "prescription.supersede", "prescription.add"]  # cycle 1 twice, cycle 2
    assert audit_verify(store)[1] == []


def test_a_prescription_written_after_a_sign_off_of_the_calculated_doses_lapses_it(store):
    """Signed at full dose without a prescription, then prescribed at level -1: the full dose (45 mg
    doxorubicin, 25 mg/m² x 1.818 m²) is not given over the prescriber's 34 mg."""
    add_ready_patient(store, "R9", DOX_IFO)
    signoff(store, PHARMACIST, "R9", 1, "dose")
    signoff(store, NURSE, "R9", 1, "readiness")
    later = prescribe(store, PRESCRIBER, "R9", 1, dose_level=("-1",), reason=BELOW_NEXT)
    before = rows(store, "administrations")
    with pytest.raises(SignoffLapsed, match=f"prescription {later['id']} .* was written after it"):
        administer(store, NURSE, "R9", 1, 1)
    assert rows(store, "administrations") == before
    assert build(store, "R9", 1).draft


def test_a_cycle_already_started_is_not_prescribed_again(store):
    """Day 1 given at 45 mg doxorubicin: a new order of cycle 1 (level -1) is refused, nothing written, and the
    given cycle's sign-off still stands (its worksheet is not a draft)."""
    add_ready_patient(store, "R10", DOX_IFO)
    prescribe(store, PRESCRIBER, "R10", 1)
    signoff(store, PHARMACIST, "R10", 1, "dose")
    signoff(store, NURSE, "R10", 1, "readiness")
    administer(store, NURSE, "R10", 1, 1)
    before = rows(store, "prescriptions")
    with pytest.raises(Refusal, match="cycle 1: day 1 was given on .*a cycle already started is not prescribed"):
        prescribe(store, PRESCRIBER, "R10", 1, dose_level=("-1",), reason=BELOW_NEXT)
    assert rows(store, "prescriptions") == before
    assert not build(store, "R10", 1).draft


def test_a_weight_recorded_after_the_sign_off_beyond_the_threshold_lapses_it(store):
    add_ready_patient(store, "R6", DOX_IFO)
    prescribe(store, PRESCRIBER, "R6", 1)
    signoff(store, PHARMACIST, "R6", 1, "dose")
    signoff(store, NURSE, "R6", 1, "readiness")
    add_measurement(store, PRESCRIBER, "R6", weight="62 kg")  # -11.4 % from the dosing 70 kg
    with pytest.raises(SignoffLapsed, match="62 kg"):
        administer(store, NURSE, "R6", 1, 1)


def test_the_pharmacist_cannot_sign_another_level_than_the_prescription(store):
    add_ready_patient(store, "R7", DOX_IFO)
    prescribe(store, PRESCRIBER, "R7", 1, dose_level=("-1",), reason=BELOW_NEXT)
    with pytest.raises(Exception, match="signs what was prescribed"):
        signoff(store, PHARMACIST, "R7", 1, "dose", dose_level=("0", "doxorubicin=-2"))
    assert rows(store, "signoffs") == 0


def test_only_a_prescriber_prescribes(store):
    add_ready_patient(store, "R8", DOX_IFO)
    with pytest.raises(Exception) as err:
        prescribe(store, PHARMACIST, "R8", 1)
    assert err.value.exit_code == 1 and rows(store, "prescriptions") == 0


def test_a_prescription_row_changed_outside_chemo_is_found_by_audit_verify(store, where):
    from tests.conftest import raw_execute

    add_ready_patient(store, "R9", DOX_IFO)
    row = prescribe(store, PRESCRIBER, "R9", 1)
    lines = json.loads(row["lines"])
    lines[0]["dose_mg"] = 450.0
    raw_execute(where, "UPDATE prescriptions SET lines = ? WHERE id = ?", (json.dumps(lines), row["id"]))
    problems = audit_verify(store)[1]
    assert any(p.startswith(f"prescriptions row {row['id']}: lines is") for p in problems), problems


# ------------------------------------------------------------------ the command line

def test_the_cli_prescribes_lists_and_refuses_with_the_verification_printed(where, monkeypatch):
    monkeypatch.setenv("CHEMO_DB", str(where))
    with open_store(where) as s:
        add_users(s)
        approve_regimens(s)  # two pharmacists approve the shipped regimens
        add_ready_patient(s, "C1", DOX_IFO)
    runner = CliRunner()
    bad = runner.invoke(cli, ["prescribe", "C1", "--cycle", "1", "--line", "doxorubicin 1 73 mg", "--user", PRESCRIBER])
    assert bad.exit_code == 1
    assert "HARD-STOP" in bad.stdout and "overdose" in bad.stdout and "chemo: " in bad.stderr
    assert "Traceback" not in bad.output
    ok = runner.invoke(cli, ["prescribe", "C1", "--cycle", "1", "--line", "doxorubicin day 1 43 mg", "--reason",
                             "rounded down to the vial", "--user", PRESCRIBER, "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["status"] == "review"
    shown = runner.invoke(cli, ["orders", "show", "C1", "--json"])
    listed = json.loads(shown.stdout)
    assert len(listed) == 1 and listed[0]["standing"]
    assert [x["dose_mg"] for x in listed[0]["lines"] if x["drug"] == "doxorubicin"][0] == 43
    refused = runner.invoke(cli, ["signoff", "C1", "--cycle", "1", "--check", "dose", "--user", PHARMACIST])
    assert refused.exit_code == 1 and "review line needs" in refused.stderr
    signed = runner.invoke(cli, ["signoff", "C1", "--cycle", "1", "--check", "dose", "--accept",
                                 "doxorubicin 1: vial rounding agreed", "--user", PHARMACIST])
    assert signed.exit_code == 0, signed.output
    assert "43 mg" in signed.stdout and "accepted doxorubicin day 1" in signed.stdout


# ------------------------------------------------------------------ the law of the levels

from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(ratio=st.floats(min_value=0.2, max_value=9.0, allow_nan=False))
def test_a_doses_status_follows_its_ratio_to_the_calculated_dose(ratio):
    """Within the 5 % tolerance ok; above the calculated dose by more than 10 % a hard stop (overdose);
    anything else off by more than the tolerance review (a reason needed).  Doxorubicin + dacarbazine at
    180 cm, 70.7 kg (1.88 m²): doxorubicin 75 mg/m², 141.0 mg calculated."""
    from chemo.order import order_from_document
    from chemo.verify import verify_order

    body = {"height": "180 cm", "weight": "70.7 kg"}
    doses = calc("doxorubicin-dacarbazine", **body)
    mg = doses["doxorubicin", 1].calculated_mg
    doc = {"regimen": "doxorubicin-dacarbazine", "cycle": 1, **body,
           "line": [{"drug": d, "day": day, "dose": f"{a.dose_mg:g} mg"} for (d, day), a in doses.items()]}
    doc["line"][0] = {"drug": "doxorubicin", "day": 1, "dose": f"{mg * ratio:.6f} mg"}
    line = next(r for r in verify_order(order_from_document(doc)).lines if r.drug == "doxorubicin")
    dev = line.ordered_mg / mg - 1
    if abs(dev) <= 0.05 * (1 + 1e-9):
        assert line.status == "ok"
    elif dev > 0.10 + 1e-6:
        assert line.status == "hard-stop" and ("overdose" in line.reasons or "decimal-error" in line.reasons)
    elif dev > 0.10 - 1e-6:
        pass  # the boundary itself, within the printed precision
    elif "basis-confusion" in line.reasons or "decimal-error" in line.reasons or "over-max" in line.reasons:
        assert line.status == "hard-stop"
    else:
        assert line.status == "review" and line.reasons == ("deviation",)
