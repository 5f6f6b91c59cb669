"""Toxicity, the next cycle's suggestion and relative dose intensity: ``chemo toxicity add|list``,
``chemo next``, ``chemo rdi`` and ``chemo report rdi``.  Exit codes as the other record commands."""

from __future__ import annotations

import click

from .cli import emit_json
from .cli_options import db_option, json_option, open_record, signed_in, user_option, with_exit_codes


@click.group(help=with_exit_codes("Adverse events by CTCAE v5.0 term and grade, per cycle (recorded and derived from labs)."))
def toxicity():
    pass


@toxicity.command("add", help=with_exit_codes(
    "Record an adverse event of a cycle (a prescriber or a nurse): a CTCAE v5.0 term of "
    "regimens/library/ctcae.toml (febrile-neutropenia, encephalopathy, hematuria, hypertension, proteinuria, "
    "palmar-plantar-erythrodysesthesia (hand-foot syndrome), ...) and a grade CTCAE defines for it; grade 0 "
    "records that the event has resolved (a held drug resumes)."))
@click.argument("mrn")
@click.option("--cycle", type=int, required=True, help="The cycle the event followed.")
@click.option("--term", required=True, help="CTCAE v5.0 term (its id, its name or an alias).")
@click.option("--grade", required=True, help="CTCAE grade 1-5 as the term defines them (0: resolved).")
@click.option("--at", default=None, metavar="DATETIME", help="When it occurred, YYYY-MM-DDTHH:MM (default now).")
@click.option("--note", default=None, metavar="TEXT", help="A note (what was seen, what was done).")
@db_option
@user_option
@json_option
def toxicity_add(mrn, cycle, term, grade, at, note, db_path, user, as_json):
    from .toxicity import add_event

    with signed_in(db_path, user) as (store, actor):
        row = add_event(store, actor, mrn, cycle=cycle, term=term, grade=grade, at=at, note=note)
    if as_json:
        emit_json({k: row[k] for k in ("id", "cycle", "term", "term_text", "grade", "grade_text", "ctcae_version",
                                       "occurred_at", "note", "recorded_by")})
        return
    click.echo(f"{mrn}: cycle {cycle}: {row['term_text']} grade {row['grade']} ({row['grade_text']}) at "
               f"{row['occurred_at']} recorded by {row['recorded_by']} ({row['ctcae_version']})")


@toxicity.command("list", help=with_exit_codes(
    "Every event of the active plan in time order: recorded ones, and grades derived from lab results where "
    "CTCAE defines the grade by value (marked DERIVED, with the result they came from)."))
@click.argument("mrn")
@db_option
@json_option
def toxicity_list(mrn, db_path, as_json):
    from .toxicity import events

    with open_record(db_path, create=False) as store:
        data = events(store, mrn)
    if as_json:
        emit_json(data)
        return
    click.echo(f"{mrn}: {data['regimen']}, {data['ctcae']}")
    if not data["events"]:
        click.echo("  no events")
    for e in data["events"]:
        when = e["at"][:16].replace("T", " ")
        head = f"  cycle {e['cycle']}  {when}  {e['term_text']} grade {e['grade']}"
        if e["kind"] == "derived":
            lab = e["lab"]
            base = f", baseline {lab['baseline']:g} {lab['unit']}" if lab["baseline"] is not None else ""
            click.echo(f"{head}  DERIVED from {lab['analyte']} {lab['value_text']}{base} ({'; '.join(lab['rows'])})")
        else:
            note = f"  note: {e['note']}" if e["note"] else ""
            click.echo(f"{head}  recorded by {e['recorded_by']}{note}")
        if e["grade_text"]:
            click.echo(f"      {e['grade_text']}")


@click.command("next", help=with_exit_codes(
    "The next cycle's suggested dose level (or hold or stop) for each drug, from the previous cycles' events "
    "and the rules of regimens/library/toxicity-rules.toml, with every rule that fired, the event and grade "
    "behind it and its source. A level once lowered stays lowered unless a prescriber raises it with a reason."))
@click.argument("mrn")
@db_option
@json_option
def next_cycle(mrn, db_path, as_json):
    from .modification import for_patient

    with open_record(db_path, create=False) as store:
        s = for_patient(store, mrn)
    if as_json:
        emit_json(s.as_json())
        return
    click.echo("\n".join(s.lines()))


def rdi_lines(r) -> list[str]:
    from .rdi import points

    out = [f"{r.mrn}: relative dose intensity, {r.regimen}, {r.planned_cycles} cycles of {r.cycle_length_days} days "
           f"from {r.start_date}"]
    for d in r.drugs:
        flag = f"  BELOW {d.target_pct:g} %" if d.below_target else ""
        state = "" if d.complete else f" (cycles 1-{d.cycles_counted} so far)" if d.cycles_counted else " (none given)"
        if d.rdi_pct is None:
            out.append(f"  {d.drug:<12} RDI -  (none given; planned {d.planned_intensity:.2f} {d.basis}/week)")
            continue
        out.append(f"  {d.drug:<12} RDI {d.rdi_pct:5.1f} %{flag}{state}")
        out.append(f"      planned {d.planned_total:g} {d.basis} over {d.planned_weeks:g} weeks = "
                   f"{d.planned_intensity:.2f} {d.basis}/week; delivered {d.delivered_total:.2f} {d.basis} over "
                   f"{d.actual_weeks:.2f} weeks = {d.delivered_intensity:.2f} {d.basis}/week")
        out.append(f"      points lost: delay {points(d.lost_delay)}, reduction {points(d.lost_reduction)}, "
                   f"omission {points(d.lost_omission)}")
    for cycle, late, reasons in r.delays:
        why = f": {'; '.join(reasons)}" if reasons else ""
        out.append(f"  cycle {cycle} started {late} days late{why}")
    return out


@click.command("rdi", help=with_exit_codes(
    "Relative dose intensity per drug: planned dose intensity (mg/m² per week from the regimen and the plan's "
    "dates) against delivered (the per-day ledger, each day's BSA and date), RDI %, and the points lost to "
    "delay, reduction and omission."))
@click.argument("mrn")
@db_option
@json_option
def rdi(mrn, db_path, as_json):
    from .rdi import for_patient

    with open_record(db_path, create=False) as store:
        r = for_patient(store, mrn)
    if as_json:
        emit_json(r.as_json())
        return
    click.echo("\n".join(rdi_lines(r)))


CSV_COLUMNS = ("mrn", "regimen", "drug", "unit", "planned_intensity", "delivered_intensity", "rdi_pct",
               "below_85", "lost_delay", "lost_reduction", "lost_omission", "cycles_counted", "planned_cycles",
               "complete")


def cohort_rows(store) -> list[dict]:
    from .rdi import cohort

    rows = []
    for patient, r in cohort(store):
        for d in r.drugs:
            rows.append({"mrn": patient["mrn"], "regimen": r.regimen, "drug": d.drug, "unit": f"{d.basis}/week",
                         "planned_intensity": round(d.planned_intensity, 4),
                         "delivered_intensity": round(d.delivered_intensity, 4), "rdi_pct": None if d.rdi_pct is None else round(d.rdi_pct, 2),
                         "below_85": d.below_target, "lost_delay": round(d.lost_delay, 2),
                         "lost_reduction": round(d.lost_reduction, 2), "lost_omission": round(d.lost_omission, 2),
                         "cycles_counted": d.cycles_counted, "planned_cycles": r.planned_cycles,
                         "complete": d.complete})
    return rows


@click.group(help=with_exit_codes("Reports over every patient of the record."))
def report():
    pass


@report.command("rdi", help=with_exit_codes(
    "Relative dose intensity of every patient with an active plan: one row per patient and drug, RDI below "
    "the library's target flagged ([rdi] of toxicity-rules.toml: 85 % as shipped; the column keeps the name "
    "below_85). --csv prints the columns " + ", ".join(CSV_COLUMNS) + "."))
@db_option
@json_option
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV with a header row.")
def report_rdi(db_path, as_json, as_csv):
    if as_json and as_csv:
        raise click.UsageError("give --json or --csv, not both")
    with open_record(db_path, create=False) as store:
        rows = cohort_rows(store)
    if as_json:
        emit_json(rows)
        return
    if as_csv:
        import csv
        import sys

        writer = csv.DictWriter(sys.stdout, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (str(v).lower() if isinstance(v, bool) else v) for k, v in row.items()})
        return
    click.echo(f"{'MRN':<12} {'drug':<12} {'RDI %':>6}  {'delay':>5} {'reduct':>6} {'omit':>5}  cycles")
    for r in rows:
        flag = "  BELOW TARGET" if r["below_85"] else ""
        pct = "-" if r["rdi_pct"] is None else f"{r['rdi_pct']:.1f}"
        click.echo(f"{r['mrn']:<12} {r['drug']:<12} {pct:>6}  {r['lost_delay']:5.1f} "
                   f"{r['lost_reduction']:6.1f} {r['lost_omission']:5.1f}  {r['cycles_counted']}/{r['planned_cycles']}"
                   f"{flag}")
