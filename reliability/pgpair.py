"""A PostgreSQL primary and its hot standby on this machine, for the failover figures and their quick test.

Two new clusters of the installed PostgreSQL (Debian's ``pg_createcluster``), on two free ports, each
named for this run (``chemo_fo_<pid>_p`` / ``_s``), never the machine's own ``main``:

* the primary: ``wal_level = replica``, the standby named in ``synchronous_standby_names`` and
  ``synchronous_commit`` as asked (``remote_apply``: a commit returns once the standby has *applied*
  it, so a read there sees every acknowledged write; ``on``: once the standby has *flushed* it to
  its WAL, so a promoted standby has it, but a read there may be a moment old);
* the standby: ``pg_basebackup -R`` of the primary (streaming replication, ``hot_standby``), its
  ``application_name`` the name the primary waits for.

Clients reach them on 127.0.0.1 without a password (``trust``, as this machine's ``main`` is set up):
test clusters only.  :meth:`Pair.drop` stops and removes both (``pg_dropcluster --stop``); use the pair
as a context manager.  :func:`unavailable` says in one line why a pair cannot be made here (no
``pg_createcluster``, not root), else None.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def installed_version() -> str | None:
    """The newest PostgreSQL major version installed for pg_createcluster (``/usr/lib/postgresql/N``)."""
    found = sorted((p.name for p in Path("/usr/lib/postgresql").glob("*") if (p / "bin" / "postgres").exists()),
                   key=lambda v: int(v) if v.isdigit() else 0)
    return found[-1] if found else None


def unavailable() -> str | None:
    """Why a primary/standby pair cannot be created on this machine (one line), or None."""
    for tool in ("pg_createcluster", "pg_ctlcluster", "pg_dropcluster", "runuser"):
        if shutil.which(tool) is None:
            return f"no {tool} on this machine (Debian's postgresql-common makes the clusters)"
    if os.geteuid() != 0:
        return "creating PostgreSQL clusters needs root"
    if installed_version() is None:
        return "no PostgreSQL server installed under /usr/lib/postgresql"
    return None


def _run(*command: str, timeout: float = 120) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: exit {done.returncode}: {(done.stderr or done.stdout).strip()[-300:]}")
    return done.stdout


class Pair:
    """A primary and a synchronous hot standby (see the module text)."""

    def __init__(self, synchronous_commit: str = "remote_apply", tag: str | None = None):
        self.version = installed_version()
        tag = tag or f"chemo_fo_{os.getpid()}_{int(time.time()) % 100000}"
        self.primary, self.standby = f"{tag}_p", f"{tag}_s"
        self.primary_port, self.standby_port = _free_port(), _free_port()
        self.synchronous_commit = synchronous_commit
        self.made: list[str] = []

    # ------------------------------------------------------------------ where
    def url(self, which: str = "both", db: str = "chemo") -> str:
        """``both``: the multi-host URL a workstation is given (the writable one first found); ``primary`` or
        ``standby``: one server."""
        if which == "primary":
            return f"postgresql://postgres@127.0.0.1:{self.primary_port}/{db}"
        if which == "standby":
            return f"postgresql://postgres@127.0.0.1:{self.standby_port}/{db}"
        return (f"postgresql://postgres@127.0.0.1:{self.primary_port},127.0.0.1:{self.standby_port}/{db}"
                "?target_session_attrs=read-write")

    def _conf(self, name: str) -> Path:
        return Path(f"/etc/postgresql/{self.version}/{name}")

    def _data(self, name: str) -> Path:
        return Path(f"/var/lib/postgresql/{self.version}/{name}")

    # ------------------------------------------------------------------ life
    def create(self) -> "Pair":
        v = self.version
        _run("pg_createcluster", v, self.primary, "-p", str(self.primary_port), "--start-conf", "manual")
        self.made.append(self.primary)
        settings = {
            "listen_addresses": "'127.0.0.1'", "wal_level": "replica", "max_wal_senders": "5",
            "hot_standby": "on", "synchronous_commit": self.synchronous_commit, "shared_buffers": "32MB",
            "fsync": "on", "wal_sender_timeout": "10s", "wal_receiver_status_interval": "1s",
        }
        conf = self._conf(self.primary) / "conf.d" / "chemo-pair.conf"
        conf.parent.mkdir(exist_ok=True)
        conf.write_text("".join(f"{k} = {v_}\n" for k, v_ in settings.items()))
        # the primary waits for this standby (written after the standby's copy of the settings: a promoted
        # standby alone must not wait for a standby of its own, or every commit would hang)
        sync = self._conf(self.primary) / "conf.d" / "chemo-pair-sync.conf"
        (self._conf(self.primary) / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n")
        _run("pg_ctlcluster", v, self.primary, "start")
        _run("runuser", "-u", "postgres", "--", "psql", "-q", "-p", str(self.primary_port), "-c",
             "CREATE DATABASE chemo")
        _run("pg_createcluster", v, self.standby, "-p", str(self.standby_port), "--start-conf", "manual")
        self.made.append(self.standby)
        shutil.copy(self._conf(self.primary) / "pg_hba.conf", self._conf(self.standby) / "pg_hba.conf")
        sconf = self._conf(self.standby) / "conf.d" / "chemo-pair.conf"
        sconf.parent.mkdir(exist_ok=True)
        sconf.write_text(conf.read_text())  # the same settings, but for the standby it would wait for
        data = self._data(self.standby)  # emptied, kept: postgres owns it, not its parent
        for child in data.iterdir():
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        _run("runuser", "-u", "postgres", "--", "pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary_port),
             "-U", "postgres", "-D", str(data), "-R", "-X", "stream", "-c", "fast", "-d",
             f"host=127.0.0.1 port={self.primary_port} user=postgres application_name={self.standby}", timeout=300)
        _run("pg_ctlcluster", v, self.standby, "start")
        sync.write_text(f"synchronous_standby_names = '{self.standby}'\n")
        _run("pg_ctlcluster", v, self.primary, "reload")
        self.wait_synchronous()
        return self

    def wait_synchronous(self, timeout: float = 60) -> None:
        """Until the primary reports the standby as its synchronous standby, streaming."""
        deadline = time.monotonic() + timeout
        while True:
            out = _run("runuser", "-u", "postgres", "--", "psql", "-qtA", "-p", str(self.primary_port), "-c",
                       "SELECT sync_state || ' ' || state FROM pg_stat_replication WHERE application_name = "
                       f"'{self.standby}'").strip()
            if out == "sync streaming":
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the standby {self.standby} is not a synchronous standby (found {out or 'nothing'!r})")
            time.sleep(0.2)

    def stop_primary(self) -> None:
        """The primary's machine fails: stopped at once (``-m immediate``, no shutdown checkpoint)."""
        _run("pg_ctlcluster", self.version, self.primary, "stop", "-m", "immediate")

    def promote(self) -> None:
        _run("pg_ctlcluster", self.version, self.standby, "promote")
        deadline = time.monotonic() + 60
        while True:
            out = _run("runuser", "-u", "postgres", "--", "psql", "-qtA", "-p", str(self.standby_port), "-c",
                       "SELECT pg_is_in_recovery()").strip()
            if out == "f":
                return
            if time.monotonic() > deadline:
                raise RuntimeError("the standby did not leave recovery within 60 s of its promotion")
            time.sleep(0.1)

    def drop(self) -> None:
        """Stop both at once (nothing in them is kept: no shutdown checkpoint to wait for) and remove them."""
        for name in reversed(self.made):
            subprocess.run(["pg_ctlcluster", self.version, name, "stop", "-m", "immediate"], capture_output=True,
                           text=True, timeout=120)
            subprocess.run(["pg_dropcluster", "--stop", self.version, name], capture_output=True, text=True,
                           timeout=120)
            shutil.rmtree(self._conf(name), ignore_errors=True)  # pg_dropcluster leaves our conf.d files behind
        self.made.clear()

    def __enter__(self) -> "Pair":
        try:
            return self.create()
        except BaseException:
            self.drop()
            raise

    def __exit__(self, *exc) -> None:
        self.drop()
