"""`chemo regimen export --fhir` and `chemo regimen import` (issue 24): a regimen as a FHIR R4 PlanDefinition and back.

The exported JSON is validated with fhir.resources.  fhir.resources 8 has no R4 package: its
default models are R5 and it ships R4B (4.3.0) and STU3; the R4B models
(``fhir.resources.R4B``) are the closest to R4 and are the ones used here.  Every element chemo
writes (PlanDefinition, ActivityDefinition, Dosage, Timing, Expression, Quantity) is an R4 element
of the same type; R4B's changes lie elsewhere (medication definition, subscriptions, evidence).
"""

from __future__ import annotations

import copy
import json

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chemo.cli import cli
from chemo.errors import ChemoError
from chemo.fhir import EXT, UCUM
from chemo.fhir.export import export_regimen, percent
from chemo.fhir.importing import import_regimen
from chemo.regimen import Bound, load_regimen, regimen_from_bytes
from chemo.units import Basis, Dose, in_unit, parse_quantity

from cli_support import cli_invoker, one_line
from conftest import REGIMEN_IDS, REGIMENS
from regimen_fields import MUTATIONS, NO_VALID_MUTATION, VALID_MUTATIONS, WRITTEN_OTHERWISE, base_bytes

chemo = cli_invoker(cli)


@pytest.fixture(scope="module")
def regimens(library):
    return {rid: load_regimen(rid, library) for rid in REGIMEN_IDS}


@pytest.fixture(scope="module")
def exported(regimens, library):
    return {rid: export_regimen(r, library) for rid, r in regimens.items()}


def _same(a, b) -> bool:
    """Equal regimens, whatever file (path, hash) each was read from."""
    return attrs.evolve(a, path="", sha256="") == attrs.evolve(b, path="", sha256="")


def _activity(doc, aid):
    return next(r for r in doc["contained"] if r["id"] == aid)


def _part(ext, name):
    return next(e for e in ext["extension"] if e["url"] == name)


# ------------------------------------------------------------------ the round trip

@pytest.mark.parametrize("rid", REGIMEN_IDS)
def test_export_then_import_gives_the_same_regimen(rid, regimens, exported, library):
    text = import_regimen(exported[rid], f"{rid}.json", library)
    back = regimen_from_bytes(text.encode("utf-8"), f"{rid}.json", library)
    assert _same(back, regimens[rid])
    for before, after in zip(regimens[rid].drugs, back.drugs):  # the Dose objects, not only their text
        assert (after.dose.amount, after.dose.basis, after.dose.text) == (before.dose.amount, before.dose.basis,
                                                                          before.dose.text)


def test_a_retired_regimen_round_trips_with_its_date_reason_and_successor(library):
    data = (REGIMENS / "doxorubicin-dacarbazine.toml").read_bytes() + (
        b'\n[retired]\ndate = 2026-11-30\nreason = "superseded by the epirubicin arm"\n'
        b'replaced_by = "epirubicin-ifosfamide"\n')
    regimen = regimen_from_bytes(data, "retired.toml", library)
    doc = export_regimen(regimen, library)
    assert doc["status"] == "retired"
    assert {a["status"] for a in doc["contained"]} == {"retired"}
    back = regimen_from_bytes(import_regimen(doc, "retired.json", library).encode(), "retired.json", library)
    assert _same(back, regimen)
    assert str(back.retired.date) == "2026-11-30" and back.retired.replaced_by == "epirubicin-ifosfamide"
    from fhir.resources.R4B.plandefinition import PlanDefinition

    PlanDefinition.model_validate(doc)


def test_a_bundle_holding_the_plan_imports_the_same(exported, regimens, library):
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"fullUrl": "urn:uuid:2f0c5c1e-0000-4000-8000-000000000001",
                         "resource": exported["epirubicin-ifosfamide"]}]}
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)
    back = regimen_from_bytes(import_regimen(bundle, "b.json", library).encode(), "b.json", library)
    assert _same(back, regimens["epirubicin-ifosfamide"])


@settings(max_examples=60, deadline=None)
@given(st.decimals(min_value="0.001", max_value="200", places=3))
def test_a_percentage_is_written_so_that_it_reads_back_the_same(p):
    fraction = in_unit(parse_quantity(f"{p} %", "%"), "")
    assert in_unit(parse_quantity(f"{percent(fraction)} %", "%"), "") == fraction


@pytest.fixture(scope="module")
def dd_bytes():
    data = (REGIMENS / "doxorubicin-dacarbazine.toml").read_bytes()
    assert data.count('dose = "75 mg/m²"'.encode()) == 1  # the doxorubicin line
    return data


@settings(max_examples=25, deadline=None)
@given(tenths=st.integers(100, 900), unit=st.sampled_from(["mg/m²", "mg/m2", "mg/㎡", "mg/m^2", "g/m²"]))
def test_any_written_dose_round_trips_to_the_same_dose(dd_bytes, library, tenths, unit):
    """Doxorubicin 10-90 mg/m² (its plausible range), however the file spells the unit."""
    from decimal import Decimal

    amount = Decimal(tenths) / 10 / (1000 if unit.startswith("g") else 1)
    data = dd_bytes.replace('dose = "75 mg/m²"'.encode(), f'dose = "{amount} {unit}"'.encode())
    regimen = regimen_from_bytes(data, "dd.toml", library)
    back = regimen_from_bytes(import_regimen(export_regimen(regimen, library), "dd.json", library).encode(),
                              "dd.json", library)
    assert back.drugs[0].dose == regimen.drugs[0].dose
    assert _same(back, regimen)


# ------------------------------------------------------------------ what the JSON says

@pytest.mark.parametrize("rid", REGIMEN_IDS)
def test_the_exported_json_validates_as_fhir(rid, exported):
    from fhir.resources.R4B.activitydefinition import ActivityDefinition
    from fhir.resources.R4B.plandefinition import PlanDefinition

    doc = json.loads(json.dumps(exported[rid]))  # as a file holds it
    PlanDefinition.model_validate(doc)
    for resource in doc["contained"]:  # each one on its own, whatever the container's model checks
        ActivityDefinition.model_validate(resource)
    assert doc["version"] == "1.0" and doc["status"] == "active"


def test_doses_are_in_ucum_per_administration_with_the_cycle_total(exported):
    doxo = _activity(exported["doxorubicin-ifosfamide"], "drug-doxorubicin")
    dosage = doxo["dosage"][0]
    # 75 mg/m² per cycle over days 1-3: 25 mg/m² a day, 75 mg/m² per 21 days
    assert dosage["doseAndRate"][0]["doseQuantity"] == {"value": 25, "unit": "mg/m2", "system": UCUM, "code": "mg/m2"}
    assert dosage["maxDosePerPeriod"]["numerator"]["value"] == 75
    assert dosage["maxDosePerPeriod"]["denominator"]["value"] == 21
    assert _part(dosage["extension"][0], "text")["valueString"] == "75 mg/m²"
    assert dosage["route"]["text"] == "IV"
    dacarbazine = _activity(exported["doxorubicin-dacarbazine"], "drug-dacarbazine")
    assert dacarbazine["dosage"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 1000  # 1 g/m² on day 1
    anlotinib = _activity(exported["pld-ifosfamide-anlotinib"], "drug-anlotinib")
    assert anlotinib["dosage"][0]["doseAndRate"][0]["doseQuantity"]["code"] == "mg"


def test_each_line_is_an_action_of_the_cycle_with_its_days(exported, regimens):
    doc = exported["pld-ifosfamide-anlotinib"]
    (cycle,) = doc["action"]
    assert cycle["timingTiming"]["repeat"] == {"count": 3, "period": 21, "periodUnit": "d"}
    r = regimens["pld-ifosfamide-anlotinib"]
    assert len(cycle["action"]) == len(r.drugs) + len(r.derived) + len(r.supportive) == len(doc["contained"])
    anlotinib = next(a for a in cycle["action"] if a["definitionCanonical"] == "#drug-anlotinib")
    assert [_part(e, "day")["valueInteger"] for e in anlotinib["extension"]] == list(range(1, 15))


@pytest.mark.parametrize("rid", REGIMEN_IDS)
def test_each_gate_is_a_condition_of_the_cycle(rid, exported, regimens):
    conditions = exported[rid]["action"][0]["condition"]
    thresholds = regimens[rid].thresholds
    assert len(conditions) == len(thresholds)
    for cond, gate in zip(conditions, thresholds):
        assert cond["kind"] == "applicability"
        assert cond["expression"]["expression"].startswith(f"%{gate.analyte} {gate.op} ")
        details = cond["expression"]["extension"][0]
        assert details["url"] == EXT + "gate"
        assert _part(details, "value")["valueString"] == gate.value.text
        assert _part(details, "kind")["valueCode"] == gate.kind


# ------------------------------------------------------------------ the commands

def test_export_writes_the_json_and_import_reads_it_back(tmp_path, regimens):
    out = tmp_path / "ai.json"
    result = chemo("regimen", "export", "doxorubicin-ifosfamide", "--fhir", "--out", out)
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text(encoding="utf-8"))["resourceType"] == "PlanDefinition"
    toml = tmp_path / "ai.toml"
    result = chemo("regimen", "import", out, "--out", toml)
    assert result.exit_code == 0, result.output
    assert _same(load_regimen(toml), regimens["doxorubicin-ifosfamide"])
    stdout = chemo("regimen", "export", REGIMENS / "doxorubicin-ifosfamide.toml", "--fhir")
    assert json.loads(stdout.output)["id"] == "doxorubicin-ifosfamide"


def test_export_without_a_format_is_a_usage_error_naming_fhir():
    result = chemo("regimen", "export", "doxorubicin-ifosfamide")
    assert result.exit_code == 2
    assert "--fhir" in result.output


def _import(tmp_path, content):
    path = tmp_path / "in.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return chemo("regimen", "import", path)


def test_import_refuses_a_file_that_is_not_json(tmp_path):
    one_line(_import(tmp_path, "id = 'not json'"), 2, "in.json", "not valid JSON")


def test_import_refuses_a_resource_that_is_not_a_plan(tmp_path):
    one_line(_import(tmp_path, {"resourceType": "Patient"}), 2, "resourceType", "'Patient'", "PlanDefinition")


def test_import_refuses_a_dose_in_a_unit_chemo_cannot_read(tmp_path, exported):
    doc = copy.deepcopy(exported["doxorubicin-ifosfamide"])
    doc["contained"][0]["dosage"][0]["doseAndRate"][0]["doseQuantity"]["code"] = "mg/furlong"
    one_line(_import(tmp_path, doc), 2, "PlanDefinition.contained[0].dosage[0].doseAndRate[0].doseQuantity.code",
             "'mg/furlong'", "mg/m2")


def test_import_refuses_a_dose_quantity_that_disagrees_with_the_written_dose(tmp_path, exported):
    doc = copy.deepcopy(exported["doxorubicin-ifosfamide"])
    doc["contained"][0]["dosage"][0]["doseAndRate"][0]["doseQuantity"]["value"] = 250  # ten-fold 25 mg/m² a day
    one_line(_import(tmp_path, doc), 2, "doseQuantity", "250 mg/m²", "disagrees", "75 mg/m²")


def test_import_refuses_a_missing_element_naming_it(tmp_path, exported):
    doc = copy.deepcopy(exported["doxorubicin-dacarbazine"])
    del doc["action"][0]["condition"][2]["expression"]["extension"]
    one_line(_import(tmp_path, doc), 2, "PlanDefinition.action[0].condition[2].expression", "missing", EXT + "gate")


def test_a_problem_of_the_regimen_names_the_element_it_came_from(tmp_path, exported):
    doc = copy.deepcopy(exported["doxorubicin-dacarbazine"])
    doc["contained"][0]["dosage"][0]["route"] = {"text": "PO"}  # doxorubicin is given IV only
    one_line(_import(tmp_path, doc), 2, "PlanDefinition.contained[0]", "drugs[1].route", "'PO'")


def _paths(value, path=()):
    yield path
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, inner in items:
        yield from _paths(inner, path + (key,))


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_a_damaged_document_is_imported_or_refused_never_a_crash(exported, library, data):
    """Any element removed or replaced by a value of another kind: refused in one line naming the file (a damaged
    document that still reads as a regimen, such as a dose band without its lower bound, too), never a crash;
    imported only when the "damage" left the document as exported."""
    original = exported["doxorubicin-ifosfamide"]
    doc = copy.deepcopy(original)
    paths = list(_paths(doc))[1:]
    path = data.draw(st.sampled_from(paths))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    junk = data.draw(st.sampled_from([None, -1, 1.5, True, "", "x", [], {}, [1], {"a": 1}, 1e308, "mg"]))
    if junk is None and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = junk
    try:
        import_regimen(doc, "damaged.json", library)
    except ChemoError as exc:
        assert "\n" not in str(exc) and "damaged.json" in str(exc)
    else:
        assert doc == original


# ------------------------------------------------------------------ every field survives the round trip

@pytest.fixture(scope="module")
def base_regimen(library):
    return regimen_from_bytes(base_bytes(), "base.toml", library)


def _round_trip(regimen, library):
    text = import_regimen(json.loads(json.dumps(export_regimen(regimen, library))), "r.json", library)
    return regimen_from_bytes(text.encode("utf-8"), "r.json", library)


FIELD_KEYS = [k for k in {**MUTATIONS, **WRITTEN_OTHERWISE} if k not in NO_VALID_MUTATION]


@pytest.mark.parametrize("key", FIELD_KEYS, ids=[f"{c.__name__}.{n}" for c, n in FIELD_KEYS])
def test_a_change_to_any_field_survives_export_and_import(base_regimen, library, key):
    """Each field changed on its own: the regimen read back is the changed one (a field added to a regimen
    class fails tests/test_regimen_diff.py until tests/regimen_fields.py changes it, and then here)."""
    change = VALID_MUTATIONS.get(key) or MUTATIONS.get(key) or WRITTEN_OTHERWISE[key]
    changed = change(base_regimen)
    assert not _same(changed, base_regimen)
    assert _same(_round_trip(changed, library), changed)


def test_the_fields_with_no_valid_mutation_are_not_defaults_in_the_base_round_trip(base_regimen, library):
    assert _same(_round_trip(base_regimen, library), base_regimen)
    assert base_regimen.emetogenic_class == "moderate" and base_regimen.retired and base_regimen.bsa_cap == 2.0
    assert {d.route for d in base_regimen.drugs} == {"IV"} and base_regimen.derived[0].drug == "mesna"


# ------------------------------------------------------------------ hostile documents: refused in one line, never guessed

def _line(doc, test):
    return next(r for r in doc["contained"] if test(r))


def _action(doc, test):
    return next(a for a in doc["action"][0]["action"] if test(a["definitionCanonical"]))


def _dose_quantity(doc):
    return doc["contained"][0]["dosage"][0]["doseAndRate"][0]["doseQuantity"]


def _twice_referenced(doc):  # ondansetron's definition named by a second action: 16 mg a day
    acts = doc["action"][0]["action"]
    acts.append(copy.deepcopy(_action(doc, lambda ref: "ondansetron" in ref)))


def _unreferenced(doc):
    doc["action"][0]["action"] = [a for a in doc["action"][0]["action"] if "pegfilgrastim" not in a["definitionCanonical"]]


def _duplicate_id(doc):
    doc["contained"][1]["id"] = doc["contained"][0]["id"]


def _ondansetron_three_a_day(doc):
    _line(doc, lambda r: "ondansetron" in r["id"])["dosage"][0]["timing"]["repeat"]["frequency"] = 3


def _mesna_schedule_dropped(doc):  # frequency 3 stays: mesna would be read as one dose a day
    del _line(doc, lambda r: r["id"].startswith("derived-"))["dosage"][0]["timing"]["extension"]


def _mesna_on_day_1_only(doc):
    action = _action(doc, lambda ref: ref.startswith("#derived-"))
    action["extension"] = action["extension"][:1]


def _dexrazoxane_dose_quantity(doc):
    _line(doc, lambda r: "dexrazoxane" in r["id"])["dosage"][0]["doseAndRate"] = [
        {"doseQuantity": {"value": 500, "unit": "mg/m2", "system": UCUM, "code": "mg/m2"}}]


def _mesna_dose_quantity(doc):
    _line(doc, lambda r: r["id"].startswith("derived-"))["dosage"][0]["doseAndRate"] = [
        {"doseQuantity": {"value": 9000, "unit": "mg/m2", "system": UCUM, "code": "mg/m2"}}]


def _cycle_total_tenfold(doc):
    doc["contained"][0]["dosage"][0]["maxDosePerPeriod"]["numerator"]["value"] = 750


def _modifier(doc):  # e.g. a "do not perform" the importer would not understand
    doc["contained"][0]["dosage"][0]["modifierExtension"] = [{"url": "https://example.org/not-given", "valueBoolean": True}]


def _second_dose(doc):
    rates = doc["contained"][0]["dosage"][0]["doseAndRate"]
    rates.append({"doseQuantity": {**rates[0]["doseQuantity"], "value": 250}})


def _every_other_day(doc):
    _line(doc, lambda r: "ondansetron" in r["id"])["dosage"][0]["timing"]["repeat"]["period"] = 2


def _ondansetron_time_dropped(doc):  # "30 min before" would have become "0 h"
    del _line(doc, lambda r: "ondansetron" in r["id"])["dosage"][0]["timing"]["extension"]


def _micrograms_alone(doc):  # no written dose, no cycle total: 25 ug/m2 is taken as the dose, and is implausible
    dosage = doc["contained"][0]["dosage"][0]
    del dosage["extension"], dosage["maxDosePerPeriod"]
    dosage["doseAndRate"][0]["doseQuantity"].update(code="ug/m2", unit="ug/m2")


def _without(url_end):
    def edit(doc):
        doc["extension"] = [e for e in doc["extension"] if not e["url"].endswith(url_end)]
    return edit


def _without_when_cumulative(doc):  # dexrazoxane would be given from cycle 1
    line = _line(doc, lambda r: "dexrazoxane" in r["id"])
    line["extension"] = [e for e in line["extension"] if not e["url"].endswith("/when-cumulative")]


def _without_condition(doc):
    del doc["action"][0]["condition"][-1]


def _description_tenfold_lower(doc):  # what a FHIR viewer shows a nurse: 7.5 mg/m², while the data say 75
    action = _action(doc, lambda ref: ref == "#drug-doxorubicin")
    action["description"] = action["description"].replace("75 mg/m²", "7.5 mg/m²")


def _gate_description_other(doc):
    condition = doc["action"][0]["condition"][1]["expression"]
    condition["description"] = condition["description"].replace("1.5", "0.5")


HOSTILE = {
    "a dose shown in µg/m² for the code mg/m2": (lambda d: _dose_quantity(d).update(unit="µg/m²"),
                                                 ("doseQuantity.unit", "'µg/m²'", "another unit")),
    "a line described with another dose": (_description_tenfold_lower, ("action[0].description", "7.5 mg/m²",
                                                                         "disagrees")),
    "a gate described with another value": (_gate_description_other, ("condition[1].expression.description",
                                                                      "disagrees")),
    "the dose bands lost": (_without("/dose-band"), ("entries", "modifications: the regimen has 6", "gives 0")),
    "dexrazoxane's start lost": (_without_when_cumulative, ("entries", "when-cumulative: the regimen has 1", "gives 0")),
    "a gate lost": (_without_condition, ("entries", "thresholds: the regimen has 12", "gives 11")),
    "the counts lost": (_without("/entries"), ("missing", "entries")),
    "25 ug/m2 with nothing to check it against": (_micrograms_alone, ("drugs[1].dose", "25 µg/m²", "below")),
    "a supportive line without its time of the day": (_ondansetron_time_dropped, ("dosage[0].timing", "times of the day")),
    "a modifierExtension": (_modifier, ("contained[0].dosage[0].modifierExtension", "does not know")),
    "a second doseAndRate": (_second_dose, ("dosage[0].doseAndRate", "2 doses")),
    "every other day": (_every_other_day, ("repeat.period", "every 2 d", "every day")),
    "a huge integer dose": (lambda d: _dose_quantity(d).update(value=10 ** 400), ("doseQuantity.value", "too large")),
    "a huge integer cycle length": (lambda d: d["action"][0]["timingTiming"]["repeat"].update(period=10 ** 400),
                                    ("repeat.period", "too large")),
    "a dose of 1e308": (lambda d: _dose_quantity(d).update(value=1e308), ("doseQuantity.value", "too large")),
    "a negative dose": (lambda d: _dose_quantity(d).update(value=-25), ("doseQuantity.value", "0 or more")),
    "µg/m2 for mg/m2 (1000 × off)": (lambda d: _dose_quantity(d).update(code="ug/m2", unit="ug/m2"),
                                     ("25 µg/m²", "disagrees", "75 mg/m²")),
    "mg/m² (not UCUM)": (lambda d: _dose_quantity(d).update(code="mg/m²"), ("doseQuantity.code", "'mg/m²'")),
    "µg (not UCUM ug)": (lambda d: _dose_quantity(d).update(code="µg/m2"), ("doseQuantity.code", "'µg/m2'")),
    "two contained resources with one id": (_duplicate_id, ("contained[1].id", "'drug-doxorubicin'", "second")),
    "a definition named by two actions": (_twice_referenced, ("definitionCanonical", "#supportive-1-ondansetron",
                                                               "one ActivityDefinition per line")),
    "a contained definition no action names": (_unreferenced, ("contained[", "no action")),
    "frequency 3 with one time of the day": (_ondansetron_three_a_day, ("repeat.frequency", "3 times a day")),
    "mesna's schedule dropped": (_mesna_schedule_dropped, ("repeat.frequency", "3 times a day", "1 time")),
    "mesna on other days than ifosfamide": (_mesna_on_day_1_only, ("derived from ifosfamide", "1, 2, 3")),
    "a ratio line with a doseQuantity": (_dexrazoxane_dose_quantity, ("doseAndRate", "ratio line")),
    "a derived line with a doseQuantity": (_mesna_dose_quantity, ("doseAndRate", "derived line")),
    "a cycle total ten-fold the written dose": (_cycle_total_tenfold, ("maxDosePerPeriod.numerator", "750 mg/m²",
                                                                       "disagrees")),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_document_is_refused_in_one_line(tmp_path, exported, name):
    edit, words = HOSTILE[name]
    doc = copy.deepcopy(exported["doxorubicin-ifosfamide"])
    edit(doc)
    path = tmp_path / "in.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    one_line(chemo("regimen", "import", path), 2, "in.json", *words)


@pytest.mark.parametrize("raw, words", [
    ('{"resourceType": "PlanDefinition", "id": "a", "id": "b"}', ("the key 'id' is given twice",)),
    ('{"resourceType": "PlanDefinition", "x": ' + "[" * 50000 + "]" * 50000 + "}", ("nested too deeply",)),
    ('{"resourceType": "PlanDefinition", "x": NaN}', ("NaN",)),
    ('{"resourceType": "PlanDefinition", "x": -Infinity}', ("Infinity",)),
])
def test_hostile_json_is_refused_in_one_line(tmp_path, raw, words):
    one_line(_import(tmp_path, raw), 2, "in.json", *words)


def test_a_document_changed_after_the_export_is_refused_even_where_it_reads_as_a_regimen(exported, library):
    """Import reads chemo's own export back unchanged.  25 mg/m² rewritten as 25000 µg/m² is the same dose, and a
    dose band's lower bound deleted, or a gate's each-day check, reads as another valid regimen (bilirubin at
    most 3 mg/dL: doxorubicin 50 %, also for a normal bilirubin): each is refused, naming the element."""
    from chemo.errors import RegimenError

    def band_without_its_lower_bound(doc):
        band = next(e for e in doc["extension"] if e["url"].endswith("/dose-band")
                    and any(p["url"] == "from" for p in e["extension"]))
        band["extension"] = [p for p in band["extension"] if p["url"] != "from"]

    def unit_rewritten(doc):
        _dose_quantity(doc).update(value=25000, code="ug/m2", unit="µg/m²")

    for damage in (unit_rewritten, band_without_its_lower_bound):
        doc = copy.deepcopy(exported["doxorubicin-ifosfamide"])
        damage(doc)
        with pytest.raises(RegimenError, match="not as chemo exported it") as refused:
            import_regimen(doc, "changed.json", library)
        assert "PlanDefinition." in str(refused.value), damage.__name__


def test_gate_quantities_are_written_in_ucum_in_the_analyte_unit(exported):
    expressions = [c["expression"]["expression"] for c in exported["doxorubicin-ifosfamide"]["action"][0]["condition"]]
    assert "%anc > 1.5 '10*9/L'" in expressions and "%platelets >= 50 '10*9/L'" in expressions
    assert "%egfr > 50 'mL/min/{1.73_m2}'" in expressions and "%hemoglobin > 9 'g/dL'" in expressions
    assert "%bilirubin <= 1 * %bilirubin.uln" in expressions
    assert not any("×" in e or "⁹" in e or "²" in e for e in expressions)


def test_a_gate_written_per_microlitre_is_exported_in_10_9_per_litre(base_regimen, library):
    regimen = WRITTEN_OTHERWISE[(Bound, "text")](base_regimen)  # the ANC retreatment gate as "1500 /µL"
    expressions = [c["expression"]["expression"] for c in export_regimen(regimen, library)["action"][0]["condition"]]
    assert "%anc >= 1.5 '10*9/L'" in expressions


def test_a_gate_expression_that_disagrees_with_its_extension_is_refused(tmp_path, exported):
    doc = copy.deepcopy(exported["doxorubicin-ifosfamide"])
    i = next(i for i, c in enumerate(doc["action"][0]["condition"]) if c["expression"]["expression"].startswith("%anc"))
    doc["action"][0]["condition"][i]["expression"]["expression"] = "%anc > 0.5 '10*9/L'"
    one_line(_import(tmp_path, doc), 2, f"condition[{i}].expression.expression", "0.5", "disagrees", "1.5 '10*9/L'")


def test_a_lost_bsa_cap_is_refused(tmp_path, base_regimen, library):
    doc = export_regimen(base_regimen, library)
    doc["extension"] = [e for e in doc["extension"] if not e["url"].endswith("/bsa-cap")]
    one_line(_import(tmp_path, doc), 2, "entries", "bsa-cap: the regimen has 1", "gives 0")


@pytest.mark.parametrize("dose, per, quantity, total", [
    (Dose(1.2, Basis.PER_KG, "1.2 mg/kg"), "cycle", (0.4, "mg/kg"), (1.2, "mg/kg")),  # split over days 1-3
    (Dose(2, Basis.PER_KG, "2 mg/kg"), "day", (2, "mg/kg"), (6, "mg/kg")),
    (Dose(5, Basis.AUC, "AUC 5"), "cycle", (5 / 3, "mg.min/mL"), (5, "mg.min/mL")),
    (Dose(9000, Basis.PER_M2, "9 g/m²"), "cycle", (3000, "mg/m2"), (9000, "mg/m2")),
])
def test_dose_quantity_is_one_administration_in_ucum_whatever_the_basis(base_regimen, library, dose, per, quantity,
                                                                          total):
    """The export of any basis (no drug of the library is dosed per kg yet, so the line is built, not read)."""
    regimen = attrs.evolve(base_regimen, drugs=(attrs.evolve(base_regimen.drugs[1], dose=dose, per=per),
                                                *base_regimen.drugs[:1]))
    dosage = _activity(export_regimen(regimen, library), "drug-ifosfamide")["dosage"][0]
    q, limit = dosage["doseAndRate"][0]["doseQuantity"], dosage["maxDosePerPeriod"]["numerator"]
    assert (q["value"], q["code"], q["system"]) == (pytest.approx(quantity[0]), quantity[1], UCUM)
    assert (limit["value"], limit["code"]) == (pytest.approx(total[0]), total[1])
    assert dosage["maxDosePerPeriod"]["denominator"] == {"value": 21, "unit": "d", "system": UCUM, "code": "d"}


def test_supportive_doses_are_fixed_per_administration_and_hydration_in_ml_over_hours(exported):
    doc = exported["doxorubicin-ifosfamide"]
    ondansetron = _line(doc, lambda r: "ondansetron" in r["id"])["dosage"][0]
    assert ondansetron["doseAndRate"][0]["doseQuantity"] == {"value": 8, "unit": "mg", "system": UCUM, "code": "mg"}
    hydration = _line(doc, lambda r: r["id"] == "supportive-3-nacl-09")["dosage"][0]
    assert hydration["doseAndRate"][0]["doseQuantity"] == {"value": 1000, "unit": "mL", "system": UCUM, "code": "mL"}
    assert hydration["timing"]["repeat"] == {"frequency": 4, "period": 1, "periodUnit": "d", "duration": 6,
                                             "durationUnit": "h"}
