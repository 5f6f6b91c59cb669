"""``chemo labs listen``: HL7 v2 ORU^R01 over MLLP, each message imported in its own transaction, then ACKed.

Laboratory systems send results over MLLP (HL7 v2 appendix C: each message framed
``\\x0b ... \\x1c\\r``) and wait for an acknowledgement.  The framing is
python-hl7's (:mod:`hl7.mllp`, on asyncio); each message is read exactly as a file
of one message is (:func:`chemo.labs.importer.read_bytes`: MSH-18 character set,
the same checks) and imported with :func:`chemo.labs.importer.import_results` in
one transaction.  The answer (HL7 v2 original acknowledgement mode, MSA-2 the
message's control id MSH-10):

* ``AA``: every used result imported, or already in the record (a resend), or ignored;
* ``AE``: one ``ERR`` segment per refused result (the rest imported);
* ``AR``: a message that cannot be read (not HL7, not ORU^R01, a character set it
  does not read, larger than the limit), or the database stayed unavailable.

A message is ACKed only after its transaction committed, so an ACK means "in the
record"; a message whose ACK never came may be sent again (it is then a duplicate).
Writes go through one database thread (the record has one writer at a time); many
senders are served at once.  When the database fails (a restart, a lock held past
the busy timeout) the connection is dropped and opened again, the message retried
for up to ``db_retry_s`` seconds, and only then answered ``AR``.

Project choices, stated: a message larger than ``max_bytes`` (1 MiB) is answered
``AR`` and its connection closed (the rest of it is still on the wire); a
connection that sends nothing whole for ``idle_timeout_s`` (300 s) is closed; a
frame that does not begin with ``\\x0b`` is skipped and logged.  One line is logged
per message.  SIGTERM (and SIGINT) stops accepting, lets messages being written
finish and ACK, closes the connections and exits 0.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as _dt
import itertools
import signal
import sys
import time

from attrs import frozen

from ..errors import ChemoError

MAX_MESSAGE_BYTES = 1024 * 1024  # project choice: a lab message of 30-60 results is 3-10 KiB
IDLE_TIMEOUT_S = 300.0
DB_RETRY_S = 30.0
_ACK_IDS = itertools.count(1)


@frozen
class Header:
    """What an ACK needs from the incoming MSH: separators, applications, facilities, control id, version."""

    field: str = "|"
    encoding: str = "^~\\&"
    sending_app: str = ""
    sending_facility: str = ""
    receiving_app: str = ""
    receiving_facility: str = ""
    control: str = ""
    version: str = "2.5.1"


def header(raw: bytes) -> Header | None:
    """The MSH of a message's bytes (read as ISO-8859-1: the fields an ACK copies are ASCII); None without one."""
    text = raw.removeprefix(b"\xef\xbb\xbf").decode("latin-1").lstrip("\ufeff\r\n \t")  # a UTF-8 BOM, as files
    if not text.startswith("MSH") or len(text) < 8:
        return None
    line = text.replace("\r\n", "\r").replace("\n", "\r").split("\r", 1)[0]
    if len(line) < 4 or line[3].isalnum() or line[3].isspace():
        return None  # "MSH" ended by a segment break, or no field separator after it: no header to answer
    sep = line[3]
    parts = line.split(sep)
    comp = parts[1][0] if parts[1] else "^"

    def f(n: int) -> str:
        return parts[n - 1].split(comp)[0].strip() if len(parts) >= n else ""

    def whole(n: int) -> str:
        return parts[n - 1].strip() if len(parts) >= n else ""

    return Header(sep, parts[1][:4] or "^~\\&", whole(3), whole(4), whole(5), whole(6), f(10), f(12) or "2.5.1")


def escape(text: str, head: Header) -> str:
    """Text for an HL7 field: the separators written as HL7 escape sequences (v2.5.1 section 2.7)."""
    enc = (head.encoding + "^~\\&")[:4]
    comp, rep, esc, sub = enc[0], enc[1], enc[2], enc[3]
    out = text.replace(esc, f"{esc}E{esc}")
    for char, code in ((head.field, "F"), (comp, "S"), (rep, "R"), (sub, "T")):
        out = out.replace(char, f"{esc}{code}{esc}")
    return out.replace("\r", " ").replace("\n", " ")


def ack(code: str, head: Header | None, text: str = "", errors: tuple = ()) -> bytes:
    """An HL7 v2 ACK: MSH (sender and receiver swapped), MSA (``code``, MSA-2 the control id), an ERR per
    ``(location, text)`` in ``errors`` (HL7 table 0357 code 207, application internal error, for each)."""
    head = head or Header()
    s, comp = head.field, head.encoding[0]
    now = _dt.datetime.now().astimezone().strftime("%Y%m%d%H%M%S%z")
    ack_id = f"CHEMO-{int(time.time())}-{next(_ACK_IDS)}"
    segments = [s.join(["MSH", head.encoding, head.receiving_app or "CHEMO", head.receiving_facility,
                        head.sending_app, head.sending_facility, now, "", f"ACK{comp}R01{comp}ACK", ack_id, "P",
                        head.version, "", "", "", "", "", "UNICODE UTF-8"]),
                s.join(["MSA", code, head.control, escape(text[:80], head)])]
    for location, why in errors:
        segments.append(s.join(["ERR", "", location, f"207{comp}Application internal error{comp}HL70357", "E", "",
                                "", "", escape(why, head)]))
    return ("\r".join(segments) + "\r").encode("utf-8")


@frozen
class Answer:
    ack: bytes
    log: str


def listener_site(store, actor: str, site_file=None):
    """The site file a listener for ``actor`` on this record works with, checked before it binds: the role
    (checked again with each message), and a site file to say which MRN issuers are this centre's (without
    one every result would be refused: a SiteFileError)."""
    from ..roles import ANY, require
    from .importer import store_site
    from .site import NoSite, SiteFileError

    require(store, actor, ANY, "importing lab results")
    site = store_site(store, site_file)
    if isinstance(site, NoSite):
        raise SiteFileError(f"{site.unknown}: a listener without one would refuse every result", field="site")
    return site


class Listener:
    """The MLLP server; :meth:`run` until :meth:`stop` (or SIGTERM when run from the command line)."""

    def __init__(self, db_path, actor: str, site, *, host: str = "127.0.0.1", port: int = 2575,
                 max_bytes: int = MAX_MESSAGE_BYTES, idle_timeout_s: float = IDLE_TIMEOUT_S,
                 db_retry_s: float = DB_RETRY_S, log=None):
        self.db_path, self.actor, self.site = db_path, actor, site
        self.host, self.port = host, port
        self.max_bytes, self.idle_timeout_s, self.db_retry_s = max_bytes, idle_timeout_s, db_retry_s
        self._log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self._db = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="chemo-labs-db")
        self._store = None  # opened, used and closed on the database thread only
        self._server = None
        self._stopping = False
        self._clients: dict = {}  # task -> busy (a message being written)
        self.bound: tuple | None = None

    # -------------------------------------------------------------- the database thread

    def _open(self):
        if self._store is None:
            from ..db import open_store

            self._store = open_store(self.db_path, create=False)
        return self._store

    def _drop(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            try:
                store.close()
            except Exception:  # a connection the server already dropped: nothing to close cleanly
                pass

    def _close(self) -> None:
        self._drop()

    def process(self, raw: bytes, peer: str) -> Answer:
        """Read, import (one transaction) and answer one message; runs on the database thread.  A fault of
        chemo's own (not the sender's) is answered AR, nothing of the message written (its transaction rolled
        back), logged on one line, and the connection to the record opened anew for the next message."""
        try:
            return self._process(raw, peer)
        except Exception as exc:  # noqa: BLE001 - the sender gets an answer, never a dropped connection
            self._drop()
            why = (f"not imported: an internal error ({type(exc).__name__}: {exc}); nothing of this message was "
                   "written: send it again")
            try:
                head = header(raw)
            except Exception:  # noqa: BLE001 - the fault was reading the header itself: answered without it
                head = None
            return self._reject(head, peer, why, time.perf_counter())

    def _process(self, raw: bytes, peer: str) -> Answer:
        from ..db.store import StoreError
        from .importer import import_results, read_bytes
        from .result import ImportFileError

        started = time.perf_counter()
        head = header(raw)
        if head is None:
            return self._reject(None, peer, "not an HL7 v2 message: it does not begin with MSH", started)
        if raw.count(b"\rMSH" + head.field.encode("latin-1")) + raw.count(b"\nMSH" + head.field.encode("latin-1")):
            return self._reject(head, peer, "more than one message in one MLLP frame", started)
        name = f"MLLP {peer}"
        try:
            results = read_bytes(raw, name)
        except ImportFileError as exc:
            return self._reject(head, peer, exc.message, started)
        deadline = time.monotonic() + self.db_retry_s
        pause = 0.1
        while True:
            try:
                report = import_results(self._open(), self.actor, results, name, name, site=self.site)
                break
            except StoreError as exc:
                self._drop()
                if time.monotonic() + pause > deadline:
                    return self._reject(head, peer, f"the database is unavailable ({exc.message}); nothing of this "
                                                    "message was written: send it again", started)
                self._log(f"{_now()} {peer} {head.control} database unavailable ({exc.message}); retrying")
                time.sleep(pause)
                pause = min(pause * 2, 2.0)
            except ChemoError as exc:  # e.g. the acting user is not registered: not this message's fault
                return self._reject(head, peer, exc.message, started)
        counts = {k: sum(1 for o in report.outcomes if o.outcome == k)
                  for k in ("imported", "duplicate", "ignored", "refused")}
        refused = tuple((_location(o.result.where), f"{o.result.analyte or '-'}: {o.message}")
                        for o in report.outcomes if o.outcome == "refused")
        code = "AE" if refused else "AA"
        text = f"{counts['refused']} result(s) refused" if refused else "imported"
        summary = " ".join(f"{k} {v}" for k, v in counts.items())
        ms = (time.perf_counter() - started) * 1000
        return Answer(ack(code, head, text, refused), f"{_now()} {peer} {head.control} {code} {summary} ({ms:.0f} ms)")

    def _reject(self, head, peer, why: str, started: float) -> Answer:
        ms = (time.perf_counter() - started) * 1000
        control = head.control if head is not None and head.control else "-"
        return Answer(ack("AR", head, why[:80], (("", why),)), f"{_now()} {peer} {control} AR {why} ({ms:.0f} ms)")

    # -------------------------------------------------------------- the network side

    async def start(self) -> tuple:
        import hl7.mllp

        self._server = await hl7.mllp.start_hl7_server(self._client, self.host, self.port, limit=self.max_bytes)
        self.bound = self._server.sockets[0].getsockname()[:2]
        self._log(f"{_now()} listening on {self.bound[0]}:{self.bound[1]} (MLLP, HL7 v2 ORU^R01; "
                  f"max {self.max_bytes} bytes a message)")
        return self.bound

    async def run(self, stop_on_signals: bool = False) -> None:
        await self.start()
        self._done = asyncio.Event()
        if stop_on_signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.stop)
        await self._done.wait()
        await self._shutdown()

    def stop(self) -> None:
        self._stopping = True
        if self._server is not None:
            self._server.close()
        for task, busy in list(self._clients.items()):
            if not busy:
                task.cancel()  # waiting for a message: nothing half done
        if getattr(self, "_done", None) is not None:
            self._done.set()

    async def _shutdown(self) -> None:
        busy = [t for t in self._clients]
        if busy:
            await asyncio.wait(busy, timeout=self.db_retry_s + 10)
        if self._server is not None:
            await self._server.wait_closed()
        await asyncio.get_running_loop().run_in_executor(self._db, self._close)
        self._db.shutdown(wait=True)
        self._log(f"{_now()} stopped")

    async def _client(self, reader, writer) -> None:
        from hl7.mllp import InvalidBlockError

        task = asyncio.current_task()
        self._clients[task] = False
        peername = writer.get_extra_info("peername")
        peer = f"{peername[0]}:{peername[1]}" if peername else "?"
        loop = asyncio.get_running_loop()
        try:
            while not self._stopping:
                try:
                    block = await asyncio.wait_for(reader.readblock(), self.idle_timeout_s)
                except asyncio.TimeoutError:
                    self._log(f"{_now()} {peer} closed: nothing whole in {self.idle_timeout_s:g} s")
                    break
                except asyncio.IncompleteReadError as exc:
                    if exc.partial.strip():
                        self._log(f"{_now()} {peer} closed mid-message ({len(exc.partial)} bytes unframed, "
                                  "not imported, not ACKed)")
                    break
                except InvalidBlockError:
                    self._log(f"{_now()} {peer} skipped a frame that does not begin with the MLLP start byte")
                    continue
                except ValueError:  # python-hl7: the frame is larger than the limit
                    writer.writeblock(ack("AR", None, "message too large",
                                          (("", f"the message is larger than {self.max_bytes} bytes"),)))
                    self._log(f"{_now()} {peer} - AR larger than {self.max_bytes} bytes; connection closed")
                    await _drain(writer)
                    break
                except (ConnectionError, OSError):
                    break
                self._clients[task] = True
                try:
                    answer = await asyncio.shield(loop.run_in_executor(self._db, self.process, block, peer))
                finally:
                    self._clients[task] = False
                writer.writeblock(answer.ack)
                self._log(answer.log)
                if not await _drain(writer):
                    break
        except asyncio.CancelledError:
            pass
        finally:
            self._clients.pop(task, None)
            writer.close()
            try:
                await asyncio.wait_for(writer.wait_closed(), 2)
            except (asyncio.TimeoutError, ConnectionError, OSError, asyncio.CancelledError):
                pass


async def _drain(writer) -> bool:
    try:
        await asyncio.wait_for(writer.drain(), 30)
        return True
    except (asyncio.TimeoutError, ConnectionError, OSError):
        return False


def _location(where: str) -> str:
    """ERR-2 error location from a result's ``where`` ("... OBR 2 OBX 3" -> "OBX^3")."""
    tail = where.rsplit("OBX ", 1)
    return f"OBX^{tail[1]}" if len(tail) == 2 else ""


def _now() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")
