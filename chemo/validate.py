"""``chemo validate``: every problem of every regimen and library file, one line each."""

from __future__ import annotations

from pathlib import Path

from .datafile import FILE, Problem, read_toml
from .errors import ChemoError
from .library import LIBRARY_KINDS, check_library_file, load_library
from .regimen import check_regimen


def collect_files(paths) -> list[Path]:
    """Files named, and the ``*.toml`` files under folders named, in a stable order."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*.toml") if p.is_file())
        else:
            files.append(path)
    return files


def validate_file(path: Path, library, strict: bool = False) -> list[Problem]:
    """Every problem of one file; ``strict``: a regimen must carry its own ``version`` (its top-level
    ``source`` is always required; library files' sources are required as they are)."""
    source = read_toml(path)
    if source.document is None:
        return source.problems
    kind = source.document.get("library")
    if kind is not None:
        from .toxicity_data import KINDS as TOXICITY_KINDS, check_file as check_toxicity_file

        if kind in TOXICITY_KINDS:
            return check_toxicity_file(source, kind)
        if kind not in LIBRARY_KINDS:
            return [Problem(str(path), "library", f"{kind!r}: expected one of {', '.join(LIBRARY_KINDS)}")]
        return check_library_file(source, kind)
    if library is None:
        return [Problem(str(path), FILE, "cannot be checked: the drug library does not validate")]
    return check_regimen(source, library, strict=strict)[1]


def validate_paths(paths, strict: bool = False) -> tuple[list[Path], list[Problem]]:
    """Check every file; the library itself is checked first (it is what the rest stands on)."""
    files = collect_files(paths)
    try:
        library = load_library()
    except ChemoError:
        library = None
    problems: list[Problem] = []
    for path in files:
        problems += validate_file(path, library, strict)
    return files, problems
