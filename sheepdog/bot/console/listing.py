"""The console's lead list: what needs a person first, each row with its reason in plain words.

The store is read in a handful of set-wise queries (no query per lead); `domain.attention` turns
what was read into the level, the sentence and the order; `domain.clock` writes every time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from sheepdog.bot.cards import CHANNEL_WORDS, lead_title
from sheepdog.domain.attention import Attention, LeadFacts, attention, signal_names
from sheepdog.domain.clock import shown_time
from sheepdog.domain.models import Direction, DraftState, Stage
from sheepdog.storage.tables import Draft, Lead, Message

LIST_RECENT = 100
"""The newest leads the list shows besides every lead that waits for someone; older ones are
reached by their link (?lead=ID). A page like Chatwoot's or Intercom's inbox, not the whole store:
reading 500 leads on every poll made the bot's memory climb with the data (bench soak: +13 % RSS
in 3 minutes at 500 leads, +5 % with a shorter list)."""
LIST_LIMIT = 500
"""At most this many rows in all, however many wait (the most recent first)."""

HELD_AS_SPAM = "held as spam"
"""A list group, not a stage: spam stays 'new' in the data (metrics ignore it) but is shown apart,
so it never crowds the leads a person should answer."""


def list_group(lead: Lead) -> str:
    held = (lead.brief or {}).get("category") == "spam" and lead.stage == Stage.NEW.value
    return HELD_AS_SPAM if held and not lead.needs_attention else lead.stage


def lead_row(
    lead: Lead, last_at: datetime | None, tz: str, now: datetime, seen: Attention | None = None
) -> dict[str, Any]:
    """One row of the list (and the head of a thread): who, where, and what it needs."""
    at = last_at or lead.created_at
    row: dict[str, Any] = {
        "id": lead.id,
        "name": lead_title(lead),
        "stage": list_group(lead),
        "grade": lead.grade,
        "score": lead.score,
        "channel": CHANNEL_WORDS.get(lead.channel, lead.channel),
        "owner": lead.owner,
        "needs_attention": lead.needs_attention,
        "category": (lead.brief or {}).get("category"),
        "cadence_state": lead.cadence_state,
        "last_at": at.isoformat(),
        "when": shown_time(at, tz, now),
    }
    if seen is not None:
        row["attention"] = {"level": seen.slug, "label": seen.label, "reason": seen.reason}
    return row


def _newest_ids(session: Session, conversation_ids: list[int], direction: str) -> dict[int, int]:
    rows = session.execute(
        select(Message.conversation_id, func.max(Message.id))
        .where(Message.conversation_id.in_(conversation_ids), Message.direction == direction)
        .group_by(Message.conversation_id)
    ).all()
    return {conv: mid for conv, mid in rows}


def lead_rows(
    session: Session, tz: str, now: datetime, pricing_within_s: int, only: int | None = None
) -> list[dict[str, Any]]:
    """The list, most urgent first (see domain.attention for the order); `only`: one lead's row."""
    last = (
        select(Message.conversation_id, func.max(Message.created_at).label("last_at"))
        .group_by(Message.conversation_id)
        .subquery()
    )
    query = select(Lead, last.c.last_at).outerjoin(last, last.c.conversation_id == Lead.conversation_id)
    if only is not None:
        query = query.where(Lead.id == only)
    else:
        # Whatever waits for someone is listed however old it is; of the rest, the newest.
        recent = select(Lead.id).order_by(Lead.id.desc()).limit(LIST_RECENT)
        waiting = select(Draft.lead_id).where(Draft.state == DraftState.PENDING.value)
        query = query.where(or_(Lead.id.in_(recent), Lead.needs_attention.is_not(None), Lead.id.in_(waiting)))
    pairs = session.execute(query.order_by(Lead.id.desc()).limit(LIST_LIMIT)).all()
    if not pairs:
        return []
    lead_ids = [lead.id for lead, _ in pairs]
    conv_ids = [lead.conversation_id for lead, _ in pairs]
    inbound_ids = _newest_ids(session, conv_ids, Direction.INBOUND.value)
    outbound_ids = _newest_ids(session, conv_ids, Direction.OUTBOUND.value)
    wanted = [*inbound_ids.values(), *outbound_ids.values()]
    messages = (
        {m.id: m for m in session.scalars(select(Message).where(Message.id.in_(wanted))).all()}
        if wanted
        else {}
    )
    pending: dict[int, Draft] = {}
    for draft in session.scalars(
        select(Draft)
        .where(Draft.lead_id.in_(lead_ids), Draft.state == DraftState.PENDING.value)
        .order_by(Draft.id)
    ):
        pending[draft.lead_id] = draft  # the newest waiting reply per lead
    scored: list[tuple[tuple[int, float, int], dict[str, Any]]] = []
    for lead, last_at in pairs:
        inbound = messages.get(inbound_ids.get(lead.conversation_id, -1))
        outbound = messages.get(outbound_ids.get(lead.conversation_id, -1))
        draft = pending.get(lead.id)
        triage = (inbound.triage if inbound is not None else None) or {}
        auto = outbound is not None and outbound.author == "Sheepdog"
        if auto and inbound is not None and inbound.id > outbound.id:  # type: ignore[union-attr]
            auto = False  # they wrote again since: that is what the lead is about now
        facts = LeadFacts(
            now=now,
            stage=lead.stage,
            category=(inbound.category if inbound is not None else None)
            or (lead.brief or {}).get("category"),
            signals=signal_names(triage),
            next_action=(lead.brief or {}).get("next_action"),
            owner=lead.owner,
            needs_attention=lead.needs_attention,
            pending_draft=draft is not None,
            draft_reasons=tuple(str(r) for r in (draft.reasons or [])) if draft is not None else (),
            waiting_since=(
                draft.created_at
                if draft is not None
                else inbound.created_at
                if inbound is not None and lead.needs_attention
                else None
            ),
            auto_sent_at=outbound.created_at if auto and outbound is not None else None,
            held_as_spam=list_group(lead) == HELD_AS_SPAM,
            last_at=last_at or lead.created_at,
            pricing_within_s=pricing_within_s,
        )
        seen = attention(facts)
        scored.append((seen.sort_key(lead.id), lead_row(lead, last_at, tz, now, seen)))
    scored.sort(key=lambda pair: pair[0])
    return [row for _, row in scored]
