"""Output writes m², never the single character ㎡ (issue 13, point 5); input accepts both.

Seed 004 (NATARS) writes "PLD 40mg/㎡ d1, ifosfamide 1g/㎡ d1-5": the regimen file keeps the seed's
spelling, and every output (dose table, JSON, verify, the regimen browser) writes 40 mg/m².
"""

import json

from click.testing import CliRunner

from chemo.cli import cli
from chemo.regimen import load_regimen

PLD = "pld-ifosfamide-anlotinib"
BODY = ["--height", "170 cm", "--weight", "70 kg"]


def chemo(*args):
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_the_dose_table_and_its_json_write_m2():
    text = chemo("dose", PLD, *BODY).stdout
    assert "㎡" not in text and "40 mg/m² a day" in text and "1 g/m² a day on days 1-5" in text
    data = json.loads(chemo("dose", PLD, *BODY, "--json").stdout)
    assert {d["drug"]: d["basis"] for d in data["doses"]}["pld"] == "40 mg/m²"
    assert "㎡" not in json.dumps(data, ensure_ascii=False)


def test_verify_writes_m2_for_an_order_written_with_the_single_character(tmp_path):
    order = tmp_path / "order.toml"
    order.write_text(f'regimen = "{PLD}"\ncycle = 1\nheight = "170 cm"\nweight = "70 kg"\n'
                     '[[line]]\ndrug = "pld"\nday = 1\ndose = "40 mg/㎡"\n', encoding="utf-8")
    result = chemo("verify", str(order), "--json")
    assert "㎡" not in result.stdout
    line = next(x for x in json.loads(result.stdout)["lines"] if x["drug"] == "pld" and x["ordered"])
    assert line["ordered"] == "40 mg/m²" and line["status"] == "ok"  # 40 × 1.818 = 72.7 mg, 73 dispensed


def test_the_regimen_file_keeps_the_seeds_spelling_and_describes_it_in_m2():
    line = load_regimen(PLD).line("ifosfamide")
    assert line.dose.text == "1 g/㎡"
    assert line.describe() == "1 g/m² a day on days 1-5"


def test_the_regimen_browser_writes_m2():
    from rich.console import Console

    from tui.regimen_view import render_regimen, scan_regimens

    entry = next(e for e in scan_regimens() if e.regimen is not None and e.regimen.id == PLD)
    console = Console(width=200, record=True)
    console.print(render_regimen(entry))
    text = console.export_text()
    assert "40 mg/m²" in text and "㎡" not in text
