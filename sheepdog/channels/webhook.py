"""Generic JSON webhook at /hooks/inbound/<source> (Facebook, Instagram, Google Business, relays).

Each source has its own secret and a field mapping. The sender signs
``<timestamp>.<raw body>`` with HMAC-SHA256 and sends ``X-Sheepdog-Timestamp`` (unix seconds)
and ``X-Sheepdog-Signature: sha256=<hex>``; a request outside SIGNATURE_WINDOW_S is a replay.

A mapping value is a path into the payload: dots for keys (``lead.email``), numbers for list
items (``values.0``) and ``[key=value]`` to pick the list item whose key has that value, e.g.
``field_data[name=email].values.0`` for a Facebook lead or
``user_column_data[column_id=EMAIL].string_value`` for a Google Ads lead form.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sheepdog import safejson
from sheepdog.channels.base import HttpReply
from sheepdog.defaults import SIGNATURE_WINDOW_S
from sheepdog.domain.models import Channel, InboundMessage, RawRequest
from sheepdog.errors import BadInputError, ReplayError, SignatureError

SIGNATURE_HEADER = "x-sheepdog-signature"
TIMESTAMP_HEADER = "x-sheepdog-timestamp"
MAPPABLE = (
    "name",
    "first_name",
    "last_name",
    "email",
    "phone",
    "text",
    "subject",
    "external_id",
    "message_id",
    "referral",
    "source",
    "service",
    "company",
)
_STEP = re.compile(r"([^.\[\]]+)|\[([^=\]]+)=([^\]]*)\]")


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The signature a sender puts in X-Sheepdog-Signature (also used by the tests and docs)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def resolve(data: Any, path: str) -> Any:
    """Follow a mapping path into a JSON value; None when any step is missing."""
    cur = data
    for key, sel_key, sel_value in _STEP.findall(path):
        if key:
            if isinstance(cur, dict):
                cur = cur.get(key)
            elif isinstance(cur, list) and key.isdigit() and int(key) < len(cur):
                cur = cur[int(key)]
            else:
                return None
        else:
            if not isinstance(cur, list):
                return None
            cur = next((i for i in cur if isinstance(i, dict) and str(i.get(sel_key)) == sel_value), None)
        if cur is None:
            return None
    return cur


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


class WebhookParser:
    """One parser for every configured source; the source comes from the path."""

    channel = Channel.WEBHOOK

    def __init__(
        self,
        sources: dict[str, tuple[str, dict[str, str]]],
        *,
        window_s: int = SIGNATURE_WINDOW_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        for name, (_, mapping) in sources.items():
            unknown = set(mapping) - set(MAPPABLE)
            if unknown:
                raise ValueError(f"webhook source {name!r}: unknown mapping keys {sorted(unknown)}")
        self.sources = sources
        self.window_s = window_s
        self.clock = clock

    def _verify(self, secret: str, request: RawRequest) -> None:
        signature, stamp = request.header(SIGNATURE_HEADER), request.header(TIMESTAMP_HEADER)
        if not signature or not stamp:
            raise SignatureError("missing X-Sheepdog-Signature or X-Sheepdog-Timestamp header")
        if not hmac.compare_digest(sign(secret, stamp, request.body).encode(), signature.strip().encode()):
            raise SignatureError("wrong signature: expected sha256=HMAC-SHA256(secret, '<timestamp>.<body>')")
        try:
            age = self.clock() - int(stamp)
        except ValueError as exc:
            raise SignatureError("X-Sheepdog-Timestamp must be unix seconds") from exc
        if abs(age) > self.window_s:
            raise ReplayError(
                f"timestamp is {int(age)}s off; requests older than {self.window_s}s are replays"
            )

    def parse(self, request: RawRequest) -> list[InboundMessage]:
        source = request.path_params.get("source", "")
        if source not in self.sources:
            raise BadInputError(
                f"unknown webhook source {source!r}: add it under channels.webhook.sources", 404
            )
        secret, mapping = self.sources[source]
        self._verify(secret, request)
        data = safejson.loads(request.body)
        if not isinstance(data, dict | list):
            raise BadInputError("the payload must be a JSON object or array", 422)
        got = {key: _text(resolve(data, path)) for key, path in mapping.items()}
        name = (
            got.get("name") or " ".join(p for p in (got.get("first_name"), got.get("last_name")) if p) or None
        )
        email, phone, external = got.get("email"), got.get("phone"), got.get("external_id")
        if not (email or phone or external):
            found = ", ".join(f"{k}={v!r}" for k, v in got.items() if v) or "nothing"
            raise BadInputError(
                f"no sender in the payload: the mapping for {source!r} found no email, phone or external_id "
                f"(found {found})",
                422,
            )
        # without a message id, identical bodies are the same delivery (a relay retrying)
        dedup = got.get("message_id") or hashlib.sha256(request.body).hexdigest()[:32]
        fields = {k: v for k in ("service", "company") if (v := got.get(k))}
        return [
            InboundMessage(
                channel=Channel.WEBHOOK,
                text=got.get("text") or "",
                received_at=datetime.now(UTC),
                raw=request.body,
                raw_content_type="application/json",
                sender_name=name,
                sender_email=email,
                sender_phone=phone,
                sender_handle=f"{source}:{external}" if external else None,
                subject=got.get("subject"),
                provider_message_id=f"{source}:{dedup}",
                source=got.get("source") or source,
                referral=got.get("referral"),
                fields=fields,
            )
        ]

    def reply(self, instant_reply: str | None) -> HttpReply:
        return HttpReply(200, '{"ok": true}', "application/json")
