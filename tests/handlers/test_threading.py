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
    raw = (
        fixture_bytes("loop", "email__reply_template.eml")
        .decode()
        .format(subject=subject, in_reply_to="<x@y>")
    )
    msg = message_from_bytes(raw.encode(), policy=policy.default)
    del msg["In-Reply-To"]
    del msg["References"]
    msg.replace_header("Message-ID", message_id)
    return msg.as_bytes()


def test_reply_without_headers_threads_by_subject_and_sender(make_settings: Any, smtp: Any) -> None:
    svc = build_services(make_settings(), queue=InProcessQueue(periodic=False))
    first = receive(svc, parse_email_bytes(reply_without_headers("Heat pump quote", "<a1@mail.example.com>")))
    # The fixture's subject line is "Re: {subject}", so it reads as a reply to "Heat pump quote".
    second = receive(
        svc, parse_email_bytes(reply_without_headers("Heat pump quote", "<a2@mail.example.com>"))
    )
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


def test_a_reply_on_the_channel_we_answered_on_joins_that_lead(make_settings: Any, smtp: Any) -> None:
    """A web-form lead answered by email writes back from a client that drops every header and
    changes the subject: it is still the same lead, and its follow-ups stop."""
    from datetime import UTC, datetime

    from sheepdog.domain.models import Channel, InboundMessage
    from sheepdog.storage.tables import Lead
    from tests.jobs.test_outbox_and_cadence import lead_message

    svc = build_services(make_settings(), queue=InProcessQueue(periodic=False))
    svc.queue.start()
    first = receive(svc, lead_message())  # answered by email at once (L4)
    assert svc.queue.wait_idle()
    later = InboundMessage(
        channel=Channel.EMAIL,
        text="Sorry, forgot to say: it's a two storey house.",
        received_at=datetime.now(UTC),
        sender_email="Jordan.Ellis@example.com",
        subject="two storey",
        provider_message_id="<no-headers-1@mail.example.com>",
    )
    second = receive(svc, later)
    assert second.lead_id == first.lead_id and not second.new_lead
    with svc.db.session() as s:
        assert s.get(Lead, first.lead_id).cadence_state == "stopped"
    svc.queue.stop()
    svc.db.dispose()


def test_writing_again_elsewhere_stops_the_other_leads_follow_ups(make_settings: Any, smtp: Any) -> None:
    from datetime import UTC, datetime

    from sheepdog.domain.models import Channel, InboundMessage
    from sheepdog.storage.tables import Lead
    from tests.jobs.test_outbox_and_cadence import lead_message

    svc = build_services(make_settings(), queue=InProcessQueue(periodic=False))
    svc.queue.start()
    first = receive(svc, lead_message())
    assert svc.queue.wait_idle()
    text = InboundMessage(
        channel=Channel.SMS,
        text="hi its Jordan, can u also look at our water heater?",
        received_at=datetime.now(UTC),
        sender_phone="+15125550199",
        provider_message_id="SMwrote-again-1",
    )
    second = receive(svc, text)
    assert second.lead_id != first.lead_id  # a new conversation on a channel we never used with them
    with svc.db.session() as s:
        lead = s.get(Lead, first.lead_id)
        assert lead.cadence_state == "stopped" and "wrote again" in lead.cadence_stop_reason
    svc.queue.stop()
    svc.db.dispose()
