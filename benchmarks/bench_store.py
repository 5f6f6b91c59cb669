"""Benchmark the patient record at scale: readiness and cumulative for one patient.

Builds (or reuses, with --db and --reuse) a database of synthetic patients with
the real schema, then times ``readiness.assess`` and ``cumulative.report``
for randomly chosen patients on one open connection, and prints the build time
and the median and p99 of each.  Not part of the test suite::

    .venv/bin/python benchmarks/bench_store.py                       # 100,000 patients, 5 M labs, 1 M administrations
    .venv/bin/python benchmarks/bench_store.py --patients 2000       # a quick run
    .venv/bin/python benchmarks/bench_store.py --db /tmp/big.db --reuse

The bulk load writes rows with ``executemany`` in large transactions and no
audit rows (a load, not clinical writes); every row passes the schema's
constraints and foreign keys.  Per patient: 1 measurement, 1 plan (the four
regimens in turn), ``--labs-per-patient`` lab results (default 50: 8 analytes,
about 6 draws each, in mixed units) and on average 10 administrations taken
from the real doses of the regimen.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chemo.dose import body_size, calculate_cycle  # noqa: E402
from chemo.readiness import assess  # noqa: E402
from chemo.cumulative import report  # noqa: E402
from chemo.regimen import load_regimen  # noqa: E402
from chemo.db import open_store  # noqa: E402

REGIMENS = ("doxorubicin-ifosfamide", "epirubicin-ifosfamide", "doxorubicin-dacarbazine", "pld-ifosfamide-anlotinib")
ADMIN_PER_PATIENT = {  # averages 10: dacarbazine has only 6 slots over 3 cycles
    "doxorubicin-ifosfamide": 10, "epirubicin-ifosfamide": 10, "doxorubicin-dacarbazine": 6,
    "pld-ifosfamide-anlotinib": 14}
# analyte -> [(value_text, canonical value, canonical unit, uln_text, uln)]
LAB_CHOICES = {
    "hemoglobin": [("12.1 g/dL", 12.1, "g/dL", None, None), ("7.6 mmol/L", 12.246, "g/dL", None, None),
                   ("8.6 g/dL", 8.6, "g/dL", None, None)],
    "anc": [("3.1 10^9/L", 3.1, "10^9/L", None, None), ("1200 /uL", 1.2, "10^9/L", None, None),
            ("2.4 G/L", 2.4, "10^9/L", None, None)],
    "platelets": [("240 10^9/L", 240.0, "10^9/L", None, None), ("85000 /uL", 85.0, "10^9/L", None, None)],
    "creatinine": [("0.9 mg/dL", 0.9, "mg/dL", None, None), ("80 µmol/L", 0.9048, "mg/dL", None, None)],
    "bilirubin": [("0.6 mg/dL", 0.6, "mg/dL", "1.2 mg/dL", 1.2), ("12 µmol/L", 0.7018, "mg/dL", "21 µmol/L", 1.228)],
    "alt": [("25 U/L", 25.0, "U/L", "40 U/L", 40.0), ("90 U/L", 90.0, "U/L", "40 U/L", 40.0)],
    "ast": [("22 U/L", 22.0, "U/L", "40 U/L", 40.0)],
    "lvef": [("61 %", 61.0, "%", None, None), ("48 %", 48.0, "%", None, None)],
}
ANALYTES = tuple(LAB_CHOICES)


def slots(regimen_id: str) -> list[tuple]:
    """(cycle, day, drug, dose_mg, bsa) of the regimen's real doses for a 170 cm, 70 kg patient."""
    regimen = load_regimen(regimen_id)
    body = body_size(height="170 cm", weight="70 kg", regimen=regimen)
    out = []
    for cycle in range(1, regimen.cycles + 1):
        for a in calculate_cycle(regimen, body, cycle=cycle).administrations:
            out.append((cycle, a.day, a.drug, a.dose_mg, body.bsa_m2))
    return out


def build(store, patients: int, labs_per_patient: int, seed: int = 4) -> dict:
    rng = random.Random(seed)
    conn = store.conn
    regimens = {r: load_regimen(r) for r in REGIMENS}
    regimen_slots = {r: slots(r) for r in REGIMENS}
    now = dt.datetime.now().replace(microsecond=0)
    stamp = now.isoformat()
    with store.transaction():
        for login, role in (("bench-pharmacist", "pharmacist"), ("bench-nurse", "nurse"),
                            ("bench-prescriber", "prescriber")):
            conn.execute("INSERT INTO users VALUES (?, ?, ?)", (login, stamp, "bench"))
            conn.execute("INSERT INTO roles VALUES (?, ?)", (login, role))
    chunk = 5000
    counts = {"patients": 0, "labs": 0, "administrations": 0}
    for first in range(1, patients + 1, chunk):
        ids = range(first, min(first + chunk, patients + 1))
        pat, meas, plans, labs, admins = [], [], [], [], []
        for pid in ids:
            sex = "female" if pid % 2 else "male"
            born = dt.date(1940 + pid % 60, 1 + pid % 12, 1 + pid % 28).isoformat()
            pat.append((pid, f"B{pid:07d}", f"Bench Patient {pid}", sex, born, stamp, "bench-prescriber"))
            weight = 55 + pid % 40
            meas.append((pid, (now - dt.timedelta(days=pid % 40)).date().isoformat(), "170 cm", 170.0,
                         f"{weight} kg", float(weight), stamp, "bench-prescriber"))
            rid = REGIMENS[pid % 4]
            reg = regimens[rid]
            plans.append((pid, pid, rid, str(Path(reg.path).resolve()), reg.sha256, now.date().isoformat(), reg.cycles,
                          "70 kg", 70.0, 170.0, "mosteller", "active", stamp, "bench-prescriber"))
            for i in range(labs_per_patient):
                analyte = ANALYTES[i % len(ANALYTES)]
                text, value, unit, uln_text, uln = rng.choice(LAB_CHOICES[analyte])
                when = now - dt.timedelta(hours=rng.randint(1, 24 * 120))
                labs.append((pid, analyte, text, value, unit, uln_text, uln, when.isoformat(), stamp, "bench-nurse"))
            for cycle, day, drug, dose, bsa in regimen_slots[rid][:ADMIN_PER_PATIENT[rid]]:
                admins.append((pid, cycle, day, drug, dose, bsa, stamp, "bench-nurse"))
        with store.transaction():
            conn.executemany("INSERT INTO patients (id, mrn, name, sex, born, created_at, created_by) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?)", pat)
            conn.executemany("INSERT INTO measurements (patient_id, measured_on, height_text, height_cm, weight_text, "
                             "weight_kg, recorded_at, recorded_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", meas)
            conn.executemany("INSERT INTO plans (id, patient_id, regimen_id, regimen_path, regimen_sha256, start_date, "
                             "planned_cycles, dosing_weight_text, dosing_weight_kg, dosing_height_cm, bsa_formula, "
                             "status, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", plans)
            conn.executemany("INSERT INTO labs (patient_id, analyte, value_text, value, unit, uln_text, uln, "
                             "collected_at, recorded_at, recorded_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", labs)
            conn.executemany("INSERT INTO administrations (plan_id, cycle, day, drug, dose_mg, bsa_m2, given_at, "
                             "given_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", admins)
        counts["patients"] += len(pat)
        counts["labs"] += len(labs)
        counts["administrations"] += len(admins)
        if first // chunk % 4 == 0:
            print(f"  {counts['patients']:>7} patients, {counts['labs']:>9} labs, "
                  f"{counts['administrations']:>8} administrations", file=sys.stderr, flush=True)
    conn.execute("ANALYZE")
    return counts


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def time_calls(fn, mrns: list[str]) -> tuple[list[float], list[float]]:
    """Each call's wall time and its thread's CPU time, in ms.

    On a shared machine a call preempted once waits a scheduler slice: the wall p99 is then
    the machine's as much as the query's, and the CPU-time p99 says what the query itself took.
    """
    wall, cpu = [], []
    for mrn in mrns:
        c0 = time.thread_time()
        t0 = time.perf_counter()
        fn(mrn)
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.thread_time() - c0) * 1000)
    return wall, cpu


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--labs-per-patient", type=int, default=50)
    parser.add_argument("--samples", type=int, default=500, help="patients timed for each of readiness and cumulative")
    parser.add_argument("--db", default=None, help="database file (default: a temporary file, removed afterwards)")
    parser.add_argument("--reuse", action="store_true", help="time an existing --db without building it")
    args = parser.parse_args(argv)

    tmp = None
    if args.db is None:
        tmp = tempfile.TemporaryDirectory(prefix="chemo-bench-")
        path = Path(tmp.name) / "bench.db"
    else:
        path = Path(args.db)
        if path.exists() and not args.reuse:
            print(f"{path} exists: give --reuse to time it, or another --db", file=sys.stderr)
            return 2
    try:
        store = open_store(path)
        if args.reuse:
            n = store.one("SELECT count(*) AS n FROM patients")["n"]
            counts = {"patients": n, "labs": store.one("SELECT count(*) AS n FROM labs")["n"],
                      "administrations": store.one("SELECT count(*) AS n FROM administrations")["n"]}
            build_s = None
        else:
            t0 = time.perf_counter()
            counts = build(store, args.patients, args.labs_per_patient)
            build_s = time.perf_counter() - t0
        size_mb = os.path.getsize(path) / 1e6
        rng = random.Random(7)
        n = counts["patients"]
        mrns = [f"B{rng.randint(1, n):07d}" for _ in range(args.samples)]
        assess(store, mrns[0])  # warm: the library, the regimen files, pint's unit cache
        report(store, mrns[0])
        ready_ms, ready_cpu = time_calls(lambda m: assess(store, m), mrns)
        cum_ms, cum_cpu = time_calls(lambda m: report(store, m), mrns)
        store.close()
        print(f"database: {counts['patients']:,} patients, {counts['labs']:,} lab results, "
              f"{counts['administrations']:,} administrations; {size_mb:,.0f} MB")
        if build_s is not None:
            print(f"build: {build_s:,.1f} s")
        for name, values in (("readiness", ready_ms), ("cumulative", cum_ms)):
            print(f"{name:<10} n={len(values)}  median {statistics.median(values):.2f} ms  "
                  f"p99 {percentile(values, 99):.2f} ms  max {max(values):.2f} ms")
        for name, values in (("readiness", ready_cpu), ("cumulative", cum_cpu)):
            print(f"cpu time: {name:<10} n={len(values)}  median {statistics.median(values):.2f} ms  "
                  f"p99 {percentile(values, 99):.2f} ms  max {max(values):.2f} ms")
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
