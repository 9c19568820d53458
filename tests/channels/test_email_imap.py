"""The IMAP poller against a real Dovecot started by the test (private config, free 127.0.0.1 port).

Skips with a reason when Dovecot is not installed (the Makefile's browser target installs it),
except under CI=true, where a missing Dovecot fails the run.
"""

from __future__ import annotations

import asyncio
import imaplib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sheepdog.channels.email_imap import ImapPoller, ImapSettings
from sheepdog.domain.models import InboundMessage
from tests.channels.helpers import load
from tests.conftest import free_port, requires_service

USER, PASSWORD = "owner@brightside.example", "s3cret-pass"
MAIL_UID = 65534  # dovecot refuses mail access as root; the maildir belongs to nobody

CONFIG = """
protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_location = maildir:{d}/home/%u/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={uid} home={d}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


@dataclass
class Dovecot:
    port: int
    root: Path

    def client(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        conn.login(USER, PASSWORD)
        return conn

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        conn = self.client()
        try:
            typ, data = conn.append(folder, "", imaplib.Time2Internaldate(time.time()), raw)
            assert typ == "OK", data
        finally:
            conn.logout()

    def flags(self) -> list[bytes]:
        conn = self.client()
        try:
            conn.select("INBOX", readonly=True)
            _typ, data = conn.fetch("1:*", "(FLAGS)")
            return [d for d in data if isinstance(d, bytes)]
        finally:
            conn.logout()


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    binary = shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)
    if binary is None:
        requires_service("Dovecot", False, "not installed; `make test` installs dovecot-imapd as root")
    if os.geteuid() != 0:
        requires_service(
            "Dovecot", False, "the private instance must be started as root (it drops privileges)"
        )
    root = Path(tempfile.mkdtemp(prefix="sheepdog-dovecot-"))
    root.chmod(0o755)
    port = free_port()
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    home = root / "home"
    home.mkdir()
    os.chown(home, MAIL_UID, MAIL_UID)
    conf = root / "dovecot.conf"
    conf.write_text(CONFIG.format(d=root, port=port, uid=MAIL_UID))
    proc = subprocess.Popen([binary, "-F", "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            if proc.poll() is not None:
                out = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"dovecot exited: {out}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            pytest.fail("dovecot did not listen in 5 s")
        yield Dovecot(port, root)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(root, ignore_errors=True)


def _settings(d: Dovecot, **kw: object) -> ImapSettings:
    base: dict[str, object] = {
        "host": "127.0.0.1",
        "port": d.port,
        "username": USER,
        "password": PASSWORD,
        "ssl": False,
        "timeout_s": 10,
    }
    base.update(kw)
    return ImapSettings(**base)  # type: ignore[arg-type]


FILES = ["message__text_only.eml", "message__iso_2022_jp.eml", "reply__in_reply_to_references.eml"]


async def test_fetches_each_message_once_and_marks_it(dovecot: Dovecot) -> None:
    for name in FILES:
        dovecot.append(load("email", name))
    got: list[InboundMessage] = []

    async def deliver(msg: InboundMessage) -> None:
        got.append(msg)

    poller = ImapPoller(_settings(dovecot), deliver)
    try:
        assert await poller.poll_once() == 3
        assert await poller.poll_once() == 0  # never twice in one process
    finally:
        poller._abort()
    assert [m.subject for m in got] == [
        "Testing message parsing",
        "デコメール",
        "Fwd: Please forward this email to me",
    ]
    assert got[1].text.startswith("謹賀新年")
    flags = dovecot.flags()
    assert len(flags) == 3 and all(b"$Sheepdog" in f and b"\\Seen" in f for f in flags)

    # a restarted process (fresh state) does not fetch them again either; a new message comes once
    restarted = ImapPoller(_settings(dovecot), deliver)
    try:
        assert await restarted.poll_once() == 0
        dovecot.append(load("email", "reply__on_wrote_quote.eml"))
        assert await restarted.poll_once() == 1
        assert await restarted.poll_once() == 0
    finally:
        restarted._abort()
    assert got[-1].triage_text == "Hello" and len(got) == 4


async def test_mark_seen_off_keeps_mail_unread_for_the_owner(dovecot: Dovecot) -> None:
    dovecot.append(load("email", "message__text_only.eml"))
    got: list[InboundMessage] = []

    async def deliver(msg: InboundMessage) -> None:
        got.append(msg)

    poller = ImapPoller(_settings(dovecot, mark_seen=False), deliver)
    try:
        assert await poller.poll_once() == 1
    finally:
        poller._abort()
    (flags,) = dovecot.flags()
    assert b"$Sheepdog" in flags and b"\\Seen" not in flags
    again = ImapPoller(_settings(dovecot, mark_seen=False), deliver)
    try:
        assert await again.poll_once() == 0  # the keyword alone keeps it from being fetched twice
    finally:
        again._abort()


async def test_not_an_email_is_marked_but_not_delivered(dovecot: Dovecot) -> None:
    dovecot.append(b"X-Nothing: here\r\n\r\nno sender at all\r\n")
    got: list[InboundMessage] = []

    async def deliver(msg: InboundMessage) -> None:
        got.append(msg)

    poller = ImapPoller(_settings(dovecot), deliver)
    try:
        assert await poller.poll_once() == 0
        assert await poller.poll_once() == 0
    finally:
        poller._abort()
    assert got == [] and b"$Sheepdog" in dovecot.flags()[0]


async def _run_until(poller: ImapPoller, got: list[InboundMessage], n: int, timeout: float) -> None:
    task = asyncio.create_task(poller.run())
    try:
        for _ in range(int(timeout / 0.05)):
            if len(got) >= n:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"only {len(got)} of {n} messages delivered in {timeout}s")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_idle_push_delivers_without_polling(dovecot: Dovecot) -> None:
    got: list[InboundMessage] = []

    async def deliver(msg: InboundMessage) -> None:
        got.append(msg)

    # poll interval and IDLE limit far beyond the test: only the server's push can wake the poller
    poller = ImapPoller(_settings(dovecot, poll_s=600, idle_max_s=600), deliver)

    async def append_later() -> None:
        await asyncio.sleep(0.7)
        assert poller.state.can_idle, "Dovecot advertises IDLE"
        await asyncio.to_thread(dovecot.append, load("email", "message__utf8_encoded_subject.eml"))

    appender = asyncio.create_task(append_later())
    await _run_until(poller, got, 1, timeout=8)
    await appender
    assert got[0].subject == "Simple text. How are you? Как ты поживаешь?"


async def test_polling_fallback_without_idle(dovecot: Dovecot) -> None:
    got: list[InboundMessage] = []

    async def deliver(msg: InboundMessage) -> None:
        got.append(msg)

    poller = ImapPoller(_settings(dovecot, idle=False, poll_s=0.2), deliver)

    async def append_later() -> None:
        await asyncio.sleep(0.5)
        await asyncio.to_thread(dovecot.append, load("email", "message__text_only.eml"))

    appender = asyncio.create_task(append_later())
    await _run_until(poller, got, 1, timeout=8)
    await appender
    assert not poller.state.can_idle and len(got) == 1


async def test_wrong_password_retries_without_crashing(dovecot: Dovecot) -> None:
    async def deliver(msg: InboundMessage) -> None:
        raise AssertionError("nothing to deliver")

    poller = ImapPoller(_settings(dovecot, password="wrong"), deliver)
    task = asyncio.create_task(poller.run())
    await asyncio.sleep(1.5)
    assert not task.done()  # logged and backing off, not dead
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
