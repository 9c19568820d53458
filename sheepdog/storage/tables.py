"""SQLAlchemy 2 models: contacts and identities, conversations, messages, leads, drafts,
the outbox, the append-only event log, and what the surfaces need to update cards in place."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    Select,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out — on SQLite too, which forgets the zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to storage; use aware UTC datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class Contact(Base):
    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), index=True)  # primary email, lower-cased
    phone: Mapped[str | None] = mapped_column(String(20), index=True)  # primary phone, E.164
    company: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str | None] = mapped_column(String(64))  # IANA zone: quiet hours are theirs
    timezone_source: Mapped[str | None] = mapped_column(String(32))  # "form", "phone", "email date"
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)  # no messages on any channel
    opted_out_at: Mapped[datetime | None]
    # The channels they opted out on ("sms", "email", …; "*" when the team opted them out): with
    # policy.opt_out_scope = "channel" only those are closed, and START reopens its own channel.
    opted_out_channels: Mapped[list[Any] | None] = mapped_column(JSON, default=list)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    identities: Mapped[list[Identity]] = relationship(back_populates="contact")


class Identity(Base):
    """One way to reach a contact: ("email", "a@b.c"), ("phone", "+1…"), ("telegram", "123")."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_identities_kind_value"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(320))
    contact: Mapped[Contact] = relationship(back_populates="identities")


class Conversation(Base):
    __tablename__ = "conversations"
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    thread_key: Mapped[str | None] = mapped_column(String(320), index=True)
    subject: Mapped[str | None] = mapped_column(String(1000))  # RFC 5322: 998 a line
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "provider_message_id", name="uq_messages_channel_provider_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    direction: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    author: Mapped[str | None] = mapped_column(String(200))  # team member for outbound and notes
    # The address, number or chat the customer wrote from (inbound): answers go back to it.
    sender: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(1000))  # RFC 5322: 998 a line
    text: Mapped[str] = mapped_column(Text, default="")
    triage_text: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(500))
    in_reply_to: Mapped[str | None] = mapped_column(String(500))
    references: Mapped[list[Any]] = mapped_column(JSON, default=list)
    attachments: Mapped[list[Any]] = mapped_column(JSON, default=list)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    raw_content_type: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(32))
    confidence: Mapped[float | None]
    triage: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    is_auto: Mapped[bool] = mapped_column(Boolean, default=False)
    edits: Mapped[list[Any]] = mapped_column(JSON, default=list)  # earlier versions of an edited message
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # The brain's read of an inbound message is a lease: whoever holds it (reading_until in the
    # future) reads the message; understood_at is set once the decision is stored. A reader killed
    # mid-way leaves understood_at empty and the lease runs out, so the straggler sweep reads it again.
    reading_until: Mapped[datetime | None]
    read_by: Mapped[str | None] = mapped_column(String(200))  # the process reading it (PROCESS_ID)
    understood_at: Mapped[datetime | None] = mapped_column(index=True)


class Lead(Base):
    __tablename__ = "leads"
    __table_args__ = (Index("ix_leads_cadence_due", "cadence_state", "cadence_next_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(32), default="new", index=True)
    owner: Mapped[str | None] = mapped_column(String(200))  # the team member who claimed it
    score: Mapped[int | None]
    grade: Mapped[str | None] = mapped_column(String(1))
    brief: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    source: Mapped[str | None] = mapped_column(String(200))
    referral: Mapped[str | None] = mapped_column(String(200))
    returning_customer: Mapped[bool] = mapped_column(Boolean, default=False)
    # Why a human must look, shown on the card.
    needs_attention: Mapped[str | None] = mapped_column(Text)
    first_response_at: Mapped[datetime | None]
    cadence: Mapped[str | None] = mapped_column(String(64))
    cadence_state: Mapped[str | None] = mapped_column(String(16))  # active / paused / stopped / done
    cadence_step: Mapped[int] = mapped_column(Integer, default=0)  # index of the next step
    cadence_started_at: Mapped[datetime | None]
    cadence_next_at: Mapped[datetime | None] = mapped_column(index=True)
    cadence_stop_reason: Mapped[str | None] = mapped_column(Text)
    outcome_value: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    outcome_currency: Mapped[str | None] = mapped_column(String(3))
    lost_reason: Mapped[str | None] = mapped_column(String(500))
    visit_at: Mapped[datetime | None]  # the visit booked with `/sheepdog visit 12 thu 9am`
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    contact: Mapped[Contact] = relationship()
    conversation: Mapped[Conversation] = relationship()


class Draft(Base):
    __tablename__ = "drafts"
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    reply_to_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    purpose: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str | None] = mapped_column(String(1000))  # RFC 5322: 998 a line
    body: Mapped[str] = mapped_column(Text)
    original_body: Mapped[str | None] = mapped_column(Text)  # what the brain wrote, when a human edited it
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    decision: Mapped[str | None] = mapped_column(String(16))
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)  # why it waits (policy, guardrails)
    backend: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    lead: Mapped[Lead] = relationship()


class Outbox(Base):
    """One message to deliver exactly once. The row is the lock: sending claims it atomically; the
    idempotency key (draft:<id>, holding:<message id>, refund:<id>, a surface's event id for a team
    reply) makes a second row for the same intent impossible."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    purpose: Mapped[str | None] = mapped_column(String(64))  # holding_reply / refund_confirmation / …
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("drafts.id"), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    author: Mapped[str | None] = mapped_column(String(200))
    to_email: Mapped[str | None] = mapped_column(String(320))
    to_phone: Mapped[str | None] = mapped_column(String(20))
    to_handle: Mapped[str | None] = mapped_column(String(200))
    to_name: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(1000))  # RFC 5322: 998 a line
    body: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(500))
    in_reply_to: Mapped[str | None] = mapped_column(String(500))
    references: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # queued / sending / sent / failed / cancelled / uncertain (may have gone out: a person checks)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime | None]  # when a worker took it to send (the stuck-send sweep's clock)
    claimed_by: Mapped[str | None] = mapped_column(String(200))  # the process sending it (jobs.liveness)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(500), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    # What the carrier or mail system said afterwards: delivered / failed / undelivered / bounced
    delivery_status: Mapped[str | None] = mapped_column(String(32))
    delivery_error: Mapped[str | None] = mapped_column(Text)
    delivery_at: Mapped[datetime | None]


class Event(Base):
    """Append-only log of everything that happened; metrics and live cards read it."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_lead_id_id", "lead_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    lead_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class RejectedPayload(Base):
    """A request we refused, kept for inspection: nothing is dropped silently."""

    __tablename__ = "rejected_payloads"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    endpoint: Mapped[str] = mapped_column(String(200))
    status: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)


class VoiceExample(Base):
    """An owner's edit, kept as a new example of their voice."""

    __tablename__ = "voice_examples"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(200))
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("drafts.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TriageCorrection(Base):
    """A correction ("this was a booking"), replayed into the brain at start-up."""

    __tablename__ = "triage_corrections"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    text: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(32))
    author: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CardPost(Base):
    """Where a card lives on a chat surface ("slack", "telegram", "telegram:owner"), so it is
    updated in place and never posted twice. A row with no ref is a post in flight (the claim)."""

    __tablename__ = "card_posts"
    __table_args__ = (UniqueConstraint("surface", "card_key", name="uq_card_posts_surface_card"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    surface: Mapped[str] = mapped_column(String(32))
    card_key: Mapped[str] = mapped_column(String(200))  # "brief:12", "draft:40", "message:77"
    lead_id: Mapped[int] = mapped_column(Integer, index=True)
    container: Mapped[str | None] = mapped_column(String(200))  # Slack channel id, Telegram chat id
    ref: Mapped[str | None] = mapped_column(String(200), index=True)  # Slack ts, Telegram message id
    thread_ref: Mapped[str | None] = mapped_column(String(200))  # Slack root ts, Telegram topic id
    content_hash: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SeenDelivery(Base):
    """A platform delivery already handled (Slack event_id, Telegram update_id), so a retry or a
    replay never acts twice. The unique key makes it atomic; rows older than a week are pruned."""

    __tablename__ = "seen_deliveries"
    __table_args__ = (UniqueConstraint("source", "delivery_id", name="uq_seen_deliveries_source_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))  # "slack", "telegram"
    delivery_id: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ThreadMessage(Base):
    """A team member's own message on a surface that became something (a reply, a note), or a
    prompt the bot is waiting on (Telegram's ForceReply for an edit, an amount, a reason)."""

    __tablename__ = "thread_messages"
    __table_args__ = (UniqueConstraint("surface", "message_key", name="uq_thread_messages_surface_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    surface: Mapped[str] = mapped_column(String(32))
    message_key: Mapped[str] = mapped_column(String(200))  # "<channel>:<ts>", "<chat>:<message id>"
    lead_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(32))  # reply / note / prompt:edit / prompt:won / preview:edit …
    ref: Mapped[str | None] = mapped_column(String(200))  # the outbox row, note, or draft it is about
    content_hash: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[str | None] = mapped_column(Text)  # an edit shown back before it is sent
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TeamIdentity(Base):
    """Who claimed a lead on a surface: Lead.owner holds the name, this row the platform's user id,
    valid only while Lead.owner is still that name (an escalation mentions them; they can release
    the lead after renaming themselves)."""

    __tablename__ = "team_identities"
    __table_args__ = (UniqueConstraint("surface", "lead_id", name="uq_team_identities_surface_lead"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    surface: Mapped[str] = mapped_column(String(32))
    lead_id: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(200))  # Lead.owner when they claimed it
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SinkMail(Base):
    """Mail caught by the demo's local SMTP sink, shown in the console."""

    __tablename__ = "sink_mail"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    mail_from: Mapped[str] = mapped_column(String(320))
    rcpt_to: Mapped[list[Any]] = mapped_column(JSON, default=list)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class FailedJob(Base):
    """A job of the in-process queue that failed every retry (RQ keeps its own failed registry):
    listed by `sheepdog doctor`, `sheepdog jobs` and the console, retried or dropped from there."""

    __tablename__ = "failed_jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    job: Mapped[str] = mapped_column(String(64))
    args: Mapped[list[Any]] = mapped_column(JSON, default=list)
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    failed_at: Mapped[datetime] = mapped_column(default=utcnow)


class LeadHistory(Base):
    """A past lead from the business's CRM export (`sheepdog leads import`): what it looked like
    and how it ended, for the scorer to learn from before Sheepdog has outcomes of its own."""

    __tablename__ = "lead_history"
    id: Mapped[int] = mapped_column(primary_key=True)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    file: Mapped[str] = mapped_column(String(500))
    row: Mapped[int] = mapped_column(Integer)
    source: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str | None] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(String(32))
    signals: Mapped[list[Any]] = mapped_column(JSON, default=list)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # unknown columns, as written
    response_s: Mapped[float | None]
    won: Mapped[bool] = mapped_column(Boolean)
    value: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))


class ScorerModel(Base):
    """A fitted lead scorer (brain.scoring.LearnedModel as JSON); the newest row is the one in use."""

    __tablename__ = "scorer_models"
    id: Mapped[int] = mapped_column(primary_key=True)
    trained_at: Mapped[datetime] = mapped_column(default=utcnow)
    outcomes: Mapped[int] = mapped_column(Integer)
    last_outcome_id: Mapped[int] = mapped_column(Integer)  # the newest outcome event it learnt from
    history_rows: Mapped[int] = mapped_column(Integer)
    model: Mapped[dict[str, Any]] = mapped_column(JSON)


class AppSetting(Base):
    """A setting changed from chat (autonomy per workflow) or made once (the unsubscribe-link
    key): it wins over the config file and survives restarts."""

    __tablename__ = "app_settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Refund(Base):
    """A refund the team confirmed: one per lead and customer message (a double click records one)."""

    __tablename__ = "refunds"
    __table_args__ = (UniqueConstraint("lead_id", "message_id", name="uq_refunds_lead_message"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    message_id: Mapped[int | None] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(16))  # processed (webhook accepted) / to_do (owner pays)
    actor: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Tombstone(Base):
    """What is left of an erased contact: a keyed digest of each address they used, so a message
    from (or to) that address again is treated as opted out; no name, no address, no text."""

    __tablename__ = "tombstones"
    __table_args__ = (UniqueConstraint("kind", "digest", name="uq_tombstones_kind_digest"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # an Identity kind: email, phone, telegram …
    digest: Mapped[str] = mapped_column(String(64))  # sha256 hex of the normalised value
    erased_at: Mapped[datetime] = mapped_column(default=utcnow)


def customer_messages(lead: Lead, *, newest_first: bool = True) -> Select[tuple[Message]]:
    """What the customer wrote on this lead's conversation, newest first (or oldest first): the
    query the cards, drafts, corrections and learning start from, each adding its own limit or
    columns (`.with_only_columns(Message.triage)`)."""
    order = Message.id.desc() if newest_first else Message.id.asc()
    return (
        select(Message)
        .where(Message.conversation_id == lead.conversation_id, Message.direction == "inbound")
        .order_by(order)
    )
