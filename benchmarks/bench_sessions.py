"""An open-loop load of a modelled clinic day on one record, SQLite and PostgreSQL side by side.

The clinic (a project model, stated here so it can be argued with): 40 chairs, 80 visits a day, of which
the busiest hour starts 25 (the chairs fill in the morning); 6 pharmacists, 8 nurses' stations and one
interface engine feeding HL7 lab results.  One visit, times from the arrival of its labs at 1×:

    0 s     the feed imports the visit's HL7 ORU panel (8 results)            write  (lab-feed)
    120 s   the nurse reads the readiness                                        read   (its nurse station)
    150 s   the pharmacist reads the cumulative dose and the readiness          2 reads (its pharmacist)
    240 s   the pharmacist records the weight (a nurse may not)                  write
    300 s   the pharmacist signs the dose check AND the nurse signs the         2 writes, at the same moment,
            readiness check                                                      on the same patient
    900 s   the nurse records cycle 1 day 1 as given                             write

and every workstation, mostly idle, asks every 2 s whether anything changed (``data_version``, as the
TUI's patient list does): a read.  At 1× that is about 0.035 write commands/s (0.1 rows/s with the lab
rows, the peak the issue quotes); 10× and 100× divide every gap between visits and within a visit by
10 and 100.  Each workstation is one process with its record open, running its own schedule: a command
is timed from when it was *due*, so a queue in front of it counts (no coordinated omission), and the
next one starts when it is due or when the person is free.  PostgreSQL is reached through
``latency_proxy.py``, which adds 0.5 ms to every round trip (a LAN; the measured round trip is printed).

Per operation: p50/p99 latency, the client's CPU per operation, p99 lock wait (``Store.lock_wait_s``),
errors (anything a user would see as a failure: busy, a lost connection, a traceback) and refusals (an
answer: a dose modification, not ready; counted apart, their latency included).  Then the saturation:
8 writers (4 pharmacists signing doses, 4 nurses recording labs) without think time, writes/s.

    .venv/bin/python benchmarks/bench_sessions.py                 # 10,000 patients, 90 s a level, 30 s saturation
    .venv/bin/python benchmarks/bench_sessions.py --quick         # 1,000 patients, 20 s a level, 10 s saturation
    .venv/bin/python benchmarks/bench_sessions.py --engines postgresql --levels 10,100 --json

PostgreSQL is ``$CHEMO_TEST_POSTGRES`` (else ``postgresql://postgres@127.0.0.1:5432/test``), in a
new schema dropped afterwards; without a reachable server its rows say so.  The machine's load average
is printed before and after: figures from a shared machine are read with it.
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

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
PHARMACISTS, NURSES = 6, 8
VISITS_PER_HOUR = 25  # the busiest hour of 80 visits a day on 40 chairs (project model)
POLL_S = 2.0  # a workstation's "anything new?" (the TUI's patient list)
VISIT = (  # (seconds after the labs arrive at 1×, who, operation)
    (0, "feed", "import"), (120, "nurse", "readiness"), (150, "pharmacist", "cumulative"),
    (151, "pharmacist", "readiness"), (240, "pharmacist", "weight"), (300, "pharmacist", "signoff-dose"),
    (300, "nurse", "signoff-readiness"), (900, "nurse", "administer"))
READS = ("poll", "readiness", "cumulative")
WRITES = ("import", "weight", "signoff-dose", "signoff-readiness", "administer", "lab", "signoff")
SITE = 'site = "Bench clinic"\n[mrn]\nfhir_systems = []\nhl7_authorities = ["BENCH-HOSP"]\naccept_without_issuer = false\n'
GOALS = {10: {"read_p99_ms": 20.0, "write_p99_ms": 50.0, "errors": 0}, 100: {"errors": 0}}
SATURATION_GOAL = 150.0  # writes/s, PostgreSQL, 8 writers
PANEL = (  # LOINC, value, UCUM unit, reference range: a passing panel (chemo.demo.GOOD)
    ("718-7", "12.5", "g/dL", "12.0-16.0"), ("751-8", "3.2", "10*9/L", "1.8-7.7"),
    ("777-3", "250", "10*9/L", "150-400"), ("2160-0", "0.6", "mg/dL", "0.5-1.1"),
    ("1975-2", "0.6", "mg/dL", "0.1-1.2"), ("1742-6", "25", "U/L", "5-40"), ("1920-8", "22", "U/L", "5-40"),
    ("10230-1", "62", "%", "55-70"))


# ------------------------------------------------------------------ the record

def build(store, patients: int, fresh: int, labs_per_patient: int = 50, seed: int = 4) -> dict:
    """The rows of bench_store.build, with ids, through ``insert_rows`` (either engine); the last ``fresh``
    patients have nothing given yet (their visits sign and give cycle 1)."""
    from bench_store import ADMIN_PER_PATIENT, ANALYTES, LAB_CHOICES, REGIMENS, slots

    from chemo.regimen import load_regimen

    rng = random.Random(seed)
    regimens = {r: load_regimen(r) for r in REGIMENS}
    regimen_slots = {r: slots(r) for r in REGIMENS}
    now = dt.datetime.now().replace(microsecond=0)
    stamp = now.isoformat()
    users = [("bench-prescriber", "prescriber"), ("lab-feed", "nurse")] + \
            [(f"nurse-{i}", "nurse") for i in range(NURSES)] + [(f"pharm-{i}", "pharmacist") for i in range(PHARMACISTS)]
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
            weight = 70 if pid > patients - fresh else 55 + pid % 40  # a visit: the dosing weight
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
            given = 0 if pid > patients - fresh else ADMIN_PER_PATIENT[rid]
            for cycle, day, drug, dose, bsa in regimen_slots[rid][:given]:
                admin_id += 1
                admins.append({"id": admin_id, "plan_id": pid, "cycle": cycle, "day": day, "drug": drug,
                               "dose_mg": dose, "bsa_m2": bsa, "given_at": stamp, "given_by": "nurse-0"})
        with store.transaction():
            for table, rows in (("patients", pat), ("measurements", meas), ("plans", plans), ("labs", labs),
                                ("administrations", admins)):
                store.insert_rows(table, rows)
    store.execute("ANALYZE")
    return {"patients": patients, "labs": lab_id, "administrations": admin_id}


# ------------------------------------------------------------------ the schedule

def schedule(level: int, window_s: float, first_pid: int, squeeze: float, seed: int = 22) -> tuple[dict, int]:
    """who -> [(due s, operation, patient id)], and how many visits: Poisson arrivals over ``window_s`` at
    ``level`` × the busiest hour, the first at 1 s; a visit's steps ``squeeze`` times closer than in life."""
    rng = random.Random(seed + level)
    rate = VISITS_PER_HOUR * level / 3600.0
    arrivals, t = [], 1.0
    while t < window_s:
        arrivals.append(t)
        t += rng.expovariate(rate)
    plan: dict[str, list] = {"feed": []}
    plan.update({f"nurse-{i}": [] for i in range(NURSES)})
    plan.update({f"pharm-{i}": [] for i in range(PHARMACISTS)})
    for j, start in enumerate(arrivals):
        pid = first_pid + j
        for offset, who, op in VISIT:
            station = "feed" if who == "feed" else f"nurse-{j % NURSES}" if who == "nurse" else f"pharm-{j % PHARMACISTS}"
            plan[station].append((start + offset / squeeze, op, pid))
    end = (arrivals[-1] if arrivals else 0) + max(o for o, _, _ in VISIT) / squeeze + 1.0
    for who, events in plan.items():
        k = random.Random(who).random() * POLL_S
        while k < end:
            events.append((k, "poll", None))
            k += POLL_S
        events.sort(key=lambda e: e[0])
    return plan, len(arrivals)


def hl7_panel(pid: int, control: str) -> str:
    """One ORU^R01 message: the passing panel of patient ``pid``, collected a minute ago (clinic local time)."""
    now = dt.datetime.now() - dt.timedelta(minutes=1)
    stamp = now.strftime("%Y%m%d%H%M%S")
    lines = [f"MSH|^~\\&|LAB|BENCH-HOSP|CHEMO|ONCOLOGY|{stamp}||ORU^R01^ORU_R01|{control}|P|2.5.1",
             f"PID|1||B{pid:07d}^^^BENCH-HOSP^MR||BENCH^PATIENT||19700501|F",
             f"OBR|1|ORD-{control}^CHEMO|FIL-{control}^LAB|58410-2^CBC panel^LN|||{stamp}"]
    for n, (code, value, unit, ref) in enumerate(PANEL, 1):
        lines.append(f"OBX|{n}|NM|{code}^^LN||{value}|{unit}^^UCUM|{ref}|N|||F|||{stamp}")
    return "\r".join(lines) + "\r"


# ------------------------------------------------------------------ one workstation

def _timed(store, action):
    """(outcome, text): run one command as a user would see it (the text of an error or a refusal)."""
    from chemo.errors import ChemoError
    from chemo.db import StoreError

    try:
        result = action()
        return ("refused" if result == "refused" else "ok"), None
    except StoreError as exc:
        return "error", str(exc)
    except ChemoError as exc:
        return "refused", exc.message
    except Exception as exc:  # a bug: an error a user would see as a traceback
        return "error", f"{type(exc).__name__}: {exc}"


def workstation(where: str, who: str, plan_file: str, start_file: str, out: str) -> int:
    """One workstation: its record open, its schedule run against the shared start time; writes its samples."""
    from chemo.cumulative import report
    from chemo.labs.importer import import_file
    from chemo.readiness import assess
    from chemo.records import add_measurement
    from chemo.db import Refusal, open_store
    from chemo.treatment import administer, signoff

    events = json.loads(Path(plan_file).read_text())
    store = open_store(where, create=False)
    # warm, as a workstation is after its first minutes: the library, the regimen files, pint's caches, the
    # modules of every command (a dry-run import writes nothing)
    assess(store, "B0000001")
    report(store, "B0000001")
    warm = Path(out).parent / f"{who}-warm.hl7"
    warm.write_text(hl7_panel(1, f"{who}-warm"))
    import_file(store, "lab-feed", warm, dry_run=True)
    import chemo.dose  # noqa: F401  (the dose sign-off's calculation)
    print("READY", flush=True)
    while not Path(start_file).exists():
        time.sleep(0.001)
    t_zero = float(Path(start_file).read_text() or 0)
    tmp = Path(out).parent
    samples, errors, refusals = [], [], []
    for n, (due, op, pid) in enumerate(events):
        wait = t_zero + due - time.time()
        if wait > 0:
            time.sleep(wait)
        mrn = None if pid is None else f"B{pid:07d}"

        def import_panel():
            path = tmp / f"{who}-{n}.hl7"
            path.write_text(hl7_panel(pid, f"{who}-{os.getpid()}-{n}"))
            rep = import_file(store, "lab-feed", path)
            if rep.error:
                raise RuntimeError(rep.error)
            refused = [o.message for o in rep.outcomes if o.outcome == "refused"]
            if refused:
                raise Refusal(refused[0])
            return "ok"

        actions = {
            "poll": store.data_version,
            "import": import_panel,
            "readiness": lambda: assess(store, mrn),
            "cumulative": lambda: report(store, mrn),
            "weight": lambda: add_measurement(store, who, mrn, weight="70 kg"),
            "signoff-dose": lambda: signoff(store, who, mrn, 1, "dose"),
            "signoff-readiness": lambda: signoff(store, who, mrn, 1, "readiness"),
            "administer": lambda: administer(store, who, mrn, 1),
        }
        store.lock_wait_s = 0.0
        cpu0, t0 = time.process_time(), time.perf_counter()
        started_late = max(0.0, time.time() - (t_zero + due))
        outcome, text = _timed(store, actions[op])
        service = time.perf_counter() - t0
        samples.append((op, outcome, (started_late + service) * 1000, service * 1000,
                        (time.process_time() - cpu0) * 1000, store.lock_wait_s * 1000))
        if text:
            (errors if outcome == "error" else refusals).append(f"{op}: {text}")
    store.close()
    Path(out).write_text(json.dumps({"samples": samples, "errors": errors[:20], "refusals": refusals[:20]}))
    return 0


def writer(where: str, role: str, index: int, patients: int, seconds: float, start_file: str, out: str) -> int:
    """A saturation writer: no think time; a pharmacist signs doses of its own patients, a nurse records labs."""
    from chemo.records import add_lab
    from chemo.readiness import assess
    from chemo.db import open_store
    from chemo.treatment import signoff

    rng = random.Random(1000 * index + len(role))
    store = open_store(where, create=False)
    assess(store, "B0000001")
    print("READY", flush=True)
    while not Path(start_file).exists():
        time.sleep(0.001)
    samples, errors = [], []
    next_cycle: dict[int, int] = {}
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        store.lock_wait_s = 0.0
        cpu0, t0 = time.process_time(), time.perf_counter()
        if role == "lab":
            action = lambda: add_lab(store, f"nurse-{index}", f"B{rng.randint(1, patients):07d}", "anc",  # noqa: E731
                                     f"{rng.randint(15, 40) / 10} 10^9/L")
        else:
            pid = rng.randrange(1 + index, patients + 1, 4)
            cycle = next_cycle.get(pid, 1)
            next_cycle[pid] = cycle + 1
            action = lambda: signoff(store, f"pharm-{index}", f"B{pid:07d}", cycle, "dose",  # noqa: E731
                                     override_reason="benchmark: signed with an override")
        outcome, text = _timed(store, action)
        service = (time.perf_counter() - t0) * 1000
        samples.append((role, outcome, service, service, (time.process_time() - cpu0) * 1000,
                        store.lock_wait_s * 1000))
        if outcome == "error":
            errors.append(text)
    store.close()
    Path(out).write_text(json.dumps({"samples": samples, "errors": errors[:20]}))
    return 0


# ------------------------------------------------------------------ the run

def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def _cpu_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine (every engineer's work included)."""
    try:
        fields = [float(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    return sum(fields) - idle, sum(fields)


def _launch(args_list: list[list[str]], tmp: Path) -> tuple[list, list, float, float]:
    """Start the processes, wait for READY from each, start them together; (samples, errors, seconds, busy %)."""
    start = tmp / "start"
    procs = [subprocess.Popen([sys.executable, __file__, *a], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for a in args_list]
    for p in procs:
        p.stdout.readline()
    busy0, total0 = _cpu_busy()
    t0 = time.perf_counter()
    (tmp / "start.tmp").write_text(repr(time.time() + 0.2))
    (tmp / "start.tmp").rename(start)
    crashed = []
    for p in procs:
        _, err = p.communicate(timeout=7200)
        if p.returncode != 0:
            crashed.append(err.strip()[-300:])
    elapsed = time.perf_counter() - t0
    busy1, total1 = _cpu_busy()
    samples, errors, refusals = [], list(crashed), []
    for a in args_list:
        out = Path(a[-1])
        if out.exists():
            data = json.loads(out.read_text())
            samples += data["samples"]
            errors += data["errors"]
            refusals += data.get("refusals", [])
    busy = 100.0 * (busy1 - busy0) / (total1 - total0) if total1 > total0 else None
    start.unlink()
    return samples, errors + [f"crashed: {c}" for c in crashed], refusals, elapsed, busy


def summary(samples: list, ops) -> dict:
    """Per operation: n, p50/p99 latency (from when it was due), p50 CPU, p99 lock wait, errors, refused."""
    out = {}
    for op in ops:
        mine = [s for s in samples if s[0] == op]
        if not mine:
            continue
        answered = [s for s in mine if s[1] != "error"]
        out[op] = {"n": len(mine), "p50_ms": percentile([s[2] for s in answered], 50),
                   "p99_ms": percentile([s[2] for s in answered], 99),
                   "cpu_p50_ms": percentile([s[4] for s in answered], 50),
                   "lock_wait_p99_ms": percentile([s[5] for s in answered], 99),
                   "errors": sum(s[1] == "error" for s in mine), "refused": sum(s[1] == "refused" for s in mine)}
    return out


def run_level(engine: str, where: str, level: int, window_s: float, first_pid: int, squeeze: float) -> dict:
    plan, visits = schedule(level, window_s, first_pid, squeeze)
    with tempfile.TemporaryDirectory(prefix="chemo-clinic-") as tmp:
        tmp = Path(tmp)
        args_list = []
        for who, events in plan.items():
            (tmp / f"{who}.plan.json").write_text(json.dumps(events))
            args_list.append(["--workstation", where, who, str(tmp / f"{who}.plan.json"), str(tmp / "start"),
                              str(tmp / f"{who}.out.json")])
        samples, errors, refusals, elapsed, busy = _launch(args_list, tmp)
    reads = [s[2] for s in samples if s[0] in READS and s[1] != "error"]
    writes = [s[2] for s in samples if s[0] in WRITES and s[1] != "error"]
    return {"engine": engine, "level": level, "visits": visits, "seconds": round(elapsed, 1),
            "machine_cpu_busy_pct": None if busy is None else round(busy, 1),
            "read_p99_ms": percentile(reads, 99), "write_p99_ms": percentile(writes, 99),
            "reads": len(reads), "writes": len(writes),
            "errors": sum(s[1] == "error" for s in samples) + sum(e.startswith("crashed") for e in errors),
            "ops": summary(samples, READS + WRITES), "error_examples": errors[:5],
            "refusal_examples": sorted(set(refusals))[:8]}


def run_saturation(engine: str, where: str, patients: int, seconds: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="chemo-saturation-") as tmp:
        tmp = Path(tmp)
        args_list = [["--writer", where, role, str(i), str(patients), str(seconds), str(tmp / "start"),
                      str(tmp / f"{role}-{i}.out.json")] for role in ("signoff", "lab") for i in range(4)]
        samples, errors, _, elapsed, busy = _launch(args_list, tmp)
    ok = [s for s in samples if s[1] == "ok"]
    return {"engine": engine, "level": "saturation", "writers": 8, "seconds": seconds,
            "writes_per_s": len(ok) / seconds, "machine_cpu_busy_pct": None if busy is None else round(busy, 1),
            "errors": sum(s[1] == "error" for s in samples), "ops": summary(samples, ("signoff", "lab")),
            "error_examples": errors[:5]}


def ms(v) -> str:
    return "—" if v is None else f"{v:.1f} ms"


def table(results: list[dict]) -> str:
    head = ("engine", "load", "operation", "n", "p50", "p99", "CPU p50", "lock wait p99", "errors", "refused")
    rows = [head]
    for r in results:
        if "unavailable" in r:
            rows.append((r["engine"], "not available: " + r["unavailable"][:80], "", "", "", "", "", "", "", ""))
            continue
        load = f"{r['level']}×" if r["level"] != "saturation" else "saturation"
        for op, o in r["ops"].items():
            rows.append((r["engine"], load, op, str(o["n"]), ms(o["p50_ms"]), ms(o["p99_ms"]), ms(o["cpu_p50_ms"]),
                         ms(o["lock_wait_p99_ms"]), str(o["errors"]), str(o["refused"])))
        if r["level"] == "saturation":
            rows.append((r["engine"], load, f"= {r['writes_per_s']:.0f} writes/s, 8 writers",
                         "", "", "", "", "", str(r["errors"]), f"CPU {r['machine_cpu_busy_pct']} %"))
        else:
            rows.append((r["engine"], load, f"= all reads / writes ({r['visits']} visits, {r['seconds']:g} s)",
                         f"{r['reads']}/{r['writes']}", "", f"{ms(r['read_p99_ms'])} / {ms(r['write_p99_ms'])}", "",
                         "", str(r["errors"]), f"CPU {r['machine_cpu_busy_pct']} %"))
    widths = [max(len(row[i]) for row in rows if not row[1].startswith("not available") or i == 0)
              for i in range(len(head))]
    return "\n".join(" | ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
                     .rstrip() for row in rows)


def verdicts(results: list[dict]) -> list[str]:
    out = []
    for r in results:
        if "unavailable" in r:
            continue
        if r["level"] == "saturation":
            if r["engine"] == "PostgreSQL":
                met = r["writes_per_s"] >= SATURATION_GOAL and r["errors"] == 0
                out.append(f"saturation, 8 writers, PostgreSQL: {r['writes_per_s']:.0f} writes/s, {r['errors']} errors "
                           f"(goal ≥ {SATURATION_GOAL:g} writes/s): {'met' if met else 'MISSED'}")
            continue
        goal = GOALS.get(r["level"])
        if goal is None:
            continue
        missed = [k for k, v in goal.items() if r[k] is None or r[k] > v]
        shown = ", ".join(f"{k} {r[k] if k == 'errors' else ms(r[k])} (≤ {v:g})" for k, v in goal.items())
        out.append(f"{r['level']}× a clinic day, {r['engine']}: {shown}: {'MISSED ' + ', '.join(missed) if missed else 'met'}")
    return out


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


def through_proxy(url: str, port: int) -> str:
    """``url`` with its host and port replaced by the proxy's."""
    import re

    return re.sub(r"@[^/@]*/", f"@127.0.0.1:{port}/", url, count=1)


def run_engine(engine: str, where: str, build_where: str, args) -> list[dict]:
    from chemo.db import open_store

    levels = [int(x) for x in args.levels.split(",") if x]
    visits_max = sum(int(VISITS_PER_HOUR * lv / 3600 * args.window * 2) + 10 for lv in levels)
    t0 = time.perf_counter()
    with open_store(build_where) as store:
        build(store, args.patients, fresh=visits_max)
    print(f"  {engine}: built {args.patients:,} patients in {time.perf_counter() - t0:.0f} s", file=sys.stderr,
          flush=True)
    results, first = [], args.patients - visits_max + 1
    for level in levels:
        print(f"  {engine}: {level}× a clinic day ...", file=sys.stderr, flush=True)
        r = run_level(engine, where, level, args.window, first, max(args.squeeze, level))
        first += r["visits"]
        results.append(r)
    if args.saturation:
        print(f"  {engine}: saturation, 8 writers, {args.saturation:g} s ...", file=sys.stderr, flush=True)
        results.append(run_saturation(engine, where, args.patients - visits_max, args.saturation))
    return results


def main(argv=None) -> int:
    args_in = sys.argv[1:] if argv is None else argv
    if args_in and args_in[0] == "--workstation":
        return workstation(*args_in[1:6])
    if args_in and args_in[0] == "--writer":
        where, role, i, patients, seconds, start, out = args_in[1:8]
        return writer(where, role, int(i), int(patients), float(seconds), start, out)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, help="size of the record (default 10,000; 1,000 with --quick)")
    parser.add_argument("--window", type=float, help="seconds in which visits arrive, a level (default 60; 15 quick)")
    parser.add_argument("--squeeze", type=float, default=10.0,
                        help="a visit's steps this many times closer than in life, at least (default 10)")
    parser.add_argument("--levels", default="1,10,100", help="multiples of the busiest hour (default 1,10,100)")
    parser.add_argument("--saturation", type=float, help="seconds of the 8-writer saturation (default 30; 10 quick; "
                                                         "0: none)")
    parser.add_argument("--rtt-ms", type=float, default=0.5, help="added to each PostgreSQL round trip (default 0.5)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON line at the end")
    args = parser.parse_args(args_in)
    args.patients = args.patients or (1000 if args.quick else 10_000)
    args.window = args.window or (15.0 if args.quick else 60.0)
    if args.quick:
        args.squeeze = max(args.squeeze, 50.0)
    if args.saturation is None:
        args.saturation = 10.0 if args.quick else 30.0
    load0 = os.getloadavg()
    results, notes = [], []
    site = Path(tempfile.mkdtemp(prefix="chemo-clinic-site-")) / "chemo-site.toml"
    site.write_text(SITE)  # the feed's MRNs are this centre's (chemo.labs.site); every workstation reads $CHEMO_SITE
    os.environ["CHEMO_SITE"] = str(site)
    for engine in args.engines.split(","):
        print(f"{engine}: ...", file=sys.stderr, flush=True)
        if engine == "sqlite":
            with tempfile.TemporaryDirectory(prefix="chemo-clinic-db-") as tmp:
                path = str(Path(tmp) / "clinic.db")
                results += run_engine("SQLite", path, path, args)
            continue
        from latency_proxy import LatencyProxy, measured_rtt_ms

        base = os.environ.get("CHEMO_TEST_POSTGRES") or DEFAULT_PG
        try:
            name, url = pg_schema(base)
        except Exception as exc:
            results.append({"engine": "PostgreSQL", "unavailable": " ".join(str(exc).split())[:120]})
            continue
        from psycopg.conninfo import conninfo_to_dict

        target = conninfo_to_dict(base)
        host, port = target.get("host") or "127.0.0.1", int(target.get("port") or 5432)
        proxy = LatencyProxy(host, port, args.rtt_ms / 1000).start()
        try:
            slow = through_proxy(url, proxy.port)
            notes.append(f"PostgreSQL through the proxy: SELECT 1 takes {measured_rtt_ms(slow):.2f} ms "
                         f"({measured_rtt_ms(url):.2f} ms direct)")
            results += run_engine("PostgreSQL", slow, url, args)
        finally:
            proxy.stop()
            drop_schema(base, name)
    load1 = os.getloadavg()
    print(f"A clinic day (40 chairs, {VISITS_PER_HOUR} visits in the busiest hour, {PHARMACISTS} pharmacists, "
          f"{NURSES} nurses' stations, an HL7 feed), {args.patients:,} patients; visits arriving for "
          f"{args.window:g} s a level, their steps {args.squeeze:g}× closer than in life; "
          f"load average {load0[0]:.2f} before, {load1[0]:.2f} after ({os.cpu_count()} cores)")
    for n in notes:
        print(n)
    print(table(results))
    for line in verdicts(results):
        print(line)
    for r in results:
        for e in r.get("error_examples", []):
            print(f"  {r['engine']} {r.get('level')} error: {e[:200]}")
        for e in r.get("refusal_examples", []):
            print(f"  {r['engine']} {r.get('level')} refused: {e[:160]}")
    if args.json:
        print(json.dumps({"results": results, "notes": notes, "load_average": [load0[0], load1[0]]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
