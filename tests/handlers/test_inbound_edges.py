"""What real inboxes do to the inbound path: messages racing, bounces, lead forms with no text, a
Telegram /start before the first words, carrier keywords, and replies to nothing we wrote."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from sheepdog.app import build_services
from sheepdog.channels.email import parse_email_bytes
from sheepdog.domain.models import Category, Channel, DraftState, InboundMessage
from sheepdog.handlers.inbound import receive
from sheepdog.jobs.queue import InProcessQueue
from sheepdog.storage.tables import Contact, Draft, Event, Lead, Message, Outbox
from tests.conftest import fixture_bytes


def sms(body: str, sid: str, phone: str = "+15125550142", **extra: Any) -> InboundMessage:
    extra.setdefault("received_at", datetime.now(UTC))
    return InboundMessage(
        channel=Channel.SMS,
        text=body,
        sender_phone=phone,
        provider_message_id=sid,
        **extra,
    )


@pytest.fixture
def any_db(request: pytest.FixtureRequest, make_settings: Any, tmp_path: Any, handler_db: str) -> Any:
    url = f"sqlite:///{tmp_path}/race.db" if handler_db == "sqlite" else request.getfixturevalue("pg_url")
    services = build_services(make_settings(storage={"url": url}), queue=InProcessQueue(periodic=False))
    yield services
    services.db.dispose()


def test_a_new_contacts_messages_arriving_together_are_all_kept(any_db: Any) -> None:
    """Four texts from an unknown number at once: each insert of the new identity races the others;
    every message is stored, under one contact, and nothing raises."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def deliver(i: int) -> None:
        barrier.wait()
        try:
            receive(any_db, sms(f"part {i} of my question about a new furnace", f"SMrace{i}"))
        except BaseException as exc:  # the test reports whatever escaped
            errors.append(exc)

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with any_db.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 4
        assert s.scalar(select(func.count()).select_from(Contact)) == 1
        assert s.scalar(select(func.count()).select_from(Lead)) == 1  # one person, one conversation, one lead
        pending = s.scalars(select(Draft).where(Draft.state == DraftState.PENDING.value)).all()
        assert len(pending) <= 1  # one answer waits, to the newest message


def test_a_bounce_on_a_lead_flags_it_and_stops_the_follow_ups(svc: Any, smtp: Any) -> None:
    """The bounce carries no In-Reply-To; it threads by the Message-ID of the mail it returns."""
    from tests.jobs.test_outbox_and_cadence import lead_message

    first = receive(svc, lead_message())
    assert svc.queue.wait_idle()
    with svc.db.session() as s:
        lead = s.get(Lead, first.lead_id)
        assert lead.cadence_state == "active"
        sent_id = s.scalar(select(Outbox.message_id).where(Outbox.lead_id == lead.id, Outbox.state == "sent"))
    assert sent_id
    raw = fixture_bytes("email", "bounce__multipart_report.eml").replace(
        b"<4E326A95.3010907@example.com>", sent_id.encode()
    )
    result = receive(svc, parse_email_bytes(raw))
    assert result.lead_id == first.lead_id and result.draft_id is None
    with svc.db.session() as s:
        lead = s.get(Lead, first.lead_id)
        assert lead.cadence_state == "stopped" and "bounced" in (lead.cadence_stop_reason or "")
        assert "bounced" in (lead.needs_attention or "")


@pytest.mark.parametrize(
    "fixture",
    ["auto__outlook_automatic_reply.eml", "auto__read_receipt_report.eml", "bounce__mailer_daemon.eml"],
)
def test_an_automatic_mail_to_no_lead_is_kept_but_opens_no_lead(svc: Any, fixture: str) -> None:
    result = receive(svc, parse_email_bytes(fixture_bytes("email", fixture)))
    assert result.lead_id is None and result.draft_id is None
    with svc.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Lead)) == 0
        assert s.get(Message, result.message_id).raw  # the raw mail is kept
        assert s.scalar(select(Event.kind).where(Event.kind == "automatic_message")) is not None


def test_a_lead_form_with_no_message_is_an_inquiry_and_gets_a_first_reply(svc: Any) -> None:
    form = InboundMessage(
        channel=Channel.WEBHOOK,
        text="",
        received_at=datetime.now(UTC),
        sender_name="Nora Quinn",
        sender_email="nora@example.com",
        provider_message_id="fb-leadgen-1",
        source="facebook",
    )
    result = receive(svc, form)
    assert result.category == Category.SALES_INQUIRY.value and result.draft_id is not None


def test_telegram_start_then_first_words_brief_and_answer_the_words(svc: Any) -> None:
    """A deep link sends '/start <payload>' before anything; the brief and the first reply are
    made from the first real message, not from the command."""
    start = InboundMessage(
        channel=Channel.TELEGRAM,
        text="/start fb_ad_spring",
        triage_text="",
        received_at=datetime.now(UTC),
        sender_name="Maya",
        sender_handle="777",
        provider_message_id="777:1",
        source="fb_ad_spring",
    )
    opened = receive(svc, start)
    assert opened.category == Category.OTHER.value
    words = replace(
        start, text="Do you install heat pumps? Need a quote", triage_text=None, provider_message_id="777:2"
    )
    second = receive(svc, words)
    assert second.lead_id == opened.lead_id and second.category == Category.SALES_INQUIRY.value
    with svc.db.session() as s:
        lead = s.get(Lead, opened.lead_id)
        assert lead.brief["category"] == Category.SALES_INQUIRY.value
        assert lead.source == "fb_ad_spring"
        assert lead.cadence_state == "active"
        draft = s.get(Draft, second.draft_id)
        assert draft.purpose == "first_reply"


@pytest.mark.parametrize("word", ["HELP", "START"])
def test_carrier_keywords_are_not_drafted(svc: Any, word: str) -> None:
    receive(svc, sms("Do you service heat pumps?", "SMk0"))
    extra = {"auto_reply": "Brightside: call 555-0100"} if word == "HELP" else {"opt_in": True}
    result = receive(svc, sms(word, "SMk1", **extra))
    assert result.draft_id is None and result.decision == "drop"


def test_opting_out_skips_the_drafts_still_waiting(make_settings: Any, smtp: Any) -> None:
    svc = build_services(
        make_settings(policy={"first_reply": {"autonomy": "L3"}}), queue=InProcessQueue(periodic=False)
    )
    first = receive(svc, sms("How much is a furnace tune-up?", "SMo0"))
    receive(svc, sms("STOP", "SMo1", opt_in=False))
    with svc.db.session() as s:
        draft = s.get(Draft, first.draft_id)
        assert draft.state == DraftState.SKIPPED.value
        assert any("opted out" in r for r in draft.reasons)
    svc.db.dispose()


def test_a_reply_to_nothing_we_wrote_is_answered_as_a_first_contact(svc: Any) -> None:
    result = receive(svc, sms("ok sounds good, thanks for getting back to me", "SMr0"))
    assert result.category != Category.LEAD_REPLY.value
    with svc.db.session() as s:
        assert s.get(Draft, result.draft_id).purpose == "first_reply"


def test_one_answer_waits_per_lead(make_settings: Any, smtp: Any) -> None:
    """Three texts before anyone approved: only the answer to the newest waits, and it is still the
    first reply (nothing was sent yet)."""
    svc = build_services(
        make_settings(policy={"first_reply": {"autonomy": "L3"}}), queue=InProcessQueue(periodic=False)
    )
    results = [
        receive(svc, sms(text, f"SMw{i}"))
        for i, text in enumerate(["Hi", "Do you install heat pumps?", "We're in Austin, 3 bed house"])
    ]
    with svc.db.session() as s:
        drafts = {d.id: d for d in s.scalars(select(Draft))}
        waiting = [d for d in drafts.values() if d.state == DraftState.PENDING.value]
        assert [d.id for d in waiting] == [results[-1].draft_id]
        assert waiting[0].purpose == "first_reply"
        replaced = drafts[results[0].draft_id]
        assert replaced.state == DraftState.SKIPPED.value
        assert "newer message" in replaced.reasons[-1]
    svc.db.dispose()


def test_a_person_writing_on_a_second_channel_is_linked_on_the_brief(svc: Any) -> None:
    from tests.jobs.test_outbox_and_cadence import lead_message

    form = receive(svc, lead_message())
    with svc.db.session() as s:
        phone = s.get(Lead, form.lead_id).contact.phone
    text = receive(svc, sms("Also, can you look at our water heater?", "SMl0", phone=phone))
    assert text.lead_id != form.lead_id
    with svc.db.session() as s:
        flags = s.get(Lead, text.lead_id).brief["flags"]
    assert any(f.startswith(f"same person as lead #{form.lead_id} (web form") for f in flags)


def test_a_draft_finishing_late_never_replaces_the_answer_to_a_newer_message(
    make_settings: Any, smtp: Any
) -> None:
    """The brain answered message 3 before message 2 (it was slow on 2): the answer to 3 stays."""
    from sheepdog.handlers.inbound import accept, understand

    svc = build_services(
        make_settings(policy={"first_reply": {"autonomy": "L3"}}), queue=InProcessQueue(periodic=False)
    )
    receive(svc, sms("Hi", "SMo-1"))
    second = accept(svc, sms("Do you install heat pumps?", "SMo-2"))
    third = accept(svc, sms("We're in Austin, 3 bed house", "SMo-3"))
    newest = understand(svc, *third)
    late = understand(svc, *second)
    with svc.db.session() as s:
        assert s.get(Draft, newest.draft_id).state == DraftState.PENDING.value
        assert s.get(Draft, late.draft_id).state == DraftState.SKIPPED.value
    svc.db.dispose()


def test_a_bare_carrier_keyword_from_an_unknown_number_opens_no_lead(svc: Any) -> None:
    stop = receive(svc, sms("STOP", "SMu0", phone="+15125550177", opt_in=False))
    help_ = receive(svc, sms("HELP", "SMu1", phone="+15125550178", auto_reply="Brightside: call 555-0100"))
    assert stop.lead_id is None and help_.lead_id is None
    assert help_.instant_reply == "Brightside: call 555-0100"  # the carrier's HELP answer still goes
    with svc.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Lead)) == 0
        stopped = s.scalar(select(Contact).where(Contact.phone == "+15125550177"))
        assert stopped.opted_out  # honoured although there is no lead


def test_a_message_stored_but_never_read_is_read_by_the_sweep(make_settings: Any, smtp: Any) -> None:
    """The process stopped between the store and the brain (a restart, an error): the platform's
    retry is a duplicate and reads nothing, so the periodic sweep reads it."""
    from datetime import timedelta

    from sheepdog.handlers.inbound import accept, read_stragglers
    from sheepdog.jobs.tasks import PERIODIC
    from tests.jobs.test_outbox_and_cadence import Clock

    start = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
    svc = build_services(make_settings(), queue=InProcessQueue(periodic=False))
    svc.clock = Clock(start)
    _, stored = accept(svc, sms("Do you install heat pumps?", "SMs0", received_at=start))
    assert receive(svc, sms("Do you install heat pumps?", "SMs0", received_at=start)).duplicate
    assert read_stragglers(svc) == 0  # too fresh: its job may still be on the way
    svc.clock.at = start + timedelta(minutes=3)
    assert read_stragglers(svc) == 1  # queued to be read
    assert read_stragglers(svc) == 0  # keyed: queued once
    svc.queue.start()
    assert svc.queue.wait_idle(30)
    assert read_stragglers(svc) == 0  # read once
    with svc.db.session() as s:
        lead = s.get(Lead, stored.lead_id)
        assert lead.brief and lead.brief["category"] == Category.SALES_INQUIRY.value
        assert s.scalar(select(func.count()).select_from(Draft)) == 1
    assert "read_stragglers" in PERIODIC
    svc.db.dispose()


def test_the_sweep_reads_a_carrier_keyword_as_it_arrived(make_settings: Any, smtp: Any) -> None:
    """HELP stored on a lead but never read: read again, it is still a keyword, not a message to answer."""
    from datetime import timedelta

    from sheepdog.handlers.inbound import accept, read_stragglers
    from tests.jobs.test_outbox_and_cadence import Clock

    start = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
    svc = build_services(make_settings(), queue=InProcessQueue(periodic=False))
    svc.clock = Clock(start)
    receive(svc, sms("Do you install heat pumps?", "SMh0", received_at=start))
    accept(svc, sms("HELP", "SMh1", auto_reply="Brightside: call 555-0100", received_at=start))
    svc.clock.at = start + timedelta(minutes=3)
    assert read_stragglers(svc) == 1
    with svc.db.session() as s:
        assert (
            s.scalar(select(func.count()).select_from(Draft).where(Draft.reply_to_message_id.is_not(None)))
            == 1
        )
    svc.db.dispose()
