"""Relative dose intensity (issue 23).

By hand: a three-cycle AI course (doxorubicin 25 mg/m²/day and ifosfamide 3 g/m²/day on days 1-3 every 21 days)
for a patient of 200 cm and 80 kg, Mosteller BSA sqrt(200 x 80 / 3600) = 2.10819 m², cycle 2 given a week late
(day 28) and cycle 3 at 75 % (day 49).

doxorubicin: planned 75 mg/m² x 3 = 225 mg/m² over 9 weeks = 25 mg/m²/week.  Given 25 x 2.10819 = 52.70 -> 53 mg
a day (1 mg steps) = 25.140 mg/m², six days; at 75 %: 39.53 -> 40 mg = 18.974 mg/m², three days.  Delivered
6 x 25.140 + 3 x 18.974 = 207.76 mg/m² over 10 weeks (day 49 + 21 = day 70) = 20.776 mg/m²/week.
RDI = 20.776 / 25 = 83.1 %.  Points lost 16.9: reduction (225 - 207.76) / 225 = 7.66 (rounding up at full dose
gives some back), delay 92.34 % x (1 - 9/10) = 9.23.

ifosfamide: 3000 x 2.10819 = 6324.6 -> 6320 mg (10 mg steps) = 2997.8 mg/m²; at 75 %: 4743.4 -> 4740 mg =
2248.4 mg/m².  Delivered 6 x 2997.8 + 3 x 2248.4 = 24732.2 mg/m² over 10 weeks; planned 27000 over 9 weeks.
RDI = 24732.2 / 27000 x 0.9 = 82.44 %.
"""

import csv
import datetime as dt
import io
import json

import pytest
from hypothesis import given, settings, strategies as st

from chemo.db import open_store
from chemo.rdi import GivenDay, compute, for_patient
from cli_support import cli_invoker
from course_support import give_cycle, start_course

BSA = (200 * 80 / 3600) ** 0.5


@pytest.fixture
def course(new_db, clock):
    from chemo.calendar import delay
    from chemo.demo import PRESCRIBER

    where = new_db("rdi.db")
    with open_store(where) as s:
        start = start_course(s, "R1", days_ago=70)
        give_cycle(s, "R1", 1, start)
        now = clock.now
        clock.set(dt.datetime.combine(start + dt.timedelta(days=20), dt.time(10, 0)))  # the day before it was due
        delay(s, PRESCRIBER, "R1", 2, (start + dt.timedelta(days=28)).isoformat(), "low-counts", "ANC 0.9 on day 20")
        clock.set(now)
        give_cycle(s, "R1", 2, start + dt.timedelta(days=28))  # a week late, as the calendar says
        give_cycle(s, "R1", 3, start + dt.timedelta(days=49), dose_level=-1)  # 75 %
    return where


def test_rdi_by_hand_with_the_points_lost_to_delay_and_reduction(course):
    with open_store(course, create=False) as s:
        r = for_patient(s, "R1")
    dox, ifo = r.drugs
    # doxorubicin
    delivered = 6 * 53 / BSA + 3 * 40 / BSA
    assert dox.planned_intensity == pytest.approx(25.0)
    assert (dox.planned_weeks, dox.actual_weeks) == (9, 10)
    assert dox.delivered_total == pytest.approx(delivered, abs=1e-6) and dox.delivered_total == pytest.approx(207.76, abs=0.01)
    assert dox.rdi_pct == pytest.approx(83.1, abs=0.1)
    assert dox.rdi_pct == pytest.approx(delivered / 10 / 25 * 100, rel=1e-9)
    assert dox.lost_reduction == pytest.approx((225 - delivered) / 225 * 100, abs=1e-9)
    assert dox.lost_delay == pytest.approx(delivered / 225 * 100 * (1 - 9 / 10), abs=1e-9)
    assert dox.lost_omission == 0
    assert dox.lost_delay + dox.lost_reduction + dox.lost_omission == pytest.approx(100 - dox.rdi_pct)
    assert dox.below_target and dox.complete
    # ifosfamide
    delivered = 6 * 6320 / BSA + 3 * 4740 / BSA
    assert ifo.planned_intensity == pytest.approx(3000.0)
    assert ifo.rdi_pct == pytest.approx(82.44, abs=0.1)
    assert ifo.rdi_pct == pytest.approx(delivered / 27000 * 0.9 * 100, rel=1e-9)
    # the delay is named with the calendar's reason: cycle 2 began 7 days late
    assert r.delays == ((2, 7, ("low-counts: ANC 0.9 on day 20 (recorded by demo-prescriber)",)),)


def _regimen():
    from chemo.library import load_library
    from chemo.regimen import load_regimen, regimen_path

    return load_regimen(regimen_path("doxorubicin-ifosfamide"), load_library())


def test_a_drug_stopped_counts_its_missing_days_as_omission():
    """Doxorubicin stopped after cycle 2 (an LVEF fall), ifosfamide given in full, on time, BSA 2.0 m²:
    doxorubicin RDI 150 / 225 = 66.7 %, all 33.3 points lost to omission; ifosfamide 100 %."""
    start = dt.date(2026, 1, 5)
    given = []
    for cycle in (1, 2, 3):
        for day in (1, 2, 3):
            when = (start + dt.timedelta(days=21 * (cycle - 1) + day - 1)).isoformat() + "T09:00:00"
            given.append(GivenDay(cycle, day, "ifosfamide", 6000, 2.0, when))
            if cycle < 3:
                given.append(GivenDay(cycle, day, "doxorubicin", 50, 2.0, when))
    dox, ifo = compute("X", _regimen(), start, 3, given, today=dt.date(2026, 6, 1)).drugs
    assert dox.rdi_pct == pytest.approx(66.667, abs=0.001)
    assert (dox.lost_omission, dox.lost_reduction, dox.lost_delay) == pytest.approx((33.333, 0, 0), abs=0.001)
    assert ifo.rdi_pct == pytest.approx(100) and not ifo.below_target


def test_a_cycle_in_progress_counts_only_the_days_reached():
    start = dt.date(2026, 1, 5)
    given = [GivenDay(1, 1, d, mg, 2.0, "2026-01-05T09:00:00") for d, mg in (("doxorubicin", 50), ("ifosfamide", 6000))]
    dox, _ = compute("X", _regimen(), start, 3, given, today=dt.date(2026, 1, 5)).drugs
    assert dox.rdi_pct == pytest.approx(100) and dox.cycles_counted == 1 and not dox.complete
    # once the cycle's days have passed without being given, they are omitted
    dox, _ = compute("X", _regimen(), start, 3, given, today=dt.date(2026, 1, 20)).drugs
    assert dox.lost_omission == pytest.approx(66.667, abs=0.001)


def test_the_curves_are_cumulative_planned_and_delivered(course):
    with open_store(course, create=False) as s:
        dox = for_patient(s, "R1").drugs[0]
    assert [v for _, v in dox.planned_curve] == pytest.approx([25 * k for k in range(1, 10)])
    assert dox.delivered_curve[-1][1] == pytest.approx(dox.delivered_total)
    assert len(dox.delivered_curve) == 9


def test_report_rdi_csv_on_the_demo_database_has_one_row_per_patient_and_drug(tmp_path, chemo_cli):
    from chemo.demo import build_demo
    from chemo.cli_toxicity import CSV_COLUMNS

    db = tmp_path / "demo.db"
    with open_store(db) as s:
        build_demo(s)
        patients = s.query("SELECT p.mrn, pl.regimen_id FROM patients p JOIN plans pl ON pl.patient_id = p.id "
                           "WHERE pl.status = 'active' ORDER BY p.mrn")
    invoke = cli_invoker(chemo_cli)
    out = invoke("report", "rdi", "--csv", "--db", db)
    assert out.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(out.output)))
    assert tuple(rows[0].keys()) == CSV_COLUMNS == (
        "mrn", "regimen", "drug", "unit", "planned_intensity", "delivered_intensity", "rdi_pct", "below_85",
        "lost_delay", "lost_reduction", "lost_omission", "cycles_counted", "planned_cycles", "complete")
    drugs = {"doxorubicin-ifosfamide": 2, "epirubicin-ifosfamide": 2, "doxorubicin-dacarbazine": 2,
             "pld-ifosfamide-anlotinib": 3}
    assert len(rows) == sum(drugs[p["regimen_id"]] for p in patients)
    assert sorted({r["mrn"] for r in rows}) == [p["mrn"] for p in patients]
    assert len({(r["mrn"], r["drug"]) for r in rows}) == len(rows)
    assert json.loads(invoke("report", "rdi", "--json", "--db", db).output)[0]["mrn"] == rows[0]["mrn"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10), st.floats(0.0, 1.2)), min_size=1, max_size=3))
def test_the_points_lost_always_add_up_to_100_minus_rdi(cycles):
    """Any course (each cycle's delay in days, the fraction of the dose given; 0: omitted) splits exactly."""
    regimen = _regimen()
    start = dt.date(2026, 1, 5)
    given, day1 = [], start
    for n, (late, fraction) in enumerate(cycles, 1):
        day1 = day1 + dt.timedelta(days=late)
        for day in (1, 2, 3):
            if fraction > 0:
                when = (day1 + dt.timedelta(days=day - 1)).isoformat() + "T09:00:00"
                given.append(GivenDay(n, day, "doxorubicin", 25 * 2.0 * fraction, 2.0, when))
                given.append(GivenDay(n, day, "ifosfamide", 3000 * 2.0, 2.0, when))
        day1 = day1 + dt.timedelta(days=21)
    r = compute("X", regimen, start, 3, given, today=dt.date(2027, 1, 1))
    for d in r.drugs:
        if d.rdi_pct is None:
            continue
        assert d.lost_delay + d.lost_reduction + d.lost_omission == pytest.approx(100 - d.rdi_pct, abs=1e-6)
        assert d.lost_delay >= -1e-9


def test_the_worksheet_last_page_is_the_treatment_summary_with_the_plot(course, tmp_path):
    from pypdf import PdfReader

    from chemo.worksheet import build, to_pdf

    with open_store(course, create=False) as s:
        ws = build(s, "R1", 3)
    out = tmp_path / "ws.pdf"
    out.write_bytes(to_pdf(ws))
    pages = PdfReader(out).pages
    last = pages[-1].extract_text()
    assert "Treatment summary: relative dose intensity" in last
    assert "83.1 % (below 85 %)" in last and "82.4 % (below 85 %)" in last
    assert "Cumulative dose, % of the planned course" in last
    assert "cycle 2 started 7 days late: low-counts: ANC 0.9 on day 20" in last
    assert "doxorubicin given (RDI 83.1 %)" in last
    assert "Cumulative dose, % of the planned course" not in pages[0].extract_text()  # the plot is on the last page only
    # the text worksheet carries the same table
    assert "TREATMENT SUMMARY: RELATIVE DOSE INTENSITY" in ws.text()
