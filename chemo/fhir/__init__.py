"""A regimen as FHIR R4: a ``PlanDefinition`` with its drug lines as contained ``ActivityDefinition`` s.

The shape follows the HL7 New Zealand Te Aho o Te Kahu, Cancer Control Agency implementation guide
(CCA IG, ``http://hl7.org.nz/fhir/ig/cca``): the PlanDefinition contains one ActivityDefinition per
administered line, its one top-level action is the cycle (``timingTiming``: how many cycles, how
many days each) and that action's child actions are the lines, each pointing at its
ActivityDefinition (``definitionCanonical`` ``#id``) and listing its days with the guide's
``sact-timing-of-days`` extension.  Two departures: the readiness gates are
``action.condition`` s of the cycle (the guide's profile has no conditions), and no ``meta.profile``
claims conformance to the guide.

What FHIR has no element for (the dose as the protocol writes it, dose bands, the cumulative cap and
its model, the early window, the day split, gate details, ...) travels in extensions whose URLs start
with :data:`EXT`; ``https://chemo.example/`` is a placeholder base, not a published site.

:mod:`chemo.fhir.export` writes the document, :mod:`chemo.fhir.importing` reads one back into a
regimen file (TOML) that chemo's own checks read; the two round-trip every field of a regimen.
"""

import hashlib
import json

BASE = "https://chemo.example/fhir"  # a placeholder: chemo publishes no StructureDefinitions yet
EXT = f"{BASE}/StructureDefinition/"
CODES = f"{BASE}/CodeSystem/"
REGIMEN_ID_SYSTEM = f"{BASE}/regimen-id"
UCUM = "http://unitsofmeasure.org"
NZ_TIMING_OF_DAYS = "http://hl7.org.nz/fhir/StructureDefinition/sact-timing-of-days"
NZ_REPLACED_BY = "http://hl7.org.nz/fhir/StructureDefinition/sact-replaced-by"
PLAN_TYPE = "http://terminology.hl7.org/CodeSystem/plan-definition-type"

# the UCUM code of each dose basis (chemo.units.Basis), and how chemo writes a dose in it
BASIS_UCUM = {"flat": "mg", "per m²": "mg/m2", "per kg": "mg/kg", "AUC": "mg.min/mL"}
# UCUM codes a dose quantity may carry on import -> chemo's spelling ("{value} {spelling}", AUC: "AUC {value}")
DOSE_UCUM = {"mg": "mg", "g": "g", "ug": "µg", "mg/m2": "mg/m²", "g/m2": "g/m²", "ug/m2": "µg/m²",
             "mg/kg": "mg/kg", "g/kg": "g/kg", "ug/kg": "µg/kg", "mg.min/mL": "AUC"}
# the UCUM code of each analyte unit of the library (a gate's FHIRPath quantity is written in it)
ANALYTE_UCUM = {"g/dL": "g/dL", "10^9/L": "10*9/L", "mg/dL": "mg/dL", "U/L": "U/L", "mL/min/1.73 m²": "mL/min/{1.73_m2}",
                "mL/min": "mL/min", "%": "%", "mmol/L": "mmol/L", "µmol/L": "umol/L", "g/L": "g/L"}

# the entries of a regimen the export counts (ext ``entries``): an optional extension lost on the way
# (a server that drops unknown extensions, an edit) is refused on import, not read as a regimen without it
ENTRIES = ("drugs", "derived", "supportive", "thresholds", "modifications", "notes", "when_cumulative", "bsa_cap")


def entry_counts(regimen) -> dict:
    """How many of each of :data:`ENTRIES` a regimen holds (written by the export, checked by the import)."""
    return {"drugs": len(regimen.drugs), "derived": len(regimen.derived), "supportive": len(regimen.supportive),
            "thresholds": len(regimen.thresholds), "modifications": len(regimen.modifications),
            "notes": len(regimen.notes), "when_cumulative": sum(s.when_cumulative is not None for s in regimen.supportive),
            "bsa_cap": int(regimen.bsa_cap is not None)}


DIGEST = EXT + "content-sha256"
MAX_NUMBER = 1e15  # beyond any value of a regimen; larger integers do not convert to a float exactly (or at all)


def content_digest(plan: dict) -> str:
    """The SHA-256 of a PlanDefinition's JSON (keys sorted, no spaces) without its own ext ``content-sha256``:
    the export writes it, the import checks it last.  A part of the document lost or changed after the export
    can read as another valid regimen (a dose band without its lower bound halves a normal patient's dose);
    the digest no longer matches."""
    body = {**plan, "extension": [e for e in plan.get("extension", ()) if not (
        isinstance(e, dict) and e.get("url") == DIGEST)]}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def number(x):
    """A float as JSON and TOML text write it: 3 for 3.0, else the shortest repr that reads back the same."""
    x = float(x)
    return int(x) if x.is_integer() and abs(x) < MAX_NUMBER else x


def number_text(x) -> str:
    return str(number(x))
