"""Lab results into the record: a file read whole and checked, then written in one transaction.

:func:`read_file` refuses a file that is not lab results at all (too large, not
in its character set, empty, neither FHIR JSON nor HL7 v2) and hands the text to
:mod:`chemo.labs.fhir` or :mod:`chemo.labs.hl7`; their :class:`LabResult`
values, each already checked or carrying its problem, meet the record here.

Writing: one ``BEGIN IMMEDIATE`` transaction per file (per message for the MLLP
listener, :func:`import_results`), so a file is imported whole or not at all.  The
patient is matched by MRN, once its issuer is one of the centre's
(:mod:`chemo.labs.site`); a result of a test no analyte uses is then *ignored*
(counted, never refused, never written).  A result the file holds
twice, or that was imported before (same FHIR Observation id, or same HL7 OBX
identity: sending facility, filler order number, OBX-3 code, OBX-4 sub-id) with
the same status, value and time, is a *duplicate* and writes nothing.  A
corrected (or amended) result, a retraction (cancelled, entered-in-error) and a
final result after a preliminary one *supersede* the row they replace
(``labs.superseded_by``); both rows stay, both audited.  Readiness reads only
final, amended and corrected rows that are not superseded.

Project choice: a file larger than :data:`MAX_FILE_BYTES` (5 MiB, about 7,000
FHIR results) is refused before it is read: a lab export for one clinic run is
far smaller, and one file is one write transaction, which must not hold the
record's write lock for long.
"""

from __future__ import annotations

import os
from pathlib import Path

from attrs import evolve, frozen

from .. import audit
from ..db import labs, patients
from ..db.store import Store, now_local
from .encoding import decode_hl7, looks_like_hl7
from .fhir import read_fhir
from .hl7 import read_hl7
from .result import EARLY, GATING, REPLACING, RETRACTING, ImportFileError, LabResult

MAX_FILE_BYTES = 5 * 1024 * 1024  # project choice: see the module text
OUTCOMES = ("imported", "duplicate", "refused", "ignored")

__all__ = ["FileReport", "ImportFileError", "LabResult", "Outcome", "import_file", "import_files", "read_file"]


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
    return read_bytes(raw, name)


def read_bytes(raw: bytes, name: str) -> list[LabResult]:
    """Every result of a file's (or an MLLP message's) bytes; ImportFileError when they are not lab results."""
    if looks_like_hl7(raw):
        text, read_as = decode_hl7(raw, name)
        results = read_hl7(text, name, read_as)
        if not results:
            raise ImportFileError("holds no lab results", file=name)
        return results
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"not UTF-8 text (byte {exc.start})", file=name) from None
    start = text.lstrip()[:3]
    if start.startswith(("{", "[")):
        results = read_fhir(text, name)
    elif not start:
        raise ImportFileError("the file is empty", file=name)
    else:
        raise ImportFileError("neither FHIR JSON (starts with '{') nor HL7 v2 (starts with MSH)", file=name)
    if not results:
        raise ImportFileError("holds no lab results", file=name)
    return results


# ------------------------------------------------------------------ into the record

class _DryRun(Exception):
    pass


def store_site(store: Store, site_file=None):
    """The site file for this record (:mod:`chemo.labs.site`: ``site_file``, $CHEMO_SITE, or beside the
    SQLite database)."""
    from .site import load_site

    beside = getattr(store, "path", None) if getattr(store, "engine", "sqlite") == "sqlite" else None
    return load_site(site_file, beside)


def import_file(store: Store, actor: str, path, *, dry_run: bool = False, site=None) -> FileReport:
    """Import one file in one transaction; a FileReport with an ``error`` when the file cannot be read."""
    name = str(path)
    try:
        results = read_file(path)
    except ImportFileError as exc:
        return FileReport(name, (), exc.message)
    return import_results(store, actor, results, name, str(Path(path).resolve()), dry_run=dry_run,
                          site=site if site is not None else store_site(store))


def import_results(store: Store, actor: str, results, name: str, source_file: str, *, site,
                   dry_run: bool = False) -> FileReport:
    """Results read from one file or message into the record, in one transaction."""
    from ..roles import ANY, require

    outcomes: list[Outcome] = []
    try:
        with store.transaction(per_patient=True):
            require(store, actor, ANY, "importing lab results")
            # the file's patients' locks first, in id order (a per-patient transaction takes the chain lock last)
            for pid in sorted({p["id"] for p in (patients.by_mrn(store, m) for m in {r.mrn for r in results
                                                                                      if not r.problem}) if p}):
                store.lock_patient(pid)
            for r in results:
                outcomes.append(_apply(store, actor, r, name, source_file, site))
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return FileReport(name, tuple(outcomes))


def import_files(store: Store, actor: str, paths, *, dry_run: bool = False, site=None) -> list[FileReport]:
    site = site if site is not None else store_site(store)
    return [import_file(store, actor, p, dry_run=dry_run, site=site) for p in paths]


def _identical(row: dict, r: LabResult, record: dict) -> bool:
    return (row["status"] == r.status and row["value_text"] == record["value_text"]
            and row.get("comparator") == record["comparator"]
            and row["collected_at"] == record["collected_at"] and row["uln_text"] == record["uln_text"])


def _apply(store: Store, actor: str, r: LabResult, name: str, source_file: str, site) -> Outcome:
    from ..records import parse_lab

    if r.problem:
        return Outcome(name, r, "refused", r.problem)
    foreign = site.refusal(r.source, r.mrn_issuer)
    if foreign:
        return Outcome(name, r, "refused", foreign)
    patient = patients.by_mrn(store, r.mrn)
    if patient is None:
        return Outcome(name, r, "refused", f"no patient with MRN {r.mrn!r} in the record")
    if r.ignored:
        return Outcome(name, r, "ignored", f"{r.ignored}; {r.where}")
    earlier = labs.by_source_id(store, r.source, r.source_id)
    current = next((e for e in reversed(earlier) if e["superseded_by"] is None), None)
    if current is not None and current["patient_id"] != patient["id"]:
        return Outcome(name, r, "refused", f"{r.shown_id} was imported for another patient; a result moved between "
                                           "patients is not taken from a file")
    if current is not None and current["analyte"] != r.analyte:  # a FHIR id is the server's, not one test's
        return Outcome(name, r, "refused", f"{r.shown_id} was imported as {current['analyte']} (row {current['id']}); "
                                           f"a result that changes its test ({r.analyte}) is not taken from a file")
    if r.value_text is None:  # a retraction without a value: it stands for the row it retracts
        if current is None:
            return Outcome(name, r, "ignored", f"{r.status}, and nothing imported before to retract")
        if current["status"] == r.status:
            return Outcome(name, r, "duplicate", f"already {r.status} (row {current['id']})")
        base = labs.values_of(store, current["id"])
        r = evolve(r, value_text=base["value_text"], uln_text=base["uln_text"], row=None,
                   comparator=base.get("comparator"))
    row = dict(r.row) if r.row is not None else parse_lab(r.analyte, r.value_text, r.uln_text)
    record = {"patient_id": patient["id"], **row, "range_text": r.range_text,
              "collected_at": r.collected.isoformat(), "recorded_at": now_local().isoformat(), "recorded_by": actor,
              "source": r.source, "source_file": source_file, "source_id": r.source_id,
              "source_message": r.source_message, "status": r.status, "lab_time": r.at,
              "comparator": r.comparator}
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
    message = f"{r.status}, {r.where}; time from {r.time_from}" + (f"; read as {r.read_as}" if r.read_as else "")
    if r.comparator:
        message += f"; censored value {r.comparator}{r.number}"
    if replaces is not None:
        labs.supersede(store, replaces["id"], lid)
        audit.append(store, actor, "lab.supersede", "labs", replaces["id"], {"superseded_by": None},
                     {"superseded_by": lid, "by_status": r.status, "by_file": source_file,
                      "by_message": r.source_message})
        message += f"; replaces row {replaces['id']} ({replaces['status']} {replaces['value_text']})"
    if r.status not in GATING:
        message += f"; a {r.status} result does not count for readiness"
    return Outcome(name, r, "imported", message, lid)
