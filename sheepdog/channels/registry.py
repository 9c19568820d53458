"""Which channels are on, from config: their inbound routes, senders and background pollers.

The web app and the outbox know channels only through this module; adding WhatsApp means a new
channel module and a few lines here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sheepdog.channels.base import InboundParser, Sender
from sheepdog.channels.email import EmailParser, SmtpSender
from sheepdog.channels.webform import WebformParser
from sheepdog.config import Settings
from sheepdog.domain.models import Channel, InboundMessage

Deliver = Callable[[InboundMessage], Awaitable[object]]
Poller = Callable[[], Awaitable[None]]


def inbound_routes(settings: Settings) -> list[tuple[str, InboundParser]]:
    """(aiohttp path pattern, parser) for every enabled inbound webhook."""
    ch = settings.channels
    routes: list[tuple[str, InboundParser]] = []
    if ch.webform.enabled:
        routes.append(("/hooks/form", WebformParser(ch.webform.honeypot_field)))
    if ch.email.enabled:
        routes.append(("/hooks/email", EmailParser(ch.email.inbound_token)))
    return routes


def senders(settings: Settings) -> dict[Channel, Sender]:
    """One sender per channel we can answer on. A web-form lead is answered by email (or SMS)."""
    ch = settings.channels
    out: dict[Channel, Sender] = {}
    if ch.email.enabled:
        smtp = ch.email.smtp
        out[Channel.EMAIL] = SmtpSender(
            smtp.host,
            smtp.port,
            from_address=settings.from_address,
            from_name=settings.business.name,
            username=smtp.username,
            password=smtp.password,
            starttls=smtp.starttls,
            use_tls=smtp.use_tls,
            timeout_s=smtp.timeout_s,
        )
    return out


def pollers(settings: Settings, deliver: Deliver) -> list[Poller]:
    """Long-running inbound loops for machines with no public URL (IMAP, Telegram polling)."""
    return []
