"""The FHIR R4 read side: an ``Observation``, or a ``Bundle`` of them, into :class:`LabResult` values.

The bundle types read are searchset, collection and transaction.  The file is
parsed as plain JSON with its numbers kept as written (``Decimal``); the
patient is the MRN of ``subject.identifier``, of a conditional reference
(``Patient?identifier=system|value``) or of the bundle's ``Patient`` the
subject refers to (its identifier typed ``MR``, or its only one; a FHIR id is
not an MRN).  The analyte is the ``code.coding`` with the LOINC system; the
value is ``valueQuantity`` in a UCUM unit; the ULN is ``referenceRange.high``;
the time is ``effectiveDateTime`` (or ``effectiveInstant``,
``effectivePeriod.start``), which carries its zone by the standard; an
Observation without one takes the ``effective[x]`` of the DiagnosticReport that
lists it in ``result`` (or lists the panel Observation whose ``hasMember`` it is),
and the import line says so.  A file may also be one DiagnosticReport with its
Observations ``contained``.  A censored value (``valueQuantity.comparator``) is
kept with its comparator.  The identity at the lab is the Observation id (else
the entry's ``fullUrl``); the MRN's issuer is its identifier ``system``.
"""

from __future__ import annotations

import datetime as _dt
import re
from decimal import Decimal

from attrs import evolve

from ..fhir_json import NotFhirJson, fhir_object
from .result import (COMPARATORS, EARLY, GATING, RETRACTING, ImportFileError, LabResult, Problem, catch,
                     checked_value, clinic_time, lab_unit, unknown_loinc, with_range)
from .ucum import UCUM_SYSTEM

LOINC_SYSTEM = "http://loinc.org"
BUNDLE_TYPES = ("searchset", "collection", "transaction")
FHIR_STATUSES = GATING + RETRACTING + EARLY  # FHIR R4 ObservationStatus, less 'unknown'

_FHIR_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?"
                            r"(?:Z|[+-][0-9]{2}:[0-9]{2})")
_FHIR_DATE = re.compile(r"[0-9]{4}(?:-[0-9]{2}(?:-[0-9]{2})?)?")


def read_fhir(text: str, name: str = "") -> list[LabResult]:
    try:
        doc = fhir_object(text, parse_float=Decimal)
    except NotFhirJson as exc:
        raise ImportFileError(str(exc), file=name) from None
    kind = doc.get("resourceType")
    if kind == "Observation":
        return [_observation(doc, "", {}, None, None, {})]
    if kind == "DiagnosticReport":
        observations, times = [], {}
        _report(doc, "DiagnosticReport", None, times, observations)
        library = _library()
        return [_observation(res, where, {}, None, None, times, inherit, library)
                for where, res, _, inherit in observations]
    if kind != "Bundle":
        raise ImportFileError(f"resourceType {_short(kind)}: expected Observation or Bundle, or a "
                              "DiagnosticReport with contained Observations",
                              file=name)
    if doc.get("type") not in BUNDLE_TYPES:
        raise ImportFileError(f"Bundle.type {_short(doc.get('type'))}: expected one of {', '.join(BUNDLE_TYPES)}",
                              file=name)
    entries = doc.get("entry", [])
    if not isinstance(entries, list):
        raise ImportFileError("Bundle.entry is not a list", file=name)
    bundle_id = doc.get("id") if isinstance(doc.get("id"), str) else None
    patients: dict[str, object] = {}
    observations = []
    times: dict[str, tuple] = {}
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
                if key in patients and patients[key] != mrn:  # two servers' Patient/p1: which one is not guessed
                    mrn_here = Problem(f"subject {_short(key)}: the file holds more than one Patient with that "
                                       "reference, naming different MRNs: which patient is not guessed")
                    patients[key] = mrn_here
                else:
                    patients[key] = mrn
        elif resource.get("resourceType") == "Observation":
            observations.append((f"entry[{i}]", resource, full_url, None))
        elif resource.get("resourceType") == "DiagnosticReport":
            _report(resource, f"entry[{i}] DiagnosticReport", full_url, times, observations)
    _panel_times(observations, times)
    library = _library()
    return [_observation(res, where, patients, full_url, bundle_id, times, inherit, library)
            for where, res, full_url, inherit in observations]


def _keys(resource: dict, full_url: str | None) -> list[str]:
    rid = resource.get("id") if isinstance(resource.get("id"), str) else None
    return [k for k in (full_url, f"Observation/{rid}" if rid else None) if k]


def _report(report: dict, where: str, full_url, times: dict, observations: list) -> None:
    """Note the report's effective[x] for each Observation it lists in ``result``; its contained
    Observations are read as results of the file (their subject, when absent, is the report's)."""
    rid = report.get("id") if isinstance(report.get("id"), str) else None
    label = f"DiagnosticReport/{rid}" if rid else where
    effective = next(((k, report[k]) for k in ("effectiveDateTime", "effectiveInstant") if k in report), None)
    if effective is None and isinstance(report.get("effectivePeriod"), dict) and "start" in report["effectivePeriod"]:
        effective = ("effectivePeriod.start", report["effectivePeriod"]["start"])
    contained = report.get("contained") if isinstance(report.get("contained"), list) else []
    for res in contained:
        if isinstance(res, dict) and res.get("resourceType") == "Observation":
            local = f"#{res.get('id')}"
            observations.append((f"{where} contained {local}", res, None, ("contained", report.get("subject"))))
    results = report.get("result") if isinstance(report.get("result"), list) else []
    if effective is None:
        return
    for ref in results:
        target = ref.get("reference") if isinstance(ref, dict) else None
        if isinstance(target, str) and target:
            times.setdefault(target, (label, *effective))


def _panel_times(observations: list, times: dict) -> None:
    """A member of a panel Observation (``hasMember``) takes the report time of its panel."""
    for _, res, full_url, _ in observations:
        panel_time = next((times[k] for k in _keys(res, full_url) if k in times), None)
        members = res.get("hasMember") if isinstance(res.get("hasMember"), list) else []
        if panel_time is None:
            continue
        for ref in members:
            target = ref.get("reference") if isinstance(ref, dict) else None
            if isinstance(target, str) and target:
                times.setdefault(target, panel_time)


def _library():
    from ..library import load_library

    return load_library()


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
    found = [i for i in pick if isinstance(i, dict) and isinstance(i.get("value"), str)]
    if len(found) != 1:
        return Problem(f"Patient/{patient.get('id')}: {len(found)} identifiers and none typed MR: which is the "
                        "MRN is not guessed")
    return found[0]["value"].strip(), _system(found[0])


def _system(identifier: dict) -> str:
    system = identifier.get("system")
    return system.strip() if isinstance(system, str) else ""


def _is_mr(type_) -> bool:
    if not isinstance(type_, dict):
        return False
    codings = type_.get("coding")
    return isinstance(codings, list) and any(isinstance(c, dict) and c.get("code") == "MR" for c in codings)


def _observation(obs: dict, where: str, patients: dict, full_url: str | None, bundle_id: str | None,
                 times: dict, contained: tuple | None = None, library=None) -> LabResult:
    oid = obs.get("id") if isinstance(obs.get("id"), str) and obs.get("id") else None
    label = (f"{where} Observation/{oid}" if oid else where).strip() or "Observation"
    version = obs.get("meta", {}).get("versionId") if isinstance(obs.get("meta"), dict) else None
    got = {"where": label, "source": "fhir", "source_id": oid or full_url, "shown_id": oid or full_url,
           "source_message": bundle_id or (f"Observation/{oid}/_history/{version}" if version else None)}
    try:  # the LabResult is made once the fields are known (a bundle has many results)
        if got["source_id"] is None:
            raise Problem("the Observation has no id: a result without one cannot be recognised when it is sent "
                           "again")
        subject = obs.get("subject") if obs.get("subject") is not None or contained is None else contained[1]
        got["mrn"], got["mrn_issuer"] = _subject_mrn(subject, patients)
        analyte = _fhir_analyte(obs.get("code"), library or _library())
        got["analyte"] = analyte.id
        status = obs.get("status")
        if status not in FHIR_STATUSES:
            raise Problem(f"status {_short(status)}: expected one of {', '.join(FHIR_STATUSES)}")
        got["status"] = status
        report = None
        if not any(k.startswith("effective") for k in obs):
            keys = _keys(obs, full_url) + ([f"#{oid}"] if oid and contained else [])
            report = next((times[k] for k in keys if k in times), None)
        if report is not None:
            label, key, value = report
            at, collected = _fhir_datetime(value, f"{label} {key}")
            time_from = f"{label} {key} (the Observation has no effective[x])"
        else:
            at, collected, time_from = _fhir_time(obs)
        got.update(at=at, collected=collected, time_from=time_from)
        return _fhir_value(LabResult(**got), obs, analyte)
    except Problem as exc:
        return catch(LabResult(**got), exc)


def _subject_mrn(subject, patients: dict) -> tuple[str, str]:
    """(MRN, its issuer: the identifier system, "" when none is given)."""
    if not isinstance(subject, dict):
        raise Problem("no subject: the patient is not named")
    ident = subject.get("identifier")
    ref = subject.get("reference")
    if isinstance(ident, dict) and isinstance(ident.get("value"), str) and ident["value"].strip():
        named = ident["value"].strip(), _system(ident)
        also = patients.get(ref) if isinstance(ref, str) else None
        if isinstance(also, tuple) and also != named:  # FHIR: both given SHALL agree; which one is not guessed
            raise Problem(f"subject.identifier names MRN {named[0]} ({named[1] or 'no system'}) but its reference "
                          f"{_short(ref)} is the Patient with MRN {also[0]} ({also[1] or 'no system'})")
        return named
    if not isinstance(ref, str) or not ref:
        raise Problem("subject has neither a reference nor an identifier: the patient is not named")
    if ref.startswith("Patient?identifier="):
        from urllib.parse import unquote

        value = unquote(ref.split("=", 1)[1])
        return (value.split("|", 1)[1], value.split("|", 1)[0]) if "|" in value else (value, "")
    mrn = patients.get(ref)
    if isinstance(mrn, Problem):
        raise mrn
    if mrn is None:
        raise Problem(f"subject {_short(ref)}: no Patient with that id in the file and no identifier on the "
                       "reference, so no MRN (a FHIR id is not an MRN)")
    return mrn


def _fhir_analyte(code, library):
    codings = code.get("coding") if isinstance(code, dict) else None
    if not isinstance(codings, list):
        raise Problem("code has no coding: the test is not named")
    loinc = [c for c in codings if isinstance(c, dict) and c.get("system") == LOINC_SYSTEM]
    if not loinc:
        shown = ", ".join(f"{c.get('system')}|{c.get('code')}" for c in codings if isinstance(c, dict))[:120]
        raise Problem(f"no LOINC code (code.coding: {shown or 'none'})")
    for c in loinc:
        analyte = library.analyte_by_loinc(str(c.get("code")))
        if analyte is not None:
            return analyte
    shown = ", ".join(f"{c.get('code')}" + (f" ({c.get('display')})" if c.get("display") else "") for c in loinc)
    raise unknown_loinc(shown[:120])


def _fhir_time(obs: dict) -> tuple[str, _dt.datetime, str]:
    for key in ("effectiveDateTime", "effectiveInstant"):
        if key in obs:
            return *_fhir_datetime(obs[key], key), key
    period = obs.get("effectivePeriod")
    if isinstance(period, dict) and "start" in period:
        return *_fhir_datetime(period["start"], "effectivePeriod.start"), "effectivePeriod.start"
    raise Problem("no effectiveDateTime, and no DiagnosticReport in the file lists it with one: when the sample "
                   "was taken is not given")


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
    comparator = vq.get("comparator")
    if comparator is not None and comparator not in COMPARATORS:
        raise Problem(f"valueQuantity.comparator {_short(comparator)}: expected one of {', '.join(COMPARATORS)}")
    number_text = str(number)
    if vq.get("system") != UCUM_SYSTEM:
        raise Problem(f"valueQuantity unit {_short(vq.get('code') or vq.get('unit'))} is not UCUM (system "
                       f"{_short(vq.get('system'))}, expected {UCUM_SYSTEM})")
    code = vq.get("code")
    if not isinstance(code, str) or not code:
        raise Problem("valueQuantity has no UCUM code")
    result = evolve(result, number=number_text, unit=code, comparator=comparator)
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
