"""Concurrent writers: 4 processes × 500 writes at once; nothing lost, no error shown.

Each writer process records lab results for its own patients through the
record's public write function (:func:`chemo.records.add_lab`: one
``BEGIN IMMEDIATE`` transaction with its audit row), opening the database
afresh for every write the way each ``chemo`` command does.  A writer prints
the id of every write that returned; any error it would have shown a user is
counted.  Afterwards every acknowledged row must be there with its value, the
row count must be exact, the audit chain must verify and SQLite's own checks
must pass.  A slice also runs through the command line (``chemo labs add``).

    python -m reliability.writers [--writers 4] [--writes 500]
"""

from __future__ import annotations

import argparse
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
    from chemo.store import open_store

    with open_store(db) as store:
        roles.add_user(store, ACTOR, ACTOR, "pharmacist")
        for w in range(writers):
            roles.add_user(store, ACTOR, f"nurse-{w}", "nurse")
            records.add_patient(store, ACTOR, mrn=f"W{w}", name=f"Writer patient {w}", sex="female",
                                born="1970-01-01", height="170 cm", weight="70 kg")


def child(db: str, writer: int, writes: int, go: str | None = None) -> int:
    """One writer: ``writes`` lab results, one transaction each; prints ``ACK id value`` or ``ERR message``."""
    from chemo import records
    from chemo.errors import ChemoError
    from chemo.store import open_store

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
    from chemo.store import check_integrity, open_store

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
    require("chemo.store", "chemo.records", "chemo.audit", "chemo.roles")
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--writes", type=int, default=500)
    args = parser.parse_args(argv)
    figures = run(writers=args.writers, writes=args.writes)
    return print_figures(figures, examples=5)


if __name__ == "__main__":
    sys.exit(main())
