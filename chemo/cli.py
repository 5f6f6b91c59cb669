"""The ``chemo`` command: a thin click layer over the engine.

Commands are imported only when they run (click's lazy-loading group:
``LazyGroup`` maps each name to its ``module:attribute``), so ``chemo --help``
pays neither for pint nor for sqlite-utils: it lists each command with the
one-line help of :data:`COMMANDS`.  Every command module raises
:class:`chemo.errors.ChemoError` for bad input; the group turns it into one line
on stderr and a non-zero exit (2 unless the error says otherwise), never a
traceback.
"""

from __future__ import annotations

import importlib

import click

# name -> ("module:attribute", one-line help shown by `chemo --help`)
COMMANDS = {
    "validate": ("chemo.cli_engine:validate", "Check regimen files: units, doses, days, thresholds."),
    "bsa": ("chemo.cli_engine:bsa", "Body surface area from height and weight."),
    "dose": ("chemo.cli_dose:dose", "Every dose of one cycle of a regimen for one patient."),
    "verify": ("chemo.cli_dose:verify", "Check an order file against the regimen's doses."),
    "patient": ("chemo.cli_record:patient", "Register, list and show patients."),
    "measure": ("chemo.cli_record:measure", "Record a patient's weight (and height)."),
    "labs": ("chemo.cli_record:labs", "Record, import (FHIR, HL7 v2) and show lab results."),
    "prior": ("chemo.cli_record:prior", "Record prior anthracycline exposure."),
    "plan": ("chemo.cli_record:plan", "Start a treatment plan on a regimen."),
    "readiness": ("chemo.cli_record:readiness", "Is the patient ready for the next cycle? (exit 0 ready, 1 not)"),
    "user": ("chemo.cli_record:user", "Users and their roles (pharmacist, nurse, prescriber)."),
    "prescribe": ("chemo.cli_prescription:prescribe", "Prescribe one cycle, verified against the record."),
    "orders": ("chemo.cli_prescription:orders", "Show a patient's prescriptions."),
    "signoff": ("chemo.cli_record:signoff", "Sign off the dose or readiness check of a cycle."),
    "administer": ("chemo.cli_record:administer", "Record the signed-off doses of a cycle as given."),
    "delay": ("chemo.cli_calendar:delay", "Move a cycle to a later date, with a reason; later cycles follow."),
    "override": ("chemo.cli_calendar:override", "A prescriber lets one cycle through a failing readiness gate."),
    "cumulative": ("chemo.cli_record:cumulative", "Cumulative anthracycline exposure against the cap."),
    "audit": ("chemo.cli_record:audit", "Verify the audit trail's hash chain."),
    "worksheet": ("chemo.cli_record:worksheet", "Write a cycle's worksheet (PDF, HTML or text) for the checkers."),
    "allergy": ("chemo.cli_supportive:allergy", "Record and list a patient's allergies."),
    "labels": ("chemo.cli_supportive:labels", "Write the compounding labels of one day of a cycle (PDF with 2-D codes)."),
    "demo": ("chemo.cli_record:demo", "Build a demo database of synthetic patients."),
    "db": ("chemo.cli_record:db", "Copy a record between databases (SQLite, PostgreSQL)."),
    "toxicity": ("chemo.cli_toxicity:toxicity", "Record and list adverse events (CTCAE v5.0 grades)."),
    "next": ("chemo.cli_toxicity:next_cycle", "The next cycle's suggested dose levels, rule by rule, with sources."),
    "rdi": ("chemo.cli_toxicity:rdi", "Relative dose intensity per drug: planned against delivered."),
    "report": ("chemo.cli_toxicity:report", "Reports over every patient (report rdi: the cohort's RDI)."),
    "regimen": ("chemo.cli_regimen:regimen", "Regimens as governed documents: approve, history, diff, FHIR."),
    "tui": ("tui.command:tui", "Open the terminal UI (pharmacist and nurse screens)."),
}

HELP = """chemo: neoadjuvant sarcoma chemotherapy protocols, doses and checks.

Every number carries its unit; every rule cites its source."""


class LazyGroup(click.Group):
    """A group whose commands are imported on first use (click's "Lazily Loading Subcommands").

    ``--help`` lists the commands with their one-line help from :data:`COMMANDS`
    instead of importing every command module for its ``short_help``.  A group of
    subcommands (``chemo regimen``) is a subclass with its own ``lazy`` table.
    """

    lazy = COMMANDS  # name -> ("module:attribute", one-line help)

    def list_commands(self, ctx):
        return sorted(self.lazy)

    def get_command(self, ctx, name):
        entry = self.lazy.get(name)
        if entry is None:
            return None
        module_name, attribute = entry[0].split(":")
        return getattr(importlib.import_module(module_name), attribute)

    def invoke(self, ctx):
        from .errors import ChemoError

        try:
            return super().invoke(ctx)
        except ChemoError as exc:
            click.echo(f"chemo: {command_line_words(exc)}", err=True)
            ctx.exit(exc.exit_code)

    def format_commands(self, ctx, formatter):
        rows = [(name, self.lazy[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, help=HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="chemo")
def cli():
    pass


def main() -> None:
    """The ``chemo`` console script."""
    cli()


def command_line_words(exc) -> str:
    """An error (or a readiness row) as the command line says it: a refusal's next steps
    (``chemo.errors.NextStep``, read from its fields) as the commands and options that take them;
    any other error as it is."""
    from .errors import NextStep

    steps = exc.next_steps
    plain = str(exc) if isinstance(exc, BaseException) else exc.message  # a row's words are its message
    if not steps:
        return plain
    kind, finding = getattr(exc, "kind", None), exc.finding
    if kind == "modification" and exc.overridable:
        text = exc.head + "; ".join(
            b["finding"] + ("" if b["satisfied_by_level"] is None else
                            f"; sign off with --dose-level {b['drug']}={b['satisfied_by_level']} "
                            f"({b['satisfied_by_pct']:g} %)") for b in exc.bands)
        text += "; or a pharmacist may sign off with --override-reason"
    elif kind == "modification":
        text = (finding + "; the signed-off doses cannot be given: have the prescriber start a new plan "
                "('chemo plan start') and the pharmacist sign off its doses at a level that meets the band")
    elif kind == "recalculate":
        text = (finding + "; record a new weight ('chemo measure') and start a new plan ('chemo plan start'), "
                "or sign off with --override-reason")
    elif kind in ("cap", "allergy"):
        text = finding + "; a pharmacist may sign off with --override-reason"
    else:
        # each step's words, the first step of this order that the error names
        step_words = {
            NextStep.NEW_PLAN: lambda e: ": start a new plan with 'chemo plan start' before signing or giving doses",
            NextStep.SIGN_AGAIN: lambda e: (f"; a pharmacist signs the doses again with 'chemo signoff {e.mrn} "
                                            f"--cycle {e.cycle} --check dose'"),
            NextStep.READINESS: lambda e: f"; see 'chemo readiness {e.mrn}"
                                          + (f" --date {e.at}" if e.at else "") + "'",
            NextStep.BODY_SIZE_ON: lambda e: " (record them with 'chemo measure --date')",
            NextStep.NAME_DAY: lambda e: f"; to record day {e.day} now give --day {e.day}",
            NextStep.PATIENT_LIST: lambda e: " (see 'chemo patient list')",
            NextStep.PLAN_START: lambda e: f" (start one with 'chemo plan start {e.mrn} REGIMEN')",
            NextStep.CONFIRM: lambda e: ", or record it with --confirm if it is right",
            NextStep.NAME_USER: lambda e: ": give --user or set CHEMO_USER",
            NextStep.ADD_USER: lambda e: (" (a pharmacist adds users with 'chemo user add')" if e.field == "user"
                                          else " (add it with 'chemo user add')"),
            NextStep.MAP_USER: lambda e: f": a pharmacist maps it with 'chemo user map {e.db_user} {e.login}'",
            NextStep.AUDIT_VERIFY: lambda e: f" (and {e.more} more; see 'chemo audit verify')",
            NextStep.AUDIT_SHOW: lambda e: ": check with 'chemo audit show'",
            NextStep.NEW_DB: lambda e: ": give a new --db for the demo",
            NextStep.RECORD_ULN: lambda e: " (record the result with --uln)",
            NextStep.APPROVE_REGIMEN: lambda e: (
                f": it needs two different pharmacists to run 'chemo regimen approve {e.path}' (approved by: "
                + (", ".join(e.approvers) or "no one yet") + ")"),
        }
        if NextStep.EACH_DAY in steps:  # the option --all-days is in the finding itself
            text = (f"cycle {exc.cycle}: with --all-days day {exc.day} would be recorded at {exc.at}, in the future "
                    f"(day {exc.first_day} at {exc.first_at}, each later day a calendar day later): record each day "
                    f"when it is given with --day, or give --at the time day {exc.first_day} was given")
        else:
            step = next((s for s in step_words if s in steps), None)
            if step is None:
                return plain
            text = finding + step_words[step](exc)
    where = exc.where() if isinstance(exc, BaseException) else ""
    return f"{where}: {text}" if where else text


def emit_json(data) -> None:
    import json  # not on the path of chemo --help

    click.echo(json.dumps(data, indent=2, ensure_ascii=False))
