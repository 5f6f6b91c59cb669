"""``chemo tui``: the terminal UI.  Textual is imported only when the command runs."""

from __future__ import annotations

import click


def _db(ctx, param, value):
    """A path is checked as before (not a folder); a postgresql:// or sqlite:/// URL is passed on."""
    if value is None or "://" in value:
        return value
    return click.Path(dir_okay=False).convert(value, param, ctx)


@click.command()
@click.option("--db", "db_path", metavar="PATH|URL", default=None, callback=_db,
              help="The database: a file, sqlite:///path or postgresql://user@host:5432/dbname (default: $CHEMO_DB, "
                   "else the embedded demo database, created on first run).")
@click.option("--user", default=None, help="Who signs (default: $CHEMO_USER, else the login name).")
def tui(db_path, user):
    """Open the terminal UI (pharmacist and nurse screens).

    Patients (search by name or MRN), the patient overview, dose verification
    and sign-off (pharmacist), readiness labs and sign-off (nurse), and the
    regimen browser.  Ctrl+P jumps to any patient or regimen; Ctrl+Q quits.
    """
    from chemo.roles import acting_user

    acting_user(user)  # a login that cannot be one is a one-line error here, before the screen opens
    import gc

    gc.disable()  # start-up allocates much and frees little: no collection until the first screen (ChemoApp.gc_paused)
    try:
        from .app import make_app

        app = make_app(db_path=db_path, user=user)
        app.gc_paused = True
        app.run()
    finally:
        gc.enable()
