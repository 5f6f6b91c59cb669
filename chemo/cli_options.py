"""What every record command shares: ``--db``, ``--user`` and ``--json``, opening the record and signing in
as the acting user, and the exit codes each command's help ends with (see :mod:`chemo.cli_record`)."""

from __future__ import annotations

import contextlib

import click

EXIT_CODES = ("Exit codes: 0 done; 1 refused (role, two-person rule, cap, not ready, missing sign-off); "
              "2 bad input (unknown patient, unit, impossible value, invalid regimen); 3 database unusable. "
              "Nothing is written unless the exit code is 0.")


def db_option(f):
    return click.option("--db", "db_path", metavar="PATH|URL", default=None,
                        help="Database: a file, sqlite:///path or postgresql://user@host:5432/dbname (default: "
                             "$CHEMO_DB, else chemo.db in the user's data folder).")(f)


def user_option(f):
    return click.option("--user", "user", metavar="LOGIN", default=None,
                        help="Acting user (default: $CHEMO_USER, else the login name).")(f)


def json_option(f):
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(f)


def open_record(db_path, create=True, may_lag=False):
    """Writes create the database on first use; reads of a database that does not exist are an error.
    ``may_lag``: a listing, which a standby may answer (chemo.db.postgres.reading_url)."""
    from .db import open_store

    return open_store(db_path, create=create, may_lag=may_lag)


@contextlib.contextmanager
def signed_in(db_path, user, create=True):
    """``(store, login)``: the record, and who acts in it: ``--user`` (else $CHEMO_USER, else the login name),
    named before the record is opened; on PostgreSQL the database user, or the login a pharmacist mapped to
    it (``chemo user map``)."""
    from .roles import acting_user, session_login

    actor = acting_user(user)
    with open_record(db_path, create=create) as store:
        yield store, session_login(store, user, actor)


def with_exit_codes(text: str) -> str:
    """A command's help, ending with the exit codes every record command shares."""
    return text.rstrip() + "\n\n" + EXIT_CODES
