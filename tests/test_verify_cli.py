"""``chemo verify ORDER.toml``: exit codes, JSON, text, and one clear line for a bad order file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from chemo.cli import cli
from chemo.library import regimens_dir

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "orders"
OK = EXAMPLES / "doxorubicin-dacarbazine-c1.toml"
TENFOLD = EXAMPLES / "doxorubicin-dacarbazine-c1-tenfold.toml"
PLD = EXAMPLES / "pld-ifosfamide-anlotinib-c2-level-1.toml"

GOOD = '''regimen = "doxorubicin-dacarbazine"
cycle = 1
dose_level = 0
height = "170 cm"
weight = "75 kg"

[[line]]
drug = "doxorubicin"
day = 1
dose = "141 mg"

[[line]]
drug = "dacarbazine"
day = 1
dose = "1880 mg"
'''


def run(*args):
    return CliRunner().invoke(cli, ["verify", *map(str, args)])


def test_the_correct_example_exits_0():
    result = run(OK)
    assert result.exit_code == 0, result.output
    assert "Result: ok (0 hard stop, 0 review, 2 ok)" in result.stdout
    assert "doxorubicin day 1: ordered 141 mg, expected 141 mg (75 mg/m² × 1.88 m²): ok" in result.stdout


def test_the_ten_fold_example_exits_3_with_an_actionable_message():
    result = run(TENFOLD)
    assert result.exit_code == 3
    assert "HARD-STOP  doxorubicin day 1: ordered 1411 mg, expected 141 mg (75 mg/m² × 1.88 m²): ten-fold error" in result.stdout
    assert "[deviation, decimal-error, over-max]" in result.stdout
    assert "doxorubicin limits: US label" in result.stdout  # the limit's source is cited


def test_the_pld_example_with_a_ladder_level_and_a_given_bsa_exits_0():
    result = run(PLD, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["status"] == "ok" and data["bsa_m2"] == 1.9 and data["dose_level"] == {"anlotinib": -1}
    assert {l["expected_mg"] for l in data["lines"] if l["drug"] == "anlotinib"} == {8.0}


def test_json_contract():
    data = json.loads(run(TENFOLD, "--json").stdout)
    assert data["status"] == "hard-stop"
    first = data["lines"][0]
    assert {"drug", "day", "ordered_mg", "expected_mg", "status", "reasons", "message"} <= set(first)
    assert (first["drug"], first["day"], first["ordered_mg"], first["expected_mg"]) == ("doxorubicin", 1, 1411.0, 141.0)
    assert first["reasons"] == ["deviation", "decimal-error", "over-max"]
    assert first["message"].startswith("doxorubicin day 1: ordered 1411 mg, expected 141 mg (75 mg/m² × 1.88 m²): ten-fold error")


def write(tmp_path, text, name="order.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_review_exits_1(tmp_path):
    result = run(write(tmp_path, GOOD.split("[[line]]\ndrug = \"dacarbazine\"")[0]))
    assert result.exit_code == 1
    assert "REVIEW     dacarbazine day 1: no order line; expected 1880 mg" in result.stdout


def test_a_regimen_path_beside_the_order(tmp_path):
    (tmp_path / "mine.toml").write_text((regimens_dir() / "doxorubicin-dacarbazine.toml").read_text())
    result = run(write(tmp_path, GOOD.replace('"doxorubicin-dacarbazine"', '"mine.toml"')))
    assert result.exit_code == 0, result.output


def test_bsa_instead_of_height_and_weight_and_per_m2_lines(tmp_path):
    text = GOOD.replace('height = "170 cm"\nweight = "75 kg"', 'bsa = "1.9 m²"')
    text = text.replace('"141 mg"', '"75 mg/m²"').replace('"1880 mg"', '"1.9 g"')
    result = run(write(tmp_path, text), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["lines"][0]["ordered_mg"] == pytest.approx(142.5)


BAD = [
    # (what, file text, words the one line must hold)
    ("missing regimen", GOOD.replace('regimen = "doxorubicin-dacarbazine"\n', ""), ["regimen", "missing"]),
    ("unknown regimen", GOOD.replace('"doxorubicin-dacarbazine"', '"doxorubicin-cisplatin"'), ["regimen", "no regimen"]),
    ("cycle 0", GOOD.replace("cycle = 1", "cycle = 0"), ["cycle", "outside"]),
    ("cycle 4", GOOD.replace("cycle = 1", "cycle = 4"), ["cycle", "cycles 1-3"]),
    ("cycle one", GOOD.replace("cycle = 1", 'cycle = "one"'), ["cycle", "whole number"]),
    ("no body size", GOOD.replace('height = "170 cm"\nweight = "75 kg"\n', ""), ["height", "bsa"]),
    ("height only", GOOD.replace('weight = "75 kg"\n', ""), ["weight"]),
    ("bsa and height", GOOD.replace('weight = "75 kg"', 'weight = "75 kg"\nbsa = "1.9 m²"'), ["bsa", "not both"]),
    ("empty file", "", ["empty"]),
    ("not TOML", "regimen = doxorubicin\n[[line\n", ["not valid TOML"]),
    ("line without dose", GOOD.replace('dose = "1880 mg"\n', ""), ["line[2].dose", "missing"]),
    ("dose abc", GOOD.replace('"1880 mg"', '"abc"'), ["line[2].dose", "number"]),
    ("dose a number", GOOD.replace('"1880 mg"', "1880"), ["line[2].dose", "text"]),
    ("negative dose", GOOD.replace('"1880 mg"', '"-1880 mg"'), ["line[2].dose", "negative"]),
    ("zero dose", GOOD.replace('"1880 mg"', '"0 mg"'), ["line[2].dose", "more than 0"]),
    ("unknown key", GOOD.replace("cycle = 1", "cycle = 1\ncylce = 2"), ["cylce", "unknown key"]),
    ("typo in a line", GOOD.replace('dose = "141 mg"', 'doze = "141 mg"'), ["line[1].doze", "did you mean 'dose'"]),
    ("no lines", GOOD.split("[[line]]")[0], ["line", "missing"]),
    ("day 0", GOOD.replace("day = 1\ndose = \"141 mg\"", "day = 0\ndose = \"141 mg\""), ["line[1].day"]),
    ("bad height", GOOD.replace('"170 cm"', '"170"'), ["height", "unit"]),
    ("implausible weight", GOOD.replace('"75 kg"', '"750 kg"'), ["weight", "plausible"]),
    ("dose level above 0", GOOD.replace("dose_level = 0", "dose_level = 1"), ["dose_level"]),
    ("dose level for a drug not given", GOOD.replace("dose_level = 0", "dose_level = {anlotinib = -1}"), ["dose_level", "anlotinib"]),
    ("dose level too deep", GOOD.replace("dose_level = 0", "dose_level = -3"), ["dose_level", "no level below"]),
    ("a regimen that is a library file", GOOD.replace('"doxorubicin-dacarbazine"', f'"{regimens_dir() / "library" / "drugs.toml"}"'), ["regimen", "library"]),
]


@pytest.mark.parametrize("what, text, words", BAD, ids=[b[0] for b in BAD])
def test_a_bad_order_file_is_exit_2_and_one_line_naming_the_field(tmp_path, what, text, words):
    path = write(tmp_path, text)
    result = run(path)
    assert result.exit_code == 2, result.output
    err = result.stderr.strip()
    assert "\n" not in err and "Traceback" not in result.output, err
    assert err.startswith(f"chemo: {path}: "), err
    for word in words:
        assert word in err, err
    assert result.stdout == ""


def test_a_missing_file_is_exit_2(tmp_path):
    result = run(tmp_path / "nope.toml")
    assert result.exit_code == 2 and "no such file" in result.stderr and "\n" not in result.stderr.strip()


def test_a_folder_is_exit_2(tmp_path):
    result = run(tmp_path)
    assert result.exit_code == 2 and "folder" in result.stderr
