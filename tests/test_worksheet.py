"""The printable cycle worksheet (`chemo worksheet`, issue 10): the same numbers as `chemo dose`,
`chemo readiness` and `chemo cumulative`, DRAFT on every page until the dose is signed off,
at most two pages for a one-day cycle (one before issue 20 added the supportive doses and bags), A4 and Letter.  The PDF is checked by reading its text back."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chemo.cli import cli
from cli_support import cli_invoker
from chemo.demo import NURSE, PHARMACIST, add_ready_patient, add_users, approve_regimens
from chemo.db import open_store
from chemo.worksheet import latin1

pypdf = pytest.importorskip("pypdf")


@pytest.fixture
def run(tmp_path, monkeypatch):
    db = tmp_path / "ws.db"
    monkeypatch.setenv("CHEMO_DB", str(db))
    with open_store(db) as store:
        add_users(store)
        approve_regimens(store)  # two pharmacists approve the shipped regimens
        add_ready_patient(store, "W-ONE", "doxorubicin-dacarbazine", height="181 cm", weight="83 kg")
        add_ready_patient(store, "W-AI", "doxorubicin-ifosfamide", sex="male", height="176 cm", weight="70 kg",
                          labs={"anc": ("1.2 10^9/L", None)})
    return cli_invoker(cli)


def pdf_pages(path):
    reader = pypdf.PdfReader(str(path))
    return reader, [page.extract_text() for page in reader.pages]


def mg(value: float) -> str:
    text = f"{value:.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def test_a_one_day_cycle_fits_one_a4_page_marked_draft_with_the_numbers_of_dose_readiness_and_cumulative(
        run, tmp_path):
    out = tmp_path / "w.pdf"
    result = run("worksheet", "W-ONE", "--cycle", "1", "--out", out)
    assert result.exit_code == 0, result.output
    assert "DRAFT" in result.output
    reader, pages = pdf_pages(out)
    # one page until issue 20 put the whole order on the sheet (supportive doses and bags): at most two now
    assert len(pages) <= 2
    assert (float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)) == pytest.approx(
        (595.28, 841.89), abs=0.01)
    text = "\n".join(pages)
    assert "DRAFT - NOT FOR COMPOUNDING" in text
    dose = json.loads(run("dose", "doxorubicin-dacarbazine", "--height", "181 cm", "--weight", "83 kg",
                          "--json").stdout)
    for d in dose["doses"]:
        assert f"{d['calculated_mg']:.2f}" in text and mg(d["dose_mg"]) in text
    assert f"{dose['bsa_m2']:.2f} m²" in text  # 2.04 m² by Mosteller
    ready = json.loads(run("readiness", "W-ONE", "--json").stdout)
    assert f"Verdict: {ready['verdict']}" in text
    for gate in ready["gates"]:
        assert latin1(gate["value"]) in text
    cum = json.loads(run("cumulative", "W-ONE", "--json").stdout)
    assert f"After this cycle {cum['after_next_cycle_mg_m2']:.1f} mg/m²" in text
    assert f"Cap {cum['cap_mg_m2']:g} mg/m²" in text
    for words in ("MRN W-ONE", "Born 1970-05-01", "Height 181 cm", "Weight 83 kg", "dose check NOT SIGNED OFF",
                  "Compounding check", "Bedside double check", "file sha256"):
        assert words in text, words


def test_every_page_of_a_multi_day_unsigned_cycle_says_draft_and_letter_paper_is_letter(run, tmp_path):
    out = tmp_path / "ai.pdf"
    assert run("worksheet", "W-AI", "--cycle", "1", "--out", out, "--paper", "letter").exit_code == 0
    reader, pages = pdf_pages(out)
    assert (float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)) == (612, 792)
    assert all("DRAFT - NOT FOR COMPOUNDING" in p for p in pages)
    text = "\n".join(pages)
    assert "NOT READY" in text and "anc > 1.5" in text and "FAIL" in text  # ANC 1.2 ×10⁹/L
    assert "mesna day 1:" in text and "G-CSF" in text


def test_a_signed_off_cycle_carries_no_draft_mark_and_names_who_signed(run, tmp_path):
    assert run("signoff", "W-ONE", "--cycle", "1", "--check", "dose", "--dose-level", "-1",
               user=PHARMACIST).exit_code == 0
    assert run("signoff", "W-ONE", "--cycle", "1", "--check", "readiness", user=NURSE).exit_code == 0
    out = tmp_path / "signed.pdf"
    result = run("worksheet", "W-ONE", "--cycle", "1", "--out", out)
    assert result.exit_code == 0 and "DRAFT" not in result.output
    _, pages = pdf_pages(out)
    text = "\n".join(pages)
    assert "DRAFT" not in text
    assert f"dose check {PHARMACIST} (pharmacist)" in text and f"readiness check {NURSE} (nurse)" in text
    dose = json.loads(run("dose", "doxorubicin-dacarbazine", "--height", "181 cm", "--weight", "83 kg",
                          "--dose-level", "-1", "--json").stdout)
    for d in dose["doses"]:  # the signed level's doses, not the full ones
        assert f"{d['calculated_mg']:.2f}" in text and mg(d["dose_mg"]) in text


def test_html_and_text_hold_the_same_worksheet(run, tmp_path):
    page = tmp_path / "w.html"
    assert run("worksheet", "W-ONE", "--cycle", "1", "--html", page).exit_code == 0
    html = page.read_text(encoding="utf-8")
    text = run("worksheet", "W-ONE", "--cycle", "1").stdout
    assert "DRAFT — NOT FOR COMPOUNDING" in html and "*** DRAFT — NOT FOR COMPOUNDING ***" in text
    dose = json.loads(run("dose", "doxorubicin-dacarbazine", "--height", "181 cm", "--weight", "83 kg",
                          "--json").stdout)
    for d in dose["doses"]:
        assert f"<td>{mg(d['dose_mg'])}</td>" in html and f"  {mg(d['dose_mg'])}  " in text


@pytest.mark.parametrize("args, code, words", [
    (("NOPE", "--cycle", "1"), 2, "no patient with MRN"),
    (("W-ONE", "--cycle", "9"), 2, "cycle"),
    (("W-ONE", "--cycle", "1", "--out", "/nonexistent/dir/w.pdf"), 2, "cannot write"),
])
def test_bad_requests_get_one_line(run, args, code, words):
    result = run("worksheet", *args)
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chemo: ") and words in lines[0], result.stderr


@given(st.text(max_size=40))
def test_what_the_pdf_writes_is_always_latin_1(text):
    latin1(text).encode("latin-1")


def test_a_given_cycle_shows_the_cumulative_dose_before_and_after_it(run, tmp_path):
    assert run("signoff", "W-ONE", "--cycle", "1", "--check", "dose", user=PHARMACIST).exit_code == 0
    assert run("signoff", "W-ONE", "--cycle", "1", "--check", "readiness", user=NURSE).exit_code == 0
    assert run("administer", "W-ONE", "--cycle", "1", user=NURSE).exit_code == 0
    text = run("worksheet", "W-ONE", "--cycle", "1").stdout
    cum = json.loads(run("cumulative", "W-ONE", "--json").stdout)
    given = cum["given_mg_m2"]  # doxorubicin 75 mg/m² given: 153 mg on 2.04 m²
    assert "Before this cycle  0.0 mg/m²" in text
    assert f"After this cycle   {given:.1f} mg/m²" in text and given > 70
