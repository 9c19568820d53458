"""A failed send reads as a sentence on the card ('could not reach the mail server at host:port'),
never as an exception's repr; the event log keeps the full error. Real senders against closed
ports and a real SMTP server that answers with an error."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest
from sqlalchemy import select

from sheepdog.app import build_services
from sheepdog.bot.cards import lead_cards
from sheepdog.channels.base import Outbound
from sheepdog.channels.email import SmtpSender
from sheepdog.channels.sms_twilio import TwilioSmsSender
from sheepdog.domain.models import Channel
from sheepdog.errors import SendError
from sheepdog.handlers.inbound import receive
from sheepdog.jobs.queue import InProcessQueue
from sheepdog.jobs.tasks import describe_send_error
from sheepdog.storage.tables import Event, Lead, Outbox
from tests.conftest import free_port
from tests.jobs.test_outbox_and_cadence import lead_message

REPR = re.compile(r"\w+Error\(|ConnectionKey|\[Errno")


def _raised(coro: Any) -> SendError:
    with pytest.raises(SendError) as info:
        asyncio.run(coro)
    return info.value


def test_an_unreachable_mail_server_is_said_in_words(make_settings: Any) -> None:
    port = free_port()  # nothing listens here
    settings = make_settings(channels={"email": {"smtp": {"port": port}}})
    sender = SmtpSender(
        "127.0.0.1", port, from_address="hello@brightside.example", from_name="B", timeout_s=5
    )
    exc = _raised(sender.send(Outbound(1, Channel.EMAIL, "hi", to_email="pat@example.com", subject="x")))
    assert describe_send_error(exc, Channel.EMAIL, settings) == (
        f"could not reach the mail server at 127.0.0.1:{port} (connection refused)"
    )


def test_an_unreachable_twilio_is_said_in_words(make_settings: Any) -> None:
    port = free_port()
    settings = make_settings()
    sender = TwilioSmsSender(
        "AC" + "0" * 32, "token", "+15125550100", api_base_url=f"http://127.0.0.1:{port}", timeout_s=5
    )
    exc = _raised(sender.send(Outbound(1, Channel.SMS, "hi", to_phone="+15125550199")))
    assert "ClientConnectorError(" in str(exc)  # what the card used to show
    shown = describe_send_error(exc, Channel.SMS, settings)
    assert shown == f"could not reach Twilio at 127.0.0.1:{port} (connection refused)"


def test_other_errors_stay_short(make_settings: Any) -> None:
    settings = make_settings()
    assert describe_send_error(ValueError("boom " * 200), Channel.EMAIL, settings) == (
        "unexpected error from the email sender (ValueError); see the event log"
    )
    sender = SmtpSender("127.0.0.1", 1, from_address="hello@brightside.example", from_name="B")
    exc = _raised(sender.send(Outbound(1, Channel.EMAIL, "hi")))  # no address: the sender's own words
    assert describe_send_error(exc, Channel.EMAIL, settings) == "no email address to send to"


def test_the_card_says_it_in_words_and_the_event_log_keeps_it_all(make_settings: Any) -> None:
    port = free_port()
    svc = build_services(
        make_settings(channels={"email": {"smtp": {"port": port}}}), queue=InProcessQueue(periodic=False)
    )
    svc.queue.start()
    try:
        lead_id = receive(svc, lead_message()).lead_id  # the instant reply is sent automatically
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with svc.db.session() as s:
                row = s.scalars(select(Outbox)).first()
                if row is not None and row.state == "queued" and row.last_error:
                    break
            time.sleep(0.05)
        with svc.db.session() as s:
            row = s.scalars(select(Outbox)).one()
            shown = f"could not reach the mail server at 127.0.0.1:{port} (connection refused)"
            assert row.last_error == shown
            draft = next(c for c in lead_cards(s, lead_id, "America/Chicago") if c.kind == "draft")
            assert f"not sent yet: {shown}; will retry (" in draft.status
            assert not REPR.search(draft.status)
            retry = s.scalars(select(Event).where(Event.kind == "send_retry")).first()
            assert retry is not None
            assert f"Error connecting to 127.0.0.1 on port {port}" in retry.data["error"]  # the full error
            assert s.get(Lead, lead_id).needs_attention is None or not REPR.search(
                s.get(Lead, lead_id).needs_attention
            )
    finally:
        svc.queue.stop()
        svc.db.dispose()


def test_a_refusal_keeps_the_servers_reply(make_settings: Any, smtp: Any) -> None:
    recorder, _ = smtp
    recorder.fail_with = ["550 5.1.1 No such user here"]
    svc = build_services(make_settings(), queue=InProcessQueue(periodic=False))
    svc.queue.start()
    try:
        lead_id = receive(svc, lead_message()).lead_id
        assert svc.queue.wait_idle(timeout=15)
        with svc.db.session() as s:
            lead = s.get(Lead, lead_id)
            assert lead.needs_attention == "send failed: the mail server answered 550 5.1.1 No such user here"
            failed = s.scalars(select(Event).where(Event.kind == "send_failed")).one()
            assert failed.data["error"] == "SMTP 550: 5.1.1 No such user here"
    finally:
        svc.queue.stop()
        svc.db.dispose()
