"""kill -9 the MLLP listener (``chemo labs listen``) while senders stream ORU^R01 messages into it.

Each trial starts the real command on a free loopback port over a record shared by
the trials, lets 1-4 senders stream messages (each a CBC of three used results and
one ignored, its own control id and filler order number), and sends SIGKILL to the
listener at a random moment.  Then it opens the record and checks:

* ``PRAGMA integrity_check`` is ``ok``;
* every message ACKed ``AA`` is in the record: its three results;
* nothing un-ACKed is half in: every message in the record has all three results
  (one transaction per message), and every imported row has its audit row.

    python -m reliability.mllp_kill9 [--trials 40]
"""

from __future__ import annotations

import argparse
import random
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from .common import Figure, at_least, chemo_env, chemo_exe, exactly, percent, print_figures, require

USER = "mllp-feed"
SITE = 'site = "kill trial"\n[mrn]\nhl7_authorities = ["KILL-HOSP"]\n'
USED = 3


def message(control: str) -> bytes:
    return ("\r".join([
        f"MSH|^~\\&|LAB|KILL-HOSP|CHEMO|ONC|20260302084500||ORU^R01|{control}|P|2.5.1",
        "PID|1||K-MLLP-1^^^KILL-HOSP^MR", f"OBR|1||F-{control}|58410-2^CBC^LN|||20260302081500+0100",
        "OBX|1|NM|751-8^Neutrophils^LN||2.4|10*9/L|||||F", "OBX|2|NM|777-3^Platelets^LN||210|10*9/L|||||F",
        "OBX|3|NM|718-7^Hemoglobin^LN||12.1|g/dL|||||F", "OBX|4|NM|787-2^MCV^LN||90|fL|||||F"]) + "\r").encode()


def setup(db: Path) -> None:
    from chemo import records, roles
    from chemo.db import open_store

    with open_store(db) as store:
        roles.add_user(store, "kill-pharmacist", "kill-pharmacist", "pharmacist")
        roles.add_user(store, "kill-pharmacist", USER, "nurse")
        records.add_patient(store, "kill-pharmacist", mrn="K-MLLP-1", name="Kill trial", sex="female",
                            born="1970-01-01", height="165 cm", weight="60 kg")
    (db.parent / "chemo-site.toml").write_text(SITE, encoding="utf-8")


def sender(port: int, prefix: str, acked: list, stop: threading.Event) -> None:
    """Send messages one after another, each waiting for its ACK; note the control ids answered AA."""
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    except OSError:
        return
    n = 0
    buffer = b""
    try:
        while not stop.is_set():
            control = f"{prefix}-{n}"
            sock.sendall(b"\x0b" + message(control) + b"\x1c\r")
            while b"\x1c\r" not in buffer:
                chunk = sock.recv(65536)
                if not chunk:
                    return
                buffer += chunk
            frame, buffer = buffer.split(b"\x1c\r", 1)
            msa = next(s for s in frame.decode().split("\r") if s.startswith("MSA|")).split("|")
            if msa[1] == "AA" and msa[2] == control:
                acked.append(control)
            n += 1
    except OSError:
        return
    finally:
        sock.close()


def trial(db: Path, tag: str, rng: random.Random) -> dict:
    log = db.parent / f"listen-{tag}.log"
    env = chemo_env(CHEMO_DB=db, CHEMO_USER=USER)
    with open(log, "w") as err:
        proc = subprocess.Popen([chemo_exe(), "labs", "listen", "--port", "0"], stdout=subprocess.DEVNULL,
                                stderr=err, env=env)
    port = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        text = log.read_text()
        if "listening on 127.0.0.1:" in text:
            port = int(text.split("listening on 127.0.0.1:")[1].split(" ")[0])
            break
        time.sleep(0.02)
    if port is None:
        proc.kill()
        proc.wait()
        return {"acked": [], "signal": None, "errors": [f"did not start: {log.read_text()[-300:]}"]}
    acked: list = []
    stop = threading.Event()
    threads = [threading.Thread(target=sender, args=(port, f"{tag}-s{s}", acked, stop), daemon=True)
               for s in range(rng.randint(1, 4))]
    for t in threads:
        t.start()
    time.sleep(rng.uniform(0.05, 1.0))
    proc.send_signal(signal.SIGKILL)
    code = proc.wait()
    stop.set()
    for t in threads:
        t.join(10)
    text = log.read_text()
    return {"acked": list(acked), "signal": code, "errors": ["Traceback in the log"] if "Traceback" in text else []}


def check(db: Path, acked: list) -> list[str]:
    problems = []
    conn = sqlite3.connect(db)
    try:
        if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            problems.append("integrity_check is not ok")
        counts = dict(conn.execute("SELECT source_message, count(*) FROM labs WHERE source = 'hl7' "
                                   "GROUP BY source_message").fetchall())
        missing = [c for c in acked if counts.get(c) != USED]
        if missing:
            problems.append(f"ACKed but not (all) in the record: {missing[:3]}")
        half = [c for c, n in counts.items() if n != USED]
        if half:
            problems.append(f"half in: {half[:3]}")
        rows = conn.execute("SELECT count(*) FROM labs WHERE source = 'hl7'").fetchone()[0]
        audited = conn.execute("SELECT count(*) FROM audit WHERE action = 'lab.import'").fetchone()[0]
        if rows != audited:
            problems.append(f"{rows} imported rows, {audited} audit rows")
    finally:
        conn.close()
    return problems


def run(quick: bool = False, trials: int | None = None) -> list[Figure]:
    require("chemo.labs.listener")
    trials = trials or (3 if quick else 40)
    rng = random.Random(2121)
    results = []
    with tempfile.TemporaryDirectory(prefix="chemo-mllp-kill9-") as tmp:
        db = Path(tmp) / "mllp.db"
        setup(db)
        for t in range(trials):
            outcome = trial(db, str(t), rng)
            outcome["problems"] = check(db, outcome["acked"])
            results.append(outcome)
    killed = sum(1 for r in results if r["signal"] == -signal.SIGKILL)
    acked = sum(len(r["acked"]) for r in results)
    bad = [r for r in results if r["problems"] or r["errors"]]
    return [
        exactly("MLLP listener trials killed with SIGKILL mid-stream", killed, trials),
        at_least("messages ACKed AA before the kills", acked, trials),
        percent("kill -9 trials with every ACKed message in the record and none half in", trials - len(bad), trials,
                examples=[p for r in bad for p in (r["problems"] + r["errors"])][:10]),
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    args = parser.parse_args(argv)
    figures = run(trials=args.trials)
    print_figures(figures)
    return 0 if all(f.passed for f in figures) else 1


if __name__ == "__main__":
    raise SystemExit(main())
