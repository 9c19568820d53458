"""The bench's own SMTP server: the only honest clock for "the customer got the reply" is the
moment the mail arrives, so every message is stamped on arrival with the bench's monotonic clock."""

from __future__ import annotations

import threading
import time
import warnings
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from typing import Any

with warnings.catch_warnings():  # aiosmtpd still imports a deprecated asyncio API on 3.12
    warnings.simplefilter("ignore", DeprecationWarning)
    from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Mail:
    at: float  # time.monotonic() when DATA completed
    rcpt: str  # lower-cased envelope recipient
    message_id: str
    subject: str


class MailRecorder:
    """aiosmtpd handler that keeps one Mail per envelope recipient; safe to read from other threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mails: list[Mail] = []
        self._parser = BytesHeaderParser()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        at = time.monotonic()
        headers = self._parser.parsebytes(envelope.content or b"")
        mid, subject = str(headers.get("Message-ID", "")), str(headers.get("Subject", ""))
        with self._lock:
            for rcpt in envelope.rcpt_tos:
                self._mails.append(Mail(at, rcpt.lower(), mid, subject))
        return "250 OK"

    def mails(self) -> list[Mail]:
        with self._lock:
            return list(self._mails)

    def count(self) -> int:
        with self._lock:
            return len(self._mails)


class SmtpServer:
    """Runs the recorder on 127.0.0.1:port in aiosmtpd's own thread, so posting never delays receiving."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.recorder = MailRecorder()
        self._controller = Controller(self.recorder, hostname="127.0.0.1", port=port, ready_timeout=10)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
