"""Bad input on both skeleton endpoints: a 4xx with a clear message, the raw payload kept, no 500,
and what was stored before is still there."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from sheepdog.app import Runtime
from sheepdog.storage.tables import Lead, Message, RejectedPayload
from tests.conftest import fixture_bytes

TWO_MB = b"x" * (2 * 1024 * 1024)
TOO_BIG_EMAIL = b"x" * (25 * 1024 * 1024 + 1)  # channels.email.max_inbound_mb defaults to 25
BROKEN_MIME = (
    b"From: Pat <pat@example.com>\r\nSubject: broken\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="never-closed"\r\n\r\n'
    b"--never-closed\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"@@@ not base64 @@@\r\n"
)
NO_SENDER = b"Subject: who am I\r\nTo: hello@brightside.example\r\n\r\nHello, please call me back.\r\n"
NOT_EMAIL = bytes(range(256)) * 4

CASES = [
    ("/hooks/form", "application/json", b'{"name": "Pat", "email": ', 400, "malformed JSON"),
    ("/hooks/form", "application/json", b"", 400, "empty body"),
    ("/hooks/form", "application/json", TWO_MB, 413, "too large"),
    ("/hooks/form", "application/json", b'["not", "an", "object"]', 400, "must be an object"),
    ("/hooks/form", "application/json", b'{"name": "Pat", "message": "hi"}', 422, "missing sender"),
    ("/hooks/form", "text/plain", b"name=Pat", 415, "unsupported content type"),
    ("/hooks/form", "multipart/form-data; boundary=zzz", b"--zzz\r\nbroken", 422, "missing sender"),
    ("/hooks/email", "message/rfc822", b"", 400, "empty body"),
    ("/hooks/email", "message/rfc822", TOO_BIG_EMAIL, 413, "too large"),
    ("/hooks/email", "message/rfc822", NO_SENDER, 422, "no sender"),
    ("/hooks/email", "message/rfc822", NOT_EMAIL, 400, "no headers found"),
    ("/hooks/email", "message/rfc822", b"\x00\x01\x02garbage", 400, "no headers"),
]


@pytest.mark.parametrize(("path", "ctype", "body", "status", "words"), CASES)
async def test_bad_input_is_refused_clearly_and_kept(
    client: Any, runtime: Runtime, path: str, ctype: str, body: bytes, status: int, words: str
) -> None:
    ok = await client.post(
        "/hooks/form",
        data=fixture_bytes("loop", "webform__lead.json"),
        headers={"Content-Type": "application/json"},
    )
    assert ok.status == 200

    resp = await client.post(path, data=body, headers={"Content-Type": ctype})
    assert resp.status == status, await resp.text()
    message = (await resp.json())["error"]
    assert words in message

    with runtime.services.db.session() as s:
        kept = s.scalars(select(RejectedPayload)).all()
        assert len(kept) == 1 and kept[0].endpoint == path and kept[0].status == status
        assert kept[0].body == body[: len(kept[0].body)] and len(kept[0].body) <= 64 * 1024
        assert kept[0].truncated == (len(body) > 64 * 1024)
        assert s.scalar(select(func.count()).select_from(Lead)) == 1  # what was stored is still there
        assert s.scalar(select(func.count()).select_from(Message)) >= 1


async def test_broken_mime_is_stored_with_what_could_be_read(client: Any, runtime: Runtime) -> None:
    """A broken body part is not a reason to drop a customer's email: it lands, raw kept."""
    resp = await client.post("/hooks/email", data=BROKEN_MIME, headers={"Content-Type": "message/rfc822"})
    assert resp.status == 200, await resp.text()
    with runtime.services.db.session() as s:
        msg = s.scalars(select(Message)).one()
        assert msg.raw == BROKEN_MIME


async def test_emoji_and_unknown_fields_are_accepted(client: Any, runtime: Runtime) -> None:
    resp = await client.post(
        "/hooks/form",
        json={
            "name": "Zoë 🐑",
            "email": "zoe@example.com",
            "message": "🔥🔥 AC died 😭",
            "favourite_colour": "teal",
        },
    )
    assert resp.status == 200
    with runtime.services.db.session() as s:
        msg = s.scalars(select(Message)).one()
        assert msg.text == "🔥🔥 AC died 😭"
        assert msg.triage["fields"]["favourite_colour"] == "teal"


async def test_email_token_is_checked_when_configured(make_settings: Any, aiohttp_client: Any) -> None:
    from sheepdog.app import build_runtime

    rt = build_runtime(make_settings(channels={"email": {"inbound_token": "s3cret"}}))
    client = await aiohttp_client(rt.app)
    raw = fixture_bytes("loop", "email__reply_template.eml")
    assert (await client.post("/hooks/email", data=raw)).status == 401
    assert (await client.post("/hooks/email?token=wrong", data=raw)).status == 401
    assert (await client.post("/hooks/email", data=raw, headers={"X-Sheepdog-Token": "s3cret"})).status == 200
    rt.services.db.dispose()


async def test_half_an_emoji_and_nul_bytes_are_stored_not_refused(client: Any, runtime: Runtime) -> None:
    """A client that cut an emoji in half sends a lone surrogate; some send NUL. Neither is a reason
    to lose a customer (PostgreSQL refuses both in text columns, so they are cleaned on the way in)."""
    body = b'{"name": "Zo\\ud83d", "email": "zoe@example.com", "message": "AC died \\ud83d\\u0000 help"}'
    resp = await client.post("/hooks/form", data=body, headers={"Content-Type": "application/json"})
    assert resp.status == 200, await resp.text()
    with runtime.services.db.session() as s:
        msg = s.scalars(
            select(Message).where(Message.direction == "inbound")
        ).one()  # a holding reply may follow
        assert msg.text.startswith("AC died") and "\x00" not in msg.text
