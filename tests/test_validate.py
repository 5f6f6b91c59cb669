"""``validate_paths`` and ``chemo validate``: every class of bad file gives a problem line
naming the file and the field, never a traceback.

Each case edits a copy of a real regimen file (conftest ``mutated``) so that the
problem found is the one edit made.
"""

from __future__ import annotations

import json
import random
import re

import pytest

from chemo.datafile import FILE, MAX_FILE_BYTES, Problem
from chemo.validate import validate_paths

from conftest import LIBRARY, REGIMEN_IDS, REGIMENS, mutate_text, regimen_text

DI = "doxorubicin-ifosfamide"
PLD = "pld-ifosfamide-anlotinib"


def problems_of(path) -> list[Problem]:
    files, problems = validate_paths([path])
    assert [str(f) for f in files] == [str(path)]
    for p in problems:
        assert isinstance(p, Problem)
        assert p.file == str(path)
        assert isinstance(p.path, str) and p.path
        assert isinstance(p.message, str) and p.message.strip()
        assert "\n" not in str(p), "a problem is one line"
        assert "Traceback" not in p.message
    return problems


def the_problem(path, field: str, *words: str) -> Problem:
    """The first problem of the file is at ``field`` and its message has every word.

    Problems that follow from it (a mesna dose above its limit after a ten-fold
    ifosfamide dose) may come after it; see ``test_one_bad_dose_is_not_reported_as_a_missing_drug``.
    """
    problems = problems_of(path)
    assert problems, f"no problem found, expected one at {field}"
    problem = problems[0]
    assert problem.path == field, "\n".join(map(str, problems))
    for word in words:
        assert word.lower() in problem.message.lower(), str(problem)
    assert str(problem) == f"{path}: {field}: {problem.message}"
    return problem


def a_problem_at(path, field: str, *words: str) -> Problem:
    """At least one problem is at ``field`` with every word (other problems may follow from it)."""
    problems = problems_of(path)
    at = [p for p in problems if p.path == field and all(w.lower() in p.message.lower() for w in words)]
    assert at, f"no problem at {field} with {words}:\n" + "\n".join(map(str, problems))
    return at[0]


# ---------------------------------------------------------------- the real files

def test_real_files_are_valid():
    files, problems = validate_paths([REGIMENS])
    assert problems == [], "\n".join(map(str, problems))
    names = sorted(f.name for f in files)
    assert names == sorted([f"{r}.toml" for r in REGIMEN_IDS] + ["analytes.toml", "body-size.toml", "drugs.toml",
                                                                           "lab-units.toml", "ctcae.toml",
                                                                           "toxicity-rules.toml"])


# ---------------------------------------------------------------- doses

@pytest.mark.parametrize("dose", ["9 g/m3", "9 g/m³", "9 g/mL"])
def test_ifosfamide_dose_of_the_wrong_dimension(mutated, dose):
    """Seed 003 writes "9 g/m3": a mass per volume is not a dose."""
    path = mutated(DI, ('dose = "9 g/m²"', f'dose = "{dose}"'))
    the_problem(path, "drugs[2].dose", "not a dose", dose)


def test_doxorubicin_dose_in_mg_per_ml(mutated):
    path = mutated(DI, ('dose = "75 mg/m²"', 'dose = "75 mg/mL"'))
    the_problem(path, "drugs[1].dose", "not a dose")


@pytest.mark.parametrize("dose", ["75 mg/furlong", "75 mgs/m²", "75 mcg/sqm"])
def test_unknown_unit(mutated, dose):
    path = mutated(DI, ('dose = "75 mg/m²"', f'dose = "{dose}"'))
    the_problem(path, "drugs[1].dose", "unknown unit")


def test_dose_without_a_unit(mutated):
    path = mutated(DI, ('dose = "75 mg/m²"', 'dose = "75"'))
    the_problem(path, "drugs[1].dose", "no unit")


def test_dose_as_a_bare_number(mutated):
    path = mutated(DI, ('dose = "75 mg/m²"', 'dose = 75'))
    the_problem(path, "drugs[1].dose", "expected a dose")


@pytest.mark.parametrize("rid, old, new, field", [
    (DI, 'dose = "75 mg/m²"', 'dose = "750 mg/m²"', "drugs[1].dose"),  # ten-fold: trailing zero
    (DI, 'dose = "9 g/m²"', 'dose = "90 g/m²"', "drugs[2].dose"),
    ("doxorubicin-dacarbazine", 'dose = "1 g/m²"', 'dose = "10 g/m²"', "drugs[2].dose"),
    ("epirubicin-ifosfamide", 'dose = "120 mg/m²"', 'dose = "1200 mg/m²"', "drugs[1].dose"),
    (PLD, 'dose = "40 mg/㎡"', 'dose = "400 mg/㎡"', "drugs[1].dose"),
    (PLD, 'dose = "10 mg"', 'dose = "100 mg"', "drugs[3].dose"),
])
def test_ten_fold_dose_is_outside_the_plausible_range(mutated, rid, old, new, field):
    path = mutated(rid, (old, new))
    problem = the_problem(path, field, "above the largest plausible")
    assert "source" not in problem.message or problem.message  # the limit's source is cited
    assert re.search(r"label|limit", problem.message)


def test_per_day_for_a_course_total_is_caught(mutated):
    """The Betsy Lehman error: a course total given every day. 9 g/m² 'per day' on d1-3
    is 27 g/m² per cycle, 9 g/m² a day, above ifosfamide's 5 g/m² single-dose limit."""
    path = mutated(DI, ('per = "cycle"', 'per = "day"', 2))
    the_problem(path, "drugs[2].dose", "a day", "above")


def test_mg_where_mg_per_m2_was_meant_for_a_flat_only_drug(mutated):
    """Anlotinib is a flat oral dose: "10 mg/m²" is a basis error."""
    path = mutated(PLD, ('dose = "10 mg"', 'dose = "10 mg/m²"'))
    the_problem(path, "drugs[3].dose", "not dosed in mg/m²")


def test_mg_per_kg_for_a_drug_dosed_per_m2(mutated):
    path = mutated(DI, ('dose = "75 mg/m²"', 'dose = "75 mg/kg"'))
    the_problem(path, "drugs[1].dose", "not dosed in mg/kg")


def test_flat_dose_off_the_anlotinib_ladder(mutated):
    """NMPA label: 12, 10, 8 mg capsules; 9 mg is not a step."""
    path = mutated(PLD, ('dose = "10 mg"', 'dose = "9 mg"'))
    the_problem(path, "drugs[3].dose", "ladder")


def test_zero_dose(mutated):
    path = mutated(DI, ('dose = "75 mg/m²"', 'dose = "0 mg/m²"'))
    the_problem(path, "drugs[1].dose", "more than 0")


def test_negative_dose(mutated):
    path = mutated(DI, ('dose = "75 mg/m²"', 'dose = "-75 mg/m²"'))
    the_problem(path, "drugs[1].dose", "negative")


def test_dose_with_per_day_in_the_unit(mutated):
    path = mutated(DI, ('dose = "75 mg/m²"', 'dose = "25 mg/m²/day"'))
    the_problem(path, "drugs[1].dose", "per day or per cycle")


@pytest.mark.parametrize("rid, old, new, field", [
    (DI, 'dose = "75 mg/m²"', 'dose = "75 mg/mL"', "drugs[1].dose"),
    (DI, 'dose = "9 g/m²"', 'dose = "9 g/m3"', "drugs[2].dose"),
    (DI, 'dose = "75 mg/m²"', 'dose = "75"', "drugs[1].dose"),
    ("doxorubicin-dacarbazine", "days = [1]", "days = [1, 22]", "drugs[1].days"),
])
def test_one_bad_dose_is_not_reported_as_a_missing_drug(mutated, rid, old, new, field):
    """One wrong dose is one problem. Doxorubicin is listed in [[drugs]]: a line saying
    "'doxorubicin' is not a drug of this regimen" (for each of its modification bands,
    for mesna's "from") is false, and buries the real problem in noise."""
    path = mutated(rid, (old, new))
    problems = problems_of(path)
    assert [p.path for p in problems] == [field], "\n".join(map(str, problems))


# ---------------------------------------------------------------- drugs

def test_unknown_drug(mutated):
    path = mutated(DI, ('drug = "doxorubicin"', 'drug = "doxorubicine"'))
    problem = a_problem_at(path, "drugs[1].drug", "unknown drug", "doxorubicine")
    assert "doxorubicin" in problem.message  # the library's ids are listed


def test_drug_alias_must_be_the_library_id(mutated):
    path = mutated(DI, ('drug = "doxorubicin"', 'drug = "adriamycin"'))
    a_problem_at(path, "drugs[1].drug", "alias", "'doxorubicin'")


def test_drug_listed_twice(mutated):
    block = '\n[[drugs]]\ndrug = "ifosfamide"\ndose = "1 g/m²"\nper = "day"\ndays = [1]\nroute = "IV"\nsource = "test"\n'
    path = mutated(DI, append=block)
    the_problem(path, "drugs[3].drug", "listed twice")


def test_derived_drug_listed_twice(mutated):
    block = ('\n[[derived]]\ndrug = "mesna"\nfrom = "ifosfamide"\nfraction = "20 %"\nroute = "IV"\n'
             'source = "test"\n')
    path = mutated(DI, append=block)
    the_problem(path, "derived[2].drug", "listed twice")


def test_wrong_route(mutated):
    path = mutated(PLD, ('route = "PO"', 'route = "IV"'))
    the_problem(path, "drugs[3].route", "not a route for anlotinib")


# ---------------------------------------------------------------- days, per

def test_day_outside_the_cycle(mutated):
    """Day 22 in a 21-day cycle."""
    path = mutated("doxorubicin-dacarbazine", ("days = [1]", "days = [1, 22]", 2))
    the_problem(path, "drugs[2].days", "day 22", "outside the cycle", "1-21")


def test_day_zero(mutated):
    path = mutated("doxorubicin-dacarbazine", ("days = [1]", "days = [0]", 2))
    the_problem(path, "drugs[2].days", "day 0")


def test_day_listed_twice(mutated):
    path = mutated("doxorubicin-dacarbazine", ("days = [1]", "days = [1, 1]", 2))
    the_problem(path, "drugs[2].days", "twice")


def test_days_not_a_list(mutated):
    path = mutated("doxorubicin-dacarbazine", ("days = [1]", 'days = "1-3"', 2))
    the_problem(path, "drugs[2].days", "list of day numbers")


def test_missing_per_marker(mutated):
    """Every dose must say whether it is per day or per cycle."""
    path = mutated(DI, ('per = "cycle"\n', ""))
    the_problem(path, "drugs[1].per", "missing", "day", "cycle")


@pytest.mark.parametrize("per", ["week", "Day", "course", "d"])
def test_bad_per_marker(mutated, per):
    path = mutated(DI, ('per = "cycle"', f'per = "{per}"'))
    the_problem(path, "drugs[1].per", "day", "cycle")


def test_cycle_length_without_unit(mutated):
    path = mutated(DI, ('cycle_length = "21 days"', 'cycle_length = "21"'))
    a_problem_at(path, "cycle_length", "no unit")


@pytest.mark.parametrize("length", ["21 mg", "21.5 days", "0 days", "100 days"])
def test_bad_cycle_length(mutated, length):
    path = mutated(DI, ('cycle_length = "21 days"', f'cycle_length = "{length}"'))
    a_problem_at(path, "cycle_length")


def test_cycle_length_in_weeks_is_accepted(mutated):
    path = mutated(DI, ('cycle_length = "21 days"', 'cycle_length = "3 weeks"'))
    assert problems_of(path) == []


# ---------------------------------------------------------------- thresholds

def test_platelets_threshold_in_g_per_dl(mutated):
    path = mutated(DI, ('value = "100 ×10⁹/L"', 'value = "100 g/dL"'))
    the_problem(path, "thresholds[3].value", "does not fit platelets")


def test_hemoglobin_threshold_in_cells_per_litre(mutated):
    path = mutated(DI, ('value = "9.0 g/dL"', 'value = "9.0 10^9/L"'))
    the_problem(path, "thresholds[1].value", "does not fit hemoglobin")


@pytest.mark.parametrize("value", ["5.6 mmol/L", "90 g/L"])
def test_hemoglobin_threshold_in_another_unit_is_accepted(mutated, value):
    """9.0 g/dL = 5.59 mmol/L (× 0.6206): substance concentration converts through the library factor."""
    path = mutated(DI, ('value = "9.0 g/dL"', f'value = "{value}"'))
    assert problems_of(path) == []


@pytest.mark.parametrize("value", ["1500 /µL", "1.5 G/L", "1500 /mm³"])
def test_anc_threshold_in_other_count_units_is_accepted(mutated, value):
    path = mutated(DI, ('value = "1.5 ×10⁹/L"', f'value = "{value}"'))
    assert problems_of(path) == []


def test_platelets_written_100G_per_L_without_a_space_mean_100_x10e9_per_L(mutated):
    """"100G/L" is 100 ×10⁹/L: it must load as that, or be refused, never as another number."""
    from chemo.regimen import load_regimen

    path = mutated(DI, ('value = "100 ×10⁹/L"', 'value = "100G/L"'))
    if problems_of(path):
        return
    platelets = next(t for t in load_regimen(path).thresholds if t.analyte == "platelets")
    assert platelets.value.quantity.to("1/L").magnitude == pytest.approx(100e9, rel=1e-12)


@pytest.mark.parametrize("unit", ["mL/min/m²", "mL/min/m2", "ml/min/m2"])
def test_egfr_per_m2_is_refused_as_ambiguous(mutated, unit):
    """Seed 003 writes eGFR > 50 "ml/min/m2": per 1.73 m² or per m²? Refuse it."""
    path = mutated(DI, ('value = "50 mL/min/1.73 m²"', f'value = "50 {unit}"'))
    the_problem(path, "thresholds[4].value", "ambiguous")


@pytest.mark.parametrize("op", ["=>", "=", "gt", "≧", ""])
def test_bad_operator(mutated, op):
    path = mutated(DI, ('op = ">="', f'op = "{op}"'))
    a_problem_at(path, "thresholds[8].op")


@pytest.mark.parametrize("op", ["≥", ">"])
def test_other_operator_spellings_are_kept_as_written(mutated, op):
    from chemo.regimen import load_regimen

    path = mutated(DI, ('op = ">="', f'op = "{op}"'))
    assert problems_of(path) == []
    lvef = next(t for t in load_regimen(path).thresholds if t.analyte == "lvef")
    assert lvef.op_text == op


def test_unknown_analyte(mutated):
    path = mutated(DI, ('analyte = "platelets"', 'analyte = "plt"'))
    the_problem(path, "thresholds[3].analyte", "unknown analyte", "'platelets'")


@pytest.mark.parametrize("value", ["0 × ULN", "-1 × ULN", "1.5 × LLN"])
def test_bad_uln_multiple(mutated, value):
    path = mutated(DI, ('value = "1.5 × ULN"', f'value = "{value}"'))
    a_problem_at(path, "thresholds[6].value")


@pytest.mark.parametrize("value", ["1.5 x ULN", "1.5 ULN", "1.5*ULN", "1.5 × uln"])
def test_uln_multiple_spellings(mutated, value):
    path = mutated(DI, ('value = "1.5 × ULN"', f'value = "{value}"'))
    assert problems_of(path) == []


def test_threshold_without_max_age_unit(mutated):
    path = mutated(DI, ('max_age = "90 days"', 'max_age = "90"'))
    the_problem(path, "thresholds[8].max_age", "no unit")


def test_threshold_far_outside_the_analytes_plausible_range(mutated):
    """"100000 ×10⁹/L" (a /µL count written with the 10⁹/L unit) is 1000 times the
    platelet range the library calls plausible (0-3000 ×10⁹/L): a ×1000 error."""
    path = mutated(DI, ('value = "100 ×10⁹/L"', 'value = "100000 ×10⁹/L"'))
    a_problem_at(path, "thresholds[3].value")


# ---------------------------------------------------------------- percentages

@pytest.mark.parametrize("old, new, field", [
    ('fraction = "60 %"', 'fraction = "60 mg/kg"', "derived[1].fraction"),
    ('give = "50 %"', 'give = "50 mg/kg"', "modifications[1].give"),
    ('value = "50 %"', 'value = "50 mg/kg"', "thresholds[8].value"),
])
def test_per_kg_value_is_not_a_percentage(mutated, old, new, field):
    """pint calls mg/kg dimensionless; a mesna fraction of "60 mg/kg" must not become 0.006 %."""
    path = mutated(DI, (old, new))
    a_problem_at(path, field)


@pytest.mark.parametrize("old, new, field", [
    ('fraction = "60 %"', 'fraction = "60"', "derived[1].fraction"),
    ('fraction = "60 %"', 'fraction = "600 %"', "derived[1].fraction"),
    ('fraction = "60 %"', 'fraction = "0 %"', "derived[1].fraction"),
    ('give = "50 %"', 'give = "150 %"', "modifications[1].give"),
    ('give = "50 %"', 'give = "0.5"', "modifications[1].give"),
    ('from = "ifosfamide"', 'from = "doxorubicin-x"', "derived[1].from"),
])
def test_bad_fraction(mutated, old, new, field):
    path = mutated(DI, (old, new))
    a_problem_at(path, field)


# ---------------------------------------------------------------- modifications, cumulative

def test_band_with_both_from_and_above(mutated):
    path = mutated(DI, ('from = "1.2 mg/dL"', 'from = "1.2 mg/dL"\nabove = "1.2 mg/dL"'))
    a_problem_at(path, "modifications[1].above", "not both")


def test_band_without_bounds(mutated):
    path = mutated(DI, ('from = "1.2 mg/dL"\nto = "3 mg/dL"\n', ""))
    a_problem_at(path, "modifications[1]", "bound")


def test_band_for_a_drug_not_in_the_regimen(mutated):
    path = mutated(DI, ('drug = "doxorubicin"\nanalyte = "bilirubin"', 'drug = "epirubicin"\nanalyte = "bilirubin"'))
    a_problem_at(path, "modifications[1].drug", "not a drug of this regimen")


def test_band_bound_in_the_wrong_unit(mutated):
    path = mutated(DI, ('from = "1.2 mg/dL"', 'from = "1.2 mL/min"'))
    the_problem(path, "modifications[1].from", "does not fit bilirubin")


def test_cumulative_unknown_model(mutated):
    path = mutated(DI, ('model = "seed-003-cap-ratio"', 'model = "seed-003"'))
    the_problem(path, "cumulative.model", "unknown equivalence model")


def test_cumulative_cap_in_mg(mutated):
    path = mutated(DI, ('cap = "450 mg/m²"', 'cap = "450 mg"'))
    the_problem(path, "cumulative.cap", "mass")


def test_cumulative_warning_after_the_cap(mutated):
    path = mutated(DI, ('warn_at = "300 mg/m²"', 'warn_at = "500 mg/m²"'))
    the_problem(path, "cumulative.warn_at", "before the cap")


def test_missing_cumulative(mutated):
    text = regimen_text(DI)
    start, end = text.index("[cumulative]"), text.index("[[drugs]]")
    path = mutated(DI, (text[start:end], ""))
    the_problem(path, "cumulative", "missing")


# ---------------------------------------------------------------- unknown keys, missing keys

def test_unknown_key_dose_per(mutated):
    """A typo: "dose_per" for "per". The unknown key and the missing "per" are both reported."""
    path = mutated(DI, ('per = "cycle"', 'dose_per = "cycle"'))
    problems = problems_of(path)
    assert sorted(p.path for p in problems[:2]) == ["drugs[1].dose_per", "drugs[1].per"], "\n".join(map(str, problems))
    unknown = next(p for p in problems if p.path == "drugs[1].dose_per")
    assert "unknown key" in unknown.message


def test_unknown_key_valeu(mutated):
    path = mutated(DI, ('value = "9.0 g/dL"', 'valeu = "9.0 g/dL"'))
    problems = problems_of(path)
    assert sorted(p.path for p in problems) == ["thresholds[1].valeu", "thresholds[1].value"]
    unknown = next(p for p in problems if p.path == "thresholds[1].valeu")
    assert "unknown key" in unknown.message and "'value'" in unknown.message  # did you mean 'value'?


@pytest.mark.parametrize("key", ["cycle_lenght", "Cycles", "note"])
def test_unknown_top_level_key(mutated, key):
    path = mutated(DI, append=f'\n{key} = "x"\n')
    # a table header earlier in the file would swallow an appended key: put it first
    text = path.read_text(encoding="utf-8")
    path.write_text(f'{key} = "x"\n' + text.replace(f'\n{key} = "x"\n', ""), encoding="utf-8")
    the_problem(path, key, "unknown key")


@pytest.mark.parametrize("line, field", [
    ('id = "doxorubicin-dacarbazine"\n', "id"),
    ('cycles = 3\n', "cycles"),
    ('source = "Seed 003"\n', "drugs[1].source"),
    ('route = "IV"\n', "drugs[1].route"),
    ('analyte = "anc"\n', "thresholds[2].analyte"),
    ('max_age = "90 days"\n', "thresholds[8].max_age"),
])
def test_missing_required_key(mutated, line, field):
    rid = "doxorubicin-dacarbazine"
    path = mutated(rid, (line, ""))
    a_problem_at(path, field, "missing")


@pytest.mark.parametrize("old, new, field", [
    ('cycles = 3', 'cycles = "3"', "cycles"),
    ('cycles = 3', 'cycles = 3.0', "cycles"),
    ('cycles = 3', 'cycles = true', "cycles"),
    ('cycles = 3', 'cycles = 0', "cycles"),
    ('cycles = 3', 'cycles = 99', "cycles"),
    ('id = "doxorubicin-ifosfamide"', 'id = "Doxorubicin Ifosfamide"', "id"),
    ('id = "doxorubicin-ifosfamide"', 'id = ""', "id"),
    ('days = [1, 2, 3]', 'days = [1, 2, true]', "drugs[1].days"),
])
def test_wrong_type(mutated, old, new, field):
    path = mutated(DI, (old, new))
    the_problem(path, field)


# ---------------------------------------------------------------- files that are not regimens

def test_empty_file(write_file):
    path = write_file("empty.toml", "")
    the_problem(path, FILE, "empty")


def test_blank_file(write_file):
    path = write_file("blank.toml", "\n\n   \n")
    the_problem(path, FILE, "empty")


def test_comment_only_file(write_file):
    path = write_file("comment.toml", "# nothing here\n")
    the_problem(path, FILE, "no keys")


@pytest.mark.parametrize("text", ['id = "x"\n[[drugs]\n', "dose = 75 mg/m²\n", "= =\n", "[a]\n[a]\n", '"unterminated'])
def test_not_toml(write_file, text):
    path = write_file("bad.toml", text)
    the_problem(path, FILE, "not valid TOML")


def test_not_utf8(write_file):
    data = regimen_text(DI).encode("utf-8").replace("m²".encode(), "m\xb2".encode("latin-1"), 1)
    path = write_file("latin1.toml", data)
    the_problem(path, FILE, "not UTF-8")


def test_utf16_file(write_file):
    path = write_file("utf16.toml", regimen_text(DI).encode("utf-16"))
    the_problem(path, FILE)


def test_nul_bytes(write_file):
    path = write_file("nul.toml", b'id = "x"\x00\n')
    the_problem(path, FILE, "NUL")


def test_absurdly_large_file(write_file):
    padding = "# " + "x" * 1000 + "\n"
    text = regimen_text(DI) + padding * (MAX_FILE_BYTES // len(padding) + 1)
    assert len(text.encode()) > 256 * 1024
    path = write_file("huge.toml", text)
    the_problem(path, FILE, "bytes")


def test_deeply_nested_toml(write_file):
    path = write_file("deep.toml", "a = " + "[" * 5000 + "]" * 5000 + "\n")
    problems_of(path)  # a problem, not a RecursionError
    assert validate_paths([path])[1]


def test_utf8_bom_is_accepted(write_file):
    path = write_file("bom.toml", b"\xef\xbb\xbf" + regimen_text(DI).encode())
    assert problems_of(path) == []


def test_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    the_problem(path, FILE, "no such file")


def test_folder_gives_its_toml_files(tmp_path, mutated):
    good = mutated(DI)
    bad = mutated(DI, ('dose = "75 mg/m²"', 'dose = "750 mg/m²"'), name="bad")
    (tmp_path / "notes.txt").write_text("not checked")
    files, problems = validate_paths([tmp_path])
    assert sorted(files) == sorted([good, bad])
    assert [p.file for p in problems] == [str(bad)]


def test_array_of_tables_of_the_wrong_shape(mutated):
    path = mutated(DI, append='\n')
    text = path.read_text(encoding="utf-8")
    path.write_text('thresholds = "none"\n' + text.split("# ----------------------------------------------------------------"
                                                        " readiness labs")[0], encoding="utf-8")
    a_problem_at(path, "thresholds", "array of tables")


def test_drugs_missing_entirely(mutated):
    text = regimen_text("doxorubicin-dacarbazine")
    start, end = text.index("[[drugs]]"), text.index("# ------", text.index("[[drugs]]"))
    path = mutated("doxorubicin-dacarbazine", (text[start:end], ""))
    a_problem_at(path, "drugs", "missing")


# ---------------------------------------------------------------- library files

def test_library_file_with_a_typo(tmp_path):
    text = (LIBRARY / "drugs.toml").read_text(encoding="utf-8")
    path = tmp_path / "drugs.toml"
    path.write_text(mutate_text(text, ('routes = ["IV"]', 'rootes = ["IV"]')), encoding="utf-8")
    problems = problems_of(path)
    assert any(p.path == "drugs.doxorubicin.rootes" and "unknown key" in p.message for p in problems)
    assert any(p.path == "drugs.doxorubicin.routes" and "missing" in p.message for p in problems)


def test_library_file_with_a_bad_limit(tmp_path):
    text = (LIBRARY / "drugs.toml").read_text(encoding="utf-8")
    path = tmp_path / "drugs.toml"
    path.write_text(mutate_text(text, ('single = ["90 mg/m²"', 'single = ["90 mg/mL"')), encoding="utf-8")
    a_problem_at(path, "drugs.doxorubicin.max.single[1]", "not a dose")


def test_unknown_library_kind(write_file):
    path = write_file("lib.toml", 'library = "drugz"\n')
    the_problem(path, "library", "expected one of")


# ---------------------------------------------------------------- several problems at once

def test_several_problems_in_one_file_are_all_reported(mutated):
    path = mutated(
        DI,
        ('dose = "75 mg/m²"', 'dose = "750 mg/m²"'),  # ten-fold
        ('value = "100 ×10⁹/L"', 'value = "100 g/dL"'),  # platelets in g/dL
        ('op = ">="', 'op = "=>"'),  # not an operator
        ('value = "50 mL/min/1.73 m²"', 'value = "50 mL/min/m2"'),  # ambiguous
        ('warn_at = "300 mg/m²"', 'warn_at = "300 mg"'),  # not per m²
    )
    problems = problems_of(path)
    assert [p.path for p in problems] == [
        "cumulative.warn_at", "drugs[1].dose", "thresholds[3].value", "thresholds[4].value", "thresholds[8].op",
    ] or sorted(p.path for p in problems) == sorted([
        "cumulative.warn_at", "drugs[1].dose", "thresholds[3].value", "thresholds[4].value", "thresholds[8].op",
    ]), "\n".join(map(str, problems))
    assert len(problems) == 5


def test_problems_of_several_files(mutated):
    a = mutated(DI, ('dose = "75 mg/m²"', 'dose = "750 mg/m²"'), name="a")
    b = mutated(PLD, ('dose = "10 mg"', 'dose = "100 mg"'), name="b")  # above 12 mg, and off the ladder
    files, problems = validate_paths([a, b])
    assert files == [a, b]
    assert [p.file for p in problems].count(str(a)) == 1
    assert [p.file for p in problems].count(str(b)) == 2


# ---------------------------------------------------------------- chemo validate (CLI)

def _no_traceback(result):
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


def test_cli_valid_files_exit_0(runner, chemo_cli):
    result = runner.invoke(chemo_cli, ["validate", str(REGIMENS)])
    _no_traceback(result)
    assert result.exit_code == 0, result.output
    assert "10 files checked, 0 invalid, 0 problems" in result.output


def test_cli_invalid_file_exit_1_with_problem_lines(runner, chemo_cli, mutated):
    path = mutated(DI, ('dose = "75 mg/m²"', 'dose = "750 mg/m²"'), ('value = "100 ×10⁹/L"', 'value = "100 g/dL"'))
    result = runner.invoke(chemo_cli, ["validate", str(path)])
    _no_traceback(result)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{path}: drugs[1].dose: ")
    assert lines[1].startswith(f"{path}: thresholds[3].value: ")
    assert "1 file checked, 1 invalid, 2 problems" in result.stderr


def test_cli_mixed_valid_and_invalid_exit_1(runner, chemo_cli, mutated):
    bad = mutated(DI, ('dose = "75 mg/m²"', 'dose = "75"'), name="bad")
    result = runner.invoke(chemo_cli, ["validate", str(REGIMENS / f"{DI}.toml"), str(bad)])
    _no_traceback(result)
    assert result.exit_code == 1


def test_cli_json_shape(runner, chemo_cli, mutated):
    path = mutated(DI, ('dose = "75 mg/m²"', 'dose = "750 mg/m²"'), ('op = ">="', 'op = "=>"'))
    result = runner.invoke(chemo_cli, ["validate", "--json", str(path)])
    _no_traceback(result)
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert isinstance(data, list) and len(data) == 2
    for item in data:
        assert set(item) == {"file", "path", "message"}
        assert all(isinstance(v, str) and v for v in item.values())
        assert item["file"] == str(path)
    assert [d["path"] for d in data] == ["drugs[1].dose", "thresholds[8].op"]


def test_cli_json_valid_is_an_empty_array(runner, chemo_cli):
    result = runner.invoke(chemo_cli, ["validate", "--json", str(REGIMENS)])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []


def test_cli_json_keeps_non_ascii(runner, chemo_cli, mutated):
    path = mutated(DI, ('value = "50 mL/min/1.73 m²"', 'value = "50 mL/min/m²"'))
    result = runner.invoke(chemo_cli, ["validate", "--json", str(path)])
    data = json.loads(result.stdout)
    assert "m²" in data[0]["message"]


@pytest.mark.parametrize("args", [[], ["--json"], ["--bogus", "x.toml"]])
def test_cli_usage_error_exit_2(runner, chemo_cli, args):
    result = runner.invoke(chemo_cli, ["validate", *args])
    _no_traceback(result)
    assert result.exit_code == 2


def test_cli_nonexistent_path_exit_2(runner, chemo_cli, tmp_path):
    result = runner.invoke(chemo_cli, ["validate", str(tmp_path / "nope.toml")])
    _no_traceback(result)
    assert result.exit_code == 2
    assert "nope.toml" in result.output


def test_cli_folder_without_toml_files_exit_2(runner, chemo_cli, tmp_path):
    result = runner.invoke(chemo_cli, ["validate", str(tmp_path)])
    _no_traceback(result)
    assert result.exit_code == 2
    assert "no .toml files" in result.stderr


@pytest.mark.parametrize("content", [b"", b"\xff\xfe\x00junk", b"= = =", b"a = [" * 3000])
def test_cli_garbage_file_exit_1_never_a_traceback(runner, chemo_cli, write_file, content):
    path = write_file("junk.toml", content)
    result = runner.invoke(chemo_cli, ["validate", str(path)])
    _no_traceback(result)
    assert result.exit_code == 1
    assert result.stdout.startswith(f"{path}: {FILE}: ")


# ---------------------------------------------------------------- fuzz

UNIT_SWAPS = {  # a unit of a dose swapped for one that can never be that dose
    "mg/m²": ["mg/mL", "g/m3", "mg/dL", "mL", "%", "10^9/L", "mg/m²/day", "furlong"],
    "g/m²": ["g/m3", "g/L", "mL/min", "m²", "days"],
    "mg/㎡": ["mg/m³", "mg/L", "mg/min"],
    "g/㎡": ["g/dL", "g/m3"],
}
OTHER_SWAPS = ["g/dL", "mmol/L", "10^9/L", "mL/min", "%", "mg", "days", "× ULN", "mg/kg", "", "furlong"]
REQUIRED = {"id", "name", "indication", "source", "cycle_length", "cycles", "day_split", "drug", "dose", "per",
            "days", "route", "fraction", "analyte", "op", "value", "max_age", "give", "model", "cap", "warn_at"}
NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?![\w.])")


def _mutation(text: str, rng: random.Random) -> tuple[bytes, bool, str]:
    """One random mutation: (bytes, whether it must give a problem, what was done)."""
    lines = text.splitlines(keepends=True)
    kind = rng.choice(["dose10", "scale", "unit", "delete", "truncate", "junk", "bytes", "dup", "swapline"])
    if kind == "dose10":
        idx = [i for i, l in enumerate(lines) if l.startswith("dose = ")]
        i = rng.choice(idx)
        line = NUMBER.sub(lambda m: str(float(m.group(1)) * 10), lines[i], count=1)
        lines[i] = line
        return "".join(lines).encode(), True, f"×10 line {i + 1}"
    if kind == "scale":
        hits = [m for m in NUMBER.finditer(text)]
        m = rng.choice(hits)
        factor = rng.choice([10, 0.1, 100, 0.01])
        new = repr(float(m.group(1)) * factor)
        return (text[:m.start()] + new + text[m.end():]).encode(), False, f"scale {m.group(1)} by {factor}"
    if kind == "unit":
        idx = [i for i, l in enumerate(lines) if l.startswith("dose = ")]
        i = rng.choice(idx)
        for unit, swaps in UNIT_SWAPS.items():
            if f' {unit}"' in lines[i]:
                lines[i] = lines[i].replace(f' {unit}"', f' {rng.choice(swaps)}"')
                return "".join(lines).encode(), True, f"dose unit swap line {i + 1}"
        j = rng.choice([k for k, l in enumerate(lines) if l.startswith(("value =", "cap =", "warn_at =", "give ="))])
        lines[j] = re.sub(r'(\d) ?[^"\d][^"]*"', lambda m: f'{m.group(1)} {rng.choice(OTHER_SWAPS)}"', lines[j], count=1)
        return "".join(lines).encode(), False, f"unit swap line {j + 1}"
    if kind == "delete":
        idx = [i for i, l in enumerate(lines) if re.match(r"^[a-z_]+ = ", l)]
        i = rng.choice(idx)
        key = lines[i].split(" = ")[0]
        del lines[i]
        return "".join(lines).encode(), key in REQUIRED, f"delete {key} line {i + 1}"
    if kind == "truncate":
        data = text.encode()
        cut = rng.randrange(0, len(data))
        return data[:cut], cut < text.index("[[drugs]]"), f"truncate at {cut}"
    if kind == "junk":
        data = bytearray(text.encode())
        pos = rng.randrange(0, len(data))
        junk = rng.choice([b"\xff", b"\xc3\x28", b"\x00", b"\xed\xa0\x80", b"\xfe\xff"])
        data[pos:pos] = junk
        return bytes(data), True, f"junk {junk!r} at {pos}"
    if kind == "bytes":
        data = bytearray(text.encode())
        for _ in range(rng.randint(1, 5)):
            pos = rng.randrange(0, len(data))
            data[pos] = rng.choice(b"=[]{}\"'#\n\\ 0123456789.,-+x%")
        return bytes(data), False, "random ascii bytes"
    if kind == "dup":
        i = rng.choice([i for i, l in enumerate(lines) if l.startswith("[[drugs]]")])
        end = next((k for k in range(i + 1, len(lines)) if lines[k].startswith("[")), len(lines))
        block = "".join(lines[i:end])
        return (text + "\n" + block).encode(), True, "duplicate a drug block"
    # swapline: move a key line into another table
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[i], lines[j] = lines[j], lines[i]
    return "".join(lines).encode(), False, f"swap lines {i + 1} and {j + 1}"


@pytest.mark.parametrize("rid", REGIMEN_IDS)
def test_fuzzed_regimens_give_problems_never_exceptions(tmp_path, rid):
    """60 seeded mutations per file (240 in all): validate_paths never raises; a mutation
    that must be wrong (a ×10 dose, a dose unit swapped for a non-dose, a required key
    deleted, bad bytes, a drug listed twice) gives at least one problem; a file whose
    parsed document is unchanged gives none."""
    import tomllib

    text = regimen_text(rid)
    original = tomllib.loads(text)
    rng = random.Random(f"chemo-fuzz-{rid}")
    for n in range(60):
        data, must_fail, what = _mutation(text, rng)
        path = tmp_path / f"{rid}-{n}.toml"
        path.write_bytes(data)
        try:
            files, problems = validate_paths([path])
        except Exception as exc:  # pragma: no cover - the failure message is the point
            pytest.fail(f"{what}: validate_paths raised {type(exc).__name__}: {exc}")
        for p in problems:
            assert isinstance(p, Problem) and p.file == str(path) and p.path and p.message, (what, p)
            assert "\n" not in str(p), (what, str(p))
        if must_fail:
            assert problems, f"{what}: no problem found"
        try:
            same = tomllib.loads(data.decode("utf-8").lstrip("\ufeff")) == original
        except (UnicodeDecodeError, tomllib.TOMLDecodeError):
            same = False
        if same:
            assert problems == [], (what, problems)


# ---------------------------------------------------------------- ten-fold underdoses, bands, eGFR units

@pytest.mark.parametrize("rid,edit,field,words", [
    (DI, ('dose = "75 mg/m²"', 'dose = "7.5 mg/m²"'), "drugs[1].dose", ("below the smallest plausible dose",)),
    (DI, ('dose = "9 g/m²"', 'dose = "0.9 g/m²"'), "drugs[2].dose", ("below the smallest plausible dose",)),
    (PLD, ('dose = "40 mg/㎡"', 'dose = "4 mg/㎡"'), "drugs[1].dose", ("below the smallest plausible dose",)),
    ("doxorubicin-dacarbazine", ('dose = "1 g/m²"', 'dose = "0.1 g/m²"'), "drugs[2].dose",
     ("below the smallest plausible dose",)),
    (DI, ('fraction = "60 %"', 'fraction = "6 %"'), "derived[1].fraction", ("outside the plausible 20-150 %",)),
])
def test_a_regimen_dose_divided_by_ten_is_refused(mutated, rid, edit, field, words):
    """The library's smallest plausible doses catch a misplaced decimal point in a regimen file."""
    the_problem(mutated(rid, edit), field, *words)


def test_an_egfr_threshold_in_ml_per_min_is_refused(mutated):
    """A de-indexed eGFR threshold would need each patient's BSA: thresholds are written indexed."""
    path = mutated(DI, ('value = "50 mL/min/1.73 m²"', 'value = "50 mL/min"'))
    the_problem(path, "thresholds[4].value", "mL/min/1.73 m²", "BSA")


def test_an_egfr_threshold_without_the_square_metres_is_refused(mutated):
    """'mL/min/1.73' (the lab-report shorthand) would silently divide by 1.73."""
    path = mutated(DI, ('value = "50 mL/min/1.73 m²"', 'value = "50 mL/min/1.73"'))
    the_problem(path, "thresholds[4].value", "number inside")


def test_an_empty_band_is_refused(mutated):
    path = mutated("doxorubicin-dacarbazine", ('above = "45 mL/min"\nto = "60 mL/min"', 'above = "60 mL/min"\nto = "45 mL/min"'))
    the_problem(path, "modifications[4]", "empty")


def test_a_band_mixing_uln_and_an_absolute_value_is_refused(mutated):
    path = mutated("doxorubicin-dacarbazine", ('from = "1.2 mg/dL"\nto = "3 mg/dL"', 'from = "1.2 × ULN"\nto = "3 mg/dL"'))
    the_problem(path, "modifications[1]", "mixes a multiple of ULN")
