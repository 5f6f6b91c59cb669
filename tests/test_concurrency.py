"""Crash safety and concurrent writers: what SQLite in WAL with BEGIN IMMEDIATE, and PostgreSQL with the
writers' advisory lock, must guarantee (every test runs on both).

A writer killed with SIGKILL in the middle of a transaction leaves a database whose integrity_check and
foreign_key_check are clean, that holds every row whose commit the writer reported, and whose audit chain
verifies.  Two writer processes at once lose nothing and never fork the audit chain.
"""

import os
import signal
import subprocess
import sys
import time

import pytest

from chemo import audit
from chemo.demo import add_ready_patient, add_users, approve_regimens
from chemo.db import check_integrity, open_store

WRITER = r"""
import sys, time
import chemo.audit as audit
from chemo.records import add_lab
from chemo.db import open_store

db, tag, count, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
original = audit.append
def slow_append(*args, **kwargs):          # hold the transaction open after writing: a kill lands inside it
    result = original(*args, **kwargs)
    time.sleep(pause)
    return result
audit.append = slow_append
with open_store(db) as store:
    print("ready", flush=True)
    i = 0
    while count == 0 or i < count:
        i += 1
        row = add_lab(store, "demo-nurse", "K1", "platelets", f"{100 + i} 10^9/L", range_text=None, at=None)
        print(f"{tag} {row['id']} {i}", flush=True)
"""


@pytest.fixture
def db(new_db):
    path = new_db("crash.db")
    with open_store(path) as store:
        add_users(store)
        approve_regimens(store)  # two pharmacists approve the shipped regimens
        add_ready_patient(store, "K1")
    return path


def writer(db, tag, count, pause):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-c", WRITER, str(db), tag, str(count), str(pause)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def check_clean(db):
    with open_store(db) as store:
        assert check_integrity(store) == []
        assert audit.verify(store)[1] == []
        labs = store.one("SELECT count(*) AS n FROM labs")["n"]
        audited = store.one("SELECT count(*) AS n FROM audit WHERE action = 'lab.add'")["n"]
        assert labs == audited  # no change without its audit row, no audit row without its change
        return {r["id"] for r in store.query("SELECT id FROM labs")}


def test_a_writer_killed_mid_transaction_leaves_the_database_intact_and_loses_no_committed_row(db):
    proc = writer(db, "k", 0, 0.02)
    assert proc.stdout.readline().strip() == "ready"
    committed = []
    deadline = time.monotonic() + 20
    while len(committed) < 25 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        committed.append(int(line.split()[1]))
    time.sleep(0.007)  # land inside the next transaction (it sleeps 20 ms after its writes)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert len(committed) == 25, proc.stderr.read()
    # lines the writer printed after we stopped reading are committed too
    committed += [int(line.split()[1]) for line in proc.stdout.read().splitlines() if line.strip()]
    ids = check_clean(db)
    assert set(committed) <= ids
    assert not os.path.exists(str(db) + "-journal")


def test_two_concurrent_writers_lose_nothing(db):
    before = check_clean(db)
    a, b = writer(db, "a", 30, 0.003), writer(db, "b", 30, 0.003)
    outs = [p.communicate(timeout=60) for p in (a, b)]
    for p, (out, err) in zip((a, b), outs):
        assert p.returncode == 0, err
    reported = {int(line.split()[1]) for out, _ in outs for line in out.splitlines() if line[:1] in "ab"}
    assert len(reported) == 60
    ids = check_clean(db)
    assert ids == before | reported
