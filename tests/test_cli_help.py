"""Every command of ``chemo`` is documented in README.md and listed by ``chemo --help``."""

from __future__ import annotations

import re

import pytest

from chemo.cli import COMMANDS

from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_is_documented_in_readme(name):
    assert re.search(rf"`chemo {re.escape(name)}(\s|`)", README), (
        f"README.md does not document `chemo {name}`: add it under '## Commands'")


def test_readme_documents_no_command_that_does_not_exist():
    documented = set(re.findall(r"`chemo ([a-z][a-z-]*)", README))
    assert documented <= set(COMMANDS), f"README.md documents unknown commands: {documented - set(COMMANDS)}"


def test_help_lists_every_command(runner, chemo_cli):
    result = runner.invoke(chemo_cli, ["--help"])
    assert result.exit_code == 0, result.output
    listed = re.findall(r"^\s{2}(\S+)\s{2,}", result.output.split("Commands:", 1)[1], re.MULTILINE)
    assert sorted(listed) == sorted(COMMANDS)
    for name, (_, help_text) in COMMANDS.items():
        assert help_text.split(":")[0][:30] in " ".join(result.output.split())


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help(runner, chemo_cli, name):
    """A command listed by `chemo --help` must load: `chemo NAME --help` exits 0, no traceback."""
    result = runner.invoke(chemo_cli, [name, "--help"], prog_name="chemo")
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 0, result.output
    assert f"chemo {name}" in result.output  # the usage line


def test_unknown_command_is_a_usage_error(runner, chemo_cli):
    result = runner.invoke(chemo_cli, ["valdate", "regimens"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def _run_console_script(args, columns="61"):
    """The console script (``chemo.cli:main``) in a fresh process; stderr ends with the engine modules it loaded."""
    import os
    import subprocess
    import sys

    code = ("import sys, atexit\n"
            "atexit.register(lambda: sys.stderr.write('\\nLOADED ' + ' '.join(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('pint', 'sqlite_utils', 'chemo', 'tui')))))\n"
            f"sys.argv = ['/venv/bin/chemo'] + {args!r}\n"
            "from chemo.cli import main\n"
            "main()\n")
    env = {**os.environ, "COLUMNS": columns}
    env.pop("_CHEMO_COMPLETE", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    stderr, _, loaded = out.stderr.rpartition("LOADED ")
    return out.returncode, out.stdout, stderr.rstrip("\n"), set(loaded.split())


@pytest.mark.parametrize("option", ["--help", "-h"])
def test_help_does_not_import_pint(option):
    """`chemo --help` pays neither for pint, sqlite-utils nor the engine (commands load lazily),
    and lists every command with its one-line help as click writes it."""
    code, stdout, stderr, loaded = _run_console_script([option])
    assert code == 0 and stderr == ""
    assert loaded == {"chemo", "chemo.cli"}
    assert stdout.startswith("Usage: chemo [OPTIONS] COMMAND [ARGS]...\n\n  chemo: neoadjuvant sarcoma")
    assert "  -h, --help  Show this message and exit.\n" in stdout
    assert "  bsa         Body surface area from height and weight.\n" in stdout


def test_console_script_runs_a_command_and_its_errors():
    code, stdout, stderr, loaded = _run_console_script(["--version"])
    assert code == 0 and stdout.startswith("chemo, version ")
    code, stdout, stderr, loaded = _run_console_script(["bsa", "--height", "1 cm", "--weight", "75 kg"])
    assert code == 2 and stdout == ""  # a ChemoError: one line on stderr, exit 2, no traceback
    assert stderr.startswith("chemo: ") and len(stderr.splitlines()) == 1 and "Traceback" not in stderr
