"""A regimen file as it was at a git revision (``git show REV:path`` in the file's own repository).

Run without a shell; a revision is never taken for an option.  Every failure is a
:class:`chemo.errors.RegimenError` naming the file and what was wrong.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from .errors import RegimenError


def _git(directory: Path, *args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", "-C", str(directory), *args], capture_output=True, check=False)
    except FileNotFoundError:
        raise RegimenError("git is not installed: a revision cannot be read", field="revision") from None


def _git_message(result: subprocess.CompletedProcess) -> str:
    text = result.stderr.decode("utf-8", "replace").strip().splitlines()
    return text[-1].removeprefix("fatal: ") if text else f"git exited {result.returncode}"


def file_at_revision(path, rev: str) -> bytes:
    """The bytes of ``path`` (a file in a git work tree) at revision ``rev``."""
    path = Path(path)
    name = str(path)
    if not rev or rev.startswith("-") or any(c in rev for c in "\0\n"):
        raise RegimenError(f"{rev!r} is not a git revision", file=name, field="revision")
    directory = path.resolve().parent
    if not directory.is_dir():
        raise RegimenError("no such folder", file=name)
    top = _git(directory, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise RegimenError(f"not in a git repository ({_git_message(top)})", file=name, field="revision")
    root = Path(top.stdout.decode("utf-8", "surrogateescape").strip()).resolve()
    try:
        relative = path.resolve().relative_to(root).as_posix()
    except ValueError:
        raise RegimenError(f"is outside its repository {root}", file=name, field="revision") from None
    commit = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
    if commit.returncode != 0:
        raise RegimenError(f"{rev!r} is not a revision of the repository {root}", file=name, field="revision")
    shown = _git(root, "show", f"{commit.stdout.decode().strip()}:{relative}")
    if shown.returncode != 0:
        raise RegimenError(f"not in revision {rev!r} ({_git_message(shown)})", file=name, field="revision")
    return shown.stdout
