"""Team actions where a person's expectation is easy to break: amounts typed in any local style,
a Pause pressed before the first reply went out, and an opt-out the team spots by hand."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from sheepdog.app import build_services
from sheepdog.domain.models import Category, Money
from sheepdog.errors import BadInputError
from sheepdog.handlers import actions
from sheepdog.handlers.inbound import receive
from sheepdog.jobs.queue import InProcessQueue
from sheepdog.storage.tables import Contact, Lead


@pytest.mark.parametrize(
    ("typed", "amount", "currency"),
    [
        ("4500", "4500", "USD"),
        ("$4500", "4500", "USD"),
        ("4,500.00", "4500", "USD"),
        ("€45,50", "45.50", "EUR"),
        ("1.234,56", "1234.56", "USD"),
        ("£300", "300", "GBP"),
        ("300 GBP", "300", "GBP"),
    ],
)
def test_won_amounts_as_people_type_them(typed: str, amount: str, currency: str) -> None:
    assert actions.parse_amount(typed, "USD") == Money(Decimal(amount), currency)


@pytest.mark.parametrize("typed", ["NaN", "-50", "1e999999", "lots", "0"])
def test_what_is_not_an_amount_is_refused(typed: str) -> None:
    with pytest.raises(BadInputError):
        actions.parse_amount(typed, "USD")


def test_pause_before_the_first_reply_then_resume_keeps_the_follow_ups(make_settings: Any, smtp: Any) -> None:
    from tests.jobs.test_outbox_and_cadence import lead_message

    svc = build_services(
        make_settings(policy={"first_reply": {"autonomy": "L3"}}), queue=InProcessQueue(periodic=False)
    )
    svc.queue.start()
    first = receive(svc, lead_message())
    assert actions.pause(svc, first.lead_id, "Dana").ok
    assert actions.approve(svc, first.draft_id, "Dana").ok
    assert svc.queue.wait_idle()
    assert actions.resume(svc, first.lead_id, "Dana").ok
    with svc.db.session() as s:
        lead = s.get(Lead, first.lead_id)
        assert lead.first_response_at is not None
        assert lead.cadence_state == "active" and lead.cadence_next_at is not None
        assert lead.cadence_started_at == lead.first_response_at
    svc.queue.stop()
    svc.db.dispose()


def test_correcting_a_message_to_opt_out_opts_the_contact_out(svc: Any) -> None:
    from sqlalchemy import select

    from sheepdog.storage.tables import Message
    from tests.jobs.test_outbox_and_cadence import lead_message

    first = receive(svc, lead_message())
    with svc.db.session() as s:
        message_id = s.scalar(select(Message.id).where(Message.direction == "inbound"))
    assert actions.correct_triage(svc, message_id, Category.OPT_OUT, "Dana").ok
    with svc.db.session() as s:
        lead = s.get(Lead, first.lead_id)
        assert s.get(Contact, lead.contact_id).opted_out
        assert lead.cadence_state == "stopped"


def test_a_send_finishing_after_won_keeps_the_lead_won(make_settings: Any, smtp: Any) -> None:
    from sqlalchemy import select

    from sheepdog.jobs import tasks
    from sheepdog.storage.tables import Outbox
    from tests.jobs.test_outbox_and_cadence import lead_message

    svc = build_services(
        make_settings(policy={"first_reply": {"autonomy": "L3"}}), queue=InProcessQueue(periodic=False)
    )
    first = receive(svc, lead_message())
    assert actions.approve(svc, first.draft_id, "Dana").ok  # queued; the worker has not run yet
    assert actions.won(svc, first.lead_id, "Dana", Money(Decimal("4500"), "USD")).ok
    with svc.db.session() as s:
        outbox_id = s.scalar(select(Outbox.id).where(Outbox.lead_id == first.lead_id))
    tasks.send_outbox(svc, outbox_id)
    with svc.db.session() as s:
        lead = s.get(Lead, first.lead_id)
        assert lead.stage == "won" and s.get(Outbox, outbox_id).state == "sent"
    svc.db.dispose()


def test_the_service_picked_on_the_form_beats_a_word_in_the_message(svc: Any) -> None:
    """The demo lead picked 'Heat pump installation' and writes that their furnace is old: the
    brief and the email subject are about the heat pump."""
    from tests.jobs.test_outbox_and_cadence import lead_message

    first = receive(svc, lead_message())
    with svc.db.session() as s:
        lead = s.get(Lead, first.lead_id)
        from sheepdog.storage.tables import Draft

        subject = s.get(Draft, first.draft_id).subject or ""
        assert "heat pump" in lead.brief["summary"].lower()
    assert "heat pump" in subject.lower() and "furnace" not in subject.lower()
