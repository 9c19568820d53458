"""Data rights: everything held about one person, exported as JSON or erased.

A person is found by an email address or a phone number (normalised as on arrival) and followed
through every contact merged with them. Their data sits in contacts, identities, conversations,
messages (raw payloads included), leads, drafts, the outbox, refunds, the event log, card posts and
thread messages on the chat surfaces, triage
corrections and voice examples taken from their drafts, refused payloads and caught demo mail that
name them, and failed jobs about their messages. `erase` removes those rows (the event log keeps
only its kind, time and lead id, so metrics still add up) and leaves a tombstone: a digest of each
address, so a message from or to them later is treated as opted out and nothing is ever sent.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from sheepdog.domain.contacts import normalize_email, normalize_phone
from sheepdog.storage.db import Database
from sheepdog.storage.tables import (
    Base,
    CardPost,
    Contact,
    Conversation,
    Draft,
    Event,
    FailedJob,
    Identity,
    Lead,
    Message,
    Outbox,
    Refund,
    RejectedPayload,
    SinkMail,
    TeamIdentity,
    ThreadMessage,
    Tombstone,
    TriageCorrection,
    VoiceExample,
    utcnow,
)

ERASED = "erased"


def digest(kind: str, value: str) -> str:
    """What a tombstone keeps of an address: sha256 of kind and normalised value, never the value."""
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def is_erased(session: Session, keys: list[tuple[str, str]]) -> bool:
    """True when any of these identities belonged to someone erased (they must not be messaged)."""
    if not keys:
        return False
    digests = [digest(k, v) for k, v in keys]
    return session.scalar(select(Tombstone.id).where(Tombstone.digest.in_(digests)).limit(1)) is not None


@dataclass
class Person:
    """The contacts of one person (merged ones included) and their addresses."""

    query: str
    contact_ids: list[int] = field(default_factory=list)
    identities: list[tuple[str, str]] = field(default_factory=list)


def find(session: Session, region: str, who: str) -> Person:
    """Every contact reached by this email or phone, and every contact merged into or from them."""
    who = (who or "").strip()
    email = normalize_email(who) if "@" in who else None
    phone = None if email else normalize_phone(who, region)
    if not email and not phone:
        raise ValueError(f"{who!r} is neither an email address nor a phone number")
    kind, value = ("email", email) if email else ("phone", phone)
    ids = set(
        session.scalars(select(Identity.contact_id).where(Identity.kind == kind, Identity.value == value))
    )
    column = Contact.email if email else Contact.phone
    ids |= set(session.scalars(select(Contact.id).where(column == value)))
    while True:  # follow merges both ways until nothing new turns up
        more = set(session.scalars(select(Contact.merged_into_id).where(Contact.id.in_(ids)))) - {None}
        more |= set(session.scalars(select(Contact.id).where(Contact.merged_into_id.in_(ids))))
        if more <= ids:
            break
        ids |= more  # type: ignore[arg-type]
    person = Person(who, sorted(ids))  # type: ignore[arg-type]
    idents = session.execute(select(Identity.kind, Identity.value).where(Identity.contact_id.in_(ids))).all()
    person.identities = sorted({(k, v) for k, v in idents} | {(kind, value)})  # type: ignore[arg-type]
    return person


@dataclass
class Rows:
    """The rows of one person, table by table."""

    contacts: list[Contact]
    identities: list[Identity]
    conversations: list[Conversation]
    messages: list[Message]
    leads: list[Lead]
    drafts: list[Draft]
    outbox: list[Outbox]
    events: list[Event]
    card_posts: list[CardPost]
    thread_messages: list[ThreadMessage]
    team_identities: list[TeamIdentity]
    refunds: list[Refund]
    triage_corrections: list[TriageCorrection]
    voice_examples: list[VoiceExample]
    rejected_payloads: list[RejectedPayload]
    sink_mail: list[SinkMail]
    failed_jobs: list[FailedJob]


def _rows(session: Session, person: Person) -> Rows:
    ids = person.contact_ids
    conversations = list(session.scalars(select(Conversation).where(Conversation.contact_id.in_(ids))))
    conv_ids = [c.id for c in conversations]
    leads = list(
        session.scalars(select(Lead).where(or_(Lead.contact_id.in_(ids), Lead.conversation_id.in_(conv_ids))))
    )
    lead_ids = [lead.id for lead in leads]
    messages = list(session.scalars(select(Message).where(Message.conversation_id.in_(conv_ids))))
    message_ids = [m.id for m in messages]
    drafts = list(session.scalars(select(Draft).where(Draft.lead_id.in_(lead_ids))))
    draft_ids = [d.id for d in drafts]
    needles = [v.encode() for _, v in person.identities if len(v) >= 5]
    rejected = [
        r for r in session.scalars(select(RejectedPayload)) if any(n in (r.body or b"") for n in needles)
    ]
    emails = {v for k, v in person.identities if k == "email"}
    sink = [
        m for m in session.scalars(select(SinkMail)) if emails & {str(a).lower() for a in m.rcpt_to or []}
    ]
    failed = [
        j
        for j in session.scalars(select(FailedJob).where(FailedJob.job == "understand"))
        if set(j.args or []) & set(message_ids)
    ]
    return Rows(
        contacts=list(session.scalars(select(Contact).where(Contact.id.in_(ids)))),
        identities=list(session.scalars(select(Identity).where(Identity.contact_id.in_(ids)))),
        conversations=conversations,
        messages=messages,
        leads=leads,
        drafts=drafts,
        outbox=list(session.scalars(select(Outbox).where(Outbox.lead_id.in_(lead_ids)))),
        events=list(session.scalars(select(Event).where(Event.lead_id.in_(lead_ids)).order_by(Event.id))),
        card_posts=list(session.scalars(select(CardPost).where(CardPost.lead_id.in_(lead_ids)))),
        thread_messages=list(
            session.scalars(select(ThreadMessage).where(ThreadMessage.lead_id.in_(lead_ids)))
        ),
        team_identities=list(session.scalars(select(TeamIdentity).where(TeamIdentity.lead_id.in_(lead_ids)))),
        refunds=list(session.scalars(select(Refund).where(Refund.lead_id.in_(lead_ids)))),
        triage_corrections=list(
            session.scalars(select(TriageCorrection).where(TriageCorrection.message_id.in_(message_ids)))
        ),
        voice_examples=list(
            session.scalars(select(VoiceExample).where(VoiceExample.draft_id.in_(draft_ids)))
        ),
        rejected_payloads=rejected,
        sink_mail=sink,
        failed_jobs=failed,
    )


def _plain(row: Base) -> dict[str, Any]:
    """One row as JSON: bytes as UTF-8 text when they are, else base64; times as ISO 8601."""
    out: dict[str, Any] = {}
    for column in row.__table__.columns:
        value = getattr(row, column.key)
        if isinstance(value, bytes):
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError:
                value = {"base64": base64.b64encode(value).decode()}
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        elif value is not None and not isinstance(value, str | int | float | bool | list | dict):
            value = str(value)
        out[column.key] = value
    return out


def export(db: Database, region: str, who: str) -> dict[str, Any]:
    """Everything held about the person reached by `who`, table by table (an access request)."""
    with db.session() as session:
        person = find(session, region, who)
        rows = _rows(session, person)
        data = {name: [_plain(r) for r in getattr(rows, name)] for name in Rows.__dataclass_fields__}
        session.add(Event(at=utcnow(), kind="contact_exported", data={"contacts": len(person.contact_ids)}))
    return {"query": who, "contact_ids": person.contact_ids, "tables": data}


@dataclass
class Erased:
    counts: dict[str, int]
    lead_ids: list[int]


def erase(db: Database, region: str, who: str, actor: str | None = None) -> Erased:
    """Remove every row of the person reached by `who` (an erasure request): the count per table
    and the leads that went (for the surfaces to drop their cards). Their addresses stay only as
    tombstone digests: a message from them later opens an opted-out contact, so nothing is sent
    to them automatically again."""
    with db.session() as session:
        person = find(session, region, who)
        rows = _rows(session, person)
        counts = {name: len(getattr(rows, name)) for name in Rows.__dataclass_fields__}
        lead_ids = [lead.id for lead in rows.leads]
        message_ids = [m.id for m in rows.messages]
        draft_ids = [d.id for d in rows.drafts]
        contact_ids = person.contact_ids
        # Children first (foreign keys), then the people.
        for table_rows in (
            rows.triage_corrections,
            rows.voice_examples,
            rows.rejected_payloads,
            rows.sink_mail,
            rows.failed_jobs,
            rows.card_posts,
            rows.thread_messages,
            rows.team_identities,
            rows.refunds,
        ):
            for row in table_rows:
                session.delete(row)
        session.flush()
        session.execute(delete(Outbox).where(Outbox.lead_id.in_(lead_ids)))
        session.execute(update(Draft).where(Draft.id.in_(draft_ids)).values(reply_to_message_id=None))
        session.execute(delete(Draft).where(Draft.id.in_(draft_ids)))
        session.execute(delete(Lead).where(Lead.id.in_(lead_ids)))
        session.execute(delete(Message).where(Message.id.in_(message_ids)))
        session.execute(delete(Conversation).where(Conversation.contact_id.in_(contact_ids)))
        session.execute(delete(Identity).where(Identity.contact_id.in_(contact_ids)))
        session.execute(update(Contact).where(Contact.id.in_(contact_ids)).values(merged_into_id=None))
        session.execute(delete(Contact).where(Contact.id.in_(contact_ids)))
        # The event log keeps what happened and when (metrics), not what it was about.
        session.execute(
            update(Event).where(Event.lead_id.in_(lead_ids)).values(data={ERASED: True}, actor=None)
        )
        for kind, value in person.identities:
            d = digest(kind, value)
            if (
                session.scalar(select(Tombstone.id).where(Tombstone.kind == kind, Tombstone.digest == d))
                is None
            ):
                session.add(Tombstone(kind=kind, digest=d, erased_at=utcnow()))
        session.add(
            Event(
                at=utcnow(),
                kind="contact_erased",
                actor=actor,
                data={"contacts": len(contact_ids), "rows": sum(counts.values())},
            )
        )
    return Erased(counts, lead_ids)
