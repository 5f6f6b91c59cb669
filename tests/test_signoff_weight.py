"""The dose sign-off stands on the plan's dosing weight (clinical.md, 'Body size'):
when the newest weight differs from it by 10 % or more, the doses must be recalculated
before a pharmacist signs them; an override needs a reason and is audited.

The patient was dosed at 70 kg; 78 kg is +11.4 %, 75 kg is +7.1 %.
"""

import pytest

from chemo.demo import PHARMACIST, add_ready_patient, add_users, approve_regimens
from chemo.records import add_measurement
from chemo.db import open_store
from chemo.treatment import RecalculateRefused, signoff


@pytest.fixture
def store(new_db):
    with open_store(new_db("w.db")) as s:
        add_users(s)
        approve_regimens(s)  # two pharmacists approve the shipped regimens
        add_ready_patient(s, "W1")
        yield s


def signoffs(store):
    return store.one("SELECT count(*) AS n FROM signoffs")["n"]


def test_a_weight_change_of_10_percent_or_more_refuses_the_dose_signoff(store):
    add_measurement(store, PHARMACIST, "W1", weight="78 kg")
    with pytest.raises(RecalculateRefused, match="recalculated"):
        signoff(store, PHARMACIST, "W1", 1, "dose")
    assert signoffs(store) == 0


def test_a_smaller_weight_change_signs_off(store):
    add_measurement(store, PHARMACIST, "W1", weight="75 kg")
    signoff(store, PHARMACIST, "W1", 1, "dose")
    assert signoffs(store) == 1


def test_an_override_with_a_reason_signs_off_and_is_audited(store):
    add_measurement(store, PHARMACIST, "W1", weight="78 kg")
    signoff(store, PHARMACIST, "W1", 1, "dose", override_reason="oedema; dry weight unchanged per team")
    row = store.one("SELECT action, new FROM audit WHERE action LIKE 'signoff.%'")
    assert row["action"] == "signoff.recalculate-override"
    assert "oedema" in row["new"]
