"""What triage may never do, whatever it guesses: drop a referral as spam, or opt a customer out
because a sentence contains "stop". Driven through the real offline brain."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sheepdog.app import build_services
from sheepdog.domain.models import Channel, InboundMessage
from sheepdog.handlers.inbound import receive
from sheepdog.jobs.queue import InProcessQueue
from sheepdog.storage.tables import Contact, Lead


def test_a_referral_is_never_dropped(svc: Any) -> None:
    msg = InboundMessage(
        channel=Channel.WEBFORM,
        text="Maria Lopez sent me your way - we need our ducts cleaned before the baby arrives.",
        received_at=datetime.now(UTC),
        sender_name="Tom Reed",
        sender_email="tom@example.com",
    )
    result = receive(svc, msg)
    assert result.category not in ("spam", "opt_out") and result.decision == "handoff"
    with svc.db.session() as s:
        lead = s.get(Lead, result.lead_id)
        assert lead.referral == "Maria Lopez" and lead.needs_attention


@pytest.mark.parametrize(
    "text",
    [
        "Can you stop by on Thursday to look at the boiler?",
        "Please don't stop the maintenance plan, we want to renew",
        "Maria sent me your way",
        "The dripping won't stop, can someone come?",
    ],
)
def test_stop_in_a_sentence_never_opts_anyone_out(svc: Any, text: str) -> None:
    msg = InboundMessage(
        channel=Channel.EMAIL,
        text=text,
        received_at=datetime.now(UTC),
        sender_email="ann@example.com",
        provider_message_id=f"<{abs(hash(text))}@example.com>",
    )
    result = receive(svc, msg)
    assert result.decision != "drop"
    with svc.db.session() as s:
        assert s.query(Contact).one().opted_out is False


def test_opening_the_telegram_chat_gets_a_greeting_not_a_guess(make_settings: Any, smtp: Any) -> None:
    from sheepdog.channels.telegram_customer import TelegramCustomerParser
    from sheepdog.domain.models import RawRequest
    from sheepdog.storage.tables import Draft
    from tests.conftest import fixture_bytes

    settings = make_settings(
        channels={"telegram": {"enabled": True, "bot_token": "1:test", "secret_token": "s"}}
    )
    services = build_services(settings, queue=InProcessQueue(periodic=False))
    raw = RawRequest(
        "POST",
        "http://127.0.0.1:8080/hooks/telegram/customer",
        {"x-telegram-bot-api-secret-token": "s"},
        fixture_bytes("telegram", "message__start_deep_link.json"),
        content_type="application/json",
    )
    result = receive(services, TelegramCustomerParser("s").parse(raw)[0])
    with services.db.session() as s:
        draft = s.get(Draft, result.draft_id)
        assert "What can we help you with?" in draft.body and "pass this on" not in draft.body
        assert s.get(Lead, result.lead_id).source == "fb_spring_ad"
    services.db.dispose()
