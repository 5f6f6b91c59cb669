"""Malformed lab messages through ``chemo labs import``: every one refused with one clear line, nothing written.

A valid FHIR Observation and a valid HL7 v2 ORU^R01 message are written for
every analyte (for the patient the part registers), then broken one thing at a
time: the value (missing, text, boolean, negative, impossible, comparator 'ad',
NaN), the unit (not UCUM, unknown, another dimension, no system), the status,
the LOINC code (missing, unknown, another coding system), the patient (no
subject, an unknown MRN, a reference without an MRN, two untyped identifiers),
the time (missing, a date only, no zone, not a date, in the future), the
reference range, and the file itself (truncated JSON, another resource, a
wrong Bundle type, empty, binary, UTF-16, too deep, too large; an HL7 message
of another type, without a control id, with a broken segment).

Each file is imported on its own.  A file counts as refused clearly when the
command exits non-zero, prints no traceback, and every result of the file is
reported ``refused`` (or the file ``unreadable``) with a one-line message, the
last stderr line being ``chemo: FILE: ...``.  The database must be unchanged
afterwards: 0 rows from a refused file.  The files are imported in batches of
:data:`BATCH` per process (``chemo labs import F1 F2 ...``, one transaction per
file); a sample is also run one file per process to check exit codes.

    python -m reliability.malformed_labs [--count 520] [--keep DIR]
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import sys
import tempfile
from pathlib import Path

from .common import (Figure, at_least, chemo_env, clear_error, exactly, has_traceback, parallel, percent,
                     print_figures, require, require_command, run_chemo)

BATCH = 40
MRN = "LAB-1"
UCUM = "http://unitsofmeasure.org"
# analyte -> (LOINC, value, UCUM unit, reference-range high or None)
BASE = {
    "hemoglobin": ("718-7", 12.1, "g/dL", 16),
    "anc": ("751-8", 3.2, "10*9/L", None),
    "wbc": ("6690-2", 6.0, "10*9/L", None),
    "platelets": ("777-3", 210, "10*9/L", None),
    "bilirubin": ("1975-2", 0.5, "mg/dL", 1.2),
    "alt": ("1742-6", 20, "U/L", 40),
    "ast": ("1920-8", 22, "U/L", 40),
    "creatinine": ("14682-9", 70, "umol/L", 104),
    "egfr": ("98979-8", 90, "mL/min/{1.73_m2}", None),
    "crcl": ("2164-2", 90, "mL/min", None),
    "lvef": ("10230-1", 60, "%", None),
}
IMPOSSIBLE = {"hemoglobin": 90, "anc": 900, "wbc": 9000, "platelets": 90000, "bilirubin": 900, "alt": 90000,
              "ast": 90000, "creatinine": 90000, "egfr": 9000, "crcl": 9000, "lvef": 300}
WRONG_DIMENSION = {"hemoglobin": "10*9/L", "anc": "g/dL", "wbc": "%", "platelets": "mg/dL", "bilirubin": "U/L",
                   "alt": "mmol/L", "ast": "%", "creatinine": "10*9/L", "egfr": "g/L", "crcl": "%", "lvef": "U/L"}
# (issue 21: `[IU]/L`, `G/L`, `10^9/L`, `K/uL` are now listed spellings, regimens/library/lab-units.toml)
BAD_UNITS = ["mg%", "x10^9/L", "giga/L", "gm/dl", "", " ", "10*9/µL", "cells/uL", "K/mm3", "G/µL",
             "mmol", "1", "{count}", "mL/min/1.73m2"]
BAD_STATUSES = ["unknown", "FINAL", "done", "", 1, None, ["final"]]
# another centre's MRN issuers (issue 21: refused "MRN issued by X, not by this centre")
FOREIGN_SYSTEMS = ["urn:oid:9.9.9", "http://other-hospital.example/mrn", "", "urn:oid:2.999.1.21"]
SITE_SYSTEM = "urn:oid:2.999.1.21.3"
BAD_TIMES = ["2026-03-02", "2026-03-02T08:10:00", "2026-13-02T08:10:00Z", "yesterday", "2099-01-01T08:00:00Z",
             "1850-01-01T08:00:00Z", 20260302, "2026-03-02T25:10:00+01:00", "", None]


def observation(analyte: str, oid: str) -> dict:
    loinc, value, unit, high = BASE[analyte]
    obs = {"resourceType": "Observation", "id": oid, "status": "final",
           "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
           "subject": {"reference": "Patient/p1", "identifier": {"system": SITE_SYSTEM, "value": MRN}},
           "effectiveDateTime": "2026-03-02T08:10:00+01:00",
           "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit}}
    if high is not None:
        obs["referenceRange"] = [{"high": {"value": high, "unit": unit, "system": UCUM, "code": unit}}]
    return obs


def hl7_message(analyte: str, control: str, obx: dict | None = None, msh9: str = "ORU^R01",
                pid3: str = f"{MRN}^^^H^MR") -> str:
    loinc, value, unit, high = BASE[analyte]
    fields = {2: "NM", 3: f"{loinc}^{analyte}^LN", 5: str(value), 6: f"{unit}^^UCUM",
              7: f"0-{high}" if high else "", 11: "F", 14: "20260302081000+0100"}
    fields.update(obx or {})
    obx_text = "OBX|1|" + "|".join(str(fields.get(i, "")) for i in range(2, 15))
    return (f"MSH|^~\\&|LAB|H|CHEMO|ONC|20260302084500||{msh9}|{control}|P|2.5.1\r"
            f"PID|1||{pid3}||SYNTHETIC^LAB\r"
            f"OBR|1|O-{control}|F-{control}|58410-2^CBC^LN|||20260302081000+0100\r"
            + obx_text + "\r")


def fhir_mutants(rng: random.Random) -> list[tuple[str, bytes]]:
    made: list[tuple[str, bytes]] = []
    n = 0

    def add(what, doc):
        made.append((what, doc if isinstance(doc, bytes) else json.dumps(doc).encode()))

    for analyte in BASE:
        def obs():
            nonlocal n
            n += 1
            return observation(analyte, f"{analyte}-{n}")

        def with_value(value, what):
            o = obs()
            o["valueQuantity"]["value"] = value
            add(f"FHIR {analyte}: value {what}", o)

        for value, what in ((None, "null"), ("12", "as text"), (True, "true"), (-1, "negative"),
                            (IMPOSSIBLE[analyte], "impossible"), ([1], "a list"), ({"v": 1}, "an object")):
            with_value(value, what)
        o = obs()
        del o["valueQuantity"]
        add(f"FHIR {analyte}: no value", o)
        o = obs()
        del o["valueQuantity"]["value"]
        add(f"FHIR {analyte}: valueQuantity without value", o)
        o = obs()
        o["valueQuantity"]["comparator"] = "ad"  # "<" is a censored value, read since issue 21; "ad" is not read
        add(f"FHIR {analyte}: comparator 'ad'", o)
        o = obs()
        o["valueString"] = "12"
        del o["valueQuantity"]
        add(f"FHIR {analyte}: valueString", o)
        text = json.dumps(obs()).replace(json.dumps(BASE[analyte][1]) + ",", "NaN,", 1)
        add(f"FHIR {analyte}: NaN", text.encode())
        for unit in rng.sample(BAD_UNITS, 4) + [WRONG_DIMENSION[analyte]]:
            o = obs()
            o["valueQuantity"]["code"] = unit
            add(f"FHIR {analyte}: unit {unit!r}", o)
        o = obs()
        o["valueQuantity"]["system"] = "http://snomed.info/sct"
        add(f"FHIR {analyte}: unit system SNOMED", o)
        o = obs()
        del o["valueQuantity"]["system"]
        add(f"FHIR {analyte}: unit without a system", o)
        for status in rng.sample(BAD_STATUSES, 3):
            o = obs()
            o["status"] = status
            add(f"FHIR {analyte}: status {status!r}", o)
        for system in rng.sample(FOREIGN_SYSTEMS, 2):
            o = obs()
            o["subject"]["identifier"]["system"] = system
            add(f"FHIR {analyte}: MRN issued by {system!r}", o)
        o = obs()
        o["code"]["coding"][0]["system"] = "http://snomed.info/sct"
        add(f"FHIR {analyte}: no LOINC coding", o)
        o = obs()
        o["code"] = {"text": analyte}
        add(f"FHIR {analyte}: code as text only", o)
        for subject, what in (({"identifier": {"value": "NOPE"}}, "unknown MRN"), ({"reference": "Patient/p1"},
                              "a reference without MRN"), ({}, "empty subject"), ("LAB-1", "subject as text")):
            o = obs()
            o["subject"] = subject
            add(f"FHIR {analyte}: {what}", o)
        for when in rng.sample(BAD_TIMES, 3):
            o = obs()
            o["effectiveDateTime"] = when
            add(f"FHIR {analyte}: effectiveDateTime {when!r}", o)
        o = obs()
        del o["effectiveDateTime"]
        add(f"FHIR {analyte}: no effective time", o)
        o = obs()
        del o["id"]
        add(f"FHIR {analyte}: no id", o)
        if BASE[analyte][3] is not None:
            o = obs()
            o["referenceRange"][0]["high"]["value"] = "high"
            add(f"FHIR {analyte}: reference range high as text", o)
            o = obs()
            o["referenceRange"][0]["high"]["code"] = "mg%"
            add(f"FHIR {analyte}: reference range in mg%", o)
        o = obs()
        bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [
            {"resource": {"resourceType": "Patient", "id": "p9", "identifier": [{"value": "A"}, {"value": MRN}]}},
            {"resource": {**o, "subject": {"reference": "Patient/p9"}}}]}
        add(f"FHIR {analyte}: a Patient with two untyped identifiers", bundle)
        text = json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": obs()}]})
        for _ in range(3):
            cut = rng.randrange(1, len(text) - 1)
            add(f"FHIR {analyte}: truncated at {cut}", text[:cut].encode())
    for what, data in (
            ("FHIR: a Patient resource", {"resourceType": "Patient", "id": "p"}),
            ("FHIR: Bundle type document", {"resourceType": "Bundle", "type": "document", "entry": []}),
            ("FHIR: Bundle without entries", {"resourceType": "Bundle", "type": "searchset"}),
            ("FHIR: entry not a list", {"resourceType": "Bundle", "type": "searchset", "entry": {"a": 1}}),
            ("FHIR: an entry that is a number", {"resourceType": "Bundle", "type": "searchset", "entry": [5]}),
            ("FHIR: a JSON list", [observation("anc", "x")]),
            ("FHIR: a JSON string", "Observation"),
            ("FHIR: empty", b""),
            ("FHIR: whitespace", b"   \n"),
            ("FHIR: binary", bytes(range(256))),
            ("FHIR: UTF-16", json.dumps(observation("anc", "u16")).encode("utf-16")),
            ("FHIR: nested 100,000 deep", b"{" + b'"a":[' * 100_000),
    ):
        add(what, data)
    return made


def hl7_mutants(rng: random.Random) -> list[tuple[str, bytes]]:
    made: list[tuple[str, bytes]] = []
    n = 0

    def add(what, text):
        made.append((what, text.encode() if isinstance(text, str) else text))

    for analyte in BASE:
        def msg(**kw):
            nonlocal n
            n += 1
            return hl7_message(analyte, f"C{n}", **kw)

        for fields, what in (({5: ""}, "no value"), ({5: "high"}, "text value"), ({5: "1,5"}, "a comma"),
                             ({5: "-1"}, "negative"), ({5: str(IMPOSSIBLE[analyte])}, "impossible"),
                             ({2: "ST", 5: "see note"}, "value type ST, text"), ({2: "CE"}, "value type CE"), ({2: ""}, "no value type"),
                             ({2: "SN", 5: "<>^5"}, "SN with comparator <>"), ({2: "SN", 5: "^1^-^5"}, "SN range"),
                             ({5: "12~13"}, "two values"), ({6: ""}, "no unit"),
                             ({6: WRONG_DIMENSION[analyte]}, "unit of another dimension"),
                             ({6: "mg^^SNM"}, "unit coded in another system"),
                             ({11: ""}, "no status"), ({11: "Z"}, "status Z"), ({11: "final"}, "status word"),
                             ({3: f"{BASE[analyte][0]}^{analyte}^L"}, "local code"),
                             ({3: f"{BASE[analyte][0]}^{analyte}^99LOCAL"}, "code in a local system"), ({3: ""}, "no OBX-3"),
                             ({14: "20260302"}, "date only"), ({14: "2026030208"}, "hour only"),
                             ({14: "20261302081000"}, "month 13"), ({14: "20990101080000"}, "in the future"),
                             ({14: "yesterday"}, "time as text"), ({7: "normal"}, "range as text")):
            if 7 in fields and not BASE[analyte][3]:
                continue
            add(f"HL7 {analyte}: {what}", msg(obx=fields))
        for unit in rng.sample(BAD_UNITS, 3):
            if unit.strip():
                add(f"HL7 {analyte}: unit {unit!r}", msg(obx={6: unit}))
        add(f"HL7 {analyte}: MSH-9 ADT^A01", msg(msh9="ADT^A01"))
        add(f"HL7 {analyte}: unknown MRN", msg(pid3="NOPE^^^H^MR"))
        add(f"HL7 {analyte}: empty PID-3", msg(pid3=""))
        add(f"HL7 {analyte}: two untyped identifiers", msg(pid3=f"A^^^H~{MRN}^^^H"))
        text = msg()
        add(f"HL7 {analyte}: no MSH-10", text.replace(f"|C{n}|P|", "||P|", 1))
        add(f"HL7 {analyte}: no PID", "\r".join(s for s in msg().split("\r") if not s.startswith("PID")))
        add(f"HL7 {analyte}: a broken segment", msg().replace("OBR|", "OB R|", 1))
        text = msg()
        add(f"HL7 {analyte}: cut inside MSH", text[:rng.randrange(3, 8)])
    for what, text in (("HL7: segments before MSH", "PID|1||LAB-1^^^H^MR\r" + hl7_message("anc", "Z1")),
                       ("HL7: only an MSH", "MSH|^~\\&|LAB|H|CHEMO|ONC|20260302||ORU^R01|Z2|P|2.5.1\r"),
                       ("HL7: a latin-1 byte", hl7_message("anc", "Z3").encode("utf-8") + b"\xe9\xff")):
        add(what, text)
    return made


def run(quick: bool = False, count: int | None = None, keep: Path | None = None) -> list[Figure]:
    require("chemo.db", "chemo.records", "chemo.labs.importer")
    require_command("labs")
    count = count or (40 if quick else 520)
    rng = random.Random(10)
    cases = fhir_mutants(rng) + hl7_mutants(rng)
    rng.shuffle(cases)
    if quick:  # a slice with both kinds
        cases = [c for c in cases if c[0].startswith("FHIR")][:count // 2] + \
                [c for c in cases if c[0].startswith("HL7")][:count - count // 2]
    else:
        cases = cases[:max(count, len(cases))]
    from .malformed_inputs import snapshot

    with tempfile.TemporaryDirectory(prefix="chemo-labs-") as tmp:
        tmp = Path(keep) if keep else Path(tmp)
        tmp.mkdir(parents=True, exist_ok=True)
        db = tmp / "labs.db"
        if db.exists():
            db.unlink()
        _setup(db)
        env = chemo_env(CHEMO_DB=db, CHEMO_USER="nu")
        files = []
        for i, (what, data) in enumerate(cases):
            suffix = ".json" if what.startswith("FHIR") else ".hl7"
            path = tmp / f"lab-{i:04d}{suffix}"
            path.write_bytes(data)
            files.append((what, path))
        big = tmp / "lab-big.json"
        with open(big, "wb") as f:
            f.write(b'{"resourceType": "Bundle"')
            f.truncate(6 * 1024 * 1024)
        files.append(("a file of 6 MiB", big))
        before = snapshot(db)
        batches = [files[i:i + BATCH] for i in range(0, len(files), BATCH)]

        def check_batch(batch):
            result = run_chemo(["labs", "import", "--json", *[p for _, p in batch]], env=env, timeout=300)
            return batch, result

        outcomes = []
        for batch, result in parallel(check_batch, batches):
            outcomes += _judge(batch, result)
        singles = parallel(lambda c: (c[0], clear_error(run_chemo(["labs", "import", c[1]], env=env))),
                           files[:: max(1, len(files) // (6 if quick else 40))])
        after = snapshot(db)
    bad = [f"{what}: {why}" for what, ok, why in outcomes if not ok]
    bad_singles = [f"{what} alone: {why}" for what, (ok, why) in singles if not ok]
    tracebacks = [b for b in bad + bad_singles if "traceback" in b]
    changed = [f"{t}: {before.get(t, 0)} -> {after[t]}" for t in after if after[t] != before.get(t, 0)]
    written = sum(after[t] - before.get(t, 0) for t in after)
    fhir = sum(1 for what, _ in files if what.startswith("FHIR"))
    return [
        at_least("malformed lab messages tried (FHIR and HL7 v2)", len(files), 40 if quick else 500,
                 detail=f"{fhir} FHIR, {len(files) - fhir} HL7 v2 and other"),
        percent("malformed lab messages refused with one clear line (`chemo labs import`)", len(outcomes) - len(bad),
                len(outcomes), examples=bad),
        percent("refused one file per process: exit non-zero, one `chemo:` line", len(singles) - len(bad_singles),
                len(singles), examples=bad_singles),
        exactly("tracebacks on malformed lab messages", len(tracebacks), 0, examples=tracebacks),
        exactly("rows written from refused lab files", written, 0, examples=changed),
    ]


def _judge(batch, result) -> list[tuple[str, bool, str]]:
    """Each file of a batch: refused (every result) or unreadable, with a one-line message."""
    if has_traceback(result.stdout, result.stderr):
        tail = [line for line in result.stderr.splitlines() if line.strip()][-1:] or ["?"]
        return [(what, False, f"traceback in its batch: {tail[0][:200]}") for what, _ in batch]
    if result.returncode == 0:
        return [(what, False, "exit 0 for a batch of malformed files") for what, _ in batch]
    try:
        rows = json.loads(result.stdout)
    except ValueError:
        return [(what, False, f"--json printed no JSON: {result.stdout[:100]!r}") for what, _ in batch]
    stderr = [line for line in result.stderr.splitlines() if line.strip()]
    judged = []
    for what, path in batch:
        mine = [r for r in rows if r.get("file") == str(path)]
        if not mine:
            judged.append((what, False, "no result reported"))
            continue
        wrong = [r for r in mine if r.get("status") not in ("refused", "unreadable")]
        unclear = [r for r in mine if not r.get("message") or "\n" in str(r.get("message"))]
        said = [line for line in stderr if line.startswith(f"chemo: {path}: ")]
        if wrong:
            judged.append((what, False, f"{wrong[0]['status']}: {wrong[0].get('message')}"))
        elif unclear:
            judged.append((what, False, f"no one-line message: {unclear[0]!r}"))
        elif len(said) != 1:
            judged.append((what, False, f"{len(said)} 'chemo: FILE:' lines on stderr"))
        else:
            judged.append((what, True, ""))
    return judged


def _setup(db: Path) -> None:
    from chemo import records, roles
    from chemo.db import open_store

    with open_store(db) as store:
        roles.add_user(store, "ph", "ph", "pharmacist")
        roles.add_user(store, "ph", "nu", "nurse")
        records.add_patient(store, "ph", mrn=MRN, name="Malformed Labs", sex="female", born="1970-01-01",
                            height="165 cm", weight="60 kg")
    (db.parent / "chemo-site.toml").write_text(f'site = "malformed labs"\n[mrn]\nfhir_systems = ["{SITE_SYSTEM}"]\n'
                                               'hl7_authorities = ["H"]\n', encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=520)
    parser.add_argument("--keep", type=Path, help="write the generated files and the database here and keep them")
    args = parser.parse_args(argv)
    return print_figures(run(count=args.count, keep=args.keep), examples=30)


if __name__ == "__main__":
    sys.exit(main())
