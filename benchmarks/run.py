"""`make bench`: every benchmark, one table, the same as JSON.

    python benchmarks/run.py            # full size (make bench)
    python benchmarks/run.py --quick    # small sizes, a minute or two (make bench QUICK=1)
    python benchmarks/run.py --patients 100000 --only startup,validate

Each figure is measured in the same run as its baseline and printed as
``figure | this project | baseline | ratio | peak RSS``; the ratio is project /
baseline (lower is better, 1.0 is the baseline).  Peak RSS is the measured
process's own maximum resident set (``os.wait4``), each command or benchmark
running in its own process.  The other benchmarks of this folder are reused,
not re-implemented: ``bench_verify.py`` (order verification; its orders also
drive ``bench_dose.py``, and its plain-float ``Reference`` checks both results, a
cross-check without a goal), ``bench_store.py`` (the 100,000-patient database) and
``bench_tui.py`` (TUI launch) and ``bench_sessions.py`` (an open-loop clinic
day at 1×, 10× and 100×, and the 8-writer saturation, on SQLite and on PostgreSQL side by side).  A benchmark that is missing or fails is a row
that says "not available", never a failed run.

Prints the machine (CPU model, cores, Python, pint and textual versions, load average)
above the table, and each figure's goal (issue 17, restated against floors that include the
project's own libraries) beside it: start-up and the TUI as ratios to their floor, dose calculation
and order verification as µs per cycle / per order.  Writes
``benchmarks/results/bench-<date>.json`` and, for a full run of every benchmark at full
size, ``benchmarks/results/latest.json``; both are kept in git (a quick or partial run
writes ``bench-<date>-quick.json`` or ``bench-<date>-partial.json`` only, which git ignores
like the per-benchmark files).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_startup import ROOT, median, run_measured  # noqa: E402

RESULTS = HERE / "results"
PY = sys.executable


def na(figure: str, note: str, **extra) -> dict:
    return {"figure": figure, "status": "not available", "note": note, **extra}


def _tail(text: str, n: int = 1) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return " / ".join(lines[-n:])[:200] if lines else "no output"


# ------------------------------------------------------------------ our own benchmarks

def startup(args) -> list[dict]:
    import bench_startup

    return bench_startup.figures(runs=5 if args.quick else 15)


def validate(args) -> list[dict]:
    import bench_validate

    return bench_validate.figures(files=1000, runs=2 if args.quick else 5)


def _per_item_row(figure: str, per_item_us: float, total_ms, peak_rss_mb, what: str, reference_us=None,
                  disagreements=None, **extra) -> dict:
    """A throughput figure as µs per cycle / order (its goal is absolute, issue 17).  The plain-float
    reference, when the script measured one, is a correctness cross-check in the note: no goal."""
    notes = []
    if reference_us is not None:
        notes.append(f"plain-float reference {reference_us:.1f} µs per {what}, a cross-check")
    if disagreements:
        notes.append(f"{disagreements} {what}s DISAGREE with the reference")
    elif disagreements == 0 and reference_us is not None:
        notes.append("0 disagreements")
    row = {"figure": figure, "status": "ok", "unit": "ms", "value": per_item_us / 1000, "baseline": None,
           "ratio": None, "peak_rss_mb": peak_rss_mb, f"per_{what}_us": per_item_us, "total_ms": total_ms,
           f"reference_per_{what}_us": reference_us, "disagreements": disagreements, **extra}
    if notes:
        row["note"] = "; ".join(notes)
    return row


def dose(args) -> list[dict]:
    script = HERE / "bench_dose.py"
    cycles = 2000 if args.quick else 10_000
    figure = f"dose calculation, {cycles:,} cycles: per cycle"
    if not script.exists():
        return [na(figure, "benchmarks/bench_dose.py missing")]
    m = run_measured([PY, str(script), "--json", "--cycles", str(cycles)], timeout=900)
    if m.returncode != 0:
        return [na(figure, _tail(m.stderr))]
    r = json.loads(m.stdout.strip().splitlines()[-1])[0]
    total_ms = r.get("value")
    per_cycle = r.get("per_cycle_us") or (total_ms * 1000 / cycles if total_ms is not None else None)
    if per_cycle is None:
        return [na(figure, "no time in bench_dose.py's output", peak_rss_mb=m.rss_mb)]
    extra = {k: r[k] for k in ("cpu_ms", "repeat", "cycles_per_s") if k in r}
    return [_per_item_row(figure, per_cycle, total_ms, m.rss_mb, "cycle", r.get("baseline_per_cycle_us"),
                          r.get("disagreements"), source="bench_dose.py", **extra)]


# ------------------------------------------------------------------ the other engineers' benchmarks

def verify(args) -> list[dict]:
    script = HERE / "bench_verify.py"
    orders = 2000 if args.quick else 10_000
    figure = f"order verification, {orders:,} orders: per order"
    if not script.exists():
        return [na(figure, "benchmarks/bench_verify.py missing")]
    result_file = RESULTS / "verify.json"
    started = time.time()
    m = run_measured([PY, str(script), "--orders", str(orders)], timeout=1800)
    if m.returncode != 0:
        return [na(figure, f"bench_verify.py exit {m.returncode}: {_tail(m.stderr)}")]
    data = None
    if result_file.exists() and result_file.stat().st_mtime >= started - 1:
        data = json.loads(result_file.read_text())
    if not data or "this_project_s" not in data:
        return [na(figure, "bench_verify.py wrote no results/verify.json", peak_rss_mb=m.rss_mb)]
    per_order = (data.get("per_order_us") or {}).get("this_project") or data["this_project_s"] * 1e6 / orders
    reference = (data.get("per_order_us") or {}).get("baseline")
    return [_per_item_row(figure, per_order, data["this_project_s"] * 1000, m.rss_mb, "order", reference,
                          data.get("disagreements"), source="bench_verify.py → results/verify.json")]


def _help(script: Path) -> str:
    m = run_measured([PY, str(script), "--help"], timeout=120)
    return m.stdout + m.stderr


def _size_option(help_text: str) -> str | None:
    for option in ("--patients", "--size", "--n", "-n"):
        if re.search(rf"(?<![\w-]){re.escape(option)}\b", help_text):
            return option
    return None


def _numbers(data, prefix="") -> dict:
    """Every number in a JSON document, by dotted key."""
    out = {}
    if isinstance(data, dict):
        for k, v in data.items():
            out.update(_numbers(v, f"{prefix}{k}."))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out.update(_numbers(v, f"{prefix}{i}."))
    elif isinstance(data, (int, float)) and not isinstance(data, bool):
        out[prefix.rstrip(".")] = float(data)
    return out


def _fresh_json(started: float, *words) -> dict | None:
    found = [p for p in RESULTS.glob("*.json") if p.stat().st_mtime >= started - 1
             and any(w in p.name for w in words) and not p.name.startswith(("bench-", "latest"))]
    return json.loads(found[0].read_text()) if found else None


def _pick(numbers: dict, *patterns) -> tuple[str, float] | None:
    """The first number whose key matches every regex of one pattern (a tuple of regexes)."""
    for pattern in patterns:
        for key, value in numbers.items():
            if all(re.search(p, key, re.IGNORECASE) for p in pattern):
                return key, value
    return None


def _ms(key: str, value: float) -> float:
    """A time in ms from a key that names its unit (``_s``, ``_ms``, ``_us``)."""
    k = key.lower()
    if re.search(r"(_|\b)(us|µs|micro)", k):
        return value / 1000
    if re.search(r"(_|\b)ms\b|_ms|millis", k):
        return value
    if re.search(r"(_|\b)s\b|_s$|_s\.|seconds|_sec", k):
        return value * 1000
    return value  # unknown: taken as ms


def store(args) -> list[dict]:
    script = HERE / "bench_store.py"
    n = args.patients or (2000 if args.quick else 100_000)
    names = [f"build the {n:,}-patient database", f"readiness on {n:,} patients (median)",
             f"readiness on {n:,} patients (p99)", f"cumulative on {n:,} patients (median)",
             f"cumulative on {n:,} patients (p99)"]
    if not script.exists():
        return [na(name, "benchmarks/bench_store.py missing (issue 4)") for name in names]
    option = _size_option(_help(script))
    cmd = [PY, str(script)] + ([option, str(n)] if option else [])
    started = time.time()
    m = run_measured(cmd, timeout=3600)
    if m.returncode != 0:
        return [na(name, f"bench_store.py exit {m.returncode}: {_tail(m.stderr)}") for name in names]
    out = m.stdout
    found = {}
    hit = re.search(r"^build:\s*([\d.,]+)\s*s\b", out, re.MULTILINE)
    if hit:
        found[0] = ("build (s)", float(hit.group(1).replace(",", "")) * 1000)
    for i, name in ((1, "readiness"), (3, "cumulative")):
        hit = re.search(rf"^{name}\b.*?median\s*([\d.]+)\s*ms.*?p99\s*([\d.]+)\s*ms", out, re.MULTILINE)
        if hit:
            found[i] = (f"{name} median (ms)", float(hit.group(1)))
            found[i + 1] = (f"{name} p99 (ms)", float(hit.group(2)))
    if not found:  # a changed output: try a JSON file it wrote
        data = _fresh_json(started, "store")
        numbers = _numbers(data) if data else {}
        picks = [_pick(numbers, ("build",)), _pick(numbers, ("readiness", "median|p50")),
                 _pick(numbers, ("readiness", "p99")), _pick(numbers, ("cumulative", "median|p50")),
                 _pick(numbers, ("cumulative", "p99"))]
        found = {i: (k, _ms(k, v)) for i, p in enumerate(picks) if p for k, v in [p]}
    database = re.search(r"^database:\s*(.*)$", out, re.MULTILINE)
    rows = []
    for i, name in enumerate(names):
        if i not in found:
            rows.append(na(name, "not in bench_store.py's output", peak_rss_mb=m.rss_mb))
            continue
        key, value = found[i]
        row = {"figure": name, "status": "ok", "unit": "ms", "value": value, "baseline": None,
               "ratio": None, "peak_rss_mb": m.rss_mb, "source": f"bench_store.py: {key}"}
        if database and i == 0:
            row["database"] = database.group(1)
        rows.append(row)
    # The calls' own CPU time (the thread's), beside the wall times: on a shared machine a
    # preempted call's wall time is the scheduler's.  Informative rows, without a goal.
    for name in ("readiness", "cumulative"):
        hit = re.search(rf"^cpu time: {name}\b.*?median\s*([\d.]+)\s*ms.*?p99\s*([\d.]+)\s*ms", out, re.MULTILINE)
        if hit:
            rows.append({"figure": f"{name} on {n:,} patients (p99, CPU time)", "status": "ok", "unit": "ms",
                         "value": float(hit.group(2)), "baseline": None, "ratio": None,
                         "peak_rss_mb": m.rss_mb, "source": f"bench_store.py: cpu time {name} p99 (ms)"})
    if not option and n != 100_000:
        for row in rows:
            row["note"] = "bench_store.py takes no size option: its own default size"
    return rows


def tui(args) -> list[dict]:
    """bench_tui.py (issue 5) measures launch-to-first-screen and its own same-run baseline
    (``python -c "import textual.app, pint"``) and writes results/tui.json; its peak RSS includes the TUI it spawns."""
    script = HERE / "bench_tui.py"
    figure = "TUI launch to first screen"
    if not script.exists():
        return [na(figure, "benchmarks/bench_tui.py missing (issue 5)")]
    runs = 3 if args.quick else 10
    started = time.time()
    m = run_measured([PY, str(script), "--runs", str(runs)], timeout=1800)
    if m.returncode != 0:
        return [na(figure, f"bench_tui.py exit {m.returncode}: {_tail(m.stderr)}")]
    result_file = RESULTS / "tui.json"
    data = json.loads(result_file.read_text()) if result_file.exists() and result_file.stat().st_mtime >= started - 1 else None
    if data and "first_screen_ms" in data and "import_textual_ms" in data:
        value, baseline = data["first_screen_ms"]["median"], data["import_textual_ms"]["median"]
        source = "bench_tui.py → results/tui.json"
    else:  # an older or changed script: measure the baseline here, read the figure from what it wrote or printed
        base = [run_measured([PY, "-c", "import textual.app, pint"]) for _ in range(runs)]
        baseline = median([b.seconds for b in base]) * 1000
        numbers = _numbers(data) if data else {}
        pick = _pick(numbers, ("first", "median|p50"), ("launch", "median|p50"), ("first",), ("launch",))
        if pick is None:
            return [na(figure, "not in bench_tui.py's output", peak_rss_mb=m.rss_mb)]
        value, source = _ms(*pick), f"bench_tui.py: {pick[0]}"
    row = {"figure": figure, "status": "ok", "unit": "ms", "value": value, "baseline": baseline,
           "ratio": value / baseline, "baseline_label": 'python -c "import textual.app, pint"', "peak_rss_mb": m.rss_mb,
           "source": source, "runs": runs}
    if data and data.get("first_run_with_demo_build_ms"):
        row["first_run_with_demo_build_ms"] = data["first_run_with_demo_build_ms"]
    return [row]


def labs(args) -> list[dict]:
    import bench_labs

    return bench_labs.figures(results=200 if args.quick else 1000, runs=2 if args.quick else 5)


def mllp(args) -> list[dict]:
    import bench_mllp

    return bench_mllp.figures(messages=100 if args.quick else 300, runs=2 if args.quick else 3)


def sessions(args) -> list[dict]:
    """bench_sessions.py: an open-loop clinic day at 1×, 10×, 100× and the 8-writer saturation, both engines (issue 22)."""
    script = HERE / "bench_sessions.py"
    n = args.patients or (1000 if args.quick else 10_000)
    if not script.exists():
        return [na("clinic day", "benchmarks/bench_sessions.py missing")]
    m = run_measured([PY, str(script), "--patients", str(n), "--json"] + (["--quick"] if args.quick else []),
                     timeout=7200)
    if m.returncode != 0:
        return [na("clinic day", f"bench_sessions.py exit {m.returncode}: {_tail(m.stderr)}")]
    data = json.loads(m.stdout.strip().splitlines()[-1])
    rows = []
    for r in data["results"]:
        if "unavailable" in r:
            rows.append(na(f"clinic day, {r['engine']}", r["unavailable"]))
            continue
        if r["level"] == "saturation":
            rows.append({"figure": f"saturation, 8 writers, {r['engine']}", "status": "ok", "unit": "writes/s",
                         "value": r["writes_per_s"], "baseline": None, "ratio": None, "peak_rss_mb": None,
                         "note": f"{r['errors']} errors, {r['seconds']:g} s, machine CPU {r['machine_cpu_busy_pct']} %",
                         "source": "bench_sessions.py", "result": r})
            continue
        label = f"clinic day {r['level']}×, {r['engine']}, {n:,} patients"
        note = (f"{r['visits']} visits, {r['reads']} reads, {r['writes']} writes, {r['errors']} errors, "
                f"machine CPU {r['machine_cpu_busy_pct']} %")
        for key, what in (("read_p99_ms", "read p99"), ("write_p99_ms", "write p99")):
            if r[key] is None:
                rows.append(na(f"{label}: {what}", "no sample"))
                continue
            rows.append({"figure": f"{label}: {what}", "status": "ok", "unit": "ms", "value": r[key],
                         "baseline": None, "ratio": None, "peak_rss_mb": None, "note": note,
                         "source": "bench_sessions.py", "result": r})
    return rows


# The goals, by figure: (the ratio or the time in ms must be at most this, "ratio" or "ms").
# Issue 17 restated the speed goals against floors that include the project's own libraries
# (pint, click, attrs, textual): start-up and the TUI as ratios to those floors, in the same run;
# dose calculation and order verification per cycle / per order.  `chemo bsa` and validation are
# measured without a goal.  The record's goals (issue 4) are absolute.
GOALS = (
    ("start-up: chemo dose", 1.15, "ratio"),  # python -c "import pint, click, attrs"
    ("start-up: chemo --help", 1.3, "ratio"),  # python -c "import click"
    ("TUI launch", 1.25, "ratio"),  # python -c "import textual.app, pint"
    ("dose calculation", 0.1, "ms"),  # 100 µs a cycle
    ("order verification", 0.3, "ms"),  # 300 µs an order
    ("build the", 600_000.0, "ms"),
    ("(p99)", 5.0, "ms"),
    ("clinic day 10×", None, "clinic"),  # read p99 ≤ 20 ms, write p99 ≤ 50 ms, 0 errors (issue 22)
    ("clinic day 100×", None, "clinic"),  # 0 errors
    ("saturation, 8 writers, PostgreSQL", 150.0, "at least"),  # writes/s
    ("chemo labs listen", 3.0, "ratio"),  # hl7.parse of the same messages (issue 21)
    ("chemo labs import, FHIR", 5.0, "ratio"),  # a process that only json.loads the file (issue 21)
)
CLINIC = {"read p99": 20.0, "write p99": 50.0}


def goal(row: dict) -> str:
    """``≤ 1.2× met`` / ``≤ 1.2× MISSED`` for a figure with a goal; "" for one without."""
    for prefix, limit, kind in GOALS:
        if row["figure"].startswith(prefix) or (prefix.startswith("(") and row["figure"].endswith(prefix)):
            if kind == "clinic":  # the latency goal (10× only) and 0 errors
                what = row["figure"].rsplit(": ", 1)[-1]
                limit = CLINIC.get(what) if prefix.endswith("10×") else None
                text = (f"≤ {_fmt_time(limit)}, " if limit else "") + "0 errors"
                if row.get("status") != "ok":
                    return f"{text} not measured"
                met = (limit is None or row["value"] <= limit) and row["result"]["errors"] == 0
                return f"{text} {'met' if met else 'MISSED'}"
            if kind == "at least":
                text = f"≥ {limit:g} {row.get('unit', '')}".rstrip()
                if row.get("status") != "ok":
                    return f"{text} not measured"
                return f"{text} {'met' if row['value'] >= limit and row['result']['errors'] == 0 else 'MISSED'}"
            text = f"≤ {limit:g}×" if kind == "ratio" else f"≤ {_fmt_time(limit)}"
            if row.get("status") != "ok":
                return f"{text} not measured"
            value = row.get("ratio") if kind == "ratio" else row.get("value")
            if value is None:
                return f"{text} not measured"
            return f"{text} {'met' if value <= limit else 'MISSED'}"
    return ""


def machine() -> dict:
    """What two runs must share to be compared: CPU, cores, Python and the two heavy libraries."""
    from importlib.metadata import PackageNotFoundError, version

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for package in ("pint", "textual"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "pint": versions["pint"], "textual": versions["textual"], "system": platform.platform(),
            "load_average": [round(x, 2) for x in load] if load else None}


def bytecode_on() -> str:
    """Every process measured runs with Python's bytecode cache, as Python runs by default.

    Where the environment sets ``PYTHONDONTWRITEBYTECODE`` (some CI and container images do),
    chemo's and the TUI's modules would be compiled from source in every measured process while
    pint, textual and click load their installed bytecode: the baselines would be measured one
    way and chemo another.  The variable is cleared for this run's processes and the project's
    bytecode written once, before anything is timed (``__pycache__`` is ignored by git).
    """
    import compileall

    cleared = os.environ.pop("PYTHONDONTWRITEBYTECODE", None) is not None
    for folder in ("chemo", "tui"):
        compileall.compile_dir(str(ROOT / folder), quiet=1)
    return "on (PYTHONDONTWRITEBYTECODE was set and is cleared for the run)" if cleared else "on"


def machine_line(m: dict) -> str:
    load = f"; load average {m['load_average'][0]:.2f} at the start" if m.get("load_average") else ""
    bytecode = f"; bytecode cache {m['bytecode'].split(' ')[0]}" if m.get("bytecode") else ""
    return (f"machine: {m['cpu']}, {m['cores']} cores; Python {m['python']}, pint {m['pint']}, "
            f"textual {m['textual']}{bytecode}{load}")


# The clinic-day benchmark runs last: it leaves many processes' worth of load (and PostgreSQL's
# checkpoint after its bulk load) behind it for a minute, which the figures after it would pay.
BENCHMARKS = (("startup", startup), ("validate", validate), ("dose", dose), ("verify", verify),
              ("store", store), ("tui", tui), ("labs", labs), ("mllp", mllp),
              ("sessions", sessions))


# ------------------------------------------------------------------ the table

def _fmt_time(ms) -> str:
    if ms is None:
        return "—"
    if ms >= 10_000:
        return f"{ms / 1000:,.1f} s"
    if ms >= 100:
        return f"{ms:,.0f} ms"
    if ms >= 1:
        return f"{ms:.1f} ms"
    return f"{ms * 1000:.0f} µs"


def table(rows: list[dict]) -> str:
    header = ("figure", "this project", "baseline", "ratio", "peak RSS", "goal")
    lines = []
    for r in rows:
        if r.get("status") != "ok":
            lines.append((r["figure"], "not available", "", "", "", goal(r), r.get("note", "")))
            continue
        base = r.get("baseline")
        label = r.get("baseline_label", "")
        lines.append((
            r["figure"], _fmt_time(r["value"]) if r.get("unit", "ms") == "ms" else f"{r['value']:,.0f} {r['unit']}",
            f"{_fmt_time(base)} ({label})" if base is not None else "—",
            f"{r['ratio']:.2f}×" if r.get("ratio") is not None else "—",
            f"{r['peak_rss_mb']:.0f} MiB" if r.get("peak_rss_mb") is not None else "—",
            goal(r), r.get("note", ""),
        ))
    widths = [max(len(str(x[i])) for x in lines + [header + ("",)]) for i in range(6)]
    out = [" | ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip(),
           "-|-".join("-" * w for w in widths)]
    for line in lines:
        cells = [str(line[0]).ljust(widths[0])] + [str(c).rjust(w) if i in (0, 2, 3) else str(c).ljust(w)
                                                   for i, (c, w) in enumerate(zip(line[1:6], widths[1:]))]
        text = " | ".join(cells)
        if line[6]:
            text += f"   ({line[6]})"
        out.append(text.rstrip())
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (make bench QUICK=1)")
    parser.add_argument("--patients", type=int, help="size of the store benchmark's database (default 100,000; "
                                                     "2,000 with --quick)")
    parser.add_argument("--only", help="comma-separated: " + ", ".join(n for n, _ in BENCHMARKS))
    args = parser.parse_args(argv)
    chosen = [b for b in BENCHMARKS if not args.only or b[0] in args.only.split(",")]
    started = time.perf_counter()
    host = machine()
    host["bytecode"] = bytecode_on()
    rows = []
    for name, function in chosen:
        t0 = time.perf_counter()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        try:
            got = function(args)
        except Exception as exc:  # a broken benchmark is a row, not a failed run
            got = [na(name, f"{type(exc).__name__}: {str(exc)[:160]}")]
        for row in got:
            row.setdefault("benchmark", name)
        rows += got
        print(f"  {name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    end_load = os.getloadavg() if hasattr(os, "getloadavg") else None
    if end_load:
        host["load_average_end"] = [round(x, 2) for x in end_load]
    text = machine_line(host) + (f", {end_load[0]:.2f} at the end" if end_load else "") + "\n" + table(rows)
    print(text)
    now = _dt.datetime.now()
    report = {
        "date": now.isoformat(timespec="seconds"), "quick": args.quick, "seconds": round(time.perf_counter() - started, 1),
        "python": platform.python_version(), "machine": platform.machine(), "system": platform.platform(),
        "cpus": os.cpu_count(), "host": host, "ratio": "this project / baseline (lower is better)",
        "rows": [{**row, "goal": goal(row)} for row in rows], "table": text,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n"
    kind = "-quick" if args.quick else "-partial" if (args.only or args.patients) else ""
    dated = RESULTS / f"bench-{now:%Y-%m-%d}{kind}.json"
    dated.write_text(payload, encoding="utf-8")
    if args.quick or args.only or args.patients:  # latest.json is the last full reference run, kept in git
        print(f"\nwrote {dated.relative_to(ROOT)} ({report['seconds']:.0f} s)")
        return 0
    (RESULTS / "latest.json").write_text(payload, encoding="utf-8")
    print(f"\nwrote {dated.relative_to(ROOT)} and benchmarks/results/latest.json ({report['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
