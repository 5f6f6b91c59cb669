"""``chemo regimen diff`` and ``chemo validate --strict``: what a pharmacist reviewing a new version of a
regimen file is shown (the dose, the gate, the supportive line that changed, with the per cent and the
source of both versions), and the exit code a CI job acts on."""

from __future__ import annotations

import json
import shutil
import subprocess

import attrs
import pytest
from hypothesis import given, strategies as st

from chemo.cli import cli
from chemo.library import load_library
from chemo.regimen import load_regimen, regimen_from_bytes
from chemo.regimen_diff import diff_regimens
from chemo.units import Dose

from cli_support import cli_invoker, one_line
from conftest import REGIMEN_IDS, REGIMENS, mutate_text, regimen_text
from regimen_fields import MUTATIONS, NOT_CLINICAL, WRITTEN_OTHERWISE, base_bytes, uncovered

DI = "doxorubicin-ifosfamide"
OLD_DOX_SOURCE = "Seed 003 (75 mg/m² per cycle); NCCP 00392 (25 mg/m² d1-3)"
NEW_DOX_SOURCE = "Tumour board 2026-12-01: doxorubicin 60 mg/m² per cycle (older patients)"
DOX_60 = (('dose = "75 mg/m²"', 'dose = "60 mg/m²"'), (OLD_DOX_SOURCE, NEW_DOX_SOURCE))
ANC_RETREATMENT = ('value = "1.5 ×10⁹/L"\nmax_age = "3 days"\naction', 'value = "1.0 ×10⁹/L"\nmax_age = "3 days"\naction')
ANC_RETREATMENT_SOURCE = "Retreatment table of clinical.md ('day-of-treatment thresholds"

chemo = cli_invoker(cli)


@pytest.fixture
def pair(tmp_path):
    """(old, new): a copy of the real file and an edited copy of it."""

    def make(*edits, rid=DI):
        old, new = tmp_path / "old.toml", tmp_path / "new.toml"
        old.write_text(regimen_text(rid), encoding="utf-8")
        new.write_text(mutate_text(regimen_text(rid), *edits), encoding="utf-8")
        return old, new

    return make


def test_a_dose_cut_is_shown_with_its_per_cent_and_both_sources(pair):
    old, new = pair(*DOX_60)
    result = chemo("regimen", "diff", old, new)
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    i = lines.index("doxorubicin: dose 75 mg/m² → 60 mg/m² per cycle (−20 %)")
    assert lines[i + 1] == f"  old source: {OLD_DOX_SOURCE}"
    assert lines[i + 2] == f"  new source: {NEW_DOX_SOURCE}"
    assert "doxorubicin: source changed [not clinical]" in lines

    data = json.loads(chemo("regimen", "diff", old, new, "--json").stdout)
    assert data["clinical"] is True
    assert data["old"]["path"] == str(old) and data["new"]["path"] == str(new)
    assert data["old"]["version"] == "1.0" and len(data["new"]["sha256"]) == 64
    dose = next(c for c in data["changes"] if c["item"] == "doxorubicin" and c["field"] == "dose")
    assert dose == {"section": "drug", "item": "doxorubicin", "field": "dose", "old": "75 mg/m² per cycle",
                    "new": "60 mg/m² per cycle", "change_pct": -20.0, "old_source": OLD_DOX_SOURCE,
                    "new_source": NEW_DOX_SOURCE, "clinical": True}


def test_a_comment_only_change_is_no_change(pair):
    old, new = pair(("# Doxorubicin + ifosfamide (AI)", "# Reviewed 2026-12-06. Doxorubicin + ifosfamide (AI)"),
                    ('emetogenic_class = "moderate"  # derived', 'emetogenic_class = "moderate"  # (re)derived'))
    result = chemo("regimen", "diff", old, new)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "no changes"
    assert json.loads(chemo("regimen", "diff", old, new, "--json").stdout)["changes"] == []


def test_a_source_only_change_is_listed_but_not_clinical(pair):
    old, new = pair(DOX_60[1])
    result = chemo("regimen", "diff", old, new)
    assert result.exit_code == 0, result.output
    assert "doxorubicin: source changed [not clinical]" in result.stdout
    data = json.loads(chemo("regimen", "diff", old, new, "--json").stdout)
    assert data["clinical"] is False
    assert [(c["item"], c["field"], c["clinical"], c["old_source"], c["new_source"]) for c in data["changes"]] == [
        ("doxorubicin", "source", False, OLD_DOX_SOURCE, NEW_DOX_SOURCE)]


def test_a_retreatment_gate_threshold_change_is_clinical(pair):
    old, new = pair(ANC_RETREATMENT)
    result = chemo("regimen", "diff", old, new)
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    i = lines.index("ANC retreatment gate: threshold 1.5 ×10⁹/L → 1.0 ×10⁹/L (−33.3 %)")
    assert lines[i + 1].startswith(f"  old source: {ANC_RETREATMENT_SOURCE}")
    assert lines[i + 2].startswith(f"  new source: {ANC_RETREATMENT_SOURCE}")
    change = json.loads(chemo("regimen", "diff", old, new, "--json").stdout)["changes"]
    assert [(c["section"], c["field"], c["old"], c["new"]) for c in change] == [
        ("gate", "threshold", "1.5 ×10⁹/L", "1.0 ×10⁹/L")]


def test_a_removed_supportive_line(pair):
    text = regimen_text(DI)
    start = text.index('[[supportive]]\ncategory = "growth factor"')
    line = text[start:text.index("[[supportive]]", start + 1)]
    old, new = pair((line, ""))
    result = chemo("regimen", "diff", old, new, "--json")
    assert result.exit_code == 1, result.output
    assert [(c["section"], c["item"], c["field"], c["new_source"], c["clinical"])
            for c in json.loads(result.stdout)["changes"]] == [
        ("supportive", "pegfilgrastim", "removed", None, True)]
    assert "pegfilgrastim: removed: growth factor: pegfilgrastim 6 mg SC, day 5 at 0 h" in \
        chemo("regimen", "diff", old, new).stdout


def test_a_per_cycle_dose_over_fewer_days_shows_the_larger_daily_dose(pair):
    old, new = pair(('dose = "9 g/m²"\nper = "cycle"\ndays = [1, 2, 3]', 'dose = "9 g/m²"\nper = "cycle"\ndays = [1, 2]'))
    result = chemo("regimen", "diff", old, new)
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert "ifosfamide: days 1, 2, 3 → 1, 2 (day 3 removed)" in lines
    assert "ifosfamide: daily dose 3000 mg/m² → 4500 mg/m² a day (+50 %)" in lines
    assert "mesna: days 1, 2, 3 → 1, 2 (day 3 removed)" in lines  # mesna follows ifosfamide's days


@pytest.mark.parametrize("edit, words", [
    (None, ("missing.toml", "no such file")),
    (('dose = "75 mg/m²"', 'dose = "75 mg/m³"'), ("new.toml", "drugs[1].dose")),
])
def test_an_unreadable_file_is_one_line_and_exit_2(pair, tmp_path, edit, words):
    old, new = pair(edit) if edit else pair()
    if edit is None:
        new = tmp_path / "missing.toml"
    one_line(chemo("regimen", "diff", old, new), 2, *words)


@pytest.mark.parametrize("args", [("{old}",), ("{old}", "{new}", "--rev", "HEAD"), ()])
def test_two_files_or_one_and_a_revision(pair, args):
    old, new = pair()
    result = chemo("regimen", "diff", *(a.format(old=old, new=new) for a in args))
    assert result.exit_code == 2
    assert "Traceback" not in result.output


@pytest.fixture
def repo(tmp_path):
    """A git repository holding the real file in one commit; the work tree's copy may then be edited."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path / "repo"
    (root / "regimens").mkdir(parents=True)
    path = root / "regimens" / f"{DI}.toml"
    path.write_text(regimen_text(DI), encoding="utf-8")
    git = ["git", "-C", str(root), "-c", "user.name=Pharmacy", "-c", "user.email=pharmacy@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "doxorubicin-ifosfamide 1.0"], check=True)
    return path


def test_diff_against_a_git_revision(repo):
    assert chemo("regimen", "diff", repo, "--rev", "HEAD").exit_code == 0
    repo.write_text(mutate_text(regimen_text(DI), *DOX_60), encoding="utf-8")
    result = chemo("regimen", "diff", repo, "--rev", "HEAD", "--json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["old"]["path"] == f"{repo}@HEAD" and data["new"]["path"] == str(repo)
    assert any(c["field"] == "dose" and c["change_pct"] == -20.0 for c in data["changes"])


@pytest.mark.parametrize("rev, words", [
    ("no-such-branch", ("'no-such-branch' is not a revision",)),
    ("HEAD~5", ("'HEAD~5' is not a revision",)),
    ("--output=/tmp/x", ("'--output=/tmp/x' is not a git revision",)),
])
def test_a_bad_revision_is_one_line_and_exit_2(repo, rev, words):
    one_line(chemo("regimen", "diff", repo, f"--rev={rev}"), 2, str(repo), *words)


def test_a_file_outside_a_repository_with_rev(tmp_path):
    path = tmp_path / "outside" / "r.toml"
    path.parent.mkdir()
    path.write_text(regimen_text(DI), encoding="utf-8")
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    if subprocess.run(["git", "-C", str(path.parent), "rev-parse"], capture_output=True).returncode == 0:
        pytest.skip("the temporary folder lies inside a git repository")
    one_line(chemo("regimen", "diff", path, "--rev", "HEAD"), 2, str(path), "not in a git repository")


# ------------------------------------------------------------------ laws over the parsed regimens

@pytest.fixture(scope="module")
def regimens():
    library = load_library()
    return {rid: load_regimen(REGIMENS / f"{rid}.toml", library) for rid in REGIMEN_IDS}


def _scaled(line, factor):
    amount = line.dose.amount * factor
    return attrs.evolve(line, dose=Dose(amount, line.dose.basis, f"{amount:g} {line.dose.basis.label}"))


def _at(items, i, change):
    items = list(items)
    if items:
        items[i % len(items)] = change(items[i % len(items)])
    return tuple(items)


# each edit: (clinical?, what it does to a regimen given a number)
EDITS = (
    (True, lambda r, n: attrs.evolve(r, drugs=_at(r.drugs, n, lambda d: _scaled(d, 0.8)))),
    (True, lambda r, n: attrs.evolve(r, thresholds=_at(r.thresholds, n, lambda t: attrs.evolve(
        t, max_age_days=t.max_age_days + 1)))),
    (True, lambda r, n: attrs.evolve(r, supportive=r.supportive[:n % max(len(r.supportive), 1)]
                                     + r.supportive[n % max(len(r.supportive), 1) + 1:])),
    (True, lambda r, n: attrs.evolve(r, cumulative=attrs.evolve(r.cumulative, cap=r.cumulative.cap - 50))),
    (True, lambda r, n: attrs.evolve(r, cycles=r.cycles % 6 + 1)),
    (True, lambda r, n: attrs.evolve(r, modifications=_at(r.modifications, n, lambda m: attrs.evolve(
        m, give=m.give / 2)))),
    (False, lambda r, n: attrs.evolve(r, drugs=_at(r.drugs, n, lambda d: attrs.evolve(d, source=f"{d.source} ({n})")))),
    (False, lambda r, n: attrs.evolve(r, version=f"{n}.0", name=f"{r.name} ({n})")),
    (False, lambda r, n: attrs.evolve(r, notes=_at(r.notes, n, lambda x: attrs.evolve(x, text=f"{x.text} ({n})")))),
    (False, lambda r, n: attrs.evolve(r, thresholds=_at(r.thresholds, n, lambda t: attrs.evolve(
        t, source=f"{t.source} ({n})")))),
)

edits = st.lists(st.tuples(st.integers(0, len(EDITS) - 1), st.integers(0, 40)), max_size=4)


def _apply(regimen, chosen):
    for index, n in chosen:
        regimen = EDITS[index][1](regimen, n)
    return regimen


@given(rid=st.sampled_from(REGIMEN_IDS), a_edits=edits, b_edits=edits)
def test_a_diff_is_clinical_both_ways_or_neither(regimens, rid, a_edits, b_edits):
    a, b = _apply(regimens[rid], a_edits), _apply(regimens[rid], b_edits)
    assert diff_regimens(a, a).changes == ()
    assert diff_regimens(a, b).clinical == diff_regimens(b, a).clinical
    if not any(EDITS[i][0] for i, _ in a_edits + b_edits):
        assert not diff_regimens(a, b).clinical


@given(rid=st.sampled_from(REGIMEN_IDS), chosen=edits)
def test_every_change_carries_the_sources_of_its_entries(regimens, rid, chosen):
    old = regimens[rid]
    for change in diff_regimens(old, _apply(old, chosen)).changes:
        assert change.old_source or change.field == "added"
        assert change.new_source or change.field == "removed"


# ------------------------------------------------------------------ chemo validate --strict

def test_strict_validation_requires_a_version(tmp_path):
    path = tmp_path / "unversioned.toml"
    path.write_text(mutate_text(regimen_text(DI), ('version = "1.0"\n', "")), encoding="utf-8")
    assert chemo("validate", path).exit_code == 0
    result = chemo("validate", "--strict", path)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f'{path}: version: missing: --strict requires a version, e.g. version = "1.0"']


def test_shipped_regimens_pass_strict_validation():
    result = chemo("validate", "--strict", REGIMENS)
    assert result.exit_code == 0, result.output


# ------------------------------------------------------------------ every field of a regimen is compared

@pytest.fixture(scope="module")
def base_regimen():
    return regimen_from_bytes(base_bytes(), "base.toml", load_library())


def test_every_field_of_a_regimen_and_its_parts_has_a_mutation():
    """A field added to Regimen, DrugLine, Dose, Derived, Threshold, Bound, Modification, Cumulative, Note,
    Retired, SupportiveLine or Timing fails here until tests/regimen_fields.py changes it (and so the
    diff below must report it) or says why it is not compared."""
    assert uncovered() == []


def _mutation_ids(table):
    return [f"{cls.__name__}.{name}" for cls, name in table]


@pytest.mark.parametrize("key", list(MUTATIONS), ids=_mutation_ids(MUTATIONS))
def test_a_change_to_any_field_is_reported(base_regimen, key):
    changed = MUTATIONS[key](base_regimen)
    assert changed != base_regimen
    for old, new in ((base_regimen, changed), (changed, base_regimen)):
        result = diff_regimens(old, new)
        assert result.changes, f"{key[0].__name__}.{key[1]}: no change reported"
        assert result.clinical is (key not in NOT_CLINICAL), [c.line() for c in result.changes]


@pytest.mark.parametrize("key", list(WRITTEN_OTHERWISE), ids=_mutation_ids(WRITTEN_OTHERWISE))
def test_a_value_written_another_way_is_no_change(base_regimen, key):
    changed = WRITTEN_OTHERWISE[key](base_regimen)
    assert changed != base_regimen
    assert diff_regimens(base_regimen, changed).changes == ()


# ------------------------------------------------------------------ realistic edits of the shipped file, as printed

@pytest.mark.parametrize("edits, code, expected", [
    ((('dose = "75 mg/m²"', 'dose = "0.075 g/m²"'),), 0, "no changes"),
    ((('dose = "75 mg/m²"', 'dose = "75000 µg/m²"'),), 0, "no changes"),
    ((('op = ">="\nvalue = "1.5 ×10⁹/L"', 'op = "≥"\nvalue = "1500 /µL"'),), 0, "no changes"),
    ((('op = ">="\nvalue = "1.5 ×10⁹/L"', 'op = ">"\nvalue = "1.5 ×10⁹/L"'),), 1, "ANC retreatment gate: op >= → >"),
    ((('op = ">="\nvalue = "1.5 ×10⁹/L"', 'op = ">="\nvalue = "1000 /µL"'),), 1,
     "ANC retreatment gate: threshold 1.5 ×10⁹/L → 1000 /µL (−33.3 %)"),
    ((('schedule = ["0 h", "4 h after", "8 h after"]', 'schedule = ["0 h", "4 h after"]'),), 1,
     "mesna: schedule 0 h, 4 h after, 8 h after → 0 h, 4 h after"),
    ((('schedule = ["0 h", "4 h after", "8 h after"]', 'schedule = ["0 min", "240 min after", "8 h after"]'),), 0,
     "no changes"),
    ((('from = "30 mL/min"\nto = "60 mL/min"', 'from = "40 mL/min"\nto = "60 mL/min"'),), 1,
     "ifosfamide CRCL band ≥ 40 mL/min and ≤ 60 mL/min: added: give 75 %"),
    ((('from = "30 mL/min"\nto = "60 mL/min"', 'from = "30 mL/min"\nbelow = "60 mL/min"'),), 1,
     "ifosfamide CRCL band ≥ 30 mL/min and ≤ 60 mL/min: removed: give 75 %"),
    ((('when_cumulative = "300 mg/m²"', 'when_cumulative = "250 mg/m²"'),), 1,
     "dexrazoxane: when_cumulative 300 mg/m² → 250 mg/m² (−16.7 %)"),
    ((('when_cumulative = "300 mg/m²"', 'when_cumulative = "0.3 g/m²"'),), 0, "no changes"),
    ((('cap = "450 mg/m²"', 'cap = "400 mg/m²"'),), 1, "cumulative dose: cap 450 mg/m² → 400 mg/m² (−11.1 %)"),
    ((('dose = "75 mg/m²"\nper = "cycle"', 'dose = "30 mg/m²"\nper = "day"'),), 1,
     "doxorubicin: dose 75 mg/m² per cycle → 30 mg/m² a day (+20 % a cycle)"),
    ((('dose = "8 mg"', 'dose = "16 mg"'),), 1, "ondansetron: dose 8 mg → 16 mg (+100 %)"),
    ((('volume = "1000 mL"', 'volume = "1 L"'),), 0, "no changes"),
    ((('days = [1, 2, 3]\nroute = "IV"\ninfusion = "3 g/m²', 'days = [1, 2]\nroute = "IV"\ninfusion = "3 g/m²'),),
     1, "ifosfamide: daily dose 3000 mg/m² → 4500 mg/m² a day (+50 %)"),
])
def test_a_realistic_edit_is_printed_as_a_pharmacist_reads_it(pair, edits, code, expected):
    old, new = pair(*edits)
    result = chemo("regimen", "diff", old, new)
    assert result.exit_code == code, result.output
    assert expected in result.stdout.splitlines(), result.stdout


def test_retiring_a_regimen_is_a_clinical_change(tmp_path):
    old, new = tmp_path / "old.toml", tmp_path / "new.toml"
    old.write_text(regimen_text(DI), encoding="utf-8")
    new.write_text(regimen_text(DI) + '\n[retired]\ndate = 2026-12-01\nreason = "superseded"\n', encoding="utf-8")
    result = chemo("regimen", "diff", old, new)
    assert result.exit_code == 1, result.output
    assert "regimen: retired (none) → since 2026-12-01: superseded" in result.stdout.splitlines()


def _git(root, *args):
    subprocess.run(["git", "-C", str(root), "-c", "user.name=Pharmacy", "-c", "user.email=pharmacy@example.org",
                    *args], check=True, capture_output=True)


def test_rev_in_a_folder_with_spaces(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path / "regimen committee"
    (root / "AI arm").mkdir(parents=True)
    path = root / "AI arm" / "AI 2026 v1.toml"
    path.write_text(regimen_text(DI), encoding="utf-8")
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "v1")
    path.write_text(mutate_text(regimen_text(DI), *DOX_60), encoding="utf-8")
    result = chemo("regimen", "diff", path, "--rev", "HEAD")
    assert result.exit_code == 1, result.output
    assert "doxorubicin: dose 75 mg/m² → 60 mg/m² per cycle (−20 %)" in result.stdout.splitlines()


def test_rev_of_a_file_renamed_since_is_refused_in_one_line(repo):
    root = repo.parent.parent
    _git(root, "mv", f"regimens/{DI}.toml", "regimens/ai.toml")
    _git(root, "commit", "-q", "-m", "renamed")
    renamed = root / "regimens" / "ai.toml"
    one_line(chemo("regimen", "diff", renamed, "--rev", "HEAD~1"), 2, str(renamed), "not in revision 'HEAD~1'")
    result = chemo("regimen", "diff", repo.parent.parent / "regimens" / "ai.toml", "--rev", "HEAD")
    assert result.exit_code == 0, result.output
