"""Email: raw RFC 822 in (inbound-email webhook, later IMAP), SMTP out with threading headers."""

from __future__ import annotations

import asyncio
import hmac
import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr

import aiosmtplib

from sheepdog.channels.base import HttpReply, Outbound
from sheepdog.domain.models import Attachment, Channel, InboundMessage, RawRequest
from sheepdog.errors import BadInputError, PermanentSendError, SignatureError, TransientSendError

_QUOTE_HEADER = re.compile(
    r"^(On .{3,200}wrote:|-{2,} ?Original Message ?-{2,}|From: .+|Am .{3,200}schrieb .+:|Le .{3,200}a écrit ?:)\s*$",
    re.IGNORECASE,
)
_AUTO_SUBJECT = re.compile(
    r"^(out of (the )?office|automatic reply|auto(matic)?[- ]?reply|autoreply|abwesenheitsnotiz|"
    r"undeliverable|undelivered mail|delivery status notification|mail delivery (failed|subsystem))",
    re.IGNORECASE,
)


def strip_quoted(text: str) -> str:
    """The new part of a reply: quoted history ('> …', 'On … wrote:') and signature cut off."""
    lines = text.replace("\r\n", "\n").split("\n")
    kept: list[str] = []
    for line in lines:
        if line.rstrip() in ("--", "-- ") or _QUOTE_HEADER.match(line.strip()):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    return "\n".join(kept).strip()


def _html_to_text(html: str) -> str:
    html = re.sub(r"(?is)<(script|style).*?</\1>", " ", html)
    html = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", html)
    text = re.sub(r"<[^>]+>", " ", html)
    import html as html_mod

    return re.sub(r"[ \t]+", " ", html_mod.unescape(text)).strip()


def _is_auto(msg: EmailMessage, subject: str) -> bool:
    auto = str(msg.get("Auto-Submitted", "no")).strip().lower()
    if auto and auto != "no":
        return True
    if msg.get_content_type() == "multipart/report":
        return True
    if msg.get("X-Autoreply") or msg.get("X-Autorespond") or msg.get("X-Auto-Response-Suppress") in ("All", "OOF"):
        return True
    if str(msg.get("Precedence", "")).lower() in ("auto_reply", "bulk", "junk"):
        return True
    sender = parseaddr(str(msg.get("From", "")))[1].lower()
    if sender.startswith(("mailer-daemon@", "postmaster@")):
        return True
    return bool(_AUTO_SUBJECT.match(subject.strip()))


def _ids(value: object) -> tuple[str, ...]:
    return tuple(re.findall(r"<[^<>\s]+>", str(value or "")))


def parse_email_bytes(raw: bytes, *, received_at: datetime | None = None) -> InboundMessage:
    """Parse one RFC 822 message. Refuses what is not an email or has no sender."""
    if not raw.strip():
        raise BadInputError("empty body: expected a raw RFC 822 email message")
    try:
        msg = message_from_bytes(raw, policy=policy.default)
    except Exception as exc:  # the stdlib parser is lenient; anything it raises is broken input
        raise BadInputError(f"not a parsable email message: {exc}") from exc
    if not isinstance(msg, EmailMessage) or not list(msg.keys()):
        raise BadInputError("not an RFC 822 email message: no headers found")
    try:
        from_header = str(msg.get("From", "") or "")
        subject = str(msg.get("Subject", "") or "")
    except Exception as exc:
        raise BadInputError(f"broken email header: {exc}") from exc
    name, addr = parseaddr(from_header)
    if not addr or "@" not in addr:
        raise BadInputError("email has no sender: the From header is missing or has no address", status=422)
    text, attachments = _body_and_attachments(msg)
    return InboundMessage(
        channel=Channel.EMAIL,
        text=text,
        triage_text=strip_quoted(text),
        received_at=received_at or datetime.now(UTC),
        raw=raw,
        raw_content_type="message/rfc822",
        sender_name=name or None,
        sender_email=addr,
        subject=subject or None,
        provider_message_id=(_ids(msg.get("Message-ID")) or (None,))[0],
        in_reply_to=(_ids(msg.get("In-Reply-To")) or (None,))[0],
        references=_ids(msg.get("References")),
        attachments=tuple(attachments),
        is_auto=_is_auto(msg, subject),
    )


def _body_and_attachments(msg: EmailMessage) -> tuple[str, list[Attachment]]:
    attachments: list[Attachment] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        if part.get_content_disposition() == "attachment" or (
            part.get_filename() and part.get_content_maintype() not in ("text",)
        ):
            payload = part.get_payload(decode=True) or b""
            attachments.append(Attachment(part.get_content_type(), None, part.get_filename(), len(payload)))
    body_part = msg.get_body(preferencelist=("plain", "html"))
    if body_part is None:
        return "", attachments
    try:
        content = body_part.get_content()
    except (LookupError, UnicodeError, AssertionError):
        payload = body_part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", errors="replace")
    if not isinstance(content, str):
        content = ""
    if body_part.get_content_subtype() == "html":
        content = _html_to_text(content)
    return content.strip(), attachments


class EmailParser:
    """POST /hooks/email: the raw message as the body, as inbound-email services deliver it."""

    channel = Channel.EMAIL

    def __init__(self, inbound_token: str | None = None) -> None:
        self.inbound_token = inbound_token

    def parse(self, request: RawRequest) -> list[InboundMessage]:
        if self.inbound_token:
            given = request.header("x-sheepdog-token") or request.query.get("token", "")
            if not given:
                raise SignatureError("missing token: send X-Sheepdog-Token or ?token=")
            if not hmac.compare_digest(given.encode(), self.inbound_token.encode()):
                raise SignatureError("wrong token for /hooks/email")
        return [parse_email_bytes(request.body)]

    def reply(self, instant_reply: str | None) -> HttpReply:
        return HttpReply(200, '{"ok": true}', "application/json")


def new_message_id(domain: str) -> str:
    return make_msgid(domain=domain)


def build_email(out: Outbound, from_address: str, from_name: str) -> EmailMessage:
    """An RFC 5322 message with our Message-ID and the thread's In-Reply-To/References."""
    if not out.to_email:
        raise PermanentSendError("no email address to send to")
    msg = EmailMessage()
    msg["From"] = f'"{from_name}" <{from_address}>'
    msg["To"] = f'"{out.to_name}" <{out.to_email}>' if out.to_name else out.to_email
    msg["Subject"] = out.subject or f"Your message to {from_name}"
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = out.message_id or new_message_id(from_address.rsplit("@", 1)[-1])
    if out.in_reply_to:
        msg["In-Reply-To"] = out.in_reply_to
    refs = list(out.references)
    if out.in_reply_to and out.in_reply_to not in refs:
        refs.append(out.in_reply_to)
    if refs:
        msg["References"] = " ".join(refs)
    msg["Auto-Submitted"] = "auto-generated" if out.extra.get("automated") == "1" else "no"
    msg.set_content(out.body)
    return msg


class SmtpSender:
    """Sends over SMTP with aiosmtplib; classifies failures so the outbox knows whether to retry."""

    channel = Channel.EMAIL

    def __init__(
        self,
        host: str,
        port: int,
        *,
        from_address: str,
        from_name: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        use_tls: bool = False,
        timeout_s: float = 30.0,
    ) -> None:
        self.host, self.port = host, port
        self.from_address, self.from_name = from_address, from_name
        self.username, self.password = username, password
        self.starttls, self.use_tls, self.timeout_s = starttls, use_tls, timeout_s

    async def send(self, message: Outbound) -> str:
        msg = build_email(message, self.from_address, self.from_name)
        recipients = [a for _, a in getaddresses([str(msg["To"])]) if a]
        try:
            await aiosmtplib.send(
                msg,
                hostname=self.host,
                port=self.port,
                sender=self.from_address,
                recipients=recipients,
                username=self.username,
                password=self.password,
                start_tls=self.starttls,
                use_tls=self.use_tls,
                timeout=self.timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise PermanentSendError(f"recipient refused: {exc}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise PermanentSendError(f"SMTP {exc.code}: {exc.message}") from exc
            raise TransientSendError(f"SMTP {exc.code}: {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as exc:
            raise TransientSendError(f"SMTP server unreachable: {exc}") from exc
        return str(msg["Message-ID"])
