"""What every part of the fault suite shares: figures, running the CLI, spotting tracebacks."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REGIMENS = ROOT / "regimens"
WORKERS = max(2, min(8, os.cpu_count() or 2))


class Missing(Exception):
    """A part stands on code that has not landed: it is reported as NOT RUN."""

    def __init__(self, what: str):
        self.what = what
        super().__init__(what)


def require(*modules: str) -> None:
    """Raise :class:`Missing` unless every module can be imported."""
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            raise Missing(f"{name} missing")


def require_command(*names: str) -> None:
    """Raise :class:`Missing` unless ``chemo NAME`` is a registered command whose module exists."""
    from chemo.cli import COMMANDS

    for name in names:
        if name not in COMMANDS:
            raise Missing(f"`chemo {name}` missing")
        require(COMMANDS[name][0].split(":")[0])


@dataclass
class Figure:
    """One measured figure, its threshold and whether it holds."""

    name: str
    value: float | int | None
    threshold: str  # e.g. ">= 500", "== 0", "== 100 %"
    passed: bool
    unit: str = ""
    detail: str = ""
    not_run: str | None = None  # why the figure could not be measured
    examples: list = field(default_factory=list)  # a few failing cases, for the report

    @property
    def status(self) -> str:
        if self.not_run:
            return "NOT RUN"
        return "PASS" if self.passed else "FAIL"

    def shown_value(self) -> str:
        if self.not_run:
            return "-"
        if isinstance(self.value, float):
            text = f"{self.value:.2f}".rstrip("0").rstrip(".") if self.unit == "%" else f"{self.value:.4g}"
        else:
            text = str(self.value)
        return f"{text} {self.unit}".strip()

    def as_json(self) -> dict:
        return {"name": self.name, "value": self.value, "unit": self.unit, "threshold": self.threshold,
                "status": self.status, "detail": self.detail, "not_run": self.not_run,
                "examples": self.examples[:50]}


def at_least(name, value, minimum, unit="", detail="") -> Figure:
    return Figure(name, value, f">= {minimum:g} {unit}".strip(), value >= minimum, unit, detail)


def exactly(name, value, wanted, unit="", detail="", examples=()) -> Figure:
    return Figure(name, value, f"== {wanted:g} {unit}".strip(), value == wanted, unit, detail, examples=list(examples))


def percent(name, good, total, detail="", examples=()) -> Figure:
    """``good`` of ``total`` as a percentage that must be exactly 100 (and total > 0)."""
    value = 100.0 * good / total if total else 0.0
    return Figure(name, value, "== 100 %", bool(total) and good == total, "%",
                  f"{good} of {total}" + (f"; {detail}" if detail else ""), examples=list(examples))


def chemo_exe() -> str:
    exe = Path(sys.executable).parent / "chemo"
    return str(exe) if exe.exists() else "chemo"


def chemo_env(**extra) -> dict:
    env = dict(os.environ)
    env.setdefault("PYTHONHASHSEED", "0")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_chemo(args, *, env=None, cwd=None, timeout=120, input_text=None) -> subprocess.CompletedProcess:
    """``chemo ARGS`` in its own process; never raises for a non-zero exit."""
    try:
        return subprocess.run([chemo_exe(), *map(str, args)], cwd=cwd or ROOT, env=env or chemo_env(),
                              capture_output=True, text=True, timeout=timeout, input=input_text,
                              errors="replace")
    except subprocess.TimeoutExpired as exc:
        return subprocess.CompletedProcess(exc.cmd, -9, exc.stdout or "", f"TIMEOUT after {timeout} s")


def parallel(function, items, workers: int = WORKERS) -> list:
    """``function`` over ``items`` in threads (each call runs a subprocess), results in order."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(function, items))


TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\w+(?:\.\w+)*(?:Error|Exception): ", re.MULTILINE)


def has_traceback(*texts: str) -> bool:
    return any(TRACEBACK.search(t or "") for t in texts)


CLEAR_LINE = re.compile(r"^(?:chemo: |Error: )\S.*$")


def clear_error(result: subprocess.CompletedProcess) -> tuple[bool, str]:
    """(is it a clear user error, why not): non-zero exit, no traceback, a one-line message.

    The message is the last line on stderr: ``chemo: FIELD: message`` (the
    project's errors) or click's ``Error: ...`` for a malformed command line.
    """
    if result.returncode == 0:
        return False, "exit 0: the input was accepted"
    if result.returncode < 0 or result.returncode == -9:
        return False, f"killed (exit {result.returncode}): {result.stderr[-200:]}"
    if has_traceback(result.stderr, result.stdout):
        tail = [line for line in result.stderr.splitlines() if line.strip()][-1:] or ["?"]
        return False, f"traceback: {tail[0][:200]}"
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if not lines:
        return False, f"exit {result.returncode} with nothing on stderr"
    if not CLEAR_LINE.match(lines[-1]):
        return False, f"unclear message: {lines[-1][:200]}"
    return True, ""


def print_figures(figures, examples: int = 20) -> int:
    """Each figure on a line (with its first examples); 0 when all pass, 1 otherwise: a part's own main()."""
    for f in figures:
        print(f"{f.status:7} {f.name}: {f.shown_value()} ({f.threshold}) {f.detail}")
        for e in f.examples[:examples]:
            print(f"          {e}")
    return 0 if all(f.passed for f in figures) else 1
