"""Web form: an HTML form post or JSON to /hooks/form, plus the tiny embeddable form itself."""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from sheepdog import defaults, safejson
from sheepdog.channels.base import HttpReply, multipart_fields
from sheepdog.domain.contacts import normalize_email, normalize_phone
from sheepdog.domain.models import Channel, InboundMessage, RawRequest
from sheepdog.errors import BadInputError

# What forms in the wild call each field; the first that is present wins.
ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "full_name", "fullname", "your-name", "contact_name"),
    "first_name": ("first_name", "firstname", "fname"),
    "last_name": ("last_name", "lastname", "lname"),
    "email": ("email", "e-mail", "email_address", "your-email"),
    "phone": ("phone", "phone_number", "tel", "mobile", "telephone"),
    "message": ("message", "text", "comments", "comment", "body", "your-message", "details", "inquiry"),
    "service": ("service", "interest", "topic", "product"),
    "company": ("company", "organisation", "organization", "business"),
    "source": ("source", "utm_source", "lead_source"),
    "referral": ("referral", "referred_by", "referrer_name"),
}
MAX_FIELDS = 50
MAX_FIELD_CHARS = 10_000


def _field_text(value: object) -> str:
    """A JSON value as the text a person typed: ["a", "b"] is "a, b", not "['a', 'b']"."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_field_text(v) for v in value if v is not None)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _form_fields(request: RawRequest) -> dict[str, str]:
    ctype = request.content_type.lower()
    if ctype == "application/json":
        data = safejson.loads(request.body)
        if not isinstance(data, dict):
            raise BadInputError("JSON body must be an object of form fields")
        return {str(k): _field_text(v) for k, v in data.items()}
    if ctype == "application/x-www-form-urlencoded":
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadInputError("form body is not UTF-8") from exc
        return dict(parse_qsl(text, keep_blank_values=True))
    if ctype == "multipart/form-data":
        return {k: v.decode("utf-8", errors="replace") for k, v in multipart_fields(request).items()}
    raise BadInputError(
        f"unsupported content type {ctype or '(none)'!r}: post a form or application/json", status=415
    )


def _pick(fields: dict[str, str], key: str) -> str | None:
    for alias in ALIASES[key]:
        value = fields.get(alias)
        if value and value.strip():
            return value.strip()
    return None


class WebformParser:
    channel = Channel.WEBFORM

    def __init__(self, honeypot_field: str = "website_url", region: str = "US") -> None:
        self.honeypot_field = honeypot_field
        self.region = region  # the business's country: how a local phone number is read

    def parse(self, request: RawRequest) -> list[InboundMessage]:
        if not request.body.strip():
            raise BadInputError("empty body: send the form fields (name, email or phone, message)")
        fields = _form_fields(request)
        if len(fields) > MAX_FIELDS:
            raise BadInputError(f"too many fields ({len(fields)}; at most {MAX_FIELDS})")
        for key, value in fields.items():
            if len(value) > MAX_FIELD_CHARS:
                raise BadInputError(
                    f"field {key!r} is too long ({len(value)} characters; at most {MAX_FIELD_CHARS})"
                )
        name = _pick(fields, "name")
        if not name:
            parts = [p for p in (_pick(fields, "first_name"), _pick(fields, "last_name")) if p]
            name = " ".join(parts) or None
        email, phone = _pick(fields, "email"), _pick(fields, "phone")
        if not email and not phone:
            raise BadInputError("missing sender: give an email or a phone number", status=422)
        usable_email, usable_phone = normalize_email(email), normalize_phone(phone, self.region)
        if not usable_email and not usable_phone:
            typed = " or ".join(repr(v) for v in (email, phone) if v)
            raise BadInputError(
                f"no way to answer: {typed} is not a valid email address or phone number", status=422
            )
        text = _pick(fields, "message") or ""
        known = {alias for aliases in ALIASES.values() for alias in aliases} | {self.honeypot_field}
        extra = {k: v for k, v in fields.items() if k not in known and v}
        # One usable handle is enough to answer; the other, as typed, stays on the card for a person.
        if email and not usable_email:
            extra["email (not valid, as typed)"] = email
        if phone and not usable_phone:
            extra["phone (not valid, as typed)"] = phone
        for key in ("service", "company"):
            if value := _pick(fields, key):
                extra[key] = value
        honeypot = fields.get(self.honeypot_field, "").strip()
        return [
            InboundMessage(
                channel=Channel.WEBFORM,
                text=text,
                received_at=datetime.now(UTC),
                raw=request.body,
                raw_content_type=request.content_type,
                sender_name=name,
                sender_email=usable_email,
                sender_phone=phone if usable_phone else None,
                subject=f"Web form: {extra['service']}" if "service" in extra else None,
                source=_pick(fields, "source") or "web form",
                referral=_pick(fields, "referral"),
                fields=extra,
                spam_reason="hidden honeypot field was filled in (a bot)" if honeypot else None,
            )
        ]

    def reply(self, instant_reply: str | None) -> HttpReply:
        return HttpReply(
            200, json.dumps({"ok": True, "message": "Thanks! We'll be in touch shortly."}), "application/json"
        )


def embeddable_form(action_url: str, business_name: str, honeypot_field: str) -> str:
    """A dependency-free HTML form a business can paste into its site (or link to)."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Contact {business_name}</title>
<style>
 body{{font:16px/1.4 system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#1d2433}}
 label{{display:block;margin:.8rem 0 .2rem;font-weight:600}}
 input,textarea,select{{width:100%;padding:.55rem;border:1px solid #c5cad3;border-radius:6px;font:inherit;box-sizing:border-box}}
 button{{margin-top:1rem;padding:.7rem 1.2rem;border:0;border-radius:6px;background:#2f6fed;color:#fff;font:inherit;cursor:pointer}}
 .hp{{position:absolute;left:-5000px}}
</style></head>
<body>
<h1>Contact {business_name}</h1>
<form method="post" action="{action_url}">
 <label for="name">Name</label><input id="name" name="name" autocomplete="name" required>
 <label for="email">Email</label><input id="email" name="email" type="email" autocomplete="email">
 <label for="phone">Phone</label><input id="phone" name="phone" type="tel" autocomplete="tel">
 <label for="message">How can we help?</label><textarea id="message" name="message" rows="5" required></textarea>
 <div class="hp" aria-hidden="true"><label for="{honeypot_field}">Leave empty</label>
  <input id="{honeypot_field}" name="{honeypot_field}" tabindex="-1" autocomplete="off"></div>
 <button type="submit">Send</button>
 <p id="status" role="status"></p>
</form>
<script>
// Without JavaScript the form posts as usual; with it, the visitor stays on the page and reads
// the answer (or what to fix) in words instead of raw JSON.
document.querySelector("form").addEventListener("submit", async (e) => {{
  e.preventDefault();
  const form = e.target, status = document.getElementById("status");
  if (!form.email.value.trim() && !form.phone.value.trim()) {{
    status.textContent = "Please give an email address or a phone number so we can answer you.";
    return;
  }}
  status.textContent = "Sending…";
  try {{
    const resp = await fetch(form.action, {{ method: "POST", body: new URLSearchParams(new FormData(form)) }});
    const body = await resp.json().catch(() => ({{}}));
    if (resp.ok) {{
      const done = document.createElement("p");
      done.textContent = body.message || "Thanks! We'll be in touch shortly.";
      form.replaceWith(done);
    }} else {{
      status.textContent = (body.error || "Something went wrong") + ". Please check and try again.";
    }}
  }} catch {{
    status.textContent = "Could not send: please check your connection and try again.";
  }}
}});
</script>
</body></html>"""


class FormLimits:
    """The web form is not a relay: a sliding window of posts per client address (IP), answered
    429 beyond WEBFORM_PER_IP_PER_HOUR, and of posts naming one email/phone per day, beyond which
    the message is still stored for the team but gets no automatic reply.

    In memory, per web process (the one process that serves /hooks/form); a restart forgets it,
    which costs at most one more window's worth."""

    def __init__(
        self,
        *,
        per_ip_per_hour: int = defaults.WEBFORM_PER_IP_PER_HOUR,
        per_address_per_day: int = defaults.WEBFORM_PER_ADDRESS_PER_DAY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_ip, self.per_address, self.clock = per_ip_per_hour, per_address_per_day, clock
        self._ips: dict[str, deque[float]] = {}
        self._addresses: dict[str, deque[float]] = {}

    @staticmethod
    def _count(book: dict[str, deque[float]], key: str, now: float, window_s: float) -> deque[float]:
        seen = book.setdefault(key, deque())
        while seen and seen[0] <= now - window_s:
            seen.popleft()
        if len(book) > 10_000:  # forget idle keys so the table never grows without bound
            for stale in [k for k, v in book.items() if not v or v[-1] <= now - window_s]:
                del book[stale]
        return seen

    def ip_retry_after(self, ip: str) -> int | None:
        """None when this IP may post now (and counts the post); else seconds until it may."""
        now = self.clock()
        seen = self._count(self._ips, ip, now, 3600.0)
        if len(seen) >= self.per_ip:
            return max(1, int(seen[0] + 3600.0 - now) + 1)
        seen.append(now)
        return None

    def address_over(self, address: str) -> bool:
        """Counts one post naming `address`; True when it is over the day's allowance."""
        now = self.clock()
        seen = self._count(self._addresses, address.lower(), now, 86400.0)
        seen.append(now)
        return len(seen) > self.per_address
