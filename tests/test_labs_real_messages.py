"""Labs as laboratory systems send them (issue 21): ignored results, unit spellings, OBX-7 forms, report
times, censored values, the centre's MRN issuers, character sets and framing.

Fixtures (tests/fixtures/labs, see its README) are in the shapes of public examples: an analyzer CBC of 60
results, a Latin-1 reference-lab message still in its MLLP frame, FHIR DiagnosticReports whose Observations
carry no time.  Readiness is asked as of the end of 2026-03-02 (doxorubicin-ifosfamide: ANC > 1.5 ×10⁹/L,
platelets > 100 ×10⁹/L, ALT/AST ≤ 1.5 × ULN).
"""

import json

import pytest

from test_labs_import import FIXTURES, imported, rows, run, template_db, verdict, write  # noqa: F401


def outcomes(result):
    return json.loads(result.stdout)


# ------------------------------------------------------------------ ignored

def test_a_60_result_analyzer_cbc_imports_its_4_used_results_and_exits_0(run):
    result = imported(run, "hl7-oru-analyzer-cbc-60.hl7")
    assert result.exit_code == 0, result.output
    out = outcomes(result)
    assert len(out) == 60
    used = {o["analyte"]: o for o in out if o["status"] == "imported"}
    assert set(used) == {"wbc", "hemoglobin", "platelets", "anc"}
    assert sum(o["status"] == "ignored" for o in out) == 56
    # K/uL and x10E3/uL are 10^3/uL: ANC 3.6 K/uL is 3.6 ×10⁹/L
    gates = {g["analyte"]: g for g in verdict(run, "T-HL7-01")["gates"]}
    assert gates["anc"]["value"] == "3.6 ×10⁹/L" and gates["platelets"]["value"] == "245 ×10⁹/L"


def test_ignored_results_are_counted_listed_only_with_verbose_and_a_retry_still_exits_0(run):
    path = FIXTURES / "hl7-oru-analyzer-cbc-60.hl7"
    first = run("labs", "import", path)
    assert first.exit_code == 0
    assert "56 ignored" in first.stdout and "MCV" not in first.stdout
    assert first.stdout.count(" imported: ") == 4
    again = run("labs", "import", path, "--verbose")
    assert again.exit_code == 0  # an interface engine's retry: 4 duplicates, 56 ignored
    assert again.stdout.count(" duplicate: ") == 4 and again.stdout.count(" ignored: ") == 56
    assert "787-2 (MCV)" in again.stdout


def test_a_result_of_an_unknown_patient_is_refused_even_when_chemo_would_ignore_its_test(run, tmp_path):
    text = (FIXTURES / "hl7-oru-analyzer-cbc-60.hl7").read_text().replace("T-HL7-01^", "NOBODY-9^")
    result = run("labs", "import", write(tmp_path, "x.hl7", text), "--json")
    assert result.exit_code == 1
    assert {o["status"] for o in outcomes(result)} == {"refused"}


# ------------------------------------------------------------------ units, ranges, censored, encodings, framing

def test_a_latin1_message_in_its_mllp_frame_is_read_as_msh18_says(run):
    result = imported(run, "hl7-oru-latin1-mllp.hl7")
    assert result.exit_code == 0, result.output
    out = outcomes(result)
    assert [o["status"] for o in out] == ["imported"] * 4
    assert all("read as ISO-8859-1 (MSH-18 8859/1)" in o["message"] for o in out)
    assert all("time from OBR-7" in o["message"] for o in out)
    # where names the OBR group: both groups have an OBX 1
    assert [o["where"].split(") ")[1] for o in out] == ["OBR 1 OBX 1", "OBR 1 OBX 2", "OBR 2 OBX 1", "OBR 2 OBX 2"]
    shown = {r["analyte"]: r for r in rows(run, "T-HL7-01") if r["source"] == "hl7"}
    assert shown["alt"]["uln_text"] == "50 U/L" and shown["alt"]["range_text"] == "< 50 U/L"  # "<50": IU/L is U/L
    assert shown["ast"]["uln_text"] == "40 U/L"
    assert shown["anc"]["comparator"] == "<" and shown["anc"]["value_text"] == "0.5 10^9/L"
    assert shown["platelets"]["comparator"] == ">" and shown["platelets"]["value_text"] == "1000 10^9/L"
    listed = run("labs", "show", "T-HL7-01").stdout
    assert "<0.5 10^9/L" in listed and "= <0.5 10^9/L" in listed and ">1000 10^9/L" in listed


def test_a_censored_value_decides_a_gate_only_where_its_bound_decides(run, tmp_path):
    assert imported(run, "hl7-oru-latin1-mllp.hl7").exit_code == 0
    gates = {g["analyte"]: g for g in verdict(run, "T-HL7-01")["gates"]}
    assert gates["anc"]["status"] == "fail" and gates["anc"]["value"].startswith("<0.5")  # <0.5 is never > 1.5
    assert gates["platelets"]["status"] == "pass"  # >1000 is always > 100
    # ANC <2.0: could be 1.0 or 1.9 or ... nothing to decide "> 1.5" with
    text = (FIXTURES / "hl7-oru-latin1-mllp.hl7").read_bytes().replace(b"<^0.5", b"<^2.0").replace(
        b"REF-8859", b"REF-8860").replace(b"|F\r", b"|C\r")
    path = tmp_path / "c.hl7"
    path.write_bytes(text)
    assert run("labs", "import", path).exit_code == 0
    gate = {g["analyte"]: g for g in verdict(run, "T-HL7-01")["gates"]}["anc"]
    assert gate["status"] == "missing" and "cannot decide" in gate["message"]


def test_latin1_without_msh18_is_read_as_iso_8859_1_and_a_declared_set_is_held_to(run, tmp_path):
    raw = (FIXTURES / "hl7-oru-latin1-mllp.hl7").read_bytes()
    path = tmp_path / "undeclared.hl7"
    path.write_bytes(raw.replace(b"|8859/1\r", b"\r"))
    result = run("labs", "import", path, "--json")
    assert result.exit_code == 0 and "read as ISO-8859-1 (no MSH-18, not UTF-8)" in outcomes(result)[0]["message"]
    path.write_bytes(raw.replace(b"|8859/1\r", b"|UNICODE UTF-8\r"))
    result = run("labs", "import", path)
    assert result.exit_code == 2 and "not UTF-8, which MSH-18 'UNICODE UTF-8' declares" in result.stderr
    path.write_bytes(raw.replace(b"|8859/1\r", b"|ISO IR87\r"))
    result = run("labs", "import", path)
    assert result.exit_code == 2 and "MSH-18 character set 'ISO IR87'" in result.stderr


@pytest.mark.parametrize("unit", ["µmol/L", "umol/L", "IU/L", "[IU]/L", "K/uL", "x10E3/uL", "10^9/L",
                                  "10\\S\\9/L", "/nL", "G/L"])
def test_the_unit_spellings_labs_write_are_read_from_the_synonym_table(unit):
    from chemo.labs.ucum import chemo_unit

    assert chemo_unit(unit)


def test_every_synonym_names_its_source_and_a_ucum_code_chemo_reads():
    from chemo.library import load_library
    from chemo.labs.ucum import UCUM_TO_CHEMO

    lab_units = load_library().lab_units
    assert lab_units["10\\S\\9/L"] == "10*9/L" and lab_units["IU/L"] == "U/L"
    assert set(lab_units.values()) <= set(UCUM_TO_CHEMO)
    text = (FIXTURES.parent.parent.parent / "regimens" / "library" / "lab-units.toml").read_text()
    assert text.count("[[synonyms]]") == text.count("\nsource = ") - 1 == len(lab_units)  # less the file's own


def obx_message(obx, pid="T-HL7-01^^^DEMO-HOSP^MR"):
    return ("MSH|^~\\&|LAB|DEMO-HOSP|CHEMO|ONC|20260302084500||ORU^R01|M-9|P|2.5.1\r"
            f"PID|1||{pid}\rOBR|1||F-9|58410-2^CBC^LN|||20260302081500\r{obx}\r")


def test_a_unit_cut_at_the_component_separator_says_so(run, tmp_path):
    path = write(tmp_path, "cut.hl7", obx_message("OBX|1|NM|751-8^ANC^LN||2.1|10^9/L|||||F"))
    (line,) = outcomes(run("labs", "import", path, "--json"))
    assert line["status"] == "refused"
    assert "the unit was cut at the component separator '^'" in line["message"]
    assert "'10' is not a UCUM unit" in line["message"]


@pytest.mark.parametrize("obx7, uln, shown", [
    ("10-40", "40 U/L", "10-40 U/L"), ("<50", "50 U/L", "< 50 U/L"), ("<= 45", "45 U/L", "≤ 45 U/L"),
    ("45", "45 U/L", "≤ 45 U/L"), ("0^40", "40 U/L", "0-40 U/L")])
def test_every_obx7_form_hl7_defines_gives_the_uln(run, tmp_path, obx7, uln, shown):
    path = write(tmp_path, "r.hl7", obx_message(f"OBX|1|NM|1742-6^ALT^LN||30|IU/L|{obx7}||||F"))
    assert run("labs", "import", path).exit_code == 0
    (row,) = [r for r in rows(run, "T-HL7-01") if r["source"] == "hl7"]
    assert row["uln_text"] == uln and row["range_text"] == shown


def test_a_lower_bound_only_range_gives_no_uln_and_a_bare_number_for_a_count_is_refused(run, tmp_path):
    path = write(tmp_path, "g.hl7", obx_message("OBX|1|NM|718-7^Hb^LN||13.1|g/dL|>12||||F"))
    assert run("labs", "import", path).exit_code == 0
    (row,) = [r for r in rows(run, "T-HL7-01") if r["source"] == "hl7"]
    assert row["uln_text"] is None and row["range_text"] == "> 12 g/dL"
    path = write(tmp_path, "b.hl7", obx_message("OBX|1|NM|751-8^ANC^LN||3.1|10*9/L|7.7||||F"))
    (line,) = outcomes(run("labs", "import", path, "--json"))
    assert line["status"] == "refused" and "a bare number is read as the upper limit only" in line["message"]


# ------------------------------------------------------------------ patient identity

def test_another_centres_mrn_is_refused_in_the_issues_words(run, tmp_path):
    path = write(tmp_path, "o.hl7", obx_message("OBX|1|NM|751-8^ANC^LN||2.1|10*9/L|||||F",
                                                pid="T-HL7-01^^^OTHER-HOSP^MR"))
    (line,) = outcomes(run("labs", "import", path, "--json"))
    assert line["status"] == "refused" and line["message"].startswith("MRN issued by OTHER-HOSP, not by this centre")
    fhir = json.loads((FIXTURES / "fhir-report-cbc-contained.json").read_text())
    fhir["subject"]["identifier"]["system"] = "urn:oid:9.9.9"
    result = run("labs", "import", write(tmp_path, "o.json", json.dumps(fhir)), "--json")
    assert result.exit_code == 1
    assert {o["message"].split(" (")[0] for o in outcomes(result)} == {"MRN issued by urn:oid:9.9.9, not by this "
                                                                        "centre"}


def test_an_mrn_without_issuer_is_local_only_where_the_site_file_says_so(run, tmp_path):
    path = write(tmp_path, "n.hl7", obx_message("OBX|1|NM|751-8^ANC^LN||2.1|10*9/L|||||F", pid="T-HL7-01^^^^MR"))
    (line,) = outcomes(run("labs", "import", path, "--json"))
    assert line["status"] == "refused" and "carries no issuer" in line["message"]
    site = tmp_path / "local.toml"
    site.write_text('site = "x"\n[mrn]\nhl7_authorities = ["DEMO-HOSP"]\naccept_without_issuer = true\n')
    assert run("labs", "import", path, "--site", site).exit_code == 0


def test_no_site_file_refuses_and_a_wrong_one_exits_2(run, tmp_path, monkeypatch):
    path = write(tmp_path, "n.hl7", obx_message("OBX|1|NM|751-8^ANC^LN||2.1|10*9/L|||||F"))
    (tmp_path / "chemo-site.toml").unlink()
    (line,) = outcomes(run("labs", "import", path, "--json"))
    assert line["status"] == "refused" and line["message"].startswith("no site file")
    bad = write(tmp_path, "bad.toml", 'site = "x"\n[mrn]\nhl7_authority = ["DEMO-HOSP"]\n')
    result = run("labs", "import", path, "--site", bad)
    assert result.exit_code == 2 and "hl7_authority" in result.stderr and len(result.stderr.splitlines()) == 1


# ------------------------------------------------------------------ FHIR times from the report

def test_contained_observations_take_their_diagnostic_reports_time(run):
    result = imported(run, "fhir-report-cbc-contained.json")
    assert result.exit_code == 0, result.output
    out = {o["analyte"] or o["source_id"]: o for o in outcomes(result)}
    assert out["hemoglobin"]["at"] == "2026-03-02T08:20:00+01:00"
    assert "time from DiagnosticReport/cbc-contained effectiveDateTime" in out["hemoglobin"]["message"]
    assert out["mcv"]["status"] == "ignored"
    assert verdict(run, "T-FHIR-01")["ready"] is True


def test_panel_members_take_the_time_of_the_report_that_lists_their_panel(run):
    result = imported(run, "fhir-bundle-report-panel.json")
    assert result.exit_code == 0, result.output
    out = {o["analyte"]: o for o in outcomes(result) if o["analyte"]}
    assert {a: o["status"] for a, o in out.items()} == {"creatinine": "imported", "bilirubin": "imported",
                                                        "alt": "imported", "ast": "imported"}
    assert all(o["at"] == "2026-03-02T08:25:00+01:00" for o in out.values())
    assert "DiagnosticReport/chem-1" in out["alt"]["message"]
    alt = next(r for r in rows(run, "T-FHIR-01") if r["source"] == "fhir" and r["analyte"] == "alt")
    assert alt["value_text"] == "24 U/L" and alt["uln_text"] == "40 U/L"  # [IU]/L read as U/L


def test_a_fhir_comparator_is_stored_with_the_value(run, tmp_path):
    from test_labs_import import observation

    obs = observation(value=1000, loinc="777-3", valueQuantity={"value": 1000, "comparator": ">", "code": "10*9/L",
                                                                "system": "http://unitsofmeasure.org"})
    assert run("labs", "import", write(tmp_path, "c.json", json.dumps(obs))).exit_code == 0
    (row,) = [r for r in rows(run, "T-FHIR-01") if r["source"] == "fhir"]
    assert row["comparator"] == ">" and row["value_text"] == "1000 10^9/L"
    gates = {g["analyte"]: g for g in verdict(run, "T-FHIR-01")["gates"]}
    assert gates["platelets"]["status"] == "pass" and gates["platelets"]["value"].startswith(">1000")


def test_chemo_validate_refuses_a_synonym_without_source_or_for_a_code_chemo_does_not_read(tmp_path):
    from chemo.datafile import read_toml
    from chemo.library import check_library_file

    path = tmp_path / "lab-units.toml"
    path.write_text('library = "lab-units"\nsource = "x"\n[[synonyms]]\nspelling = "G/L"\nucum = "giga/L"\n'
                    'source = "y"\n[[synonyms]]\nspelling = "K/uL"\nucum = "10*3/uL"\n', encoding="utf-8")
    problems = [str(p) for p in check_library_file(read_toml(path), "lab-units")]
    assert any("synonyms[1].ucum" in p and "'giga/L' is not a UCUM code chemo reads" in p for p in problems)
    assert any("synonyms[2].source" in p for p in problems)


def test_a_censored_bilirubin_decides_a_dose_band_only_where_its_bound_decides(run, tmp_path):
    low = obx_message("OBX|1|SN|1975-2^Bilirubin^LN||<^0.2|mg/dL|0.2-1.2||||F")
    assert run("labs", "import", write(tmp_path, "low.hl7", low)).exit_code == 0
    report = verdict(run, "T-HL7-01")
    gates = {g["analyte"]: g for g in report["gates"]}
    assert gates["bilirubin"]["status"] == "pass"  # < 0.2 is ≤ 1.0 × ULN 1.2 whatever it is
    assert not [s for s in report["modifications"] if s["analyte"] == "bilirubin"]  # below every band
    high = obx_message("OBX|1|SN|1975-2^Bilirubin^LN||>^2.0|mg/dL|0.2-1.2||||C").replace("M-9", "M-10")
    assert run("labs", "import", write(tmp_path, "high.hl7", high)).exit_code == 0
    report = verdict(run, "T-HL7-01")
    bili = [g for g in report["gates"] if g["analyte"] == "bilirubin"]
    assert bili[0]["status"] == "fail"  # > 2.0 is more than 1.0 × ULN 1.2
    # > 2.0 lies in the 1.2-3 band (50 %) or above it (25 %, 0 %): which dose applies is not decided
    assert any(g["status"] == "missing" and "cannot be decided" in g["message"] for g in bili[1:])
    assert report["ready"] is False


def test_a_clearance_is_not_computed_from_a_censored_creatinine(run, tmp_path):
    text = obx_message("OBX|1|ST|2160-0^Creatinine^LN||<0.3|mg/dL|0.6-1.2||||F")
    assert run("labs", "import", write(tmp_path, "c.hl7", text)).exit_code == 0
    gates = {g["analyte"]: g for g in verdict(run, "T-HL7-01")["gates"]}
    assert gates["egfr"]["status"] == "missing" and "cannot decide" in gates["egfr"]["message"]


def test_a_postgresql_record_looks_for_no_site_file_beside_a_url(monkeypatch):
    from chemo.labs.importer import store_site
    from chemo.labs.site import NoSite

    class PostgresStore:
        engine, path = "postgresql", "postgresql://chemo@db.example/chemo"

    monkeypatch.delenv("CHEMO_SITE", raising=False)
    site = store_site(PostgresStore())
    assert isinstance(site, NoSite) and site.looked == "give --site or set CHEMO_SITE"


# ------------------------------------------------------------------ laws

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FIELD_TEXT = st.text(alphabet=st.sampled_from(list("0123456789.<>=-^&~\\ SKuLgdmol/*xEIU[]µ")), max_size=14)


@settings(max_examples=300, deadline=None)
@given(value=FIELD_TEXT, unit=FIELD_TEXT, ref=FIELD_TEXT, vtype=st.sampled_from(["NM", "SN", "ST", "CE", ""]))
def test_any_obx_5_6_7_is_read_or_refused_with_a_reason_never_an_exception(value, unit, ref, vtype):
    from chemo.labs.hl7 import read_hl7

    (r,) = read_hl7(obx_message(f"OBX|1|{vtype}|751-8^ANC^LN||{value}|{unit}|{ref}||||F"))
    assert (r.problem is None) == (r.row is not None)
    if r.row is not None:  # read: a number in a unit chemo reads, within the possible range
        assert r.number is not None and r.comparator in (None, "<", "<=", ">", ">=")
        assert 0 <= r.row["value"] <= 100


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_after_an_msh_are_decoded_or_refused_as_a_file(tail):
    from chemo.labs.encoding import decode_hl7
    from chemo.labs.result import ImportFileError

    try:
        text, how = decode_hl7(b"\x0bMSH|^~\\&|" + tail + b"\x1c\r")
    except ImportFileError as exc:
        assert exc.message
    else:
        assert "\x0b" not in text and "\x1c" not in text and how
