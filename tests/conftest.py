"""Shared fixtures: the real regimen files, mutated copies of them, a CLI runner."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI runs the property tests derandomized: the same examples every run, so a red CI
# always means a change broke a law.  On a developer's machine they explore anew
# (and keep what they find in .hypothesis/).  No deadline: a loaded 2-core machine
# must not turn a slow example into a failure.
settings.register_profile("ci", derandomize=True, deadline=None, database=None)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

ROOT = Path(__file__).resolve().parent.parent
REGIMENS = ROOT / "regimens"
LIBRARY = REGIMENS / "library"
REGIMEN_IDS = (
    "doxorubicin-ifosfamide",
    "epirubicin-ifosfamide",
    "doxorubicin-dacarbazine",
    "pld-ifosfamide-anlotinib",
)


def regimen_text(rid: str) -> str:
    return (REGIMENS / f"{rid}.toml").read_text(encoding="utf-8")


def mutate_text(text: str, *edits) -> str:
    """Apply ``(old, new)`` or ``(old, new, nth)`` replacements to ``text``.

    Each ``old`` must occur in the text (else the test would silently check the
    unmodified file); ``nth`` (1-based) picks one occurrence, default the first.
    """
    for edit in edits:
        old, new, nth = (*edit, 1) if len(edit) == 2 else edit
        assert text.count(old) >= nth, f"{old!r} occurs {text.count(old)} times, wanted occurrence {nth}"
        start = -1
        for _ in range(nth):
            start = text.index(old, start + 1)
        text = text[:start] + new + text[start + len(old):]
    return text


@pytest.fixture
def mutated(tmp_path):
    """``mutated("doxorubicin-ifosfamide", ("75 mg/m²", "750 mg/m²"))`` -> Path of the edited copy.

    ``append=`` adds text at the end; ``name=`` names the copy (default: the regimen id).
    """

    def make(rid: str, *edits, append: str = "", name: str | None = None) -> Path:
        text = mutate_text(regimen_text(rid), *edits) + append
        path = tmp_path / f"{name or rid}.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return make


@pytest.fixture
def write_file(tmp_path):
    """Write raw bytes or text to ``tmp_path/name`` and return the Path."""

    def make(name: str, content) -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return make


@pytest.fixture(scope="session")
def library():
    from chemo.library import load_library

    return load_library()


@pytest.fixture
def runner():
    from click.testing import CliRunner

    return CliRunner()


@pytest.fixture
def chemo_cli():
    from chemo.cli import cli

    return cli


# ------------------------------------------------------------------ both engines
# The record's suites run on SQLite and on a real PostgreSQL server.  The server is
# named by $CHEMO_TEST_POSTGRES (CI's .ci/run exports it, and there an unreachable
# server fails the run); without it the PostgreSQL half is left out with one line
# saying how to run it.  Every PostgreSQL test gets its own schema, dropped after.

PG_ENV = "CHEMO_TEST_POSTGRES"
PG_HOWTO = f"set {PG_ENV}=postgresql://postgres@127.0.0.1:5432/test (a server where that user may create schemas)"
_PG_LEFT_OUT: list = []


@pytest.hookimpl(trylast=True)  # after -k and -m: count only what would have run
def pytest_collection_modifyitems(config, items):
    if os.environ.get(PG_ENV):
        return
    if os.environ.get("CI"):
        raise pytest.UsageError(f"CI must run the PostgreSQL tests: {PG_HOWTO}")
    left = [item for item in items if item.get_closest_marker("postgresql")]
    if left:
        _PG_LEFT_OUT.extend(left)
        config.hook.pytest_deselected(items=left)
        items[:] = [item for item in items if not item.get_closest_marker("postgresql")]


_PG_LEFT_OUT_BY_WORKERS: list[int] = []  # under xdist the workers collect: each tells the controller its count


def pytest_sessionfinish(session):
    if hasattr(session.config, "workeroutput"):  # an xdist worker
        session.config.workeroutput["pg_left_out"] = len(_PG_LEFT_OUT)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):  # xdist, in the controller: a worker finished
    _PG_LEFT_OUT_BY_WORKERS.append(getattr(node, "workeroutput", {}).get("pg_left_out", 0))


def pytest_terminal_summary(terminalreporter):
    n = max([len(_PG_LEFT_OUT), *_PG_LEFT_OUT_BY_WORKERS])  # every worker collects the whole suite
    if n:
        terminalreporter.write_line(f"PostgreSQL half skipped ({n} test{'s' * (n != 1)}): to run it, {PG_HOWTO}")


def _pg_url(schema: str) -> str:
    base = os.environ[PG_ENV]
    # synchronous_commit off: the tests wait for no disk flush (a crash of the test server loses nothing of value)
    return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}%20-csynchronous_commit%3Doff"


@pytest.fixture(scope="session")
def pg_admin():
    """A connection to $CHEMO_TEST_POSTGRES that creates and drops the tests' schemas."""
    import psycopg

    try:
        conn = psycopg.connect(os.environ[PG_ENV], autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        pytest.fail(f"{PG_ENV}={os.environ[PG_ENV]!r} is not reachable: {' '.join(str(exc).split())}",
                    pytrace=False)
    yield conn
    conn.close()


@pytest.fixture
def pg_schema(pg_admin):
    """``pg_schema()`` -> the URL of a new, empty schema on the test server (dropped after the test)."""
    import uuid

    made = []

    def make() -> str:
        name = f"chemo_test_{WORKER}_{uuid.uuid4().hex[:12]}"  # unique on the server, says whose
        pg_admin.execute(f"CREATE SCHEMA {name}")
        made.append(name)
        return _pg_url(name)

    yield make
    for name in made:
        pg_admin.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


ENGINES = ("sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql))


@pytest.fixture(params=ENGINES)
def engine(request):
    return request.param


@pytest.fixture
def new_db(engine, tmp_path, request):
    """``new_db("name.db")`` -> where a new record of this test lives: a file under tmp_path (SQLite) or the
    URL of a new schema (PostgreSQL).  The same name gives the same place within a test."""
    made: dict = {}

    def make(name: str = "chemo.db"):
        if name not in made:
            made[name] = tmp_path / name if engine == "sqlite" else request.getfixturevalue("pg_schema")()
        return made[name]

    return make


def clone_db(template: Path, engine: str, tmp_path: Path, request, name: str = "copy.db"):
    """A copy of the SQLite record ``template`` for this test, on ``engine`` (PostgreSQL: with chemo db copy)."""
    import shutil

    if engine == "sqlite":
        target = tmp_path / name
        shutil.copyfile(template, target)
        return target
    from chemo.db.copy import copy_record
    from chemo.db import open_store

    url = request.getfixturevalue("pg_schema")()
    with open_store(template, create=False) as source, open_store(url) as target:
        copy_record(source, target)
    return url


@contextlib.contextmanager
def least_privilege_deployment():
    """A PostgreSQL database set up as ``chemo db setup-sql`` prints it, with a role per user (the fault suite's
    reliability.least_privilege): ``(deployment, its populated record, invoke(args, url) -> exit code)``."""
    from click.testing import CliRunner

    from chemo.cli import cli
    from reliability import least_privilege as lp

    def invoke(args, db):
        return CliRunner().invoke(cli, [*args, "--db", db]).exit_code

    url = lp.base_url()
    d = lp.deploy(url, invoke)
    try:
        yield d, lp.populate(d, invoke), invoke
    finally:
        lp.teardown(url, d)


def raw_execute(where, sql: str, params=()) -> None:
    """Change the record behind chemo's back (a tampering test): one statement, committed."""
    from chemo.db import open_store

    with open_store(where, create=False) as store:
        store.execute(sql, params)


# ------------------------------------------------------------------ in parallel
# `make test` runs the suite with pytest-xdist (`-n`, `--dist loadgroup`): each worker
# is its own process with its own tmp_path tree (so its own SQLite files), its own
# chemo cache folder (below), and its own PostgreSQL schemas, named with the worker.
# The fault suite's quick slice (three runs side by side) is shared by the tests of its
# module (a module-scoped fixture): those tests are one group, kept on one worker,
# and sent first so that the slice runs while the other workers take the rest.

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")  # "gw0", "gw1", ...; "main" without xdist
FIRST = ("test_reliability_slice.py", "test_failover.py", "test_tui_prescriptions.py")  # the longest: started first


def pytest_configure(config):
    config.addinivalue_line("markers", "postgresql: runs against the PostgreSQL server of $CHEMO_TEST_POSTGRES")
    config.pluginmanager.register(_LongestFirst(), "chemo-longest-first")


@pytest.fixture(scope="session", autouse=True)
def chemo_cache_dir(tmp_path_factory):
    """This test process's own chemo cache folder (not the user's): nothing read that another run wrote."""
    folder = tmp_path_factory.mktemp("chemo-cache")
    with pytest.MonkeyPatch.context() as patch:  # put back as it was at the end of the session
        patch.setenv("CHEMO_CACHE_DIR", str(folder))
        yield folder


class _LongestFirst:
    """The FIRST modules' tests first, each module one xdist group (before xdist reads the groups)."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items):
        first = [item for item in items if item.path.name in FIRST]
        for item in first:
            item.add_marker(pytest.mark.xdist_group(item.path.name))
        items[:] = first + [item for item in items if item.path.name not in FIRST]


class Clock:
    """The record's one clock (``chemo.db.store.now_local``) under a test's control: it starts at the real time
    and moves only when told (:meth:`advance`, :meth:`set`); no test sleeps."""

    def __init__(self, start):
        self.now = start

    def __call__(self):
        return self.now

    def advance(self, **delta):
        import datetime as _dt

        self.now += _dt.timedelta(**delta)
        return self.now

    def set(self, when):
        self.now = when
        return when


@pytest.fixture
def clock(monkeypatch):
    import datetime as _dt

    from chemo.db import store as _store

    c = Clock(_dt.datetime.now().replace(microsecond=0))
    monkeypatch.setattr(_store, "CLOCK", c)
    return c
