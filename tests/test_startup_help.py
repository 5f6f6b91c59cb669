"""`chemo --help` printed by the console script (chemo/launch.py) without importing click:
byte for byte what click prints, at every width, for every program name."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import types

import click
import pytest

from chemo import launch
from chemo.cli import cli


def click_help(prog: str) -> str:
    """What `prog --help` prints through click (get_help, then echo's newline), at $COLUMNS."""
    return cli.get_help(click.Context(cli, info_name=prog, **cli.context_settings)) + "\n"


@pytest.mark.parametrize("columns", range(40, 121))
def test_help_is_clicks_at_every_width(monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", str(columns))
    assert launch.terminal_width() == max(min(shutil.get_terminal_size().columns, 80) - 2, 50)
    assert launch.render_help("chemo", launch.terminal_width()) == click_help("chemo")


@pytest.mark.parametrize("prog", ["c", "chemo-dev", "x" * 29, "y" * 31, "z" * 60])
@pytest.mark.parametrize("columns", [50, 52, 80])
def test_help_is_clicks_for_other_program_names(monkeypatch, prog, columns):
    """A long program name moves the usage arguments to their own line, as click does."""
    monkeypatch.setenv("COLUMNS", str(columns))
    assert launch.render_help(prog, launch.terminal_width()) == click_help(prog)


def test_fast_path_only_for_the_groups_help_alone(monkeypatch):
    monkeypatch.delenv("_CHEMO_COMPLETE", raising=False)
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))  # a script, as the console one
    assert launch._fast_help_prog(["/some/bin/chemo", "--help"]) == "chemo"
    assert launch._fast_help_prog(["chemo", "-h"]) == "chemo"
    for argv in (["chemo"], ["chemo", "--version"], ["chemo", "bsa", "--help"], ["chemo", "--help", "x"],
                 ["chemo", "--hel"]):
        assert launch._fast_help_prog(argv) is None, argv
    monkeypatch.setenv("_CHEMO_COMPLETE", "bash_source")  # shell completion is click's
    assert launch._fast_help_prog(["chemo", "--help"]) is None
    monkeypatch.delenv("_CHEMO_COMPLETE")
    monkeypatch.setattr(sys.modules["__main__"], "__package__", "chemo", raising=False)  # python -m: click's name
    assert launch._fast_help_prog(["chemo", "--help"]) is None


def _run_main(args, columns="61"):
    code = ("import sys, atexit\n"
            "atexit.register(lambda: sys.stderr.write('click imported: %s' % ('click' in sys.modules)))\n"
            f"sys.argv = ['/venv/bin/chemo'] + {args!r}\n"
            "from chemo.launch import main\n"
            "main()\n")
    env = {**os.environ, "COLUMNS": columns}
    env.pop("_CHEMO_COMPLETE", None)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)


@pytest.mark.parametrize("option", ["--help", "-h"])
def test_console_script_prints_help_without_click(monkeypatch, option):
    out = _run_main([option])
    assert out.returncode == 0
    assert out.stderr == "click imported: False"
    monkeypatch.setenv("COLUMNS", "61")
    assert out.stdout == click_help("chemo")


def test_console_script_leaves_everything_else_to_click():
    out = _run_main(["--version"])
    assert out.returncode == 0 and out.stdout.startswith("chemo, version ")
    assert out.stderr == "click imported: True"
    out = _run_main(["bsa", "--height", "1 cm", "--weight", "75 kg"])  # ChemoError: one line, exit 2
    assert out.returncode == 2
    assert out.stderr.splitlines()[0].startswith("chemo: ") and len(out.stderr.splitlines()) == 2
