"""A prescription carries the cycle's supportive lines, and the dose sign-off signs them as prescribed
(issues 18 and 20), on both engines."""

import json

import pytest

from chemo.cli import cli
from chemo.db import open_store
from chemo.demo import NURSE, PHARMACIST, PRESCRIBER, add_ready_patient, add_users, approve_regimens
from cli_support import cli_invoker, one_line


@pytest.fixture
def run(new_db, monkeypatch):
    db = new_db("rx20.db")
    monkeypatch.setenv("CHEMO_DB", str(db))
    with open_store(db) as store:
        add_users(store)
        approve_regimens(store)  # two pharmacists approve the shipped regimens
        add_ready_patient(store, "R-1", "doxorubicin-ifosfamide", sex="male", height="176 cm", weight="70 kg")
    return cli_invoker(cli)


def test_the_prescription_carries_dexrazoxane_from_310_mg_m2_and_the_signoff_signs_it(run, tmp_path):
    assert run("prior", "add", "R-1", "doxorubicin", "310 mg/m²", user=PHARMACIST).exit_code == 0
    done = run("prescribe", "R-1", "--cycle", "1", "--line", "ifosfamide 1 5400 mg", "--reason",
               "reduced for earlier neurotoxicity", user=PRESCRIBER)
    assert done.exit_code == 0, done.output
    with open_store() as store:
        from chemo.prescription import standing

        rx = standing(store, 1, 1)
    carried = rx["supportive"]
    assert carried["emetogenic_class"] == "moderate"
    assert [s["day"] for s in carried["supportive"] if s["drug"] == "dexrazoxane"] == [1, 2, 3]
    signed = run("signoff", "R-1", "--cycle", "1", "--check", "dose", "--json", "--reason",
                 "reduced for earlier neurotoxicity", user=PHARMACIST)
    assert signed.exit_code == 0, signed.output
    detail = json.loads(signed.stdout)["detail"]
    assert detail["supportive"] == carried["supportive"] and "supportive" not in detail["prescription"]
    ifos = next(d for d in detail["doses"] if d["drug"] == "ifosfamide" and d["day"] == 1)
    assert ifos["dose_mg"] == 5400
    out = tmp_path / "w.pdf"
    assert run("worksheet", "R-1", "--cycle", "1", "--out", out).exit_code == 0
    import pypdf

    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(str(out)).pages)
    assert "Prescriber demo-prescriber (prescriber), prescription 1" in text
    assert "dexrazoxane" in text and "ifosfamide 5400" in text
    assert run("audit", "verify").exit_code == 0


def test_an_allergy_refuses_the_signoff_of_a_prescription_too(run):
    assert run("prescribe", "R-1", "--cycle", "1", user=PRESCRIBER).exit_code == 0
    run("allergy", "add", "R-1", "ondansetron", "--reaction", "QT prolongation", user=NURSE)
    one_line(run("signoff", "R-1", "--cycle", "1", "--check", "dose", user=PHARMACIST), 1,
             "ondansetron: the patient is allergic to ondansetron")
