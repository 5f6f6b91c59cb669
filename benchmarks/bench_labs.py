"""`chemo labs import` of a FHIR bundle and of an HL7 v2 file, against a process that only parses them.

The files hold RESULTS results each (neutrophils, platelets, haemoglobin, ALT
with its ULN) for 10 registered patients.  The project figure is one ``chemo
labs import FILE`` process on a fresh copy of the database (every result
imported: matched, converted, checked, written and audited in one
transaction); the baseline is one Python process that only parses the same file
(``json.loads``, or ``hl7.parse`` of each message).  Runs are interleaved.

    python benchmarks/bench_labs.py [--results 1000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_startup import chemo_exe, median, run_measured  # noqa: E402

UCUM = "http://unitsofmeasure.org"
SITE = 'site = "bench"\n[mrn]\nfhir_systems = ["urn:oid:2.999.1.21.2"]\nhl7_authorities = ["H"]\n'
TESTS = (("751-8", "10*9/L", 3.2, None), ("777-3", "10*9/L", 210, None), ("718-7", "g/dL", 12.4, None),
         ("1742-6", "U/L", 25, 40))
BASELINE_FHIR = "import json, sys\njson.loads(open(sys.argv[1], 'rb').read())\n"
# the dependency floor: the libraries chemo must import to check a value as a typed one is checked, then the parse
FLOOR_FHIR = "import pint, click, attrs, json, sys\njson.loads(open(sys.argv[1], 'rb').read())\n"
BASELINE_HL7 = ("import hl7, re, sys\ntext = open(sys.argv[1], encoding='utf-8').read()\n"
                "for m in re.split(r'\\n(?=MSH)', text):\n    hl7.parse(m.replace('\\n', '\\r'))\n")


def _when(i: int) -> tuple[str, str]:
    day, minute = 1 + i % 27, i % 60
    return f"2026-03-{day:02d}T08:{minute:02d}:00+01:00", f"202603{day:02d}08{minute:02d}00+0100"


def fhir_bundle(results: int) -> str:
    entries = []
    for i in range(results):
        loinc, unit, value, high = TESTS[i % len(TESTS)]
        obs = {"resourceType": "Observation", "id": f"b-{i}", "status": "final",
               "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
               "subject": {"identifier": {"system": "urn:oid:2.999.1.21.2", "value": f"BL-{i % 10}"}}, "effectiveDateTime": _when(i)[0],
               "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit}}
        if high:
            obs["referenceRange"] = [{"high": {"value": high, "unit": unit, "system": UCUM, "code": unit}}]
        entries.append({"fullUrl": f"urn:uuid:b-{i}", "resource": obs})
    return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})


def hl7_file(results: int) -> str:
    out = []
    for i in range(results):
        loinc, unit, value, high = TESTS[i % len(TESTS)]
        out.append(f"MSH|^~\\&|LAB|H|CHEMO|ONC|20260302084500||ORU^R01|B{i}|P|2.5.1\n"
                   f"PID|1||BL-{i % 10}^^^H^MR\nOBR|1||F-{i}\n"
                   f"OBX|1|NM|{loinc}^t^LN||{value}|{unit}|{f'0-{high}' if high else ''}||||F|||{_when(i)[1]}\n")
    return "".join(out)


def template(directory: Path) -> Path:
    from chemo import records, roles
    from chemo.db import open_store

    path = directory / "template.db"
    with open_store(path) as store:
        roles.add_user(store, "ph", "ph", "pharmacist")
        for n in range(10):
            records.add_patient(store, "ph", mrn=f"BL-{n}", name=f"Bench {n}", sex="female", born="1970-01-01",
                                height="165 cm", weight="60 kg")
    (directory / "chemo-site.toml").write_text(SITE, encoding="utf-8")  # the copies sit in the same folder
    return path


def figures(results: int = 1000, runs: int = 5) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="chemo-bench-labs-") as tmp:
        tmp = Path(tmp)
        base_db = template(tmp)
        for kind, text, baseline in (("FHIR bundle", fhir_bundle(results), BASELINE_FHIR),
                                     ("HL7 v2 file", hl7_file(results), BASELINE_HL7)):
            data = tmp / ("labs.json" if kind.startswith("FHIR") else "labs.hl7")
            data.write_text(text, encoding="utf-8")
            times, base_times, floor_times, rss, error = [], [], [], [], None
            for run in range(runs):
                db = tmp / f"run-{run}.db"
                shutil.copy(base_db, db)
                m = run_measured([chemo_exe(), "labs", "import", "--db", str(db), "--user", "ph", str(data)])
                if m.returncode != 0:
                    error = f"exit {m.returncode}: {(m.stderr.strip().splitlines() or ['?'])[-1][:160]}"
                    break
                times.append(m.seconds)
                rss.append(m.rss_mb)
                b = run_measured([sys.executable, "-c", baseline, str(data)])
                base_times.append(b.seconds)
                if kind.startswith("FHIR"):
                    floor_times.append(run_measured([sys.executable, "-c", FLOOR_FHIR, str(data)]).seconds)
            row = {"figure": f"chemo labs import, {kind} of {results:,} results", "unit": "ms", "runs": runs,
                   "baseline_label": "parse only", "file_kb": round(data.stat().st_size / 1024)}
            if error:
                row.update(status="not available", note=error)
            else:
                value, b = median(times) * 1000, median(base_times) * 1000
                row.update(status="ok", value=value, baseline=b, ratio=value / b, per_result_ms=value / results,
                           peak_rss_mb=max(rss))
                if floor_times:
                    floor = median(floor_times) * 1000
                    row.update(floor_ms=floor, floor_ratio=value / floor,
                               note=f"dependency floor `import pint, click, attrs` + json.loads: {floor:,.0f} ms, "
                                    f"{value / floor:.2f}×")
            rows.append(row)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    for row in figures(args.results, args.runs):
        if row["status"] != "ok":
            print(f"{row['figure']}: not available ({row.get('note')})")
            continue
        print(f"{row['figure']}: {row['value']:,.0f} ms ({row['per_result_ms']:.2f} ms a result, "
              f"{row['file_kb']:,} KiB) | parse only {row['baseline']:,.0f} ms | {row['ratio']:.2f}× | "
              f"{row['peak_rss_mb']:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
