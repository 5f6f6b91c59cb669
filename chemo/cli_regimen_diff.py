"""``chemo regimen diff``: the clinical difference between two versions of a regimen file."""

from __future__ import annotations

import click

from .cli import emit_json


@click.command("diff")
@click.argument("old")
@click.argument("new", required=False)
@click.option("--rev", default=None, metavar="REV",
              help="Compare the one file given as it was at git revision REV (the old version) with the file now.")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"old": {id, version, sha256, path}, "new": {...}, "clinical": ..., "changes": [...]}.')
def diff(old, new, rev, as_json):
    """The clinical difference between two versions of a regimen: OLD NEW, or one file and --rev REV.

    The files are read and checked, then compared as regimens, not as text: a comment is no
    change.  Each change is printed as `item: field old → new (per cent)` with the source of the
    old and the new entry under it; a changed source, name, indication, note or version is listed
    as not clinical.

    Exit codes: 0 no clinical change, 1 clinical changes, 2 a file unreadable or invalid, a bad
    revision, or a usage error.
    """
    from .library import load_library
    from .regimen import load_regimen, regimen_from_bytes, regimen_path
    from .regimen_diff import diff_regimens

    if (new is None) == (rev is None):
        raise click.UsageError("give two files (OLD NEW), or one file and --rev REV")
    library = load_library()
    if rev is not None:
        from .regimen_git import file_at_revision

        path = regimen_path(old)
        after = load_regimen(path, library)
        before = regimen_from_bytes(file_at_revision(path, rev), f"{path}@{rev}", library)
    else:
        before = load_regimen(regimen_path(old), library)
        after = load_regimen(regimen_path(new), library)
    result = diff_regimens(before, after)
    if as_json:
        emit_json(result.as_json())
    else:
        for line in result.lines():
            click.echo(line)
    if result.clinical:
        raise click.exceptions.Exit(1)
