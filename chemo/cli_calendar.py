"""The treatment calendar's commands: ``chemo plan show``, ``chemo delay``, ``chemo override``.

Exit codes as every record command (:mod:`chemo.cli_record`): 0 done, 1 refused, 2 bad input, 3 database.
``chemo --help`` imports none of this (the group loads a command's module when it runs); the calendar engine is
light (no pint), and its reasons are click's choices.
"""

from __future__ import annotations

import click

from .calendar import REASONS
from .cli import emit_json
from .errors import MIN_REASON
from .cli_options import db_option, json_option, open_record, signed_in, user_option, with_exit_codes


def calendar_lines(cal) -> list[str]:
    """The calendar as ``chemo plan show`` prints it."""
    from .calendar_text import delay_words, due_words, given_words, next_words

    out = [f"{cal.mrn}: plan {cal.plan_id} {cal.regimen_id} from {cal.start_date.isoformat()}, every "
           f"{cal.cycle_length_days} days; a cycle may be given {cal.early_window_days} days before it is due "
           f"({cal.early_window_source.split(':')[0]}); today {cal.today.isoformat()}"]
    for c in cal.cycles:
        out.append(f"  cycle {c.cycle}  {c.status.upper():<12} {due_words(c)}")
        if c.days_given:
            out.append("           given: " + given_words(c))
        out.extend("           " + delay_words(d, at=True) for d in c.delays)
    out.append(next_words(cal))
    return out


@click.command("show", help=with_exit_codes(
    "Print the plan's calendar: each cycle's due date (the previous cycle's day 1 + "
    "the cycle length), the days given, delays with their reasons, what is next."))
@click.argument("mrn")
@db_option
@json_option
def plan_show(mrn, db_path, as_json):
    from .calendar import for_patient

    with open_record(db_path, create=False) as store:
        cal = for_patient(store, mrn)
    if as_json:
        emit_json(cal.as_json())
        return
    click.echo("\n".join(calendar_lines(cal)))


@click.command(help=with_exit_codes(
    "Move a cycle's day 1 to a later date, with a reason (any registered user); later cycles move with it. "
    "A date before the date it is due brings the cycle forward: a prescriber only, with --note."))
@click.argument("mrn")
@click.option("--cycle", type=int, required=True)
@click.option("--to", "to", required=True, metavar="YYYY-MM-DD", help="The cycle's new day 1.")
@click.option("--reason", required=True, type=click.Choice(REASONS))
@click.option("--note", default=None, help="Free text kept with the reason.")
@db_option
@user_option
@json_option
def delay(mrn, cycle, to, reason, note, db_path, user, as_json):
    from .calendar import delay as move

    with signed_in(db_path, user) as (store, actor):
        row = move(store, actor, mrn, cycle, to, reason, note)
    cal = row["calendar"]
    if as_json:
        emit_json({"cycle": row["cycle"], "kind": row["kind"], "from": row["due_date"], "to": row["to_date"],
                   "reason": row["reason"], "note": row["note"], "by": row["recorded_by"],
                   "calendar": cal.as_json()})
        return
    word = "delayed" if row["kind"] == "delay" else "brought forward"
    click.echo(f"{mrn}: cycle {cycle} {word} from {row['due_date']} to {row['to_date']} ({reason}"
               + (f": {note}" if note else "") + ")")
    for c in cal.cycles[cycle:]:
        click.echo(f"  cycle {c.cycle} now due {c.due.isoformat()}")


@click.command(help=with_exit_codes(
    "A prescriber lets one cycle through a failing readiness gate, with a reason (audited; shown on the "
    "readiness screen and the worksheet; the nurse's readiness sign-off records that it rests on it)."))
@click.argument("mrn")
@click.option("--cycle", type=int, required=True)
@click.option("--gate", "analyte", required=True, metavar="ANALYTE", help="The gate's analyte: hemoglobin, anc, ...")
@click.option("--reason", required=True, help=f"Why the cycle is given anyway (at least {MIN_REASON} characters).")
@db_option
@user_option
@json_option
def override(mrn, cycle, analyte, reason, db_path, user, as_json):
    from .calendar import override_gate

    with signed_in(db_path, user) as (store, actor):
        row = override_gate(store, actor, mrn, cycle, analyte, reason)
    if as_json:
        emit_json({k: row[k] for k in ("cycle", "analyte", "reason", "finding", "recorded_by", "recorded_at")})
        return
    click.echo(f"{mrn}: cycle {cycle}: the {analyte} gate is overridden by {row['recorded_by']}: {reason}")
    click.echo(f"  it failed: {row['finding']}")
