"""The toxicity data files: every problem named with its file and field (chemo validate), never a guess."""

from pathlib import Path

from chemo.validate import validate_file
from chemo.library import load_library

LIB = Path(__file__).resolve().parent.parent / "regimens" / "library"


def problems_of(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return [str(p) for p in validate_file(path, load_library())]


def test_a_rule_naming_an_unknown_drug_term_or_action_is_refused_by_field(tmp_path):
    (tmp_path / "ctcae.toml").write_text((LIB / "ctcae.toml").read_text(encoding="utf-8"), encoding="utf-8")
    found = problems_of(tmp_path, "toxicity-rules.toml", '''library = "toxicity-rules"
source = "test"
[[rules]]
id = "x"
drugs = ["doxorubicn"]
term = "febrile-neutropaenia"
grade = 3
action = "lower"
text = "t"
source = "s"
''')
    name = str(tmp_path / "toxicity-rules.toml")
    assert f"{name}: rules[1].drugs[1]: 'doxorubicn' is not a drug of the drug library" in found
    assert f"{name}: rules[1].term: 'febrile-neutropaenia' is not a term of ctcae.toml" in found
    assert any(p.startswith(f"{name}: rules[1].action: 'lower' is not one of") for p in found)


def test_a_ctcae_derivation_without_its_unit_or_on_an_undefined_grade_is_refused(tmp_path):
    found = problems_of(tmp_path, "ctcae.toml", '''library = "ctcae"
version = "CTCAE v5.0"
source = "s"
[terms.febrile-neutropenia]
term = "Febrile neutropenia"
soc = "Blood"
grades = { 3 = "x" }
source = "s"
derive = [{ grade = 2, analyte = "anc", op = "<", value = "1.5" }]
''')
    name = str(tmp_path / "ctcae.toml")
    assert f"{name}: terms.febrile-neutropenia.derive[1].grade: grade 2 is not defined for this term" in found
    assert any(p.startswith(f"{name}: terms.febrile-neutropenia.derive[1].value:") for p in found)


def test_the_rdi_target_is_the_rules_files_value_with_its_unit_and_source(tmp_path):
    """85 % is a data value: a rules file without [rdi], or with a target without its % sign, is refused by field."""
    from chemo.toxicity_data import load

    (tmp_path / "ctcae.toml").write_text((LIB / "ctcae.toml").read_text(encoding="utf-8"), encoding="utf-8")
    target = load()[1].rdi_target
    assert target.pct == 85 and "PMC6549670" in target.source
    rules = (LIB / "toxicity-rules.toml").read_text(encoding="utf-8")
    without = rules.replace('[rdi]\ntarget = "85 %"\n', "[rdi]\n")
    assert without != rules
    name = str(tmp_path / "toxicity-rules.toml")
    assert any(p.startswith(f"{name}: rdi.target:") for p in problems_of(tmp_path, "toxicity-rules.toml", without))
    bare = rules.replace('target = "85 %"', "target = 85")
    assert any(p.startswith(f"{name}: rdi.target:") for p in problems_of(tmp_path, "toxicity-rules.toml", bare))
