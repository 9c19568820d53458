"""IMAP poller for owners who just have a mailbox: IDLE where the server has it, polling otherwise.

Never twice: messages are fetched with BODY.PEEK[] only after UID SEARCH for those without our
keyword (``$Sheepdog`` by default) and above the highest UID already handled in this UIDVALIDITY;
after a message is delivered it gets the keyword (and \\Seen, unless turned off), so neither this
process nor the next one fetches it again. A server that cannot store keywords falls back to
UNSEEN. The store de-duplicates by Message-ID as a last line of defence.

imaplib is blocking, so every IMAP round runs in a worker thread; the asyncio side only awaits.
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import logging
import re
import select
import socket
import ssl
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sheepdog.channels.base import PoisonGuard, Reject
from sheepdog.channels.email import parse_email_bytes
from sheepdog.domain.models import InboundMessage
from sheepdog.errors import BadInputError

log = logging.getLogger(__name__)

IDLE_MAX_S = 25 * 60  # RFC 2177: re-issue IDLE at least every 29 minutes
FETCH_BATCH = 50  # messages fetched per round, so a full mailbox does not block the loop for long
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_UID = re.compile(rb"UID (\d+)")


@dataclass
class ImapSettings:
    host: str
    port: int
    username: str
    password: str
    folder: str = "INBOX"
    ssl: bool = True
    poll_s: float = 60.0
    idle: bool = True
    mark_seen: bool = True
    keyword: str = "$Sheepdog"
    timeout_s: float = 30.0
    idle_max_s: float = IDLE_MAX_S


@dataclass
class _State:
    uidvalidity: int | None = None
    last_uid: int = 0
    use_keyword: bool = True
    can_idle: bool = False
    handled: set[int] = field(default_factory=set)


class ImapPoller:
    """Feeds each new message of one folder to ``deliver``, then marks it read."""

    def __init__(
        self,
        settings: ImapSettings,
        deliver: Callable[[InboundMessage], Awaitable[object]],
        reject: Reject | None = None,
    ) -> None:
        self.s = settings
        self.deliver = deliver
        self.reject = reject or _log_only
        self.guard = PoisonGuard()
        self.state = _State()
        self.conn: imaplib.IMAP4 | None = None
        self._stop = threading.Event()

    # -- blocking helpers (run in a thread) -------------------------------------------------
    def _connect(self) -> imaplib.IMAP4:
        if self.s.ssl:
            conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                self.s.host, self.s.port, ssl_context=ssl.create_default_context(), timeout=self.s.timeout_s
            )
        else:
            conn = imaplib.IMAP4(self.s.host, self.s.port, timeout=self.s.timeout_s)
        conn.login(self.s.username, self.s.password)
        typ, _ = conn.select(_quote(self.s.folder))
        if typ != "OK":
            raise imaplib.IMAP4.error(f"cannot select folder {self.s.folder!r}")
        validity = _UIDVALIDITY.search(b" ".join(_lines(conn.response("UIDVALIDITY")[1])))
        uidvalidity = int(validity.group(1)) if validity else None
        if uidvalidity != self.state.uidvalidity:  # a new or rebuilt mailbox: UIDs start over
            self.state = _State(uidvalidity=uidvalidity)
        flags = b" ".join(_lines(conn.response("PERMANENTFLAGS")[1]))
        self.state.use_keyword = b"\\*" in flags or self.s.keyword.encode() in flags
        self.state.can_idle = self.s.idle and "IDLE" in conn.capabilities
        return conn

    def _fetch_new(self) -> list[tuple[int, bytes]]:
        if self.conn is None:
            self.conn = self._connect()
        else:
            self.conn.noop()  # let the server show what arrived since (servers sync the view on NOOP)
        conn = self.conn
        criteria = [f"UNKEYWORD {self.s.keyword}" if self.state.use_keyword else "UNSEEN"]
        if self.state.last_uid:
            criteria.append(f"UID {self.state.last_uid + 1}:*")
        typ, data = conn.uid("SEARCH", *criteria)
        if typ != "OK":
            raise imaplib.IMAP4.error(f"UID SEARCH failed: {data!r}")
        uids = sorted(int(u) for u in b" ".join(_lines(data)).split() if u.isdigit())
        uids = [u for u in uids if u > self.state.last_uid and u not in self.state.handled][:FETCH_BATCH]
        out: list[tuple[int, bytes]] = []
        for uid in uids:
            typ, data = conn.uid("FETCH", str(uid), "(UID BODY.PEEK[])")
            if typ != "OK":
                continue
            for item in data:
                if isinstance(item, tuple) and len(item) == 2:
                    m = _UID.search(item[0])
                    if m and int(m.group(1)) == uid:
                        out.append((uid, bytes(item[1])))
        return out

    def _mark(self, uid: int) -> None:
        assert self.conn is not None
        flags = [self.s.keyword] if self.state.use_keyword else []
        if self.s.mark_seen or not self.state.use_keyword:
            flags.append("\\Seen")
        self.conn.uid("STORE", str(uid), "+FLAGS.SILENT", f"({' '.join(flags)})")

    def _idle(self, max_s: float) -> bool:
        """RFC 2177 IDLE until the server announces something or max_s passes; True if it did."""
        conn = self.conn
        assert conn is not None
        tag = conn._new_tag()  # type: ignore[attr-defined]
        conn.send(tag + b" IDLE\r\n")
        first = conn.readline()
        if not first.startswith(b"+"):
            raise imaplib.IMAP4.error(f"IDLE refused: {first!r}")
        sock = conn.socket()
        pushed = False
        deadline = time.monotonic() + max_s
        try:
            # wait in short select() slices so a stopping poller never leaves this thread blocked
            while not self._stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                readable, _, _ = select.select([sock], [], [], min(1.0, left))
                if readable:
                    pushed = bool(conn.readline())
                    break
        finally:
            conn.send(b"DONE\r\n")
            while True:  # drain untagged lines up to our tagged completion
                line = conn.readline()
                if not line or line.startswith(tag):
                    break
        return pushed

    def _close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.logout()
            self.conn = None

    # -- asyncio side -----------------------------------------------------------------------
    async def poll_once(self) -> int:
        """Fetch, deliver and mark every new message once; returns how many were delivered."""
        batch = await asyncio.to_thread(self._fetch_new)
        delivered = 0
        for uid, raw in batch:
            source = f"imap:{self.s.folder}"
            try:
                msg = parse_email_bytes(raw)
            except BadInputError as exc:
                log.warning("imap: message uid %s is not a usable email (%s); kept, marked read", uid, exc)
                await self.reject(source, raw, str(exc))
            else:
                if await self.guard.deliver(
                    str(uid), raw, source, lambda m=msg: self.deliver(m), self.reject
                ):
                    delivered += 1
            await asyncio.to_thread(self._mark, uid)
            self.state.handled.add(uid)
            self.state.last_uid = max(self.state.last_uid, uid)
        return delivered

    async def wait(self) -> None:
        """IDLE where the server has it, else sleep poll_s."""
        if self.conn is not None and self.state.can_idle:
            await asyncio.to_thread(self._idle, self.s.idle_max_s)
        else:
            await asyncio.sleep(self.s.poll_s)

    async def run(self) -> None:
        backoff = 5.0
        try:
            while True:
                try:
                    await self.poll_once()
                    await self.wait()
                    backoff = 5.0
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # network, auth, server restarts: reconnect with backoff
                    log.warning(
                        "imap %s@%s: %r; reconnecting in %.0fs", self.s.username, self.s.host, exc, backoff
                    )
                    await asyncio.to_thread(self._close)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 300.0)
        finally:
            self._abort()

    def _abort(self) -> None:
        """Shut the socket at once (unblocks a thread waiting in IDLE) and forget the connection."""
        self._stop.set()
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # shutdown first: closing the file would wait on a reader
                conn.sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(Exception):
                conn.sock.close()


def _lines(data: object) -> list[bytes]:
    if not isinstance(data, list):
        return []
    return [d if isinstance(d, bytes) else d[0] for d in data if isinstance(d, bytes | tuple) and d]


def _quote(folder: str) -> str:
    return folder if folder.isalnum() else '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


async def _log_only(source: str, raw: bytes, reason: str) -> None:
    log.warning("%s: payload not used (%s); %d bytes", source, reason, len(raw))
