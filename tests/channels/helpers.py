"""Zulip-style helpers: post a stored real payload to a parser and assert what happened."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sheepdog.channels.base import InboundParser
from sheepdog.domain.models import InboundMessage, RawRequest
from sheepdog.errors import BadInputError

FIXTURES = Path(__file__).parent.parent / "fixtures"


def load(platform: str, name: str) -> bytes:
    return (FIXTURES / platform / name).read_bytes()


def raw(
    body: bytes,
    *,
    url: str = "https://bot.example.com/hooks/x",
    headers: dict[str, str] | None = None,
    content_type: str = "application/json",
    path_params: dict[str, str] | None = None,
) -> RawRequest:
    hdrs = {k.lower(): v for k, v in (headers or {}).items()}
    return RawRequest("POST", url, hdrs, body, {}, path_params or {}, content_type)


def check_event(parser: InboundParser, request: RawRequest, **expected: Any) -> InboundMessage:
    """Parse one stored payload; exactly one message whose fields equal ``expected``."""
    messages = parser.parse(request)
    assert len(messages) == 1, f"expected one message, got {messages!r}"
    msg = messages[0]
    for key, value in expected.items():
        assert getattr(msg, key) == value, f"{key}: {getattr(msg, key)!r} != {value!r}"
    assert msg.raw == request.body  # the raw payload is always kept
    return msg


def expect_noop(parser: InboundParser, request: RawRequest) -> None:
    """An event that must do nothing: accepted (200) and no message."""
    assert parser.parse(request) == []


def expect_refused(parser: InboundParser, request: RawRequest, status: int) -> BadInputError:
    with pytest.raises(BadInputError) as info:
        parser.parse(request)
    assert info.value.status == status, f"status {info.value.status} != {status}: {info.value}"
    return info.value


def parse_or_refuse(parser: InboundParser, request: RawRequest) -> list[InboundMessage]:
    """What the web layer relies on: parse() returns messages or raises a BadInputError, nothing else."""
    try:
        return parser.parse(request)
    except BadInputError as exc:
        assert 400 <= exc.status < 500
        return []
