"""Failover: the primary dies while 4 writers run, its synchronous standby is promoted.

A primary and a hot standby are made on this machine (:mod:`reliability.pgpair`: two new clusters,
streaming replication, the standby synchronous with ``synchronous_commit = remote_apply``) and
dropped afterwards.  Every writer and command is given the multi-host URL
``postgresql://…:P1,…:P2/chemo?target_session_attrs=read-write``.

* 4 writers record labs without pause: 2 keep one session open (a workstation), 2 open the record
  for each write (a command); each prints ``ACK id value`` for a write chemo acknowledged and
  ``ERR line`` for one it refused or could not make;
* ``chemo labs add`` commands run meanwhile;
* the primary is stopped at once (``pg_ctlcluster … stop -m immediate``: its machine failed), and a
  second later the standby is promoted (what Patroni or repmgr would do);
* the figures: every acknowledged write is on the new primary with its value; every write cut off
  said so in one ``db:`` line (a command: exit 3, one ``chemo: db:`` line); no row is there that
  was neither acknowledged nor reported as "may or may not have been recorded"; the audit chain
  verifies on the new primary; the writers write again after the promotion.

The commit cost of each ``synchronous_commit`` setting (``local``, ``on``, ``remote_apply``) is
measured on the same pair: the median ``chemo labs add`` transaction (one session, 100 writes).

    python -m reliability.failover [--quick]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from .common import ROOT, Figure, Missing, at_least, chemo_env, clear_error, exactly, print_figures, require, run_chemo

WRITERS = 4


def writer(url: str, tag: str, mode: str, stop: str) -> int:
    """Record labs for patient ``tag`` until ``stop`` exists; ``mode`` ``session`` (one open record) or
    ``command`` (opened for each write)."""
    from chemo.errors import ChemoError
    from chemo.records import add_lab
    from chemo.db import open_store

    print("READY", flush=True)
    store = open_store(url) if mode == "session" else None
    i = 0
    while not Path(stop).exists():
        i += 1
        value = f"{100 + i % 300} 10^9/L"
        try:
            if store is None:
                with open_store(url) as s:
                    row = add_lab(s, "nurse-0", tag, "platelets", value)
            else:
                row = add_lab(store, "nurse-0", tag, "platelets", value)
            print(f"ACK {row['id']} {value}", flush=True)
        except ChemoError as exc:
            print(f"ERR {str(exc)!r}", flush=True)
            time.sleep(0.05)
    if store is not None:
        store.close()
    return 0


def _setup(url: str, tags) -> None:
    from chemo import roles
    from chemo.records import add_patient
    from chemo.db import open_store

    with open_store(url) as store:
        roles.add_user(store, "admin", "admin", "pharmacist")
        roles.add_user(store, "admin", "nurse-0", "nurse")
        for tag in tags:
            add_patient(store, "admin", mrn=tag, name=f"Failover patient {tag}", sex="female", born="1970-01-01",
                        height="170 cm", weight="70 kg")


def commit_cost(pair, writes: int) -> dict[str, float]:
    """setting -> the median ms of one ``add_lab`` transaction on the pair's primary, in one session."""
    from chemo.records import add_lab
    from chemo.db import open_store

    out = {}
    for setting in ("local", "on", "remote_apply"):
        url = f"{pair.url('primary')}?options=-csynchronous_commit%3D{setting}"
        with open_store(url) as store:
            add_lab(store, "nurse-0", "W1", "platelets", "150 10^9/L")
            times = []
            for i in range(writes):
                t0 = time.perf_counter()
                add_lab(store, "nurse-0", "W1", "platelets", f"{150 + i % 100} 10^9/L")
                times.append((time.perf_counter() - t0) * 1000)
        out[setting] = statistics.median(times)
    return out


def failover_figures(quick: bool) -> list[Figure]:
    from chemo import audit
    from chemo.db import open_store

    from .pgpair import Pair

    name = "failover mid-write (standby promoted, 4 writers)"
    tags = [f"W{k + 1}" for k in range(WRITERS)]
    with Pair("remote_apply") as pair:
        url = pair.url()
        _setup(url, tags)
        costs = commit_cost(pair, 30 if quick else 100)
        with open_store(url, create=False) as store:
            base_rows = store.one("SELECT count(*) AS n FROM labs")["n"]
        stop = Path(f"/tmp/chemo-failover-stop-{id(pair)}")
        stop.unlink(missing_ok=True)
        procs = [subprocess.Popen([sys.executable, "-m", "reliability.failover", "--writer", url, tag,
                                   "session" if k < 2 else "command", str(stop)], cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for k, tag in enumerate(tags)]
        lines: list[list[str]] = [[] for _ in procs]
        readers = [threading.Thread(target=lambda p=p, out=out: out.extend(iter(p.stdout.readline, "")), daemon=True)
                   for p, out in zip(procs, lines)]
        for r in readers:
            r.start()

        def acks(k):
            return sum(line.startswith("ACK") for line in lines[k])

        deadline = time.monotonic() + 120
        while min(acks(k) for k in range(WRITERS)) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        env = chemo_env(CHEMO_DB=url)
        cli: list = []

        def commands():
            for k in range(6 if quick else 12):
                cli.append(run_chemo(["labs", "add", "W1", "platelets", f"{200 + k} 10^9/L", "--user", "nurse-0"],
                                     env=env, timeout=120))

        cli_thread = threading.Thread(target=commands)
        cli_thread.start()
        time.sleep(0.3)
        before = [acks(k) for k in range(WRITERS)]
        t_fail = time.perf_counter()
        pair.stop_primary()
        time.sleep(1.0)  # the failover manager notices and decides
        pair.promote()
        promoted_s = time.perf_counter() - t_fail
        deadline = time.monotonic() + 120
        while any(acks(k) < before[k] + 20 for k in range(WRITERS)) and time.monotonic() < deadline:
            time.sleep(0.05)
        resumed_s = time.perf_counter() - t_fail
        stop.touch()
        cli_thread.join(timeout=300)
        errs = []
        for p in procs:
            p.wait(timeout=60)
            errs.append(p.stderr.read())
        for r in readers:
            r.join(timeout=10)
        stop.unlink(missing_ok=True)
        all_lines = [line for out in lines for line in out]
        acked = [line.split(" ", 2) for line in all_lines if line.startswith("ACK ")]
        errors = [line[4:].strip() for line in all_lines if line.startswith("ERR ")]
        unclear = [e for e in errors if "\\n" in e or not e.strip("'\"").startswith("db: ")]
        crashed = [e[-300:] for e in errs if "Traceback" in e]
        cli_failed = [r for r in cli if r.returncode != 0]
        cli_unclear = [f"exit {r.returncode}: {r.stderr.strip()[-200:]}" for r in cli_failed
                       if r.returncode != 3 or not clear_error(r)[0] or not r.stderr.startswith("chemo: db: ")]
        with open_store(url, create=False) as store:  # the promoted standby: the only writable host left
            port = store.one("SELECT inet_server_port() AS port")["port"]
            rows = {r["id"]: r["value_text"] for r in store.query("SELECT id, value_text FROM labs")}
            _, problems = audit.verify(store)
        lost = [a for a in acked if rows.get(int(a[1])) != a[2].strip()]
        unknown = sum("may or may not" in e for e in errors)
        cli_ok = sum(r.returncode == 0 for r in cli)
        after = [acks(k) - before[k] for k in range(WRITERS)]
    figures = [
        exactly(f"{name}: the writes after it reach the promoted standby (its port)", port, pair.standby_port),
        exactly(f"{name}: acknowledged writes lost", len(lost), 0,
                detail=f"{len(acked)} acknowledged, {len(errors)} cut off or refused; promoted "
                       f"{promoted_s:.1f} s after the primary stopped, every writer writing again after "
                       f"{resumed_s:.1f} s", examples=[str(x) for x in lost[:5]]),
        exactly(f"{name}: cut-off writes not told in one 'db:' line, or a traceback", len(unclear) + len(crashed), 0,
                examples=(unclear + crashed)[:5]),
        Figure(f"{name}: writes cut off (each said so)", len(errors), ">= 1", len(errors) >= 1,
               detail="a failover that interrupted nothing proves nothing"),
        exactly(f"{name}: `chemo labs add` cut off without exit 3 and one 'chemo: db:' line", len(cli_unclear), 0,
                detail=f"{len(cli_failed)} of {len(cli)} commands cut off", examples=cli_unclear[:5]),
        exactly(f"{name}: rows neither acknowledged nor reported as possibly written",
                max(0, len(rows) - base_rows - len(acked) - cli_ok - unknown), 0),
        exactly(f"{name}: audit chain problems on the new primary", len(problems), 0, examples=problems[:5]),
        at_least(f"{name}: writes acknowledged after the promotion (fewest of the 4 writers)", min(after), 20),
    ]
    for setting, ms in costs.items():
        figures.append(Figure(f"commit cost, synchronous_commit = {setting}: median chemo labs add transaction",
                              round(ms, 2), "measured", True, "ms", detail="one session on the primary, standby attached"))
    return figures


def _available() -> None:
    require("chemo.db.postgres", "psycopg")
    from .pgpair import unavailable

    why = unavailable()
    if why:
        raise Missing(why)


def run(quick: bool = False) -> list[Figure]:
    if quick:  # the suite's quick slice runs inside `make test`, where tests/test_failover.py covers this part
        raise Missing("left out of the quick slice (tests/test_failover.py is its quick test; "
                      "`python -m reliability.failover --quick` runs it alone)")
    _available()
    return failover_figures(quick)


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "--writer":
        return writer(args[1], args[2], args[3], args[4])
    _available()
    return print_figures(failover_figures(quick="--quick" in args), examples=5)


if __name__ == "__main__":
    sys.exit(main())
