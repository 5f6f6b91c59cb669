"""``chemo validate`` and ``chemo bsa``."""

from __future__ import annotations

import click

from .cli import emit_json


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print an array of {file, path, message}.")
@click.option("--strict", is_flag=True,
              help="Also require each regimen file's own version (version = \"1.0\"), as a governed document must.")
def validate(paths, as_json, strict):
    """Check regimen and library files: units, doses, days, thresholds.

    PATHS are files or folders (folders are searched for *.toml).  Every
    problem is printed, one line each, as FILE: FIELD.PATH: message.
    With --strict a regimen file without its own version is invalid too.

    Exit codes: 0 all valid, 1 any invalid, 2 usage error.
    """
    from .validate import validate_paths

    files, problems = validate_paths(paths, strict)
    if as_json:
        emit_json([p.as_json() for p in problems])
    else:
        for problem in problems:
            click.echo(str(problem))
        bad = len({p.file for p in problems})
        summary = f"{len(files)} file{'s' * (len(files) != 1)} checked, {bad} invalid, {len(problems)} problem{'s' * (len(problems) != 1)}"
        click.echo(summary, err=bool(problems))
    if not files:
        click.echo("chemo: no .toml files found in " + ", ".join(paths), err=True)
        raise click.exceptions.Exit(2)
    if problems:
        raise click.exceptions.Exit(1)


FORMULAS = ("mosteller", "dubois", "haycock", "gehan-george", "boyd")


@click.command()
@click.option("--height", required=True, help='Height with its unit: "170 cm", "1.7 m", "5 ft 7 in".')
@click.option("--weight", required=True, help='Weight with its unit: "75 kg", "165 lb".')
@click.option("--formula", default="mosteller", show_default=True, type=click.Choice(FORMULAS, case_sensitive=False))
@click.option("--json", "as_json", is_flag=True, help='Print {"formula": ..., "bsa_m2": ..., "bmi": ..., "notes": [...]}.')
def bsa(height, weight, formula, as_json):
    """Body surface area from height and weight.

    Height and weight are checked against each other: a BMI outside the plausible adult range, or a BSA
    outside the range a BSA given directly must meet, is refused; at a BMI of 30 or more the ASCO 2021 note
    (full weight-based dosing, no routine cap) is printed.

    Exit codes: 0 computed, 2 impossible or implausible input.
    """
    from .bodysize import bsa as compute, check_pair, height_cm, obesity_note, weight_kg

    area = compute(height, weight, formula.lower()).to("m**2").magnitude
    h, w = height_cm(height), weight_kg(weight)
    index = check_pair(h, w, area, formula.lower())  # the plausibility of a BSA given, and the BMI
    obese = obesity_note(index)
    if as_json:
        emit_json({"formula": formula.lower(), "bsa_m2": round(area, 4), "height_cm": round(h, 2),
                   "weight_kg": round(w, 3), "bmi": round(index, 1), "notes": [obese] if obese else []})
    else:
        click.echo(f"BSA {area:.2f} m² ({formula.lower()}; height {h:.1f} cm, weight {w:.1f} kg)")
        if obese:
            click.echo(f"{obese['text']} ({obese['source']})")
