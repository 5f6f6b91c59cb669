"""The ``chemo`` command: a thin click layer over the engine.

Commands are imported only when they run (``LazyGroup``), so ``chemo --help``
pays neither for pint nor for sqlite-utils; the console script (:mod:`chemo.launch`)
prints ``chemo --help`` itself, without importing click at all.  Every command module raises
:class:`chemo.errors.ChemoError` for bad input; ``main`` turns it into one line
on stderr and a non-zero exit (2 unless the error says otherwise), never a
traceback.
"""

from __future__ import annotations

import importlib

import click

from .launch import COMMANDS, HELP, HELP_OPTIONS  # noqa: F401  (COMMANDS: read by the tests and docs)


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


@click.group(cls=LazyGroup, help=HELP, context_settings={"help_option_names": list(HELP_OPTIONS)})
@click.version_option(package_name="chemo")
def cli():
    # the help text is chemo.launch.HELP: the console script prints `chemo --help` from there
    # without importing click (byte for byte what click prints: tests/test_startup_help.py)
    pass


def emit_json(data) -> None:
    import json  # not on the path of chemo --help

    click.echo(json.dumps(data, indent=2, ensure_ascii=False))
