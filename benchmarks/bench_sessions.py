"""Benchmark 16 concurrent sessions on one record, SQLite and PostgreSQL side by side.

A centre's day: 8 nurses reading readiness, 4 pharmacists signing off doses and
4 nurses recording labs, each a process with the record open (one workstation
session), for ``--seconds`` (60) on a record of ``--patients`` (100,000)
bulk-loaded as ``bench_store.py`` loads it (through ``Store.insert_rows``, so
the same rows on both engines).  Per engine: reads and writes per second,
p50/p99 latency of each, p99 wait for the write lock (``Store.lock_wait_s``)
and errors (anything a user would see as a failure: busy, lost connection,
traceback).  A refused sign-off (the pharmacist signs with an override reason,
so few are) is an answer, counted apart.  Goal: 0 errors, p99 read ≤ 10 ms,
p99 write ≤ 50 ms on both engines::

    .venv/bin/python benchmarks/bench_sessions.py                     # full: 100,000 patients, 60 s
    .venv/bin/python benchmarks/bench_sessions.py --quick             # 2,000 patients, 10 s
    .venv/bin/python benchmarks/bench_sessions.py --engines sqlite --patients 5000 --seconds 20 --json

PostgreSQL is ``$CHEMO_TEST_POSTGRES`` (else ``postgresql://postgres@127.0.0.1:5432/test``), in a
new schema dropped afterwards; without a reachable server its rows say so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

ROLES = (("reader", 8), ("signer", 4), ("recorder", 4))
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
GOALS = {"read_p99_ms": 10.0, "write_p99_ms": 50.0, "errors": 0}


# ------------------------------------------------------------------ the record

def build(store, patients: int, labs_per_patient: int = 50, seed: int = 4) -> dict:
    """The rows of bench_store.build, with ids, through ``insert_rows`` (either engine)."""
    from bench_store import ADMIN_PER_PATIENT, ANALYTES, LAB_CHOICES, REGIMENS, slots

    from chemo.regimen import load_regimen

    rng = random.Random(seed)
    regimens = {r: load_regimen(r) for r in REGIMENS}
    regimen_slots = {r: slots(r) for r in REGIMENS}
    now = dt.datetime.now().replace(microsecond=0)
    stamp = now.isoformat()
    users = [("bench-prescriber", "prescriber")] + [(f"nurse-{i}", "nurse") for i in range(12)] + \
            [(f"pharm-{i}", "pharmacist") for i in range(4)]
    with store.transaction():
        store.insert_rows("users", [{"login": u, "added_at": stamp, "added_by": "bench"} for u, _ in users])
        store.insert_rows("roles", [{"login": u, "role": r} for u, r in users])
    lab_id = admin_id = 0
    chunk = 5000
    for first in range(1, patients + 1, chunk):
        pat, meas, plans, labs, admins = [], [], [], [], []
        for pid in range(first, min(first + chunk, patients + 1)):
            sex = "female" if pid % 2 else "male"
            born = dt.date(1940 + pid % 60, 1 + pid % 12, 1 + pid % 28).isoformat()
            pat.append({"id": pid, "mrn": f"B{pid:07d}", "name": f"Bench Patient {pid}", "sex": sex, "born": born,
                        "created_at": stamp, "created_by": "bench-prescriber"})
            weight = 55 + pid % 40
            meas.append({"id": pid, "patient_id": pid, "measured_on": (now - dt.timedelta(days=pid % 40)).date().isoformat(),
                         "height_text": "170 cm", "height_cm": 170.0, "weight_text": f"{weight} kg",
                         "weight_kg": float(weight), "recorded_at": stamp, "recorded_by": "bench-prescriber"})
            rid = REGIMENS[pid % 4]
            reg = regimens[rid]
            plans.append({"id": pid, "patient_id": pid, "regimen_id": rid, "regimen_path": str(Path(reg.path).resolve()),
                          "regimen_sha256": reg.sha256, "start_date": now.date().isoformat(),
                          "planned_cycles": reg.cycles, "dosing_weight_text": "70 kg", "dosing_weight_kg": 70.0,
                          "dosing_height_cm": 170.0, "bsa_formula": "mosteller", "status": "active",
                          "created_at": stamp, "created_by": "bench-prescriber"})
            for i in range(labs_per_patient):
                analyte = ANALYTES[i % len(ANALYTES)]
                text, value, unit, uln_text, uln = rng.choice(LAB_CHOICES[analyte])
                when = now - dt.timedelta(hours=rng.randint(1, 24 * 120))
                lab_id += 1
                labs.append({"id": lab_id, "patient_id": pid, "analyte": analyte, "value_text": text, "value": value,
                             "unit": unit, "uln_text": uln_text, "uln": uln, "collected_at": when.isoformat(),
                             "recorded_at": stamp, "recorded_by": "nurse-0"})
            for cycle, day, drug, dose, bsa in regimen_slots[rid][:ADMIN_PER_PATIENT[rid]]:
                admin_id += 1
                admins.append({"id": admin_id, "plan_id": pid, "cycle": cycle, "day": day, "drug": drug,
                               "dose_mg": dose, "bsa_m2": bsa, "given_at": stamp, "given_by": "nurse-0"})
        with store.transaction():
            for table, rows in (("patients", pat), ("measurements", meas), ("plans", plans), ("labs", labs),
                                ("administrations", admins)):
                store.insert_rows(table, rows)
    store.execute("ANALYZE")
    return {"patients": patients, "labs": lab_id, "administrations": admin_id}


# ------------------------------------------------------------------ one session

def session(where: str, role: str, index: int, patients: int, seconds: float, go: str, out: str) -> int:
    """One workstation: its store open, its kind of work in a loop until the time is up; writes its samples."""
    from chemo.errors import ChemoError
    from chemo.readiness import assess
    from chemo.records import add_lab
    from chemo.db import StoreError, open_store
    from chemo.treatment import signoff

    rng = random.Random(1000 * index + len(role))
    store = open_store(where, create=False)
    assess(store, "B0000001")  # warm: the library, the regimen files, pint's caches
    print("READY", flush=True)
    while not Path(go).exists():
        time.sleep(0.001)
    samples, errors, refused = [], [], 0
    next_cycle: dict[int, int] = {}
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        store.lock_wait_s = 0.0
        try:
            if role == "reader":
                assess(store, f"B{rng.randint(1, patients):07d}")
            elif role == "recorder":
                add_lab(store, f"nurse-{8 + index}", f"B{rng.randint(1, patients):07d}", "anc",
                        f"{rng.randint(15, 40) / 10} 10^9/L")
            else:  # a pharmacist signs the next cycle of a patient of their own quarter of the list
                pid = rng.randrange(1 + index, patients + 1, 4)
                cycle = next_cycle.get(pid, 1)
                next_cycle[pid] = cycle + 1
                signoff(store, f"pharm-{index}", f"B{pid:07d}", cycle, "dose",
                        override_reason="benchmark: signed with an override")
            outcome = "ok"
        except StoreError as exc:
            outcome = "error"
            errors.append(str(exc))
        except ChemoError:
            outcome = "refused"
            refused += 1
        except Exception as exc:  # a bug: an error a user would see as a traceback
            outcome = "error"
            errors.append(f"{type(exc).__name__}: {exc}")
        samples.append((role, outcome, (time.perf_counter() - t0) * 1000, store.lock_wait_s * 1000))
    store.close()
    Path(out).write_text(json.dumps({"samples": samples, "errors": errors[:20], "refused": refused}))
    return 0


# ------------------------------------------------------------------ the run

def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def run_engine(engine: str, where: str, patients: int, seconds: float) -> dict:
    from chemo.db import open_store

    t0 = time.perf_counter()
    with open_store(where) as store:
        counts = build(store, patients)
    build_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory(prefix="chemo-sessions-") as tmp:
        go = Path(tmp) / "go"
        procs, outs = [], []
        for role, n in ROLES:
            for i in range(n):
                out = Path(tmp) / f"{role}-{i}.json"
                outs.append(out)
                procs.append(subprocess.Popen(
                    [sys.executable, __file__, "--session", where, role, str(i), str(patients), str(seconds), str(go),
                     str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        for p in procs:
            p.stdout.readline()
        go.touch()
        crashed = []
        for p in procs:
            _, err = p.communicate(timeout=seconds + 600)
            if p.returncode != 0:
                crashed.append(err.strip()[-300:])
        samples, errors, refused = [], list(crashed), 0
        for out in outs:
            if out.exists():
                data = json.loads(out.read_text())
                samples += data["samples"]
                errors += data["errors"]
                refused += data["refused"]
    reads = [s[2] for s in samples if s[0] == "reader" and s[1] == "ok"]
    writes = [s[2] for s in samples if s[0] != "reader" and s[1] == "ok"]
    waits = [s[3] for s in samples if s[0] != "reader" and s[1] != "error"]
    n_errors = sum(s[1] == "error" for s in samples) + len(crashed)
    return {"engine": engine, "patients": patients, "seconds": seconds, "build_s": round(build_s, 1), **counts,
            "reads_per_s": len(reads) / seconds, "writes_per_s": len(writes) / seconds,
            "read_p50_ms": percentile(reads, 50), "read_p99_ms": percentile(reads, 99),
            "write_p50_ms": percentile(writes, 50), "write_p99_ms": percentile(writes, 99),
            "lock_wait_p99_ms": percentile(waits, 99), "errors": n_errors, "refused": refused,
            "error_examples": errors[:5]}


def table(results: list[dict]) -> str:
    head = ("engine", "reads/s", "writes/s", "read p50", "read p99", "write p50", "write p99", "lock wait p99",
            "errors", "refused")
    rows = [head]
    for r in results:
        if "unavailable" in r:
            rows.append((r["engine"], "not available: " + r["unavailable"], "", "", "", "", "", "", "", ""))
            continue
        ms = lambda v: "—" if v is None else f"{v:.1f} ms"  # noqa: E731
        rows.append((r["engine"], f"{r['reads_per_s']:.0f}", f"{r['writes_per_s']:.0f}", ms(r["read_p50_ms"]),
                     ms(r["read_p99_ms"]), ms(r["write_p50_ms"]), ms(r["write_p99_ms"]), ms(r["lock_wait_p99_ms"]),
                     str(r["errors"]), str(r["refused"])))
    widths = [max(len(row[i]) for row in rows if len(row[1]) < 40 or i == 0) for i in range(len(head))]
    return "\n".join(" | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
                     .rstrip() for row in rows)


def pg_schema(base: str):
    import psycopg

    name = f"chemo_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    return name, f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{name}"


def drop_schema(base: str, name: str) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def main(argv=None) -> int:
    args_in = sys.argv[1:] if argv is None else argv
    if args_in and args_in[0] == "--session":
        where, role, i, patients, seconds, go, out = args_in[1:8]
        return session(where, role, int(i), int(patients), float(seconds), go, out)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, help="size of the record (default 100,000; 2,000 with --quick)")
    parser.add_argument("--seconds", type=float, help="length of the run (default 60; 10 with --quick)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON line at the end")
    args = parser.parse_args(args_in)
    patients = args.patients or (2000 if args.quick else 100_000)
    seconds = args.seconds or (10.0 if args.quick else 60.0)
    results = []
    for engine in args.engines.split(","):
        print(f"{engine}: building {patients:,} patients, then 16 sessions for {seconds:g} s ...", file=sys.stderr,
              flush=True)
        if engine == "sqlite":
            with tempfile.TemporaryDirectory(prefix="chemo-sessions-db-") as tmp:
                results.append(run_engine("SQLite", str(Path(tmp) / "sessions.db"), patients, seconds))
        else:
            base = os.environ.get("CHEMO_TEST_POSTGRES") or DEFAULT_PG
            try:
                name, url = pg_schema(base)
            except Exception as exc:
                results.append({"engine": "PostgreSQL", "unavailable": " ".join(str(exc).split())[:120]})
                continue
            try:
                results.append(run_engine("PostgreSQL", url, patients, seconds))
            finally:
                drop_schema(base, name)
    print(f"16 sessions (8 readiness readers, 4 signers, 4 lab recorders), {patients:,} patients, {seconds:g} s")
    print(table(results))
    for r in results:
        for e in r.get("error_examples", []):
            print(f"  {r['engine']} error: {e[:200]}")
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
