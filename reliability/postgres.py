"""The record on PostgreSQL: concurrent writers, concurrent signers, a server restart mid-write.

The server is ``$CHEMO_TEST_POSTGRES`` (else ``postgresql://postgres@127.0.0.1:5432/test``);
every figure works in its own schema, dropped afterwards.  Without a reachable
server the part is NOT RUN.

* writers: the 4 × 500 of :mod:`reliability.writers` (one ``add_lab`` per
  transaction, the record opened afresh for each, as each command does):
  every acknowledged row there with its value, no error shown, the chain intact;
* signers: 8 processes sign off at the same moment (each a pharmacist's dose
  sign-off and a nurse's readiness sign-off for its own patients): every
  sign-off acknowledged, one audit row each, the chain one chain (no fork,
  no gap) and verifying;
* restart: a writer records labs while the server is restarted
  (``pg_ctlcluster VERSION CLUSTER restart`` or ``service postgresql restart``;
  only for a server on this machine): every acknowledged row is there, each
  write that was cut off said so in one line (``db: ...``, exit 3 from the
  command line) and nothing crashed, the chain verifies, the server is up
  again afterwards.

    python -m reliability.postgres [--quick]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from .common import ROOT, Figure, Missing, chemo_env, clear_error, exactly, print_figures, require, run_chemo

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
SIGNERS = 8


def server_url() -> str:
    return os.environ.get("CHEMO_TEST_POSTGRES") or DEFAULT_URL


class Schema:
    """A new schema on the server for one figure: ``.url`` opens it; dropped on exit."""

    def __init__(self, base: str):
        import psycopg

        self.base = base
        self.name = f"chemo_rel_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(base, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"CREATE SCHEMA {self.name}")
        self.url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{self.name}"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        import psycopg

        for _ in range(60):  # after a restart the server may take a moment to accept connections
            try:
                with psycopg.connect(self.base, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"DROP SCHEMA IF EXISTS {self.name} CASCADE")
                return
            except psycopg.OperationalError:
                time.sleep(1)


def reachable(url: str) -> str | None:
    """None when the server answers, else why not (one line)."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(url, connect_timeout=5):
            return None
    except psycopg.Error as exc:
        return " ".join(str(exc).split())[:200]


# ------------------------------------------------------------------ writers

def writers_figures(url: str, quick: bool) -> list[Figure]:
    from . import writers as w

    n, writes = (2, 50) if quick else (4, 500)
    with Schema(url) as schema, tempfile.TemporaryDirectory(prefix="chemo-pg-writers-") as tmp:
        w.setup(schema.url, n)
        result = w.run_api(schema.url, n, writes, go=Path(tmp) / "go")
        state = w.check_db(schema.url, result["acks"], n)
    total = n * writes
    label = f"PostgreSQL, {n} writers × {writes}"
    return [
        exactly(f"concurrent writes acknowledged ({label})", len(result["acks"]), total,
                detail=f"{result['seconds']:.1f} s, {total / result['seconds']:.0f} writes/s"),
        exactly(f"acknowledged writes lost ({label})", len(state["lost"]), 0, examples=[str(x) for x in state["lost"][:5]]),
        exactly(f"errors shown to the user ({label})", len(result["errors"]) + len(result["crashes"]), 0,
                examples=(result["errors"] + result["crashes"])[:5]),
        exactly(f"rows after the writers ({label})", state["rows"], total),
        exactly(f"audit chain problems after the writers ({label})", len(state["integrity"]) + len(state["audit"]), 0,
                examples=(state["integrity"] + state["audit"])[:5]),
    ]


# ------------------------------------------------------------------ signers

def signer_child(url: str, signer: int, patients: int, go: str) -> int:
    """Sign off dose (pharmacist) and readiness (nurse) of cycle 1 for this signer's patients; ``ACK`` each."""
    from chemo.errors import ChemoError
    from chemo.db import open_store
    from chemo.treatment import signoff

    print("READY", flush=True)
    while not Path(go).exists():
        time.sleep(0.002)
    for p in range(patients):
        mrn = f"S{signer}-{p}"
        for actor, check in ((f"pharm-{signer}", "dose"), (f"nurse-{signer}", "readiness")):
            try:
                with open_store(url) as store:
                    row = signoff(store, actor, mrn, 1, check)
                print(f"ACK {row['id']} {mrn} {check}", flush=True)
            except ChemoError as exc:
                print(f"ERR {mrn} {check}: {exc}", flush=True)
    return 0


def signers_figures(url: str, quick: bool) -> list[Figure]:
    from chemo import audit, roles
    from chemo.demo import add_ready_patient, approve_regimens
    from chemo.db import open_store

    patients = 2 if quick else 12
    with Schema(url) as schema, tempfile.TemporaryDirectory(prefix="chemo-pg-signers-") as tmp:
        with open_store(schema.url) as store:
            roles.add_user(store, "admin", "admin", "pharmacist")
            roles.add_user(store, "admin", "rx", "prescriber")
            roles.add_user(store, "admin", "admin-2", "pharmacist")
            approve_regimens(store, ("doxorubicin-ifosfamide",), ("admin", "admin-2"))  # plans start on it
            for s in range(SIGNERS):
                roles.add_user(store, "admin", f"pharm-{s}", "pharmacist")
                roles.add_user(store, "admin", f"nurse-{s}", "nurse")
                for p in range(patients):
                    add_ready_patient(store, f"S{s}-{p}", prescriber="rx", nurse=f"nurse-{s}")
            before = store.one("SELECT count(*) AS n FROM audit")["n"]
        go = Path(tmp) / "go"
        procs = [subprocess.Popen([sys.executable, "-m", "reliability.postgres", "--signer", schema.url, str(s),
                                   str(patients), str(go)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for s in range(SIGNERS)]
        for p in procs:
            p.stdout.readline()
        go.touch()
        started = time.perf_counter()
        outs = [p.communicate(timeout=900) for p in procs]
        seconds = time.perf_counter() - started
        acks = [line for out, _ in outs for line in out.splitlines() if line.startswith("ACK ")]
        errors = [line for out, _ in outs for line in out.splitlines() if line.startswith("ERR ")]
        errors += [f"exit {p.returncode}: {err.strip()[-300:]}" for p, (_, err) in zip(procs, outs)
                   if p.returncode != 0 or "Traceback" in err]
        with open_store(schema.url, create=False) as store:
            count, problems = audit.verify(store)
            ids = [r["id"] for r in store.query("SELECT id FROM audit ORDER BY id")]
            signed = store.one("SELECT count(*) AS n FROM signoffs")["n"]
            forks = store.one("SELECT count(*) AS n FROM (SELECT prev_hash FROM audit GROUP BY prev_hash "
                              "HAVING count(*) > 1) f")["n"]
    total = SIGNERS * patients * 2
    label = f"PostgreSQL, {SIGNERS} concurrent signers"
    return [
        exactly(f"sign-offs acknowledged ({label})", len(acks), total, detail=f"{seconds:.1f} s"),
        exactly(f"errors shown to the user ({label})", len(errors), 0, examples=errors[:5]),
        exactly(f"sign-off rows and their audit rows ({label})", signed + (count - before), 2 * total),
        exactly(f"audit chain forks, gaps and problems ({label})",
                forks + (ids != list(range(1, len(ids) + 1))) + len(problems), 0, examples=problems[:5]),
    ]


# ------------------------------------------------------------------ server restart

def restart_command() -> list[str] | None:
    """How to restart the local server, or None (not this machine's, or no tool)."""
    if shutil.which("pg_lsclusters") and shutil.which("pg_ctlcluster"):
        lines = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True).stdout.split("\n")
        online = [line.split() for line in lines if " online" in line]
        if len(online) == 1:
            return ["pg_ctlcluster", online[0][0], online[0][1], "restart"]
    if shutil.which("service"):
        return ["service", "postgresql", "restart"]
    return None


def restart_writer(url: str, stop: str) -> int:
    """Record labs until ``stop`` exists, the record opened afresh for each; ``ACK id value`` or ``ERR line``."""
    from chemo.errors import ChemoError
    from chemo.records import add_lab
    from chemo.db import open_store

    print("READY", flush=True)
    i = 0
    while not Path(stop).exists():
        i += 1
        value = f"{100 + i % 300} 10^9/L"
        try:
            with open_store(url) as store:
                row = add_lab(store, "nurse-0", "R1", "platelets", value)
            print(f"ACK {row['id']} {value}", flush=True)
        except ChemoError as exc:
            print(f"ERR {str(exc)!r}", flush=True)
            time.sleep(0.05)
    return 0


def restart_figures(url: str, quick: bool) -> list[Figure]:
    from urllib.parse import urlsplit

    from chemo import audit, roles
    from chemo.records import add_patient
    from chemo.db import open_store

    host = urlsplit(url).hostname or "localhost"
    command = restart_command()
    name = "PostgreSQL restarted mid-write"
    if host not in ("127.0.0.1", "localhost", "::1") or command is None or os.geteuid() != 0:
        return [Figure(name, None, "-", False, not_run="needs a server on this machine and root to restart it")]
    with Schema(url) as schema, tempfile.TemporaryDirectory(prefix="chemo-pg-restart-") as tmp:
        with open_store(schema.url) as store:
            roles.add_user(store, "admin", "admin", "pharmacist")
            roles.add_user(store, "admin", "nurse-0", "nurse")
            add_patient(store, "admin", mrn="R1", name="Restart patient", sex="female", born="1970-01-01",
                        height="170 cm", weight="70 kg")
        stop = Path(tmp) / "stop"
        proc = subprocess.Popen([sys.executable, "-m", "reliability.postgres", "--restart-writer", schema.url, str(stop)],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
        reader.start()
        deadline = time.monotonic() + 60
        while sum(line.startswith("ACK") for line in lines) < 30 and time.monotonic() < deadline:
            time.sleep(0.05)
        # the command line too: `chemo labs add` processes started while the server goes down
        env = chemo_env(CHEMO_DB=schema.url)
        cli: list = []

        def commands():
            for k in range(12):
                cli.append(run_chemo(["labs", "add", "R1", "platelets", f"{200 + k} 10^9/L", "--user", "nurse-0"],
                                     env=env, timeout=120))

        cli_thread = threading.Thread(target=commands)
        cli_thread.start()
        time.sleep(0.2)
        restarted = subprocess.run(command, capture_output=True, text=True, timeout=180)
        acks_before = sum(line.startswith("ACK") for line in lines)
        deadline = time.monotonic() + 90
        while sum(line.startswith("ACK") for line in lines) < acks_before + 30 and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.touch()
        cli_thread.join(timeout=300)
        proc.wait(timeout=60)
        reader.join(timeout=10)
        stderr = proc.stderr.read()
        acks = [line.split(" ", 2) for line in lines if line.startswith("ACK ")]
        errors = [line[4:].strip() for line in lines if line.startswith("ERR ")]
        unclear = [e for e in errors if "\\n" in e or not e.strip("'\"").startswith("db: ")]
        cli_failed = [r for r in cli if r.returncode != 0]
        cli_unclear = [f"exit {r.returncode}: {r.stderr.strip()[-200:]}" for r in cli_failed
                       if r.returncode != 3 or not clear_error(r)[0] or not r.stderr.startswith("chemo: db: ")]
        with open_store(schema.url, create=False) as store:  # the server is up again
            rows = {r["id"]: r["value_text"] for r in store.query("SELECT id, value_text FROM labs")}
            _, problems = audit.verify(store)
        lost = [a for a in acks if rows.get(int(a[1])) != a[2].strip()]
        unknown = sum("may or may not" in e for e in errors)
        cli_ok = sum(r.returncode == 0 for r in cli)
    return [
        exactly(f"{name}: the restart ran ({' '.join(command)})", restarted.returncode, 0,
                examples=[restarted.stderr.strip()[-200:]]),
        exactly(f"{name}: acknowledged writes lost", len(lost), 0,
                detail=f"{len(acks)} acknowledged, {len(errors)} cut off or refused while it was down",
                examples=[str(x) for x in lost[:5]]),
        exactly(f"{name}: cut-off writes not told in one 'db:' line", len(unclear) + ("Traceback" in stderr), 0,
                examples=unclear[:5] + [stderr[-300:]] * ("Traceback" in stderr)),
        Figure(f"{name}: writes cut off (each said so)", len(errors), ">= 1", len(errors) >= 1,
               detail="a restart that interrupted nothing proves nothing"),
        exactly(f"{name}: `chemo labs add` cut off without exit 3 and one 'chemo: db:' line", len(cli_unclear), 0,
                detail=f"{len(cli_failed)} of {len(cli)} commands cut off", examples=cli_unclear[:5]),
        exactly(f"{name}: rows neither acknowledged nor reported as possibly written",
                max(0, len(rows) - len(acks) - cli_ok - unknown), 0),
        exactly(f"{name}: audit chain problems afterwards", len(problems), 0, examples=problems[:5]),
    ]


def run(quick: bool = False) -> list[Figure]:
    require("chemo.db.postgres", "psycopg")
    url = server_url()
    why = reachable(url)
    if why:
        raise Missing(f"no PostgreSQL server at {url} ({why}); set CHEMO_TEST_POSTGRES")
    figures = writers_figures(url, quick) + signers_figures(url, quick)
    figures += restart_figures(url, quick) if not quick else []
    return figures


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "--signer":
        return signer_child(args[1], int(args[2]), int(args[3]), args[4])
    if args and args[0] == "--restart-writer":
        return restart_writer(args[1], args[2])
    return print_figures(run(quick="--quick" in args), examples=5)


if __name__ == "__main__":
    sys.exit(main())
