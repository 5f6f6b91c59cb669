"""The patient-record commands: patient, measure, labs, prior, plan, readiness,
user, signoff, administer, cumulative, worksheet, audit, demo.

Every command takes ``--db PATH`` (else ``$CHEMO_DB``, else the user's data
folder) and every write takes ``--user LOGIN`` (else ``$CHEMO_USER``, else the
login name).  Exit codes, the same for every command:

  0  done (readiness: READY; audit verify: intact)
  1  refused: a role, the two-person rule, the anthracycline cap, not ready,
     a missing sign-off (readiness: NOT READY; audit verify: broken)
  2  bad input: unknown patient, a unit that does not fit, an impossible
     value, a regimen file that does not validate
  3  the database cannot be used (busy, not a database)

Nothing is written when the exit code is not 0.  The engine modules (and with
them pint) are imported inside the commands, so that
``chemo --help`` stays fast.
"""

from __future__ import annotations

import click

from .cli import command_line_words, emit_json
from .cli_options import db_option, json_option, open_record, signed_in, user_option, with_exit_codes

# ------------------------------------------------------------------ patient

@click.group(help=with_exit_codes("Register, list and show patients."))
def patient():
    pass


@patient.command("add", help=with_exit_codes("Register a patient with a first height and weight (prescriber or pharmacist)."))
@click.option("--mrn", required=True, help="Medical record number (identifier).")
@click.option("--name", required=True)
@click.option("--sex", required=True, type=click.Choice(["female", "male"], case_sensitive=False))
@click.option("--born", required=True, metavar="YYYY-MM-DD")
@click.option("--height", required=True, help='With its unit: "170 cm", "5 ft 7 in".')
@click.option("--weight", required=True, help='With its unit: "75 kg", "165 lb".')
@click.option("--date", "on", default=None, metavar="YYYY-MM-DD", help="Date of the measurement (default today).")
@db_option
@user_option
@json_option
def patient_add(mrn, name, sex, born, height, weight, on, db_path, user, as_json):
    from .records import add_patient

    with signed_in(db_path, user) as (store, actor):
        row = add_patient(store, actor, mrn=mrn, name=name, sex=sex.lower(), born=born, height=height, weight=weight,
                          measured_on=on)
    if as_json:
        emit_json({k: row[k] for k in ("mrn", "name", "sex", "born", "height_cm", "weight_kg")})
    else:
        click.echo(f"registered {row['mrn']} {row['name']} ({row['sex']}, born {row['born']}); "
                   f"height {row['height_cm']:.1f} cm, weight {row['weight_kg']:.1f} kg")


@patient.command("list", help=with_exit_codes("List the registered patients."))
@db_option
@json_option
def patient_list(db_path, as_json):
    from .records import list_patients

    with open_record(db_path, create=False, may_lag=True) as store:
        rows = list_patients(store)
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        click.echo(f"{r['mrn']:<16} {r['name']:<32} {r['sex']:<6} born {r['born']}")
    click.echo(f"{len(rows)} patient{'s' * (len(rows) != 1)}", err=True)


@patient.command("show", help=with_exit_codes("Show one patient: body size, plans, prior exposure."))
@click.argument("mrn")
@db_option
@json_option
def patient_show(mrn, db_path, as_json):
    from .records import patient_summary

    with open_record(db_path, create=False) as store:
        s = patient_summary(store, mrn)
    if as_json:
        emit_json(s)
        return
    p, b = s["patient"], s["body"]
    click.echo(f"{p['mrn']}  {p['name']}  {p['sex']}, born {p['born']} ({s['age_years']} years)")
    if b["weight_kg"] is not None:
        click.echo(f"  weight {b['weight_kg']:.1f} kg ({b['weight_on']})"
                   + (f", height {b['height_cm']:.1f} cm ({b['height_on']})" if b["height_cm"] else ""))
    for plan in s["plans"]:
        click.echo(f"  plan {plan['id']}: {plan['regimen_id']} from {plan['start_date']}, {plan['planned_cycles']} "
                   f"cycles, dosing weight {plan['dosing_weight_kg']:.1f} kg [{plan['status']}]")
    for prior in s["prior_exposure"]:
        click.echo(f"  prior {prior['drug']} {prior['dose_text']}" + (f" ({prior['note']})" if prior["note"] else ""))
    click.echo(f"  {s['labs']} lab results, {s['administrations']} administrations")


# ------------------------------------------------------------------ measure

@click.command(help=with_exit_codes(
    "Record a weight (and height) for a patient (prescriber, pharmacist or nurse). Warns when the weight moved by the "
    "recalculation threshold from the previous weight or the active plan's dosing weight; refuses (exit 1) a "
    "change beyond the plausible limit within its window unless --confirm is given, and a weight that with the "
    "height gives a BMI outside the plausible adult range (exit 2)."))
@click.argument("mrn")
@click.option("--weight", required=True, help='With its unit: "75 kg".')
@click.option("--height", default=None, help='With its unit: "170 cm".')
@click.option("--date", "on", default=None, metavar="YYYY-MM-DD", help="Default today.")
@click.option("--confirm", is_flag=True,
              help="Record a weight that moved by the plausible change limit or more within its window "
                   "(regimens/library/body-size.toml [plausibility]); the confirmation is audited.")
@db_option
@user_option
@json_option
def measure(mrn, weight, height, on, confirm, db_path, user, as_json):
    from .records import add_measurement

    with signed_in(db_path, user) as (store, actor):
        row = add_measurement(store, actor, mrn, weight=weight, height=height, on=on, confirm=confirm)
    if as_json:
        emit_json({k: row[k] for k in ("measured_on", "weight_text", "weight_kg", "height_text", "height_cm",
                                       "warnings", "confirmed")})
    else:
        click.echo(f"{mrn}: weight {row['weight_kg']:.1f} kg" +
                   (f", height {row['height_cm']:.1f} cm" if row["height_cm"] else "") + f" on {row['measured_on']}"
                   + (" (change confirmed)" if row["confirmed"] else ""))
        for w in row["warnings"]:
            click.echo(f"  WARNING {w}")


# ------------------------------------------------------------------ labs

@click.group(help=with_exit_codes("Record, import (FHIR R4, HL7 v2 ORU^R01) and show lab results."))
def labs():
    pass


@labs.command("add", context_settings={"ignore_unknown_options": True}, help=with_exit_codes(
    'Record a lab result (any registered user). VALUE with its unit: "1.2 10^9/L", "1200 /uL", "5.4 mmol/L". '
    "Analytes: hemoglobin, anc, wbc, platelets, bilirubin, alt, ast, creatinine, egfr, crcl, lvef (and aliases)."))
@click.argument("mrn")
@click.argument("analyte")
@click.argument("value")
@click.option("--uln", default=None, help="Upper limit of normal of this result (a bare number takes VALUE's unit).")
@click.option("--range", "range_text", default=None, help='Reference range, e.g. "0.3-1.2 mg/dL" (its top is the ULN).')
@click.option("--at", default=None, metavar="DATETIME", help="Collection time, YYYY-MM-DDTHH:MM (default now).")
@db_option
@user_option
@json_option
def labs_add(mrn, analyte, value, uln, range_text, at, db_path, user, as_json):
    from .records import add_lab

    with signed_in(db_path, user) as (store, actor):
        row = add_lab(store, actor, mrn, analyte, value, uln=uln, range_text=range_text, at=at)
    if as_json:
        emit_json({k: row[k] for k in ("analyte", "value_text", "value", "unit", "uln_text", "uln", "collected_at")})
    else:
        uln_text = f", ULN {row['uln_text']}" if row["uln_text"] else ""
        click.echo(f"{mrn}: {row['analyte']} {row['value_text']} (= {row['value']:.4g} {row['unit']}{uln_text}) "
                   f"collected {row['collected_at']}")


@labs.command("show", help=with_exit_codes("Show a patient's lab results, newest first."))
@click.argument("mrn")
@db_option
@json_option
def labs_show(mrn, db_path, as_json):
    from .records import list_labs

    with open_record(db_path, create=False) as store:
        rows = list_labs(store, mrn)
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        uln = f"  ULN {r['uln_text']}" if r["uln_text"] else ""
        where = ("" if r["source"] == "typed" else
                 f"  [{r['source'].upper()} {r['source_message'] if r['source'] == 'hl7' else r['source_id']}]")
        state = "" if r["status"] == "final" else f"  {r['status']}"
        state += f"  superseded by row {r['superseded_by']}" if r["superseded_by"] else ""
        cmp = r.get("comparator") or ""  # a censored value: the bound, below or above which the value lies
        click.echo(f"{r['collected_at'].replace('T', ' ')[:16]}  {r['analyte']:<11} {cmp + r['value_text']:<18} "
                   f"= {cmp}{r['value']:.4g} {r['unit']}{uln}{where}{state}")


def site_option(f):
    return click.option("--site", "site_file", default=None, metavar="PATH",
                        help="The site file: this centre's MRN issuers (default: $CHEMO_SITE, else chemo-site.toml "
                             "beside the database).")(f)


@labs.command("import", help=
    "Import lab results from the laboratory system: FHIR R4 JSON (an Observation, a DiagnosticReport with "
    "contained Observations, or a Bundle) or HL7 v2 ORU^R01 messages. Patients are matched by MRN and its issuer "
    "(the site file), analytes by LOINC code, units are UCUM or a spelling of regimens/library/lab-units.toml. "
    "Each file is imported whole in one transaction; a result imported before is a duplicate; a corrected result "
    "replaces the old one (both kept); preliminary, cancelled and entered-in-error results never count for "
    "readiness. A result of a test no analyte of chemo uses is ignored: counted, listed with --verbose.\n\n"
    "Exit codes: 0 every used result imported or a duplicate (ignored results do not count); 1 any result "
    "refused (the rest imported); 2 a file that cannot be read (nothing of it imported) or a wrong site file; "
    "3 database unusable.")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check and report, write nothing.")
@click.option("--verbose", "-v", is_flag=True, help="List ignored results too.")
@site_option
@db_option
@user_option
@json_option
def labs_import(files, dry_run, verbose, site_file, db_path, user, as_json):
    from .labs.importer import import_files, store_site

    with signed_in(db_path, user, create=False) as (store, actor):  # the database user (or a login mapped to it), as every command
        site = store_site(store, site_file)
        reports = import_files(store, actor, files, dry_run=dry_run, site=site)
    rows = []
    for report in reports:
        if report.error:
            click.echo(f"chemo: {report.file}: {report.error} (nothing imported)", err=True)
            rows.append({"mrn": None, "analyte": None, "value": None, "unit": None, "at": None, "status": "unreadable",
                         "source_id": None, "message": report.error, "file": report.file})
            continue
        for o in report.outcomes:
            rows.append(o.as_json())
            if not as_json and (verbose or o.outcome != "ignored"):
                click.echo(f"{report.file}: {o.line()}")
    if as_json:
        emit_json(rows)
    if dry_run:
        click.echo("dry run: nothing written", err=True)
    for report in reports:
        refused = sum(1 for o in report.outcomes if o.outcome == "refused")
        ignored = sum(1 for o in report.outcomes if o.outcome == "ignored")
        if ignored and not as_json:
            click.echo(f"{report.file}: {ignored} ignored (tests no analyte of chemo uses"
                       f"{'' if verbose else '; --verbose lists them'})")
        if refused:
            used = len(report.outcomes) - ignored
            rest = ("nothing imported" if refused == used else
                    "nothing written: dry run" if dry_run else "the rest imported or already in the record")
            click.echo(f"chemo: {report.file}: {refused} of {used} result"
                       f"{'s' * (used != 1)} refused ({rest})", err=True)
    if any(r.error for r in reports):
        raise click.exceptions.Exit(2)
    if any(r.refused for r in reports):
        raise click.exceptions.Exit(1)


@labs.command("listen", help=
    "Listen for HL7 v2 ORU^R01 messages over MLLP (the laboratory system's interface engine sends, chemo "
    "answers an HL7 ACK). Each message is imported as `chemo labs import` imports a file, in its own "
    "transaction, and ACKed only after it is in the record: AA imported (or a duplicate, or ignored), AE with an "
    "ERR segment per refused result, AR a message that cannot be read or when the database stays unavailable. "
    "One log line per message on stderr. Stops cleanly on SIGTERM. Runs as a service: docs/chemo-labs-listen.service."
    "\n\nExit codes: 0 stopped by SIGTERM/SIGINT; 2 a wrong site file or none; 3 database unusable at start.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=2575, show_default=True,
              help="TCP port (2575: the port registered for HL7; 0: any free port, printed).")
@click.option("--max-bytes", type=click.IntRange(1024, 64 * 1024 * 1024), default=None,
              help="Largest message accepted (default 1 MiB); a larger one is answered AR.")
@click.option("--idle-timeout", type=click.FloatRange(0.1, 86400), default=None, metavar="SECONDS",
              help="Close a connection that sends nothing whole for this long (default 300).")
@click.option("--db-retry", type=click.FloatRange(0, 3600), default=None, metavar="SECONDS",
              help="How long a message waits for an unavailable database before AR (default 30).")
@site_option
@db_option
@user_option
def labs_listen(host, port, max_bytes, idle_timeout, db_retry, site_file, db_path, user):
    import asyncio

    from .db import resolve_db
    from .errors import ChemoError
    from .labs import listener as mllp

    with signed_in(db_path, user, create=False) as (store, actor):  # the database user (or a login mapped to it), as every command
        site = mllp.listener_site(store, actor, site_file)
    target = resolve_db(db_path)
    server = mllp.Listener(target, actor, site, host=host, port=port,
                           max_bytes=max_bytes or mllp.MAX_MESSAGE_BYTES,
                           idle_timeout_s=idle_timeout or mllp.IDLE_TIMEOUT_S,
                           db_retry_s=mllp.DB_RETRY_S if db_retry is None else db_retry)
    try:
        asyncio.run(server.run(stop_on_signals=True))
    except OSError as exc:
        raise ChemoError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", field="port") from None


# ------------------------------------------------------------------ prior

@click.group(help=with_exit_codes("Record prior anthracycline exposure."))
def prior():
    pass


@prior.command("add", context_settings={"ignore_unknown_options": True}, help=with_exit_codes('Record a lifetime prior anthracycline dose, e.g. epirubicin "300 mg/m²" '
                                 "(prescriber or pharmacist)."))
@click.argument("mrn")
@click.argument("drug")
@click.argument("dose")
@click.option("--note", default=None)
@db_option
@user_option
def prior_add(mrn, drug, dose, note, db_path, user):
    from .records import add_prior

    with signed_in(db_path, user) as (store, actor):
        row = add_prior(store, actor, mrn, drug, dose, note)
    click.echo(f"{mrn}: prior {row['drug']} {row['mg_m2']:g} mg/m²" + (f" ({note})" if note else ""))


# ------------------------------------------------------------------ plan

class _PlanGroup(click.Group):
    """``plan start`` here; ``plan show`` (the calendar) in :mod:`chemo.cli_calendar`, loaded when asked for."""

    def list_commands(self, ctx):
        return sorted({*self.commands, "show"})

    def get_command(self, ctx, name):
        if name == "show":
            from .cli_calendar import plan_show

            return plan_show
        return super().get_command(ctx, name)


@click.group(cls=_PlanGroup, help=with_exit_codes("Treatment plans."))
def plan():
    pass


@plan.command("start", help=with_exit_codes("Start a plan on a regimen with the latest height and weight as the dosing body "
                                            "size (prescriber or pharmacist); an earlier active plan is superseded."))
@click.argument("mrn")
@click.argument("regimen")
@click.option("--start", default=None, metavar="YYYY-MM-DD", help="Start date (default today).")
@click.option("--cycles", type=int, default=None, help="Planned cycles (default: the regimen's).")
@db_option
@user_option
@json_option
def plan_start(mrn, regimen, start, cycles, db_path, user, as_json):
    from .records import start_plan

    with signed_in(db_path, user) as (store, actor):
        row = start_plan(store, actor, mrn, regimen, start=start, cycles=cycles)
    if as_json:
        emit_json({k: row[k] for k in ("id", "regimen_id", "regimen_sha256", "start_date", "planned_cycles",
                                       "dosing_weight_kg", "dosing_height_cm", "bsa_m2")})
    else:
        click.echo(f"{mrn}: plan {row['id']} {row['regimen_id']} from {row['start_date']}, {row['planned_cycles']} "
                   f"cycles; dosing on {row['body']} (regimen sha256 {row['regimen_sha256'][:12]})")


# ------------------------------------------------------------------ readiness

@click.command(help="Check every readiness threshold of the patient's regimen against the newest labs.\n\n"
                    "Exit codes: 0 READY; 1 NOT READY; 2 bad input (unknown patient, no plan, invalid regimen); "
                    "3 database unusable.")
@click.argument("mrn")
@click.option("--date", "as_of", default=None, metavar="D",
              help="As of this date (end of the day) or date-time; default now.")
@click.option("--cycle", type=int, default=None,
              help="The cycle assessed (default: the next by the calendar): eligibility gates count before cycle 1, "
                   "retreatment gates before every cycle.")
@db_option
@json_option
def readiness(mrn, as_of, cycle, db_path, as_json):
    from .readiness import assess

    with open_record(db_path, create=False) as store:
        result = assess(store, mrn, as_of, cycle=cycle)
    if as_json:
        data = result.as_json()
        for row, g in zip(data["gates"], result.gates):
            row["message"] = command_line_words(g)
        emit_json(data)
    else:
        click.echo(f"{result.mrn}: {result.regimen_id}, cycle {result.cycle}, as of {result.as_of.replace('T', ' ')}")
        for g in result.gates:
            click.echo(f"  {g.shown_status:<8}{g.threshold:<32} [{g.kind}{', each day' if g.each_day else ''}] "
                       f"{command_line_words(g)}")
        for line in result.band_value_lines():
            click.echo(f"  BANDS   {line}")
        for s in result.suggestions:
            click.echo(f"  MODIFY  {s.message()}")
        if result.recalculate:
            click.echo("  RECALCULATE doses: " + "; ".join(result.recalculate_reasons))
        for w in result.warnings:
            click.echo(f"  WARNING {w}")
        click.echo(result.verdict())
    if not result.ready:
        raise click.exceptions.Exit(1)


# ------------------------------------------------------------------ user

@click.group(help=with_exit_codes("Users and their roles."))
def user():
    pass


@user.command("add", help=with_exit_codes("Give LOGIN a role. On an empty database anyone may add the first user; "
                                          "after that only a pharmacist adds users."))
@click.argument("login")
@click.option("--role", required=True, type=click.Choice(["pharmacist", "nurse", "prescriber"]))
@db_option
@user_option
def user_add(login, role, db_path, user):
    from .roles import add_user

    with signed_in(db_path, user) as (store, actor):
        row = add_user(store, actor, login, role)
    click.echo(f"{row['login']} is a {row['role']}" + (" (the first user)" if row["first_user"] else ""))


@user.command("map", help=with_exit_codes("On PostgreSQL: let the database user DB_USER act as the registered LOGIN "
                                          "(with --user LOGIN or $CHEMO_USER); without a mapping a workstation acts as its "
                                          "database user's name. Only a pharmacist maps; the mapping is audited."))
@click.argument("db_user")
@click.argument("login")
@db_option
@user_option
def user_map(db_user, login, db_path, user):
    from .roles import map_login

    with signed_in(db_path, user) as (store, actor):
        row = map_login(store, actor, db_user, login)
    click.echo(f"the database user {row['db_user']} may act as {row['login']}")


@user.command("list", help=with_exit_codes("List users and their roles."))
@db_option
@json_option
def user_list(db_path, as_json):
    from .roles import list_users

    with open_record(db_path, create=False) as store:
        rows = list_users(store)
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        click.echo(f"{r['login']:<20} {', '.join(r['roles'])}")


# ------------------------------------------------------------------ signoff / administer

@click.command(help=with_exit_codes(
    "Sign off one check of a cycle: the dose check (a pharmacist; refused while the cycle would pass the "
    "cumulative anthracycline cap unless --override-reason is given) or the readiness check (a nurse; refused "
    "while not ready). The two checks of a cycle need two different people. A check is signed off once; a dose "
    "sign-off that has lapsed (its prescription superseded, a prescription written after a sign-off of the "
    "calculated doses, a later weight off the dosing weight by the recalculation threshold, a later height) is "
    "signed again the same way before a dose of the cycle is given: the lapsed one is kept, marked superseded."))
@click.argument("mrn")
@click.option("--cycle", type=int, required=True)
@click.option("--check", type=click.Choice(["dose", "readiness"]), required=True)
@click.option("--override-reason", default=None,
              help="Pharmacist's reason to sign off past the cap, a weight that calls for recalculation or a "
                   "dose-modification band (goes to the audit log, with what it overrode).")
@click.option("--dose-level", "dose_level", multiple=True, metavar="L|DRUG=L",
              help="Dose level (dose check only): 0 full dose (default), -1 one step down, for every drug, or "
                   "DRUG=LEVEL for one drug (repeatable): --dose-level doxorubicin=-2.")
@click.option("--accept", "accepts", multiple=True, metavar='"DRUG DAY: reason"',
              help="Dose check of a prescription: the reason to accept one review line (repeatable).")
@click.option("--reason", default=None, help="Dose check of a prescription: one reason for every review line.")
@db_option
@user_option
@json_option
def signoff(mrn, cycle, check, override_reason, dose_level, accepts, reason, db_path, user, as_json):
    from .prescription import parse_accepts
    from .treatment import signoff as sign

    accept = parse_accepts(accepts)
    with signed_in(db_path, user) as (store, actor):
        row = sign(store, actor, mrn, cycle, check, override_reason=override_reason, dose_level=tuple(dose_level),
                   accept=accept, reason=reason)
    if as_json:
        emit_json({"cycle": row["cycle"], "check": row["check_kind"], "user": row["login"], "role": row["role"],
                   "signed_at": row["signed_at"], "override_reason": row["override_reason"], "detail": row["detail"],
                   "supersedes": row.get("supersedes"), "lapsed": row.get("lapsed")})
        return
    click.echo(f"{mrn}: cycle {cycle} {check} check signed off by {row['login']} ({row['role']})")
    if row.get("supersedes"):
        click.echo(f"  signed again: sign-off {row['supersedes']} lapsed ({row['lapsed']}) and is kept, superseded")
    if check == "dose":
        d = row["detail"]
        click.echo(f"  {d['body']}; cumulative after this cycle {d['cumulative_after_mg_m2']:g} of "
                   f"{d['cap_mg_m2']:g} mg/m² ({d['model']})")
        if d.get("prescription"):
            p = d["prescription"]
            click.echo(f"  prescription {p['id']} by {p['prescribed_by']} ({p['status']})")
        for dose in d["doses"]:
            status = f" {dose['status']}" if "status" in dose else ""
            click.echo(f"  day {dose['day']:>2}  {dose['drug']:<12} {dose['dose_mg']:g} mg ({dose['level']}){status}")
        for a in (d.get("prescription") or {}).get("accepted", []):
            click.echo(f"  accepted {a['drug']} day {a['day']} ({', '.join(a['reasons'])}): {a['reason']}")
        labels = {"cap": "CAP OVERRIDE", "recalculate": "RECALCULATE OVERRIDE",
                  "modification": "DOSE-MODIFICATION OVERRIDE"}
        for kind in d.get("overrides", []):
            click.echo(f"  {labels.get(kind, kind.upper() + ' OVERRIDE')} recorded: {override_reason}")
        if override_reason and not d.get("overrides"):
            click.echo(f"  no override was needed: nothing overridden (reason kept: {override_reason})")


@click.command(help=with_exit_codes(
    "Record the signed-off doses of one day of a cycle as given (a nurse): --day D, else the next day not yet "
    "given, which is named (refused before that day is due: day 2 falls the calendar day after day 1 was given). "
    "--all-days records every day not yet given, the first at --at (default now) and each later day a calendar "
    "day after it, and prints each time; refused when a day would fall in the future. A day is given once; --at "
    "is never in the future. Refused without both sign-offs, while a readiness gate does not pass at the time "
    "given, while a dose of an earlier cycle is not given, while a dose-modification band applies that the "
    "sign-off did not meet or override, or when the cumulative cap would be passed without a pharmacist's cap "
    "override. The calendar (chemo plan show): a cycle is refused before its earliest date, day D before day 1 + "
    "(D - 1). The BSA stored with each dose is the patient's BSA that day."))
@click.argument("mrn")
@click.option("--cycle", type=int, required=True)
@click.option("--day", type=int, default=None, help="The day of the cycle (default: the next day not yet given).")
@click.option("--all-days", "all_days", is_flag=True,
              help="Every day not yet given, each a calendar day after the one before, the first at --at.")
@click.option("--at", default=None, metavar="DATETIME", help="Time given (default now; with --all-days, of the first day).")
@click.option("--scan", "scans", multiple=True, metavar="CODE",
              help="The code scanned from a bag's compounding label (repeatable): refused unless it matches a dose "
                   "of the dose sign-off for the day given (patient, cycle, day, drug, mg, time, sign-off).")
@db_option
@user_option
@json_option
def administer(mrn, cycle, day, all_days, at, db_path, user, as_json, scans=()):
    from .treatment import administer as give

    with signed_in(db_path, user) as (store, actor):
        if all_days and day is not None:  # the engine refuses both too, naming no option
            from .errors import ChemoError

            raise ChemoError("give --day or --all-days, not both", field="day")
        result = give(store, actor, mrn, cycle, day, at=at, all_days=all_days, scans=tuple(scans))
    if as_json:
        emit_json(result)
        return
    days = result["days"]
    if result["implied_day"]:
        click.echo(f"{mrn}: cycle {cycle} day {days[0]}, the next day not yet given (give --day to name another)")
    elif all_days:
        click.echo(f"{mrn}: cycle {cycle} days {', '.join(map(str, days))} recorded with --all-days at "
                   + "; ".join(f"day {d} {result['times'][str(d)].replace('T', ' ')}" for d in days))
    for r in result["administrations"]:
        click.echo(f"{mrn}: cycle {cycle} day {r['day']} {r['drug']} {r['dose_mg']:g} mg (BSA {r['bsa_m2']:.2f} m²) "
                   f"given {r['given_at']} by {r['given_by']}")
    click.echo(f"cumulative anthracycline now {result['cumulative_after_mg_m2']:g} of {result['cap_mg_m2']:g} mg/m² "
               f"({result['model']})")


@click.command(help=with_exit_codes(
    "Cumulative anthracycline exposure in doxorubicin-equivalent mg/m² under the regimen's named equivalence "
    "model: given, after the next cycle, after the whole plan, and the cap."))
@click.argument("mrn")
@db_option
@json_option
def cumulative(mrn, db_path, as_json):
    from .cumulative import report

    with open_record(db_path, create=False) as store:
        r = report(store, mrn)
    if as_json:
        emit_json(r.as_json())
        return
    click.echo(f"{r.mrn}: cumulative anthracycline, doxorubicin-equivalent mg/m²")
    click.echo(f"  model {r.model}: {r.model_name}; factors {r.factors_text()}")
    for item in r.items:
        click.echo(f"  {item.equivalent_mg_m2:8.1f}  {item.drug} {item.mg_m2:.1f} mg/m² × {item.factor:g}  ({item.detail})")
    click.echo(f"  given {r.given_mg_m2:.1f}; after cycle {r.next_cycle or '-'} {r.after_next_cycle_mg_m2:.1f}; "
               f"after the plan {r.after_plan_mg_m2:.1f}; cap {r.cap_mg_m2:g} (warning from {r.warn_at_mg_m2:g})")
    for w in r.warnings:
        click.echo(f"  WARNING {w}")


# ------------------------------------------------------------------ worksheet

@click.command(help=with_exit_codes(
    "Write the worksheet of one cycle that the compounding and bedside checkers sign: patient, height, weight, "
    "BSA, regimen and version, every administration day by day, mesna and supportive notes, readiness labs, "
    "cumulative anthracycline, the sign-offs, and empty boxes for the checks. Without a dose sign-off every page "
    "says DRAFT — NOT FOR COMPOUNDING. With neither --out nor --html the worksheet is printed as text."))
@click.argument("mrn")
@click.option("--cycle", type=int, required=True)
@click.option("--out", "out_path", default=None, metavar="FILE.pdf", help="Write the worksheet as a PDF.")
@click.option("--html", "html_path", default=None, metavar="FILE.html", help="Write the worksheet as HTML.")
@click.option("--paper", type=click.Choice(["a4", "letter"]), default="a4", show_default=True,
              help="Paper size of the PDF (and of the HTML when printed).")
@db_option
def worksheet(mrn, cycle, out_path, html_path, paper, db_path):
    from .worksheet import build, write

    with open_record(db_path, create=False) as store:
        sheet = build(store, mrn, cycle)
    if out_path is None and html_path is None:
        click.echo(sheet.text(), nl=False)
        return
    for path in write(sheet, pdf_path=out_path, html_path=html_path, paper=paper):
        click.echo(f"{mrn}: cycle {cycle} worksheet written to {path}" + (" (DRAFT: no dose sign-off)"
                                                                           if sheet.draft else ""))


# ------------------------------------------------------------------ audit

AUDIT_PRINT_LIMIT = 50  # problem lines `audit verify` prints; --json gives them all


@click.group(help=with_exit_codes("The audit trail."))
def audit():
    pass


@audit.command("verify", help="Check the audit hash chain, that every audited row (users, roles, patients, "
                              "measurements, labs, prior exposure, plans, sign-offs, administrations, allergies) still holds "
                              "what its audit rows recorded and that none was added or deleted outside chemo, "
                              "and the database file.\n\n"
                              "Prints one line per problem (at most 50, then a count).\n\n"
                              "Exit codes: 0 intact; 1 an edited, deleted or reordered row (or a damaged file); "
                              "3 database unusable.")
@db_option
@json_option
def audit_verify(db_path, as_json):
    from .audit import verify
    from .db import check_integrity

    with open_record(db_path, create=False, may_lag=True) as store:
        count, problems = verify(store)
        problems += check_integrity(store)
    if as_json:
        emit_json({"intact": not problems, "rows": count, "problems": problems})
    else:
        for p in problems[:AUDIT_PRINT_LIMIT]:
            click.echo(p)
        if len(problems) > AUDIT_PRINT_LIMIT:
            click.echo(f"... and {len(problems) - AUDIT_PRINT_LIMIT} more problems (--json lists them all)")
        click.echo(f"audit: {count} rows, " + ("intact" if not problems else f"{len(problems)} problems: NOT intact"))
    if problems:
        raise click.exceptions.Exit(1)


@audit.command("show", help=with_exit_codes("Print the newest audit rows."))
@click.option("--limit", type=int, default=20, show_default=True)
@db_option
@json_option
def audit_show(limit, db_path, as_json):
    from .db import audit as audit_log

    with open_record(db_path, create=False, may_lag=True) as store:
        rows = audit_log.latest(store, max(1, limit))
    if as_json:
        emit_json(rows)
        return
    for r in reversed(rows):
        click.echo(f"{r['id']:>6} {r['at']} {r['login']:<14} {r['action']:<22} {r['entity']} {r['entity_key'] or ''}")


# ------------------------------------------------------------------ demo

@click.command(help=with_exit_codes("Build a demo database of synthetic patients (no real identifiers) that exercises every "
                                    "regimen and every readiness case. Refuses a database that already has patients."))
@db_option
@json_option
def demo(db_path, as_json):
    from .demo import build_demo

    with open_record(db_path) as store:
        summary = build_demo(store)
    if as_json:
        emit_json(summary)
        return
    for case in summary["patients"]:
        click.echo(f"{case['mrn']:<10} {case['regimen']:<28} {case['case']}")
    click.echo(f"demo database {summary['db']}: {len(summary['patients'])} patients; users "
               + ", ".join(f"{u} ({r})" for u, r in summary["users"].items()))
    if summary.get("site_file"):
        click.echo(f"site file {summary['site_file']}: the demo centre's MRN issuers (chemo labs import reads it)")


# ------------------------------------------------------------------ db

@click.group(help=with_exit_codes("Move a record between databases; print the PostgreSQL DBA's least-privilege script."))
def db():
    pass


@db.command("copy", help="Copy the record at FROM_URL into the empty database at TO_URL: SQLite to PostgreSQL "
                         "or back (each a path, sqlite:///path or postgresql://user@host:5432/dbname).\n\n"
                         "The source's audit chain must verify before anything is written, the target must hold "
                         "no row, and afterwards the copy's chain must verify and every table must count the same "
                         "rows, with the same head hash of the chain, on both sides; it prints them. Stop the "
                         "workstations while copying.\n\n"
                         "Exit codes: 0 copied; 1 refused (the target is not empty, a chain does not verify); "
                         "3 a database unusable. No row is written to the target unless the exit code is 0.")
@click.argument("from_url")
@click.argument("to_url")
@json_option
def db_copy(from_url, to_url, as_json):
    from .db.copy import TABLES, check_chain, copy_record

    with open_record(from_url, create=False) as source:
        check_chain(source, "source")
        with open_record(to_url) as target:
            result = copy_record(source, target, source_checked=True)
    if as_json:
        emit_json(result)
        return
    click.echo(f"copied {result['from']['db']} -> {result['to']['db']}")
    click.echo(f"{'table':<18}{'from':>10}{'to':>10}")
    for table in TABLES:
        click.echo(f"{table:<18}{result['from']['rows'][table]:>10,}{result['to']['rows'][table]:>10,}")
    click.echo(f"audit head {result['to']['head']} (the same on both sides)")


@db.command("setup-sql", help="Print the DBA's script that makes a PostgreSQL record least-privilege, for the current "
                              "schema version: workstation roles (members of --users) read every table but the "
                              "audit key, write only the rows and columns chemo writes, each checked by the "
                              "server (the role, the two-person rule, the database user's logins), append to "
                              "the keyed audit chain only through the owner's functions, and cannot hold the "
                              "writers' lock. Run it with psql as a superuser after --owner has run a first "
                              "chemo command, and again after every upgrade.\n\n"
                              "Exit codes: 0 printed; 2 a role or schema name that is not one.")
@click.option("--owner", required=True, metavar="ROLE", help="The role that owns the schema (runs the upgrades).")
@click.option("--users", required=True, metavar="ROLE", help="The group role of every workstation user.")
@click.option("--schema", default="public", show_default=True, metavar="NAME", help="The schema of the record.")
def db_setup_sql(owner, users, schema):
    from .db.privileges import setup_sql

    click.echo(setup_sql(owner, users, schema), nl=False)
