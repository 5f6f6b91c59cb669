"""The ``chemo`` console script: ``chemo --help`` without importing click.

click's import (with ``typing``, ``inspect``, ``uuid``, ``gettext``, ...) costs about as
much as Python's own start, so ``chemo --help`` and ``chemo -h`` are printed from here,
rendered exactly as click renders them (the same wrapping with :mod:`textwrap`, at the
same width: ``min(columns, 80) - 2``, never below 50; ``COLUMNS`` first, as
:func:`shutil.get_terminal_size` reads it).  Everything else, and anything this module
is not sure to render as click would (another platform, shell completion, a translated
click, a program name with escape codes), goes to :data:`chemo.cli.cli` unchanged.

The command list and the group's help text live here, so that :mod:`chemo.cli` and this
renderer read the same strings; ``tests/test_startup_help.py`` compares this output with
click's own at every width from 40 to 120 columns.
"""

from __future__ import annotations

import os
import sys

# name -> ("module:attribute", one-line help shown by `chemo --help`)
COMMANDS = {
    "validate": ("chemo.cli_engine:validate", "Check regimen files: units, doses, days, thresholds."),
    "bsa": ("chemo.cli_engine:bsa", "Body surface area from height and weight."),
    "dose": ("chemo.cli_dose:dose", "Every dose of one cycle of a regimen for one patient."),
    "verify": ("chemo.cli_dose:verify", "Check an order file against the regimen's doses."),
    "patient": ("chemo.cli_record:patient", "Register, list and show patients."),
    "measure": ("chemo.cli_record:measure", "Record a patient's weight (and height)."),
    "labs": ("chemo.cli_record:labs", "Record, import (FHIR, HL7 v2) and show lab results."),
    "prior": ("chemo.cli_record:prior", "Record prior anthracycline exposure."),
    "plan": ("chemo.cli_record:plan", "Start a treatment plan on a regimen."),
    "readiness": ("chemo.cli_record:readiness", "Is the patient ready for the next cycle? (exit 0 ready, 1 not)"),
    "user": ("chemo.cli_record:user", "Users and their roles (pharmacist, nurse, prescriber)."),
    "signoff": ("chemo.cli_record:signoff", "Sign off the dose or readiness check of a cycle."),
    "administer": ("chemo.cli_record:administer", "Record the signed-off doses of a cycle as given."),
    "cumulative": ("chemo.cli_record:cumulative", "Cumulative anthracycline exposure against the cap."),
    "audit": ("chemo.cli_record:audit", "Verify the audit trail's hash chain."),
    "worksheet": ("chemo.cli_record:worksheet", "Write a cycle's worksheet (PDF, HTML or text) for the checkers."),
    "demo": ("chemo.cli_record:demo", "Build a demo database of synthetic patients."),
    "db": ("chemo.cli_record:db", "Copy a record between databases (SQLite, PostgreSQL)."),
    "tui": ("tui.command:tui", "Open the terminal UI (pharmacist and nurse screens)."),
}

# The help of the `chemo` group (click's `help=`): already as inspect.cleandoc leaves it.
HELP = """chemo: neoadjuvant sarcoma chemotherapy protocols, doses and checks.

Every number carries its unit; every rule cites its source."""

HELP_OPTIONS = ("-h", "--help")  # the group's help_option_names
USAGE_ARGS = "[OPTIONS] COMMAND [ARGS]..."  # what click writes after the program name for a group
# click's own rows for the options of the group (its English texts; a translated click is left to click)
OPTION_ROWS = (("--version", "Show the version and exit."), ("-h, --help", "Show this message and exit."))


def terminal_width() -> int:
    """The width click's HelpFormatter uses: ``max(min(columns, 80) - 2, 50)``, where columns is
    what :func:`shutil.get_terminal_size` answers (``$COLUMNS``, else the terminal of stdout, else 80)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
        except (AttributeError, ValueError, OSError):
            columns = 80
    return max(min(columns, 80) - 2, 50)


def _wrap(text: str, width: int, initial_indent: str = "", subsequent_indent: str = "",
          preserve_paragraphs: bool = False) -> str:
    """click.formatting.wrap_text for text without ANSI escapes (click's TextWrapper then
    measures as textwrap.TextWrapper does)."""
    import textwrap

    text = text.expandtabs()
    wrapper = textwrap.TextWrapper(width, initial_indent=initial_indent, subsequent_indent=subsequent_indent,
                                   replace_whitespace=False)
    if not preserve_paragraphs:
        return wrapper.fill(text)
    paragraphs: list[tuple[int, bool, str]] = []
    buf: list[str] = []
    indent = None
    for line in text.splitlines() + [""]:
        if not line:
            if buf:
                if buf[0].strip() == "\b":
                    paragraphs.append((indent or 0, True, "\n".join(buf[1:])))
                else:
                    paragraphs.append((indent or 0, False, " ".join(buf)))
                buf = []
            indent = None
        else:
            if indent is None:
                stripped = line.lstrip()
                indent = len(line) - len(stripped)
                line = stripped
            buf.append(line)
    out = []
    for extra, raw, par in paragraphs:
        wrapper.initial_indent = initial_indent + " " * extra
        wrapper.subsequent_indent = subsequent_indent + " " * extra
        if raw:
            out.append("\n".join((wrapper.subsequent_indent if i else wrapper.initial_indent) + line
                                 for i, line in enumerate(par.splitlines())))
        else:
            out.append(wrapper.fill(par))
    return "\n\n".join(out)


def _definitions(rows, width: int, indent: int = 2) -> str:
    """click's HelpFormatter.write_dl (col_max 30, col_spacing 2) at ``indent``."""
    first_col = min(max(len(first) for first, _ in rows), 30) + 2
    out = []
    for first, second in rows:
        out.append(" " * indent + first)
        if not second:
            out.append("\n")
            continue
        if len(first) <= first_col - 2:
            out.append(" " * (first_col - len(first)))
        else:
            out.append("\n" + " " * (first_col + indent))
        lines = _wrap(second, max(width - first_col - 2, 10), preserve_paragraphs=True).splitlines()
        if lines:
            out.append(lines[0] + "\n")
            out.extend(" " * (first_col + indent) + line + "\n" for line in lines[1:])
        else:
            out.append("\n")
    return "".join(out)


def render_help(prog: str, width: int) -> str:
    """``chemo --help`` as click prints it (ending in one newline) for ``prog`` at formatter ``width``."""
    prefix = "Usage: "
    usage_prefix = f"{prefix}{prog} "
    if width >= len(usage_prefix) + 20:
        usage = _wrap(USAGE_ARGS, width, initial_indent=usage_prefix, subsequent_indent=" " * len(usage_prefix))
    else:
        indent = " " * (len(prefix) + 4)
        usage = usage_prefix + "\n" + _wrap(USAGE_ARGS, width, initial_indent=indent, subsequent_indent=indent)
    parts = [usage, "\n"]
    text = HELP.partition("\f")[0]
    if text:
        parts += ["\n", _wrap(text, width, "  ", "  ", preserve_paragraphs=True), "\n"]
    parts += ["\n", "Options:\n", _definitions(OPTION_ROWS, width)]
    parts += ["\n", "Commands:\n", _definitions([(name, COMMANDS[name][1]) for name in sorted(COMMANDS)], width)]
    return "".join(parts).rstrip("\n") + "\n"


def _fast_help_prog(argv: list[str]) -> str | None:
    """The program name when ``argv`` asks only for the group's help and this module renders it
    exactly as click would; None to leave it to click."""
    if len(argv) != 2 or argv[1] not in HELP_OPTIONS or os.name == "nt":
        return None
    main = sys.modules.get("__main__")
    if getattr(main, "__package__", None) not in (None, ""):  # `python -m ...`: click names it otherwise
        return None
    prog = os.path.basename(argv[0])
    if not prog or not prog.isprintable():
        return None
    complete = "_" + prog.replace("-", "_").replace(".", "_").upper() + "_COMPLETE"
    if os.environ.get(complete):  # shell completion: click's
        return None
    # click's "Usage:", "Options" and option texts go through gettext's default domain: leave a
    # locale that has a catalogue for them to click (there is none where Python has no locale folder)
    if os.path.isdir(os.path.join(sys.base_prefix, "share", "locale")):
        import gettext

        if gettext.find("messages") is not None:
            return None
    return prog


def main() -> None:
    """The ``chemo`` console script."""
    prog = _fast_help_prog(sys.argv)
    if prog is None:
        from .cli import cli

        cli()
        return
    text = render_help(prog, terminal_width())
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # as click: exit 1, and no second error when Python flushes at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)
    sys.exit(0)
