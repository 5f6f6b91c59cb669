"""The prescription commands: ``chemo prescribe`` (a prescriber's order of one cycle) and ``chemo orders show``.

The order is verified against the record (:mod:`chemo.prescription`); a hard stop is refused with the
verification printed, review lines need ``--reason``.  Exit codes as the other record commands: 0 done,
1 refused, 2 bad input, 3 the database cannot be used.
"""

from __future__ import annotations

import click

from .cli import command_line_words, emit_json
from .cli_options import db_option, json_option, open_record, signed_in, user_option, with_exit_codes


def _verification_lines(v) -> list[str]:
    out = []
    for f in v.findings:
        out.append(f"  {f.status.upper():9}  {f.message} [{f.reason}]")
    for line in v.lines:
        reasons = f" [{', '.join(line.reasons)}]" if line.reasons else ""
        out.append(f"  {line.status.upper():9}  {line.message}{reasons}")
    return out


@click.command(help=with_exit_codes(
    "Prescribe one cycle (a prescriber). Without --line the order is the calculated doses at the dose level; "
    "each --line \"DRUG DAY DOSE\" (\"ifosfamide 1 1950 mg\") replaces the calculated dose of its drug and day; "
    "--from ORDER.toml gives every line (the file may name the patient with mrn = \"...\"). The order is "
    "verified against the record (the plan's regimen and dosing body size, the newest height and weight, "
    "bands, the cap): a hard stop (overdose, record-mismatch, ...) is refused with the verification printed; "
    "review lines need --reason. A new order of a cycle supersedes the old one (both kept, audited)."))
@click.argument("mrn")
@click.option("--cycle", type=int, required=True)
@click.option("--dose-level", "dose_level", multiple=True, metavar="L|DRUG=L",
              help="0 full dose (default), -1 one step down for every drug, or DRUG=LEVEL (repeatable).")
@click.option("--line", "lines", multiple=True, metavar='"DRUG DAY DOSE"',
              help='A line of the order, e.g. "ifosfamide 1 1950 mg" (repeatable).')
@click.option("--from", "order_file", default=None, metavar="ORDER.toml", help="The order as a file.")
@click.option("--reason", default=None, help="Why (needed for review lines, a band not met, a cap passed).")
@db_option
@user_option
@json_option
def prescribe(mrn, cycle, dose_level, lines, order_file, reason, db_path, user, as_json):
    from .prescription import PrescriptionRefused, prescribe as write

    try:
        with signed_in(db_path, user) as (store, actor):
            row = write(store, actor, mrn, cycle, dose_level=tuple(dose_level), lines=tuple(lines),
                        order_path=order_file, reason=reason)
    except PrescriptionRefused as exc:
        if exc.verification is not None:
            if as_json:
                emit_json({"refused": command_line_words(exc), "verification": exc.verification.as_json()})
            else:
                click.echo("\n".join(_verification_lines(exc.verification)))
        raise
    v = row.pop("verification")
    if as_json:
        from .prescription import as_dict

        emit_json({**as_dict(row, row["id"]), "notes": row["notes"], "superseded": row["superseded"],
                   "verification": v.as_json()})
        return
    head = f"{mrn}: cycle {cycle} prescribed by {row['prescribed_by']} (prescription {row['id']}, {row['status']})"
    if row["superseded"]:
        head += f"; supersedes prescription {row['superseded']}"
    click.echo(head)
    click.echo("\n".join(_verification_lines(v)))
    for note in row["notes"]:
        click.echo(f"  NOTE: {note}")
    if row["reason"]:
        click.echo(f"  reason: {row['reason']}")


@click.group(help=with_exit_codes("Prescriptions in the record."))
def orders():
    pass


@orders.command("show", help=with_exit_codes("Every prescription of a patient (of one cycle), oldest first; the standing "
                                             "one of each cycle is marked."))
@click.argument("mrn")
@click.option("--cycle", type=int, default=None)
@db_option
@json_option
def orders_show(mrn, cycle, db_path, as_json):
    from .prescription import orders as listed

    with open_record(db_path, create=False) as store:
        rows = listed(store, mrn, cycle)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo(f"{mrn}: no prescriptions" + (f" for cycle {cycle}" if cycle else ""))
        return
    for p in rows:
        mark = "STANDING" if p["standing"] else "superseded" if p["plan_id"] else ""
        click.echo(f"prescription {p['id']}  cycle {p['cycle']}  {mark}  {p['status']}  level {p['dose_level']}  "
                   f"by {p['prescribed_by']} at {p['prescribed_at']}" + (f"  reason: {p['reason']}" if p['reason'] else ""))
        for x in p["lines"]:
            mg = "-" if x["dose_mg"] is None else f"{x['dose_mg']:g} mg"
            click.echo(f"    day {x['day']:>2}  {x['drug']:<12} {mg:>12}  {x['status']}")
