"""The outbox sends exactly once, retries transient failures, posts persistent ones to the
thread; the cadence clock follows up at 24 h and suggests a final touch at 72 h."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from sheepdog.app import build_services
from sheepdog.bot.cards import lead_cards
from sheepdog.handlers.inbound import receive
from sheepdog.jobs import tasks
from sheepdog.jobs.queue import InProcessQueue
from sheepdog.storage.tables import Draft, Event, Lead, Outbox
from tests.conftest import fixture_bytes


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def lead_message() -> Any:
    from sheepdog.channels.webform import WebformParser
    from sheepdog.domain.models import RawRequest

    body = fixture_bytes("loop", "webform__lead.json")
    raw = RawRequest("POST", "http://x/hooks/form", {}, body, content_type="application/json")
    return WebformParser().parse(raw)[0]


def services_with(make_settings: Any, **overrides: Any) -> Any:
    svc = build_services(make_settings(**overrides), queue=InProcessQueue(periodic=False))
    svc.queue.start()
    return svc


def test_transient_failure_is_retried_and_sent_once(make_settings: Any, smtp: Any) -> None:
    recorder, _ = smtp
    recorder.fail_with = ["451 4.3.0 Mail server temporarily unavailable"]
    svc = services_with(make_settings)
    result = receive(svc, lead_message())
    assert svc.queue.wait_idle(timeout=15)
    import time

    deadline = time.monotonic() + 10
    while not recorder.messages and time.monotonic() < deadline:
        time.sleep(0.1)
    svc.queue.wait_idle(timeout=5)
    assert len(recorder.messages) == 1
    with svc.db.session() as s:
        row = s.scalars(select(Outbox)).one()
        assert row.state == "sent" and row.attempts == 2
        kinds = [e.kind for e in s.scalars(select(Event).where(Event.lead_id == result.lead_id))]
        assert "send_retry" in kinds and kinds.count("sent") == 1
    svc.queue.stop()
    svc.db.dispose()


def test_permanent_failure_is_posted_to_the_thread(make_settings: Any, smtp: Any) -> None:
    recorder, _ = smtp
    recorder.fail_with = ["550 5.1.1 No such user here"]
    svc = services_with(make_settings)
    result = receive(svc, lead_message())
    assert svc.queue.wait_idle(timeout=15)
    with svc.db.session() as s:
        row = s.scalars(select(Outbox)).one()
        assert row.state == "failed" and row.attempts == 1 and "550" in row.last_error
        lead = s.get(Lead, result.lead_id)
        assert lead.needs_attention.startswith("send failed: ")
        cards = lead_cards(s, lead.id, "America/Chicago")
        draft = next(c for c in cards if c.kind == "draft")
        assert "failed to send by email" in draft.status and "550" in draft.status
    assert recorder.messages == []
    svc.queue.stop()
    svc.db.dispose()


def test_speed_to_lead_cadence_follows_up_then_suggests_a_final_touch(make_settings: Any, smtp: Any) -> None:
    recorder, _ = smtp
    start = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)  # 10:00 in Chicago
    svc = services_with(make_settings)
    clock = Clock(start)
    svc.clock = clock
    msg = lead_message()
    msg.received_at = start
    result = receive(svc, msg)
    svc.queue.wait_idle()
    assert len(recorder.messages) == 1  # the instant reply (L4)

    clock.at = start + timedelta(hours=23)
    assert tasks.cadence_tick(svc) == 0
    clock.at = start + timedelta(hours=24, minutes=1)
    assert tasks.cadence_tick(svc) == 1
    assert tasks.cadence_tick(svc) == 0  # never the same touch twice
    svc.queue.wait_idle()
    assert len(recorder.messages) == 2
    follow_up = recorder.messages[1]
    assert follow_up["In-Reply-To"] is None or follow_up["In-Reply-To"] != follow_up["Message-ID"]

    clock.at = start + timedelta(hours=72, minutes=1)
    assert tasks.cadence_tick(svc) == 1
    svc.queue.wait_idle()
    assert len(recorder.messages) == 2  # the final outreach waits for approval
    with svc.db.session() as s:
        final = s.scalars(select(Draft).where(Draft.purpose == "final_outreach")).one()
        assert final.state == "pending" and "always waits for approval" in " ".join(final.reasons)
        lead = s.get(Lead, result.lead_id)
        assert lead.cadence_state == "done" and lead.cadence_next_at is None
    svc.queue.stop()
    svc.db.dispose()


def test_quiet_hours_defer_a_touch_to_the_morning(make_settings: Any, smtp: Any) -> None:
    start = datetime(2026, 11, 25, 3, 30, tzinfo=UTC)  # 21:30 in Chicago: quiet
    svc = services_with(make_settings)
    svc.clock = Clock(start)
    msg = lead_message()
    msg.received_at = start
    result = receive(svc, msg)  # the instant reply answers them at once (it is not a cadence touch)
    assert svc.queue.wait_idle()
    svc.clock.at = start + timedelta(hours=24, minutes=5)
    assert tasks.cadence_tick(svc) == 0
    with svc.db.session() as s:
        lead = s.get(Lead, result.lead_id)
        local = lead.cadence_next_at.astimezone(__import__("zoneinfo").ZoneInfo("America/Chicago"))
        assert local.hour == 8 and local.minute == 0
    svc.queue.stop()
    svc.db.dispose()


def test_a_quote_switches_speed_to_lead_to_the_post_quote_cadence(make_settings: Any, smtp: Any) -> None:
    from sheepdog.domain.models import Stage
    from sheepdog.handlers import actions

    start = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)  # Tue 10:00 in Chicago
    svc = services_with(make_settings)
    svc.clock = Clock(start)
    msg = lead_message()
    msg.received_at = start
    result = receive(svc, msg)
    assert svc.queue.wait_idle()
    actions.set_stage(svc, result.lead_id, Stage.QUOTED, "Dana")
    with svc.db.session() as s:
        lead = s.get(Lead, result.lead_id)
        assert (lead.cadence, lead.cadence_state, lead.cadence_step) == ("post_quote", "active", 0)
        assert lead.cadence_next_at == start + timedelta(days=2)  # day 2, same local time
        kinds = [e.kind for e in s.scalars(select(Event).where(Event.lead_id == lead.id))]
        assert "cadence_switched" in kinds
    svc.clock.at = start + timedelta(days=2, minutes=1)
    assert tasks.cadence_tick(svc) == 1
    assert svc.queue.wait_idle()
    with svc.db.session() as s:
        touch = s.scalars(select(Draft).where(Draft.purpose != "first_reply")).one()
        assert touch.purpose == "quote_follow_up" and "still interested" not in touch.body.lower()
    svc.queue.stop()
    svc.db.dispose()


def test_json_fixture_is_what_the_test_posts() -> None:
    assert json.loads(fixture_bytes("loop", "webform__lead.json"))["name"] == "Jordan Ellis"


def test_pricing_question_untouched_for_15_minutes_escalates_once(make_settings: Any, smtp: Any) -> None:
    from sheepdog.domain.models import Channel, InboundMessage

    start = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
    svc = services_with(make_settings)
    svc.clock = Clock(start)
    msg = lead_message()
    msg.received_at = start
    first = receive(svc, msg)
    assert svc.queue.wait_idle()  # the instant reply went out by email
    # The lead asks what it costs, from a mail client that drops In-Reply-To: a pricing question.
    question = InboundMessage(
        channel=Channel.EMAIL,
        text="How much would the heat pump cost for our house?",
        received_at=start,
        sender_email="jordan.ellis@example.com",
        subject="Re: Thanks for contacting Brightside Heating & Cooling",
        provider_message_id="<pricing-1@mail.example.com>",
    )
    receive(svc, question)
    svc.clock.at = start + timedelta(minutes=14)
    assert tasks.sla_check(svc) == 0
    svc.clock.at = start + timedelta(minutes=16)
    assert tasks.sla_check(svc) == 1
    assert tasks.sla_check(svc) == 0  # once, not every minute
    with svc.db.session() as s:
        esc = s.scalars(select(Event).where(Event.kind == "sla_escalated")).all()
        assert {e.lead_id for e in esc} == {first.lead_id}
        assert esc[0].data["reason"].startswith("handoff:") and "pricing" in esc[0].data["why"]
    svc.queue.stop()
    svc.db.dispose()


def test_a_claimed_lead_is_not_escalated_and_an_unclaimed_one_is(make_settings: Any, smtp: Any) -> None:
    from sheepdog.handlers import actions

    start = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
    svc = services_with(make_settings, policy={"first_reply": {"autonomy": "L3"}})
    svc.clock = Clock(start)
    msg = lead_message()
    msg.received_at = start
    lead = receive(svc, msg).lead_id
    svc.clock.at = start + timedelta(minutes=31)
    assert tasks.sla_check(svc) == 1
    actions.claim(svc, lead, "Ali")
    svc.clock.at = start + timedelta(minutes=90)
    assert tasks.sla_check(svc) == 0
    svc.queue.stop()
    svc.db.dispose()


def test_follow_ups_count_from_the_first_reply_that_went_out(make_settings: Any, smtp: Any) -> None:
    """A first reply held for approval for 30 h: no 'follow-up' before it, and 24 h after it."""
    from sheepdog.handlers import actions

    recorder, _ = smtp
    start = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
    svc = services_with(make_settings, policy={"first_reply": {"autonomy": "L3"}})
    svc.clock = Clock(start)
    msg = lead_message()
    msg.received_at = start
    result = receive(svc, msg)
    svc.clock.at = start + timedelta(hours=30)
    assert tasks.cadence_tick(svc) == 0  # nothing was sent yet, so there is nothing to follow up
    actions.approve(svc, result.draft_id, "Dana")
    assert svc.queue.wait_idle()
    assert len(recorder.messages) == 1
    with svc.db.session() as s:
        lead = s.get(Lead, result.lead_id)
        assert lead.cadence_next_at == start + timedelta(hours=54)
    svc.clock.at = start + timedelta(hours=53)
    assert tasks.cadence_tick(svc) == 0
    svc.clock.at = start + timedelta(hours=54, minutes=1)
    assert tasks.cadence_tick(svc) == 1
    svc.queue.stop()
    svc.db.dispose()


def test_a_queued_row_whose_job_was_lost_is_sent_after_a_restart(make_settings: Any, smtp: Any) -> None:
    """The in-process queue lives in memory: a restart must not strand what was waiting to go out."""
    recorder, _ = smtp
    settings = make_settings()
    first = build_services(settings, queue=InProcessQueue(periodic=False))  # never started: jobs vanish
    receive(first, lead_message())
    with first.db.session() as s:
        row = s.scalars(select(Outbox)).one()
        assert row.state == "queued"
        row.created_at = datetime.now(UTC) - timedelta(minutes=5)
    first.db.dispose()

    restarted = build_services(settings, queue=InProcessQueue(periodic=True))
    restarted.queue.start()
    import time

    deadline = time.monotonic() + 10
    while not recorder.messages and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(recorder.messages) == 1
    restarted.queue.stop()
    restarted.db.dispose()


def test_a_quote_withdraws_the_touch_waiting_for_approval(make_settings: Any, smtp: Any) -> None:
    from sheepdog.domain.models import Stage
    from sheepdog.handlers import actions

    recorder, _ = smtp
    start = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
    svc = services_with(make_settings)
    svc.clock = Clock(start)
    msg = lead_message()
    msg.received_at = start
    lead_id = receive(svc, msg).lead_id
    assert svc.queue.wait_idle()
    svc.clock.at = start + timedelta(hours=24, minutes=1)
    tasks.cadence_tick(svc)
    assert svc.queue.wait_idle()  # the tick queues the touch; a worker writes it
    svc.clock.at = start + timedelta(hours=72, minutes=1)
    tasks.cadence_tick(svc)
    assert svc.queue.wait_idle()
    with svc.db.session() as s:
        final = s.scalars(select(Draft).where(Draft.purpose == "final_outreach")).one()
        assert final.state == "pending"
    actions.set_stage(svc, lead_id, Stage.QUOTED, "Dana")
    with svc.db.session() as s:
        final = s.get(Draft, final.id)
        assert final.state == "skipped" and "withdrawn" in final.reasons[-1]
    assert actions.approve(svc, final.id, "Ali").ok is False  # nobody can send it by mistake
    assert svc.queue.wait_idle()
    assert len(recorder.messages) == 2  # the instant reply and the 24 h follow-up, nothing after the quote
    svc.queue.stop()
    svc.db.dispose()


def test_the_stuck_send_sweep_measures_from_the_claim(make_settings: Any, smtp: Any) -> None:
    """A send another worker took a minute ago is in progress, however old the row is."""
    now = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
    svc = build_services(
        make_settings(policy={"first_reply": {"autonomy": "L3"}}), queue=InProcessQueue(periodic=False)
    )
    svc.clock = Clock(now)
    lead_id = receive(svc, lead_message()).lead_id
    with svc.db.session() as s:
        for minutes_ago in (1, 20):
            s.add(
                Outbox(
                    idempotency_key=f"test:{minutes_ago}",
                    lead_id=lead_id,
                    channel="email",
                    body=f"claimed {minutes_ago} min ago",
                    state="sending",
                    created_at=now - timedelta(hours=2),
                    claimed_at=now - timedelta(minutes=minutes_ago),
                )
            )
    tasks.requeue_outbox(svc)  # the sweep runs with the outbox sweep
    with svc.db.session() as s:
        states = {o.body: o.state for o in s.scalars(select(Outbox))}
    # a hung send may have reached the server: shown for a person to check, never sent again
    assert states == {"claimed 1 min ago": "sending", "claimed 20 min ago": "uncertain"}
    svc.db.dispose()


def test_an_auto_answered_lead_nobody_claimed_is_escalated_but_spam_is_not(
    make_settings: Any, smtp: Any
) -> None:
    """The first reply went out on its own, so nothing 'needs attention' — but nobody owns the sale."""
    start = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
    svc = services_with(make_settings)  # L4: the first reply to a new inquiry goes out on its own
    svc.clock = Clock(start)
    msg = lead_message()
    msg.received_at = start
    lead = receive(svc, msg).lead_id
    assert svc.queue.wait_idle()
    bot = replace(
        lead_message(), sender_email="bot@seo.example", spam_reason="honeypot filled", received_at=start
    )
    receive(svc, bot)
    svc.clock.at = start + timedelta(minutes=31)
    assert tasks.sla_check(svc) == 1
    with svc.db.session() as s:
        assert s.get(Lead, lead).needs_attention is None
        esc = s.scalars(select(Event).where(Event.kind == "sla_escalated")).all()
        assert [e.lead_id for e in esc] == [lead]
    svc.queue.stop()
    svc.db.dispose()
