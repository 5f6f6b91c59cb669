"""The record layer: where the record is, which engine holds it, and every SQL statement chemo runs.

* :mod:`chemo.db.store`: the :class:`Store` protocol both engines implement,
  the record's errors (:class:`StoreError` exit 3, :class:`Refusal` exit 1,
  :class:`NotFound` exit 2) and its clocks;
* :mod:`chemo.db.sqlite` and :mod:`chemo.db.postgres`: the two engines, side
  by side (neither imports the other; psycopg is imported only for a
  ``postgresql://`` record);
* :mod:`chemo.db.schema` (the one description of the tables) and
  :mod:`chemo.db.migrate` (the one runner that applies it on both engines);
* the named queries the engine, the CLI and the TUI call: :mod:`.patients`,
  :mod:`.measurements`, :mod:`.labs`, :mod:`.exposure`, :mod:`.plans`,
  :mod:`.prescriptions`, :mod:`.signoffs`, :mod:`.administrations`, :mod:`.users`, :mod:`.audit`;
  :mod:`.copy` (``chemo db copy``).

Where the record is (this module): the ``--db`` given, else ``$CHEMO_DB``,
else ``chemo.db`` in the user's data directory (``$XDG_DATA_HOME/chemo`` or
``~/.local/share/chemo`` on Linux, ``~/Library/Application Support/chemo`` on
macOS, ``%APPDATA%\\chemo`` on Windows; the same places ``click.get_app_dir``
picks, without depending on click).  ``--db`` and ``$CHEMO_DB`` take a path,
``sqlite:///path`` or ``postgresql://user@host:5432/dbname`` (any libpq URI;
``postgres://`` too).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from .store import NotFound, Refusal, Store, StoreError, now_local, redact, utc_stamp

DB_FILENAME = "chemo.db"
APP_NAME = "chemo"

__all__ = ["APP_NAME", "DB_FILENAME", "NotFound", "Refusal", "Store", "StoreError", "check_integrity",
           "is_postgresql", "now_local", "open_store", "redact", "resolve_db", "resolve_db_path", "user_data_dir", "utc_stamp"]


def user_data_dir(app: str = APP_NAME) -> Path:
    """The per-user data folder, as ``click.get_app_dir(app)`` would choose it."""
    if sys.platform.startswith("win"):
        base = os.environ.get("APPDATA") or os.environ.get("LOCALAPPDATA") or str(Path.home())
        return Path(base) / app
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / app
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / app


_PG_URL = re.compile(r"^postgres(ql)?://", re.IGNORECASE)
_SQLITE_URL = "sqlite://"


def resolve_db(target: str | os.PathLike | None = None) -> str | Path:
    """``--db``, else ``$CHEMO_DB``, else the user's data folder: a Path (SQLite) or a postgresql:// URL."""
    text = os.fspath(target) if target else os.environ.get("CHEMO_DB") or ""
    if not text:
        return user_data_dir() / DB_FILENAME
    if is_postgresql(text):
        return text
    if text.lower().startswith(_SQLITE_URL):  # as SQLAlchemy reads it: sqlite:///rel.db, sqlite:////abs.db
        text = text[len(_SQLITE_URL):]
        if not text.startswith("/") or text == "/":
            raise StoreError(f"{os.fspath(target or os.environ.get('CHEMO_DB'))!r}: expected sqlite:///path/to/file.db "
                             "(or a plain path)", field="db")
        text = text[1:]
    elif "://" in text:
        raise StoreError(f"{text!r}: expected a file path, sqlite:///path or postgresql://user@host:5432/dbname",
                         field="db")
    return Path(text).expanduser()


def is_postgresql(target) -> bool:
    return isinstance(target, str) and bool(_PG_URL.match(target))


def resolve_db_path(path: str | os.PathLike | None = None) -> Path:
    """The SQLite file of ``--db``/``$CHEMO_DB``/the data folder (a PostgreSQL URL is not a path)."""
    found = resolve_db(path)
    if isinstance(found, str):
        raise StoreError(f"{redact(found)!r} is a PostgreSQL database, not a file", field="db")
    return found


def open_store(path: str | os.PathLike | None = None, *, create: bool = True, may_lag: bool = False) -> Store:
    """Open (and if needed create and migrate) the record: an SQLite file, or a PostgreSQL database for a URL.

    ``may_lag``: the caller only reads, and a read a moment old will do (a listing, the audit trail): on
    PostgreSQL a standby of the URL's hosts is preferred (:func:`chemo.db.postgres.reading_url`)."""
    target = resolve_db(path)
    if isinstance(target, str):
        from .postgres import open_postgresql

        return open_postgresql(target, create=create and not may_lag, may_lag=may_lag)
    from .sqlite import open_sqlite

    return open_sqlite(target, create=create)


def check_integrity(store: Store) -> list[str]:
    """Problems the database finds in itself (SQLite: ``integrity_check`` and ``foreign_key_check``)."""
    return store.integrity_problems()
