"""Allergies, the signed supportive lines, the worksheet's bags and signature blocks, and the compounding
labels with their codes (issue 20), on both engines.  PDFs are read back with pypdf; a label's QR code
is compared module by module with segno's encoding of the signed dose (no pure-Python QR decoder is
installable here, so the code is checked through segno's public API, not decoded)."""

import json

import pytest

from chemo.cli import cli
from chemo.db import open_store
from chemo.demo import NURSE, PHARMACIST, add_ready_patient, add_users, approve_regimens
from cli_support import cli_invoker, one_line

pypdf = pytest.importorskip("pypdf")
segno = pytest.importorskip("segno")


@pytest.fixture
def run(new_db, monkeypatch):
    db = new_db("c20.db")
    monkeypatch.setenv("CHEMO_DB", str(db))
    with open_store(db) as store:
        add_users(store)
        approve_regimens(store)  # two pharmacists approve the shipped regimens
        add_ready_patient(store, "A-1", "doxorubicin-ifosfamide", sex="male", height="176 cm", weight="70 kg")
    return cli_invoker(cli)


def signed(run, mrn="A-1", *extra):
    result = run("signoff", mrn, "--cycle", "1", "--check", "dose", "--json", *extra, user=PHARMACIST)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_an_allergy_to_ifosfamide_refuses_the_dose_signoff_and_an_override_signs_and_audits_it(run):
    added = run("allergy", "add", "A-1", "Ifex", "--reaction", "anaphylaxis", "--severity", "severe", user=NURSE)
    assert added.exit_code == 0 and "Ifex = ifosfamide: anaphylaxis, severe" in added.output
    listed = json.loads(run("allergy", "list", "A-1", "--json").stdout)
    assert [(a["substance"], a["drug"], a["reaction"], a["severity"]) for a in listed] == [
        ("Ifex", "ifosfamide", "anaphylaxis", "severe")]
    refused = run("signoff", "A-1", "--cycle", "1", "--check", "dose", user=PHARMACIST)
    one_line(refused, 1, "ifosfamide: the patient is allergic to Ifex (anaphylaxis, severe)", "--override-reason")
    reason = "desensitisation protocol agreed with the allergist"
    out = signed(run, "A-1", "--override-reason", reason)
    assert out["override_reason"] == reason and out["detail"]["overrides"] == ["allergy"]
    assert out["detail"]["allergies"] == [["ifosfamide", "Ifex"]]
    rows = json.loads(run("audit", "show", "--json").stdout)
    row = next(r for r in rows if r["action"] == "signoff.allergy-override")
    assert json.loads(row["new"])["allergy_override"]["reason"] == reason
    assert run("audit", "verify").exit_code == 0


def test_an_allergy_to_a_class_refuses_a_drug_of_that_class_and_an_unknown_substance_is_kept_unmatched(run):
    run("allergy", "add", "A-1", "penicillin", "--reaction", "rash", user=NURSE)
    assert signed(run)["detail"].get("allergies") is None  # not a drug of the cycle: signed without a word
    with open_store() as store:
        from chemo.allergies import list_allergies

        assert [(a["drug"], a["drug_class"]) for a in list_allergies(store, "A-1")] == [(None, None)]


def test_an_allergy_to_the_anthracycline_class_refuses_doxorubicin(run):
    run("allergy", "add", "A-1", "anthracycline", "--reaction", "urticaria", user=NURSE)
    one_line(run("signoff", "A-1", "--cycle", "1", "--check", "dose", user=PHARMACIST), 1,
             "doxorubicin: the patient is allergic to anthracycline (its class: anthracycline)")


def test_the_signoff_signs_the_supportive_lines_and_dexrazoxane_from_a_prior_310_mg_m2(run):
    assert run("prior", "add", "A-1", "doxorubicin", "310 mg/m²", user=PHARMACIST).exit_code == 0
    detail = signed(run)["detail"]
    doxo = {d["day"]: d for d in detail["doses"] if d["drug"] == "doxorubicin"}
    dex = [s for s in detail["supportive"] if s["drug"] == "dexrazoxane"]
    assert [s["day"] for s in dex] == [1, 2, 3]
    for s in dex:
        assert s["calculated_mg"] == pytest.approx(10 * doxo[s["day"]]["calculated_mg"], abs=0.01)
    assert {s["drug"] for s in detail["supportive"]} >= {"ondansetron", "dexamethasone", "nacl-09", "pegfilgrastim"}
    assert detail["schedules"]["mesna:1"] == [["0 h", 1110.0], ["4 h after", 1110.0], ["8 h after", 1110.0]]


def test_below_300_mg_m2_no_dexrazoxane_is_signed(run):
    run("prior", "add", "A-1", "doxorubicin", "250 mg/m²", user=PHARMACIST)
    detail = signed(run)["detail"]
    assert not any(s["drug"] == "dexrazoxane" for s in detail["supportive"])
    assert "below 300 mg/m²" in detail["conditional"][0]


def test_worksheet_holds_every_bags_volume_and_concentration_and_each_signature_block_on_one_page(run, tmp_path):
    run("allergy", "add", "A-1", "latex", "--reaction", "contact dermatitis", user=NURSE)
    signed(run)
    out = tmp_path / "w.pdf"
    assert run("worksheet", "A-1", "--cycle", "1", "--out", out).exit_code == 0
    pages = [p.extract_text() for p in pypdf.PdfReader(str(out)).pages]
    text = "\n".join(pages)
    for words in ("Prescriber demo-prescriber", "measured 20", "latex: contact dermatitis",
                  "ifosfamide 5550", "NaCl 0.9 % 1000 mL", "4.995 mg/mL (0.6-20)", "111 mL",
                  "doxorubicin 46", "undiluted", "2 mg/mL (2-2)", "mesna 1110", "11.1 mL", "9.991 mg/mL",
                  "pegfilgrastim 6", "G-CSF: pegfilgrastim 6 mg SC on day 5", "ondansetron 8", "0.148 mg/mL"):
        assert words in text, words
    with open_store() as store:
        from chemo.compounding import items
        from chemo.library import load_library
        from chemo.regimen import load_regimen
        from chemo.db import signoffs as so

        detail = json.loads(so.for_cycle(store, 1, 1)["dose"]["detail"])
    for item in items(detail, load_regimen("doxorubicin-ifosfamide"), load_library()):
        if item.bag is not None and item.bag.container != "oral":
            assert f"{item.bag.draw_ml:g} mL" in text and f"{item.bag.final_mg_ml:g} mg/mL" in text, item
    for block, labels in (("Compounding check", ("Prepared by", "Checked by")),
                          ("Bedside double check", ("First nurse", "Second nurse"))):
        [page] = [p for p in pages if block in p]  # the block's title is on one page ...
        assert all(label in page for label in labels)  # ... and its boxes on the same one


def label_matrix(image, size: int) -> list:
    """The dark modules of a QR image written by segno at scale 4 with a 2-module border."""
    img = image.convert("L")
    return [[1 if img.getpixel(((c + 2) * 4 + 2, (r + 2) * 4 + 2)) < 128 else 0 for c in range(size)]
            for r in range(size)]


def test_labels_carry_the_signed_dose_in_their_code_and_a_wrong_code_is_refused(run, tmp_path):
    detail = signed(run)["detail"]
    assert run("signoff", "A-1", "--cycle", "1", "--check", "readiness", user=NURSE).exit_code == 0
    out = tmp_path / "labels.pdf"
    made = run("labels", "A-1", "--cycle", "1", "--day", "1", "--out", out, "--json")
    assert made.exit_code == 0, made.output
    labels = json.loads(made.stdout)["labels"]
    assert [(x["drug"], x["at"]) for x in labels] == [
        ("ondansetron", "30 min before"), ("dexamethasone", "30 min before"), ("doxorubicin", "0 h"),
        ("ifosfamide", "0 h"), ("mesna", "0 h"), ("mesna", "4 h after"), ("mesna", "8 h after")]
    with open_store() as store:
        from chemo.db import audit as audit_log

        sign_hash = audit_log.first_hash(store, "signoffs", "1")
    signed_mg = {d["drug"]: d["dose_mg"] for d in detail["doses"] if d["day"] == 1}
    images = [img for page in pypdf.PdfReader(str(out)).pages for img in page.images]
    assert len(images) == len(labels)
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(str(out)).pages)
    for label, image in zip(labels, images):
        mg = signed_mg["mesna"] / 3 if label["drug"] == "mesna" else signed_mg.get(label["drug"], label["dose_mg"])
        expected = f"CHEMO1|A-1|1|1|{label['drug']}|{mg:g}|{label['at']}|{sign_hash[:16]}"
        assert label["code"] == expected
        qr = segno.make(expected, error="m", micro=False)
        assert label_matrix(image.image, len(qr.matrix)) == [list(row) for row in qr.matrix]
        assert f"{label['drug'].upper()} {mg:g} mg" in text and "EXPIRES" in text
    ifos = next(x["code"] for x in labels if x["drug"] == "ifosfamide")
    wrong_mg = ifos.replace("|5550|", "|5500|")
    one_line(run("administer", "A-1", "--cycle", "1", "--day", "1", "--scan", wrong_mg, user=NURSE), 1,
             "ifosfamide 5500 mg", "does not match the signed dose (ifosfamide 5550 mg at 0 h)")
    other = ifos.replace("|A-1|", "|B-2|")
    one_line(run("administer", "A-1", "--cycle", "1", "--day", "1", "--scan", other, user=NURSE), 1,
             "another patient")
    stale = ifos[:-16] + "0" * 16
    one_line(run("administer", "A-1", "--cycle", "1", "--day", "1", "--scan", stale, user=NURSE), 1,
             "another dose sign-off")
    one_line(run("administer", "A-1", "--cycle", "1", "--day", "1", "--scan", "hello", user=NURSE), 1,
             "not a chemo compounding label")
    given = run("administer", "A-1", "--cycle", "1", "--day", "1", "--scan", ifos, "--json", user=NURSE)
    assert given.exit_code == 0, given.output
    assert run("audit", "verify").exit_code == 0


def test_labels_need_a_dose_signoff(run, tmp_path):
    one_line(run("labels", "A-1", "--cycle", "1", "--day", "1", "--out", tmp_path / "x.pdf"), 1,
             "no dose sign-off")
