"""Which channels are on, from config: their inbound routes, senders and background pollers.

The web app and the outbox know channels only through this module; adding WhatsApp means a new
channel module and a few lines here. The Twilio and Telegram modules (and their SDKs) are imported
only when their channel is on: a process that does not use them neither waits for nor holds them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sheepdog.channels.base import InboundParser, Reject, Sender
from sheepdog.channels.email import EmailParser, SmtpSender
from sheepdog.channels.email_imap import ImapPoller, ImapSettings
from sheepdog.channels.webform import WebformParser
from sheepdog.channels.webhook import WebhookParser
from sheepdog.config import Settings
from sheepdog.domain.models import Channel, InboundMessage
from sheepdog.errors import ConfigError

Deliver = Callable[[InboundMessage], Awaitable[object]]
Poller = Callable[[], Awaitable[None]]


def inbound_routes(settings: Settings) -> list[tuple[str, InboundParser]]:
    """(aiohttp path pattern, parser) for every enabled inbound webhook."""
    ch = settings.channels
    routes: list[tuple[str, InboundParser]] = []
    if ch.webform.enabled:
        routes.append(("/hooks/form", WebformParser(ch.webform.honeypot_field, settings.business.country)))
    if ch.email.enabled and ch.email.inbound_webhook:
        routes.append(("/hooks/email", EmailParser(ch.email.inbound_token)))
    if ch.sms.enabled:
        from sheepdog.channels.sms_twilio import TwilioSmsParser, help_line

        if not ch.sms.auth_token:
            raise ConfigError("channels.sms.auth_token is required: it verifies X-Twilio-Signature")
        b = settings.business
        help_text = ch.sms.help_text or help_line(b.name, b.phone, b.email, b.website)
        routes.append(("/hooks/twilio/sms", TwilioSmsParser(ch.sms.auth_token, help_text)))
    if ch.telegram.enabled and ch.telegram.mode == "webhook":
        from sheepdog.channels.telegram_customer import TelegramCustomerParser

        if not ch.telegram.secret_token:
            raise ConfigError(
                "channels.telegram.secret_token is required in webhook mode: Telegram sends it back in "
                'X-Telegram-Bot-Api-Secret-Token (or set mode = "polling")'
            )
        routes.append(("/hooks/telegram/customer", TelegramCustomerParser(ch.telegram.secret_token)))
    if ch.webhook.sources:
        sources = {name: (src.secret, dict(src.mapping)) for name, src in ch.webhook.sources.items()}
        try:
            routes.append(("/hooks/inbound/{source}", WebhookParser(sources)))
        except ValueError as exc:
            raise ConfigError(f"channels.webhook.sources: {exc}") from exc
    return routes


def status_routes(settings: Settings) -> list[tuple[str, Any]]:
    """(path, parser) for every enabled delivery-report webhook: parse(RawRequest) -> DeliveryReport."""
    ch = settings.channels
    routes: list[tuple[str, Any]] = []
    if ch.sms.enabled and ch.sms.auth_token:
        from sheepdog.channels.sms_twilio import TwilioStatusParser

        routes.append(("/hooks/twilio/status", TwilioStatusParser(ch.sms.auth_token)))
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
    if ch.sms.enabled:
        from sheepdog.channels.sms_twilio import TwilioSmsSender

        if not (ch.sms.account_sid and ch.sms.auth_token and ch.sms.from_number):
            raise ConfigError("channels.sms needs account_sid, auth_token and from_number to send")
        out[Channel.SMS] = TwilioSmsSender(
            ch.sms.account_sid,
            ch.sms.auth_token,
            ch.sms.from_number,
            api_base_url=ch.sms.api_base_url,
            timeout_s=ch.sms.timeout_s,
        )
    if ch.telegram.enabled:
        from sheepdog.channels.telegram_customer import TelegramSender

        if not ch.telegram.bot_token:
            raise ConfigError("channels.telegram.bot_token is required")
        out[Channel.TELEGRAM] = TelegramSender(
            ch.telegram.bot_token, api_base_url=ch.telegram.api_base_url, timeout_s=ch.telegram.send_timeout_s
        )
    return out


def pollers(settings: Settings, deliver: Deliver, reject: Reject | None = None) -> list[Poller]:
    """Long-running inbound loops for machines with no public URL (IMAP, Telegram polling).
    `reject` keeps what a poller could not use (the web hooks keep theirs the same way)."""
    ch = settings.channels
    loops: list[Poller] = []
    imap = ch.email.imap
    if ch.email.enabled and imap.enabled:
        if not (imap.username and imap.password):
            raise ConfigError("channels.email.imap needs username and password")
        loops.append(
            ImapPoller(
                ImapSettings(
                    host=imap.host,
                    port=imap.port,
                    username=imap.username,
                    password=imap.password,
                    folder=imap.folder,
                    ssl=imap.ssl,
                    poll_s=imap.poll_s,
                    idle=imap.idle,
                    mark_seen=imap.mark_seen,
                    keyword=imap.keyword,
                    timeout_s=imap.timeout_s,
                ),
                deliver,
                reject,
            ).run
        )
    if ch.telegram.enabled and ch.telegram.mode == "polling":
        from sheepdog.channels.telegram_customer import TelegramPoller

        if not ch.telegram.bot_token:
            raise ConfigError("channels.telegram.bot_token is required")
        loops.append(
            TelegramPoller(
                ch.telegram.bot_token,
                deliver,
                api_base_url=ch.telegram.api_base_url,
                timeout_s=ch.telegram.poll_timeout_s,
                reject=reject,
            ).run
        )
    return loops
