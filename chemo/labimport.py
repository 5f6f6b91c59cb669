"""Lab results in from the laboratory system: FHIR R4 JSON and HL7 v2.x ORU^R01.

A file is read whole and checked *before* it meets the record:

* FHIR: an ``Observation``, or a ``Bundle`` (searchset, collection, transaction)
  of them, parsed as plain JSON (numbers kept as written) into :class:`LabResult`;
  the patient is the MRN of ``subject.identifier`` or of the bundle's
  ``Patient`` the subject refers to;
* HL7 v2: one or many ORU^R01 messages (segments separated by CR or LF), read
  with python-hl7; the patient is PID-3 (the repetition typed ``MR``, or the only
  one), the time OBX-14, else OBR-7.

Analytes are matched by LOINC code (``regimens/library/analytes.toml``), units are
UCUM codes translated by :mod:`chemo.ucum`, and the value then goes through the
same checks as a typed result (:func:`chemo.records.parse_lab`).  The upper limit
of normal comes from ``referenceRange.high`` / OBX-7 where the analyte is
ULN-relative (it has a ``uln`` range in the library).

Writing: one ``BEGIN IMMEDIATE`` transaction per file, so a file is imported
whole or not at all.  A result the file holds twice, or that was imported
before (same FHIR Observation id, or same HL7 OBX identity: sending facility,
filler order number, OBX-3 code, OBX-4 sub-id) with the same status, value
and time, is a *duplicate* and writes nothing.  A corrected (or amended)
result, a retraction (cancelled, entered-in-error) and a final result after a
preliminary one *supersede* the row they replace (``labs.superseded_by``); both
rows stay, both audited.  Readiness reads only final, amended and corrected
rows that are not superseded.

Project choices: a file larger than :data:`MAX_FILE_BYTES` (5 MiB, about 7,000
FHIR results) is refused before it is read: a lab export for one clinic run is
far smaller, and one file is one write transaction, which must not hold the
record's write lock for long; an HL7 time without
a zone is taken as clinic local time (FHIR times carry their zone by the
standard); an effective time without a time of day is refused.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

from attrs import evolve, frozen

from . import audit
from .errors import ChemoError
from .db import labs, patients
from .db.store import Store, now_local

MAX_FILE_BYTES = 5 * 1024 * 1024  # project choice: see the module text
LOINC_SYSTEM = "http://loinc.org"
BUNDLE_TYPES = ("searchset", "collection", "transaction")
GATING = ("final", "amended", "corrected")  # the only statuses readiness reads
RETRACTING = ("cancelled", "entered-in-error")
REPLACING = ("amended", "corrected") + RETRACTING
EARLY = ("registered", "preliminary")
FHIR_STATUSES = GATING + RETRACTING + EARLY  # FHIR R4 ObservationStatus, less 'unknown'
# HL7 v2 table 0085 (observation result status) -> the FHIR status it means
HL7_STATUS = {"F": "final", "C": "corrected", "P": "preliminary", "R": "preliminary", "S": "preliminary",
              "I": "registered", "X": "cancelled", "D": "entered-in-error", "W": "entered-in-error"}
HL7_UNIT_SYSTEMS = ("", "UCUM", "ISO+", "ANS+")
OUTCOMES = ("imported", "duplicate", "refused", "ignored")

_FHIR_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?"
                            r"(?:Z|[+-][0-9]{2}:[0-9]{2})")
_FHIR_DATE = re.compile(r"[0-9]{4}(?:-[0-9]{2}(?:-[0-9]{2})?)?")
_HL7_TS = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})?(?:\.[0-9]{1,4})?"
                     r"([+-][0-9]{4})?")
_HL7_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_HL7_RANGE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)?\s*(?:-|_|\^)?\s*([0-9]+(?:\.[0-9]+)?)\s*")


class ImportFileError(ChemoError):
    """A file that cannot be read as lab results at all: nothing of it is imported (exit 2)."""

    exit_code = 2


class _Problem(Exception):
    """Why one result is refused (inside this module only)."""


@frozen
class LabResult:
    """One result as the file gives it, before it meets the record."""

    where: str  # "entry[3] Observation/f204", "message 2 (MSH-10 CNTRL-3456) OBX 1"
    source: str  # "fhir" or "hl7"
    source_id: str | None = None  # identity at the lab (see the module text)
    source_message: str | None = None  # Bundle id / Observation version; HL7 MSH-10
    shown_id: str | None = None  # what the output names it by
    mrn: str | None = None
    analyte: str | None = None
    number: str | None = None  # as written
    unit: str | None = None  # UCUM code as written
    value_text: str | None = None  # "4.5 10^9/L": the chemo spelling parse_lab reads
    uln_text: str | None = None
    range_text: str | None = None
    at: str | None = None  # the lab's time as ISO 8601 with its zone (when it gave one)
    collected: _dt.datetime | None = None  # local clinic time
    status: str | None = None
    problem: str | None = None
    row: dict | None = None  # the checked value as parse_lab returns it (checked once, outside the write lock)


@frozen
class Outcome:
    file: str
    result: LabResult
    outcome: str  # imported, duplicate, refused, ignored
    message: str
    row_id: int | None = None

    def as_json(self) -> dict:
        r = self.result
        return {"mrn": r.mrn, "analyte": r.analyte, "value": r.number, "unit": r.unit, "at": r.at,
                "status": self.outcome, "source_id": r.shown_id, "message": self.message,
                "lab_status": r.status, "file": self.file, "where": r.where}

    def line(self) -> str:
        r = self.result
        value = f"{r.number} {r.unit}" if r.number is not None else "-"
        return (f"{r.mrn or '-'}  {r.analyte or '-'}  {value}  {r.at or '-'}  {self.outcome}: {self.message}")


@frozen
class FileReport:
    file: str
    outcomes: tuple
    error: str | None = None  # the file could not be read: nothing imported

    @property
    def refused(self) -> bool:
        return any(o.outcome == "refused" for o in self.outcomes)


# ------------------------------------------------------------------ reading a file

def read_file(path) -> list[LabResult]:
    """Every result of one file; ImportFileError when the file cannot be read as lab results."""
    name = str(path)
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise ImportFileError(f"cannot read the file: {exc.strerror or exc}", file=name) from None
    if Path(path).is_dir():
        raise ImportFileError("is a folder, expected a FHIR JSON or HL7 v2 file", file=name)
    if size > MAX_FILE_BYTES:
        raise ImportFileError(f"the file is {size / 1024 / 1024:.1f} MiB; lab files of more than "
                              f"{MAX_FILE_BYTES // 1024 // 1024} MiB are refused (split the export)", file=name)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ImportFileError(f"cannot read the file: {exc.strerror or exc}", file=name) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"not UTF-8 text (byte {exc.start})", file=name) from None
    start = text.lstrip()[:3]
    if start.startswith(("{", "[")):
        results = read_fhir(text, name)
    elif start in ("MSH", "FHS", "BHS"):
        results = read_hl7(text, name)
    elif not start:
        raise ImportFileError("the file is empty", file=name)
    else:
        raise ImportFileError("neither FHIR JSON (starts with '{') nor HL7 v2 (starts with MSH)", file=name)
    if not results:
        raise ImportFileError("holds no lab results", file=name)
    return results


# ------------------------------------------------------------------ FHIR

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
    """The MRN of a Patient resource, or a _Problem saying why there is none."""
    ids = patient.get("identifier")
    if not isinstance(ids, list) or not ids:
        return _Problem(f"Patient/{patient.get('id')} has no identifier (no MRN)")
    typed = [i for i in ids if isinstance(i, dict) and _is_mr(i.get("type"))]
    pick = typed if typed else ids
    values = [i.get("value") for i in pick if isinstance(i, dict) and isinstance(i.get("value"), str)]
    if len(values) != 1:
        return _Problem(f"Patient/{patient.get('id')}: {len(values)} identifiers and none typed MR: which is the "
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
            raise _Problem("the Observation has no id: a result without one cannot be recognised when it is sent "
                           "again")
        status = obs.get("status")
        if status not in FHIR_STATUSES:
            raise _Problem(f"status {_short(status)}: expected one of {', '.join(FHIR_STATUSES)}")
        result = evolve(result, status=status)
        result = evolve(result, mrn=_subject_mrn(obs.get("subject"), patients))
        analyte = _fhir_analyte(obs.get("code"))
        result = evolve(result, analyte=analyte.id)
        at, collected = _fhir_time(obs)
        result = evolve(result, at=at, collected=collected)
        return _fhir_value(result, obs, analyte)
    except _Problem as exc:
        return evolve(result, problem=str(exc))


def _subject_mrn(subject, patients: dict) -> str:
    if not isinstance(subject, dict):
        raise _Problem("no subject: the patient is not named")
    ident = subject.get("identifier")
    if isinstance(ident, dict) and isinstance(ident.get("value"), str) and ident["value"].strip():
        return ident["value"].strip()
    ref = subject.get("reference")
    if not isinstance(ref, str) or not ref:
        raise _Problem("subject has neither a reference nor an identifier: the patient is not named")
    if ref.startswith("Patient?identifier="):
        value = ref.split("=", 1)[1]
        return value.split("|", 1)[1] if "|" in value else value
    mrn = patients.get(ref)
    if isinstance(mrn, _Problem):
        raise mrn
    if mrn is None:
        raise _Problem(f"subject {_short(ref)}: no Patient with that id in the file and no identifier on the "
                       "reference, so no MRN (a FHIR id is not an MRN)")
    return mrn


def _fhir_analyte(code):
    from .library import load_library

    codings = code.get("coding") if isinstance(code, dict) else None
    if not isinstance(codings, list):
        raise _Problem("code has no coding: the test is not named")
    loinc = [c for c in codings if isinstance(c, dict) and c.get("system") == LOINC_SYSTEM]
    if not loinc:
        shown = ", ".join(f"{c.get('system')}|{c.get('code')}" for c in codings if isinstance(c, dict))[:120]
        raise _Problem(f"no LOINC code (code.coding: {shown or 'none'})")
    library = load_library()
    for c in loinc:
        analyte = library.analyte_by_loinc(str(c.get("code")))
        if analyte is not None:
            return analyte
    shown = ", ".join(f"{c.get('code')}" + (f" ({c.get('display')})" if c.get("display") else "") for c in loinc)
    raise _Problem(f"unknown LOINC code {shown[:120]}: no analyte of regimens/library/analytes.toml has it")


def _fhir_time(obs: dict) -> tuple[str, _dt.datetime]:
    for key in ("effectiveDateTime", "effectiveInstant"):
        if key in obs:
            return _fhir_datetime(obs[key], key)
    period = obs.get("effectivePeriod")
    if isinstance(period, dict) and "start" in period:
        return _fhir_datetime(period["start"], "effectivePeriod.start")
    raise _Problem("no effectiveDateTime: when the sample was taken is not given")


def _fhir_datetime(text, key: str) -> tuple[str, _dt.datetime]:
    if not isinstance(text, str):
        raise _Problem(f"{key} {_short(text)} is not a date-time")
    if _FHIR_DATE.fullmatch(text):
        raise _Problem(f"{key} {text!r} has no time of day")
    if not _FHIR_DATETIME.fullmatch(text):
        raise _Problem(f"{key} {_short(text)}: expected YYYY-MM-DDThh:mm:ss with a zone (Z or +hh:mm)")
    try:
        when = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise _Problem(f"{key} {text!r} is not a date-time ({exc})") from None
    return _collected(when, text, key)


def _collected(when: _dt.datetime, shown: str, key: str) -> tuple[str, _dt.datetime]:
    from .records import parse_when

    try:
        local = parse_when(when, key)
    except ChemoError as exc:
        raise _Problem(f"{key} {shown!r}: {exc.message.split(': ', 1)[-1]}") from None
    return when.isoformat(), local


def _fhir_value(result: LabResult, obs: dict, analyte) -> LabResult:
    from .ucum import UCUM_SYSTEM

    values = [k for k in obs if k.startswith("value")]
    if len(values) > 1:
        raise _Problem(f"more than one value ({', '.join(values)}): an Observation has one value[x]")
    vq = obs.get("valueQuantity")
    if vq is None:
        others = [k for k in obs if k.startswith("value")]
        if result.status in RETRACTING and not others:
            return result  # a retraction may carry no value
        if others:
            raise _Problem(f"{others[0]} given, expected valueQuantity (a number with a UCUM unit)")
        absent = obs.get("dataAbsentReason")
        why = f" (dataAbsentReason {_short(absent.get('text') or absent.get('coding'))})" if isinstance(
            absent, dict) else ""
        raise _Problem(f"no value{why}")
    if not isinstance(vq, dict):
        raise _Problem("valueQuantity is not an object")
    number = vq.get("value")
    if isinstance(number, bool) or not isinstance(number, (int, Decimal)):
        raise _Problem(f"valueQuantity.value {_short(number)} is {type(number).__name__}, expected a number")
    if vq.get("comparator") is not None:
        raise _Problem(f"valueQuantity.comparator {_short(vq.get('comparator'))}: a value like '<{number}' is not a "
                       "number to check a threshold with")
    number_text = str(number)
    if vq.get("system") != UCUM_SYSTEM:
        raise _Problem(f"valueQuantity unit {_short(vq.get('code') or vq.get('unit'))} is not UCUM (system "
                       f"{_short(vq.get('system'))}, expected {UCUM_SYSTEM})")
    code = vq.get("code")
    if not isinstance(code, str) or not code:
        raise _Problem("valueQuantity has no UCUM code")
    result = evolve(result, number=number_text, unit=code)
    unit = _unit(code, "valueQuantity.code")
    high_text = None
    ranges = obs.get("referenceRange")
    if isinstance(ranges, list) and ranges and isinstance(ranges[0], dict):
        rr = ranges[0]
        high, low = rr.get("high"), rr.get("low")
        if isinstance(high, dict) and "value" in high:
            hv = high.get("value")
            if isinstance(hv, bool) or not isinstance(hv, (int, Decimal)):
                raise _Problem(f"referenceRange.high.value {_short(hv)} is not a number")
            if high.get("code") is not None and high.get("system") not in (None, UCUM_SYSTEM):
                raise _Problem("referenceRange.high is not in a UCUM unit")
            hunit = _unit(high["code"], "referenceRange.high.code") if high.get("code") else unit
            high_text = f"{hv} {hunit}"
            lv = low.get("value") if isinstance(low, dict) else None
            shown = f"{lv}-{hv}" if isinstance(lv, (int, Decimal)) and not isinstance(lv, bool) else f"≤ {hv}"
            result = evolve(result, range_text=f"{shown} {hunit}")
    return _with_value(result, analyte, f"{number_text} {unit}", high_text)


def _unit(code: str, field: str) -> str:
    from .ucum import chemo_unit

    try:
        return chemo_unit(code, field)
    except ChemoError as exc:
        raise _Problem(f"{field}: {exc.message}") from None


def _with_value(result: LabResult, analyte, value_text: str, high_text: str | None) -> LabResult:
    """Check the value as a typed one would be (unit, plausibility); the ULN where the analyte is ULN-relative."""
    from .records import parse_lab

    uln = high_text if (high_text and analyte.uln_range) else None
    try:
        row = parse_lab(analyte.id, value_text, uln)
    except ChemoError as exc:
        raise _Problem(str(exc)) from None
    return evolve(result, value_text=value_text, uln_text=uln, row=row)


# ------------------------------------------------------------------ HL7 v2

def read_hl7(text: str, name: str = "") -> list[LabResult]:
    import hl7

    segments = [s for s in re.split(r"\r\n|\r|\n", text) if s.strip()]
    segments = [s for s in segments if s[:3] not in ("FHS", "BHS", "BTS", "FTS")]
    messages: list[list[str]] = []
    for seg in segments:
        if seg.startswith("MSH"):
            messages.append([seg])
        elif not messages:
            raise ImportFileError(f"segment {seg[:3]!r} before the first MSH", file=name)
        else:
            messages[-1].append(seg)
    results = []
    for n, segs in enumerate(messages, 1):
        if not re.match(r"MSH[|^~\\&#]", segs[0]) or len(segs[0]) < 8:
            raise ImportFileError(f"message {n}: the MSH segment does not declare its separators", file=name)
        bad = next((s for s in segs if not re.fullmatch(r"[A-Z][A-Z0-9]{2}", s[:3]) or
                    (len(s) > 3 and s[3] != segs[0][3])), None)
        if bad is not None:
            raise ImportFileError(f"message {n}: {bad[:12]!r}... is not an HL7 segment", file=name)
        try:
            message = hl7.parse("\r".join(segs))
        except Exception as exc:  # python-hl7 raises several types on junk
            raise ImportFileError(f"message {n}: cannot be read as HL7 v2 ({type(exc).__name__})", file=name) \
                from None
        results += _hl7_message(message, n, name)
    return results


def _f(seg, field: int, component: int = 1, repeat: int = 1) -> str:
    try:
        return str(seg.extract_field(field_num=field, repeat_num=repeat, component_num=component)).strip()
    except (IndexError, KeyError, TypeError, ValueError, AttributeError):
        return ""


def _hl7_message(message, n: int, name: str) -> list[LabResult]:
    msh = message[0]
    kind, event = _f(msh, 9, 1), _f(msh, 9, 2)
    if (kind, event) != ("ORU", "R01"):
        raise ImportFileError(f"message {n}: MSH-9 is {kind}^{event}, expected ORU^R01", file=name)
    control = _f(msh, 10)
    if not control:
        raise ImportFileError(f"message {n}: no message control id (MSH-10)", file=name)
    facility = _f(msh, 4)
    mrn: str | _Problem | None = None
    order, obr_time = "", ""
    results = []
    for seg in list(message)[1:]:
        tag = str(seg[0])
        if tag == "PID":
            mrn = _pid_mrn(seg)
        elif tag == "OBR":
            order = _f(seg, 3) or _f(seg, 2)
            obr_time = _f(seg, 7)
        elif tag == "OBX":
            results.append(_obx(seg, n, control, facility, mrn, order, obr_time))
    return results


def _pid_mrn(pid):
    field = pid[3] if len(pid) > 3 else None
    reps = list(field) if field is not None and str(field) else []
    if not reps:
        return _Problem("PID-3 is empty: no MRN")
    typed = [i for i in range(1, len(reps) + 1) if _f(pid, 3, 5, i) == "MR"]
    if typed:
        return _f(pid, 3, 1, typed[0]) or _Problem("PID-3: the MR identifier is empty")
    if len(reps) == 1:
        return _f(pid, 3, 1, 1) or _Problem("PID-3 is empty: no MRN")
    return _Problem(f"PID-3 has {len(reps)} identifiers and none typed MR: which is the MRN is not guessed")


def _obx(seg, n, control, facility, mrn, order, obr_time) -> LabResult:
    set_id = _f(seg, 1) or "?"
    code, code_system = _f(seg, 3, 1), _f(seg, 3, 3)
    if code_system != "LN" and _f(seg, 3, 6) == "LN":
        code, code_system = _f(seg, 3, 4), "LN"
    sub_id = _f(seg, 4)
    ident = f"{facility}|{order or 'MSH-10:' + control}|{code}|{sub_id}"
    result = LabResult(where=f"message {n} (MSH-10 {control}) OBX {set_id}", source="hl7", source_id=ident,
                       source_message=control, shown_id=f"{control}/OBX-{set_id}")
    try:
        if isinstance(mrn, _Problem):
            raise mrn
        if mrn is None:
            raise _Problem("no PID segment before this OBX: the patient is not named")
        result = evolve(result, mrn=mrn)
        status_code = _f(seg, 11)
        status = HL7_STATUS.get(status_code)
        if status is None:
            raise _Problem(f"OBX-11 result status {status_code!r}: expected one of {', '.join(HL7_STATUS)}")
        result = evolve(result, status=status)
        if code_system != "LN":
            raise _Problem(f"OBX-3 {code!r} is not a LOINC code (coding system {code_system!r}, expected LN)")
        from .library import load_library

        analyte = load_library().analyte_by_loinc(code)
        if analyte is None:
            shown = f"{code} ({_f(seg, 3, 2)})" if _f(seg, 3, 2) else code
            raise _Problem(f"unknown LOINC code {shown}: no analyte of regimens/library/analytes.toml has it")
        result = evolve(result, analyte=analyte.id)
        when = _f(seg, 14) or obr_time
        if not when:
            raise _Problem("no observation time (OBX-14, OBR-7)")
        at, collected = _hl7_time(when, "OBX-14" if _f(seg, 14) else "OBR-7")
        result = evolve(result, at=at, collected=collected)
        return _hl7_value(result, seg, analyte)
    except _Problem as exc:
        return evolve(result, problem=str(exc))


def _hl7_time(text: str, field: str) -> tuple[str, _dt.datetime]:
    match = _HL7_TS.fullmatch(text)
    if not match:
        if re.fullmatch(r"[0-9]{4,10}", text):
            raise _Problem(f"{field} {text!r} has no time of day to the minute")
        raise _Problem(f"{field} {text[:30]!r}: expected YYYYMMDDHHMM[SS][+/-ZZZZ]")
    y, mo, d, h, mi, s, zone = match.groups()
    try:
        when = _dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0))
        if zone:
            hours, minutes = int(zone[1:3]), int(zone[3:5])
            offset = _dt.timedelta(hours=hours, minutes=minutes) * (1 if zone[0] == "+" else -1)
            when = when.replace(tzinfo=_dt.timezone(offset))
    except ValueError as exc:
        raise _Problem(f"{field} {text!r} is not a date-time ({exc})") from None
    return _collected(when, text, field)


def _hl7_value(result: LabResult, seg, analyte) -> LabResult:
    vtype = _f(seg, 2)
    field = seg[5] if len(seg) > 5 else None
    if field is not None and len(list(field)) > 1:
        raise _Problem("OBX-5 repeats: one value expected")
    if vtype == "NM":
        number = _f(seg, 5)
    elif vtype == "SN":
        comparator, number, sep, second = (_f(seg, 5, i) for i in (1, 2, 3, 4))
        if comparator not in ("", "=") or sep or second:
            raise _Problem(f"OBX-5 {str(seg[5])[:30]!r}: a value with a comparator or a range is not a number to "
                           "check a threshold with")
    else:
        if not vtype and result.status in RETRACTING and not _f(seg, 5):
            return result
        raise _Problem(f"OBX-2 value type {vtype!r}: expected NM (a number) or SN")
    if not number:
        if result.status in RETRACTING:
            return result
        raise _Problem("OBX-5 is empty: no value")
    if not _HL7_NUMBER.fullmatch(number):
        raise _Problem(f"OBX-5 {number[:30]!r} is not a number")
    unit_code, unit_system = _f(seg, 6, 1), _f(seg, 6, 3)
    if not unit_code:
        raise _Problem("OBX-6 is empty: the value has no unit")
    if unit_system not in HL7_UNIT_SYSTEMS:
        raise _Problem(f"OBX-6 unit {unit_code!r} is coded in {unit_system!r}, expected UCUM")
    result = evolve(result, number=number, unit=unit_code)
    unit = _unit(unit_code, "OBX-6")
    try:
        Decimal(number)
    except InvalidOperation:
        raise _Problem(f"OBX-5 {number!r} is not a number") from None
    high_text = None
    raw_ref = str(seg[7]) if len(seg) > 7 else ""
    if raw_ref:
        match = _HL7_RANGE.fullmatch(raw_ref.replace("^", "-"))
        if not match:
            raise _Problem(f"OBX-7 reference range {raw_ref[:30]!r}: expected 'low-high'")
        low, high = match.groups()
        high_text = f"{high} {unit}"
        result = evolve(result, range_text=f"{low}-{high} {unit}" if low else f"≤ {high} {unit}")
    return _with_value(result, analyte, f"{number} {unit}", high_text)


# ------------------------------------------------------------------ into the record

class _DryRun(Exception):
    pass


def import_file(store: Store, actor: str, path, *, dry_run: bool = False) -> FileReport:
    """Import one file in one transaction; a FileReport with an ``error`` when the file cannot be read."""
    from .roles import ANY, require

    name = str(path)
    try:
        results = read_file(path)
    except ImportFileError as exc:
        return FileReport(name, (), exc.message)
    source_file = str(Path(path).resolve())
    outcomes: list[Outcome] = []
    try:
        with store.transaction():
            require(store, actor, ANY, "importing lab results")
            for r in results:
                outcomes.append(_apply(store, actor, r, name, source_file))
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return FileReport(name, tuple(outcomes))


def import_files(store: Store, actor: str, paths, *, dry_run: bool = False) -> list[FileReport]:
    return [import_file(store, actor, p, dry_run=dry_run) for p in paths]


def _identical(row: dict, r: LabResult, record: dict) -> bool:
    return (row["status"] == r.status and row["value_text"] == record["value_text"]
            and row["collected_at"] == record["collected_at"] and row["uln_text"] == record["uln_text"])


def _apply(store: Store, actor: str, r: LabResult, name: str, source_file: str) -> Outcome:
    from .records import parse_lab

    if r.problem:
        return Outcome(name, r, "refused", r.problem)
    patient = patients.by_mrn(store, r.mrn)
    if patient is None:
        return Outcome(name, r, "refused", f"no patient with MRN {r.mrn!r} in the record")
    earlier = labs.by_source_id(store, r.source, r.source_id)
    current = next((e for e in reversed(earlier) if e["superseded_by"] is None), None)
    if current is not None and current["patient_id"] != patient["id"]:
        return Outcome(name, r, "refused", f"{r.shown_id} was imported for another patient; a result moved between "
                                           "patients is not taken from a file")
    if r.value_text is None:  # a retraction without a value: it stands for the row it retracts
        if current is None:
            return Outcome(name, r, "ignored", f"{r.status}, and nothing imported before to retract")
        if current["status"] == r.status:
            return Outcome(name, r, "duplicate", f"already {r.status} (row {current['id']})")
        base = labs.values_of(store, current["id"])
        r = evolve(r, value_text=base["value_text"], uln_text=base["uln_text"], row=None)
    row = dict(r.row) if r.row is not None else parse_lab(r.analyte, r.value_text, r.uln_text)
    record = {"patient_id": patient["id"], **row, "range_text": r.range_text,
              "collected_at": r.collected.isoformat(), "recorded_at": now_local().isoformat(), "recorded_by": actor,
              "source": r.source, "source_file": source_file, "source_id": r.source_id,
              "source_message": r.source_message, "status": r.status, "lab_time": r.at}
    same = next((e for e in earlier if _identical(e, r, record)), None)
    if same is not None:
        return Outcome(name, r, "duplicate", f"already imported (row {same['id']}, from {same['source_file']})")
    replaces = None
    if current is not None:
        if r.status in REPLACING or current["status"] in EARLY:
            if r.status in EARLY:
                return Outcome(name, r, "refused", f"a {r.status} result after a {current['status']} one "
                                                   f"(row {current['id']}) does not replace it")
            replaces = current
        elif current["status"] in RETRACTING:
            return Outcome(name, r, "refused", f"{r.shown_id} was {current['status']} (row {current['id']}); a new "
                                               "value must come as a corrected result")
        else:
            return Outcome(name, r, "refused", f"differs from the {current['status']} result imported before "
                                               f"(row {current['id']}: {current['value_text']} at "
                                               f"{current['collected_at']}); a change must come as a corrected "
                                               "result")
    lid = labs.add(store, record)
    audit.append(store, actor, "lab.import", "labs", lid, None, record)
    message = f"{r.status}, {r.where}"
    if replaces is not None:
        labs.supersede(store, replaces["id"], lid)
        audit.append(store, actor, "lab.supersede", "labs", replaces["id"], {"superseded_by": None},
                     {"superseded_by": lid, "by_status": r.status, "by_file": source_file,
                      "by_message": r.source_message})
        message += f"; replaces row {replaces['id']} ({replaces['status']} {replaces['value_text']})"
    if r.status not in GATING:
        message += f"; a {r.status} result does not count for readiness"
    return Outcome(name, r, "imported", message, lid)
