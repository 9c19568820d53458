"""SMS and MMS through Twilio: the signed form webhook in, TwiML back, the REST API out.

Twilio signs the public URL plus the sorted form fields (X-Twilio-Signature, HMAC-SHA1 with the
auth token); it signs no timestamp, so a replayed delivery is caught by its MessageSid, which the
store de-duplicates. Carrier keywords (STOP, START, HELP …) are matched the way carriers match
them: the whole message, case-insensitive, surrounding whitespace and punctuation ignored.
"""

from __future__ import annotations

import base64
import logging
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse

from sheepdog.channels.base import DeliveryReport, HttpReply, Outbound
from sheepdog.domain.models import Attachment, Channel, InboundMessage, RawRequest
from sheepdog.errors import (
    BadInputError,
    PermanentSendError,
    SignatureError,
    TransientSendError,
    UncertainSendError,
)

log = logging.getLogger(__name__)

# Twilio's default opt-out / opt-in / help keywords (Advanced Opt-Out), as the issue lists them.
OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})
MAX_MEDIA = 10  # Twilio delivers at most ten media items per MMS
_KEYWORD_NOISE = re.compile(r"^[\s\W_]+|[\s\W_]+$")


def carrier_keyword(body: str) -> str | None:
    """The carrier keyword a message *is* (not merely contains), upper-cased, or None."""
    word = _KEYWORD_NOISE.sub("", body or "").upper()
    if word in OPT_OUT_KEYWORDS | OPT_IN_KEYWORDS | HELP_KEYWORDS:
        return word
    return None


def help_line(business_name: str, phone: str | None, email: str | None, website: str | None) -> str:
    """The HELP answer carriers require: who we are, how to reach a human, how to stop."""
    contact = " or ".join(c for c in (phone, email) if c) or "reply here"
    site = f" {website}" if website else ""
    return f"{business_name}: reach us at {contact}.{site} Reply STOP to opt out."


def signed_form(validator: RequestValidator, request: RawRequest) -> dict[str, str]:
    """The form fields of a Twilio webhook whose X-Twilio-Signature is right; refuses the rest."""
    ctype = request.content_type.lower()
    if ctype and ctype != "application/x-www-form-urlencoded":
        raise BadInputError(f"unsupported content type {ctype!r}: Twilio posts a form", status=415)
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInputError("form body is not UTF-8") from exc
    params: dict[str, str] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        params.setdefault(key, value)
    signature = request.header("x-twilio-signature")
    if not signature:
        raise SignatureError("missing X-Twilio-Signature header")
    if not validator.validate(request.url, params, signature):
        raise SignatureError("wrong X-Twilio-Signature for this URL and body (is console.public_url right?)")
    return params


# Twilio's messaging error codes a carrier gives back most, in words for the card
# (https://www.twilio.com/docs/api/errors); any other code is shown with its number.
ERROR_WORDS = {
    "30001": "Twilio's queue overflowed",
    "30002": "the Twilio account is suspended",
    "30003": "the phone is switched off or out of reach",
    "30004": "the message was blocked (the number may have blocked you)",
    "30005": "the number does not exist or is no longer in service",
    "30006": "the number is a landline or its carrier cannot take texts",
    "30007": "the carrier filtered it as spam",
    "30008": "the carrier gave no reason",
    "30034": "the sending number is not registered for A2P 10DLC",
    "21610": "they replied STOP to this number earlier",
    "21614": "the number is not a mobile number",
}

DELIVERY_STATUSES = frozenset(
    {
        "accepted",
        "scheduled",
        "queued",
        "sending",
        "sent",
        "delivered",
        "undelivered",
        "failed",
        "read",
        "canceled",
    }
)


class TwilioStatusParser:
    """POST /hooks/twilio/status: Twilio's status callback for a message we sent, signed like
    the inbound webhook; becomes a DeliveryReport."""

    channel = Channel.SMS

    def __init__(self, auth_token: str) -> None:
        self.validator = RequestValidator(auth_token)

    def parse(self, request: RawRequest) -> DeliveryReport:
        params = signed_form(self.validator, request)
        sid = params.get("MessageSid") or params.get("SmsSid")
        status = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
        if not sid or not status:
            raise BadInputError("not a status callback: MessageSid and MessageStatus are required", 422)
        if status not in DELIVERY_STATUSES:
            raise BadInputError(f"unknown MessageStatus {status!r}", 422)
        code = params.get("ErrorCode") or None
        words = None
        if code:
            words = ERROR_WORDS.get(code, f"Twilio error {code}")
            if code not in ERROR_WORDS and params.get("ErrorMessage"):
                words = f"{params['ErrorMessage']} (Twilio error {code})"
        return DeliveryReport(Channel.SMS, sid, status, code, words)


class TwilioSmsParser:
    """POST /hooks/twilio/sms: one inbound SMS/MMS per request."""

    channel = Channel.SMS

    def __init__(self, auth_token: str, help_text: str) -> None:
        self.validator = RequestValidator(auth_token)
        self.help_text = help_text

    def parse(self, request: RawRequest) -> list[InboundMessage]:
        params = signed_form(self.validator, request)
        sid = params.get("MessageSid") or params.get("SmsMessageSid") or params.get("SmsSid")
        sender = params.get("From", "").strip()
        if not sid or not sender:
            raise BadInputError(
                "not an inbound message webhook: MessageSid and From are required", status=422
            )
        body = params.get("Body", "")
        keyword = carrier_keyword(body)
        return [
            InboundMessage(
                channel=Channel.SMS,
                text=body,
                received_at=datetime.now(UTC),
                raw=request.body,
                raw_content_type="application/x-www-form-urlencoded",
                sender_phone=sender,
                provider_message_id=sid,
                source="sms",
                attachments=_media(params),
                fields={
                    k: v
                    for k, v in (("to", params.get("To", "")), ("from_city", params.get("FromCity", "")))
                    if v
                },
                opt_in=False if keyword in OPT_OUT_KEYWORDS else True if keyword in OPT_IN_KEYWORDS else None,
                auto_reply=self.help_text if keyword in HELP_KEYWORDS else None,
            )
        ]

    def reply(self, instant_reply: str | None) -> HttpReply:
        """TwiML: empty <Response/> unless an instant reply is due."""
        twiml = MessagingResponse()
        if instant_reply:
            twiml.message(instant_reply)
        return HttpReply(200, str(twiml), "application/xml")


def _media(params: dict[str, str]) -> tuple[Attachment, ...]:
    try:
        count = min(int(params.get("NumMedia", "0") or 0), MAX_MEDIA)
    except ValueError:
        count = 0
    out: list[Attachment] = []
    for i in range(max(count, 0)):
        url = params.get(f"MediaUrl{i}")
        if url:
            out.append(Attachment(params.get(f"MediaContentType{i}") or "application/octet-stream", url))
    return tuple(out)


class _LocalBaseHttpClient(AsyncTwilioHttpClient):
    """The SDK's async HTTP client with the API host swapped (tests, proxies) and failures classified.

    429 and 5xx become TransientSendError carrying Retry-After; the SDK raises TwilioRestException
    for the other 4xx, which the sender turns into PermanentSendError.
    """

    def __init__(self, base_url: str | None, timeout_s: float) -> None:
        super().__init__(pool_connections=False, timeout=timeout_s)
        self.base_url = base_url.rstrip("/") if base_url else None
        self.timeout_s = timeout_s

    def _rewrite(self, url: str) -> str:
        if not self.base_url:
            return url
        base, orig = urlsplit(self.base_url), urlsplit(url)
        return urlunsplit((base.scheme, base.netloc, base.path + orig.path, orig.query, ""))

    async def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        headers = dict(headers or {})
        if auth:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        client_timeout = aiohttp.ClientTimeout(total=timeout or self.timeout_s)
        try:
            async with (
                aiohttp.ClientSession(timeout=client_timeout) as session,
                session.request(
                    method.upper(),
                    self._rewrite(url),
                    params=params,  # type: ignore[arg-type]
                    data=data,
                    headers=headers,
                    allow_redirects=allow_redirects,
                ) as resp,
            ):
                text = await resp.text()
                status, resp_headers = resp.status, dict(resp.headers)
        except (aiohttp.ClientConnectorError, ConnectionRefusedError) as exc:
            raise TransientSendError(f"Twilio unreachable: {exc!r}") from exc  # never reached Twilio
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            if method.upper() != "POST":
                raise TransientSendError(f"Twilio unreachable: {exc!r}") from exc
            # The request left: Twilio may have taken the message and only its answer was lost.
            raise UncertainSendError(f"Twilio did not answer after taking the request: {exc!r}") from exc
        if status == 429 or status >= 500:
            raise TransientSendError(f"Twilio answered {status}: {text[:200]}", _retry_after(resp_headers))
        return Response(status, text, resp_headers)


def _retry_after(headers: dict[str, str]) -> float | None:
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class TwilioSmsSender:
    """Sends SMS through the twilio SDK's Client (async), exactly one API call per attempt."""

    channel = Channel.SMS

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        *,
        api_base_url: str | None = None,
        timeout_s: float = 15.0,
    ) -> None:
        self.from_number = from_number
        # Twilio calls back only on a public https URL; a local API server (tests) takes any.
        self.local_callbacks = bool(api_base_url)
        self.client = Client(
            account_sid, auth_token, http_client=_LocalBaseHttpClient(api_base_url, timeout_s)
        )

    async def send(self, message: Outbound) -> str:
        if not message.to_phone:
            raise PermanentSendError("no phone number to send the SMS to")
        kwargs: dict[str, Any] = {"to": message.to_phone, "from_": self.from_number, "body": message.body}
        callback = message.extra.get("status_callback") or ""
        if callback.startswith("https://") or (callback and self.local_callbacks):
            kwargs["status_callback"] = callback
        try:
            sent = await self.client.messages.create_async(**kwargs)
        except TwilioRestException as exc:
            if exc.status == 429 or exc.status >= 500:
                raise TransientSendError(f"Twilio {exc.status}: {exc.msg}") from exc
            raise PermanentSendError(
                f"Twilio refused the message ({exc.status}, code {exc.code}): {exc.msg}"
            ) from exc
        return str(sent.sid)
