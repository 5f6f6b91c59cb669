"""`chemo labs listen` (issue 21): HL7 v2 over MLLP, each message in its own transaction, ACKed after commit.

Senders are python-hl7's MLLP client (``hl7.mllp.open_hl7_connection``) on loopback.  The listener runs
in-process (its asyncio server and database thread, on both engines) or as the real command in a subprocess
(SIGTERM, oversized messages, slow and half-open clients).
"""

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest

CHEMO = os.path.join(os.path.dirname(sys.executable), "chemo")
SITE = 'site = "test centre"\n[mrn]\nhl7_authorities = ["DEMO-HOSP"]\n'
ANALYTES = ("751-8^Neutrophils^LN", "777-3^Platelets^LN", "718-7^Hemoglobin^LN")


def oru(control, *, mrn="T-HL7-01^^^DEMO-HOSP^MR", filler=None, obx=None, charset=""):
    """An ORU^R01 of one CBC: ANC, platelets, Hb (and an MCV chemo ignores)."""
    obx = obx if obx is not None else [
        "OBX|1|NM|751-8^Neutrophils^LN||2.4|10*9/L|1.8-7.7|N|||F",
        "OBX|2|NM|777-3^Platelets^LN||210|10*9/L|150-400|N|||F",
        "OBX|3|NM|718-7^Hemoglobin^LN||12.1|g/dL|12.0-16.0|N|||F",
        "OBX|4|NM|787-2^MCV^LN||90|fL|80-100|N|||F"]
    return "\r".join([f"MSH|^~\\&|LAB|DEMO-HOSP|CHEMO|ONC|20260302084500||ORU^R01|{control}|P|2.5.1|||||"
                      f"|{charset}", f"PID|1||{mrn}", f"OBR|1||{filler or 'FIL-' + control}|58410-2^CBC^LN|||"
                      "20260302081500+0100", *obx]) + "\r"


def msa(ack: bytes) -> list[str]:
    seg = next(s for s in ack.decode().split("\r") if s.startswith("MSA|"))
    return seg.split("|")


def errs(ack: bytes) -> list[list[str]]:
    return [s.split("|") for s in ack.decode().split("\r") if s.startswith("ERR|")]


async def send(port, *messages: bytes | str) -> list[bytes]:
    import hl7.mllp

    reader, writer = await hl7.mllp.open_hl7_connection("127.0.0.1", port)
    acks = []
    try:
        for m in messages:
            writer.writeblock(m.encode() if isinstance(m, str) else m)
            await writer.drain()
            acks.append(await asyncio.wait_for(reader.readblock(), 20))
    finally:
        writer.close()
    return acks


def build_record(where):
    from chemo import records, roles
    from chemo.db import open_store

    with open_store(where) as store:
        roles.add_user(store, "phil", "phil", "pharmacist")
        roles.add_user(store, "phil", "feed", "nurse")
        records.add_patient(store, "phil", mrn="T-HL7-01", name="Synthetic", sex="female", born="1970-05-01",
                            height="170 cm", weight="70 kg", measured_on="2026-02-20")
    return where


def lab_rows(where, control=None):
    from chemo.db import open_store

    with open_store(where, create=False) as store:
        if control is None:
            return store.query("SELECT analyte, source_message FROM labs WHERE source = 'hl7'")
        return store.query("SELECT analyte FROM labs WHERE source_message = ?", (control,))


@pytest.fixture
def listening(new_db, tmp_path):
    """An in-process listener on a free loopback port over a new record; ``(listener, db)``."""
    from chemo.labs.listener import Listener
    from chemo.labs.site import load_site

    db = build_record(new_db())
    (tmp_path / "site.toml").write_text(SITE)
    lines: list[str] = []
    made = []

    async def start(**options):
        listener = Listener(db, "feed", load_site(tmp_path / "site.toml"), port=0, log=lines.append, **options)
        listener.lines = lines
        task = asyncio.create_task(listener.run())
        while listener.bound is None:
            await asyncio.sleep(0.01)
        made.append((listener, task))
        return listener, db

    yield start
    for listener, task in made:
        listener.stop()


# ------------------------------------------------------------------ AA, AE, AR

async def test_a_message_is_imported_then_answered_aa_with_its_control_id_and_a_resend_is_aa_again(listening):
    listener, db = await listening()
    (ack,) = await send(listener.bound[1], oru("CBC-1"))
    assert msa(ack)[1:3] == ["AA", "CBC-1"]
    assert sorted(r["analyte"] for r in lab_rows(db, "CBC-1")) == ["anc", "hemoglobin", "platelets"]
    (again,) = await send(listener.bound[1], oru("CBC-1"))  # the sender did not see the ACK and resends
    assert msa(again)[1:3] == ["AA", "CBC-1"] and len(lab_rows(db, "CBC-1")) == 3
    assert any("CBC-1 AA imported 3 duplicate 0 ignored 1 refused 0" in line for line in listener.lines)


async def test_refused_results_are_answered_ae_with_one_err_segment_each(listening):
    listener, db = await listening()
    obx = ["OBX|1|NM|751-8^Neutrophils^LN||2.4|10*9/L|||||F",
           "OBX|2|NM|777-3^Platelets^LN||210|giga/L|||||F",
           "OBX|3|NM|718-7^Hemoglobin^LN||90|g/dL|||||F"]
    (ack,) = await send(listener.bound[1], oru("CBC-2", obx=obx))
    assert msa(ack)[1:3] == ["AE", "CBC-2"]
    found = errs(ack)
    assert [e[2] for e in found] == ["OBX^2", "OBX^3"]
    assert "'giga/L' is not a UCUM unit" in found[0][8] and "possible range" in found[1][8]
    assert [r["analyte"] for r in lab_rows(db, "CBC-2")] == ["anc"]


@pytest.mark.parametrize("message, why", [
    ("MSH|^~\\&|LAB|H|C|O|20260302||ADT^A01|ADT-1|P|2.5\rPID|1||T-HL7-01^^^DEMO-HOSP^MR\r", "expected ORU^R01"),
    (oru("CS-1", charset="ISO IR87"), "MSH-18 character set 'ISO IR87'"),
    ("this is not HL7", "not an HL7 v2 message"),
    ("MSH\rPID|1||T-HL7-01^^^DEMO-HOSP^MR\rOBX|1|NM|751-8^Neutrophils^LN||2.4|10*9/L\r",
     "not an HL7 v2 message"),  # no field separator after MSH: answered, not a dropped connection
    (oru("TWO-1") + oru("TWO-2"), "more than one message in one MLLP frame"),
])
async def test_a_message_that_cannot_be_read_is_answered_ar(listening, message, why):
    listener, db = await listening()
    (ack,) = await send(listener.bound[1], message)
    fields = msa(ack)
    assert fields[1] == "AR" and why.replace("^", "\\S\\") in errs(ack)[0][8]  # ^ escaped in the ERR text
    if message.startswith("MSH|"):
        assert fields[2] == message.split("|")[9]  # MSA-2: the message control id
    assert lab_rows(db) == []


async def test_another_centres_patient_is_answered_ae_in_the_issues_words(listening):
    listener, db = await listening()
    (ack,) = await send(listener.bound[1], oru("FOREIGN-1", mrn="T-HL7-01^^^OTHER-HOSP^MR"))
    assert msa(ack)[1] == "AE"
    assert all("MRN issued by OTHER-HOSP, not by this centre" in e[8] for e in errs(ack))
    assert lab_rows(db) == []


# ------------------------------------------------------------------ many senders, bad frames

async def test_many_senders_at_once_each_get_their_own_acks_and_every_message_is_in(listening):
    listener, db = await listening()
    port = listener.bound[1]
    senders = [send(port, *[oru(f"S{s}-M{m}") for m in range(5)]) for s in range(8)]
    results = await asyncio.gather(*senders)
    for s, acks in enumerate(results):
        assert [msa(a)[1:3] for a in acks] == [["AA", f"S{s}-M{m}"] for m in range(5)]
    assert len(lab_rows(db)) == 8 * 5 * 3


async def test_a_malformed_frame_is_skipped_and_the_connection_still_serves(listening):
    import hl7.mllp

    listener, db = await listening()
    reader, writer = await hl7.mllp.open_hl7_connection("127.0.0.1", listener.bound[1])
    writer.write(b"junk without a start block\x1c\r")  # not framed: skipped, logged
    writer.writeblock(b"\x00\xff\xfe binary")  # framed junk: AR
    writer.writeblock(oru("AFTER-1").encode())
    await writer.drain()
    first = await asyncio.wait_for(reader.readblock(), 20)
    second = await asyncio.wait_for(reader.readblock(), 20)
    writer.close()
    assert msa(first)[1] == "AR" and msa(second)[1:3] == ["AA", "AFTER-1"]
    assert any("does not begin with the MLLP start byte" in line for line in listener.lines)


async def test_a_client_gone_mid_message_imports_nothing_and_the_listener_serves_on(listening):
    listener, db = await listening()
    port = listener.bound[1]
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"\x0b" + oru("HALF-1").encode()[:120])  # no end block: then gone
    await writer.drain()
    writer.close()
    (ack,) = await send(port, oru("WHOLE-1"))
    assert msa(ack)[1] == "AA"
    await asyncio.sleep(0.1)
    assert lab_rows(db, "HALF-1") == [] and any("closed mid-message" in line for line in listener.lines)


async def test_a_slow_sender_trickling_its_message_is_served_and_does_not_hold_up_the_others(listening):
    import hl7.mllp

    listener, db = await listening()
    port = listener.bound[1]

    async def trickle():
        reader, writer = await hl7.mllp.open_hl7_connection("127.0.0.1", port)
        data = b"\x0b" + oru("SLOW-1").encode() + b"\x1c\r"
        for i in range(0, len(data), 40):
            writer.write(data[i:i + 40])
            await writer.drain()
            await asyncio.sleep(0.02)
        ack = await asyncio.wait_for(reader.readblock(), 20)
        writer.close()
        return ack, time.monotonic()

    async def quick():
        await asyncio.sleep(0.05)
        (ack,) = await send(port, oru("FAST-1"))
        return ack, time.monotonic()

    (slow, slow_at), (fast, fast_at) = await asyncio.gather(trickle(), quick())
    assert msa(slow)[1:3] == ["AA", "SLOW-1"] and msa(fast)[1:3] == ["AA", "FAST-1"]
    assert fast_at < slow_at  # the fast sender was answered while the slow one was still sending


# ------------------------------------------------------------------ the database going away

async def test_a_database_failure_is_retried_on_a_new_connection_and_acked_only_after_commit(listening, monkeypatch):
    from chemo.db.store import StoreError
    from chemo.labs import importer

    listener, db = await listening()
    real = importer.import_results
    calls = []

    def flaky(store, *args, **kwargs):
        calls.append(store)  # the store itself: an id() may be reused once the first is collected
        if len(calls) == 1:
            raise StoreError("the database server closed the connection")
        return real(store, *args, **kwargs)

    monkeypatch.setattr(importer, "import_results", flaky)
    (ack,) = await send(listener.bound[1], oru("RETRY-1"))
    assert msa(ack)[1:3] == ["AA", "RETRY-1"] and len(lab_rows(db, "RETRY-1")) == 3
    assert len(calls) == 2 and calls[0] is not calls[1]  # a new connection the second time
    assert any("database unavailable" in line and "retrying" in line for line in listener.lines)


async def test_a_fault_of_chemos_own_is_answered_ar_and_the_next_message_goes_in(listening, monkeypatch):
    from chemo.labs import importer

    listener, db = await listening()
    real = importer.import_results

    def broken(*args, **kwargs):
        raise RuntimeError("a fault in the importer")

    monkeypatch.setattr(importer, "import_results", broken)
    (ack,) = await send(listener.bound[1], oru("FAULT-1"))
    assert msa(ack)[1:3] == ["AR", "FAULT-1"] and "send it again" in errs(ack)[0][8]
    assert lab_rows(db, "FAULT-1") == []
    assert any("FAULT-1 AR" in line and "RuntimeError" in line for line in listener.lines)
    monkeypatch.setattr(importer, "import_results", real)
    (ack,) = await send(listener.bound[1], oru("FAULT-1"))  # the same connection's listener takes the resend
    assert msa(ack)[1] == "AA" and len(lab_rows(db, "FAULT-1")) == 3


async def test_a_database_that_stays_away_is_answered_ar_and_nothing_is_written(listening, monkeypatch):
    from chemo.db.store import StoreError
    from chemo.labs import importer

    listener, db = await listening(db_retry_s=0.3)

    def down(*args, **kwargs):
        raise StoreError("could not connect to server")

    monkeypatch.setattr(importer, "import_results", down)
    (ack,) = await send(listener.bound[1], oru("DOWN-1"))
    assert msa(ack)[1:3] == ["AR", "DOWN-1"] and "send it again" in errs(ack)[0][8]
    monkeypatch.undo()
    (ack,) = await send(listener.bound[1], oru("DOWN-1"))  # the sender sends it again once the database is back
    assert msa(ack)[1] == "AA" and len(lab_rows(db, "DOWN-1")) == 3


async def test_an_ack_waits_for_a_sqlite_lock_held_by_another_writer(listening, engine):
    if engine != "sqlite":
        pytest.skip("an SQLite file lock")
    import sqlite3

    listener, db = await listening()
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    released = []

    async def release_later():
        await asyncio.sleep(1.0)
        other.execute("ROLLBACK")
        released.append(time.monotonic())

    releaser = asyncio.create_task(release_later())
    (ack,) = await send(listener.bound[1], oru("LOCK-1"))
    acked = time.monotonic()
    await releaser
    other.close()
    assert msa(ack)[1] == "AA" and acked >= released[0]  # not before the lock let the commit through
    assert len(lab_rows(db, "LOCK-1")) == 3


@pytest.mark.postgresql
async def test_a_postgresql_connection_killed_under_the_listener_is_reopened(listening, engine, pg_admin):
    if engine != "postgresql":
        pytest.skip("a PostgreSQL backend")
    listener, db = await listening()
    (ack,) = await send(listener.bound[1], oru("PG-1"))
    assert msa(ack)[1] == "AA"
    loop = asyncio.get_running_loop()
    pid = await loop.run_in_executor(listener._db, lambda: listener._store.one("SELECT pg_backend_pid() AS p")["p"])
    pg_admin.execute("SELECT pg_terminate_backend(%s)", (pid,))  # as a server restart does to it
    (ack,) = await send(listener.bound[1], oru("PG-2"))
    assert msa(ack)[1:3] == ["AA", "PG-2"] and len(lab_rows(db, "PG-2")) == 3


# ------------------------------------------------------------------ the real command

@pytest.fixture
def command(tmp_path):
    """``command(*options)`` -> (process, port, log path): `chemo labs listen --port 0` on a new record."""
    db = build_record(tmp_path / "listen.db")
    (tmp_path / "chemo-site.toml").write_text(SITE)
    procs = []

    def start(*options):
        log = tmp_path / f"listen-{len(procs)}.log"
        env = {**os.environ, "CHEMO_DB": str(db), "CHEMO_USER": "feed"}
        proc = subprocess.Popen([CHEMO, "labs", "listen", "--port", "0", *options],
                                stdout=subprocess.DEVNULL, stderr=open(log, "w"), env=env)
        procs.append(proc)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            text = log.read_text()
            if "listening on" in text:
                return proc, int(text.split("listening on 127.0.0.1:")[1].split(" ")[0]), log, db
            assert proc.poll() is None, text
            time.sleep(0.05)
        raise AssertionError(log.read_text())

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_command_serves_logs_one_line_a_message_and_stops_cleanly_on_sigterm(command):
    proc, port, log, db = command()
    acks = asyncio.run(send(port, oru("CMD-1"), oru("CMD-2")))
    assert [msa(a)[1] for a in acks] == ["AA", "AA"]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    lines = log.read_text().splitlines()
    assert [line.split()[2:4] for line in lines if " AA " in line] == [["CMD-1", "AA"], ["CMD-2", "AA"]]
    assert lines[-1].endswith("stopped") and len(lab_rows(db)) == 6


def test_an_oversized_message_is_answered_ar_and_others_are_still_served(command):
    proc, port, log, db = command("--max-bytes", "2048")
    big = oru("BIG-1", obx=[f"OBX|{i}|NM|787-2^MCV^LN||90|fL|||||F" for i in range(1, 120)])
    assert len(big) > 2048
    (ack,) = asyncio.run(send(port, big))
    assert msa(ack)[1] == "AR" and "larger than 2048 bytes" in errs(ack)[0][8]
    (ack,) = asyncio.run(send(port, oru("SMALL-1")))
    assert msa(ack)[1:3] == ["AA", "SMALL-1"]
    assert lab_rows(db, "BIG-1") == []


def test_a_half_open_client_is_closed_after_the_idle_timeout_while_others_are_served(command):
    proc, port, log, db = command("--idle-timeout", "1")

    async def scenario():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"\x0bMSH|^~\\&|LAB")  # a slow sender that stops mid-frame and never closes
        await writer.drain()
        (ack,) = await send(port, oru("BUSY-1"))  # meanwhile another sender is served
        closed = await asyncio.wait_for(reader.read(), 10)  # the listener closes the stalled one
        writer.close()
        return ack, closed

    ack, closed = asyncio.run(scenario())
    assert msa(ack)[1] == "AA" and closed == b""
    assert "nothing whole in 1 s" in log.read_text()


def test_listen_without_a_site_file_refuses_to_start(command, tmp_path):
    (tmp_path / "chemo-site.toml").unlink()
    env = {**os.environ, "CHEMO_DB": str(build_record(tmp_path / "other.db")), "CHEMO_USER": "feed"}
    result = subprocess.run([CHEMO, "labs", "listen", "--port", "0"], env=env,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "no site file" in result.stderr and len(result.stderr.splitlines()) == 1


def test_the_systemd_unit_in_docs_runs_the_command_with_options_it_has(runner, chemo_cli):
    import configparser
    from pathlib import Path

    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(Path(__file__).resolve().parent.parent / "docs" / "chemo-labs-listen.service")
    words = unit["Service"]["ExecStart"].split()
    assert words[0].endswith("/chemo") and words[1:3] == ["labs", "listen"]
    help_text = runner.invoke(chemo_cli, ["labs", "listen", "--help"]).output
    assert all(w in help_text for w in words[3:] if w.startswith("--"))
    assert unit["Service"]["KillSignal"] == "SIGTERM" and "2" in unit["Service"]["RestartPreventExitStatus"]


async def test_a_message_beginning_with_a_utf8_byte_order_mark_is_imported_as_a_file_is(listening):
    listener, db = await listening()
    (ack,) = await send(listener.bound[1], b"\xef\xbb\xbf" + oru("BOM-1").encode())
    assert msa(ack)[1:3] == ["AA", "BOM-1"]
    assert sorted(r["analyte"] for r in lab_rows(db, "BOM-1")) == ["anc", "hemoglobin", "platelets"]
