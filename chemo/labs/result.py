"""What the read side of a lab file gives the importer: one :class:`LabResult` per result.

:mod:`chemo.labs.fhir` and :mod:`chemo.labs.hl7` each read their format into
these values and nothing else; :mod:`chemo.labs.importer` takes them into the
record.  A result the file states wrongly is not an exception past the reader:
it is a ``LabResult`` with its ``problem`` (the importer reports it refused).
A file that cannot be read at all is an :class:`ImportFileError`.

The checks both formats share live here: the UCUM unit (:mod:`chemo.labs.ucum`),
the value as a typed one is checked (:func:`chemo.records.parse_lab`) and the
lab's time in clinic local time (:func:`chemo.records.parse_when`).
"""

from __future__ import annotations

import datetime as _dt

from attrs import evolve, frozen

from ..errors import ChemoError
from .ucum import chemo_unit

# FHIR R4 ObservationStatus values (HL7 v2 statuses are read into these)
GATING = ("final", "amended", "corrected")  # the only statuses readiness reads
RETRACTING = ("cancelled", "entered-in-error")
REPLACING = ("amended", "corrected") + RETRACTING
EARLY = ("registered", "preliminary")


class ImportFileError(ChemoError):
    """A file that cannot be read as lab results at all: nothing of it is imported (exit 2)."""

    exit_code = 2


class Problem(Exception):
    """Why one result is refused; the read side turns it into ``LabResult.problem``."""


class Ignored(Problem):
    """Why one result is of no use to chemo (no analyte has its code): ``LabResult.ignored``, never refused."""


COMPARATORS = ("<", "<=", ">", ">=")  # a censored value: the true value lies beyond the number

@frozen
class LabResult:
    """One result as the file gives it, before it meets the record."""

    where: str  # "entry[3] Observation/f204", "message 2 (MSH-10 CNTRL-3456) OBX 1"
    source: str  # "fhir" or "hl7"
    source_id: str | None = None  # identity at the lab (see the module text)
    source_message: str | None = None  # Bundle id / Observation version; HL7 MSH-10
    shown_id: str | None = None  # what the output names it by
    mrn: str | None = None
    mrn_issuer: str | None = None  # FHIR identifier.system / HL7 PID-3.4 assigning authority ("" when none given)
    analyte: str | None = None
    number: str | None = None  # as written
    comparator: str | None = None  # one of COMPARATORS for a censored value ("<0.5"), else None
    unit: str | None = None  # UCUM code as written
    value_text: str | None = None  # "4.5 10^9/L": the chemo spelling parse_lab reads
    uln_text: str | None = None
    range_text: str | None = None
    at: str | None = None  # the lab's time as ISO 8601 with its zone (when it gave one)
    collected: _dt.datetime | None = None  # local clinic time
    status: str | None = None
    time_from: str | None = None  # which field gave the time ("OBX-14", "OBR-7", "DiagnosticReport/x ...")
    read_as: str | None = None  # how the bytes were read (HL7: the character set)
    problem: str | None = None
    ignored: str | None = None  # why chemo has no use for the result (no analyte has its code)
    row: dict | None = None  # the checked value as parse_lab returns it (checked once, outside the write lock)


# ------------------------------------------------------------------ checks both formats share

def clinic_time(when: _dt.datetime, shown: str, key: str) -> tuple[str, _dt.datetime]:
    from ..records import parse_when

    try:
        local = parse_when(when, key)
    except ChemoError as exc:
        raise Problem(f"{key} {shown!r}: {exc.message.split(': ', 1)[-1]}") from None
    return when.isoformat(), local


def lab_unit(code: str, field: str) -> str:
    try:
        return chemo_unit(code, field)
    except ChemoError as exc:
        raise Problem(f"{field}: {exc.message}") from None


def unknown_loinc(shown: str) -> Ignored:
    return Ignored(f"unknown LOINC code {shown}: no analyte of regimens/library/analytes.toml has it")


def with_range(result: LabResult, low, high, unit: str, shown: str | None = None) -> tuple[LabResult, str | None]:
    """The result with its reference range as shown (``low-high unit``, ``≤ high unit`` without a low end,
    or ``shown``) and the ULN text ``high unit`` (None for a range with no upper end, ``> low``)."""
    if shown is None:
        shown = f"{low}-{high}" if low is not None else f"≤ {high}"
    return evolve(result, range_text=f"{shown} {unit}"), (f"{high} {unit}" if high is not None else None)


def catch(result: LabResult, exc: Problem) -> LabResult:
    """The result with the reason it is ignored or refused."""
    if isinstance(exc, Ignored):
        return evolve(result, ignored=str(exc))
    return evolve(result, problem=str(exc))


def checked_value(result: LabResult, analyte, value_text: str, high_text: str | None) -> LabResult:
    """Check the value as a typed one would be (unit, plausibility); the ULN where the analyte is ULN-relative."""
    from ..records import parse_lab

    uln = high_text if (high_text and analyte.uln_range) else None
    try:
        row = parse_lab(analyte.id, value_text, uln)
    except ChemoError as exc:
        raise Problem(str(exc)) from None
    return evolve(result, value_text=value_text, uln_text=uln, row=row)
