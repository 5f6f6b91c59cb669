"""Cumulative anthracycline (Issue 4, seed 003): doxorubicin-equivalent mg/m², the 300 warning, the 450 cap.

The patient is 170 cm and 70 kg: Mosteller BSA √(170·70/3600) = 1.818 m².  Doxorubicin + ifosfamide gives
doxorubicin 25 mg/m² on days 1-3: 45.45 mg, dispensed as 45 mg a day, i.e. 45 / 1.818 = 24.75 mg/m² a day and
74.25 mg/m² a cycle.  Under the seed-003 cap-ratio model (450 doxorubicin ≡ 900 epirubicin) epirubicin counts 0.5.
"""

import json

import pytest

from chemo import audit
from chemo.cumulative import CumulativeError, report
from chemo.demo import NURSE, PHARMACIST, PRESCRIBER, add_ready_patient, add_users, approve_regimens
from chemo.records import add_measurement, add_prior
from chemo.db import open_store
from chemo.treatment import CapRefused, administer, signoff

BSA = (170 * 70 / 3600) ** 0.5
DAY = 45 / BSA  # 24.75 mg/m²
CYCLE = 3 * DAY


@pytest.fixture
def store(new_db):
    with open_store(new_db("cum.db")) as s:
        add_users(s)
        approve_regimens(s)  # two pharmacists approve the shipped regimens
        add_ready_patient(s, "C1")
        yield s


def counts(store):
    return {t: store.one(f"SELECT count(*) AS n FROM {t}")["n"] for t in ("administrations", "signoffs", "audit")}


def give_cycle(store, mrn, cycle, **kw):
    from chemo.db import store as record

    signoff(store, PHARMACIST, mrn, cycle, "dose", **kw)
    signoff(store, NURSE, mrn, cycle, "readiness")
    for day in (1, 2, 3):  # doxorubicin 25 mg/m² days 1-3, each day recorded with its --day on its calendar day
        result = administer(store, NURSE, mrn, cycle, day)
        record.CLOCK.advance(days=1)
    return result


def test_the_output_names_the_model_with_its_factors_and_the_cap(store):
    r = report(store, "C1").as_json()
    assert r["model"] == "seed-003-cap-ratio"
    assert r["factors"] == {"doxorubicin": 1.0, "epirubicin": 0.5, "pld": 1.0}
    assert r["cap_mg_m2"] == 450 and r["warn_at_mg_m2"] == 300
    assert r["given_mg_m2"] == 0
    assert r["after_next_cycle_mg_m2"] == pytest.approx(CYCLE, abs=0.01)
    assert r["after_plan_mg_m2"] == pytest.approx(3 * CYCLE, abs=0.01)
    assert r["warnings"] == []


def test_given_is_mg_over_the_bsa_of_that_day_plus_prior_exposure_times_the_factor(store, clock):
    add_prior(store, PRESCRIBER, "C1", "epirubicin", "300 mg/m²")  # 150 doxorubicin-equivalent
    give_cycle(store, "C1", 1)
    r = report(store, "C1")
    assert r.given_mg_m2 == pytest.approx(150 + CYCLE, abs=1e-6)
    assert r.next_cycle == 2
    assert r.after_next_cycle_mg_m2 == pytest.approx(150 + 2 * CYCLE, abs=1e-6)
    assert r.after_plan_mg_m2 == pytest.approx(150 + 3 * CYCLE, abs=1e-6)
    # history keeps the BSA of the day it was given: a new weight does not change it
    add_measurement(store, PRESCRIBER, "C1", weight="90 kg")
    assert report(store, "C1").given_mg_m2 == pytest.approx(150 + CYCLE, abs=1e-6)


def test_from_300_mg_m2_a_warning_names_dexrazoxane_and_cardiac_monitoring(store):
    add_prior(store, PRESCRIBER, "C1", "epirubicin", "460 mg/m²")  # 230; after cycle 1: 304.25
    [warning] = report(store, "C1").warnings[:1]
    assert "dexrazoxane" in warning and "cardiac monitoring" in warning and "300" in warning


def test_a_dose_sign_off_that_would_pass_the_cap_is_refused_and_nothing_is_written(store):
    add_prior(store, PRESCRIBER, "C1", "epirubicin", "760 mg/m²")  # 380 + 74.25 = 454.25 > 450
    before = counts(store)
    with pytest.raises(CapRefused, match="past the cap of 450 mg/m²") as err:
        signoff(store, PHARMACIST, "C1", 1, "dose")
    assert err.value.exit_code == 1
    assert counts(store) == before


def test_a_pharmacist_override_with_a_reason_is_recorded_in_the_audit_log(store, clock):
    add_prior(store, PRESCRIBER, "C1", "epirubicin", "760 mg/m²")
    with pytest.raises(Exception, match="reason"):
        signoff(store, PHARMACIST, "C1", 1, "dose", override_reason="ok")  # too short to be a reason
    reason = "cardio-oncology review: LVEF 62 %, dexrazoxane given"
    result = give_cycle(store, "C1", 1, override_reason=reason)
    assert result["cumulative_after_mg_m2"] == pytest.approx(380 + CYCLE, abs=0.01)
    row = store.one("SELECT new FROM audit WHERE action = 'signoff.cap-override'")
    assert json.loads(row["new"])["cap_override"]["reason"] == reason
    gave = store.query("SELECT new FROM audit WHERE action = 'administration.add'")
    dox = [json.loads(r["new"]) for r in gave if "doxorubicin" in r["new"]]
    # days 1-2 stay within the cap (404.75, 429.5); day 3 passes it (454.25) and records whose override let it
    assert [d.get("cap_override", {}).get("by") for d in dox] == [None, None, PHARMACIST]
    assert audit.verify(store)[1] == []


def test_an_administration_that_would_pass_the_cap_without_an_override_is_refused(store, clock):
    signoff(store, PHARMACIST, "C1", 1, "dose")
    signoff(store, NURSE, "C1", 1, "readiness")
    add_prior(store, PRESCRIBER, "C1", "epirubicin", "800 mg/m²")  # learnt after the sign-off: 400 + 24.75 > 450?
    administer(store, NURSE, "C1", 1, 1)  # 424.75: within the cap
    clock.advance(days=1)
    administer(store, NURSE, "C1", 1, 2)  # 449.5: still within
    clock.advance(days=1)
    before = counts(store)
    with pytest.raises(CapRefused, match="no override"):
        administer(store, NURSE, "C1", 1, 3)  # 474.25
    assert counts(store) == before


def test_a_drug_the_model_has_no_factor_for_is_an_error_not_a_zero(store):
    add_prior(store, PRESCRIBER, "C1", "idarubicin", "30 mg/m²")
    with pytest.raises(CumulativeError, match="no factor for idarubicin"):
        report(store, "C1")


def test_prior_exposure_must_be_an_anthracycline_in_mg_per_m2(store):
    from chemo.errors import ChemoError

    with pytest.raises(ChemoError, match="not an anthracycline"):
        add_prior(store, PRESCRIBER, "C1", "ifosfamide", "9 g/m²")
    with pytest.raises(ChemoError, match="mg/m²"):
        add_prior(store, PRESCRIBER, "C1", "epirubicin", "300 mg")
    add_prior(store, PRESCRIBER, "C1", "EpiADM", "300 mg/m²")  # an alias is stored under the library id
    assert store.one("SELECT drug FROM prior_exposure")["drug"] == "epirubicin"


def test_epirubicin_regimen_counts_its_own_doses_at_the_model_factor(store):
    add_ready_patient(store, "C2", "epirubicin-ifosfamide")
    r = report(store, "C2")
    # epirubicin 120 mg/m² a cycle (60 on days 1-2): 109.09 → 109 mg a day; 2 × 109 / 1.818 × 0.5 ≈ 59.95
    assert r.after_next_cycle_mg_m2 == pytest.approx(2 * 109 / BSA * 0.5, abs=0.01)
