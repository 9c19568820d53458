"""Inbound bodies are read to the end, whatever the network split them into, and refused with 413
only past each endpoint's limit: mail with phone photos is taken whole, JSON/form hooks stop at 1 MB.
Every request goes through the real aiohttp app on a test server."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import func, select

from sheepdog.app import Runtime, build_runtime
from sheepdog.storage.tables import Lead, Message, RejectedPayload
from tests.conftest import fixture_bytes

KEPT = 64 * 1024


def email_with_photo(photo_bytes: int) -> tuple[bytes, bytes]:
    """A phone-style mail: a short text and one JPEG attachment of `photo_bytes` random bytes."""
    photo = os.urandom(photo_bytes)
    msg = EmailMessage()
    msg["From"] = "Jordan Ellis <jordan.ellis@example.com>"
    msg["To"] = "hello@brightside.example"
    msg["Subject"] = "AC not cooling"
    msg["Message-ID"] = f"<photo-{photo_bytes}@mail.example.com>"
    msg.set_content("Hi, the AC blows warm air since yesterday. Photo of the unit attached.\n\nJordan")
    msg.add_attachment(photo, maintype="image", subtype="jpeg", filename="IMG_0412.jpg")
    return msg.as_bytes(), photo


async def trickle(data: bytes, piece: int = 8 * 1024) -> AsyncIterator[bytes]:
    """A body with no Content-Length: aiohttp's client sends it chunked, piece by piece."""
    for i in range(0, len(data), piece):
        yield data[i : i + piece]


@pytest.mark.parametrize("photo_kb", [900, 6 * 1024])
async def test_an_email_with_a_photo_is_stored_whole(client: Any, runtime: Runtime, photo_kb: int) -> None:
    """900 KB was cut to what happened to be buffered; 6 MB is over the app's client_max_size."""
    raw, photo = email_with_photo(photo_kb * 1024)
    assert len(raw) > photo_kb * 1024
    resp = await client.post("/hooks/email", data=raw, headers={"Content-Type": "message/rfc822"})
    assert resp.status == 200, await resp.text()
    with runtime.services.db.session() as s:
        msg = s.scalars(select(Message)).one()
        assert msg.raw == raw  # byte for byte
        assert msg.text.startswith("Hi, the AC blows warm air")
        assert [(a["filename"], a["size"]) for a in msg.attachments] == [("IMG_0412.jpg", len(photo))]
        assert s.scalar(select(func.count()).select_from(RejectedPayload)) == 0


async def test_a_chunked_email_without_content_length_is_stored_whole(client: Any, runtime: Runtime) -> None:
    raw, photo = email_with_photo(900 * 1024)
    resp = await client.post("/hooks/email", data=trickle(raw), headers={"Content-Type": "message/rfc822"})
    assert resp.status == 200, await resp.text()
    with runtime.services.db.session() as s:
        msg = s.scalars(select(Message)).one()
        assert msg.raw == raw
        assert msg.attachments[0]["size"] == len(photo)


async def test_a_2mb_chunked_form_body_gets_413_and_is_kept(client: Any, runtime: Runtime) -> None:
    ok = await client.post(
        "/hooks/form",
        data=fixture_bytes("loop", "webform__lead.json"),
        headers={"Content-Type": "application/json"},
    )
    assert ok.status == 200
    body = b'{"name": "Pat", "email": "pat@example.com", "message": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    resp = await client.post("/hooks/form", data=trickle(body), headers={"Content-Type": "application/json"})
    assert resp.status == 413, await resp.text()
    error = (await resp.json())["error"]
    assert "too large" in error and "1 MB" in error
    with runtime.services.db.session() as s:
        kept = s.scalars(select(RejectedPayload)).one()
        assert (kept.endpoint, kept.status, kept.truncated) == ("/hooks/form", 413, True)
        assert kept.body == body[:KEPT]
        assert s.scalar(select(func.count()).select_from(Lead)) == 1  # the earlier lead is untouched
        inbound = select(func.count()).select_from(Message).where(Message.direction == "inbound")
        assert s.scalar(inbound) == 1


async def test_an_800kb_json_form_is_accepted(client: Any, runtime: Runtime) -> None:
    """Many backends escape non-ASCII in JSON (\\uXXXX, 6 bytes a letter): a long questionnaire in
    Russian is 800 KB while every field stays under the form's per-field limit."""
    answer = ("Кондиционер не охлаждает, дует тёплым воздухом. " * 200)[:9_800].strip()
    fields = {f"question_{i}": answer for i in range(1, 17)}
    body = json.dumps({"name": "Павел", "email": "pavel@example.com", "message": answer, **fields}).encode()
    assert 780 * 1024 < len(body) < 1024 * 1024
    resp = await client.post("/hooks/form", data=body, headers={"Content-Type": "application/json"})
    assert resp.status == 200, await resp.text()
    with runtime.services.db.session() as s:
        msg = s.scalars(select(Message).where(Message.direction == "inbound")).one()
        assert msg.raw == body
        assert msg.text == answer and msg.triage["fields"]["question_16"] == answer


async def test_the_email_limit_is_a_setting(make_settings: Any, aiohttp_client: Any) -> None:
    """Over channels.email.max_inbound_mb: 413 with or without Content-Length, the head kept."""
    rt = build_runtime(make_settings(channels={"email": {"max_inbound_mb": 1}}))
    try:
        client = await aiohttp_client(rt.app)
        raw, _ = email_with_photo(1100 * 1024)
        declared = await client.post("/hooks/email", data=raw, headers={"Content-Type": "message/rfc822"})
        chunked = await client.post(
            "/hooks/email", data=trickle(raw), headers={"Content-Type": "message/rfc822"}
        )
        for resp in (declared, chunked):
            assert resp.status == 413
            assert "/hooks/email accepts at most 1 MB" in (await resp.json())["error"]
        with rt.services.db.session() as s:
            kept = s.scalars(select(RejectedPayload)).all()
            assert [(k.status, k.body, k.truncated) for k in kept] == [(413, raw[:KEPT], True)] * 2
            assert s.scalar(select(func.count()).select_from(Message)) == 0
    finally:
        rt.services.db.dispose()
