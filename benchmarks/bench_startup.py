"""CLI start-up against the libraries the project chose (issue 17): `chemo --help` against
`python -c "import click"` (click draws the help), `chemo dose` (and, without a goal, `chemo bsa`)
against `python -c "import pint, click, attrs"` (a command that computes with units, parses its
options with click and keeps its values in attrs classes cannot start faster than those import).

Each command runs in its own subprocess; its wall time is measured around the
process and its peak memory is that process's own ``ru_maxrss`` (from
``os.wait4``, so one child's figure never leaks into another's).  Its CPU time
(user + system, from the same ``os.wait4``) is reported beside the wall time:
on a shared machine it moves far less with the other processes' load.  Runs of the
project commands and of the baseline are interleaved, so drift in the machine
hits both alike; the figure is the median.

    python benchmarks/bench_startup.py [--runs 15] [--json]

Also the home of :func:`run_measured` and :func:`median`, which the other
benchmarks of this folder and ``reliability/`` use.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import attrs

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@attrs.frozen
class Measured:
    """One finished subprocess: seconds, peak RSS (MiB), exit code, output and CPU seconds."""

    seconds: float
    rss_mb: float
    returncode: int
    stdout: str
    stderr: str
    cpu_seconds: float | None = None


def chemo_exe() -> str:
    """The ``chemo`` console script of the interpreter running this (the project venv)."""
    exe = BIN / "chemo"
    return str(exe) if exe.exists() else "chemo"


def run_measured(cmd, *, cwd=None, env=None, input_bytes: bytes | None = None, timeout: float = 600) -> Measured:
    """Run ``cmd`` once; wall time around the process and its own peak RSS."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as inp:
        if input_bytes is not None:
            inp.write(input_bytes)
            inp.seek(0)
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd or ROOT, env=env, stdin=inp, stdout=out, stderr=err)
        timer = threading.Timer(timeout, proc.kill)  # a hung command is killed, not waited for forever
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(seconds, usage.ru_maxrss / 1024, proc.returncode,
                        out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"),
                        usage.ru_utime + usage.ru_stime)


def median(values):
    return statistics.median(values) if values else None


def percentile(values, q: float):
    """The q-th percentile (0-100), nearest-rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def compare(commands: dict, baseline: list, runs: int, check: bool = True) -> dict:
    """Interleaved runs of each command and of the baseline: medians and peak RSS.

    Returns ``{name: {"seconds": [...], "cpu_seconds": [...], "rss_mb": [...], "error": str|None}}``
    with the baseline under ``"baseline"``.
    """
    everything = {"baseline": baseline, **commands}
    results = {name: {"seconds": [], "cpu_seconds": [], "rss_mb": [], "error": None} for name in everything}
    for _ in range(runs):
        for name, cmd in everything.items():
            if results[name]["error"]:
                continue
            m = run_measured(cmd)
            if check and m.returncode != 0:
                last = (m.stderr.strip().splitlines() or ["no output"])[-1]
                results[name]["error"] = f"exit {m.returncode}: {last[:160]}"
                continue
            results[name]["seconds"].append(m.seconds)
            results[name]["cpu_seconds"].append(m.cpu_seconds)
            results[name]["rss_mb"].append(m.rss_mb)
    return results


CLICK_BASELINE = "import click"
COMMAND_BASELINE = "import pint, click, attrs"


def figures(runs: int = 15) -> list[dict]:
    chemo = chemo_exe()
    commands = {
        "chemo --help": [chemo, "--help"],
        "chemo bsa": [chemo, "bsa", "--height", "170 cm", "--weight", "75 kg"],
        "chemo dose": [chemo, "dose", "doxorubicin-ifosfamide", "--height", "170 cm", "--weight", "75 kg"],
        COMMAND_BASELINE: [sys.executable, "-c", COMMAND_BASELINE],
    }
    baselines = {"chemo --help": ("baseline", f'python -c "{CLICK_BASELINE}"'),
                 "chemo bsa": (COMMAND_BASELINE, f'python -c "{COMMAND_BASELINE}"'),
                 "chemo dose": (COMMAND_BASELINE, f'python -c "{COMMAND_BASELINE}"')}
    results = compare(commands, [sys.executable, "-c", CLICK_BASELINE], runs)
    rows = []
    for name, (base_name, label) in baselines.items():
        r, base = results[name], results[base_name]
        row = {"figure": f"start-up: {name}", "unit": "ms", "baseline_label": label, "runs": runs}
        if r["error"] or not r["seconds"] or base["error"]:
            row.update(status="not available", note=r["error"] or base["error"] or "no runs")
        else:
            value, base_ms = median(r["seconds"]) * 1000, median(base["seconds"]) * 1000
            cpu, base_cpu = median(r["cpu_seconds"]) * 1000, median(base["cpu_seconds"]) * 1000
            row.update(status="ok", value=value, baseline=base_ms, ratio=value / base_ms,
                       cpu_ms=cpu, baseline_cpu_ms=base_cpu, cpu_ratio=cpu / base_cpu,
                       peak_rss_mb=max(r["rss_mb"]), baseline_rss_mb=max(base["rss_mb"]))
        rows.append(row)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = figures(args.runs)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            if row["status"] == "ok":
                print(f"{row['figure']}: {row['value']:.1f} ms ({row['baseline_label']} {row['baseline']:.1f} ms, "
                      f"×{row['ratio']:.2f}); CPU {row['cpu_ms']:.1f} ms against {row['baseline_cpu_ms']:.1f} ms "
                      f"(×{row['cpu_ratio']:.2f}); peak RSS {row['peak_rss_mb']:.1f} MiB")
            else:
                print(f"{row['figure']}: not available ({row['note']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
