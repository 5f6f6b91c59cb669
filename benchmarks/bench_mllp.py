"""`chemo labs listen`: ORU^R01 messages of 30 OBX a second over MLLP on loopback, against `hl7.parse`.

Each message is an analyzer panel of 30 OBX (4 results chemo uses: WBC, Hb,
platelets, ANC; 26 it ignores) for one of 10 registered patients.  The project
figure is messages a second through the real command (``chemo labs listen --port
0`` on a fresh copy of the database): one sender sends them one after another,
each waiting for its ACK, so every message is read, imported in its own
transaction (committed: written and audited) and answered.  The baseline, in the
same run, is python-hl7's ``hl7.parse`` of the same messages in this process, a
second.  The ratio is baseline rate ÷ listener rate (goal ≤ 3×: issue 21).

    python benchmarks/bench_mllp.py [--messages 300] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_startup import chemo_exe, median  # noqa: E402

USED = (("6690-2", "WBC", "6.1", "10*9/L"), ("718-7", "Hemoglobin", "12.4", "g/dL"),
        ("777-3", "Platelets", "245", "10*9/L"), ("751-8", "Neutrophils", "3.6", "10*9/L"))
IGNORED = ("789-8", "4544-3", "787-2", "785-6", "786-4", "788-0", "21000-5", "32623-1", "770-8", "736-9", "5905-5",
           "713-8", "706-2", "731-0", "742-7", "711-2", "704-7", "71695-1", "51584-1", "58413-6", "30392-5",
           "17849-1", "14196-0", "71694-4", "51637-7", "32207-3")
SITE = 'site = "bench"\n[mrn]\nhl7_authorities = ["H"]\n'


def message(i: int) -> str:
    segs = [f"MSH|^~\\&|XN|H|CHEMO|ONC|20260302091000||ORU^R01^ORU_R01|MB-{i}|P|2.5.1",
            f"PID|1||BL-{i % 10}^^^H^MR", f"OBR|1||FM-{i}|57021-8^CBC^LN|||20260302081500+0100"]
    obx = [(c, n, v, u) for c, n, v, u in USED] + [(c, "other", "1.0", "%") for c in IGNORED]
    for k, (code, name, value, unit) in enumerate(obx, 1):
        segs.append(f"OBX|{k}|NM|{code}^{name}^LN||{value}|{unit}^^UCUM||N|||F")
    return "\r".join(segs) + "\r"


def template(directory: Path) -> Path:
    from chemo import records, roles
    from chemo.db import open_store

    path = directory / "template.db"
    with open_store(path) as store:
        roles.add_user(store, "ph", "ph", "pharmacist")
        for n in range(10):
            records.add_patient(store, "ph", mrn=f"BL-{n}", name=f"Bench {n}", sex="female", born="1970-01-01",
                                height="165 cm", weight="60 kg")
    (directory / "chemo-site.toml").write_text(SITE, encoding="utf-8")
    return path


def listener_rate(db: Path, messages: list[bytes]) -> tuple[float, str | None]:
    log = db.with_suffix(".log")
    env = {**os.environ, "CHEMO_DB": str(db), "CHEMO_USER": "ph"}
    with open(log, "w") as err:
        proc = subprocess.Popen([chemo_exe(), "labs", "listen", "--port", "0"], stdout=subprocess.DEVNULL,
                                stderr=err, env=env)
    try:
        deadline = time.monotonic() + 60
        port = None
        while port is None and time.monotonic() < deadline and proc.poll() is None:
            text = log.read_text()
            if "listening on 127.0.0.1:" in text:
                port = int(text.split("listening on 127.0.0.1:")[1].split(" ")[0])
            time.sleep(0.02)
        if port is None:
            return 0.0, f"the listener did not start: {log.read_text()[-200:]}"
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buffer = b""
        started = time.perf_counter()
        for m in messages:
            sock.sendall(b"\x0b" + m + b"\x1c\r")
            while b"\x1c\r" not in buffer:
                buffer += sock.recv(65536)
            frame, buffer = buffer.split(b"\x1c\r", 1)
            if b"MSA|AA|" not in frame:
                return 0.0, f"not AA: {frame[-200:]!r}"
        seconds = time.perf_counter() - started
        sock.close()
        return len(messages) / seconds, None
    finally:
        proc.terminate()
        proc.wait(30)


def parse_rate(texts: list[str]) -> float:
    import hl7

    started = time.perf_counter()
    for t in texts:
        hl7.parse(t)
    return len(texts) / (time.perf_counter() - started)


def figures(messages: int = 300, runs: int = 3) -> list[dict]:
    texts = [message(i) for i in range(messages)]
    raw = [t.encode("ascii") for t in texts]
    rates, bases, error = [], [], None
    with tempfile.TemporaryDirectory(prefix="chemo-bench-mllp-") as tmp:
        tmp = Path(tmp)
        base_db = template(tmp)
        for run in range(runs):
            db = tmp / f"run-{run}.db"
            shutil.copy(base_db, db)
            rate, error = listener_rate(db, raw)
            if error:
                break
            rates.append(rate)
            bases.append(parse_rate(texts))
    row = {"figure": "chemo labs listen, ORU^R01 of 30 OBX over MLLP: per message", "unit": "ms",
           "runs": runs, "baseline_label": "hl7.parse"}
    if error:
        row.update(status="not available", note=error)
        return [row]
    value, base = median(rates), median(bases)
    row.update(status="ok", value=1000 / value, baseline=1000 / base, ratio=base / value, rate=value,
               baseline_rate=base, note=f"{value:,.0f} msg/s ACKed, hl7.parse {base:,.0f} msg/s, {messages} messages")
    return [row]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    for row in figures(args.messages, args.runs):
        if row["status"] != "ok":
            print(f"{row['figure']}: not available ({row.get('note')})")
            continue
        print(f"{row['figure']}: {row['rate']:,.0f} msg/s ({row['value']:.2f} ms a message) | "
              f"hl7.parse {row['baseline_rate']:,.0f} msg/s ({row['baseline']:.2f} ms) | {row['ratio']:.2f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
