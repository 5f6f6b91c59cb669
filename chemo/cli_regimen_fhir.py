"""``chemo regimen export --fhir`` and ``chemo regimen import``: a regimen as a FHIR R4 PlanDefinition and back."""

from __future__ import annotations

from pathlib import Path

import click

FORMATS = {"fhir": "FHIR R4 PlanDefinition JSON"}


@click.command("export")
@click.argument("regimen", metavar="ID|PATH")
@click.option("--fhir", "as_fhir", is_flag=True, help="Write a FHIR R4 PlanDefinition (JSON) with contained "
              "ActivityDefinitions; required for now, the one format known.")
@click.option("--out", "out", default=None, metavar="FILE", help="Write the JSON to FILE instead of stdout.")
def export(regimen, as_fhir, out):
    """Write a regimen (by id or path) as a FHIR R4 PlanDefinition.

    Each drug, derived and supportive line is a contained ActivityDefinition (dose in UCUM, route,
    timing, days of the cycle), each readiness gate a condition of the cycle; what FHIR has no element
    for travels in chemo extensions, so `chemo regimen import` reads it back to the same regimen.

    Exit codes: 0 written; 2 the regimen unreadable or invalid, the file not writable, or a usage error.
    """
    if not as_fhir:
        known = ", ".join(f"--{name} ({what})" for name, what in FORMATS.items())
        raise click.UsageError(f"name the format to export: {known}")
    import json

    from .fhir.export import export_regimen
    from .library import load_library
    from .regimen import load_regimen

    library = load_library()
    text = json.dumps(export_regimen(load_regimen(regimen, library), library), indent=2, ensure_ascii=False)
    _write(out, text + "\n")


@click.command("import")
@click.argument("file", metavar="FILE.json", type=click.Path(dir_okay=True, path_type=Path))
@click.option("--out", "out", default=None, metavar="FILE.toml", help="Write the regimen file to FILE.toml "
              "instead of stdout.")
def import_(file, out):
    """Read a FHIR PlanDefinition (or a Bundle holding one) back into a regimen file (TOML).

    The regimen is checked by chemo's own checks (as `chemo validate` checks a file) before it is
    written; a problem names the JSON element it came from, e.g.
    PlanDefinition.contained[2].dosage[0].doseAndRate[0].doseQuantity.code.

    Exit codes: 0 written; 2 the file unreadable, not a regimen's FHIR, or the regimen invalid.
    """
    from .errors import RegimenError
    from .fhir.importing import import_regimen, read_json

    name = str(file)
    try:
        data = file.read_bytes()
    except IsADirectoryError:
        raise RegimenError("is a folder, expected a FHIR JSON file", file=name) from None
    except FileNotFoundError:
        raise RegimenError("no such file", file=name) from None
    except OSError as exc:
        raise RegimenError(f"cannot read: {exc.strerror or exc}", file=name) from None
    _write(out, import_regimen(read_json(data, name), name))


def _write(out, text: str) -> None:
    if out is None:
        click.echo(text, nl=False)
        return
    from .errors import ChemoError

    try:
        Path(out).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ChemoError(f"cannot write: {exc.strerror or exc}", file=str(out)) from None
