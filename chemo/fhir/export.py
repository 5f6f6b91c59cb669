"""A regimen as a FHIR R4 ``PlanDefinition`` with contained ``ActivityDefinition`` s (see :mod:`chemo.fhir`).

Each value is written twice where FHIR has an element for it: in that element, in UCUM (the
dose of one administration, ``doseQuantity`` ``mg/m2``) for any FHIR reader, and as the regimen
file writes it (``75 mg/m²`` per cycle) in a chemo extension, so that reading it back gives the
same regimen.  The importer checks that the two agree.
"""

from __future__ import annotations

from ..errors import RegimenError
from ..library import Library, load_library
from ..regimen import Regimen
from ..units import in_unit, parse_quantity
from . import (ANALYTE_UCUM, BASIS_UCUM, CODES, DIGEST, ENTRIES, EXT, NZ_REPLACED_BY, NZ_TIMING_OF_DAYS, PLAN_TYPE,
               REGIMEN_ID_SYSTEM, UCUM, content_digest, entry_counts, number)


def export_regimen(regimen: Regimen, library: Library | None = None) -> dict:
    """The FHIR R4 PlanDefinition (a JSON-ready dict) of ``regimen``."""
    library = library or load_library()
    status = "retired" if regimen.retired else "active"
    contained, children = [], []
    for line in regimen.drugs:
        contained.append(_drug(line, regimen, library, status))
    for line in regimen.derived:
        contained.append(_derived(line, library, status))
    for i, line in enumerate(regimen.supportive, 1):
        contained.append(_supportive(i, line, library, status))
    lines = list(regimen.drugs) + list(regimen.derived) + list(regimen.supportive)
    for activity, line in zip(contained, lines):
        children.append({
            "extension": [_ext(NZ_TIMING_OF_DAYS, extension=[_ext("day", valueInteger=d)]) for d in line.days],
            "title": activity["title"],
            "description": line.describe() if hasattr(line, "describe") else activity["title"],
            "definitionCanonical": f"#{activity['id']}",
        })
    cycle = {
        "title": "Cycle",
        "description": f"{regimen.cycles} cycles of {regimen.cycle_length_days} days",
        "condition": [gate_condition(t, library) for t in regimen.thresholds],
        "timingTiming": {"repeat": {"count": regimen.cycles, "period": regimen.cycle_length_days, "periodUnit": "d"}},
        "action": children,
    }
    if not cycle["condition"]:
        del cycle["condition"]
    plan = {
        "resourceType": "PlanDefinition",
        "id": regimen.id,
        "extension": _plan_extensions(regimen),
        "identifier": [{"system": REGIMEN_ID_SYSTEM, "value": regimen.id}],
        "version": regimen.version,
        "name": "".join(word.capitalize() for word in regimen.id.split("-")),  # FHIR: a name starts with a capital
        "title": regimen.name,
        "type": {"coding": [{"system": PLAN_TYPE, "code": "clinical-protocol"}]},
        "status": status,
        "experimental": False,
        "description": regimen.indication,
        "relatedArtifact": [_citation(regimen.source)],
        "contained": contained,
        "action": [cycle],
    }
    plan = _pruned(plan)
    plan["extension"].append(_ext(DIGEST, valueString=content_digest(plan)))
    return plan


# ------------------------------------------------------------------ the plan's extensions

def _plan_extensions(r: Regimen) -> list:
    counts = entry_counts(r)
    out = [_ext(EXT + "entries", extension=[_ext(key.replace("_", "-"), valueInteger=counts[key]) for key in ENTRIES]),
           _ext(EXT + "day-split", valueString=r.day_split)]
    if r.emetogenic_class:
        out.append(_ext(EXT + "emetogenic-class", valueCode=r.emetogenic_class))
    c = r.cumulative
    out.append(_ext(EXT + "cumulative", extension=[
        _ext("model", valueCode=c.model), _ext("cap", valueQuantity=_quantity(c.cap, "mg/m2")),
        _ext("warn-at", valueQuantity=_quantity(c.warn_at, "mg/m2")), _ext("source", valueString=c.source)]))
    out.append(_ext(EXT + "early-window", extension=[
        _ext("days", valueQuantity=_quantity(r.early_window_days, "d")),
        _ext("source", valueString=r.early_window_source)]))
    if r.bsa_cap is not None:
        out.append(_ext(EXT + "bsa-cap", extension=[
            _ext("cap", valueQuantity=_quantity(r.bsa_cap, "m2")), _ext("source", valueString=r.bsa_cap_source)]))
    for note in r.notes:
        out.append(_ext(EXT + "note", extension=[_ext("text", valueString=note.text),
                                                 _ext("source", valueString=note.source)]))
    for band in r.modifications:
        parts = [_ext("drug", valueCode=band.drug), _ext("analyte", valueCode=band.analyte)]
        if band.low:
            parts.append(_ext("from" if band.low_inclusive else "above", valueString=band.low.text))
        if band.high:
            parts.append(_ext("to" if band.high_inclusive else "below", valueString=band.high.text))
        parts += [_ext("give", valueQuantity=_quantity(percent(band.give), "%")), _ext("source", valueString=band.source)]
        out.append(_ext(EXT + "dose-band", extension=parts))
    if r.retired:
        out.append(_ext(EXT + "retired", extension=[_ext("date", valueDate=r.retired.date.isoformat()),
                                                    _ext("reason", valueString=r.retired.reason)]))
        if r.retired.replaced_by:
            out.append(_ext(NZ_REPLACED_BY, valueReference={"reference": f"PlanDefinition/{r.retired.replaced_by}"}))
    return out


def gate_condition(t, library: Library) -> dict:
    """A readiness gate as an applicability condition: a FHIRPath expression whose quantity is in UCUM (the
    analyte's unit: ``%anc > 1.5 '10*9/L'``, whatever unit the file wrote it in), and every value as written
    in an extension."""
    if t.value.uln_multiple is not None:
        bound = f"{number(t.value.uln_multiple)} * %{t.analyte}.uln"
    else:
        analyte = library.analytes[t.analyte]
        code = ANALYTE_UCUM.get(analyte.unit)
        if code is None:  # a unit added to the library without its UCUM code here
            raise RegimenError(f"no UCUM code for {analyte.unit!r} (the unit of {t.analyte}): add it to "
                               "chemo.fhir.ANALYTE_UCUM", field=f"thresholds ({t.analyte})")
        bound = f"{number(float(f'{analyte.value_in(t.value.quantity, analyte.unit):.12g}'))} '{code}'"
    when = "before cycle 1" if t.kind == "eligibility" else "before every cycle"
    parts = [_ext("kind", valueCode=t.kind), _ext("analyte", valueCode=t.analyte), _ext("op", valueString=t.op_text),
             _ext("value", valueString=t.value.text), _ext("max-age", valueQuantity=_quantity(t.max_age_days, "d"))]
    if t.action is not None:
        parts.append(_ext("action", valueString=t.action))
    if t.each_day:
        parts.append(_ext("each-day", valueBoolean=True))
    parts.append(_ext("source", valueString=t.source))
    return {
        "kind": "applicability",
        "expression": {
            "extension": [_ext(EXT + "gate", extension=parts)],
            "description": f"{t.kind} ({when}): {t.describe()}, a result at most {number(t.max_age_days)} days old",
            "language": "text/fhirpath",
            "expression": f"%{t.analyte} {t.op} {bound}",
        },
    }


# ------------------------------------------------------------------ the lines

def _activity(aid: str, kind: str, title: str, status: str, product: dict, dosage: dict, source: str,
              extensions=(), code: dict | None = None) -> dict:
    return {
        "resourceType": "ActivityDefinition",
        "id": aid,
        "extension": [_ext(EXT + "line-kind", valueCode=kind), *extensions],
        "title": title,
        "status": status,
        "relatedArtifact": [_citation(source)],
        "kind": "MedicationRequest",
        "code": code,
        "productCodeableConcept": product,
        "dosage": [dosage],
    }


def _drug(line, regimen: Regimen, library: Library, status: str) -> dict:
    daily = line.daily
    dosage = {
        "extension": [_ext(EXT + "dose-as-written", extension=[_ext("text", valueString=line.dose.text),
                                                                _ext("per", valueCode=line.per)])],
        "text": line.infusion,
        "timing": _daily(1),
        "route": _route(line.route),
        "doseAndRate": [{"doseQuantity": _quantity(daily.amount, BASIS_UCUM[daily.basis.value])}],
        "maxDosePerPeriod": {"numerator": _quantity(line.per_cycle.amount, BASIS_UCUM[line.dose.basis.value]),
                             "denominator": _quantity(regimen.cycle_length_days, "d")},
    }
    extensions = [_ext(EXT + "diluent", valueCode=line.diluent)] if line.diluent else []
    return _activity(f"drug-{line.drug}", "drug", _drug_name(library, line.drug), status,
                     _product("drug", line.drug, _drug_name(library, line.drug)), dosage, line.source, extensions)


def _derived(line, library: Library, status: str) -> dict:
    dosage = {
        "extension": [_ext(EXT + "derived-dose", extension=[
            _ext("from", valueCode=line.from_drug), _ext("fraction", valueQuantity=_quantity(percent(line.fraction), "%"))])],
        "text": line.infusion,
        "timing": _daily(len(line.schedule) or 1, line.schedule),
        "route": _route(line.route),
    }
    return _activity(f"derived-{line.drug}", "derived", _drug_name(library, line.drug), status,
                     _product("drug", line.drug, _drug_name(library, line.drug)), dosage, line.source)


def _supportive(i: int, line, library: Library, status: str) -> dict:
    timing = _daily(len(line.at), line.at)
    dosage = {"extension": [], "text": line.note, "timing": timing, "route": _route(line.route)}
    if line.target:
        dosage["additionalInstruction"] = [{"text": line.target}]
    if line.category == "hydration":
        timing["repeat"].update(duration=number(line.duration_h), durationUnit="h")
        dosage["doseAndRate"] = [{"doseQuantity": _quantity(line.volume_ml, "mL")}]
        name = library.diluents[line.fluid].name if line.fluid in library.diluents else line.fluid
        product = _product("fluid", line.fluid, name)
        aid, title = f"supportive-{i}-{line.fluid}", name
    else:
        if line.dose is not None:
            dosage["extension"].append(_ext(EXT + "dose-as-written", extension=[_ext("text", valueString=line.dose.text)]))
            dosage["doseAndRate"] = [{"doseQuantity": _quantity(line.dose.amount, BASIS_UCUM[line.dose.basis.value])}]
        else:
            dosage["extension"].append(_ext(EXT + "ratio-dose", extension=[_ext("of", valueCode=line.of),
                                                                           _ext("ratio", valueString=line.ratio_text)]))
        product = _product("drug", line.drug, _drug_name(library, line.drug))
        aid, title = f"supportive-{i}-{line.drug}", _drug_name(library, line.drug)
    extensions = [_ext(EXT + "when-cumulative", valueString=line.when_text)] if line.when_text else []
    code = {"coding": [{"system": CODES + "supportive-category", "code": line.category}], "text": line.category}
    return _activity(aid, "supportive", title, status, product, dosage, line.source, extensions, code)


def _daily(times: int, at=()) -> dict:
    """Given ``times`` a day, at these times of the day (chemo.supportive.Timing, relative to the day's treatment)."""
    return {"extension": [_ext(EXT + "at", valueString=x.text) for x in at],
            "repeat": {"frequency": times, "period": 1, "periodUnit": "d"}}


# ------------------------------------------------------------------ values

def percent(fraction: float):
    """The number of per cent, as written, that chemo reads back as exactly ``fraction`` (0.6 -> 60)."""
    for candidate in [round(fraction * 100, k) for k in range(16)] + [fraction * 100]:
        if in_unit(parse_quantity(f"{number(candidate)} %", "%"), "") == fraction:
            return number(candidate)
    raise ValueError(f"no percentage reads back as {fraction!r}")  # a bug: every fraction came from such a text


def _quantity(value, code: str) -> dict:
    return {"value": number(value), "unit": code, "system": UCUM, "code": code}


def _route(route: str) -> dict:
    return {"coding": [{"system": CODES + "route", "code": route}], "text": route}


def _product(kind: str, code: str, name: str) -> dict:
    return {"coding": [{"system": CODES + kind, "code": code, "display": name}], "text": name}


def _drug_name(library: Library, drug: str) -> str:
    found = library.drugs.get(drug)
    return found.name if found else drug


def _citation(text: str) -> dict:
    return {"type": "citation", "citation": text}


def _ext(url: str, **value) -> dict:
    return {"url": url, **value}


def _pruned(value):
    """Without keys whose value is None or an empty list (FHIR has no empty elements)."""
    if isinstance(value, dict):
        return {k: _pruned(v) for k, v in value.items() if v is not None and v != []}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value
