"""TUI launch: `chemo tui` on the demo database, from launch to the first screen, against
`python -c "import textual.app, pint"` (the dependency floor: the TUI shows doses with their
units) measured in the same run.

`chemo tui` runs in a pseudo-terminal of 80×24, exactly as a user starts it
with nothing configured: no ``--db``, no ``$CHEMO_DB``, so it opens the embedded
demo database in the user data folder (``$XDG_DATA_HOME`` points at a
temporary folder here).  The clock starts just before the process is spawned
and stops when the terminal shows the first patient row (``DEMO-001``: the
patient list, painted); then Ctrl+Q quits it.  The very first launch builds
the demo database and is reported on its own; the launch figure is the
median of the runs after it.  Runs of the TUI and of the baseline are
interleaved, so drift in the machine hits both alike.

Both run with Python's bytecode cache on, in the run's temporary folder
(``PYTHONPYCACHEPREFIX``; ``PYTHONDONTWRITEBYTECODE`` cleared), warmed by the
first run of each: an installed chemo, like textual and pint, is started from
compiled bytecode.  Where the environment sets ``PYTHONDONTWRITEBYTECODE``
(as some sandboxes and CI images do), chemo's own modules - which have no
``__pycache__`` of their own in a source checkout - would otherwise be compiled
from source at every launch (~45 ms on the reference machine) while the
baseline's, installed with their bytecode, are not.  ``--no-bytecode-cache``
measures with the environment as it is.

    python benchmarks/bench_tui.py [--runs 10] [--json] [--no-bytecode-cache]

Writes ``benchmarks/results/tui.json`` (``first_screen_ms.median``,
``import_textual_ms.median``: the baseline, ``import textual.app, pint``; ``ratio``), which
``benchmarks/run.py`` reads.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_startup import ROOT, chemo_exe, median, run_measured  # noqa: E402

RESULTS = HERE / "results"
MARKER = b"DEMO-001"
BASELINE = "import textual.app, pint"
TIMEOUT_S = 120.0


def launch_to_first_screen(env: dict, columns: int = 80, lines: int = 24) -> float:
    """Seconds from spawning ``chemo tui`` in a pty until ``MARKER`` is on the screen."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    start = time.perf_counter()
    proc = subprocess.Popen([chemo_exe(), "tui", "--user", "demo-pharmacist"], stdin=slave, stdout=slave,
                            stderr=slave, env=env, cwd=ROOT, close_fds=True, start_new_session=True)
    os.close(slave)
    seen = b""
    elapsed = None
    try:
        while time.perf_counter() - start < TIMEOUT_S:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            if MARKER in seen:
                elapsed = time.perf_counter() - start
                break
        if elapsed is None:
            tail = seen[-400:].decode("utf-8", "replace")
            raise RuntimeError(f"chemo tui did not show {MARKER.decode()} within {TIMEOUT_S:g} s: {tail!r}")
        os.write(master, b"\x11")  # Ctrl+Q
        deadline = time.perf_counter() + 10
        while proc.poll() is None and time.perf_counter() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    os.read(master, 65536)
                except OSError:
                    pass
        return elapsed
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        os.close(master)


def measure(runs: int, bytecode_cache: bool = True) -> dict:
    with tempfile.TemporaryDirectory(prefix="chemo-bench-tui-") as tmp:
        env = {k: v for k, v in os.environ.items() if k not in ("CHEMO_DB", "CHEMO_USER")}
        env.update(XDG_DATA_HOME=tmp, TERM="xterm-256color", COLUMNS="80", LINES="24")
        if bytecode_cache:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        first_run = launch_to_first_screen(env)  # builds the demo database (demo-<date>-<regimens>.db)
        if not list((Path(tmp) / "chemo").glob("demo-*.db")):
            raise RuntimeError(f"the first run did not create a demo database in {tmp}/chemo")
        if bytecode_cache:
            run_measured([sys.executable, "-c", BASELINE], env=env)  # compiles the baseline's bytecode once
        launches, imports = [], []
        for _ in range(runs):
            base = run_measured([sys.executable, "-c", BASELINE], env=env)
            if base.returncode != 0:
                raise RuntimeError(f"python -c '{BASELINE}' failed: {base.stderr.strip()[-200:]}")
            imports.append(base.seconds)
            launches.append(launch_to_first_screen(env))
    first_ms = median(launches) * 1000
    import_ms = median(imports) * 1000
    return {
        "figure": "TUI launch to first screen (chemo tui, demo database, 80x24 pty)",
        "runs": runs,
        "first_screen_ms": {"median": round(first_ms, 1), "min": round(min(launches) * 1000, 1),
                            "max": round(max(launches) * 1000, 1)},
        "import_textual_ms": {"median": round(import_ms, 1), "min": round(min(imports) * 1000, 1),
                              "max": round(max(imports) * 1000, 1)},
        "baseline": f'python -c "{BASELINE}"',
        "ratio": round(first_ms / import_ms, 2),
        "first_run_with_demo_build_ms": round(first_run * 1000, 1),
        "bytecode": ("cached (PYTHONPYCACHEPREFIX in the run's folder, warmed by the first run of each)"
                     if bytecode_cache else f"as the environment has it (PYTHONDONTWRITEBYTECODE="
                                            f"{os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r})"),
        "python": sys.version.split()[0],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-bytecode-cache", action="store_true",
                        help="run both commands with the environment's bytecode settings as they are")
    args = parser.parse_args(argv)
    try:
        result = measure(max(1, args.runs), bytecode_cache=not args.no_bytecode_cache)
    except RuntimeError as exc:
        print(f"bench_tui: {exc}", file=sys.stderr)
        return 1
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "tui.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['figure']}, {result['runs']} runs (median)")
        print(f"  chemo tui, launch to first screen   {result['first_screen_ms']['median']:8.1f} ms")
        print(f"  python -c '{BASELINE}' {result['import_textual_ms']['median']:8.1f} ms")
        print(f"  ratio                               {result['ratio']:8.2f}")
        print(f"  first run (builds the demo database) {result['first_run_with_demo_build_ms']:7.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
