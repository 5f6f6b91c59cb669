"""A TCP proxy that adds a fixed delay to every round trip: a LAN between a workstation and the database server.

Each chunk read from one side is written to the other no earlier than ``delay / 2`` after it arrived (in
order, per direction), so a request and its answer pay ``delay`` together: 0.5 ms is a switched hospital
LAN.  asyncio with ``selectors.SelectSelector``: its timeout is a float in microseconds, where epoll and
poll round every wait up to a whole millisecond (a 0.25 ms delay would become 1 ms); the last 0.2 ms of a
wait is spent yielding to the loop, since a timer wakes up that much late.  The benchmark prints the round
trip it measured through the proxy beside the direct one.

    proxy = LatencyProxy("127.0.0.1", 5432, delay_s=0.0005).start()   # a thread; proxy.port is where to connect
    ...
    proxy.stop()

or ``python benchmarks/latency_proxy.py 5432 0.5`` (prints the port, runs until killed).
"""

from __future__ import annotations

import asyncio
import collections
import selectors
import sys
import threading
import time


SLACK_S = 0.0002  # how late select() and the loop wake up a sleeper, about; the rest is waited by yielding


class LatencyProxy:
    def __init__(self, host: str, port: int, delay_s: float = 0.0005, listen_port: int = 0):
        self.host, self.target_port, self.delay_s, self.port = host, port, delay_s, listen_port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    # ------------------------------------------------------------------ one direction of one connection
    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        half = self.delay_s / 2
        queue: collections.deque = collections.deque()
        more = asyncio.Event()
        done = False

        async def deliver():
            while True:
                while not queue:
                    if done:
                        return
                    more.clear()
                    await more.wait()
                due, data = queue.popleft()
                wait = due - time.perf_counter()
                if wait > SLACK_S:
                    await asyncio.sleep(wait - SLACK_S)  # a timer wakes up late by about this much
                while time.perf_counter() < due:  # the last fraction of a millisecond, on time
                    await asyncio.sleep(0)
                if data is None:
                    break
                writer.write(data)
                await writer.drain()
            writer.close()

        sender = asyncio.ensure_future(deliver())
        try:
            while True:
                data = await reader.read(65536)
                queue.append((time.perf_counter() + half, data or None))
                more.set()
                if not data:
                    break
        except (ConnectionError, OSError):
            queue.append((0.0, None))
            more.set()
        done = True
        more.set()
        try:
            await sender
        except (ConnectionError, OSError):
            pass

    async def _client(self, creader, cwriter) -> None:
        try:
            sreader, swriter = await asyncio.open_connection(self.host, self.target_port)
        except OSError:
            cwriter.close()
            return
        await asyncio.gather(self._pipe(creader, swriter), self._pipe(sreader, cwriter), return_exceptions=True)

    # ------------------------------------------------------------------ running
    def _run(self) -> None:
        self._loop = asyncio.SelectorEventLoop(selectors.SelectSelector())
        asyncio.set_event_loop(self._loop)

        async def serve():
            self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
            self.port = self._server.sockets[0].getsockname()[1]
            self._ready.set()
            async with self._server:
                await self._server.serve_forever()

        try:
            self._loop.run_until_complete(serve())
        except (asyncio.CancelledError, RuntimeError):
            pass

    def start(self) -> "LatencyProxy":
        self._thread = threading.Thread(target=self._run, name="latency-proxy", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
            for task in asyncio.all_tasks(self._loop):
                self._loop.call_soon_threadsafe(task.cancel)
        if self._thread is not None:
            self._thread.join(5)


def measured_rtt_ms(url: str, runs: int = 200) -> float:
    """The median time of ``SELECT 1`` on a connection to ``url`` (ms): what a round trip costs there."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(20):
            conn.execute("SELECT 1")
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            conn.execute("SELECT 1")
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return times[len(times) // 2]


if __name__ == "__main__":
    proxy = LatencyProxy("127.0.0.1", int(sys.argv[1]), float(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0.0005)
    proxy.start()
    print(proxy.port, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        proxy.stop()
