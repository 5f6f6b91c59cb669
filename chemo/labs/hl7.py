"""The HL7 v2 read side: ORU^R01 messages into :class:`LabResult` values.

A file holds one or many messages (segments separated by CR or LF; FHS/BHS
batch envelopes and MLLP framing bytes are skipped; the bytes were decoded by
:mod:`chemo.labs.encoding`), each read with python-hl7.  The patient is PID-3
(the repetition typed ``MR``, or the only one) with its assigning authority
PID-3.4; the analyte OBX-3 with coding system ``LN`` (LOINC; a code no analyte
uses is *ignored*); the value OBX-5 of type NM, SN (``<^0.5``: a censored value)
or ST (a number as text, ``<0.5`` too) with its UCUM unit (or a listed spelling)
in OBX-6; the ULN the upper limit of OBX-7 in each form HL7 v2 defines; the time
OBX-14, else OBR-7 (a time without a zone is clinic local time: a project choice);
the status OBX-11, read as the FHIR status it means.  ``where`` names the message,
the OBR group and the OBX set id.  The identity at the lab is the sending
facility, the filler order number, the OBX-3 code and the OBX-4 sub-id.
"""

from __future__ import annotations

import datetime as _dt
import re

from attrs import evolve

from .result import (COMPARATORS, RETRACTING, ImportFileError, LabResult, Problem, catch, checked_value,
                     clinic_time, lab_unit, unknown_loinc, with_range)

# HL7 v2 table 0085 (observation result status) -> the FHIR status it means
HL7_STATUS = {"F": "final", "C": "corrected", "P": "preliminary", "R": "preliminary", "S": "preliminary",
              "I": "registered", "X": "cancelled", "D": "entered-in-error", "W": "entered-in-error"}
HL7_UNIT_SYSTEMS = ("", "UCUM", "ISO+", "ANS+")

_HL7_TS = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})?(?:\.[0-9]{1,4})?"
                     r"([+-][0-9]{4})?")
_HL7_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_NUM = r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+"
# OBX-7 as HL7 v2.5.1 (7.4.2.7) defines it: "lower-upper", "> lower", "< upper" (and "<=", ">=" as labs write them);
# a bare number is read as the upper limit only for a ULN-relative analyte (one with a ``uln`` in analytes.toml)
_HL7_RANGE = re.compile(rf"\s*(?:(?P<low>{_NUM})\s*[-_^]\s*(?P<high>{_NUM})|(?P<op>[<>]=?)\s*(?P<bound>{_NUM})"
                        rf"|(?P<bare>{_NUM}))\s*")
_ST_VALUE = re.compile(rf"\s*(?P<op>[<>]=?)?\s*(?P<number>[+-]?(?:{_NUM}))\s*")


def read_hl7(text: str, name: str = "", read_as: str | None = None) -> list[LabResult]:
    import hl7

    text = text.replace("\x0b", "").replace("\x1c", "\r")  # MLLP framing left in a file
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
        results += _hl7_message(message, n, name, read_as)
    return results


def _f(seg, field: int, component: int = 1, repeat: int = 1) -> str:
    try:
        return str(seg.extract_field(field_num=field, repeat_num=repeat, component_num=component)).strip()
    except (IndexError, KeyError, TypeError, ValueError, AttributeError):
        return ""


def _hl7_message(message, n: int, name: str, read_as: str | None = None) -> list[LabResult]:
    from ..library import load_library

    library = load_library()
    msh = message[0]
    kind, event = _f(msh, 9, 1), _f(msh, 9, 2)
    if (kind, event) != ("ORU", "R01"):
        raise ImportFileError(f"message {n}: MSH-9 is {kind}^{event}, expected ORU^R01", file=name)
    control = _f(msh, 10)
    if not control:
        raise ImportFileError(f"message {n}: no message control id (MSH-10)", file=name)
    facility = _f(msh, 4)
    mrn: tuple | Problem | None = None
    order, obr_time, group = "", "", ""
    groups = 0
    results = []
    for seg in list(message)[1:]:
        tag = str(seg[0])
        if tag == "PID":
            mrn = _pid_mrn(seg)
        elif tag == "OBR":
            groups += 1
            order = _f(seg, 3) or _f(seg, 2)
            obr_time = _f(seg, 7)
            group = f"OBR {_f(seg, 1) or groups} "
        elif tag == "OBX":
            results.append(_obx(seg, n, control, facility, mrn, order, obr_time, group, library, read_as))
    return results


def _pid_mrn(pid):
    field = pid[3] if len(pid) > 3 else None
    reps = list(field) if field is not None and str(field) else []
    if not reps:
        return Problem("PID-3 is empty: no MRN")
    typed = [i for i in range(1, len(reps) + 1) if _f(pid, 3, 5, i) == "MR"]
    if typed:
        value = _f(pid, 3, 1, typed[0])
        return (value, _f(pid, 3, 4, typed[0])) if value else Problem("PID-3: the MR identifier is empty")
    if len(reps) == 1:
        value = _f(pid, 3, 1, 1)
        return (value, _f(pid, 3, 4, 1)) if value else Problem("PID-3 is empty: no MRN")
    return Problem(f"PID-3 has {len(reps)} identifiers and none typed MR: which is the MRN is not guessed")


def _obx(seg, n, control, facility, mrn, order, obr_time, group, library, read_as) -> LabResult:
    set_id = _f(seg, 1) or "?"
    code, code_system = _f(seg, 3, 1), _f(seg, 3, 3)
    if code_system != "LN" and _f(seg, 3, 6) == "LN":
        code, code_system = _f(seg, 3, 4), "LN"
    sub_id = _f(seg, 4)
    got = {"where": f"message {n} (MSH-10 {control}) {group}OBX {set_id}", "source": "hl7",
           "source_id": f"{facility}|{order or 'MSH-10:' + control}|{code}|{sub_id}", "source_message": control,
           "shown_id": f"{control}/OBX-{set_id}", "read_as": read_as}  # the LabResult is made once, at the end (a panel has many)
    try:
        if isinstance(mrn, Problem):
            raise mrn
        if mrn is None:
            raise Problem("no PID segment before this OBX: the patient is not named")
        got.update(mrn=mrn[0], mrn_issuer=mrn[1])
        if code_system != "LN":
            raise Problem(f"OBX-3 {code!r} is not a LOINC code (coding system {code_system!r}, expected LN)")
        analyte = library.analyte_by_loinc(code)
        if analyte is None:
            shown = f"{code} ({_f(seg, 3, 2)})" if _f(seg, 3, 2) else code
            raise unknown_loinc(shown)
        got["analyte"] = analyte.id
        status_code = _f(seg, 11)
        status = HL7_STATUS.get(status_code)
        if status is None:
            raise Problem(f"OBX-11 result status {status_code!r}: expected one of {', '.join(HL7_STATUS)}")
        got["status"] = status
        when = _f(seg, 14) or obr_time
        if not when:
            raise Problem("no observation time (OBX-14, OBR-7)")
        field = "OBX-14" if _f(seg, 14) else "OBR-7"
        at, collected = _hl7_time(when, field)
        got.update(at=at, collected=collected, time_from=field)
        result = LabResult(**got)
        return _hl7_value(result, seg, analyte)
    except Problem as exc:
        return catch(LabResult(**got), exc)


def _hl7_time(text: str, field: str) -> tuple[str, _dt.datetime]:
    match = _HL7_TS.fullmatch(text)
    if not match:
        if re.fullmatch(r"[0-9]{4,10}", text):
            raise Problem(f"{field} {text!r} has no time of day to the minute")
        raise Problem(f"{field} {text[:30]!r}: expected YYYYMMDDHHMM[SS][+/-ZZZZ]")
    y, mo, d, h, mi, s, zone = match.groups()
    try:
        when = _dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0))
        if zone:
            hours, minutes = int(zone[1:3]), int(zone[3:5])
            offset = _dt.timedelta(hours=hours, minutes=minutes) * (1 if zone[0] == "+" else -1)
            when = when.replace(tzinfo=_dt.timezone(offset))
    except ValueError as exc:
        raise Problem(f"{field} {text!r} is not a date-time ({exc})") from None
    return clinic_time(when, text, field)


def _hl7_value(result: LabResult, seg, analyte) -> LabResult:
    vtype = _f(seg, 2)
    field = seg[5] if len(seg) > 5 else None
    if field is not None and len(list(field)) > 1:
        raise Problem("OBX-5 repeats: one value expected")
    comparator = None
    if vtype == "NM":
        number = _f(seg, 5)
    elif vtype == "SN":
        comparator, number, sep, second = (_f(seg, 5, i) for i in (1, 2, 3, 4))
        if sep or second:
            raise Problem(f"OBX-5 {str(seg[5])[:30]!r}: a range or ratio is not a number to check a threshold with")
        if comparator == "=":
            comparator = ""
        if comparator and comparator not in COMPARATORS:
            raise Problem(f"OBX-5 comparator {comparator!r}: expected one of {', '.join(COMPARATORS)}")
    elif vtype == "ST":
        text = _f(seg, 5)
        match = _ST_VALUE.fullmatch(text)
        if text and not match:
            raise Problem(f"OBX-5 {text[:30]!r} (OBX-2 ST) is not a number, nor one with <, <=, > or >=")
        comparator, number = (match.group("op"), match.group("number")) if match else ("", "")
    else:
        if not vtype and result.status in RETRACTING and not _f(seg, 5):
            return result
        raise Problem(f"OBX-2 value type {vtype!r}: expected NM (a number), SN or ST (a number as text)")
    if not number:
        if result.status in RETRACTING:
            return result
        raise Problem("OBX-5 is empty: no value")
    if not _HL7_NUMBER.fullmatch(number):
        raise Problem(f"OBX-5 {number[:30]!r} is not a number")
    unit_code, unit_system = _f(seg, 6, 1), _f(seg, 6, 3)
    if not unit_code:
        raise Problem("OBX-6 is empty: the value has no unit")
    if unit_system not in HL7_UNIT_SYSTEMS:
        raise Problem(f"OBX-6 unit {unit_code!r} is coded in {unit_system!r}, expected UCUM")
    cut = _f(seg, 6, 2)
    if re.fullmatch(r"[0-9]+", unit_code) and re.match(r"[0-9]", cut):
        raise Problem(f"OBX-6 {unit_code + '^' + cut!r}: the unit was cut at the component separator '^' "
                       f"({unit_code!r} is not a UCUM unit); the lab must escape it ({unit_code}\\S\\{cut}) or "
                       f"send the UCUM code ({unit_code}*{cut})")
    result = evolve(result, number=number, unit=unit_code, comparator=comparator or None)
    unit = lab_unit(unit_code, "OBX-6")
    high_text = None
    raw_ref = str(seg[7]) if len(seg) > 7 else ""
    if raw_ref:
        result, high_text = _obx7(result, raw_ref, unit, analyte)
    return checked_value(result, analyte, f"{number} {unit}", high_text)


def _obx7(result: LabResult, raw: str, unit: str, analyte) -> tuple[LabResult, str | None]:
    """The reference range of OBX-7 in each form HL7 v2 defines (see :data:`_HL7_RANGE`)."""
    match = _HL7_RANGE.fullmatch(raw)
    if not match:
        raise Problem(f"OBX-7 reference range {raw[:30]!r}: expected 'lower-upper', '> lower', '< upper' or "
                       "'<= upper'")
    if match.group("high") is not None:
        return with_range(result, match.group("low"), match.group("high"), unit)
    if match.group("op") is not None:
        op, bound = match.group("op"), match.group("bound")
        shown = f"{op.replace('<=', '≤').replace('>=', '≥')} {bound}"
        if op.startswith(">"):
            return with_range(result, bound, None, unit, shown)
        return with_range(result, None, bound, unit, shown)
    if not analyte.uln_range:
        raise Problem(f"OBX-7 reference range {raw[:30]!r}: a bare number is read as the upper limit only for an "
                       f"analyte whose threshold is a multiple of its ULN, and {analyte.name} is not one")
    return with_range(result, None, match.group("bare"), unit)
