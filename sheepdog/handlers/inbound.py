"""receive(): every customer message, whatever its channel, takes this one path.

store (dedup, contact, thread) → triage → brief (new lead) → draft → guardrails → policy →
outbox or approval queue → the surfaces update the lead's thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sheepdog import defaults
from sheepdog.domain import timezones
from sheepdog.domain.cadence import LIVE, OutboxState
from sheepdog.domain.contacts import find_referral, normalize_email, normalize_phone
from sheepdog.domain.models import (
    ANSWER_PURPOSES,
    Attachment,
    Category,
    Channel,
    Decision,
    DecisionKind,
    Direction,
    DraftState,
    InboundMessage,
    Signal,
    SignalName,
    Stage,
    Triage,
)
from sheepdog.domain.policy import ALL_CHANNELS
from sheepdog.domain.threads import is_reply_subject, normalized_subject
from sheepdog.handlers import followup, learning
from sheepdog.handlers.context import PROCESS_ID, Services
from sheepdog.handlers.drafting import (
    compose,
    json_ready,
    lead_context,
    opt_in,
    opt_out,
    skip_draft,
    stop_cadence,
    triage_from_dict,
    triage_to_dict,
    withdraw_touches,
)
from sheepdog.handlers.identity import is_returning, resolve_contact
from sheepdog.storage.tables import Contact, Conversation, Draft, Lead, Message, Outbox

log = logging.getLogger(__name__)

OPEN_STAGES = tuple(s.value for s in Stage if s not in (Stage.WON, Stage.LOST))
EMAIL_SUBJECT_FALLBACK_DAYS = 30
NEW_LEAD_CATEGORIES = {Category.SALES_INQUIRY, Category.PRICING_QUESTION, Category.BOOKING}


@dataclass(frozen=True)
class ReceiveResult:
    message_id: int
    lead_id: int | None
    conversation_id: int
    duplicate: bool = False
    new_lead: bool = False
    category: str | None = None
    draft_id: int | None = None
    decision: str | None = None
    instant_reply: str | None = None  # text the channel should answer in its HTTP response


def receive(services: Services, msg: InboundMessage) -> ReceiveResult:
    """Store and process one inbound message. A duplicate delivery stores nothing new.

    The message is committed first, so nothing the brain does (slow, or failing) can lose it or
    hold the database's write lock: understanding and drafting run between short transactions.
    """
    msg, stored = accept(services, msg)
    return understand(services, msg, stored)


def accept(services: Services, msg: InboundMessage) -> tuple[InboundMessage, _Stored]:
    """Step one, fast: the cleaned message, committed (or found as a duplicate). Once this returns
    the platform may be told "received", whatever the brain does next."""
    msg = clean_message(msg)
    stored = _store_once(services, msg)
    what = "duplicate of message" if stored.duplicate is not None else "stored as message"
    log.info(
        "inbound %s %s %s (lead %s)",
        msg.channel.value,
        what,
        stored.message_id,
        stored.lead_id or "-",
        extra={"channel": msg.channel.value, "message_id": stored.message_id, "lead_id": stored.lead_id},
    )
    return msg, stored


def understand(services: Services, msg: InboundMessage, stored: _Stored) -> ReceiveResult:
    """Step two, the brain's: triage, brief, draft, decide, for a message accept() stored.

    One reader at a time holds the message (a lease, see _take_read); a reader killed half-way
    leaves it unread, and the next reader resumes: the triage already recorded is reused, the
    brief and the draft are written only if they are missing, so nothing is sent twice."""
    if stored.duplicate is not None:
        return stored.duplicate
    recorded = _take_read(services, stored.message_id)
    if recorded is None:  # read already, or being read by a live process
        return ReceiveResult(stored.message_id, stored.lead_id, stored.conversation_id, duplicate=True)
    if stored.lead_id is None:
        # A bounce, an out-of-office or a bare carrier keyword (STOP, HELP from an unknown number)
        # that belongs to no lead: kept, raw payload and all, and an opt-out honoured; never a lead.
        with services.db.session() as session:
            contact = session.get(Contact, stored.contact_id)
            _apply_opt(session, services, msg, Triage(Category.OTHER, 1.0), contact, None)
            kind = "automatic_message" if msg.is_auto else "carrier_keyword"
            services.log(session, kind, None, message_id=stored.message_id, channel=msg.channel)
            _mark_read(session, services, stored.message_id)
        category = "automatic" if msg.is_auto else "carrier_keyword"
        return ReceiveResult(
            stored.message_id, None, stored.conversation_id, category=category, instant_reply=msg.auto_reply
        )

    if recorded:  # a reader before us recorded the triage and died: resume after it
        with services.db.session() as session:
            message = session.get(Message, stored.message_id)
            triage = triage_from_dict(message.triage)
            lead_id, new_lead = stored.lead_id, stored.new_lead
            briefed = session.get(Lead, lead_id).brief is not None
            done = session.scalar(select(Draft.id).where(Draft.reply_to_message_id == stored.message_id))
    else:
        triage = _triage(services, msg, msg.text_for_triage, stored.in_open)
        with services.db.session() as session:
            lead_id, new_lead = _record(session, services, msg, stored, triage)
        briefed, done = False, None
    first_words = new_lead or stored.awaiting_words
    if first_words and not briefed:
        _brief(services, lead_id, triage)
    keyword = _carrier_keyword(msg)
    if keyword is not None:
        draft_id, decision = None, keyword
        with services.db.session() as session:
            services.log(session, "decision", lead_id, kind=keyword.kind, reasons=list(keyword.reasons))
    elif done is not None:
        draft_id, decision = done, _stored_decision(services, done)
    else:
        try:
            draft_id, decision = compose(
                services,
                lead_id,
                purpose="reply" if stored.in_open else "first_reply",  # nothing sent yet: still the first
                triage=triage,
                reply_to_id=stored.message_id,
                spam_reason=msg.spam_reason,
                auto_message=msg.is_auto,
            )
        except Exception as exc:
            if not services.db.answers():
                raise  # the job is retried (and the straggler sweep reads the message again)
            draft_id, decision = None, _draft_failed(services, lead_id, stored.message_id, exc)
    with services.db.session() as session:
        _after_decision(session, services, lead_id, decision, triage, msg)
        if draft_id is not None:
            _supersede(session, lead_id, draft_id)
        _mark_read(session, services, stored.message_id)
    services.lead_changed(lead_id)
    return ReceiveResult(
        stored.message_id,
        lead_id,
        stored.conversation_id,
        new_lead=new_lead,
        category=triage.category.value,
        draft_id=draft_id,
        decision=decision.kind.value,
        instant_reply=msg.auto_reply,
    )


def _draft_failed(services: Services, lead_id: int, message_id: int, exc: Exception) -> Decision:
    """Writing the answer failed after triage was stored, with the database up (a brain bug on
    this input: retrying gives the same error). The lead is flagged on its card so a person
    answers, instead of sitting with no draft and no flag."""
    log.exception("drafting the answer to message %s (lead %s) failed", message_id, lead_id)
    why = f"no reply was written (the draft step failed: {type(exc).__name__}); answer them yourself"
    with services.db.session() as session:
        lead = session.get(Lead, lead_id)
        lead.needs_attention = why
        services.log(session, "draft_failed", lead_id, message_id=message_id, error=repr(exc)[:500])
        services.log(session, "decision", lead_id, kind=DecisionKind.HANDOFF, reasons=[why])
    return Decision(DecisionKind.HANDOFF, (why,), notify=True)


def _take_read(services: Services, message_id: int) -> bool | None:
    """Take the message to read it: None when it is read already or a live process holds it;
    else whether a reader before us already recorded its triage (it died after that).

    The lease is taken by a conditional UPDATE on the lease we saw, so two readers racing for
    the same message (a job and the straggler sweep's job) cannot both win."""
    now = services.now()
    with services.db.session() as session:
        row = session.execute(
            select(Message.understood_at, Message.reading_until, Message.read_by, Message.category).where(
                Message.id == message_id
            )
        ).one_or_none()
        if row is None or row.understood_at is not None:
            return None
        held = row.reading_until is not None and row.reading_until > now and row.read_by != PROCESS_ID
        if held and row.read_by and row.read_by in services.queue.alive([row.read_by]):
            return None
        seen = (
            Message.reading_until.is_(None)
            if row.reading_until is None
            else (Message.reading_until == row.reading_until)
        )
        taken = session.execute(
            update(Message)
            .where(Message.id == message_id, Message.understood_at.is_(None), seen)
            .values(reading_until=now + timedelta(seconds=defaults.READ_LEASE_S), read_by=PROCESS_ID)
        ).rowcount
        if taken != 1:
            return None
        return row.category is not None


def _mark_read(session: Session, services: Services, message_id: int) -> None:
    session.execute(
        update(Message)
        .where(Message.id == message_id)
        .values(understood_at=services.now(), reading_until=None)
    )


def _stored_decision(services: Services, draft_id: int) -> Decision:
    """The decision a dead reader already stored with its draft (it is not taken twice)."""
    with services.db.session() as session:
        draft = session.get(Draft, draft_id)
        return Decision(
            DecisionKind(draft.decision or DecisionKind.APPROVE.value), tuple(draft.reasons or ())
        )


STORE_ATTEMPTS = 3


def _store_once(services: Services, msg: InboundMessage) -> _Stored:
    """_store in its own transaction. Two deliveries racing (the same message retried, or a new
    contact's messages arriving together) make one insert fail on a unique key; the retry then
    sees what the other stored, so no message is lost and none is stored twice."""
    for attempt in range(STORE_ATTEMPTS):
        try:
            with services.db.session() as session:
                return _store(session, services, msg)
        except IntegrityError:
            if attempt == STORE_ATTEMPTS - 1:
                raise
            log.info("inbound %s message raced another delivery; storing it again", msg.channel.value)
    raise AssertionError("unreachable")


def _carrier_keyword(msg: InboundMessage) -> Decision | None:
    """STOP / START / HELP are answered by the carrier flow itself: nothing is drafted for them."""
    if msg.opt_in is False:
        return Decision(
            DecisionKind.DROP, ("opted out with a carrier keyword: no more messages",), stop_cadence=True
        )
    if msg.opt_in is True:
        return Decision(DecisionKind.DROP, ("opted back in with a carrier keyword: nothing to answer",))
    if msg.auto_reply:
        return Decision(
            DecisionKind.DROP, ("carrier HELP keyword: answered at once with the business's contact line",)
        )
    return None


@dataclass(frozen=True)
class _Stored:
    message_id: int
    conversation_id: int
    contact_id: int
    lead_id: int | None  # the lead this conversation already has
    in_open: bool  # we have written to them in this conversation
    duplicate: ReceiveResult | None = None
    awaiting_words: bool = False  # the lead so far said nothing (a bare /start, an empty form)
    new_lead: bool = False  # this message opened the lead


def _find_duplicate(session: Session, msg: InboundMessage) -> Message | None:
    if not msg.provider_message_id:
        return None
    return session.scalar(
        select(Message).where(
            Message.channel == msg.channel.value, Message.provider_message_id == msg.provider_message_id
        )
    )


def _store(session: Session, services: Services, msg: InboundMessage) -> _Stored:
    """Deduplicate, find the contact and the thread, keep the message with its raw payload."""
    existing = _find_duplicate(session, msg)
    if existing is not None:
        lead_id = session.scalar(select(Lead.id).where(Lead.conversation_id == existing.conversation_id))
        if msg.edited and msg.text != existing.text:
            existing.edits = [*existing.edits, {"text": existing.text, "at": services.now().isoformat()}]
            existing.text, existing.triage_text = msg.text, msg.triage_text
            services.log(session, "message_edited", lead_id, message_id=existing.id)
        dup = ReceiveResult(existing.id, lead_id, existing.conversation_id, duplicate=True)
        return _Stored(existing.id, existing.conversation_id, 0, lead_id, False, duplicate=dup)

    contact, _ = resolve_contact(session, services, msg)
    conversation, lead = _thread(session, services, msg, contact)
    message = Message(
        conversation_id=conversation.id,
        direction=Direction.INBOUND.value,
        channel=msg.channel.value,
        sender=_sender(services, msg),
        subject=msg.subject,
        text=msg.text,
        triage_text=msg.triage_text,
        provider_message_id=msg.provider_message_id,
        in_reply_to=msg.in_reply_to,
        references=list(msg.references),
        attachments=[json_ready(a.__dict__) for a in msg.attachments],
        raw=msg.raw,
        raw_content_type=msg.raw_content_type,
        # Until triage writes here: the form fields, and what the channel knew (a carrier keyword),
        # so a message read again by the straggler sweep is read as it arrived.
        triage={"fields": dict(msg.fields), "carrier": _carrier(msg)},
        is_auto=msg.is_auto,
        created_at=msg.received_at,
    )
    session.add(message)
    conversation.last_message_at = msg.received_at
    session.flush()
    in_open = lead is not None and _has_outbound(session, conversation.id)
    awaiting = (
        lead is not None
        and not in_open
        and bool(msg.text_for_triage.strip())
        and _no_words_yet(session, message)
    )
    opened = lead is None and not msg.is_auto and _carrier_keyword(msg) is None
    if opened:
        # Opened in the same transaction as its conversation: a second message arriving while the
        # brain reads the first finds this lead, instead of opening another one.
        lead = _open_lead(session, msg, contact, conversation)
        message.triage = {**message.triage, "opened_lead": True}  # the reader (maybe elsewhere) must know
    return _Stored(
        message.id,
        conversation.id,
        contact.id,
        lead.id if lead else None,
        in_open,
        None,
        awaiting,
        new_lead=opened,
    )


def _sender(services: Services, msg: InboundMessage) -> str | None:
    """The address, number or chat this message came from, as answers are sent to it."""
    if msg.channel == Channel.EMAIL:
        return normalize_email(msg.sender_email)
    if msg.channel == Channel.SMS:
        return normalize_phone(msg.sender_phone, services.business.country)
    if msg.channel == Channel.TELEGRAM:
        return msg.sender_handle
    if msg.channel in (Channel.WEBFORM, Channel.WEBHOOK):
        # the address typed into the form (the number when there is none): answered there
        return normalize_email(msg.sender_email) or normalize_phone(
            msg.sender_phone, services.business.country
        )
    return None


def _no_words_yet(session: Session, message: Message) -> bool:
    """True when every earlier message of the conversation was empty: the lead's first words are
    this message, so it is briefed and answered as a first contact."""
    rows = session.execute(
        select(Message.triage_text, Message.text).where(
            Message.conversation_id == message.conversation_id,
            Message.id != message.id,
            Message.direction == Direction.INBOUND.value,
        )
    ).all()
    return all(not ((t if t is not None else x) or "").strip() for t, x in rows)


def _record(
    session: Session, services: Services, msg: InboundMessage, stored: _Stored, triage: Triage
) -> tuple[int, bool]:
    """Write the triage on the message; open a lead for a new conversation or update its lead."""
    message = session.get(Message, stored.message_id)
    message.category, message.confidence = triage.category.value, triage.confidence
    message.triage = {**triage_to_dict(triage), "fields": dict(msg.fields), "opened_lead": stored.new_lead}
    contact = session.get(Contact, stored.contact_id)
    lead = session.get(Lead, stored.lead_id)
    _apply_opt(session, services, msg, triage, contact, lead)
    _learn_timezone(session, services, msg, contact, lead)
    new_lead = stored.new_lead
    if new_lead:
        # The person wrote again (a new conversation): their other leads' follow-ups have done their job.
        for other in session.scalars(
            select(Lead).where(
                Lead.contact_id == contact.id,
                Lead.id != lead.id,
                Lead.cadence_state.in_(tuple(LIVE)),
            )
        ):
            stop_cadence(session, services, other, f"they wrote again ({msg.channel.value})")
        services.log(
            session,
            "lead_created",
            lead.id,
            channel=msg.channel,
            source=lead.source,
            category=triage.category,
            returning=lead.returning_customer,
            referral=lead.referral,
        )
        _first_words(session, services, lead, contact, triage, msg)
    else:
        services.log(session, "message_received", lead.id, message_id=message.id, category=triage.category)
        if stored.awaiting_words:
            _first_words(session, services, lead, contact, triage, msg)
        else:
            _on_reply(session, services, lead, triage, msg)
    services.log(
        session,
        "triaged",
        lead.id,
        message_id=message.id,
        category=triage.category,
        confidence=round(triage.confidence, 3),
        backend=triage.backend,
        flags=list(triage.flags),
    )
    return lead.id, new_lead


def _after_decision(
    session: Session,
    services: Services,
    lead_id: int,
    decision: Decision,
    triage: Triage,
    msg: InboundMessage,
) -> None:
    """What the decision does to the lead's follow-ups and its 'needs attention' line."""
    lead = session.get(Lead, lead_id)
    why = decision.reasons[0] if decision.reasons else ""
    if decision.pause_cadence:
        followup.pause(session, services, lead, why)
    if decision.stop_cadence:
        stop_cadence(session, services, lead, why or "stopped")
    if decision.kind == DecisionKind.DROP and (triage.category == Category.SPAM or msg.spam_reason):
        lead.needs_attention = None  # held back as spam: visible in the console, nothing to do


def _supersede(session: Session, lead_id: int, draft_id: int) -> None:
    """One answer waits per lead: the draft for their newest message (written with the whole
    history) replaces answers still waiting to earlier ones, so nobody approves a stale reply.
    Drafts can finish out of order (a slow brain): the newest message decides, not the clock."""
    draft = session.get(Draft, draft_id)
    waiting = session.scalars(
        select(Draft).where(
            Draft.lead_id == lead_id,
            Draft.id != draft_id,
            Draft.state == DraftState.PENDING.value,
            Draft.purpose.in_(ANSWER_PURPOSES),
        )
    ).all()
    answers = draft.reply_to_message_id or 0
    newer_waits = any((d.reply_to_message_id or 0) > answers for d in waiting)
    stale = [draft] if newer_waits else waiting
    for d in stale:
        if d.state == DraftState.PENDING.value:
            skip_draft(d, "replaced by the answer to their newer message")
    if newer_waits:
        return
    # Automatic answers to older messages not sent yet (a burst of texts): only the newest goes.
    for row in session.scalars(
        select(Outbox)
        .join(Draft, Outbox.draft_id == Draft.id)
        .where(
            Outbox.lead_id == lead_id,
            Outbox.state == OutboxState.QUEUED,
            Outbox.author.is_(None),
            Draft.id != draft_id,
            Draft.reply_to_message_id < answers,
            Draft.purpose.in_(ANSWER_PURPOSES),
        )
    ):
        row.state, row.last_error = OutboxState.CANCELLED, "replaced by the answer to their newer message"
        skip_draft(
            session.get(Draft, row.draft_id), "not sent: replaced by the answer to their newer message"
        )


def clean_message(msg: InboundMessage) -> InboundMessage:
    """Text every database accepts: no NUL bytes, no lone surrogates (half an emoji from a
    truncating client). What cannot be encoded is replaced, never a reason to refuse a customer."""

    def fix(value: str | None) -> str | None:
        if value is None:
            return None
        return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")

    return replace(
        msg,
        text=fix(msg.text) or "",
        triage_text=fix(msg.triage_text),
        subject=fix(msg.subject),
        sender_name=fix(msg.sender_name),
        sender_email=fix(msg.sender_email),
        sender_phone=fix(msg.sender_phone),
        sender_handle=fix(msg.sender_handle),
        source=fix(msg.source),
        referral=fix(msg.referral),
        in_reply_to=fix(msg.in_reply_to),
        provider_message_id=fix(msg.provider_message_id),
        references=tuple(fix(r) or "" for r in msg.references),
        fields={fix(k) or "": fix(v) or "" for k, v in msg.fields.items()},
    )


def _triage(services: Services, msg: InboundMessage, text: str, in_open: bool) -> Triage:
    if msg.is_auto:
        return Triage(
            Category.OTHER, 1.0, flags=("automatic message (bounce or auto-reply)",), backend="rules"
        )
    if msg.opt_in is False:
        return Triage(Category.OPT_OUT, 1.0, flags=("carrier opt-out keyword",), backend="rules")
    if msg.spam_reason:
        return Triage(Category.SPAM, 1.0, flags=(msg.spam_reason,), backend="rules")
    if not text.strip() and msg.attachments:
        return Triage(Category.LEAD_REPLY if in_open else Category.OTHER, 0.5, flags=("attachment only",))
    if not text.strip() and msg.channel in (Channel.WEBFORM, Channel.WEBHOOK) and msg.opt_in is None:
        # A lead form (website, Facebook lead ad) with contact details and no message: they asked
        # to be contacted, which is an inquiry.
        return Triage(Category.SALES_INQUIRY, 0.6, flags=("form sent with no message",), backend="rules")
    if not text.strip():
        return Triage(
            Category.OTHER, 1.0, flags=("no words yet: they only opened the chat",), backend="rules"
        )
    try:
        triage = services.brain.triage(text, services.business, in_open_conversation=in_open)
    except Exception as exc:  # the message is stored; a person must see it, whatever the brain did
        log.exception("triage failed for a %s message", msg.channel.value)
        triage = Triage(
            Category.OTHER, 0.0, flags=(f"triage failed ({type(exc).__name__}): read it yourself",)
        )
    extra: list[Signal] = []
    referrer = msg.referral or find_referral(text)
    if referrer and not triage.has(SignalName.REFERRAL):
        extra.append(Signal(SignalName.REFERRAL, 0.9, referrer))
    if extra:
        triage = replace(triage, signals=triage.signals + tuple(extra))
    if triage.category == Category.LEAD_REPLY and not in_open:
        # "Thanks, sounds good" to nothing we wrote: answer it as a first contact, not as a reply.
        why = "reads like a reply, but we have not written to them"
        triage = replace(triage, category=Category.OTHER, flags=tuple(dict.fromkeys((*triage.flags, why))))
    unsure = triage.confidence < services.settings.brain.confidence_floor
    if referrer and unsure and triage.category in (Category.SPAM, Category.OPT_OUT, Category.OTHER):
        # "Maria sent me your way" is a prospect; an unsure guess of spam must not lose a referral.
        why = f"referred by {referrer}: treated as a new inquiry, not {triage.category.value}"
        triage = replace(triage, category=Category.SALES_INQUIRY, flags=(*triage.flags, why))
    return triage


def _thread(
    session: Session, services: Services, msg: InboundMessage, contact: Contact
) -> tuple[Conversation, Lead | None]:
    """The conversation this message belongs to, and its lead when there is one."""
    conversation = None
    if msg.channel == Channel.EMAIL:
        conversation = _email_thread(session, services, msg, contact)
    elif msg.channel in (Channel.SMS, Channel.TELEGRAM):
        key = msg.sender_handle if msg.channel == Channel.TELEGRAM else contact.phone
        conversation = session.scalar(
            select(Conversation)
            .where(Conversation.channel == msg.channel.value, Conversation.thread_key == key)
            .order_by(Conversation.id.desc())
            .limit(1)
        )
    if conversation is None and msg.channel in (Channel.SMS, Channel.TELEGRAM, Channel.EMAIL):
        conversation = _answered_on(session, services, contact, msg.channel)
    if conversation is None and msg.channel in (Channel.WEBFORM, Channel.WEBHOOK):
        lead = session.scalar(
            select(Lead)
            .where(
                Lead.contact_id == contact.id, Lead.stage.in_(OPEN_STAGES), Lead.channel == msg.channel.value
            )
            .order_by(Lead.id.desc())
            .limit(1)
        )
        if lead is not None and lead.created_at > services.now() - timedelta(
            days=EMAIL_SUBJECT_FALLBACK_DAYS
        ):
            return lead.conversation, lead
    if conversation is None:
        key = {Channel.SMS: contact.phone, Channel.TELEGRAM: msg.sender_handle}.get(msg.channel)
        conversation = Conversation(
            contact_id=contact.id,
            channel=msg.channel.value,
            thread_key=key or msg.provider_message_id,
            subject=msg.subject,
            created_at=msg.received_at,
            last_message_at=msg.received_at,
        )
        session.add(conversation)
        session.flush()
        return conversation, None
    lead = session.scalar(select(Lead).where(Lead.conversation_id == conversation.id))
    return conversation, lead


def _email_thread(
    session: Session, services: Services, msg: InboundMessage, contact: Contact
) -> Conversation | None:
    ids = [i for i in (msg.in_reply_to, *msg.references) if i]
    if ids:
        conv_id = session.scalar(
            select(Message.conversation_id)
            .where(Message.provider_message_id.in_(ids))
            .order_by(Message.id.desc())
            .limit(1)
        )
        if conv_id is None:
            lead_id = session.scalar(select(Outbox.lead_id).where(Outbox.message_id.in_(ids)).limit(1))
            if lead_id is not None:
                conv_id = session.scalar(select(Lead.conversation_id).where(Lead.id == lead_id))
        if conv_id is not None:
            return session.get(Conversation, conv_id)
    # Fallback for clients that drop the headers: a reply ("Re: …") from the same sender, same subject.
    subject = normalized_subject(msg.subject)
    is_reply = bool(ids) or is_reply_subject(msg.subject)
    if not subject or not is_reply:
        return None
    since = services.now() - timedelta(days=EMAIL_SUBJECT_FALLBACK_DAYS)
    rows = session.execute(
        select(Conversation, Message.subject)
        .join(Message, Message.conversation_id == Conversation.id)
        .where(Conversation.contact_id == contact.id, Conversation.last_message_at >= since)
        .where(
            or_(Conversation.channel == Channel.EMAIL.value, Conversation.channel == Channel.WEBFORM.value)
        )
        .where(Message.subject.is_not(None))
        .order_by(Message.id.desc())
    ).all()
    for conv, seen_subject in rows:  # what we sent or they wrote, newest first
        if normalized_subject(seen_subject) == subject:
            return conv
    return None


def _answered_on(
    session: Session, services: Services, contact: Contact, channel: Channel
) -> Conversation | None:
    """A reply on the channel we answered on: a web-form lead we texted, texting back."""
    since = services.now() - timedelta(days=EMAIL_SUBJECT_FALLBACK_DAYS)
    return session.scalar(
        select(Conversation)
        .join(Lead, Lead.conversation_id == Conversation.id)
        .join(Message, Message.conversation_id == Conversation.id)
        .where(Conversation.contact_id == contact.id, Lead.stage.in_(OPEN_STAGES))
        .where(Message.direction == Direction.OUTBOUND.value, Message.channel == channel.value)
        .where(Message.created_at >= since)
        .order_by(Message.id.desc())
        .limit(1)
    )


def _has_outbound(session: Session, conversation_id: int) -> bool:
    return (
        session.scalar(
            select(Message.id)
            .where(Message.conversation_id == conversation_id, Message.direction == Direction.OUTBOUND.value)
            .limit(1)
        )
        is not None
    )


def _open_lead(session: Session, msg: InboundMessage, contact: Contact, conversation: Conversation) -> Lead:
    """A new lead for a new conversation; what triage adds (the cadence, a referral it heard)
    comes in _record once the brain has read the message."""
    lead = Lead(
        contact_id=contact.id,
        conversation_id=conversation.id,
        channel=msg.channel.value,
        stage=Stage.NEW.value,
        source=msg.source or msg.channel.value,
        referral=msg.referral,
        returning_customer=is_returning(session, contact),
        created_at=msg.received_at,
        updated_at=msg.received_at,
    )
    session.add(lead)
    session.flush()
    return lead


def _first_words(
    session: Session, services: Services, lead: Lead, contact: Contact, triage: Triage, msg: InboundMessage
) -> None:
    """What a lead's first real words start: a referral they name, and the new-lead cadence."""
    if lead.referral is None:
        lead.referral = next((s.value for s in triage.signals if s.name == SignalName.REFERRAL), None)
    wants_cadence = triage.category in NEW_LEAD_CATEGORIES and not msg.is_auto and not contact.opted_out
    if wants_cadence and not lead.returning_customer and not lead.referral:
        # Step 0 (after_h = 0) is the first reply written right now. The clock for the later steps
        # starts when that reply actually goes out (jobs.tasks), so a reply held for a human is
        # never followed by a "follow-up" to nothing.
        followup.start_new_lead(session, services, lead)


def _brief(services: Services, lead_id: int, triage: Triage) -> None:
    """Score and summarise a new lead. The brain runs outside any transaction; if it fails the
    lead keeps no score and says so, rather than losing the message."""
    with services.db.session() as session:
        lead = session.get(Lead, lead_id)
        ctx = lead_context(session, services, lead, triage)
        same_person = _same_person(session, lead)
    try:
        # The rubric's score, blended with what past outcomes taught (handlers.learning).
        brief = learning.rescore(services, ctx, services.brain.brief(ctx))
        data = {
            "score": brief.score,
            "grade": brief.grade,
            "summary": brief.summary,
            "reasons": list(brief.reasons),
            "flags": list(dict.fromkeys([*same_person, *brief.flags, *triage.flags])),
            "next_action": brief.next_action.value,
            "backend": brief.backend,
            "category": triage.category.value,
        }
    except Exception as exc:
        log.exception("brief failed for lead %s", lead_id)
        brief, data = (
            None,
            {
                "summary": "No brief: the brain failed on this lead. Read the message below.",
                "flags": [f"brief failed ({type(exc).__name__})", *same_person, *triage.flags],
                "category": triage.category.value,
                "reasons": [],
            },
        )
    with services.db.session() as session:
        lead = session.get(Lead, lead_id)
        lead.brief = json_ready(data)
        if brief is not None:
            lead.score, lead.grade = brief.score, brief.grade
        services.log(session, "brief", lead_id, score=data.get("score"), grade=data.get("grade"))


def _same_person(session: Session, lead: Lead) -> list[str]:
    """Other open leads of this contact (they wrote on another channel too): one line each, so the
    team answers one person once, not twice from two threads."""
    others = session.scalars(
        select(Lead)
        .where(Lead.contact_id == lead.contact_id, Lead.id != lead.id, Lead.stage.in_(OPEN_STAGES))
        .order_by(Lead.id.desc())
        .limit(3)
    ).all()
    return [
        f"same person as lead #{o.id} ({Channel(o.channel).words}, {o.created_at:%b %d}, {o.stage})"
        for o in others
    ]


def _on_reply(session: Session, services: Services, lead: Lead, triage: Triage, msg: InboundMessage) -> None:
    """A message on an existing lead: a real reply stops the cadence; an auto-reply never does.
    A bounce does: the address is dead, so the follow-ups would bounce too, and a person must know."""
    if msg.bounce:
        lead.needs_attention = "our email bounced: check the address or reach them another way"
        stop_cadence(session, services, lead, "our email bounced")
        bounced = session.scalars(
            select(Outbox).where(Outbox.lead_id == lead.id, Outbox.message_id.in_(msg.references or ("-",)))
        ).all()
        for row in bounced:  # the email's own card says it bounced, not only the lead's
            row.delivery_status, row.delivery_at = "bounced", services.now()
            why = msg.fields.get("bounce_reason") or (msg.text_for_triage or "")[:300]
            row.delivery_error = why or "the mail server returned it"
        services.log(session, "bounced", lead.id, outbox_ids=[r.id for r in bounced])
        return
    if msg.is_auto:
        return
    followup.react_to_message(session, services, lead, triage)  # stops or switches, as configured
    # Touches written but not sent are stale once the lead speaks again.
    withdraw_touches(session, services, lead, "the lead replied")


def _learn_timezone(
    session: Session, services: Services, msg: InboundMessage, contact: Contact, lead: Lead | None
) -> None:
    """Where the lead lives, from a form field, their phone's region or their email's Date offset:
    their quiet hours are theirs. A stronger source replaces a weaker one, never the reverse."""
    found = timezones.best(
        contact.timezone,
        contact.timezone_source,
        fields=dict(msg.fields),
        phone=contact.phone,
        date_offset_min=msg.sender_utc_offset_min,
        at=msg.received_at,
        business_tz=services.business.timezone,
    )
    if found is None:
        return
    contact.timezone, contact.timezone_source = found
    services.log(
        session,
        "timezone_learned",
        lead.id if lead else None,
        contact_id=contact.id,
        tz=found[0],
        source=found[1],
    )
    if lead is not None:
        followup.replan(session, services, lead)  # planned in the old zone: again in theirs


def _apply_opt(
    session: Session,
    services: Services,
    msg: InboundMessage,
    triage: Triage,
    contact: Contact,
    lead: Lead | None,
) -> None:
    if msg.opt_in is True:
        opt_in(session, services, contact, lead.id if lead else None, msg.channel.value)
    elif msg.opt_in is False or _sure_opt_out(services, triage):
        # A form or webhook is no channel we send on: "stop" written there closes every channel
        # (closing "webform" would close nothing under opt_out_scope = "channel").
        forms = (Channel.WEBFORM, Channel.WEBHOOK)
        channel = ALL_CHANNELS if msg.channel in forms else msg.channel
        opt_out(session, services, contact, lead.id if lead else None, channel=channel)


def _sure_opt_out(services: Services, triage: Triage) -> bool:
    """Only a confident opt-out (a rule, or the classifier above the floor) stops all messages;
    a guess is flagged for a person instead (policy holds the draft with the reason)."""
    return (
        triage.category == Category.OPT_OUT and triage.confidence >= services.settings.brain.confidence_floor
    )


def read_stragglers(services: Services, limit: int = 500) -> int:
    """Queue a read of every message stored but never understood: the job that should have read
    it was lost (a Redis outage, a restart of the in-process queue) or its reader died mid-way.
    The platform's retry of such a message is a duplicate and reads nothing, so without this
    sweep it would sit in a lead nobody is told about. Returns how many were queued."""
    now = services.now()
    with services.db.session() as session:
        rows = session.execute(
            select(Message.id, Message.reading_until, Message.read_by)
            .join(Lead, Lead.conversation_id == Message.conversation_id)
            .where(
                Message.direction == Direction.INBOUND.value,
                Message.understood_at.is_(None),
                Message.is_auto.is_(False),
                Message.created_at <= now - timedelta(seconds=defaults.UNREAD_AFTER_S),
                Message.created_at >= now - timedelta(days=1),
            )
            .order_by(Message.id)
            .limit(limit)
        ).all()
    readers = services.queue.alive({r.read_by for r in rows if r.read_by})
    queued = 0
    for message_id, until, reader in rows:
        if until is not None and until > now and reader in readers:
            continue  # being read right now
        if services.queue.ensure("understand", message_id):
            log.warning("message %s was stored but never read; reading it now", message_id)
            queued += 1
    return queued


def understand_stored(services: Services, *message_ids: int) -> list[ReceiveResult]:
    """The `understand` job: read messages accept() stored, in order (one request's messages)."""
    services.learn_new_corrections()
    results: list[ReceiveResult] = []
    for message_id in message_ids:
        with services.db.session() as session:
            message = session.get(Message, message_id)
            if message is None or message.understood_at is not None:
                continue
            msg, stored = _restored(session, message)
        results.append(understand(services, msg, stored))
    return results


def _carrier(msg: InboundMessage) -> dict[str, Any]:
    """What the channel knew about a message beyond its text, kept with it until the brain reads
    it (in another process, maybe): a carrier keyword, a honeypot's verdict, a bounce."""
    return {
        "opt_in": msg.opt_in,
        "auto_reply": msg.auto_reply,
        "spam_reason": msg.spam_reason,
        "bounce": msg.bounce,
    }


def _restored(session: Session, message: Message) -> tuple[InboundMessage, _Stored]:
    """The message as its channel delivered it (from what was stored), and where it was stored."""
    conversation = session.get(Conversation, message.conversation_id)
    lead = session.scalar(select(Lead).where(Lead.conversation_id == conversation.id))
    contact = session.get(Contact, conversation.contact_id)
    carrier = (message.triage or {}).get("carrier") or {}
    msg = InboundMessage(
        channel=Channel(message.channel),
        text=message.text,
        received_at=message.created_at,
        raw_content_type=message.raw_content_type or "",
        sender_name=contact.name,
        sender_email=message.sender
        if message.channel == Channel.EMAIL.value and message.sender
        else contact.email,
        sender_phone=message.sender
        if message.channel == Channel.SMS.value and message.sender
        else contact.phone,
        sender_handle=conversation.thread_key if message.channel == Channel.TELEGRAM.value else None,
        subject=message.subject,
        provider_message_id=message.provider_message_id,
        in_reply_to=message.in_reply_to,
        references=tuple(message.references or ()),
        attachments=tuple(Attachment(**a) for a in message.attachments or ()),
        fields=dict((message.triage or {}).get("fields") or {}),
        triage_text=message.triage_text,
        is_auto=message.is_auto,
        bounce=bool(carrier.get("bounce")),
        opt_in=carrier.get("opt_in"),
        spam_reason=carrier.get("spam_reason"),
        auto_reply=carrier.get("auto_reply"),
    )
    in_open = _has_outbound(session, conversation.id)
    awaiting = not in_open and bool(msg.text_for_triage.strip()) and _no_words_yet(session, message)
    briefed = lead is not None and lead.brief is not None
    opened = (message.triage or {}).get("opened_lead")
    stored = _Stored(
        message.id,
        conversation.id,
        contact.id,
        lead.id if lead is not None else None,
        in_open,
        None,
        awaiting and briefed,
        lead is not None and (bool(opened) if opened is not None else not briefed),
    )
    return msg, stored
