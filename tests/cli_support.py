"""What the command-line tests share: a runner that never hides a traceback, and the one-line error check."""

from __future__ import annotations


def cli_invoker(cli):
    """``invoke(*args, user=None)``: run ``chemo`` in-process; a traceback (a bug) fails the test."""
    from click.testing import CliRunner

    runner = CliRunner()

    def invoke(*args, user=None):
        argv = [str(a) for a in args] + (["--user", user] if user else [])
        result = runner.invoke(cli, argv)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        assert "Traceback" not in result.output
        return result

    return invoke


def approve_regimen(invoke, first: str, second: str = "pia", regimen: str = "doxorubicin-ifosfamide") -> None:
    """The pharmacist ``first`` registers the pharmacist ``second`` and both approve the shipped ``regimen`` with
    ``chemo regimen approve`` (a plan starts only on a regimen two pharmacists approved in the record)."""
    from chemo.regimen import regimen_path

    assert invoke("user", "add", second, "--role", "pharmacist", user=first).exit_code == 0
    for who in (first, second):
        result = invoke("regimen", "approve", str(regimen_path(regimen)), user=who)
        assert result.exit_code == 0, result.output


def one_line(result, code, *words) -> str:
    """The command exited ``code`` with exactly one ``chemo: ...`` line on stderr holding every word."""
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chemo: "), result.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]
