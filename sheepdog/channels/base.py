"""What a customer channel module provides: parse inbound, send outbound.

Modules stay thin at the HTTP edge (like slack-bolt's adapters): a RawRequest in, a list of
InboundMessage out; an Outbound in, a provider message id out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Protocol

from sheepdog.domain.models import Channel, InboundMessage, RawRequest
from sheepdog.errors import BadInputError


@dataclass(frozen=True)
class Outbound:
    """One message to send to a customer on their channel."""

    outbox_id: int
    channel: Channel
    body: str
    to_email: str | None = None
    to_phone: str | None = None  # E.164
    to_handle: str | None = None  # Telegram chat id, webhook external id
    to_name: str | None = None
    subject: str | None = None
    message_id: str | None = None  # our RFC 5322 Message-ID for email, chosen before the first attempt
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DeliveryReport:
    """What a platform said later about a message we sent (a Twilio status callback)."""

    channel: Channel
    provider_message_id: str
    status: str  # the platform's word: queued / sent / delivered / undelivered / failed / read
    error_code: str | None = None
    error_words: str | None = None  # the error in words, for the card


@dataclass(frozen=True)
class HttpReply:
    """A framework-free HTTP answer a channel wants to give its platform."""

    status: int = 200
    body: str = ""
    content_type: str = "text/plain"


class InboundParser(Protocol):
    channel: Channel

    def parse(self, request: RawRequest) -> list[InboundMessage]:
        """Verify the platform's signature and parse; raise BadInputError/SignatureError to refuse."""
        ...

    def reply(self, instant_reply: str | None) -> HttpReply:
        """The platform's expected acknowledgement (TwiML for Twilio, JSON for others)."""
        ...


class Sender(Protocol):
    channel: Channel

    async def send(self, message: Outbound) -> str:
        """Deliver once; return the provider's message id. Raise TransientSendError or PermanentSendError."""
        ...


Reject = Callable[[str, bytes, str], Awaitable[object]]
"""Keep a payload a poller could not use: (where it came from, the raw bytes, why)."""


class PoisonGuard:
    """A message that keeps failing is kept as rejected and skipped after a few tries, so one bad
    message can never block every message behind it (a poller otherwise retries it forever)."""

    def __init__(self, max_attempts: int = 5) -> None:
        self.max_attempts = max_attempts
        self.attempts: dict[str, int] = {}

    async def deliver(
        self, key: str, raw: bytes, source: str, attempt: Callable[[], Awaitable[object]], reject: Reject
    ) -> bool:
        """True when delivered; False when given up on (and kept). Raises while retries remain."""
        try:
            await attempt()
        except Exception as exc:
            tries = self.attempts.get(key, 0) + 1
            if tries < self.max_attempts:
                self.attempts[key] = tries
                raise
            self.attempts.pop(key, None)
            await reject(source, raw, f"gave up after {tries} attempts: {exc!r}")
            return False
        self.attempts.pop(key, None)
        return True


def multipart_fields(request: RawRequest) -> dict[str, bytes]:
    """The plain fields of a multipart/form-data body (files left out), as the bytes sent."""
    head = f"Content-Type: {request.header('content-type')}\r\n\r\n".encode()
    msg = BytesParser(policy=HTTP).parsebytes(head + request.body)
    if not msg.is_multipart():
        raise BadInputError("broken multipart/form-data body")
    out: dict[str, bytes] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name and not part.get_filename():
            out[str(name)] = part.get_payload(decode=True) or b""
    return out
