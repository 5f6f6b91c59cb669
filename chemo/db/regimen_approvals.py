"""Named queries: pharmacists' approvals of regimen files (issue 24; ``chemo regimen approve``)."""

from __future__ import annotations

from .store import Store

NEEDED = 2  # different pharmacists whose approvals of a file's bytes approve it (two people, as a committee signs)
MAX_COMMENT = 500  # characters of an approval's comment

_SUMMARY = "id, regimen_id, version, sha256, file_name, diff_from, diff_json, approved_by, db_user, approved_at, comment"


def for_sha256(store: Store, sha256: str) -> list[dict]:
    """Every approval of one file's bytes, oldest first (no file text)."""
    return store.query(f"SELECT {_SUMMARY} FROM regimen_approvals WHERE sha256 = ? ORDER BY id", (sha256,))


def for_regimen(store: Store, regimen_id: str) -> list[dict]:
    """Every approval of every version of one regimen id, oldest first (no file text)."""
    return store.query(f"SELECT {_SUMMARY} FROM regimen_approvals WHERE regimen_id = ? ORDER BY id",
                       (regimen_id,))


def file_text(store: Store, sha256: str) -> str | None:
    """The approved file's text (its bytes as UTF-8) of a sha256; None when it was never approved."""
    row = store.one("SELECT file_text FROM regimen_approvals WHERE sha256 = ? ORDER BY id LIMIT 1", (sha256,))
    return row["file_text"] if row else None


def add(store: Store, record: dict) -> int:
    return store.insert("regimen_approvals", record)
