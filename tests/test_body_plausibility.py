"""Implausible body sizes (issue 13, points 2 and 3).

* A BSA computed from height and weight meets the range a BSA given directly must meet (0.2-4 m²):
  250 cm and 300 kg give 4.56 m² by Mosteller (√(250·300/3600)) and are refused, as ``--bsa "4.1 m2"`` is.
* Height and weight are checked against each other: 170 cm and 1 kg is a BMI of 0.35 kg/m² (BSA 0.22 m²),
  outside the plausible adult range of body-size.toml (10-100 kg/m²).
* At a BMI of 30 or more the ASCO 2021 note is printed: full weight-based dosing, no routine cap.
* ``chemo measure M1 --weight "7000 g"`` after 70 kg (−90 %) is refused unless ``--confirm`` (30 % in 7 days,
  a project choice in body-size.toml); a change at the recalculation threshold (10 %) is warned about.
"""

import json

import pytest
from click.testing import CliRunner

from chemo.cli import cli
from cli_support import one_line
from chemo.demo import PRESCRIBER, add_users, approve_regimens
from chemo.dose import body_size
from chemo.errors import BodySizeError
from chemo.library import load_library
from chemo.records import add_patient, start_plan
from chemo.db import open_store

DOSE = ["dose", "doxorubicin-ifosfamide"]


def chemo(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])



def test_the_limits_come_from_the_data_file_with_their_source():
    body = load_library().body_size
    assert body["plausibility"]["bmi"] == ["10 kg/m²", "100 kg/m²"]
    assert body["plausibility"]["bmi_source"].startswith("project choice")
    assert body["plausibility"]["weight_change"] == "30 %" and body["plausibility"]["weight_change_window"] == "7 days"
    assert "ASCO" in body["obesity"]["note"] and "J Clin Oncol 2021" in body["obesity"]["source"]


def test_170_cm_and_1_kg_is_refused_as_an_implausible_bmi():
    """`chemo dose ... --height "170 cm" --weight "1 kg"` gave BSA 0.22 m² with no warning."""
    one_line(chemo(*DOSE, "--height", "170 cm", "--weight", "1 kg"), 2, "--weight", "BMI of 0.346 kg/m²",
             "10-100 kg/m²")


def test_250_cm_and_300_kg_is_refused_like_a_bsa_of_4_1_given_directly():
    one_line(chemo(*DOSE, "--height", "250 cm", "--weight", "300 kg"), 2, "BSA of 4.56 m² (Mosteller)", "0.2-4 m²")
    one_line(chemo(*DOSE, "--bsa", "4.1 m2"), 2, "--bsa", "0.2-4 m²")


def test_the_bsa_command_applies_the_same_checks():
    one_line(chemo("bsa", "--height", "170 cm", "--weight", "1 kg"), 2, "BMI")
    one_line(chemo("bsa", "--height", "250 cm", "--weight", "300 kg"), 2, "4.56 m²")


@pytest.mark.parametrize("height, weight", [("150 cm", "23 kg"), ("150 cm", "225 kg")])
def test_the_bmi_limits_themselves_are_plausible(height, weight):
    body = body_size(height, weight)  # 23 / 1.5² = 10.2, 225 / 1.5² = 100
    assert 10 <= body.bmi <= 100


def test_a_bmi_of_30_or_more_prints_the_asco_2021_note():
    result = chemo(*DOSE, "--height", "170 cm", "--weight", "120 kg")  # BMI 41.5, BSA 2.38 m²
    assert result.exit_code == 0, result.output
    assert "BMI 41.5 kg/m² (≥ 30): ASCO 2021: dose obese adults on actual body weight" in result.stdout
    assert "no routine BSA cap" in result.stdout
    notes = json.loads(chemo(*DOSE, "--height", "170 cm", "--weight", "120 kg", "--json").stdout)["notes"]
    assert any("ASCO 2021" in n["text"] and "Griggs" in n["source"] for n in notes)
    data = json.loads(chemo("bsa", "--height", "170 cm", "--weight", "120 kg", "--json").stdout)
    assert data["bmi"] == 41.5 and data["bsa_m2"] == pytest.approx(2.3805, abs=1e-4) and "ASCO" in data["notes"][0]["text"]


def test_no_note_below_a_bmi_of_30():
    result = chemo(*DOSE, "--height", "170 cm", "--weight", "86 kg")  # BMI 29.8
    assert result.exit_code == 0 and "ASCO" not in result.stdout


def test_a_given_bsa_with_an_implausible_height_and_weight_is_refused_too():
    with pytest.raises(BodySizeError, match="BMI"):
        body_size("170 cm", "1 kg", "1.8 m²")


# ------------------------------------------------------------------ point 2: chemo measure

@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "measure.db"
    monkeypatch.setenv("CHEMO_DB", str(path))
    with open_store(path) as store:
        add_users(store)
        approve_regimens(store)  # two pharmacists approve the shipped regimens
        add_patient(store, PRESCRIBER, mrn="M1", name="Synthetic M1", sex="female", born="1970-05-01",
                    height="170 cm", weight="70 kg")
    return path


def measure(*args):
    return chemo("measure", "M1", *args, "--user", PRESCRIBER)


def weights(db):
    with open_store(db) as store:
        return [r["weight_kg"] for r in store.query("SELECT weight_kg FROM measurements ORDER BY id")]


def test_7000_g_after_70_kg_is_refused_and_nothing_is_written(db):
    """`chemo measure M1 --weight "7000 g"` after 70 kg used to exit 0."""
    one_line(measure("--weight", "7000 g"), 1, "weight", "90 % away from the weight 70 kg", "30 % or more within 7 days",
             "--confirm")
    assert weights(db) == [70]
    one_line(measure("--weight", "7000 g", "--confirm"), 2, "BMI")  # confirmed, still no adult of 170 cm
    assert weights(db) == [70]


def test_a_confirmed_change_beyond_the_limit_is_recorded_and_the_audit_row_says_so(db):
    one_line(measure("--weight", "45 kg"), 1, "36 % away")
    result = measure("--weight", "45 kg", "--confirm")
    assert result.exit_code == 0 and "change confirmed" in result.stdout
    assert weights(db) == [70, 45]
    with open_store(db) as store:
        row = json.loads(store.one("SELECT new FROM audit WHERE action = 'measure.add' ORDER BY id DESC LIMIT 1")["new"])
        assert row["confirmed"]["by"] == PRESCRIBER and row["confirmed"]["from_kg"] == 70
        assert row["confirmed"]["change_pct"] == pytest.approx(35.7)
    assert chemo("audit", "verify").exit_code == 0


def test_a_change_at_the_recalculation_threshold_is_warned_about_when_entered(db):
    with open_store(db) as store:
        start_plan(store, PRESCRIBER, "M1", "doxorubicin-ifosfamide")
    result = measure("--weight", "63 kg")  # −10 %: the sign-off's recalculation threshold
    assert result.exit_code == 0
    assert "WARNING weight 63 kg differs from the previous weight 70 kg" in result.stdout
    assert "was dosed on 70 kg" in result.stdout and "recalculated" in result.stdout
    data = json.loads(measure("--weight", "64 kg", "--json").stdout)  # 1.6 % from 63, 8.6 % from the dosing 70
    assert data["warnings"] == [] and data["confirmed"] is False


def test_a_weight_within_the_threshold_has_no_warning(db):
    result = measure("--weight", "66 kg")  # −5.7 %
    assert result.exit_code == 0 and "WARNING" not in result.stdout
