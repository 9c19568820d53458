"""The terminal as a surface: `sheepdog run` prints one line per inbound message and per send.

    14:02  ← Lee Park · web form · a pricing question → waits for you: answer within 15 minutes
    14:03  → Lee Park · email · sent, approved by Dana

The lines are read from the event log (like the console's live updates), so a send done by an RQ
worker on another machine shows up here too. Nothing in this module decides anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sheepdog.bot.cards import CHANNEL_WORDS, lead_title, waiting_words
from sheepdog.domain.attention import WHAT
from sheepdog.domain.clock import shown_time
from sheepdog.domain.models import ANSWER_PURPOSES, Category
from sheepdog.handlers.context import Services
from sheepdog.storage.tables import Contact, Conversation, Draft, Event, Lead, Message

KINDS = ("draft_created", "decision", "automatic_message", "carrier_keyword", "sent", "send_failed")
"""The events that make a line: a message read and decided, a message sent or failing to send."""

POLL_S = 0.5  # how often `run` looks at the event log for new lines


def _what(category: str | None) -> str:
    try:
        return WHAT[Category(category or "other")]
    except ValueError:
        return category or "a message"


def _channel(name: str | None) -> str:
    return CHANNEL_WORDS.get(name or "", name or "?")


def _inbound(s: Session, event: Event, lead: Lead) -> str | None:
    data = event.data or {}
    if event.kind == "draft_created":
        if data.get("purpose") not in ANSWER_PURPOSES:
            return None  # a follow-up of a cadence: its send gets a line
        draft = s.get(Draft, data.get("draft_id"))
        asked = s.get(Message, draft.reply_to_message_id) if draft and draft.reply_to_message_id else None
        what = _what(asked.category if asked else (lead.brief or {}).get("category"))
        channel = _channel(asked.channel if asked else lead.channel)
        if data.get("decision") == "send":
            decided = "answered on its own"
        else:
            decided = f"waits for you: {waiting_words(draft, asked)}" if draft else "waits for you"
        return f"← {lead_title(lead)} · {channel} · {what} → {decided}"
    reasons = data.get("reasons") or []
    why = str(reasons[0]) if reasons else str(data.get("kind", ""))
    verb = "waits for you" if data.get("kind") == "handoff" else "nothing sent"
    return f"← {lead_title(lead)} · {_channel(lead.channel)} → {verb}: {why}"


def _line(s: Session, event: Event) -> str | None:
    data = event.data or {}
    lead = s.get(Lead, event.lead_id) if event.lead_id else None
    if event.kind in ("automatic_message", "carrier_keyword"):
        msg = s.get(Message, data.get("message_id"))
        contact = None
        if msg is not None:
            contact = s.scalar(
                select(Contact)
                .join(Conversation, Conversation.contact_id == Contact.id)
                .where(Conversation.id == msg.conversation_id)
            )
        who = (contact.name or contact.email or contact.phone) if contact else "someone"
        what = (
            "an automatic reply (bounce or out-of-office)"
            if event.kind == "automatic_message"
            else "a keyword"
        )
        return f"← {who} · {_channel(data.get('channel'))} · {what} → not answered"
    if lead is None:
        return None
    if event.kind in ("draft_created", "decision"):
        return _inbound(s, event, lead)
    channel = _channel(data.get("channel"))
    if event.kind == "sent":
        how = "sent on its own" if data.get("automated") else f"sent, approved by {event.actor}"
        if data.get("purpose") == "holding_reply":
            how = "holding reply sent on its own"
        return f"→ {lead_title(lead)} · {channel} · {how}"
    error = str(data.get("error") or "").splitlines()[0:1]
    return f"✗ {lead_title(lead)} · {channel} · not sent: {error[0] if error else 'failed'}"


def lines_after(services: Services, after: int, limit: int = 200) -> tuple[list[str], int]:
    """The lines for events after `after` (an event id) and the last id read."""
    tz, now = services.business.timezone, services.now()
    with services.db.session() as s:
        events = s.scalars(
            select(Event).where(Event.id > after, Event.kind.in_(KINDS)).order_by(Event.id).limit(limit)
        ).all()
        out = []
        for event in events:
            after = event.id
            line = _line(s, event)
            if line:
                out.append(f"{shown_time(event.at, tz, now):>5}  {line}")
        return out, after


def last_event_id(services: Services) -> int:
    with services.db.session() as s:
        return int(s.scalar(select(func.max(Event.id))) or 0)


async def follow(services: Services, write: Callable[[str], Any], poll_s: float = POLL_S) -> None:
    """Print a line for each new message and send until cancelled (history is not replayed)."""
    after = await asyncio.to_thread(last_event_id, services)
    while True:
        lines, after = await asyncio.to_thread(lines_after, services, after)
        for line in lines:
            write(line)
        await asyncio.sleep(poll_s)
