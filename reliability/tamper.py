"""Audit tampering: a changed byte, a deleted row, two rows swapped; every one detected.

A database with a few hundred audit rows is built through the record's own
write functions.  Each trial then edits the ``audit`` table the way someone
with a SQLite tool would, runs the chain check (:func:`chemo.audit.verify`, the
function behind ``chemo audit verify``) on the edited file and undoes the edit
(the edit and the check run inside one transaction that is rolled back).  A
sample of trials is also written to a copy of the file and checked with the
command, ``chemo audit verify``, which must exit non-zero.

    python -m reliability.tamper [--trials 300]  (per kind of edit)
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

from .common import print_figures, Figure, Missing, chemo_env, exactly, percent, require, run_chemo

COLUMNS = ("at", "login", "action", "entity", "entity_key", "old", "new", "prev_hash", "hash")


def build(path: Path, rows: int) -> int:
    """A database whose audit chain has at least ``rows`` rows; returns the count."""
    require("chemo.db", "chemo.audit", "chemo.roles")
    from chemo import audit, roles
    from chemo.db import open_store

    with open_store(path) as store:
        n = store.one("SELECT count(*) AS n FROM audit")["n"]
        i = 0
        while n < rows:
            roles.add_user(store, "pharm-0", f"user-{i}" if i else "pharm-0",
                           ("pharmacist", "nurse", "prescriber")[i % 3] if i else "pharmacist")
            i += 1
            n += 1
        count, problems = audit.verify(store)
        if problems:
            raise RuntimeError(f"the untouched chain does not verify: {problems[:3]}")
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return count


def _flip(text: str, rng: random.Random) -> str:
    i = rng.randrange(len(text))
    old = text[i]
    pool = "0123456789abcdef" if old in "0123456789abcdef" else "abcdefghijklmnopqrstuvwxyz0123456789"
    new = rng.choice([c for c in pool if c != old])
    return text[:i] + new + text[i + 1:]


def tamper(conn: sqlite3.Connection, kind: str, rng: random.Random, ids: list[int]) -> str:
    """Edit the audit table in place; returns what was done."""
    if kind == "changed byte":
        while True:
            row_id = rng.choice(ids)
            column = rng.choice(COLUMNS)
            value = conn.execute(f"SELECT {column} FROM audit WHERE id = ?", (row_id,)).fetchone()[0]
            if value:
                break
        conn.execute(f"UPDATE audit SET {column} = ? WHERE id = ?", (_flip(str(value), rng), row_id))
        return f"row {row_id}.{column}: one character changed"
    if kind == "deleted row":
        row_id = rng.choice(ids + [ids[-1]] * max(1, len(ids) // 20))  # the last row, too, now and then
        conn.execute("DELETE FROM audit WHERE id = ?", (row_id,))
        return f"row {row_id} deleted"
    a, b = rng.sample(ids, 2) if rng.random() < 0.5 else (lambda i: (ids[i], ids[i + 1]))(rng.randrange(len(ids) - 1))
    cols = ", ".join(COLUMNS)
    ra = conn.execute(f"SELECT {cols} FROM audit WHERE id = ?", (a,)).fetchone()
    rb = conn.execute(f"SELECT {cols} FROM audit WHERE id = ?", (b,)).fetchone()
    sets = ", ".join(f"{c} = ?" for c in COLUMNS)
    conn.execute(f"UPDATE audit SET {sets} WHERE id = ?", (*rb, a))
    conn.execute(f"UPDATE audit SET {sets} WHERE id = ?", (*ra, b))
    return f"rows {a} and {b} swapped"


KINDS = ("changed byte", "deleted row", "two rows swapped")


def run(quick: bool = False, trials: int | None = None) -> list[Figure]:
    require("chemo.db", "chemo.audit", "chemo.roles")
    from chemo import audit
    from chemo.db.sqlite import SQLiteStore

    trials = trials or (30 if quick else 300)
    rng = random.Random(4)
    figures = []
    examples = []
    with tempfile.TemporaryDirectory(prefix="chemo-tamper-") as tmp:
        path = Path(tmp) / "chain.db"
        rows = build(path, 60 if quick else 300)
        conn = sqlite3.connect(str(path), isolation_level=None)
        store = SQLiteStore(conn, path)
        ids = [r[0] for r in conn.execute("SELECT id FROM audit ORDER BY id")]
        cli_cases = []
        for kind in KINDS:
            detected = 0
            for t in range(trials):
                conn.execute("BEGIN")
                what = tamper(conn, kind, rng, ids)
                _, problems = audit.verify(store)
                conn.execute("ROLLBACK")
                if problems:
                    detected += 1
                else:
                    examples.append(f"{kind}: {what}: not detected")
                if t < (2 if quick else 10):
                    cli_cases.append(kind)
            figures.append(percent(f"audit tampering detected: {kind}", detected, trials,
                                   detail=f"chain of {rows} rows", examples=[e for e in examples if e.startswith(kind)]))
        _, clean = audit.verify(store)
        conn.close()
        figures.append(exactly("problems found in the untouched chain (false alarms)", len(clean), 0, examples=clean))
        figures += _cli(path, cli_cases, rng)
    return figures


def _cli(path: Path, kinds: list[str], rng: random.Random) -> list[Figure]:
    """The same edits on copies of the file, checked with ``chemo audit verify``."""
    try:
        from .common import require_command

        require_command("audit")
    except Missing as exc:
        return [Figure("`chemo audit verify` detects tampered copies", None, "== 100 %", False,
                       not_run=exc.what)]
    clean = run_chemo(["audit", "verify", "--db", path], env=chemo_env())
    detected, examples = 0, []
    for n, kind in enumerate(kinds):
        copy = path.with_name(f"copy-{n}.db")
        shutil.copyfile(path, copy)
        conn = sqlite3.connect(str(copy), isolation_level=None)
        ids = [r[0] for r in conn.execute("SELECT id FROM audit ORDER BY id")]
        what = tamper(conn, kind, rng, ids)
        conn.close()
        result = run_chemo(["audit", "verify", "--db", copy], env=chemo_env())
        if result.returncode != 0 and "Traceback" not in result.stderr:
            detected += 1
        else:
            examples.append(f"{kind}: {what}: exit {result.returncode} {result.stderr.strip()[-160:]}")
        copy.unlink()
    return [
        Figure("`chemo audit verify` on the untouched file exits 0", clean.returncode, "== 0", clean.returncode == 0,
               detail=(clean.stdout.strip().splitlines() or [""])[-1][:100] + clean.stderr.strip()[-200:]),
        percent("`chemo audit verify` detects tampered copies", detected, len(kinds), examples=examples),
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=300)
    args = parser.parse_args(argv)
    figures = run(trials=args.trials)
    return print_figures(figures, examples=10)


if __name__ == "__main__":
    sys.exit(main())
