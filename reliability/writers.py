"""Concurrent writers: 4 processes × 500 writes at once; nothing lost, no error shown.

Each writer process records lab results for its own patients through the
record's public write function (:func:`chemo.records.add_lab`: one
``BEGIN IMMEDIATE`` transaction with its audit row), opening the database
afresh for every write the way each ``chemo`` command does.  A writer prints
the id of every write that returned; any error it would have shown a user is
counted.  Afterwards every acknowledged row must be there with its value, the
row count must be exact, the audit chain must verify and SQLite's own checks
must pass.  A slice also runs through the command line (``chemo labs add``).

Administrations at once: the same writers then record the days of cycle 1
(doxorubicin + ifosfamide, days 1-3) of the same patients, every writer every
day of every patient, in order (:func:`chemo.treatment.administer` with
``--day``).  Each day must be recorded exactly once, by the writer that was
told so; every other writer gets a refusal ("was recorded at ..."), never an
error; and every day of every patient is there, in full.

    python -m reliability.writers [--writers 4] [--writes 500]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .common import print_figures, ROOT, Figure, Missing, at_least, chemo_env, clear_error, exactly, require, require_command, run_chemo

ACTOR = "writer-admin"


def setup(db: Path, writers: int) -> None:
    from chemo import records, roles
    from chemo.db import open_store
    from chemo.demo import approve_regimens

    with open_store(db) as store:
        roles.add_user(store, ACTOR, ACTOR, "pharmacist")
        roles.add_user(store, ACTOR, ACTOR + "-2", "pharmacist")
        approve_regimens(store, (ADMIN_REGIMEN,), (ACTOR, ACTOR + "-2"))  # a plan starts on an approved regimen
        for w in range(writers):
            roles.add_user(store, ACTOR, f"nurse-{w}", "nurse")
            records.add_patient(store, ACTOR, mrn=f"W{w}", name=f"Writer patient {w}", sex="female",
                                born="1970-01-01", height="170 cm", weight="70 kg")


def child(db: str, writer: int, writes: int, go: str | None = None) -> int:
    """One writer: ``writes`` lab results, one transaction each; prints ``ACK id value`` or ``ERR message``."""
    from chemo import records
    from chemo.errors import ChemoError
    from chemo.db import open_store

    print("READY", flush=True)
    go = Path(go or db + ".go")
    while not go.exists():  # every writer starts at the same moment
        time.sleep(0.002)
    for i in range(writes):
        value = f"{100 + (writer * writes + i) % 300} 10^9/L"
        try:
            with open_store(db) as store:
                row = records.add_lab(store, f"nurse-{writer}", f"W{writer}", "platelets", value)
            print(f"ACK {row['id']} {writer} {i} {value}", flush=True)
        except ChemoError as exc:  # what a user would see
            print(f"ERR {exc}", flush=True)
    return 0


ADMIN_REGIMEN = "doxorubicin-ifosfamide"  # doxorubicin, ifosfamide and mesna on days 1-3
ADMIN_DAYS = (1, 2, 3)


def setup_administrations(db: Path, writers: int, patients: int) -> None:
    """``patients`` patients with passing labs and cycle 1 signed off by a pharmacist and a nurse."""
    from chemo import treatment
    from chemo.demo import add_ready_patient
    from chemo.db import open_store

    from chemo.db import now_local
    from chemo.records import add_measurement

    # day 1 two days ago, so that days 1-3 each fall on their own calendar day, the last today (the calendar)
    base = now_local() - datetime.timedelta(days=2)
    Path(str(db) + ".admin-base").write_text(base.isoformat())
    with open_store(db) as store:
        for p in range(patients):
            mrn = f"AD{p}"
            add_ready_patient(store, mrn, ADMIN_REGIMEN, prescriber=ACTOR, nurse="nurse-0",
                              at=base - datetime.timedelta(hours=1))
            add_measurement(store, ACTOR, mrn, weight="70 kg", height="170 cm",
                            on=base.date().isoformat())  # the BSA of day 1
            treatment.signoff(store, ACTOR, mrn, 1, "dose")
            treatment.signoff(store, "nurse-0", mrn, 1, "readiness")


def child_administrations(db: str, writer: int, patients: int) -> int:
    """One writer: every day of cycle 1 of every patient, in order; ``ACK mrn day``, ``REFUSED mrn day`` (another
    writer was first) or ``ERR message``."""
    from chemo import treatment
    from chemo.errors import ChemoError
    from chemo.db import Refusal, open_store

    print("READY", flush=True)
    go = Path(db + ".go-admin")
    while not go.exists():
        time.sleep(0.002)
    base = datetime.datetime.fromisoformat(Path(db + ".admin-base").read_text())
    order = list(range(patients))
    order = order[writer % patients:] + order[:writer % patients]  # writers start on different patients
    for p in order:
        for day in ADMIN_DAYS:
            try:
                with open_store(db) as store:
                    treatment.administer(store, f"nurse-{writer}", f"AD{p}", 1, day,
                                         at=(base + datetime.timedelta(days=day - 1)).isoformat())
                print(f"ACK AD{p} {day}", flush=True)
            except Refusal as exc:
                print(f"REFUSED AD{p} {day} {exc}", flush=True)
            except ChemoError as exc:
                print(f"ERR {exc}", flush=True)
    return 0


def run_administrations(db: Path, writers: int, patients: int) -> dict:
    procs = [subprocess.Popen([sys.executable, "-m", "reliability.writers", "--child-admin", str(db), str(w),
                               str(patients)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for w in range(writers)]
    for p in procs:
        p.stdout.readline()
    Path(str(db) + ".go-admin").touch()
    outs = [p.communicate(timeout=900) for p in procs]
    acks, refused, errors, crashes = [], [], [], []
    for w, (p, (out, err)) in enumerate(zip(procs, outs)):
        for line in out.splitlines():
            if line.startswith("ACK "):
                _, mrn, day = line.split(" ")
                acks.append((mrn, int(day), f"nurse-{w}"))
            elif line.startswith("REFUSED "):
                refused.append(line[8:])
            elif line.startswith("ERR "):
                errors.append(line[4:])
        if p.returncode != 0 or "Traceback" in err:
            crashes.append(f"exit {p.returncode}: {err.strip()[-300:]}")
    return {"acks": acks, "refused": refused, "errors": errors, "crashes": crashes}


def check_administrations(db: Path, acks, patients: int) -> dict:
    """Days recorded twice, acknowledged days missing or recorded by another writer, and days incomplete."""
    from chemo.regimen import load_regimen
    from chemo.db import open_store

    regimen = load_regimen(ADMIN_REGIMEN)
    want = {day: {line.drug for line in regimen.drugs if day in line.days}
            | {x.drug for x in regimen.derived if day in x.days} for day in ADMIN_DAYS}
    with open_store(db, create=False) as store:
        rows = store.query("SELECT x.mrn, a.day, a.drug, a.given_by FROM administrations a JOIN plans p ON "
                           "p.id = a.plan_id JOIN patients x ON x.id = p.patient_id WHERE x.mrn LIKE 'AD%'")
    by_day: dict = {}
    for r in rows:
        by_day.setdefault((r["mrn"], r["day"]), []).append(r)
    twice = [k for k, v in by_day.items() if len(v) != len({r["drug"] for r in v})]
    incomplete = [f"{mrn} day {day}" for mrn, day in ((f"AD{p}", d) for p in range(patients) for d in ADMIN_DAYS)
                  if {r["drug"] for r in by_day.get((mrn, day), [])} != want[day]]
    wrong = [a for a in acks if {r["given_by"] for r in by_day.get((a[0], a[1]), [])} != {a[2]}]
    return {"twice": twice, "incomplete": incomplete, "wrong": wrong}


def run_api(db, writers: int, writes: int, go: Path | None = None) -> dict:
    """``db``: a file, or a PostgreSQL URL with ``go`` the file that starts the writers at once."""
    go = go or Path(str(db) + ".go")
    procs = [subprocess.Popen([sys.executable, "-m", "reliability.writers", "--child", str(db), str(w), str(writes),
                               str(go)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for w in range(writers)]
    for p in procs:  # all imported and waiting
        p.stdout.readline()
    go.touch()
    started = time.perf_counter()
    outs = [p.communicate(timeout=900) for p in procs]
    seconds = time.perf_counter() - started
    acks, errors, crashes = [], [], []
    for p, (out, err) in zip(procs, outs):
        for line in out.splitlines():
            if line.startswith("ACK "):
                _, rid, w, i, value = line.split(" ", 4)
                acks.append((int(rid), int(w), int(i), value))
            elif line.startswith("ERR "):
                errors.append(line[4:])
        if p.returncode != 0 or "Traceback" in err:
            crashes.append(f"exit {p.returncode}: {err.strip()[-300:]}")
    return {"acks": acks, "errors": errors, "crashes": crashes, "seconds": seconds}


def check_db(db: Path, acks, writers: int) -> dict:
    from chemo import audit
    from chemo.db import check_integrity, open_store

    with open_store(db, create=False) as store:
        rows = {r["id"]: r for r in store.query(
            "SELECT l.id, l.value_text, p.mrn FROM labs l JOIN patients p ON p.id = l.patient_id")}
        lost = [a for a in acks if a[0] not in rows or rows[a[0]]["value_text"] != a[3]
                or rows[a[0]]["mrn"] != f"W{a[1]}"]
        n_audit, audit_problems = audit.verify(store)
        return {"lost": lost, "rows": len(rows), "integrity": check_integrity(store), "audit": audit_problems,
                "audit_rows": n_audit}


def run_cli(db: Path, writers: int, writes: int) -> dict:
    """The same through ``chemo labs add``: every process one write, ``writers`` at a time."""
    env = chemo_env(CHEMO_DB=db)

    def one(job):
        w, i = job
        result = run_chemo(["labs", "add", f"W{w}", "platelets", f"{150 + i} 10^9/L", "--user", f"nurse-{w}"],
                           env=env)
        ok = result.returncode == 0
        return ok, "" if ok else (clear_error(result)[1] or result.stderr.strip()[-200:])

    jobs = [(w, i) for i in range(writes) for w in range(writers)]
    with ThreadPoolExecutor(max_workers=writers) as pool:
        results = list(pool.map(one, jobs))
    return {"ok": sum(ok for ok, _ in results), "errors": [e for ok, e in results if not ok], "total": len(jobs)}


def run(quick: bool = False, writers: int = 4, writes: int | None = None) -> list[Figure]:
    require("chemo.db", "chemo.records", "chemo.audit", "chemo.roles")
    writers, writes = (2, 50) if quick else (writers, writes or 500)
    figures = []
    with tempfile.TemporaryDirectory(prefix="chemo-writers-") as tmp:
        db = Path(tmp) / "writers.db"
        setup(db, writers)
        result = run_api(db, writers, writes)
        state = check_db(db, result["acks"], writers)
        total = writers * writes
        label = f"{writers} writers × {writes}"
        figures += [
            exactly(f"concurrent writes acknowledged ({label})", len(result["acks"]), total,
                    detail=f"{result['seconds']:.1f} s, {total / result['seconds']:.0f} writes/s"),
            exactly(f"acknowledged writes lost ({label})", len(state["lost"]), 0,
                    examples=[str(x) for x in state["lost"][:5]]),
            exactly(f"errors shown to the user ({label})", len(result["errors"]) + len(result["crashes"]), 0,
                    examples=(result["errors"] + result["crashes"])[:5]),
            exactly("rows after the writers (labs)", state["rows"], total),
            exactly("integrity_check / foreign_key_check problems after the writers",
                    len(state["integrity"]) + len(state["audit"]), 0, examples=(state["integrity"] + state["audit"])[:5]),
        ]
        patients = 3 if quick else 10
        admin_db = Path(tmp) / "administrations.db"  # its own file: the lab counts above stay exact
        setup(admin_db, writers)
        setup_administrations(admin_db, writers, patients)
        admin = run_administrations(admin_db, writers, patients)
        state = check_administrations(admin_db, admin["acks"], patients)
        after = check_db(admin_db, [], writers)
        days = patients * len(ADMIN_DAYS)
        alabel = f"{writers} writers × {patients} patients × {len(ADMIN_DAYS)} days"
        figures += [
            exactly(f"concurrent administrations recorded, each day once ({alabel})", len(admin["acks"]), days,
                    detail=f"{len(admin['refused'])} refused as already recorded"),
            exactly("administered days recorded twice, incomplete, or by another writer than the one told so",
                    len(state["twice"]) + len(state["incomplete"]) + len(state["wrong"]), 0,
                    examples=[str(x) for x in (state["twice"] + state["incomplete"] + state["wrong"])[:5]]),
            exactly(f"errors shown to the user while administering ({alabel})",
                    len(admin["errors"]) + len(admin["crashes"]), 0, examples=(admin["errors"] + admin["crashes"])[:5]),
            exactly("refusals other than 'already recorded' while administering",
                    len([r for r in admin["refused"] if "was recorded at" not in r]), 0,
                    examples=[r for r in admin["refused"] if "was recorded at" not in r][:5]),
            exactly("integrity_check / audit problems after the administrations",
                    len(after["integrity"]) + len(after["audit"]), 0, examples=(after["integrity"] + after["audit"])[:5]),
        ]
        try:
            require_command("labs")
        except Missing as exc:
            figures.append(Figure("concurrent `chemo labs add`: errors shown", None, "== 0", False, not_run=exc.what))
            return figures
        cli_writes = 3 if quick else 25
        cli = run_cli(db, writers, cli_writes)
        after = check_db(db, [], writers)
        figures += [
            exactly(f"concurrent `chemo labs add` ({writers} × {cli_writes} processes): errors shown",
                    len(cli["errors"]), 0, examples=cli["errors"][:5]),
            exactly("rows after the command-line writers", after["rows"], total + cli["ok"]),
        ]
    return figures


def main(argv=None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--child":
        return child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] if len(sys.argv) > 5 else None)
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--child-admin":
        return child_administrations(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--writes", type=int, default=500)
    args = parser.parse_args(argv)
    figures = run(writers=args.writers, writes=args.writes)
    return print_figures(figures, examples=5)


if __name__ == "__main__":
    sys.exit(main())
