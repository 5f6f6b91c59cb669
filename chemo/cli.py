"""The ``chemo`` command: a thin click layer over the engine.

Commands are imported only when they run (``LazyGroup``), so ``chemo --help``
pays neither for pint nor for sqlite-utils.  Every command module raises
:class:`chemo.errors.ChemoError` for bad input; ``main`` turns it into one line
on stderr and a non-zero exit (2 unless the error says otherwise), never a
traceback.
"""

from __future__ import annotations

import importlib
import json

import click

# name -> ("module:attribute", one-line help shown by `chemo --help`)
COMMANDS = {
    "validate": ("chemo.cli_engine:validate", "Check regimen files: units, doses, days, thresholds."),
    "bsa": ("chemo.cli_engine:bsa", "Body surface area from height and weight."),
    "dose": ("chemo.cli_dose:dose", "Every dose of one cycle of a regimen for one patient."),
    "verify": ("chemo.cli_dose:verify", "Check an order file against the regimen's doses."),
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        entry = COMMANDS.get(name)
        if entry is None:
            return None
        module_name, attribute = entry[0].split(":")
        return getattr(importlib.import_module(module_name), attribute)

    def invoke(self, ctx):
        from .errors import ChemoError

        try:
            return super().invoke(ctx)
        except ChemoError as exc:
            click.echo(f"chemo: {exc}", err=True)
            ctx.exit(getattr(exc, "exit_code", 2))

    def format_commands(self, ctx, formatter):
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="chemo")
def cli():
    """chemo: neoadjuvant sarcoma chemotherapy protocols, doses and checks.

    Every number carries its unit; every rule cites its source.
    """


def emit_json(data) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))
