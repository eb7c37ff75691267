"""A phrase-scanning process beside a proxy worker, over a Unix socket pair.

The proxy's event loop writes each page body straight into the socket and reads
a small answer back; the process scans the bodies one after the other with its
own copy of the phrase index (addons/core/phrases.py, `worker_scan`).

Why not `concurrent.futures.ProcessPoolExecutor`, which this replaces: its
manager and queue-feeder threads cost the proxy, per 200 KB page, about as much
CPU as scanning the page in the proxy itself (measured: 1.8 ms more on the event
loop's thread and 0.8 ms in the pool's threads, against a 1.4 ms scan), so the
process gained nothing. Here nothing but the event loop touches the socket.

Messages, parent to child: first the pickled phrase tuple (length-prefixed),
then per job HEADER (body length, kind, text length), the text and the body.
Kinds: a page to scan with the phrase lists (PAGE or HTML, the text is its
charset) or a post to look for personal information in (POST, the text is its
content type; core.pii). Child to parent, in the same order: ANSWER (length) and
a JSON answer (`[scores, matches]` for a page, the list of kinds for a post), or
`null` if the job raised. The child stops at the end of its input, so it never
outlives its proxy.

A job that takes longer than its budget (`scan_time_budget`) fails with
ScanTimeout; the caller stops the process (the jobs queued behind it fail with
ScanProcessGone) and a new one starts with the next job.
"""

from __future__ import annotations

import asyncio
import json
import logging
import pickle
import socket
import struct
import subprocess
import sys
from collections import deque
from typing import Any

from addons.core.phrases import Phrase, ScanResult, worker_init, worker_scan
from addons.core.pii import find_kinds
from addons.infra import memory
from addons.infra.tasks import spawn

logger = logging.getLogger(__name__)

HEADER = struct.Struct("!IBB")  # body length, kind, text length
PAGE, HTML, POST = 0, 1, 2
ANSWER = struct.Struct("!I")
BUFFER = 1 << 20  # socket buffers: a 200 KB page goes in one write


class ScanProcessGone(Exception):
    """The scanning process stopped; pending scans get this."""


class ScanFailed(Exception):
    """The scanning process could not scan this body (it goes on with the next)."""


class ScanTimeout(Exception):
    """A job took longer than its budget."""


class ScanProcess:
    """Parent side. `scan()` may be awaited by many requests at once; answers come
    back in the order the bodies were sent."""

    def __init__(self, phrases: tuple[Phrase, ...]):
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        for s in (parent, child):
            for opt in (socket.SO_SNDBUF, socket.SO_RCVBUF):
                try:
                    s.setsockopt(socket.SOL_SOCKET, opt, BUFFER)
                except OSError:
                    pass  # the system's limit stays; writes are just split
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "addons.infra.scanproc", str(child.fileno())],
            pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL)
        child.close()
        self._sock = parent
        self._phrases = pickle.dumps(tuple(phrases), protocol=pickle.HIGHEST_PROTOCOL)
        self._pending: deque[tuple[int, asyncio.Future[Any]]] = deque()
        self._ready: asyncio.Task[tuple[asyncio.StreamReader, asyncio.StreamWriter]] | None = None
        self._reader: asyncio.Task[None] | None = None
        self.gone = False

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_unix_connection(sock=self._sock, limit=BUFFER)
        writer.write(ANSWER.pack(len(self._phrases)) + self._phrases)
        self._reader = spawn(self._answers(reader), name="schoolgate scan answers")
        return reader, writer

    async def scan(self, raw: bytes, is_html: bool, charset: str, budget: float | None = None) -> ScanResult:
        """A page's phrase scores."""
        result: ScanResult = await self._job(HTML if is_html else PAGE, raw, charset, budget)
        return result

    async def personal_info(self, body: bytes, content_type: str, budget: float | None = None
                            ) -> tuple[str, ...]:
        """The kinds of personal information in a post (core.pii.find_kinds)."""
        kinds: tuple[str, ...] = await self._job(POST, body, content_type, budget)
        return kinds

    async def _job(self, kind: int, raw: bytes, text: str, budget: float | None) -> Any:
        if self.gone:
            raise ScanProcessGone("the scanning process has stopped")
        if self._ready is None:
            self._ready = spawn(self._connect(), name="schoolgate scan connect")
        _, writer = await self._ready
        if self.gone:
            raise ScanProcessGone("the scanning process has stopped")
        cs = text.encode("ascii", "replace")[:255]
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((kind, future))
        writer.write(HEADER.pack(len(raw), kind, len(cs)) + cs)
        writer.write(raw)
        try:
            await writer.drain()
        except ConnectionError:
            pass  # the answer reader fails every pending scan
        if budget is None:
            return await future
        try:
            return await asyncio.wait_for(asyncio.shield(future), budget)
        except TimeoutError:
            raise ScanTimeout(f"a scan took longer than {budget:g} s") from None

    async def _answers(self, reader: asyncio.StreamReader) -> None:
        why: BaseException = ScanProcessGone("the scanning process stopped")
        try:
            while True:
                (length,) = ANSWER.unpack(await reader.readexactly(ANSWER.size))
                answer = json.loads(await reader.readexactly(length))
                kind, future = self._pending.popleft()
                if future.done():
                    continue
                if answer is None:
                    future.set_exception(ScanFailed("the scanning process could not scan this body"))
                elif kind == POST:
                    future.set_result(tuple(str(k) for k in answer))
                else:
                    future.set_result(ScanResult(dict(answer[0]), int(answer[1])))
        except (asyncio.IncompleteReadError, ConnectionError, IndexError, ValueError) as e:
            why = ScanProcessGone(f"the scanning process stopped ({e!r})")
        except asyncio.CancelledError:
            why = ScanProcessGone("the scanning process was stopped")
        finally:
            self.gone = True
            while self._pending:
                _, future = self._pending.popleft()
                if not future.done():
                    future.set_exception(why)

    def stop(self) -> None:
        """Close the socket (the process ends at the end of its input) and make sure it ends."""
        self.gone = True
        if self._reader is not None:
            self._reader.cancel()
        if self._ready is not None and self._ready.done() and not self._ready.cancelled() \
                and self._ready.exception() is None:
            self._ready.result()[1].close()
        elif self._ready is not None:
            self._ready.cancel()
        self._sock.close()
        if self.proc.poll() is None:
            self.proc.terminate()

    def reap(self, timeout: float = 0.0) -> bool:
        """True once the process has ended (and been waited for)."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True


class ScanPool:
    """The scanning processes of one proxy process, shared by the addons that scan
    (PhraseScan for pages, PersonalInfo for posts). At most `count` run; each job goes
    to the least busy one. New phrase lists start new processes."""

    def __init__(self) -> None:
        self.processes: list[ScanProcess] = []
        self._stopping: list[ScanProcess] = []  # stopped, not yet waited for
        self._phrases: tuple[Phrase, ...] | None = None

    def process(self, count: int, phrases: tuple[Phrase, ...]) -> ScanProcess:
        if phrases is not self._phrases and phrases != self._phrases:
            self.stop_all()  # the processes were started with other phrase lists
        self._phrases = phrases
        self._stopping = [p for p in self._stopping if not p.reap()]
        if len(self.processes) < count and all(p.pending for p in self.processes):
            self.processes.append(ScanProcess(phrases))
        return min(self.processes, key=lambda p: p.pending)

    def drop(self, process: ScanProcess) -> None:
        """Stop a process that stopped, failed or overran its budget; the next job starts another."""
        if process in self.processes:
            self.processes.remove(process)
            process.stop()
            self._stopping.append(process)

    def stop_all(self) -> None:
        for process in list(self.processes):
            self.drop(process)

    async def close(self) -> None:
        self.stop_all()
        for process in self._stopping:
            await asyncio.to_thread(process.reap, 5.0)
        self._stopping = []


def _read(f: Any, n: int) -> bytes:
    data = f.read(n)
    if len(data) < n:
        raise EOFError
    return bytes(data)


def main(argv: list[str]) -> int:
    """Child side: scan bodies until the parent closes the socket."""
    memory.tune()
    sock = socket.socket(fileno=int(argv[0]))
    rfile = sock.makefile("rb", buffering=BUFFER)
    try:
        (length,) = ANSWER.unpack(_read(rfile, ANSWER.size))
        worker_init(pickle.loads(_read(rfile, length)))  # from our own parent only
        while True:
            size, kind, cs_len = HEADER.unpack(_read(rfile, HEADER.size))
            text = _read(rfile, cs_len).decode("ascii", "replace")
            raw = _read(rfile, size)
            try:
                if kind == POST:
                    answer = json.dumps(find_kinds(raw, text)).encode()
                else:
                    result = worker_scan(raw, kind == HTML, text)
                    answer = json.dumps([result.scores, result.matches]).encode()
            except Exception:
                logger.exception("Phrase scanning failed for one body")
                answer = b"null"
            sock.sendall(ANSWER.pack(len(answer)) + answer)
    except (EOFError, ConnectionError, KeyboardInterrupt):
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
