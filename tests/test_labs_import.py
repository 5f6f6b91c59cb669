"""Labs in from the laboratory system: `chemo labs import` on FHIR R4 and HL7 v2 ORU^R01 files (issue 10).

Fixtures in tests/fixtures/labs are the standards' own examples, written in by hand, and
demo messages in their shape (see the README there).  Times are 2026-03-02; readiness is asked
as of the end of that day.
"""

import datetime as _dt
import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chemo.cli import cli
from cli_support import cli_invoker

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "labs"
DAY = "2026-03-02"
KEYS = {"mrn", "analyte", "value", "unit", "at", "status", "source_id", "message"}
PASSING = (("hemoglobin", "12.5 g/dL", None), ("anc", "3.2 10^9/L", None), ("platelets", "250 10^9/L", None),
           ("creatinine", "0.8 mg/dL", None), ("bilirubin", "0.6 mg/dL", "1.2 mg/dL"), ("alt", "25 U/L", "40 U/L"),
           ("ast", "22 U/L", "40 U/L"), ("lvef", "62 %", None))


SITE = """site = "test centre"
[mrn]
fhir_systems = ["urn:oid:1.2.3.4.5"]
hl7_authorities = ["DEMO-HOSP"]
accept_without_issuer = false
"""


@pytest.fixture(scope="module")
def template_db(tmp_path_factory):
    """Two patients on doxorubicin-ifosfamide with passing typed labs of 2026-03-01, built once."""
    from chemo import records, roles
    from chemo.db import open_store
    from chemo.demo import approve_regimens

    path = tmp_path_factory.mktemp("labs-template") / "template.db"
    with open_store(path) as store:
        roles.add_user(store, "phil", "phil", "pharmacist")
        roles.add_user(store, "phil", "nora", "nurse")
        roles.add_user(store, "phil", "pia", "pharmacist")
        approve_regimens(store, ("doxorubicin-ifosfamide",), ("phil", "pia"))
        for mrn in ("T-FHIR-01", "T-HL7-01"):
            records.add_patient(store, "phil", mrn=mrn, name=f"Synthetic {mrn}", sex="female", born="1970-05-01",
                                height="170 cm", weight="70 kg", measured_on="2026-02-20")
            records.start_plan(store, "phil", mrn, "doxorubicin-ifosfamide", start=DAY)
            for analyte, value, uln in PASSING:
                records.add_lab(store, "nora", mrn, analyte, value, uln=uln, at="2026-03-01T08:00")
    return path


@pytest.fixture
def run(tmp_path, monkeypatch, template_db):
    db = tmp_path / "labs.db"
    shutil.copy(template_db, db)
    (tmp_path / "chemo-site.toml").write_text(SITE)
    monkeypatch.setenv("CHEMO_DB", str(db))
    monkeypatch.setenv("CHEMO_USER", "nora")
    return cli_invoker(cli)


def rows(run, mrn):
    return json.loads(run("labs", "show", mrn, "--json").stdout)


def verdict(run, mrn):
    result = run("readiness", mrn, "--date", DAY, "--json")
    return json.loads(result.stdout)


def imported(run, *names, extra=()):
    return run("labs", "import", *[FIXTURES / n for n in names], *extra, "--json")


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def observation(oid="obs-1", *, loinc="751-8", value=0.9, code="10*9/L", system="http://unitsofmeasure.org",
                status="final", mrn="T-FHIR-01", at="2026-03-02T08:10:00+01:00", **more):
    obs = {"resourceType": "Observation", "id": oid, "status": status,
           "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
           "subject": {"identifier": {"system": "urn:oid:1.2.3.4.5", "value": mrn}}, "effectiveDateTime": at,
           "valueQuantity": {"value": value, "unit": code, "system": system, "code": code}}
    obs.update(more)
    return obs


# ------------------------------------------------------------------ the done-when

def test_a_bundle_of_a_patients_labs_changes_the_readiness_verdict_as_the_values_say(run):
    assert verdict(run, "T-FHIR-01")["ready"] is True
    result = imported(run, "fhir-bundle-demo.json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert [o["status"] for o in out] == ["imported"] * 8
    assert all(KEYS <= set(o) for o in out)
    anc = next(o for o in out if o["analyte"] == "anc")
    assert (anc["mrn"], anc["value"], anc["unit"], anc["at"], anc["source_id"]) == (
        "T-FHIR-01", "0.9", "10*9/L", "2026-03-02T08:10:00+01:00", "anc-1")
    after = verdict(run, "T-FHIR-01")
    assert after["ready"] is False  # neutrophils 0.9 ×10⁹/L is not > 1.5
    gates = {g["analyte"]: g for g in after["gates"]}
    assert gates["anc"]["status"] == "fail" and gates["anc"]["origin"] == "fhir"
    assert gates["hemoglobin"]["entered"] == "11.8 g/dL" and gates["hemoglobin"]["status"] == "pass"
    assert gates["alt"]["value"] == "0.75 × ULN"  # 30 U/L against the lab's own ULN of 40 U/L
    assert gates["egfr"]["origin"] == "fhir"  # computed from the imported creatinine 70 µmol/L


def test_re_importing_the_same_bundle_writes_no_second_row(run):
    assert imported(run, "fhir-bundle-demo.json").exit_code == 0
    before = len(rows(run, "T-FHIR-01"))
    again = imported(run, "fhir-bundle-demo.json")
    assert again.exit_code == 0
    assert {o["status"] for o in json.loads(again.stdout)} == {"duplicate"}
    assert len(rows(run, "T-FHIR-01")) == before


def test_an_hl7_cbc_then_its_correction_changes_the_verdict_back_and_keeps_both_rows(run):
    first = imported(run, "hl7-oru-cbc-demo.hl7")
    assert first.exit_code == 0, first.output
    assert [o["source_id"] for o in json.loads(first.stdout)] == ["LAB-0001/OBX-1", "LAB-0001/OBX-2",
                                                                  "LAB-0001/OBX-3"]
    not_ready = verdict(run, "T-HL7-01")
    assert not_ready["ready"] is False
    assert {g["analyte"]: g["origin"] for g in not_ready["gates"]}["anc"] == "hl7"
    corrected = imported(run, "hl7-oru-cbc-corrected.hl7")
    assert corrected.exit_code == 0, corrected.output
    (line,) = json.loads(corrected.stdout)
    assert line["status"] == "imported" and line["lab_status"] == "corrected" and "replaces row" in line["message"]
    assert verdict(run, "T-HL7-01")["ready"] is True  # 1.9 ×10⁹/L > 1.5
    anc = [r for r in rows(run, "T-HL7-01") if r["analyte"] == "anc" and r["source"] == "hl7"]
    assert sorted((r["value_text"], r["status"], r["superseded_by"] is not None) for r in anc) == [
        ("0.9 10^9/L", "final", True), ("1.9 10^9/L", "corrected", False)]
    audit = json.loads(run("audit", "show", "--limit", "50", "--json").stdout)
    actions = [a["action"] for a in audit]
    assert "lab.supersede" in actions and actions.count("lab.import") == 4
    assert run("audit", "verify").exit_code == 0
    assert imported(run, "hl7-oru-cbc-corrected.hl7").exit_code == 0  # the correction again: a duplicate
    assert len([r for r in rows(run, "T-HL7-01") if r["source"] == "hl7"]) == 4


def test_each_imported_row_is_audited_with_its_source_file_and_message_control_id(run):
    assert imported(run, "hl7-oru-cbc-demo.hl7").exit_code == 0
    audit = json.loads(run("audit", "show", "--limit", "3", "--json").stdout)
    for row in audit:
        new = json.loads(row["new"]) if isinstance(row["new"], str) else row["new"]
        assert row["action"] == "lab.import"
        assert new["source_file"].endswith("hl7-oru-cbc-demo.hl7") and new["source_message"] == "LAB-0001"


# ------------------------------------------------------------------ statuses

@pytest.mark.parametrize("status", ["preliminary", "registered", "cancelled", "entered-in-error"])
def test_results_that_are_not_final_never_gate_readiness(run, tmp_path, status):
    path = write(tmp_path, "p.json", json.dumps(observation(status=status, value=0.2)))
    result = run("labs", "import", path)
    assert result.exit_code == 0, result.output
    assert verdict(run, "T-FHIR-01")["ready"] is True


def test_a_retraction_takes_the_result_it_retracts_out_of_readiness(run, tmp_path):
    assert run("labs", "import", write(tmp_path, "a.json", json.dumps(observation()))).exit_code == 0
    assert verdict(run, "T-FHIR-01")["ready"] is False
    retract = observation(status="entered-in-error")
    del retract["valueQuantity"]
    result = run("labs", "import", write(tmp_path, "b.json", json.dumps(retract)), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["status"] == "imported"
    assert verdict(run, "T-FHIR-01")["ready"] is True  # back to the typed 3.2 ×10⁹/L


def test_a_changed_final_value_under_the_same_id_is_refused_and_the_rest_imported(run, tmp_path):
    assert run("labs", "import", write(tmp_path, "a.json", json.dumps(observation()))).exit_code == 0
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": observation(value=2.5)}, {"resource": observation("obs-2", loinc="718-7", value=11, code="g/dL")}]}
    result = run("labs", "import", write(tmp_path, "b.json", json.dumps(bundle)), "--json")
    assert result.exit_code == 1
    out = json.loads(result.stdout)
    assert out[0]["status"] == "refused" and "must come as a corrected result" in out[0]["message"]
    assert out[1]["status"] == "imported"
    assert result.stderr.strip().endswith("b.json: 1 of 2 results refused (the rest imported or already in the record)")


def test_a_file_whose_every_result_is_refused_says_nothing_was_imported(run, tmp_path):
    result = run("labs", "import", write(tmp_path, "w.json", json.dumps(observation(mrn="NO-SUCH-MRN"))))
    assert result.exit_code == 1
    assert result.stderr.strip().endswith("w.json: 1 of 1 result refused (nothing imported)")


def test_a_preliminary_then_final_result_replaces_the_preliminary(run, tmp_path):
    assert run("labs", "import", write(tmp_path, "a.json", json.dumps(observation(status="preliminary")))).exit_code == 0
    assert verdict(run, "T-FHIR-01")["ready"] is True
    result = run("labs", "import", write(tmp_path, "b.json", json.dumps(observation(value=1.0))), "--json")
    assert "replaces row" in json.loads(result.stdout)[0]["message"]
    assert verdict(run, "T-FHIR-01")["ready"] is False


# ------------------------------------------------------------------ refused, one line each

def refused(run, path, code=1):
    result = run("labs", "import", path, "--json")
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def test_the_specifications_own_examples_are_refused_saying_why(run):
    (f204,) = refused(run, FIXTURES / "fhir-f204-creatinine-spec.json")
    assert "no MRN" in f204["message"]  # subject Patient/f201 names no MRN
    (glucose,) = refused(run, FIXTURES / "fhir-f001-glucose-spec.json", code=0)  # chemo uses no glucose
    assert glucose["status"] == "ignored" and "unknown LOINC code 15074-8" in glucose["message"]
    (hl7,) = refused(run, FIXTURES / "hl7-oru-glucose-spec.hl7")
    assert "not a LOINC code" in hl7["message"]
    result = imported(run, "fhir-f204-creatinine-demo.json")
    assert result.exit_code == 0 and json.loads(result.stdout)[0]["analyte"] == "creatinine"


@pytest.mark.parametrize("change, expected", [
    ({"valueQuantity": None}, "no value"),
    ({"valueQuantity": {"value": "0.9", "system": "http://unitsofmeasure.org", "code": "10*9/L"}},
     "is str, expected a number"),
    ({"valueQuantity": {"value": 0.9, "system": "http://unitsofmeasure.org", "code": "giga/L"}}, "not a UCUM unit"),
    ({"valueQuantity": {"value": 0.9, "unit": "x10^9/L"}}, "is not UCUM"),
    ({"valueQuantity": {"value": 0.9, "system": "http://unitsofmeasure.org", "code": "g/dL"}}, "does not fit"),
    ({"valueQuantity": {"value": 900, "system": "http://unitsofmeasure.org", "code": "10*9/L"}}, "possible range"),
    ({"valueQuantity": {"value": 0.9, "comparator": "ad", "system": "http://unitsofmeasure.org", "code": "10*9/L"}},
     "comparator 'ad'"),
    ({"valueQuantity": None, "valueString": "0.9"}, "expected valueQuantity"),
    ({"valueString": "0.9"}, "more than one value"),
    ({"subject": {"identifier": {"system": "urn:oid:1.2.3.4.5", "value": "NO-SUCH"}}}, "no patient with MRN 'NO-SUCH'"),
    ({"effectiveDateTime": "2026-03-02"}, "no time of day"),
    ({"effectiveDateTime": "2026-03-02T08:10:00"}, "with a zone"),
    ({"effectiveDateTime": "2099-03-02T08:10:00Z"}, "in the future"),
    ({"status": "unknown"}, "status 'unknown'"),
])
def test_a_malformed_observation_is_refused_with_its_reason_and_writes_nothing(run, tmp_path, change, expected):
    obs = observation()
    for key, value in change.items():
        if value is None:
            obs.pop(key)
        else:
            obs[key] = value
    before = len(rows(run, "T-FHIR-01"))
    (line,) = refused(run, write(tmp_path, "bad.json", json.dumps(obs)))
    assert line["status"] == "refused" and expected in line["message"], line["message"]
    assert len(rows(run, "T-FHIR-01")) == before


@pytest.mark.parametrize("text, expected", [
    ('{"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {"resourceType": "Obs', "not valid JSON"),
    ('{"resourceType": "Patient"}', "expected Observation or Bundle"),
    ('{"resourceType": "Bundle", "type": "document", "entry": []}', "Bundle.type 'document'"),
    ('{"resourceType": "Bundle", "type": "searchset", "entry": []}', "holds no lab results"),
    ("[1, 2]", "expected a FHIR resource"),
    ('{"a": NaN}', "not valid JSON"),
    # a result with its value twice: readers differ on which they keep, so neither is taken
    ('{"resourceType": "Observation", "status": "final", "valueQuantity": {"value": 1.5, "value": 15}}',
     "'value' is given twice"),
    ("", "empty"),
    ("PK\x03\x04 zip", "neither FHIR JSON"),
    ("MSH|^~\\&|LAB|H|C|O|20260302||ADT^A01|X1|P|2.5\rPID|1||M^^^^MR\r", "expected ORU^R01"),
    ("MSH|^~\\&|LAB|H|C|O|20260302||ORU^R01||P|2.5\rPID|1||M^^^^MR\r", "no message control id"),
    ("OBX|1|NM|718-7^Hb^LN||12|g/dL|||||F\r", "neither FHIR JSON"),
])
def test_a_file_that_cannot_be_read_exits_2_and_imports_nothing(run, tmp_path, text, expected):
    path = write(tmp_path, "bad.txt", text)
    before = len(rows(run, "T-FHIR-01"))
    result = run("labs", "import", path)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chemo: ") and expected in lines[0], result.stderr
    assert len(rows(run, "T-FHIR-01")) == before


def test_a_50_mb_file_is_refused_before_it_is_read(run, tmp_path):
    path = tmp_path / "huge.json"
    with open(path, "wb") as f:
        f.write(b'{"resourceType": "Bundle", "type": "searchset", "entry": [')
        f.truncate(50 * 1024 * 1024)  # sparse: 50 MB on paper, nothing written to disk
    result = run("labs", "import", path)
    assert result.exit_code == 2
    assert "50.0 MiB" in result.stderr and "more than 5 MiB are refused" in result.stderr


@pytest.mark.parametrize("obx, expected", [
    ("OBX|1|ST|751-8^ANC^LN||low|10*9/L|||||F|||20260302081500", "(OBX-2 ST) is not a number"),
    ("OBX|1|CE|751-8^ANC^LN||L^low|10*9/L|||||F|||20260302081500", "expected NM"),
    ("OBX|1|NM|751-8^ANC^LN||0,9|10*9/L|||||F|||20260302081500", "is not a number"),
    ("OBX|1|NM|751-8^ANC^LN||0.9|giga/L|||||F|||20260302081500", "not a UCUM unit"),
    ("OBX|1|NM|751-8^ANC^LN||0.9||||||F|||20260302081500", "no unit"),
    ("OBX|1|NM|751-8^ANC^LN||0.9|10*9/L|||||Q|||20260302081500", "OBX-11"),
    ("OBX|1|NM|751-8^ANC^LN||0.9|10*9/L|||||F|||20260302", "no time of day"),
    ("OBX|1|SN|751-8^ANC^LN||<>^0.5|10*9/L|||||F|||20260302081500", "comparator '<>'"),
    ("OBX|1|SN|751-8^ANC^LN||^1^:^2|10*9/L|||||F|||20260302081500", "range or ratio"),
    ("OBX|1|NM|751-8^ANC^L||0.9|10*9/L|||||F|||20260302081500", "not a LOINC code"),
])
def test_a_malformed_obx_is_refused_with_its_reason(run, tmp_path, obx, expected):
    text = ("MSH|^~\\&|LAB|DEMO-HOSP|CHEMO|ONC|20260302084500||ORU^R01|M-1|P|2.5.1\n"
            "PID|1||T-HL7-01^^^DEMO-HOSP^MR\nOBR|1||F-1|58410-2^CBC^LN\n" + obx + "\n")
    (line,) = refused(run, write(tmp_path, "bad.hl7", text))
    assert expected in line["message"], line["message"]


def test_an_hl7_mrn_is_the_pid_3_repetition_typed_mr_and_never_guessed(run, tmp_path):
    text = ("MSH|^~\\&|LAB|H|C|O|20260302084500||ORU^R01|M-2|P|2.5.1\r"
            "PID|1||998877^^^NAT^NI~T-HL7-01^^^H^PI\rOBR|1||F-2\r"
            "OBX|1|NM|751-8^ANC^LN||2.2|10*9/L|||||F|||20260302081500\r")
    (line,) = refused(run, write(tmp_path, "two.hl7", text))
    assert "none typed MR" in line["message"]


# ------------------------------------------------------------------ units, times, whole files

def test_ucum_counts_convert_as_typed_ones_do(run, tmp_path):
    obs = observation(value=1800, code="/uL", at="2026-03-02T09:00:00Z")
    assert run("labs", "import", write(tmp_path, "a.json", json.dumps(obs))).exit_code == 0
    obs = observation("obs-2", loinc="777-3", value=95, code="10*3/uL", at="2026-03-02T09:00:00Z")
    assert run("labs", "import", write(tmp_path, "b.json", json.dumps(obs))).exit_code == 0
    gates = {g["analyte"]: g for g in verdict(run, "T-FHIR-01")["gates"] if g["kind"] == "eligibility"}
    assert gates["anc"]["value"] == "1.8 ×10⁹/L" and gates["anc"]["status"] == "pass"
    assert gates["platelets"]["value"] == "95 ×10⁹/L" and gates["platelets"]["status"] == "fail"


def test_the_labs_time_with_its_zone_is_stored_as_clinic_local_time(run):
    assert imported(run, "fhir-f204-creatinine-demo.json").exit_code == 0
    (row,) = [r for r in rows(run, "T-FHIR-01") if r["source"] == "fhir"]
    lab = _dt.datetime.fromisoformat("2026-03-02T08:10:00+01:00")
    assert row["collected_at"] == lab.astimezone().replace(tzinfo=None).isoformat()
    assert row["lab_time"] == "2026-03-02T08:10:00+01:00"


def test_dry_run_reports_and_writes_nothing(run):
    before = len(rows(run, "T-FHIR-01"))
    result = imported(run, "fhir-bundle-demo.json", extra=("--dry-run",))
    assert result.exit_code == 0 and {o["status"] for o in json.loads(result.stdout)} == {"imported"}
    assert len(rows(run, "T-FHIR-01")) == before


def test_a_file_is_imported_whole_or_not_at_all(tmp_path, monkeypatch):
    from chemo.labs import importer as labimport
    from chemo.demo import add_users
    from chemo.records import add_patient
    from chemo.db import open_store

    store = open_store(tmp_path / "w.db")
    add_users(store, {"phil": "pharmacist"})
    add_patient(store, "phil", mrn="T-FHIR-01", name="S", sex="female", born="1970-05-01", height="170 cm",
                weight="70 kg")
    calls = {"n": 0}
    real = labimport.audit.append

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(labimport.audit, "append", failing)
    (tmp_path / "chemo-site.toml").write_text(SITE)
    with pytest.raises(OSError):
        labimport.import_file(store, "phil", FIXTURES / "fhir-bundle-demo.json")
    assert store.one("SELECT count(*) AS n FROM labs")["n"] == 0


def test_a_copy_of_a_file_under_another_name_is_still_a_duplicate(run, tmp_path):
    copy = tmp_path / "again.hl7"
    shutil.copy(FIXTURES / "hl7-oru-cbc-demo.hl7", copy)
    assert imported(run, "hl7-oru-cbc-demo.hl7").exit_code == 0
    result = run("labs", "import", copy, "--json")
    assert {o["status"] for o in json.loads(result.stdout)} == {"duplicate"}


def test_unknown_ucum_is_refused_not_guessed():
    from chemo.errors import UnitError
    from chemo.labs.ucum import chemo_unit

    assert chemo_unit("10*9/L") == "10^9/L" and chemo_unit("umol/l") == "µmol/L"
    for code in ("10*9/µL", "mg%", "g/l/h", "IU", "x10^9", ""):
        with pytest.raises(UnitError):
            chemo_unit(code)


def test_a_database_of_the_first_schema_is_migrated_and_its_typed_results_read_as_typed_and_final(tmp_path):
    import sqlite3

    from test_db_upgrade import legacy_sqlite

    from chemo.demo import add_ready_patient, add_users, approve_regimens
    from chemo.readiness import assess
    from chemo.db import open_store

    path = tmp_path / "old.db"
    legacy_sqlite(path, 1)  # 0001_initial only, as chemo wrote it before labs had a source
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("INSERT INTO patients (mrn, name, sex, born, created_at, created_by) VALUES "
                 "('OLD-1', 'Old', 'female', '1970-01-01', '2026-01-01T00:00:00', 'x')")
    conn.execute("INSERT INTO labs (patient_id, analyte, value_text, value, unit, collected_at, recorded_at, "
                 "recorded_by) VALUES (1, 'anc', '1.0 10^9/L', 1.0, '10^9/L', '2026-03-01T08:00:00', "
                 "'2026-03-01T08:00:00', 'x')")
    conn.close()
    with open_store(path) as store:
        row = store.one("SELECT source, status, superseded_by FROM labs")
        assert row == {"source": "typed", "status": "final", "superseded_by": None}
        add_users(store)
        approve_regimens(store)  # two pharmacists approve the shipped regimens
        add_ready_patient(store, "NEW-1", labs={"anc": ("1.0 10^9/L", None)})
        gates = {g.analyte: g for g in assess(store, "NEW-1").gates}
        assert gates["anc"].status == "fail" and gates["anc"].origin == "typed"


def test_a_transaction_bundle_names_the_patient_by_a_conditional_reference(run, tmp_path):
    obs = observation(subject={"reference": "Patient?identifier=urn:oid:1.2.3.4.5|T-FHIR-01"})
    obs.pop("id")
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:5e0f7a1c-0000-4000-8000-000000000001", "resource": obs,
         "request": {"method": "POST", "url": "Observation"}}]}
    path = write(tmp_path, "tx.json", json.dumps(bundle))
    (line,) = json.loads(run("labs", "import", path, "--json").stdout)
    assert (line["status"], line["mrn"], line["source_id"]) == (
        "imported", "T-FHIR-01", "urn:uuid:5e0f7a1c-0000-4000-8000-000000000001")
    (again,) = json.loads(run("labs", "import", path, "--json").stdout)
    assert again["status"] == "duplicate"


_FRAGMENTS = ['{', '}', '[', ']', '"resourceType"', ':', ',', '"Observation"', '"Bundle"', '"entry"', '"resource"',
              '"valueQuantity"', '"value"', '1.5', '"10*9/L"', 'null', 'true', '"status"', '"final"', 'MSH|^~\\&|',
              'PID|1||M^^^^MR', 'OBX|1|NM|751-8^x^LN||', '|10*9/L|', '\r', '\n', 'ORU^R01', '|F|||2026030208',
              '"effectiveDateTime"', '"2026-03-02T08:10:00Z"', '"code"', '"coding"', '"http://loinc.org"', '"751-8"']


@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=40).map("".join))
def test_reading_any_text_refuses_or_reads_and_never_raises_anything_else(tmp_path_factory, text):
    from chemo.labs.importer import ImportFileError, read_file

    path = tmp_path_factory.mktemp("any") / "x"
    path.write_text(text, encoding="utf-8")
    try:
        results = read_file(path)
    except ImportFileError as exc:
        assert "\n" not in exc.message
        return
    for r in results:  # each result is refused in one line, or read and checked (a retraction may have no value)
        if r.problem is not None:
            assert "\n" not in r.problem
        else:
            assert r.row is not None or r.status in ("cancelled", "entered-in-error")


def test_two_patients_with_one_reference_in_a_bundle_are_not_guessed_between():
    # two servers' Patient/p1 in one bundle, different MRNs: an ANC referring to Patient/p1 is refused, never
    # imported for whichever patient came last (a wrong-patient import)
    from chemo.labs.fhir import read_fhir

    def patient(base, mrn):
        return {"fullUrl": f"http://{base}/fhir/Patient/p1", "resource": {
            "resourceType": "Patient", "id": "p1", "identifier": [{"system": "urn:oid:1.2.3.4.5", "value": mrn}]}}

    anc = {"fullUrl": "http://lab-a/fhir/Observation/o1", "resource": {
        "resourceType": "Observation", "id": "o1", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]}, "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-03-02T08:15:00+01:00",
        "valueQuantity": {"value": 0.9, "system": "http://unitsofmeasure.org", "code": "10*9/L"}}}
    bundle = {"resourceType": "Bundle", "type": "collection", "id": "b1",
              "entry": [patient("lab-a", "T-HL7-01"), patient("lab-b", "T-HL7-02"), anc]}
    (result,) = read_fhir(json.dumps(bundle), "two-p1.json")
    assert result.problem is not None and "more than one Patient" in result.problem
    same = {**bundle, "entry": [patient("lab-a", "T-HL7-01"), patient("lab-b", "T-HL7-01"), anc]}
    (result,) = read_fhir(json.dumps(same), "same-p1.json")
    assert result.mrn == "T-HL7-01" and result.problem is None  # the same MRN twice is no ambiguity


def test_a_subject_whose_identifier_and_reference_name_different_patients_is_refused():
    from chemo.labs.fhir import read_fhir

    sys_ = "urn:oid:1.2.3.4.5"
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:p1", "resource": {"resourceType": "Patient", "id": "p1",
                                                "identifier": [{"system": sys_, "value": "T-HL7-01"}]}},
        {"fullUrl": "urn:uuid:o1", "resource": {
            "resourceType": "Observation", "id": "o1", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]},
            "subject": {"reference": "urn:uuid:p1", "identifier": {"system": sys_, "value": "T-HL7-02"}},
            "effectiveDateTime": "2026-03-02T08:15:00+01:00",
            "valueQuantity": {"value": 0.9, "system": "http://unitsofmeasure.org", "code": "10*9/L"}}}]}
    (result,) = read_fhir(json.dumps(bundle), "conflict.json")
    assert result.problem is not None and "T-HL7-02" in result.problem and "T-HL7-01" in result.problem
    bundle["entry"][1]["resource"]["subject"]["identifier"]["value"] = "T-HL7-01"
    (result,) = read_fhir(json.dumps(bundle), "agree.json")
    assert result.problem is None and result.mrn == "T-HL7-01"


def test_a_corrected_result_of_another_test_under_the_same_fhir_id_does_not_hide_a_failing_anc(run, tmp_path):
    # a FHIR id is the server's (two servers both have Observation/123): a "corrected" platelet count with the id
    # of an imported ANC of 0.6 must not supersede the ANC, which would leave readiness without the failing count
    anc = write(tmp_path, "anc.json", json.dumps(observation("123", value=0.6)))
    plt = write(tmp_path, "plt.json", json.dumps(observation("123", loinc="777-3", value=250, status="corrected")))
    assert run("labs", "import", anc).exit_code == 0
    result = run("labs", "import", plt, "--json")
    assert result.exit_code == 1
    (line,) = json.loads(result.stdout)
    assert line["status"] == "refused" and "was imported as anc" in line["message"]
    gates = {g["analyte"]: g for g in verdict(run, "T-FHIR-01")["gates"]}
    assert gates["anc"]["status"] == "fail" and gates["anc"]["entered"] == "0.6 10^9/L"
