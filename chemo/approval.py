"""Regimen approval: a centre treats with a regimen file's exact bytes only once two pharmacists approved them.

The file carries its ``version`` (and may be ``[retired]``); the approval is a fact of the record, not of the
file (issue 24).  A pharmacist approves a file (:func:`approve`): the record keeps its sha256, its version, its
bytes, and the clinical diff (:mod:`chemo.regimen_diff`) against the newest version of the same regimen id
that two pharmacists approved before it, in ``regimen_approvals`` and in the audit chain.  A second, different
pharmacist (on PostgreSQL also from another database user: the server checks it) approves the same bytes: then
they are approved (:func:`approval_status`).  A plan starts only on approved bytes (:func:`require_startable`,
called by :func:`chemo.records.start_plan`); a plan already started keeps the sha256 it pinned.  One changed
character is another sha256: unapproved until two pharmacists approve it.  A retired file is neither approved
nor started on, nor is any version of an id whose file in the regimen folder is retired, nor an approved version
older than the newest approved version of its id (a copy of old bytes kept anywhere starts nothing).

What an approval covers is the file's bytes: not the library they are read against (docs/regimen-format.md).
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import attrs

from . import audit
from .db import regimen_approvals
from .db.store import NotFound, Refusal, Store, now_local
from .errors import ChemoError, NextStep, RegimenError
from .regimen import version_words
from .roles import require

APPROVERS = ("pharmacist",)  # who approves a regimen file
NEEDED = regimen_approvals.NEEDED  # different pharmacists for a file's bytes to be approved
MAX_COMMENT = regimen_approvals.MAX_COMMENT


@attrs.frozen
class ApprovalStatus:
    """Where one file's bytes stand in this record: who approved them, in order, and whether that is enough."""

    regimen_id: str
    version: str | None
    sha256: str
    approvers: tuple = ()  # logins, oldest approval first
    retired: bool = False

    @property
    def approved(self) -> bool:
        return not self.retired and len(set(self.approvers)) >= NEEDED

    @property
    def status(self) -> str:
        """``approved``, ``awaiting second`` (one pharmacist), ``not approved`` or ``retired``."""
        if self.retired:
            return "retired"
        if self.approved:
            return "approved"
        return "awaiting second" if self.approvers else "not approved"

    def describe(self) -> str:
        """``doxorubicin-ifosfamide version 1.0 (sha256 1a2b3c4d5e6f)``."""
        return version_words(self.regimen_id, self.version, self.sha256)


class NotApproved(Refusal):
    """A plan cannot start on a regimen file's bytes that two pharmacists have not approved in this record (exit
    1); ``path``: the file, ``approvers``: who approved it so far."""

    def __init__(self, status: ApprovalStatus, path: str):
        self.status, self.path, self.approvers = status, path, status.approvers
        finding = f"{status.describe()} is not approved in this record"
        who = f"approved by: {', '.join(status.approvers)}" if status.approvers else "approved by no one yet"
        super().__init__(f"{finding}: it needs two different pharmacists to approve the file ({who})",
                         finding=finding, next_steps=(NextStep.APPROVE_REGIMEN,), field="regimen")


class RetiredRegimen(Refusal):
    """A retired regimen file: no new plan starts on it and it is not approved (exit 1)."""

    def __init__(self, regimen, doing: str):
        r = regimen.retired
        instead = f"; use {r.replaced_by} instead" if r.replaced_by else "; it names no replacement"
        super().__init__(f"{version_words(regimen.id, regimen.version)} was retired on {r.date.isoformat()} "
                         f"({r.reason}): {doing}{instead}", field="regimen")
        self.replaced_by = r.replaced_by


def shown_path(path) -> str:
    """A file's path as a command would name it: relative to the working folder when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except (ValueError, OSError):
        return str(path)


def approval_status(store: Store, regimen) -> ApprovalStatus:
    """Who approved this exact file (its sha256) in this record."""
    rows = regimen_approvals.for_sha256(store, regimen.sha256)
    return ApprovalStatus(regimen.id, regimen.version, regimen.sha256, tuple(r["approved_by"] for r in rows),
                          retired=regimen.retired is not None)


class OlderVersion(Refusal):
    """Approved bytes of a regimen id of which two pharmacists approved another version after them (exit 1):
    plans start on the newest approved version only (an old copy, kept or taken from git, is not treated with)."""

    def __init__(self, status: ApprovalStatus, newest: dict, path: str):
        self.status, self.path, self.newest_sha256 = status, path, newest["sha256"]
        super().__init__(f"{status.describe()} ({path}) was approved, but "
                         f"{version_words(status.regimen_id, newest['version'], newest['sha256'])} was approved after "
                         "it: a plan starts on the newest "
                         f"approved version of {status.regimen_id} ({shown_path(newest['file_name'])})",
                         field="regimen")


def centre_retirement(regimen):
    """The regimen file of the same id in the centre's regimen folder (:func:`chemo.library.regimens_dir`) when it
    is retired, else None: a retirement reaches every version of its id, also a copy of an older one kept
    elsewhere (whose bytes two pharmacists approved before the retirement).  A folder file that does not read
    retires nothing (``chemo verify`` reports it)."""
    from .library import load_library, regimens_dir
    from .regimen import load_regimen

    path = regimens_dir() / f"{regimen.id}.toml"
    try:
        if not path.exists() or path.resolve() == Path(regimen.path).resolve():
            return None  # none, or the file itself: its own [retired] was read already
        current = load_regimen(path, load_library())
    except (ChemoError, OSError):
        return None
    return current if current.retired is not None and current.id == regimen.id else None


def require_startable(store: Store, regimen) -> ApprovalStatus:
    """Nothing, when a plan may start on ``regimen``: not retired (nor its id in the centre's regimen folder), its
    bytes approved by two pharmacists in this record, and no other version of its id approved after them;
    :class:`RetiredRegimen`, :class:`NotApproved` or :class:`OlderVersion` otherwise."""
    if regimen.retired is not None:
        raise RetiredRegimen(regimen, "no new plan starts on it")
    retired = centre_retirement(regimen)
    if retired is not None:
        raise RetiredRegimen(retired, f"no new plan starts on any version of it ({shown_path(regimen.path)} either)")
    status = approval_status(store, regimen)
    if not status.approved:
        raise NotApproved(status, shown_path(regimen.path))
    newest = latest_approved(store, regimen.id)
    if newest is not None and newest["sha256"] != regimen.sha256:
        raise OlderVersion(status, newest, shown_path(regimen.path))
    return status


def file_bytes(regimen) -> bytes:
    """The bytes the regimen was read from, checked against its sha256 (a file changed since: an error)."""
    import hashlib

    try:
        data = Path(regimen.path).read_bytes()
    except OSError as exc:
        raise RegimenError(f"cannot read: {exc.strerror or exc}", file=str(regimen.path)) from None
    if hashlib.sha256(data).hexdigest() != regimen.sha256:
        raise RegimenError("changed while it was being read; approve it again", file=str(regimen.path))
    return data


def _comment(comment) -> str | None:
    if comment is None or not str(comment).strip():
        return None
    text = " ".join(str(comment).split())
    bad = next((c for c in text if unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs")), None)
    if bad is not None:  # an escape sequence would rewrite the terminal of whoever reads the history
        raise ChemoError(f"a comment is plain text: it contains the control character U+{ord(bad):04X}",
                         field="comment")
    if len(text) > MAX_COMMENT:
        raise ChemoError(f"a comment is at most {MAX_COMMENT} characters ({len(text)} given)", field="comment")
    return text


def _versions(rows: list[dict]) -> list[dict]:
    """The approvals of one regimen id grouped by sha256, in the order each sha256 was first approved: sha256,
    version, file name, approvals, and ``approved_row``: the id of the approval that made it approved (None)."""
    versions: dict[str, dict] = {}
    for row in rows:
        v = versions.setdefault(row["sha256"], {"sha256": row["sha256"], "version": row["version"],
                                                "file_name": row["file_name"], "approvals": [],
                                                "approved_row": None})
        v["approvals"].append(row)
        if v["approved_row"] is None and len({a["approved_by"] for a in v["approvals"]}) >= NEEDED:
            v["approved_row"] = row["id"]
    return list(versions.values())


def latest_approved(store: Store, regimen_id: str, *, other_than: str | None = None) -> dict | None:
    """The newest version of a regimen id two pharmacists approved (the one approved last), other than the sha256
    ``other_than``: its sha256, version and file name; None when there is none."""
    done = [v for v in _versions(regimen_approvals.for_regimen(store, regimen_id))
            if v["approved_row"] is not None and v["sha256"] != other_than]
    return max(done, key=lambda v: v["approved_row"]) if done else None


def _diff(store: Store, regimen, base: dict, library) -> dict:
    """The clinical diff of ``regimen`` against the approved version ``base`` (read back from the record's copy of
    its bytes), as JSON with its lines; a version that no longer reads against today's library says so."""
    from .regimen import regimen_from_bytes
    from .regimen_diff import diff_regimens

    text = regimen_approvals.file_text(store, base["sha256"])
    name = f"{version_words(regimen.id, base['version'], base['sha256'])} (approved)"
    try:
        old = regimen_from_bytes(text.encode("utf-8"), name, library)
    except ChemoError as exc:
        return {"clinical": None, "changes": [], "lines": [f"no diff: the approved version no longer reads ({exc})"]}
    if old.sha256 != base["sha256"]:  # its text edited in the record: not the bytes the pharmacists approved
        return {"clinical": None, "changes": [], "lines": [
            f"no diff: the record's text of {name} is not the bytes approved (changed outside chemo; see chemo "
            "audit verify)"]}
    diff = diff_regimens(old, regimen)
    return {**diff.as_json(), "lines": list(diff.lines())}


def approve(store: Store, regimen, user: str, *, comment=None, library=None) -> dict:
    """``user`` (a pharmacist) approves the bytes ``regimen`` was read from: the row written, with ``approvers``
    (every approval of those bytes so far), ``approved`` and ``diff`` (None: the first version of its id).

    Refused (:class:`chemo.db.store.Refusal`, written nothing): a retired file, a user who is not a pharmacist,
    a pharmacist who approved the same bytes already, bytes two pharmacists approved already, other bytes under a
    version (id and ``version``) approved before (a changed file carries a new version).  On a
    least-privilege PostgreSQL record the server also refuses the second approval from the database user of the
    first, under any login (:mod:`chemo.db.privileges`; its owner and a superuser act as anyone, as for every
    write).
    A file with problems never gets here (:func:`chemo.regimen.load_regimen` raises its RegimenError)."""
    if library is None:
        from .library import load_library

        library = load_library()
    if regimen.retired is not None:
        raise RetiredRegimen(regimen, "a retired regimen is not approved")
    note = _comment(comment)
    text = file_bytes(regimen).decode("utf-8")  # the regimen was read from these bytes: UTF-8
    db_user = store.database_user()
    with store.transaction():
        require(store, user, APPROVERS, "approving a regimen")
        earlier = regimen_approvals.for_sha256(store, regimen.sha256)
        status = ApprovalStatus(regimen.id, regimen.version, regimen.sha256,
                                tuple(r["approved_by"] for r in earlier))
        if status.approved:
            raise Refusal(f"{status.describe()} is approved already, by {' and '.join(status.approvers)}",
                          field="regimen")
        named = next((r for r in earlier if (r["regimen_id"], r["version"]) != (regimen.id, regimen.version)), None)
        if named is not None:  # written around chemo: the file names itself otherwise
            raise Refusal(f"{status.describe()}: its first approval ({named['approved_by']}, {named['approved_at']}) "
                          f"names it {version_words(named['regimen_id'], named['version'])}, not what the file "
                          "says (written outside chemo; see chemo audit verify)", field="regimen")
        mine = next((r for r in earlier if r["approved_by"] == user), None)
        if mine is not None:
            raise Refusal(f"{status.describe()}: {user} approved it already ({mine['approved_at']}); a second, "
                          "different pharmacist approves it", field="user")
        same = next((r for r in regimen_approvals.for_regimen(store, regimen.id)
                     if r["version"] == regimen.version and r["sha256"] != regimen.sha256), None)
        if same is not None:  # a version names one file: a committee's "version 1.0 approved" must mean one text
            raise Refusal(f"{status.describe()}: version {regimen.version or '(none)'} of {regimen.id} names other "
                          f"bytes (sha256 {same['sha256'][:12]}, approved by {same['approved_by']} at "
                          f"{same['approved_at']}): a changed file carries a new version", field="version")
        base = latest_approved(store, regimen.id, other_than=regimen.sha256)
        diff = _diff(store, regimen, base, library) if base else None
        record = {"regimen_id": regimen.id, "version": regimen.version, "sha256": regimen.sha256,
                  "file_name": str(Path(regimen.path).resolve()), "file_text": text,
                  "diff_from": base["sha256"] if base else None,
                  "diff_json": json.dumps(diff, ensure_ascii=False, sort_keys=True) if diff is not None else None,
                  "approved_by": user, "db_user": db_user, "approved_at": now_local().isoformat(), "comment": note}
        row_id = regimen_approvals.add(store, record)
        audit.append(store, user, "regimen.approve", "regimen_approvals", row_id, None, record)
    approvers = (*status.approvers, user)
    done = ApprovalStatus(regimen.id, regimen.version, regimen.sha256, approvers)
    return {"id": row_id, "regimen_id": regimen.id, "version": regimen.version, "sha256": regimen.sha256,
            "file": shown_path(record["file_name"]), "approved_by": user, "approved_at": record["approved_at"],
            "comment": note, "approvers": list(approvers), "approved": done.approved, "status": done.status,
            "diff_from": record["diff_from"],
            "diff_from_version": base["version"] if base else None, "diff": diff}


def stored_diff(text) -> dict | None:
    """An approval's stored diff (``diff_json``) as :func:`approve` wrote it: a JSON object whose ``lines`` are
    text; anything else (written around chemo) is shown as such, never read as a diff."""
    if text is None:
        return None
    try:
        diff = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        diff = None
    lines = diff.get("lines") if isinstance(diff, dict) else None
    if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
        return {"clinical": None, "changes": [],
                "lines": ["no diff: the stored diff is not one chemo wrote (changed outside chemo)"]}
    return diff


def history(store: Store, regimen_id: str, *, current=None) -> list[dict]:
    """Every version of a regimen id approved in this record, in the order first approved: sha256, version, file,
    approvals (login, at, db_user, comment), status (``approved``, ``awaiting second``), the version it was diffed
    against and the diff (with its ``lines``).  ``current``: the regimen file as it is now; when its bytes were
    never approved it is listed last, ``retired`` or ``not approved``, with its diff against the newest approved
    version.  NotFound when there is neither."""
    out = []
    for v in _versions(regimen_approvals.for_regimen(store, regimen_id)):
        last = v["approvals"][-1]
        diff = stored_diff(last["diff_json"])
        out.append({"sha256": v["sha256"], "version": v["version"], "file": shown_path(v["file_name"]),
                    "status": "approved" if v["approved_row"] is not None else "awaiting second",
                    "approvals": [{"login": a["approved_by"], "at": a["approved_at"], "db_user": a["db_user"],
                                   "comment": a["comment"]} for a in v["approvals"]],
                    "diff_from": last["diff_from"], "diff": diff})
    if current is not None and current.id == regimen_id and all(v["sha256"] != current.sha256 for v in out):
        from .library import load_library

        base = latest_approved(store, regimen_id)
        out.append({"sha256": current.sha256, "version": current.version, "file": shown_path(current.path),
                    "status": "retired" if current.retired is not None else "not approved", "approvals": [],
                    "diff_from": base["sha256"] if base else None,
                    "diff": _diff(store, current, base, load_library()) if base else None})
    if not out:
        raise NotFound(f"no version of {regimen_id!r} was approved in this record, and no regimen file has that id",
                       field="regimen")
    return out
