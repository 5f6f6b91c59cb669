"""The record commands as a script uses them: names, options, JSON keys and exit codes (Issue 4, item 5)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from chemo.cli import cli
from cli_support import approve_regimen

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def run(tmp_path, monkeypatch, new_db):
    monkeypatch.setenv("CHEMO_DB", str(new_db("cli.db")))
    monkeypatch.delenv("CHEMO_USER", raising=False)
    runner = CliRunner()

    def invoke(*args, user=None):
        argv = [str(a) for a in args] + (["--user", user] if user else [])
        result = runner.invoke(cli, argv)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        return result

    return invoke


@pytest.fixture
def ready(run):
    assert run("user", "add", "phil", "--role", "pharmacist", user="phil").exit_code == 0
    assert run("user", "add", "nora", "--role", "nurse", user="phil").exit_code == 0
    assert run("user", "add", "pete", "--role", "prescriber", user="phil").exit_code == 0
    approve_regimen(run, "phil")
    assert run("patient", "add", "--mrn", "M1", "--name", "Synthetic One", "--sex", "female", "--born", "1970-05-01",
               "--height", "170 cm", "--weight", "70 kg", user="pete").exit_code == 0
    assert run("plan", "start", "M1", "doxorubicin-ifosfamide", user="pete").exit_code == 0
    for analyte, value, uln in (("hemoglobin", "12 g/dL", None), ("anc", "1200 /uL", None),
                                ("platelets", "1.8e5 /uL", None), ("creatinine", "70 µmol/L", None),
                                ("bilirubin", "10 µmol/L", "21 µmol/L"), ("alt", "20 U/L", "40"), ("ast", "20 U/L", "40"),
                                ("lvef", "60 %", None)):
        args = ["labs", "add", "M1", analyte, value] + (["--uln", uln] if uln else [])
        result = run(*args, user="nora")
        assert result.exit_code == 0, result.output
    return run


def one_line_error(result, code, text):
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chemo: ") and text in lines[0], result.stderr
    assert "Traceback" not in result.output


def test_readiness_exits_1_when_not_ready_and_0_when_ready_with_the_json_contract(ready):
    result = ready("readiness", "M1", "--json")
    assert result.exit_code == 1  # ANC 1200 /µL = 1.2 ×10⁹/L is not > 1.5
    data = json.loads(result.stdout)
    assert set(data) >= {"ready", "gates", "recalculate"} and data["ready"] is False
    assert all(set(g) >= {"analyte", "status", "value", "threshold", "message"} for g in data["gates"])
    assert {g["analyte"]: g["status"] for g in data["gates"]}["anc"] == "fail"
    assert ready("labs", "add", "M1", "anc", "2.1 10^9/L", user="nora").exit_code == 0
    result = ready("readiness", "M1")
    assert result.exit_code == 0 and result.stdout.strip().endswith("READY")


def test_a_cycle_through_sign_offs_to_administration(ready):
    ready("labs", "add", "M1", "anc", "2.1 10^9/L", user="nora")
    assert ready("administer", "M1", "--cycle", "1", user="nora").exit_code == 1
    assert ready("signoff", "M1", "--cycle", "1", "--check", "dose", user="nora").exit_code == 1  # not a pharmacist
    assert ready("signoff", "M1", "--cycle", "1", "--check", "dose", user="phil").exit_code == 0
    assert ready("signoff", "M1", "--cycle", "1", "--check", "readiness", user="nora").exit_code == 0
    result = ready("administer", "M1", "--cycle", "1", "--day", "1", "--json", user="nora")
    assert result.exit_code == 0
    assert {a["drug"]: a["dose_mg"] for a in json.loads(result.stdout)["administrations"]}["doxorubicin"] == 45
    one_line_error(ready("administer", "M1", "--cycle", "1", "--day", "1", user="nora"), 1, "was recorded")
    data = json.loads(ready("cumulative", "M1", "--json").stdout)
    assert set(data) >= {"model", "factors", "cap_mg_m2", "given_mg_m2", "after_next_cycle_mg_m2",
                         "after_plan_mg_m2", "warnings"}
    assert data["given_mg_m2"] == pytest.approx(45 / (170 * 70 / 3600) ** 0.5, abs=0.01)
    assert ready("audit", "verify").exit_code == 0


def test_the_cap_refusal_and_override_through_the_cli(ready):
    ready("labs", "add", "M1", "anc", "2.1 10^9/L", user="nora")
    assert ready("prior", "add", "M1", "epirubicin", "760 mg/m²", user="pete").exit_code == 0
    one_line_error(ready("signoff", "M1", "--cycle", "1", "--check", "dose", user="phil"), 1, "past the cap")
    result = ready("signoff", "M1", "--cycle", "1", "--check", "dose", "--override-reason",
                   "cardio-oncology review, dexrazoxane planned", user="phil")
    assert result.exit_code == 0 and "CAP OVERRIDE" in result.stdout


def test_bad_input_is_one_line_a_non_zero_exit_and_nothing_written(ready, tmp_path, new_db):
    from chemo.db import open_store

    def counts():
        with open_store(new_db("cli.db")) as s:
            return [s.one(f"SELECT count(*) AS n FROM {t}")["n"] for t in ("labs", "audit", "patients", "plans")]

    before = counts()
    one_line_error(ready("labs", "add", "M1", "platelets", "150 g/dL", user="nora"), 2, "does not fit platelets")
    one_line_error(ready("labs", "add", "NOPE", "anc", "2 10^9/L", user="nora"), 2, "no patient with MRN 'NOPE'")
    one_line_error(ready("labs", "add", "M1", "hemoglobin", "250 g/dL", user="nora"), 2, "outside the possible range")
    one_line_error(ready("labs", "add", "M1", "anc", "2 10^9/L", "--at", "yesterday", user="nora"), 2, "at:")
    one_line_error(ready("readiness", "NOPE"), 2, "no patient")
    one_line_error(ready("patient", "add", "--mrn", "M2", "--name", "X", "--sex", "male", "--born", "1960-01-01",
                         "--height", "17 m", "--weight", "70 kg", user="pete"), 2, "height")
    one_line_error(ready("labs", "add", "M1", "anc", "2 10^9/L", user="mallory"), 1, "not a registered user")
    assert counts() == before


def test_a_regimen_file_that_no_longer_validates_is_one_line(ready, tmp_path):
    regimen = tmp_path / "my-regimen.toml"
    shutil.copy(ROOT / "regimens" / "doxorubicin-ifosfamide.toml", regimen)
    assert ready("plan", "start", "M1", str(regimen), user="pete").exit_code == 0
    regimen.write_text(regimen.read_text().replace('dose = "9 g/m²"', 'dose = "9 g/m3"'))
    result = ready("readiness", "M1")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "g/m3" in result.stderr or "dose" in result.stderr
    one_line_error(ready("plan", "start", "M1", str(regimen), user="pete"), 2, "")


def test_an_edited_regimen_file_stops_sign_off_until_a_new_plan(ready, tmp_path):
    ready("labs", "add", "M1", "anc", "2.1 10^9/L", user="nora")
    regimen = tmp_path / "my-regimen.toml"
    shutil.copy(ROOT / "regimens" / "doxorubicin-ifosfamide.toml", regimen)
    assert ready("plan", "start", "M1", str(regimen), user="pete").exit_code == 0
    regimen.write_text(regimen.read_text() + "\n# edited\n")
    one_line_error(ready("signoff", "M1", "--cycle", "1", "--check", "dose", user="phil"), 1, "has changed")


def test_audit_verify_exits_1_after_tampering(ready, tmp_path, new_db):
    from conftest import raw_execute

    assert ready("audit", "verify").exit_code == 0
    raw_execute(new_db("cli.db"), "UPDATE audit SET login = 'someone-else' WHERE id = 2")
    result = ready("audit", "verify", "--json")
    assert result.exit_code == 1 and json.loads(result.stdout)["intact"] is False


def test_the_demo_has_at_least_20_synthetic_patients_on_every_regimen(run, tmp_path, new_db):
    result = run("demo", "--db", new_db("demo.db"), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data["patients"]) >= 20
    assert {p["regimen"] for p in data["patients"]} == {
        "doxorubicin-ifosfamide", "epirubicin-ifosfamide", "doxorubicin-dacarbazine", "pld-ifosfamide-anlotinib"}
    assert all(p["mrn"].startswith("DEMO-") for p in data["patients"])
    statuses = set()
    for p in data["patients"]:
        r = run("readiness", p["mrn"], "--db", new_db("demo.db"), "--json")
        assert r.exit_code in (0, 1)
        d = json.loads(r.stdout)
        statuses |= {g["status"] for g in d["gates"]} | ({"recalculate"} if d["recalculate"] else set())
    assert statuses == {"pass", "fail", "missing", "stale", "recalculate"}
    assert run("audit", "verify", "--db", new_db("demo.db")).exit_code == 0
    assert run("demo", "--db", new_db("demo.db")).exit_code == 2  # refuses a database in use


def test_chemo_help_imports_neither_sqlite_utils_nor_pint():
    code = ("import sys\nfrom chemo.cli import cli\ntry:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
            "print([m for m in ('sqlite_utils', 'pint') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
    assert "readiness" in out and "cumulative" in out and "administer" in out


def test_reading_a_database_that_does_not_exist_is_an_error_and_creates_nothing(run, tmp_path):
    result = run("readiness", "M1", "--db", tmp_path / "typo.db")
    one_line_error(result, 3, "no database at")
    assert not (tmp_path / "typo.db").exists()
