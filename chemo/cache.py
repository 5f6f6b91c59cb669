"""The on-disk cache of parsed data files: what every command would otherwise rebuild.

Reading and checking the drug library (three TOML files, a few hundred unit texts)
takes longer than the rest of ``chemo bsa``.  The checked result is kept as a pickle
in ``$CHEMO_CACHE_DIR`` (default ``$XDG_CACHE_HOME/chemo``, else ``~/.cache/chemo``),
under a key that is the SHA-256 of:

* the SHA-256 of every data file it was built from (and their paths): one changed byte
  and the key is another, so a stale library is never served;
* the code that builds it: the bytes of each module that shapes the result (and the
  Python, pint and attrs versions), so an upgraded chemo never reads an older chemo's objects.

The same folder keeps each regimen that checked clean (``regimen-<key>.pickle``, for
``chemo dose``, ``chemo verify`` and the TUI): its key is the SHA-256 of the regimen
file's path and bytes, the code above, and the key of the checked library it was
checked against (see :func:`chemo.regimen.load_regimen`).  pint keeps its own cache of
the parsed ``units.txt`` in the ``pint`` folder inside it (:func:`pint_folder`).

Only a library or regimen that checked clean is stored; a file with problems is read and
refused afresh every time.  Anything unexpected (no cache folder, a folder others may write to,
a truncated or foreign pickle) means "not cached": the files are read as if no cache
existed.  ``CHEMO_CACHE_DIR=off`` turns the cache off.  At most :data:`KEEP` entries
of each kind are kept; the oldest go first.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import stat
import sys
from pathlib import Path

KEEP = 32  # entries kept in the folder (each a few kB)
# the modules that shape a cached library or regimen (their bytes are in every key)
_CODE = ("library.py", "regimen.py", "units.py", "units.txt", "datafile.py", "errors.py", "cache.py")


def library_paths(directory=None) -> list[Path]:
    """The library files (as chemo.library reads them: ``$CHEMO_REGIMENS/library``, else
    the project's ``regimens/library``), without importing chemo.library."""
    if directory is None:
        env = os.environ.get("CHEMO_REGIMENS")
        base = Path(env) if env else Path(__file__).resolve().parent.parent / "regimens"
        directory = base / "library"
    return [Path(directory) / f"{kind}.toml" for kind in ("drugs", "analytes", "body-size", "lab-units")]


def body_size():
    """The body-size part of the checked drug library, for ``chemo bsa``: read from the cache
    when the library files and code are exactly those of a library that checked clean (so
    neither the library's classes nor its checks are needed), else None.  Stored by
    chemo.library beside the library itself, under the same key, only from a clean check."""
    return load("body-size", key("library", library_paths()))


def folder() -> Path | None:
    """The cache folder, or None when the cache is off."""
    env = os.environ.get("CHEMO_CACHE_DIR")
    if env is not None:
        return None if env.strip().lower() in ("", "off", "0", "no") else Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "chemo"


@functools.cache
def _code_fingerprint() -> bytes:
    """The code this process runs (the SHA-256 of the modules that shape a cached result, with the
    Python, attrs and pint versions): taken once, when first needed, so that a module edited while
    a process runs never labels that process's results as the new code's."""
    import attrs
    import pint  # already imported by chemo.units: a dictionary look-up

    here = os.path.dirname(os.path.abspath(__file__))
    digest = hashlib.sha256("\n".join([sys.version, pint.__version__, attrs.__version__]).encode())
    for name in _CODE:
        digest.update(b"\0" + name.encode() + b"\0")
        with open(os.path.join(here, name), "rb") as f:
            digest.update(f.read())
    return digest.digest()


def key(kind: str, files: list, extra: str = "") -> str | None:
    """The key of a result built from ``files`` (paths) and ``extra`` (the key of what else it
    was built from), or None if one cannot be read."""
    try:
        return key_of(kind, [(path, file_sha256(path)) for path in files], extra)
    except (OSError, ValueError):
        return None


def file_sha256(path) -> str:
    """The SHA-256 of a file's bytes, as :func:`chemo.datafile.read_toml` writes it (``Source.sha256``)."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def key_of(kind: str, files: list, extra: str = "") -> str:
    """The key of a result built from ``files``, (path, SHA-256 of its bytes) pairs, and ``extra``."""
    digest = hashlib.sha256(kind.encode() + b"\0" + _code_fingerprint() + b"\0" + extra.encode())
    for path, sha256 in files:
        digest.update(b"\0" + str(path).encode() + b"\0" + sha256.encode())
    return digest.hexdigest()


def pint_folder() -> Path | None:
    """The folder of pint's own registry cache (``UnitRegistry(cache_folder=...)``), inside the cache
    folder and as safe as it (pint's cache is pickles too); None when the cache is off or not safe."""
    directory = folder()
    if directory is None:
        return None
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        (directory / "pint").mkdir(mode=0o700, exist_ok=True)
    except OSError:
        return None
    return directory / "pint" if _safe(directory) and _safe(directory / "pint") else None


def _safe(directory: Path) -> bool:
    """Ours and written by nobody else (a pickle runs code when loaded)."""
    try:
        st = os.stat(directory)
    except OSError:
        return False
    return (stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid()
            and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def has(kind: str, cache_key: str | None) -> bool:
    """Whether an entry for ``cache_key`` exists (without reading it)."""
    directory = folder()
    return cache_key is not None and directory is not None and (directory / f"{kind}-{cache_key}.pickle").exists()


def load(kind: str, cache_key: str | None):
    """The stored result for ``cache_key``, or None."""
    directory = folder()
    if cache_key is None or directory is None or not _safe(directory):
        return None
    try:
        with open(directory / f"{kind}-{cache_key}.pickle", "rb") as f:
            return pickle.load(f)
    except Exception:  # missing, truncated, from another version: not cached
        return None


def store(kind: str, cache_key: str | None, value) -> None:
    """Keep ``value`` under ``cache_key``; never fails the command that asked."""
    directory = folder()
    if cache_key is None or directory is None:
        return
    import tempfile

    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _safe(directory):
            return
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{kind}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, directory / f"{kind}-{cache_key}.pickle")
        except BaseException:
            os.unlink(tmp)
            raise
        entries = sorted(directory.glob(f"{kind}-*.pickle"), key=lambda p: p.stat().st_mtime_ns)
        for old in entries[:-KEEP]:
            old.unlink(missing_ok=True)
    except Exception:  # a read-only home, a full disk, a race with another process
        return
