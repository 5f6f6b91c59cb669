"""The fault suite: every part, every figure with its threshold, PASS or FAIL.

    python -m reliability.run            # the full run (make reliability)
    python -m reliability.run --quick    # a small slice (the CI test runs this)
    python -m reliability.run --only kill9,tamper [--json FILE]

Exit status: 0 when every figure holds; 1 when any falls short.  In the full
run a part whose code has not landed (``NOT RUN: <module> missing``) is a
shortfall too; in the quick slice it is reported and not counted.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from pathlib import Path

if __package__ in (None, ""):  # run as a file: python reliability/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "reliability"

from reliability.common import Figure, Missing  # noqa: E402

PARTS = (
    ("kill9", "kill -9 while recording administrations"),
    ("writers", "concurrent writers"),
    ("malformed_regimens", "malformed regimen files"),
    ("malformed_inputs", "malformed order and lab inputs through the CLI"),
    ("malformed_labs", "malformed FHIR and HL7 v2 lab messages through chemo labs import"),
    ("malformed_prescriptions", "malformed prescriptions through chemo prescribe"),
    ("mllp_kill9", "kill -9 of chemo labs listen while senders stream HL7 v2 over MLLP"),
    ("injection", "SQL injection through every text field"),
    ("tamper", "audit tampering"),
    ("properties", "property tests"),
    ("postgres", "the record on PostgreSQL: writers, signers, a server restart"),
    ("least_privilege", "psql as a workstation role against a least-privilege PostgreSQL record"),
    ("failover", "a synchronous standby promoted while 4 writers run (PostgreSQL pair on this machine)"),
)


def run_part(name: str, quick: bool) -> list[Figure]:
    try:
        module = importlib.import_module(f"reliability.{name}")
        return module.run(quick=quick)
    except Missing as exc:
        return [Figure(name, None, "-", False, not_run=exc.what)]
    except ModuleNotFoundError as exc:
        return [Figure(name, None, "-", False, not_run=f"{exc.name} missing")]
    except Exception:  # a bug in the suite or the code under test: a failed figure, never a crashed run
        tail = traceback.format_exc().strip().splitlines()
        return [Figure(f"{name}: the part ran to the end", 0, "== 1", False,
                       detail=tail[-1][:300], examples=tail[-6:])]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small slice of every part (CI)")
    parser.add_argument("--only", help="comma-separated parts: " + ", ".join(n for n, _ in PARTS))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    chosen = [p for p in PARTS if not args.only or p[0] in args.only.split(",")]
    unknown = set(args.only.split(",")) - {n for n, _ in PARTS} if args.only else set()
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")

    print(f"chemo fault suite ({'quick slice' if args.quick else 'full run'})", flush=True)
    started = time.perf_counter()
    report = []
    for name, title in chosen:
        t0 = time.perf_counter()
        figures = run_part(name, args.quick)
        seconds = time.perf_counter() - t0
        print(f"\n== {title} ({name}, {seconds:.1f} s)", flush=True)
        for f in figures:
            if f.not_run:
                print(f"  NOT RUN  {f.name}: {f.not_run}")
                continue
            print(f"  {f.status:7}  {f.name}: {f.shown_value()}  (threshold {f.threshold})"
                  + (f"  [{f.detail}]" if f.detail else ""))
            if not f.passed:
                for example in f.examples[:8]:
                    print(f"             - {example}")
        report.append({"part": name, "title": title, "seconds": round(seconds, 2),
                       "figures": [f.as_json() for f in figures]})

    figures = [f for part in report for f in part["figures"]]
    failed = [f for f in figures if f["status"] == "FAIL"]
    not_run = [f for f in figures if f["status"] == "NOT RUN"]
    passed = [f for f in figures if f["status"] == "PASS"]
    shortfalls = len(failed) + (0 if args.quick else len(not_run))
    print(f"\n{len(passed)} passed, {len(failed)} failed, {len(not_run)} not run "
          f"({'not counted in the quick slice' if args.quick and not_run else 'counted' if not_run else 'none'}); "
          f"{time.perf_counter() - started:.0f} s")
    print("RESULT: " + ("PASS" if not shortfalls else f"FAIL ({shortfalls} figure{'s' * (shortfalls != 1)} short)"))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"quick": args.quick, "parts": report, "shortfalls": shortfalls}, indent=2,
                                        ensure_ascii=False) + "\n", encoding="utf-8")
    return 1 if shortfalls else 0


if __name__ == "__main__":
    sys.exit(main())
