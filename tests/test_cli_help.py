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


def test_help_does_not_import_pint():
    """`chemo --help` pays neither for pint nor for the engine (commands load lazily)."""
    import subprocess
    import sys

    code = ("import sys; from click.testing import CliRunner; from chemo.cli import cli; "
            "r = CliRunner().invoke(cli, ['--help']); assert r.exit_code == 0; "
            "print('pint' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
