"""The FHIR R4 read side: an ``Observation``, or a ``Bundle`` of them, into :class:`LabResult` values.

The bundle types read are searchset, collection and transaction.  The file is
parsed as plain JSON with its numbers kept as written (``Decimal``); the
patient is the MRN of ``subject.identifier``, of a conditional reference
(``Patient?identifier=system|value``) or of the bundle's ``Patient`` the
subject refers to (its identifier typed ``MR``, or its only one; a FHIR id is
not an MRN).  The analyte is the ``code.coding`` with the LOINC system; the
value is ``valueQuantity`` in a UCUM unit; the ULN is ``referenceRange.high``;
the time is ``effectiveDateTime`` (or ``effectiveInstant``,
``effectivePeriod.start``), which carries its zone by the standard.  The
identity at the lab is the Observation id (else the entry's ``fullUrl``).
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from decimal import Decimal

from attrs import evolve

from .result import (EARLY, GATING, RETRACTING, ImportFileError, LabResult, Problem, checked_value, clinic_time,
                     lab_unit, unknown_loinc, with_range)
from .ucum import UCUM_SYSTEM

LOINC_SYSTEM = "http://loinc.org"
BUNDLE_TYPES = ("searchset", "collection", "transaction")
FHIR_STATUSES = GATING + RETRACTING + EARLY  # FHIR R4 ObservationStatus, less 'unknown'

_FHIR_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?"
                            r"(?:Z|[+-][0-9]{2}:[0-9]{2})")
_FHIR_DATE = re.compile(r"[0-9]{4}(?:-[0-9]{2}(?:-[0-9]{2})?)?")


def _no_constant(name):
    raise ValueError(f"{name} is not a number JSON allows")


def read_fhir(text: str, name: str = "") -> list[LabResult]:
    try:
        doc = json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except RecursionError:
        raise ImportFileError("not FHIR JSON: nested too deeply", file=name) from None
    except ValueError as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise ImportFileError(f"not valid JSON: {msg}{where}", file=name) from None
    if not isinstance(doc, dict):
        raise ImportFileError("expected a FHIR resource (a JSON object with resourceType)", file=name)
    kind = doc.get("resourceType")
    if kind == "Observation":
        return [_observation(doc, "", {}, None, None)]
    if kind != "Bundle":
        raise ImportFileError(f"resourceType {_short(kind)}: expected Observation or Bundle", file=name)
    if doc.get("type") not in BUNDLE_TYPES:
        raise ImportFileError(f"Bundle.type {_short(doc.get('type'))}: expected one of {', '.join(BUNDLE_TYPES)}",
                              file=name)
    entries = doc.get("entry", [])
    if not isinstance(entries, list):
        raise ImportFileError("Bundle.entry is not a list", file=name)
    bundle_id = doc.get("id") if isinstance(doc.get("id"), str) else None
    patients: dict[str, object] = {}
    observations = []
    for i, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("resource", {}), dict):
            raise ImportFileError(f"Bundle.entry[{i}] is not an object with a resource", file=name)
        resource = entry.get("resource")
        if resource is None:
            continue  # e.g. a transaction-response entry with no resource
        full_url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None
        if resource.get("resourceType") == "Patient":
            mrn = _patient_mrn(resource)
            for key in filter(None, (full_url, f"Patient/{resource.get('id')}" if resource.get("id") else None)):
                patients[key] = mrn
        elif resource.get("resourceType") == "Observation":
            observations.append((i, resource, full_url))
    return [_observation(res, f"entry[{i}]", patients, full_url, bundle_id) for i, res, full_url in observations]


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _patient_mrn(patient: dict):
    """The MRN of a Patient resource, or a Problem saying why there is none."""
    ids = patient.get("identifier")
    if not isinstance(ids, list) or not ids:
        return Problem(f"Patient/{patient.get('id')} has no identifier (no MRN)")
    typed = [i for i in ids if isinstance(i, dict) and _is_mr(i.get("type"))]
    pick = typed if typed else ids
    values = [i.get("value") for i in pick if isinstance(i, dict) and isinstance(i.get("value"), str)]
    if len(values) != 1:
        return Problem(f"Patient/{patient.get('id')}: {len(values)} identifiers and none typed MR: which is the "
                        "MRN is not guessed")
    return values[0].strip()


def _is_mr(type_) -> bool:
    if not isinstance(type_, dict):
        return False
    codings = type_.get("coding")
    return isinstance(codings, list) and any(isinstance(c, dict) and c.get("code") == "MR" for c in codings)


def _observation(obs: dict, where: str, patients: dict, full_url: str | None, bundle_id: str | None) -> LabResult:
    oid = obs.get("id") if isinstance(obs.get("id"), str) and obs.get("id") else None
    label = (f"{where} Observation/{oid}" if oid else where).strip() or "Observation"
    version = obs.get("meta", {}).get("versionId") if isinstance(obs.get("meta"), dict) else None
    result = LabResult(where=label, source="fhir", source_id=oid or full_url, shown_id=oid or full_url,
                       source_message=bundle_id or (f"Observation/{oid}/_history/{version}" if version else None))
    try:
        if result.source_id is None:
            raise Problem("the Observation has no id: a result without one cannot be recognised when it is sent "
                           "again")
        status = obs.get("status")
        if status not in FHIR_STATUSES:
            raise Problem(f"status {_short(status)}: expected one of {', '.join(FHIR_STATUSES)}")
        result = evolve(result, status=status)
        result = evolve(result, mrn=_subject_mrn(obs.get("subject"), patients))
        analyte = _fhir_analyte(obs.get("code"))
        result = evolve(result, analyte=analyte.id)
        at, collected = _fhir_time(obs)
        result = evolve(result, at=at, collected=collected)
        return _fhir_value(result, obs, analyte)
    except Problem as exc:
        return evolve(result, problem=str(exc))


def _subject_mrn(subject, patients: dict) -> str:
    if not isinstance(subject, dict):
        raise Problem("no subject: the patient is not named")
    ident = subject.get("identifier")
    if isinstance(ident, dict) and isinstance(ident.get("value"), str) and ident["value"].strip():
        return ident["value"].strip()
    ref = subject.get("reference")
    if not isinstance(ref, str) or not ref:
        raise Problem("subject has neither a reference nor an identifier: the patient is not named")
    if ref.startswith("Patient?identifier="):
        value = ref.split("=", 1)[1]
        return value.split("|", 1)[1] if "|" in value else value
    mrn = patients.get(ref)
    if isinstance(mrn, Problem):
        raise mrn
    if mrn is None:
        raise Problem(f"subject {_short(ref)}: no Patient with that id in the file and no identifier on the "
                       "reference, so no MRN (a FHIR id is not an MRN)")
    return mrn


def _fhir_analyte(code):
    from ..library import load_library

    codings = code.get("coding") if isinstance(code, dict) else None
    if not isinstance(codings, list):
        raise Problem("code has no coding: the test is not named")
    loinc = [c for c in codings if isinstance(c, dict) and c.get("system") == LOINC_SYSTEM]
    if not loinc:
        shown = ", ".join(f"{c.get('system')}|{c.get('code')}" for c in codings if isinstance(c, dict))[:120]
        raise Problem(f"no LOINC code (code.coding: {shown or 'none'})")
    library = load_library()
    for c in loinc:
        analyte = library.analyte_by_loinc(str(c.get("code")))
        if analyte is not None:
            return analyte
    shown = ", ".join(f"{c.get('code')}" + (f" ({c.get('display')})" if c.get("display") else "") for c in loinc)
    raise unknown_loinc(shown[:120])


def _fhir_time(obs: dict) -> tuple[str, _dt.datetime]:
    for key in ("effectiveDateTime", "effectiveInstant"):
        if key in obs:
            return _fhir_datetime(obs[key], key)
    period = obs.get("effectivePeriod")
    if isinstance(period, dict) and "start" in period:
        return _fhir_datetime(period["start"], "effectivePeriod.start")
    raise Problem("no effectiveDateTime: when the sample was taken is not given")


def _fhir_datetime(text, key: str) -> tuple[str, _dt.datetime]:
    if not isinstance(text, str):
        raise Problem(f"{key} {_short(text)} is not a date-time")
    if _FHIR_DATE.fullmatch(text):
        raise Problem(f"{key} {text!r} has no time of day")
    if not _FHIR_DATETIME.fullmatch(text):
        raise Problem(f"{key} {_short(text)}: expected YYYY-MM-DDThh:mm:ss with a zone (Z or +hh:mm)")
    try:
        when = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Problem(f"{key} {text!r} is not a date-time ({exc})") from None
    return clinic_time(when, text, key)


def _fhir_value(result: LabResult, obs: dict, analyte) -> LabResult:
    values = [k for k in obs if k.startswith("value")]
    if len(values) > 1:
        raise Problem(f"more than one value ({', '.join(values)}): an Observation has one value[x]")
    vq = obs.get("valueQuantity")
    if vq is None:
        if result.status in RETRACTING and not values:
            return result  # a retraction may carry no value
        if values:
            raise Problem(f"{values[0]} given, expected valueQuantity (a number with a UCUM unit)")
        absent = obs.get("dataAbsentReason")
        why = f" (dataAbsentReason {_short(absent.get('text') or absent.get('coding'))})" if isinstance(
            absent, dict) else ""
        raise Problem(f"no value{why}")
    if not isinstance(vq, dict):
        raise Problem("valueQuantity is not an object")
    number = vq.get("value")
    if isinstance(number, bool) or not isinstance(number, (int, Decimal)):
        raise Problem(f"valueQuantity.value {_short(number)} is {type(number).__name__}, expected a number")
    if vq.get("comparator") is not None:
        raise Problem(f"valueQuantity.comparator {_short(vq.get('comparator'))}: a value like '<{number}' is not a "
                       "number to check a threshold with")
    number_text = str(number)
    if vq.get("system") != UCUM_SYSTEM:
        raise Problem(f"valueQuantity unit {_short(vq.get('code') or vq.get('unit'))} is not UCUM (system "
                       f"{_short(vq.get('system'))}, expected {UCUM_SYSTEM})")
    code = vq.get("code")
    if not isinstance(code, str) or not code:
        raise Problem("valueQuantity has no UCUM code")
    result = evolve(result, number=number_text, unit=code)
    unit = lab_unit(code, "valueQuantity.code")
    high_text = None
    ranges = obs.get("referenceRange")
    if isinstance(ranges, list) and ranges and isinstance(ranges[0], dict):
        rr = ranges[0]
        high, low = rr.get("high"), rr.get("low")
        if isinstance(high, dict) and "value" in high:
            hv = high.get("value")
            if isinstance(hv, bool) or not isinstance(hv, (int, Decimal)):
                raise Problem(f"referenceRange.high.value {_short(hv)} is not a number")
            if high.get("code") is not None and high.get("system") not in (None, UCUM_SYSTEM):
                raise Problem("referenceRange.high is not in a UCUM unit")
            hunit = lab_unit(high["code"], "referenceRange.high.code") if high.get("code") else unit
            lv = low.get("value") if isinstance(low, dict) else None
            is_number = isinstance(lv, (int, Decimal)) and not isinstance(lv, bool)
            result, high_text = with_range(result, lv if is_number else None, hv, hunit)
    return checked_value(result, analyte, f"{number_text} {unit}", high_text)
