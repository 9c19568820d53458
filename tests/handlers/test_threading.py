"""Email threading: In-Reply-To/References first, then subject + sender for clients that drop them."""

from __future__ import annotations

from email import message_from_bytes, policy
from typing import Any

from sqlalchemy import func, select

from sheepdog.app import build_services
from sheepdog.channels.email import parse_email_bytes
from sheepdog.handlers.inbound import receive
from sheepdog.jobs.queue import InProcessQueue
from sheepdog.storage.tables import Conversation
from tests.conftest import fixture_bytes


def reply_without_headers(subject: str, message_id: str) -> bytes:
    """The stored lead reply, as a client that drops In-Reply-To/References would send it."""
    raw = fixture_bytes("loop", "email__reply_template.eml").decode().format(subject=subject, in_reply_to="<x@y>")
    msg = message_from_bytes(raw.encode(), policy=policy.default)
    del msg["In-Reply-To"]
    del msg["References"]
    msg.replace_header("Message-ID", message_id)
    return msg.as_bytes()


def test_reply_without_headers_threads_by_subject_and_sender(make_settings: Any, smtp: Any) -> None:
    svc = build_services(make_settings(), queue=InProcessQueue(periodic=False))
    first = receive(svc, parse_email_bytes(reply_without_headers("Heat pump quote", "<a1@mail.example.com>")))
    # The fixture's subject line is "Re: {subject}", so it reads as a reply to "Heat pump quote".
    second = receive(svc, parse_email_bytes(reply_without_headers("Heat pump quote", "<a2@mail.example.com>")))
    assert second.conversation_id == first.conversation_id and not second.new_lead

    raw = fixture_bytes("loop", "email__reply_template.eml").decode().format(subject="x", in_reply_to="<x@y>")
    msg = message_from_bytes(raw.encode(), policy=policy.default)
    for header in ("In-Reply-To", "References"):
        del msg[header]
    msg.replace_header("Subject", "Heat pump quote")  # same words, but not a reply: a new conversation
    msg.replace_header("Message-ID", "<a3@mail.example.com>")
    third = receive(svc, parse_email_bytes(msg.as_bytes()))
    assert third.conversation_id != first.conversation_id
    with svc.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Conversation)) == 2
    svc.db.dispose()
