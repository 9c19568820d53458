"""Email: raw RFC 822 in (inbound-email webhook, IMAP poller), SMTP out with threading headers.

Parsing is forgiving where mail is messy (unknown charsets, raw 8-bit headers, a byte-order
mark, broken MIME): the message is kept with what could be decoded rather than refused.
"""

from __future__ import annotations

import contextlib
import hmac
import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr, parsedate_to_datetime

import aiosmtplib

from sheepdog.channels.base import HttpReply, Outbound, multipart_fields
from sheepdog.domain.models import Attachment, Channel, InboundMessage, RawRequest
from sheepdog.domain.threads import normalized_subject
from sheepdog.errors import (
    BadInputError,
    PermanentSendError,
    SignatureError,
    TransientSendError,
    UncertainSendError,
)

_QUOTE_HEADER = re.compile(
    r"^(On .{3,200}wrote:|-{2,} ?Original Message ?-{2,}|From: .+|"
    r"Am .{3,200}schrieb .+:|Le .{3,200}a écrit ?:)\s*$",
    re.IGNORECASE,
)
_SIGNATURE_LINE = re.compile(
    r"^(sent from my \w+|sent from (outlook|mail|yahoo mail)\b|get outlook for \w+|"
    r"-{5,} ?forwarded message ?-{5,}|_{10,})",
    re.IGNORECASE,
)
_WROTE_TAIL = re.compile(r"wrote:\s*$|schrieb:?\s*$|a écrit ?:\s*$", re.IGNORECASE)
_HEADER_CHARSETS = ("utf-8", "iso-2022-jp", "cp932", "euc-jp", "gb18030", "cp1252")
_AUTO_SUBJECT = re.compile(
    r"^(out of (the )?office|automatic reply|auto(matic)?[- ]?reply|autoreply|abwesenheitsnotiz|"
    r"undeliverable|undelivered mail|delivery status notification|mail delivery (failed|subsystem))",
    re.IGNORECASE,
)


def strip_quoted(text: str) -> str:
    """The new part of a reply: quoted history ('> …', 'On … wrote:') and signature cut off."""
    lines = text.replace("\r\n", "\n").split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if line.rstrip() in ("--", "-- ") or _QUOTE_HEADER.match(stripped) or _SIGNATURE_LINE.match(stripped):
            break
        # an attribution line wrapped by the mail client: "On Tue, … Dana Smith <dana@…>" / "wrote:"
        if (
            stripped.startswith(("On ", "Am ", "Le "))
            and i + 1 < len(lines)
            and _WROTE_TAIL.search(lines[i + 1])
        ):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    new = "\n".join(kept).strip()
    return new or _forwarded(lines)


_FORWARD_MARKER = re.compile(
    r"^(-{3,} ?forwarded message ?-{3,}|begin forwarded message:?)\s*$", re.IGNORECASE
)
_FORWARD_HEADER = re.compile(r"^(from|date|sent|subject|to|cc):\s", re.IGNORECASE)


def _forwarded(lines: list[str]) -> str:
    """A forward with no words of the sender's own: the forwarded text is what to read."""
    for i, line in enumerate(lines):
        if _FORWARD_MARKER.match(line.strip()):
            body = [ln for ln in lines[i + 1 :] if not _FORWARD_HEADER.match(ln.strip())]
            return "\n".join(ln.lstrip("> ") for ln in body).strip()
    return ""


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
    if (
        msg.get("X-Autoreply")
        or msg.get("X-Autorespond")
        or msg.get("X-Auto-Response-Suppress") in ("All", "OOF")
    ):
        return True
    if str(msg.get("Precedence", "")).lower() in ("auto_reply", "bulk", "junk"):
        return True
    sender = parseaddr(str(msg.get("From", "")))[1].lower()
    if sender.startswith(("mailer-daemon@", "postmaster@")):
        return True
    return bool(_AUTO_SUBJECT.match(subject.strip()))


_BOUNCE_SUBJECT = re.compile(
    r"^(undeliverable|undelivered mail|delivery status notification \(failure\)|mail delivery failed|"
    r"failure notice|returned mail|delivery failure|mail delivery subsystem)",
    re.IGNORECASE,
)


def _is_bounce(msg: EmailMessage, subject: str) -> bool:
    """A delivery failure report (RFC 3464), or a mailer daemon's plain-text one. A read receipt
    (disposition-notification) or an out-of-office is automatic, but not a bounce."""
    if msg.get_content_type() == "multipart/report":
        return str(msg.get_param("report-type", "")).lower() == "delivery-status"
    sender = parseaddr(str(msg.get("From", "")))[1].lower()
    return sender.startswith(("mailer-daemon@", "postmaster@")) or bool(
        _BOUNCE_SUBJECT.match(subject.strip())
    )


_QUOTED_MESSAGE_ID = re.compile(rb"(?im)^message-id:[ \t]*(<[^<>\s]+>)")


def _bounced_ids(raw: bytes) -> tuple[str, ...]:
    """The Message-IDs of the mail a bounce returns (in its attached headers or quoted body), so
    the bounce threads onto the lead we wrote to even though it carries no In-Reply-To."""
    body = raw.split(b"\r\n\r\n", 1)[-1] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[-1]
    return tuple(dict.fromkeys(m.decode("ascii", "replace") for m in _QUOTED_MESSAGE_ID.findall(body)))


_SMTP_REPLY = re.compile(r"(?m)^\s*([45]\d\d[ -][45]\.\d{1,3}\.\d{1,3}\b.*)$")


def bounce_reason(msg: EmailMessage, text: str) -> str | None:
    """Why the mail came back, in the receiving server's words: the DSN's Diagnostic-Code
    ("552 5.2.2 … MAILBOX FULL"), else its Action and Status, else the first SMTP reply line a
    mailer daemon quoted in plain text."""
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        for block in blocks if isinstance(blocks, list) else []:
            code = " ".join(str(block.get("Diagnostic-Code", "")).split())
            if code:
                return code.split(";", 1)[-1].strip()[:300]
            if block.get("Status") and block.get("Action"):
                return f"{block['Action']} ({block['Status']})"
    found = _SMTP_REPLY.search(text)
    return " ".join(found.group(1).split())[:300] if found else None


def _header_text(value: object) -> str:
    """A header as text; raw 8-bit bytes (common in Japanese mail) decoded by the likeliest charset."""
    text = str(value or "")
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    raw = text.encode("utf-8", "surrogateescape")
    if raw.startswith(b"\x1b") or b"\x1b$" in raw:
        return raw.decode("iso-2022-jp", "replace")
    for charset in _HEADER_CHARSETS:
        try:
            return raw.decode(charset)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", "replace")


def _spam_reason(msg: EmailMessage) -> str | None:
    if str(msg.get("X-Spam-Flag", "")).strip().upper() == "YES":
        return "marked as spam by the mail server (X-Spam-Flag: YES)"
    if str(msg.get("X-Spam-Status", "")).strip().lower().startswith("yes"):
        return "marked as spam by the mail server (X-Spam-Status: Yes)"
    return None


def _ids(value: object) -> tuple[str, ...]:
    return tuple(re.findall(r"<[^<>\s]+>", str(value or "")))


_ANGLE_ADDR = re.compile(r"<([^<>\s@]+@[^<>\s@]+)>\s*$")


def _sender(msg: EmailMessage, from_header: str) -> tuple[str, str]:
    """(display name, address) of From, where the address is the mailbox itself, never text of
    the display name: "Bob <a@x>" <b@y> is b@y, and so is Bob <a@x> <b@y> (the last angle-addr)."""
    try:
        addresses = getattr(msg["From"], "addresses", ())
    except Exception:  # a header too broken for the registry: read the raw text below
        addresses = ()
    raw = next((str(v) for k, v in msg.raw_items() if k.lower() == "from"), from_header)
    if len(re.findall(r"<[^<>]*@[^<>]*>", raw)) > 1:
        addresses, from_header = (
            (),
            " ".join(raw.split()),
        )  # an address typed into an unquoted display name: the last one is the mailbox
    if len(addresses) == 1 and addresses[0].addr_spec and "@" in addresses[0].addr_spec:
        found = addresses[0]
        return _header_text(found.display_name), found.addr_spec
    last = _ANGLE_ADDR.search(from_header.strip())
    if last:
        name = from_header.strip()[: last.start()].strip().strip('"').strip()
        with contextlib.suppress(Exception):  # undecodable encoded words: keep them as written
            name = str(make_header(decode_header(name)))
        return name, last.group(1)
    return parseaddr(from_header)


def parse_email_bytes(raw: bytes, *, received_at: datetime | None = None) -> InboundMessage:
    """Parse one RFC 822 message. Refuses what is not an email or has no sender."""
    if not raw.strip():
        raise BadInputError("empty body: expected a raw RFC 822 email message")
    source = raw.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark some clients save .eml files with
    try:
        msg = message_from_bytes(source, policy=policy.default)
    except Exception as exc:  # the stdlib parser is lenient; anything it raises is broken input
        raise BadInputError(f"not a parsable email message: {exc}") from exc
    if not isinstance(msg, EmailMessage) or not list(msg.keys()):
        raise BadInputError("not an RFC 822 email message: no headers found")
    try:
        from_header = _header_text(msg.get("From", ""))
        subject = _header_text(msg.get("Subject", "")).strip()
    except Exception as exc:
        raise BadInputError(f"broken email header: {exc}") from exc
    name, addr = _sender(msg, from_header)
    if not addr or "@" not in addr:
        raise BadInputError("email has no sender: the From header is missing or has no address", status=422)
    try:
        text, attachments = _body_and_attachments(msg)
    except Exception:  # broken MIME structure: keep the message (raw is stored) with what we have
        text, attachments = "", []
    fields = {"normalized_subject": normalized_subject(subject)} if subject else {}
    bounce = _is_bounce(msg, subject)
    if bounce and (reason := _safe_reason(msg, text)):
        fields["bounce_reason"] = reason
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
        references=_ids(msg.get("References")) + (_bounced_ids(source) if bounce else ()),
        attachments=tuple(attachments),
        fields=fields,
        is_auto=bounce or _is_auto(msg, subject),
        bounce=bounce,
        spam_reason=_spam_reason(msg),
        sender_utc_offset_min=_date_offset(msg),
    )


def _safe_reason(msg: EmailMessage, text: str) -> str | None:
    try:
        return bounce_reason(msg, text)
    except Exception:  # a broken report part: the bounce still counts, without its reason
        return None


def _date_offset(msg: EmailMessage) -> int | None:
    """The UTC offset (minutes) the sender's mail client wrote in Date; None for -0000 (RFC 5322:
    'no information about the local time zone') or a missing or broken Date."""
    raw = str(msg.get("Date", "") or "").strip()
    if not raw:
        return None
    try:
        sent = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    offset = sent.utcoffset() if sent.tzinfo else None
    return None if offset is None else int(offset.total_seconds() // 60)


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


# Inbound-mail services that post a form carry the raw message in one field: SendGrid's Inbound
# Parse with "POST the raw, full MIME message" on sends `email`; Mailgun's store-and-notify MIME
# route sends `body-mime`.
RAW_MIME_FIELDS = ("email", "body-mime")


class EmailParser:
    """POST /hooks/email: the raw message as the body (message/rfc822), or in the form field an
    inbound-email service puts it in (multipart/form-data: SendGrid raw mode, Mailgun MIME)."""

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
        if request.content_type.lower() == "multipart/form-data":
            fields = multipart_fields(request)
            raw = next((fields[f] for f in RAW_MIME_FIELDS if fields.get(f)), None)
            if raw is None:
                raise BadInputError(
                    f"form post without the raw message: expected one of the fields {', '.join(RAW_MIME_FIELDS)}"
                )
            return [parse_email_bytes(raw)]
        return [parse_email_bytes(request.body)]

    def reply(self, instant_reply: str | None) -> HttpReply:
        return HttpReply(200, '{"ok": true}', "application/json")


def new_message_id(domain: str) -> str:
    return make_msgid(domain=domain)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def with_signature(body: str, signature: str | None) -> str:
    """The body with the owner's signature, once: a draft that already ends with it is left as is."""
    if not signature or not signature.strip():
        return body
    sig = signature.strip()
    flat = " ".join(body.split())
    if flat.endswith(" ".join(sig.split())):
        return body
    return f"{body.rstrip()}\n\n{sig}"


_URL = re.compile(r"https?://[^\s<>\"')]+")


def _html(text: str, unsubscribe_url: str | None, business: str) -> str:
    """The text as simple HTML: paragraphs and line breaks kept, links clickable, everything the
    customer or the brain wrote escaped; the unsubscribe link at the foot."""
    import html as html_mod

    paras = []
    for para in re.split(r"\n\s*\n", text.strip()):
        escaped = html_mod.escape(para)
        escaped = _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
        paras.append("<p>" + escaped.replace("\n", "<br>\n") + "</p>")
    foot = ""
    if unsubscribe_url:
        link = html_mod.escape(unsubscribe_url, quote=True)
        foot = (
            '<p style="color:#777;font-size:12px">Don\'t want emails from '
            f'{html_mod.escape(business)}? <a href="{link}">Unsubscribe</a>.</p>'
        )
    return (
        '<!doctype html><html><body style="font-family:Arial,Helvetica,sans-serif;font-size:15px;'
        'line-height:1.5;color:#222">\n' + "\n".join(paras) + foot + "\n</body></html>\n"
    )


def build_email(out: Outbound, from_address: str, from_name: str) -> EmailMessage:
    """An RFC 5322 message: our Message-ID and the thread's In-Reply-To/References, Reply-To the
    business, the text and an HTML version (multipart/alternative) with the owner's signature
    once, and RFC 8058 one-click List-Unsubscribe when a link is given."""
    if not out.to_email:
        raise PermanentSendError("no email address to send to")
    msg = EmailMessage()
    # Address objects quote display names: a customer-typed name can never add a recipient
    # or a header (a newline or quote in it is just text).
    msg["From"] = Address(display_name=_one_line(from_name), addr_spec=from_address)
    msg["To"] = Address(display_name=_one_line(out.to_name or ""), addr_spec=out.to_email)
    reply_to = out.extra.get("reply_to")
    if reply_to and "@" in reply_to:
        msg["Reply-To"] = Address(display_name=_one_line(from_name), addr_spec=reply_to)
    msg["Subject"] = _one_line(out.subject or f"Your message to {from_name}")
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
    unsubscribe = out.extra.get("unsubscribe_url")
    if unsubscribe:
        msg["List-Unsubscribe"] = f"<{unsubscribe}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if out.extra.get("idempotency_key"):
        msg["X-Sheepdog-Key"] = _one_line(out.extra["idempotency_key"])
    text = with_signature(out.body, out.extra.get("signature"))
    plain = f"{text}\n\n--\nUnsubscribe: {unsubscribe}\n" if unsubscribe else text
    msg.set_content(plain)
    msg.add_alternative(_html(text, unsubscribe, from_name), subtype="html")
    return msg


class SmtpSender:
    """Sends over SMTP with aiosmtplib; classifies failures so the outbox knows whether to retry.

    Everything before the message data (connect, TLS, login, MAIL, RCPT) may fail and be retried:
    the server has nothing yet. Once the data is on its way, a timeout or a dropped connection
    leaves the outcome unknown (the server may have stored it and only its 250 was lost), so it
    is an UncertainSendError, never retried blindly."""

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
        recipient = message.to_email or ""  # the stored address, never re-read from a header
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            start_tls=self.starttls,
            use_tls=self.use_tls,
            timeout=self.timeout_s,
        )
        data = False
        try:
            await client.connect()
            try:
                await client.mail(self.from_address)
                await client.rcpt(recipient)
                data = True
                await client.data(msg.as_bytes(policy=msg.policy.clone(linesep="\r\n")))
            finally:
                if client.is_connected:
                    try:
                        await client.quit()
                    except (TimeoutError, aiosmtplib.SMTPException, OSError):
                        client.close()
        except aiosmtplib.SMTPRecipientRefused as exc:
            raise PermanentSendError(f"recipient refused: {exc}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            # The server answered with a code: it did not take the message (RFC 5321 4.2.5).
            if 500 <= exc.code < 600:
                raise PermanentSendError(f"SMTP {exc.code}: {exc.message}") from exc
            raise TransientSendError(f"SMTP {exc.code}: {exc.message}") from exc
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            if data:
                raise UncertainSendError(
                    f"the mail server stopped answering after it had the message: {exc}"
                ) from exc
            raise TransientSendError(f"SMTP server unreachable: {exc}") from exc
        return str(msg["Message-ID"])
