"""``chemo allergy`` and ``chemo labels``: a patient's allergies, and the compounding labels of a day."""

from __future__ import annotations

import click

from .cli import emit_json
from .cli_options import db_option, json_option, open_record, signed_in, user_option, with_exit_codes


@click.group(help=with_exit_codes("Record and list a patient's allergies. An allergy to a drug of a cycle, or to its class in "
                                  "the drug library, refuses the dose sign-off unless a pharmacist overrides it with a reason."))
def allergy():
    pass


@allergy.command("add", help=with_exit_codes(
    "Record an allergy of MRN to SUBSTANCE (a drug or alias of the library, a drug class such as "
    "'anthracycline', or any other substance, kept as written). Any registered user."))
@click.argument("mrn")
@click.argument("substance")
@click.option("--reaction", required=True, help='What happened, e.g. "anaphylaxis", "rash".')
@click.option("--severity", type=click.Choice(["mild", "moderate", "severe", "life-threatening"],
                                              case_sensitive=False), default=None)
@db_option
@user_option
@json_option
def allergy_add(mrn, substance, reaction, severity, db_path, user, as_json):
    from .allergies import add_allergy, describe

    with signed_in(db_path, user) as (store, actor):
        row = add_allergy(store, actor, mrn, substance, reaction, severity)
    if as_json:
        emit_json({k: v for k, v in row.items() if k != "patient_id"})
        return
    click.echo(f"{mrn}: allergy {describe(row)}")


@allergy.command("list", help=with_exit_codes("List the allergies of MRN."))
@click.argument("mrn")
@db_option
@json_option
def allergy_list(mrn, db_path, as_json):
    from .allergies import describe, list_allergies

    with open_record(db_path, create=False) as store:
        rows = list_allergies(store, mrn)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo(f"{mrn}: no allergies recorded")
    for r in rows:
        click.echo(f"{mrn}: {describe(r)} (recorded {r['recorded_at'][:16].replace('T', ' ')} by {r['recorded_by']})")


@click.command(help=with_exit_codes(
    "Write the compounding labels of day D of cycle N (one per bag or syringe of the dose sign-off, with the "
    "patient, MRN, drug, mg, volume, diluent, route, rate, expiry and a QR code carrying MRN, cycle, day, drug, mg, "
    "time and the sign-off's audit hash; scanned back with 'chemo administer --scan'). Refused without a dose "
    "sign-off."))
@click.argument("mrn")
@click.option("--cycle", type=int, required=True)
@click.option("--day", type=int, required=True)
@click.option("--out", "out_path", required=True, metavar="FILE.pdf", help="The label sheet (A4, 8 labels a page).")
@db_option
@json_option
def labels(mrn, cycle, day, out_path, db_path, as_json):
    from .labels import day_labels, write

    with open_record(db_path, create=False) as store:
        found = day_labels(store, mrn, cycle, day)
    write(found, out_path)
    if as_json:
        emit_json({"out": str(out_path), "labels": [
            {"drug": x.item.drug, "dose_mg": x.item.dose_mg, "at": x.item.at, "code": x.payload,
             "expires": x.expiry.isoformat() if x.expiry else None} for x in found]})
        return
    click.echo(f"{mrn}: cycle {cycle} day {day}: {len(found)} labels written to {out_path}")
