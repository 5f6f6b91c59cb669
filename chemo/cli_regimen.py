"""``chemo regimen``: regimens as governed documents.

A regimen file carries its own ``version`` (and may be ``[retired]``); whether a
centre may treat with it is a fact of that centre's record: two different
pharmacists approve the file's exact bytes.  The subcommands are imported when
they run, as the top-level commands are (:class:`chemo.cli.LazyGroup`).
"""

from __future__ import annotations

import click

from .cli import LazyGroup

# name -> ("module:attribute", one-line help shown by `chemo regimen --help`)
SUBCOMMANDS = {
    "approve": ("chemo.cli_regimen_approve:approve", "Approve a regimen file in this record (two pharmacists)."),
    "history": ("chemo.cli_regimen_approve:history", "Versions of a regimen approved in this record, with diffs."),
    "diff": ("chemo.cli_regimen_diff:diff", "The clinical difference between two versions of a regimen file."),
    "export": ("chemo.cli_regimen_fhir:export", "Write a regimen as FHIR R4 (--fhir): a PlanDefinition with ActivityDefinitions."),
    "import": ("chemo.cli_regimen_fhir:import_", "Read a FHIR PlanDefinition back into a regimen file (TOML), checked."),
}


class RegimenGroup(LazyGroup):
    lazy = SUBCOMMANDS


@click.group(cls=RegimenGroup)
def regimen():
    """Regimens as governed documents: approve, history, diff, FHIR export and import."""
