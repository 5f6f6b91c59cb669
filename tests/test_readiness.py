"""Readiness (Issue 4, seed 003 thresholds): each status, units at the boundary, ULN, eGFR, weight."""

import datetime as dt

import pytest

from chemo.demo import NURSE, PRESCRIBER, add_ready_patient, add_users, approve_regimens
from chemo.errors import ChemoError
from chemo.readiness import assess
from chemo.records import add_lab, add_measurement
from chemo.db import now_local, open_store


@pytest.fixture
def store(new_db):
    with open_store(new_db("ready.db")) as s:
        add_users(s)
        approve_regimens(s)  # two pharmacists approve the shipped regimens
        yield s


def gate(report, analyte):
    return next(g for g in report.gates if g.analyte == analyte)


def patient_with(store, mrn="P", **labs):
    add_ready_patient(store, mrn, labs=labs)
    return assess(store, mrn)


def test_a_patient_with_every_lab_in_range_is_ready(store):
    report = patient_with(store)
    assert report.ready
    # before cycle 1: seed 003's 8 eligibility gates and the retreatment gates (issue 19)
    assert [g.status for g in report.gates if g.kind == "eligibility"] == ["pass"] * 8
    assert all(g.status == "pass" for g in report.gates) and {g.kind for g in report.gates} == {"eligibility",
                                                                                                 "retreatment"}
    assert report.as_json()["ready"] is True and report.recalculate is False


@pytest.mark.parametrize("entered, status", [
    ("5.6 mmol/L", "pass"),    # 5.6 / 0.6206 = 9.02 g/dL > 9.0 g/dL
    ("5.58 mmol/L", "fail"),   # 8.99 g/dL
    ("9.0 g/dL", "fail"),      # strict '>' as written: 9.0 is not > 9.0
    ("9.01 g/dL", "pass"),
    ("90 g/L", "fail"),        # the same 9.0 g/dL in g/L
])
def test_haemoglobin_is_compared_in_g_dl_as_the_threshold_is_written(store, entered, status):
    g = gate(patient_with(store, hemoglobin=(entered, None)), "hemoglobin")
    assert g.status == status
    assert g.value.endswith("g/dL") and g.entered == entered


@pytest.mark.parametrize("entered, status", [
    ("1500 /uL", "fail"),      # = 1.5 ×10⁹/L, not > 1.5
    ("1501 /uL", "pass"),
    ("1.5 10^9/L", "fail"),
    ("1.6 G/L", "pass"),       # G/L is 10⁹/L, never gauss per litre
])
def test_neutrophils_at_the_boundary_in_either_unit(store, entered, status):
    assert gate(patient_with(store, anc=(entered, None)), "anc").status == status


def test_platelets_of_100000_per_microlitre_fail_the_strict_threshold(store):
    assert gate(patient_with(store, platelets=("100000 /uL", None)), "platelets").status == "fail"


def test_each_failing_lab_makes_the_patient_not_ready(store):
    cases = {"anc": ("1.2 10^9/L", None), "platelets": ("90 10^9/L", None), "lvef": ("49 %", None),
             "bilirubin": ("1.3 mg/dL", "1.2 mg/dL"), "alt": ("61 U/L", "40 U/L"), "ast": ("70 U/L", "40 U/L"),
             "creatinine": ("3 mg/dL", None)}
    for i, (analyte, item) in enumerate(cases.items()):
        report = patient_with(store, f"F{i}", **{analyte: item})
        failing = {g.analyte for g in report.gates if g.status != "pass"}
        assert failing == {"egfr" if analyte == "creatinine" else analyte}
        assert not report.ready


def test_uln_thresholds_use_the_uln_stored_with_the_result(store):
    # bilirubin <= 1.0 × ULN: 1.2 mg/dL passes against a ULN of 1.2, fails against a ULN of 1.0
    assert gate(patient_with(store, "U1", bilirubin=("1.2 mg/dL", "1.2 mg/dL")), "bilirubin").status == "pass"
    assert gate(patient_with(store, "U2", bilirubin=("1.2 mg/dL", "1.0 mg/dL")), "bilirubin").status == "fail"
    # ALT <= 1.5 × ULN: 60 U/L with ULN 40 is exactly 1.5 × ULN: passes
    assert gate(patient_with(store, "U3", alt=("60 U/L", "40")), "alt").status == "pass"
    # a ULN in µmol/L for a bilirubin in mg/dL is converted: 20.52 µmol/L = 1.2 mg/dL
    assert gate(patient_with(store, "U4", bilirubin=("1.2 mg/dL", "20.52 µmol/L")), "bilirubin").status == "pass"


def test_a_uln_threshold_without_a_stored_uln_is_missing(store):
    g = gate(patient_with(store, bilirubin=("0.5 mg/dL", None)), "bilirubin")
    assert g.status == "missing" and "no ULN" in g.message


def test_a_missing_result_is_missing(store):
    report = patient_with(store, lvef=None)
    g = gate(report, "lvef")
    assert g.status == "missing" and g.value is None and "no left ventricular ejection fraction" in g.message
    assert not report.ready


def test_a_result_older_than_the_regimen_allows_is_stale(store):
    add_ready_patient(store, "S", at=now_local() - dt.timedelta(days=3, hours=1))
    report = assess(store, "S")
    assert gate(report, "hemoglobin").status == "stale"
    assert gate(report, "lvef").status == "pass"  # LVEF may be 90 days old
    assert "3 days" in gate(report, "anc").message


def test_readiness_as_of_a_date_ignores_later_results_and_counts_age_to_the_end_of_that_day(store):
    at = now_local() - dt.timedelta(days=2)  # once: a second reading may fall on the next day (near midnight)
    add_ready_patient(store, "D", at=at)
    day = at.date()
    assert assess(store, "D", day.isoformat()).ready
    assert gate(assess(store, "D", (day - dt.timedelta(days=1)).isoformat()), "anc").status == "missing"
    assert gate(assess(store, "D", (day + dt.timedelta(days=4)).isoformat()), "anc").status == "stale"


def test_egfr_is_computed_from_creatinine_with_the_method_named(store):
    g = gate(patient_with(store, creatinine=("80 µmol/L", None)), "egfr")
    assert g.status == "pass"
    assert "CKD-EPI 2021" in g.method and "80 µmol/L" in g.method
    # 1.6 mg/dL, female aged ~55: CKD-EPI 2021 gives about 37 mL/min/1.73 m²
    g = gate(patient_with(store, "E2", creatinine=("1.6 mg/dL", None)), "egfr")
    assert g.status == "fail" and 30 < float(g.value.split()[0]) < 45


def test_a_recorded_egfr_is_used_and_a_de_indexed_one_is_indexed_with_the_bsa(store):
    g = gate(patient_with(store, "E3", creatinine=None, egfr=("60 mL/min/1.73 m²", None)), "egfr")
    assert g.status == "pass" and g.method is None
    # 52 mL/min for a BSA of 1.82 m² (170 cm, 70 kg) is 52 × 1.73 / 1.82 = 49.4 mL/min/1.73 m²: fails > 50
    g = gate(patient_with(store, "E4", creatinine=None, egfr=("52 mL/min", None)), "egfr")
    assert g.status == "fail" and "indexed with BSA 1.82" in g.method


def test_an_ambiguous_egfr_unit_is_refused(store):
    add_ready_patient(store, "E5")
    with pytest.raises(ChemoError, match="ambiguous"):
        add_lab(store, NURSE, "E5", "egfr", "60 mL/min/m²")


def test_dose_modification_bands_are_suggested_with_their_source(store):
    report = patient_with(store, bilirubin=("2.0 mg/dL", "1.2 mg/dL"))
    [s] = report.suggestions
    assert (s.drug, s.give) == ("doxorubicin", 0.5) and "label" in s.source


def test_recalculate_when_the_weight_moves_10_percent_or_is_older_than_30_days(store):
    add_ready_patient(store, "W", weight="70 kg")
    add_measurement(store, PRESCRIBER, "W", weight="63.1 kg")  # -9.9 %
    assert assess(store, "W").recalculate is False
    add_measurement(store, PRESCRIBER, "W", weight="77 kg")  # +10 %
    report = assess(store, "W")
    assert report.recalculate is True and "10.0 %" in report.recalculate_reasons[0]
    add_measurement(store, PRESCRIBER, "W", weight="70 kg")
    in_31_days = (dt.date.today() + dt.timedelta(days=31)).isoformat()
    report = assess(store, "W", in_31_days)
    assert report.recalculate is True and "31 days ago" in report.recalculate_reasons[0]


def test_readiness_of_an_unknown_patient_or_one_without_a_plan_is_bad_input(store):
    with pytest.raises(ChemoError, match="no patient with MRN"):
        assess(store, "NOBODY")
    from chemo.records import add_patient

    add_patient(store, PRESCRIBER, mrn="NP", name="No Plan", sex="male", born="1960-01-01", height="180 cm",
                weight="80 kg")
    with pytest.raises(ChemoError, match="no treatment plan"):
        assess(store, "NP")


@pytest.mark.parametrize("analyte, value, message", [
    ("platelets", "5 g/dL", "mass per volume"),
    ("platelets", "5000 10^9/L", "outside the possible range"),
    ("hemoglobin", "-3 g/dL", "negative"),
    ("lvef", "150 %", "outside the possible range"),
    ("sodium", "140 mmol/L", "unknown analyte"),
    ("anc", "1.2", "no unit"),
])
def test_impossible_or_misfit_lab_values_are_refused_and_nothing_is_written(store, analyte, value, message):
    add_ready_patient(store, "B")
    before = store.one("SELECT count(*) AS n FROM labs")["n"]
    with pytest.raises(ChemoError, match=message):
        add_lab(store, NURSE, "B", analyte, value)
    assert store.one("SELECT count(*) AS n FROM labs")["n"] == before


def test_labs_are_stored_as_entered_beside_the_converted_value(store):
    add_ready_patient(store, "C")
    add_lab(store, NURSE, "C", "anc", "1200 /uL")
    row = store.one("SELECT value_text, value, unit FROM labs WHERE analyte = 'anc' ORDER BY id DESC LIMIT 1")
    assert row["value_text"] == "1200 /uL" and row["value"] == pytest.approx(1.2) and row["unit"] == "10^9/L"
