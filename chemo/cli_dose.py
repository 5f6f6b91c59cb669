"""``chemo dose`` and ``chemo verify``: a cycle's doses, and an order checked against them."""

from __future__ import annotations

import re

import click

from .cli import emit_json
from .dose_text import level_text, mg_text, protocol_text

OPTION_NAMES = {"height": "--height", "weight": "--weight", "bsa": "--bsa", "formula": "--formula",
                "cycle": "--cycle", "dose_level": "--dose-level", "regimen": "REGIMEN"}
_INT = re.compile(r"^\s*[+-]?\d+\s*$")


def _as_option(exc):
    """The same error, its field named as the command line spells it (``--height``)."""
    field = exc.field or ""
    head, _, rest = field.partition(".")
    if head in OPTION_NAMES:
        field = OPTION_NAMES[head] + (f" {rest}" if rest else "")
    error = type(exc)(exc.message, field=field or None, file=exc.file)
    error.exit_code = exc.exit_code
    return error


def _whole(text: str, option: str) -> int:
    from .errors import ChemoError

    if not _INT.match(text):
        raise ChemoError(f"{text!r} is not a whole number", field=option)
    return int(text)


def parse_dose_levels(values, regimen, library):
    """``--dose-level`` values: one whole number for every drug, and/or ``DRUG=LEVEL`` (repeatable)."""
    from .dose import parse_dose_levels as parse

    return parse(values or (), regimen, library, field="--dose-level")


@click.command()
@click.argument("regimen")
@click.option("--height", help='Height with its unit: "170 cm", "1.7 m", "5 ft 7 in".')
@click.option("--weight", help='Weight with its unit: "75 kg", "165 lb".')
@click.option("--bsa", help='A BSA given directly, "1.9 m²" (used instead of height and weight).')
@click.option("--cycle", default="1", show_default=True, help="The cycle number.")
@click.option("--dose-level", "dose_levels", multiple=True, metavar="L|DRUG=L",
              help="0 full dose, -1, -2 ... for every drug, or DRUG=LEVEL for one (repeatable): --dose-level anlotinib=-1.")
@click.option("--formula", default="mosteller", show_default=True,
              help="BSA formula: mosteller, dubois, haycock, gehan-george, boyd.")
@click.option("--cumulative", metavar="DOSE",
              help='Cumulative doxorubicin-equivalent dose before this cycle, "310 mg/m²": switches on the supportive '
                   'lines that need it (dexrazoxane); without it they are listed as not evaluated.')
@click.option("--json", "as_json", is_flag=True, help='Print {"regimen", "cycle", "bsa_m2", "formula", "doses": [...], '
              '"supportive": [...], "conditional": [...]}.')
def dose(regimen, height, weight, bsa, cycle, dose_levels, formula, as_json, cumulative=None):
    """Every dose of one cycle of REGIMEN for one patient.

    REGIMEN is an id from regimens/ (doxorubicin-ifosfamide, ...) or a path to a
    regimen file.  Give --height and --weight, or --bsa.  Doses are rounded to
    each drug's increment with the library's rounding mode, never by more than
    its tolerance.

    Exit codes: 0 computed, 2 bad input (one line naming the option).
    """
    from .dose import body_size, calculate_cycle
    from .errors import ChemoError
    from .library import load_library
    from .regimen import load_regimen

    try:
        library = load_library()
        reg = load_regimen(regimen, library)
        number = _whole(cycle, "--cycle")
        if bsa is None and (height is None or weight is None):
            missing = "--height" if height is None else "--weight"
            raise ChemoError("give --height and --weight, or --bsa", field=missing)
        levels = parse_dose_levels(dose_levels, reg, library)
        body = body_size(height, weight, bsa, formula, reg, library)
        cum = None
        if cumulative is not None:
            from .units import in_unit, parse_quantity

            cum = in_unit(parse_quantity(cumulative, "mg/m**2", field="--cumulative"), "mg/m**2")
        result = calculate_cycle(reg, body, number, levels, library, cumulative_mg_m2=cum)
    except ChemoError as exc:
        raise _as_option(exc) from None
    if as_json:
        from .bodysize import obesity_note

        obese = obesity_note(result.body.bmi)
        emit_json({**result.as_json(), "notes": [{"text": n.text, "source": n.source} for n in reg.notes]
                   + ([obese] if obese else [])})
        return
    click.echo(format_cycle(result, reg, bsa_given=bsa))


def format_cycle(result, regimen, bsa_given=None) -> str:
    """The cycle as a table a pharmacist checks line by line."""
    body = result.body
    out = [f"{result.regimen_id}: {result.regimen_name}",
           f"Cycle {result.cycle} of {result.cycles} (every {regimen.cycle_length_days} days); dose level {level_text(result.dose_level)}"]
    size = f"BSA {body.bsa_m2:.2f} m² ({body.formula}"
    if body.height_cm is not None and body.weight_kg is not None:
        size += f"; height {body.height_cm:g} cm, weight {body.weight_kg:g} kg"
    elif body.weight_kg is not None:
        size += f"; weight {body.weight_kg:g} kg"
    out.append(size + ")")
    if body.formula_m2 is not None:
        out.append(f"BSA given: height and weight would give {body.formula_m2:.2f} m² by {body.formula_name}; "
                   "the given BSA is used")
    if body.capped:
        out.append(f"BSA cap: {body.uncapped_m2:.2f} m² capped at {body.cap_m2:.2f} m² ({regimen.bsa_cap_source or 'regimen file'})")
    else:
        out.append("BSA cap: none (the regimen declares none)")
    from .bodysize import obesity_note

    obese = obesity_note(body.bmi)
    if obese:
        out.append(f"Dosing weight: {obese['text']} ({obese['source']})")
    out.append(f"Rounding: {result.rounding_mode} to each drug's increment, never more than "
               f"{result.tolerance * 100:g} % from the calculated dose (source: {result.rounding_source})")
    out.append("")
    header = ("Day", "Drug", "Protocol dose (as written)", "Level", "Calculated mg", "Dispensed mg", "Dev %", "Route")
    rows = []
    for a in result.administrations:
        rows.append((str(a.day), a.drug, protocol_text(a, regimen), a.level, f"{a.calculated_mg:.2f}", mg_text(a.dose_mg),
                     f"{a.deviation * 100:+.2f}", a.route))
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    right = {0, 4, 5, 6}

    def row(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out.append(row(header))
    out.append("  ".join("-" * w for w in widths))
    out += [row(r) for r in rows]
    out.append("")
    totals = result.totals_mg()
    out.append("Per-cycle totals (dispensed): " + ", ".join(f"{drug} {mg_text(mg)} mg" for drug, mg in totals.items()))
    notes = [f"{a.drug} day {a.day}: {a.note}" for a in result.administrations if a.note]
    notes += [f"{a.drug} day {a.day}: " + ", ".join(f"{mg_text(mg)} mg at {t}" for t, _, mg in a.schedule)
              for a in result.administrations if a.schedule]
    for line in regimen.drugs:
        if line.drug in totals and len(line.days) > 1:
            notes.append(f"{line.drug}: {line.describe()}")
    if notes:
        out.append("Notes:")
        out += [f"  {n}" for n in notes]
    out += supportive_lines(result)
    if regimen.notes:
        out.append("Supportive care and cautions (regimen file):")
        out += [f"  {n.text} ({n.source})" for n in regimen.notes]
    if result.warnings or result.supportive_warnings:
        out.append("WARNINGS:")
        out += [f"  {w}" for w in result.warnings + result.supportive_warnings]
    return "\n".join(out)


def supportive_lines(result) -> list[str]:
    """The cycle's supportive lines, day by day, for ``chemo dose``."""
    if not result.supportive and not result.conditional:
        return []
    from .library import load_library

    fluids = load_library().diluents
    out = [f"Supportive care (emetogenic class: {result.emetogenic_class or 'not stated'}):"]
    for s in result.supportive:
        if s.dose_mg is None:
            name = fluids[s.drug].name if s.drug in fluids else s.drug
            out.append(f"  day {s.day} {s.at}: {s.category}: {name} {s.basis}, {s.rate_ml_h:g} mL/h {s.route}"
                       + (f"; {s.target}" if s.target else ""))
            continue
        what = f"{mg_text(s.dose_mg)} mg ({s.basis}; calculated {s.calculated_mg:.2f} mg)"
        cond = f" [{s.condition}]" if s.condition else ""
        out.append(f"  day {s.day} {s.at}: {s.category}: {s.drug} {what} {s.route}{cond}")
    out += [f"  {c}" for c in result.conditional]
    return out


@click.command()
@click.argument("order_file", metavar="ORDER.toml")
@click.option("--json", "as_json", is_flag=True, help='Print {"status": worst, "lines": [{"drug", "day", "ordered_mg", "expected_mg", "status", "reasons", "message"}]}.')
@click.option("--db", "db_path", metavar="PATH|URL", default=None,
              help="The record an order naming its patient (mrn = \"...\") is checked against (default: $CHEMO_DB, "
                   "else chemo.db in the user's data folder); unused for an order without mrn.")
def verify(order_file, as_json, db_path):
    """Check an order file against the regimen's doses for this patient.

    Each line gets a status (ok, review, hard-stop) and reason codes:
    deviation, decimal-error, per-cycle-as-daily, basis-confusion, over-max,
    wrong-drug, missing-drug, unit-error, wrong-day, duplicate, overdose
    (hard stop: more than the drug library's limit above the calculated
    dose).  An order with mrn = "..." is also checked against the record:
    its height, weight and BSA differing from the patient's by the
    recalculation threshold is the hard stop record-mismatch.  The format
    is in docs/order-format.md.

    Exit codes: 0 all lines ok, 1 the worst is review, 3 any hard stop,
    2 the order file cannot be read (one line naming the field).
    """
    from .verify import verify_file

    result = verify_file(order_file)
    if result.order.mrn is not None:
        from .db import open_store
        from .prescription import record_check

        with open_store(db_path, create=False) as store:
            result = record_check(store, result, result.order.mrn)
    if as_json:
        emit_json(result.as_json())
    else:
        click.echo(format_verification(result))
    raise click.exceptions.Exit(result.exit_code)


def format_verification(result) -> str:
    cycle = result.cycle
    body = cycle.body
    out = [f"{result.order.path}: {cycle.regimen_id} cycle {cycle.cycle} of {cycle.cycles}, "
           f"dose level {level_text(cycle.dose_level)}, BSA {body.bsa_m2:.2f} m² ({body.formula})"
           + (f", capped from {body.uncapped_m2:.2f} m²" if body.capped else "")]
    out.append(f"Tolerance {cycle.tolerance * 100:g} % of the calculated dose (exactly {cycle.tolerance * 100:g} % is ok)")
    out.append("")
    for finding in result.findings:
        out.append(f"{finding.status.upper():9}  {finding.message} [{finding.reason}]")
    for line in result.lines:
        reasons = f" [{', '.join(line.reasons)}]" if line.reasons else ""
        out.append(f"{line.status.upper():9}  {line.message}{reasons}")
    counts = result.counts()
    out.append("")
    out.append(f"Result: {result.status} ({counts['hard-stop']} hard stop, {counts['review']} review, {counts['ok']} ok)")
    out.append("Sources:")
    out += [f"  {what}: {src}" for what, src in result.sources]
    return "\n".join(out)
