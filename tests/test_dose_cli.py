"""``chemo dose``: the table a pharmacist checks, the JSON contract, and one-line errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from chemo.cli import cli
from chemo.library import regimens_dir


def run(*args):
    return CliRunner().invoke(cli, ["dose", *args])


def assert_one_line_error(result, *words):
    assert result.exit_code == 2, result.output
    err = result.stderr.strip()
    assert err.startswith("chemo: ") and "\n" not in err and "Traceback" not in result.output
    for word in words:
        assert word in err
    return err


def test_text_table_for_doxorubicin_ifosfamide():
    result = run("doxorubicin-ifosfamide", "--height", "170 cm", "--weight", "75 kg")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Cycle 1 of 3" in out and "BSA 1.88 m² (mosteller" in out
    assert "BSA cap: none" in out
    assert "half-up" in out and "5 %" in out and "HOPA" in out  # mode, tolerance and its source
    for column in ("Day", "Drug", "Protocol dose (as written)", "Level", "Calculated mg", "Dispensed mg", "Dev %", "Route"):
        assert column in out
    rows = [line.split() for line in out.splitlines() if line.strip().startswith("1  ")]
    assert ["1", "doxorubicin", "75", "mg/m²", "per", "cycle", "(25", "mg/m²", "a", "day)", "100", "%",
            "47.05", "47", "-0.10", "IV"] in rows
    assert any(r[:2] == ["1", "ifosfamide"] and "5645.79" in r and "5650" in r for r in rows)
    assert any(r[:2] == ["1", "mesna"] and "3390" in r for r in rows)
    assert "Per-cycle totals (dispensed): doxorubicin 141 mg, ifosfamide 16950 mg, mesna 10170 mg" in out


def test_json_contract():
    result = run("doxorubicin-dacarbazine", "--height", "170 cm", "--weight", "75 kg", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["regimen"] == "doxorubicin-dacarbazine" and data["cycle"] == 1
    assert data["bsa_m2"] == pytest.approx(1.8819, abs=1e-4) and data["formula"] == "mosteller"
    dox = data["doses"][0]
    assert (dox["drug"], dox["day"], dox["dose_mg"], dox["basis"]) == ("doxorubicin", 1, 141.0, "75 mg/m²")
    assert dox["calculated_mg"] == pytest.approx(141.145, abs=1e-3)


def test_bsa_given_directly_and_other_formula():
    data = json.loads(run("doxorubicin-dacarbazine", "--bsa", "2 m²", "--json").stdout)
    assert data["bsa_m2"] == 2.0 and data["formula"] == "given" and data["doses"][0]["dose_mg"] == 150.0
    data = json.loads(run("doxorubicin-dacarbazine", "--height", "170 cm", "--weight", "75 kg",
                          "--formula", "dubois", "--json").stdout)
    assert data["formula"] == "dubois" and data["bsa_m2"] == pytest.approx(1.8636, abs=1e-3)  # 0.007184 × 75^0.425 × 170^0.725


def test_dose_level_int_and_per_drug():
    data = json.loads(run("doxorubicin-dacarbazine", "--bsa", "2 m²", "--dose-level", "-1", "--json").stdout)
    assert [d["level"] for d in data["doses"]] == ["75 %", "80 %"]
    result = run("pld-ifosfamide-anlotinib", "--bsa", "1.9 m²", "--dose-level", "anlotinib=-1", "--cycle", "2")
    assert result.exit_code == 0
    assert "8 mg (ladder level -1)" in result.stdout and "anlotinib 112 mg" in result.stdout
    data = json.loads(run("pld-ifosfamide-anlotinib", "--bsa", "2 m²", "--dose-level", "-1",
                          "--dose-level", "anlotinib=0", "--json").stdout)
    levels = {d["drug"]: d["level"] for d in data["doses"]}
    assert levels["pld"] == "75 %" and levels["anlotinib"] == "100 %"


def test_a_regimen_path():
    path = str(regimens_dir() / "epirubicin-ifosfamide.toml")
    result = run(path, "--bsa", "2 m²", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["regimen"] == "epirubicin-ifosfamide"


@pytest.mark.parametrize("args, words", [
    (["pld-ifosfamide-anlotinib", "--bsa", "2 m²", "--dose-level", "anlotinib=-2"], ["--dose-level", "stop"]),
    (["doxorubicin-dacarbazine", "--height", "170 cm"], ["--weight"]),
    (["doxorubicin-dacarbazine", "--bsa", "2 m²", "--cycle", "4"], ["--cycle", "1-3"]),
    (["doxorubicin-dacarbazine", "--bsa", "2 m²", "--cycle", "one"], ["--cycle", "whole number"]),
    (["doxorubicin-dacarbazine", "--bsa", "2 m²", "--dose-level", "anlotinib=-1"], ["--dose-level", "anlotinib"]),
    (["doxorubicin-dacarbazine", "--height", "17 cm", "--weight", "75 kg"], ["--height", "plausible"]),
    (["doxorubicin-dacarbazine", "--height", "170 cm", "--weight", "75 mL"], ["--weight"]),
    (["doxorubicin-dacarbazine", "--height", "170 cm", "--weight", "75 kg", "--formula", "guess"], ["--formula"]),
    (["no-such-regimen", "--bsa", "2 m²"], ["REGIMEN", "no regimen"]),
])
def test_bad_input_is_one_line(args, words):
    assert_one_line_error(run(*args), *words)


def test_the_dose_table_shows_the_regimens_supportive_care_notes():
    from click.testing import CliRunner

    from chemo.cli import cli

    result = CliRunner().invoke(cli, ["dose", "doxorubicin-ifosfamide", "--bsa", "1.9 m²"])
    assert result.exit_code == 0
    assert "G-CSF" in result.output
    data = __import__("json").loads(CliRunner().invoke(cli, ["dose", "doxorubicin-ifosfamide", "--bsa", "1.9 m²", "--json"]).output)
    assert any("G-CSF" in n["text"] for n in data["notes"])
