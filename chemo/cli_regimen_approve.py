"""``chemo regimen approve FILE`` and ``chemo regimen history ID``: approval as a fact of the record (issue 24).

Exit codes, as for the record's commands (:mod:`chemo.cli_record`): 0 done; 1 refused (not a pharmacist, the
same pharmacist or database user twice, approved already, a retired file); 2 bad input (a file that does not
validate, an unknown regimen id); 3 the database cannot be used.
"""

from __future__ import annotations

import click

from .cli import emit_json
from .cli_options import db_option, json_option, open_record, signed_in, user_option
from .db.regimen_approvals import MAX_COMMENT

EXIT_CODES = ("Exit codes: 0 done; 1 refused (not a pharmacist, the same pharmacist or database user twice, "
              "approved already, a retired file); 2 bad input (a file that does not validate, an unknown regimen); "
              "3 database unusable. Nothing is written unless the exit code is 0.")


def _plain(text) -> str:
    """Text kept in the record as a terminal shows it safely: a control character (an escape sequence, a
    right-to-left override written around chemo) is shown as its code, never sent to the terminal."""
    import unicodedata

    return "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs") else c
                   for c in str(text))


def _diff_lines(diff: dict | None) -> list[str]:
    """The clinical diff's lines (chemo.regimen_diff: the first names both versions), indented."""
    if diff is None:
        return ["  no earlier approved version of this regimen to compare with"]
    return [f"  {_plain(line)}" for line in diff.get("lines") or ()]


@click.command("approve", help=(
    "Approve a regimen file's exact bytes in this record (a pharmacist). Two different pharmacists (on "
    "PostgreSQL, from two database users) approve the same bytes before a plan starts on them; the record keeps "
    "the file's sha256, version and text, and the clinical diff against the version approved before it, in the "
    "audit chain. A retired file is not approved.\n\n" + EXIT_CODES))
@click.argument("file", metavar="FILE")
@click.option("--comment", default=None, metavar="TEXT",
              help=f"A note kept with the approval (at most {MAX_COMMENT} characters).")
@db_option
@user_option
@json_option
def approve(file, comment, db_path, user, as_json):
    from .approval import approve as record_approval
    from .library import load_library
    from .regimen import load_regimen, version_words

    library = load_library()
    regimen = load_regimen(file, library)
    with signed_in(db_path, user) as (store, actor):
        row = record_approval(store, regimen, actor, comment=comment, library=library)
    if as_json:
        emit_json(row)
        return
    head = version_words(regimen.id, row["version"], row["sha256"])
    if row["approved"]:
        click.echo(f"{head}: approved by {' and '.join(row['approvers'])}; plans may start on it")
    else:
        click.echo(f"{head}: approved by {row['approved_by']}; it needs a second, different pharmacist to approve "
                   "it before a plan starts on it")
    for line in _diff_lines(row["diff"]):
        click.echo(line)


@click.command("history", help=(
    "Every version of a regimen approved in this record, oldest first: sha256, version, who approved it and "
    "when, its status (approved, awaiting second; the regimen file as it is now, when never approved: not "
    "approved or retired) and the clinical diff against the version approved before it.\n\n" + EXIT_CODES))
@click.argument("regimen_id", metavar="ID")
@db_option
@json_option
def history(regimen_id, db_path, as_json):
    from .approval import history as approval_history
    from .errors import RegimenError
    from .library import load_library
    from .regimen import load_regimen, regimen_path, version_words

    current = current_error = None  # no file with that id: the record's versions only
    try:
        path = regimen_path(regimen_id)
    except RegimenError:
        path = None
    if path is not None:
        try:
            current = load_regimen(path, load_library())
        except RegimenError as exc:  # the file as it is now does not validate: said, and the record's versions shown
            current_error = str(exc)
    with open_record(db_path, create=False, may_lag=True) as store:
        versions = approval_history(store, regimen_id, current=current)
    if as_json:
        emit_json({"regimen_id": regimen_id, "versions": versions, "current_error": current_error})
        return
    if current_error:
        click.echo(_plain(f"the regimen file as it is now does not validate: {current_error}"), err=True)
    for v in versions:
        click.echo(_plain(f"{version_words(regimen_id, v['version'], v['sha256'])}  "
                          f"{v['status']}  ({v['file']})"))
        for n, a in enumerate(v["approvals"], start=1):
            note = f": {a['comment']}" if a["comment"] else ""
            click.echo(_plain(f"  {('first', 'second')[min(n, 2) - 1]} approval: {a['login']} at {a['at']}{note}"))
        for line in _diff_lines(v["diff"]):
            click.echo(line)
