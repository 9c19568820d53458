"""The demo's local SMTP sink: mail 'sent' to leads lands here and the console shows it."""

from __future__ import annotations

from typing import Any

from aiosmtpd.controller import Controller

from sheepdog.storage.db import Database
from sheepdog.storage.tables import SinkMail


class _StoreHandler:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content
        with self.db.session() as s:
            s.add(SinkMail(mail_from=envelope.mail_from, rcpt_to=list(envelope.rcpt_tos), data=bytes(data)))
        return "250 Message accepted for delivery"


def start_sink(db: Database, host: str, port: int) -> Controller:
    """Start an aiosmtpd server in its own thread; returns the controller (call .stop())."""
    controller = Controller(_StoreHandler(db), hostname=host, port=port)
    controller.start()
    return controller
