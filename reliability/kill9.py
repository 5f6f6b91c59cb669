"""kill -9 at random points while a child process writes the record; nothing acknowledged is lost.

Each trial starts a child that opens the database and writes in a loop
through the record's public functions: administrations of a cycle day (``--day``,
the next day not yet given, or ``--all-days``: every day of a cycle in one
transaction, a calendar day apart), lab results and new patients (a
patient, their first measurement and two audit rows in one transaction).  The
child prints ``ACK`` after each write returns, i.e. after ``COMMIT``.  The
parent sends SIGKILL at a random moment (most trials while writes run, some
while the child is still starting or opening the file), then opens the file
and checks:

* ``PRAGMA integrity_check`` is ``ok`` and ``PRAGMA foreign_key_check`` is empty;
* every acknowledged write is present;
* no partial transaction: every inserted row has its audit row and every
  insert the audit records has its row; every administered day has all of
  that day's drugs or none;
* the audit chain verifies.

Trials share one database per worker, so later trials kill a child writing
into a file that earlier kills interrupted.

    python -m reliability.kill9 [--trials 500]
"""

from __future__ import annotations

import argparse
from collections import Counter
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .common import print_figures, ROOT, Figure, at_least, exactly, require

ACTOR = "kill-pharmacist"
NURSE = "kill-nurse"
NURSE2 = "kill-nurse-2"
# tables whose inserts the audit records with the row id as entity_key
AUDITED = ("patients", "measurements", "labs", "prior_exposure", "plans", "signoffs", "administrations")


# ------------------------------------------------------------------ the child

LABS = (("hemoglobin", "12 g/dL", None), ("anc", "3 10^9/L", None), ("platelets", "200 10^9/L", None),
        ("creatinine", "0.8 mg/dL", None), ("bilirubin", "0.5 mg/dL", "1.2 mg/dL"), ("alt", "20 U/L", "40 U/L"),
        ("ast", "20 U/L", "40 U/L"), ("lvef", "60 %", None))
REGIMEN_IDS = ("doxorubicin-ifosfamide", "epirubicin-ifosfamide", "doxorubicin-dacarbazine", "pld-ifosfamide-anlotinib")


def _administer_api():
    """``chemo.treatment.administer`` (issue 4), if it has landed."""
    try:
        from chemo import treatment
    except ImportError:
        return None, None
    return (treatment.administer, "chemo.treatment") if callable(getattr(treatment, "administer", None)) else (None, None)


def child(db: str, tag: str, seed: int) -> int:
    """Write for ever (until killed): each patient registered, measured again, planned, labs, both sign-offs,
    then administrations day by day (``--day`` or the next day not yet given) or a whole cycle at once
    (``--all-days``), each day at its own time; ``ACK`` after each write returns.

    In half the trials the first patient is prepared up to its first administration before ``READY`` (those
    writes are not acknowledged), so that kills soon after ``READY`` land among administrations too."""
    from chemo.errors import ChemoError
    from chemo.db import open_store

    rng = random.Random(seed)
    store = open_store(db)
    administer, _ = _administer_api()
    first = _patient_writes(store, f"K{tag}-0", rng, administer)
    try:
        for ack in first if rng.random() < 0.5 else ():  # half the trials: prepared before READY
            if ack is None:  # the next write is the first administration
                break
    except ChemoError as exc:
        print(f"ERR {exc}", flush=True)
        first = iter(())
    print("READY", flush=True)
    i = 0
    writes = first
    while True:
        try:
            for ack in writes:
                if ack is not None:
                    print(f"ACK {ack}", flush=True)
        except ChemoError as exc:
            print(f"ERR {exc}", flush=True)
        i += 1
        writes = _patient_writes(store, f"K{tag}-{i}", rng, administer)


def _patient_writes(store, mrn: str, rng, administer):
    """One patient's writes, one at a time: yields what to acknowledge after each, and None before each
    administration."""
    import datetime as dt

    from chemo import records

    height, weight = f"{rng.randint(150, 195)} cm", f"{rng.randint(50, 110)} kg"
    records.add_patient(store, ACTOR, mrn=mrn, name=f"Kill trial {mrn}", sex="male", born="1960-05-05",
                        height=height, weight=weight)
    yield f"patient {mrn}"
    if administer is None:
        row = records.add_lab(store, NURSE, mrn, "platelets", f"{rng.randint(50, 400)} 10^9/L")
        yield f"lab {row['id']} {row['value_text']}"
        return
    from chemo import treatment
    from chemo.db import now_local

    # cycle 1 began 40 days ago and cycle 2 on its due date 21 days later (the calendar), each day recorded at its
    # own time, a calendar day apart; the sign-offs are made now, on labs of an hour ago and a weight of today
    now = now_local()
    first = now - dt.timedelta(days=40)
    starts = {1: first, 2: first + dt.timedelta(days=21)}
    records.add_measurement(store, ACTOR, mrn, weight=weight, height=height,
                            on=(first - dt.timedelta(days=1)).date().isoformat())
    records.add_measurement(store, ACTOR, mrn, weight=weight, on=now.date().isoformat())
    yield f"measure {mrn}"
    records.start_plan(store, ACTOR, mrn, rng.choice(REGIMEN_IDS), start=first.date().isoformat())
    yield f"plan {mrn}"
    for at in (starts[1] - dt.timedelta(hours=1), starts[2] - dt.timedelta(hours=1), now - dt.timedelta(hours=1)):
        for analyte, value, uln in LABS:
            row = records.add_lab(store, NURSE, mrn, analyte, value, uln=uln, at=at)
            yield f"lab {row['id']} {row['value_text']}"
    plan = store.one("SELECT p.regimen_id FROM plans p JOIN patients x ON x.id = p.patient_id "
                     "WHERE x.mrn = ? AND p.status = 'active'", (mrn,))
    days = sorted({d for line in _regimen(plan["regimen_id"]).drugs for d in line.days})
    for cycle in (1, 2):
        treatment.signoff(store, ACTOR, mrn, cycle, "dose")
        treatment.signoff(store, NURSE2, mrn, cycle, "readiness")
        yield f"signoff {mrn} {cycle}"
        mode = rng.random() if cycle == 1 else 0.5
        start = starts[cycle]
        yield None
        if mode < 0.35:  # --all-days: every day in one transaction, a calendar day apart
            administer(store, NURSE, mrn, cycle, at=start, all_days=True)
            yield f"cycle {mrn} {cycle}"
            continue
        for day in days:  # --day D, or the next day not yet given, each on its own calendar day
            if mode < 0.7:
                administer(store, NURSE, mrn, cycle, day, at=start + dt.timedelta(days=day - 1))
            else:
                administer(store, NURSE, mrn, cycle, at=start + dt.timedelta(days=day - 1))
            yield f"day {mrn} {cycle} {day}"
            yield None


_REGIMENS: dict = {}


def _regimen(regimen_id):
    from chemo.regimen import load_regimen

    if regimen_id not in _REGIMENS:
        _REGIMENS[regimen_id] = load_regimen(regimen_id)
    return _REGIMENS[regimen_id]


def _drugs_on(regimen_id: str, day: int) -> set:
    regimen = _regimen(regimen_id)
    return {line.drug for line in regimen.drugs if day in line.days} | {
        x.drug for x in regimen.derived if day in x.days}


# ------------------------------------------------------------------ the parent

def setup(db: Path) -> None:
    from chemo import records, roles
    from chemo.db import open_store
    from chemo.demo import approve_regimens

    with open_store(db) as store:
        roles.add_user(store, ACTOR, ACTOR, "pharmacist")
        roles.add_user(store, ACTOR, NURSE, "nurse")
        roles.add_user(store, ACTOR, NURSE2, "nurse")
        roles.add_user(store, ACTOR, ACTOR + "-2", "pharmacist")
        approve_regimens(store, REGIMEN_IDS, (ACTOR, ACTOR + "-2"))  # a plan starts on an approved regimen
        records.add_patient(store, ACTOR, mrn="K-base", name="Kill base", sex="female", born="1970-01-01",
                            height="165 cm", weight="60 kg")


def trial(db: Path, tag: str, rng: random.Random) -> dict:
    proc = subprocess.Popen([sys.executable, "-m", "reliability.kill9", "--child", str(db), tag, str(rng.random())],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: list[bytes] = []
    ready = threading.Event()

    def reader():
        for line in proc.stdout:
            lines.append(line)
            if line.startswith(b"READY"):
                ready.set()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    early = rng.random() < 0.1  # now and then while it starts and opens the file
    if early:
        time.sleep(rng.uniform(0, 0.35))
    else:
        ready.wait(30)
        time.sleep(rng.uniform(0, 0.5))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    thread.join(5)
    stderr = proc.stderr.read().decode("utf-8", "replace")
    acks = [line.decode().split() for line in lines if line.endswith(b"\n") and line.startswith(b"ACK ")]
    errors = [line.decode().strip() for line in lines if line.startswith(b"ERR ")]
    return {"acks": acks, "errors": errors, "stderr": stderr, "early": early, "signal": proc.returncode}


def check(db: Path, acks: list) -> list[str]:
    """Every problem in the file after a kill: empty when all is well."""
    from chemo import audit
    from chemo.db import check_integrity, open_store

    problems = []
    with open_store(db, create=False) as store:
        problems += check_integrity(store)
        for ack in acks:
            if ack[1] == "patient":
                if store.one("SELECT id FROM patients WHERE mrn = ?", (ack[2],)) is None:
                    problems.append(f"acknowledged patient {ack[2]} missing")
            elif ack[1] == "lab":
                row = store.one("SELECT value_text FROM labs WHERE id = ?", (int(ack[2]),))
                if row is None or row["value_text"] != " ".join(ack[3:]):
                    problems.append(f"acknowledged lab {ack[2]} missing or changed")
            elif ack[1] == "measure":
                if store.one("SELECT count(*) AS n FROM measurements m JOIN patients x ON x.id = m.patient_id "
                             "WHERE x.mrn = ?", (ack[2],))["n"] != 3:  # at registration, before cycle 1, today
                    problems.append(f"acknowledged measurement of {ack[2]} missing")
            elif ack[1] == "plan":
                if not store.one("SELECT p.id FROM plans p JOIN patients x ON x.id = p.patient_id WHERE x.mrn = ?",
                                 (ack[2],)):
                    problems.append(f"acknowledged plan of {ack[2]} missing")
            elif ack[1] == "signoff":
                n = store.one("SELECT count(*) AS n FROM signoffs s JOIN plans p ON p.id = s.plan_id JOIN patients x "
                              "ON x.id = p.patient_id WHERE x.mrn = ? AND s.cycle = ?", (ack[2], int(ack[3])))["n"]
                if n != 2:
                    problems.append(f"acknowledged sign-offs of {ack[2]} cycle {ack[3]}: {n} of 2 present")
            elif ack[1] in ("day", "cycle"):
                rows = store.query("SELECT a.day, a.drug, p.regimen_id FROM administrations a JOIN plans p ON "
                                   "p.id = a.plan_id JOIN patients x ON x.id = p.patient_id WHERE x.mrn = ? AND a.cycle = ?",
                                   (ack[2], int(ack[3])))
                if not rows:
                    problems.append(f"acknowledged administration {' '.join(ack[1:])} missing")
                    continue
                regimen_id = rows[0]["regimen_id"]
                days = [int(ack[4])] if ack[1] == "day" else sorted(
                    {d for line in _regimen(regimen_id).drugs for d in line.days})
                have = {(r["day"], r["drug"]) for r in rows}
                for day in days:
                    missing = _drugs_on(regimen_id, day) - {drug for d, drug in have if d == day}
                    if missing:
                        problems.append(f"acknowledged administration {' '.join(ack[1:])}: day {day} lacks {sorted(missing)}")
        problems += partial_writes(store)
        _, chain = audit.verify(store)
        problems += chain
    return problems


def partial_writes(store) -> list[str]:
    """Rows without their audit row, audited inserts without their row, patients without a measurement.

    Done with sets in Python: the schema has no index on ``audit.entity_key``,
    and a join per trial would grow with the square of the file.
    """
    problems = []
    tables = {r["name"] for r in store.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
    audited: dict[str, set] = {}
    inserted: dict[str, set] = {}
    for entity, key, old, new in store.conn.execute("SELECT entity, entity_key, old, new FROM audit"):
        audited.setdefault(entity, set()).add(key)
        if old is None and new is not None:
            inserted.setdefault(entity, set()).add(key)
    for table in AUDITED:
        if table not in tables:
            continue
        ids = {str(r[0]) for r in store.conn.execute(f"SELECT id FROM {table}")}
        orphans = sorted(ids - audited.get(table, set()))[:3]
        problems += [f"{table} row {i} has no audit row (a partial transaction)" for i in orphans]
        ghosts = sorted(inserted.get(table, set()) - ids)[:3]
        problems += [f"an audit row records an insert into {table} (id {i}) that is missing" for i in ghosts]
    lonely = store.query("SELECT p.mrn FROM patients p WHERE NOT EXISTS "
                         "(SELECT 1 FROM measurements m WHERE m.patient_id = p.id) LIMIT 3")
    problems += [f"patient {r['mrn']} has no measurement (a partial registration)" for r in lonely]
    if "administrations" in tables:
        problems += partial_days(store)
    return problems


def partial_days(store) -> list[str]:
    """Every (plan, cycle, day) administered has all the drugs its regimen gives that day."""
    problems = []
    days = store.query("SELECT a.plan_id, a.cycle, a.day, group_concat(a.drug) AS drugs, p.regimen_id "
                       "FROM administrations a JOIN plans p ON p.id = a.plan_id GROUP BY a.plan_id, a.cycle, a.day")
    for d in days:
        want = _drugs_on(d["regimen_id"], d["day"])
        have = set(d["drugs"].split(","))
        if want - have:
            problems.append(f"plan {d['plan_id']} cycle {d['cycle']} day {d['day']}: {sorted(want - have)} missing "
                            "(a partial cycle day)")
    return problems


def run(quick: bool = False, trials: int | None = None, workers: int = 2) -> list[Figure]:
    require("chemo.db", "chemo.records", "chemo.audit", "chemo.roles")
    trials = trials or (20 if quick else 500)
    workers = min(workers, trials)
    results = []
    failures = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="chemo-kill9-") as tmp:
        def worker(w: int):
            rng = random.Random(900 + w)
            db = Path(tmp) / f"kill-{w}.db"
            setup(db)
            for t in range(w, trials, workers):
                outcome = trial(db, f"{w}-{t}", rng)
                outcome["problems"] = check(db, outcome["acks"])
                results.append(outcome)
                if outcome["problems"] or outcome["errors"] or "Traceback" in outcome["stderr"]:
                    failures.append(f"trial {t}: {(outcome['problems'] + outcome['errors'])[:3]} "
                                    f"{outcome['stderr'].strip()[-200:]}")

        threads = [threading.Thread(target=worker, args=(w,)) for w in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    seconds = time.perf_counter() - started
    killed = [r for r in results if r["signal"] == -signal.SIGKILL]
    acked = sum(len(r["acks"]) for r in results)
    kinds = Counter(a[1] for r in results for a in r["acks"])
    bad = [r for r in results if r["problems"]]
    shown = [r for r in results if r["errors"] or "Traceback" in r["stderr"]]
    api, _ = _administer_api()
    return [
        at_least("kill -9 trials", len(killed), 20 if quick else 500,
                 detail=f"{sum(r['early'] for r in results)} while starting; {seconds:.0f} s"
                        + ("; writes: patients, plans, labs, sign-offs, administrations" if api
                            else "; writes: patients and labs (no administration function yet)")),
        exactly("kill -9 trials with a damaged file, a lost commit, a partial write or a broken chain",
                len(bad), 0, detail=f"{acked} acknowledged writes checked ("
                + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) + ")", examples=failures[:5]),
        exactly("kill -9 trials where the writer showed an error", len(shown), 0, examples=failures[:5]),
    ]


def main(argv=None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--child":
        return child(sys.argv[2], sys.argv[3], int(float(sys.argv[4]) * 1e9))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=500)
    args = parser.parse_args(argv)
    figures = run(trials=args.trials)
    return print_figures(figures, examples=5)


if __name__ == "__main__":
    sys.exit(main())
