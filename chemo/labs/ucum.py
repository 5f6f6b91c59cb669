"""UCUM unit codes, as laboratory systems send them, in the spelling chemo's one registry reads.

The Unified Code for Units of Measure is what FHIR ``Quantity.code`` and most
HL7 v2 OBX-6 fields carry (``10*9/L``, ``umol/L``, ``mL/min/{1.73_m2}``).  A full
UCUM parser would accept far more than a lab value can be, and curly-brace
annotations make its grammar ambiguous for us (``{1.73_m2}`` is the standard
body surface only by convention).  So the codes chemo accepts are listed here,
one by one, each translated into the text :func:`chemo.units.parse_quantity`
reads; the conversion into the analyte's unit is then the same as for a typed
result.  A code not listed is refused, never guessed.

UCUM writes litre as ``L`` or ``l`` (both are the case-sensitive code), so both
spellings are listed.  The spellings labs write besides the codes (``µmol/L``,
``IU/L``, ``K/uL``, ``10^9/L`` and its HL7 escape ``10\\S\\9/L``, ``/nL``,
``G/L``...) are an explicit table with sources, ``regimens/library/lab-units.toml``:
each maps to one code listed here.
"""

from __future__ import annotations

from ..errors import UnitError

UCUM_SYSTEM = "http://unitsofmeasure.org"

_LITRE_FORMS = {
    "10*9/L": "10^9/L",
    "10*12/L": "10^12/L",
    "10*6/L": "10^6/L",
    "g/L": "g/L",
    "g/dL": "g/dL",
    "mg/dL": "mg/dL",
    "mg/L": "mg/L",
    "mmol/L": "mmol/L",
    "umol/L": "µmol/L",
    "U/L": "U/L",
}

UCUM_TO_CHEMO = {
    **_LITRE_FORMS,
    **{code.replace("L", "l"): text for code, text in _LITRE_FORMS.items()},
    "10*3/uL": "10^3/uL",
    "10*6/uL": "10^6/uL",
    "/uL": "/uL",
    "/mm3": "/mm^3",
    "%": "%",
    "mL/min": "mL/min",
    "mL/min/{1.73_m2}": "mL/min/1.73 m²",
    "mL/min/1.73.m2": "mL/min/1.73 m²",
}


def ucum_code(spelling: str) -> str | None:
    """The UCUM code chemo reads that a lab's spelling means: the code itself, or its synonym in
    ``regimens/library/lab-units.toml``; None when neither."""
    spelling = str(spelling).strip()
    if spelling in UCUM_TO_CHEMO:
        return spelling
    from ..library import load_library

    return load_library().lab_units.get(spelling)


def chemo_unit(code: str, field: str = "unit") -> str:
    """The chemo spelling of a UCUM code or a listed synonym; UnitError for a spelling that is neither."""
    ucum = ucum_code(code)
    text = UCUM_TO_CHEMO.get(ucum) if ucum is not None else None
    if text is None:
        shown = str(code)[:40]
        raise UnitError(f"{shown!r} is not a UCUM unit chemo reads for lab results "
                        f"(reads: {', '.join(sorted(set(UCUM_TO_CHEMO) - {k.replace('L', 'l') for k in _LITRE_FORMS}))}, "
                        "and the spellings of regimens/library/lab-units.toml)",
                        field=field)
    return text
