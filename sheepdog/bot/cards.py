"""Surface-neutral cards: the console, Slack and Telegram render these same objects.

A lead's thread is its brief card followed by its messages, drafts and notes in time order.
Status lines read as a person would say them: "Approved by Dana · sent 14:02 by email".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sheepdog.config import Settings
from sheepdog.domain.attention import LeadFacts, attention, signal_names
from sheepdog.domain.cadence import CadenceDef, CadenceState, OutboxState
from sheepdog.domain.clock import shown_time
from sheepdog.domain.followup import followup_line
from sheepdog.domain.models import Channel, DraftState, Money
from sheepdog.handlers.followup import run_of
from sheepdog.storage.tables import Draft, Event, Lead, Message, Outbox, Refund, customer_messages

CHANNEL_WORDS = {c.value: c.words for c in Channel}
NEXT_ACTION_WORDS = {
    "call_now": "Call now",
    "fast_cadence": "Fast follow-up",
    "nurture": "Nurture",
    "polite_decline": "Politely decline",
}


@dataclass(frozen=True)
class Button:
    action: str  # approve / edit / pause / skip / resume
    label: str
    value: str  # the draft or lead id the action is for
    style: str = "default"  # primary / danger / default


@dataclass(frozen=True)
class Card:
    key: str  # stable id per surface post: "brief:12", "draft:40", "message:77"
    kind: str  # brief / draft / inbound / outbound / note
    lead_id: int
    title: str
    text: str
    at: datetime
    fields: tuple[tuple[str, str], ...] = ()
    status: str | None = None
    buttons: tuple[Button, ...] = ()
    author: str | None = None
    flags: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    # Stage buttons (Visit scheduled / Quoted / Won / Lost) for chat surfaces; the console has
    # its own stage controls, so they are kept apart from `buttons`.
    stage_buttons: tuple[Button, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "lead_id": self.lead_id,
            "title": self.title,
            "text": self.text,
            "at": self.at.isoformat(),
            "fields": [list(f) for f in self.fields],
            "status": self.status,
            "buttons": [b.__dict__ for b in self.buttons],
            "author": self.author,
            "flags": list(self.flags),
            "extra": self.extra,
            "stage_buttons": [b.__dict__ for b in self.stage_buttons],
        }


def _clock(at: datetime | None, tz: str) -> str:
    """The business's clock, with the day when it is not today (domain.clock: one clock everywhere)."""
    return shown_time(at, tz)


def lead_title(lead: Lead) -> str:
    c = lead.contact
    return c.name or c.email or c.phone or f"Lead #{lead.id}"


@dataclass(frozen=True)
class LeadExtras:
    """What a brief card shows beyond the lead row, read in the same session by lead_cards."""

    autonomy: str | None = None  # "L4 (config)", "L5 (set by Dana in chat)"
    refund_button: str | None = None  # "Refund $40 and confirm"
    history: str | None = None  # the customer's history, for a refund above the threshold
    uncertain: int = 0  # sends that may not have gone out
    cadences: dict[str, CadenceDef] | None = None  # the configured cadences, for their labels


def followup_text(lead: Lead, tz: str, cadences: dict[str, CadenceDef] | None = None) -> str | None:
    """'Follow-up: post-quote, next touch Thu 10:00 by SMS' (domain.followup), for any surface."""
    channel = {"webform": "email", "webhook": "email"}.get(lead.channel, lead.channel)
    if lead.channel in ("webform", "webhook") and not lead.contact.email and lead.contact.phone:
        channel = "sms"
    defn = (cadences or {}).get(lead.cadence or "")
    return followup_line(run_of(lead), defn, tz, channel, datetime.now(UTC))


def brief_card(lead: Lead, tz: str, extras: LeadExtras | None = None) -> Card:
    brief = lead.brief or {}
    c = lead.contact
    contact = " · ".join(x for x in (c.email, c.phone) if x)
    fields = [
        ("Channel", CHANNEL_WORDS.get(lead.channel, lead.channel)),
        ("Score", f"{lead.score} ({lead.grade})" if lead.score is not None else "—"),
        ("Next action", NEXT_ACTION_WORDS.get(brief.get("next_action", ""), brief.get("next_action", "—"))),
        ("Source", lead.source or "—"),
        ("Stage", lead.stage.replace("_", " ")),
        ("Owner", lead.owner or "unclaimed"),
    ]
    if contact:
        fields.insert(0, ("Contact", contact))
    if lead.referral:
        fields.append(("Referred by", lead.referral))
    if lead.returning_customer:
        fields.append(("Returning", "yes, a past customer"))
    if c.timezone:
        source = {"form": "from the form", "phone": "from their phone", "email date": "from their email"}
        fields.append(("Lead's time zone", f"{c.timezone} ({source.get(c.timezone_source or '', 'given')})"))
    if lead.visit_at is not None:
        fields.append(("Visit", shown_time(lead.visit_at, tz)))
    extras = extras or LeadExtras()
    if line := followup_text(lead, tz, extras.cadences):
        fields.append(("Cadence", line.removeprefix("Follow-up: ")))
    if extras.autonomy:
        fields.append(("Autonomy", extras.autonomy))
    if extras.history:
        fields.append(("History", extras.history))
    buttons: tuple[Button, ...] = ()
    if lead.cadence_state == CadenceState.ACTIVE:
        buttons = (Button("pause", "Pause", str(lead.id)),)
    elif lead.cadence_state == CadenceState.PAUSED:
        buttons = (Button("resume", "Resume", str(lead.id), "primary"),)
    if extras.refund_button:
        buttons = (Button("refund", extras.refund_button, str(lead.id), "primary"), *buttons)
    if extras.uncertain:
        buttons = (
            Button("went_out", "It went out", str(lead.id)),
            Button("send_again", "Send again", str(lead.id), "danger"),
            *buttons,
        )
    status = f"Claimed by {lead.owner}" if lead.owner else None
    if lead.needs_attention:
        facts = LeadFacts(
            now=datetime.now(UTC),
            stage=lead.stage,  # the category: named by the attention line itself (not the first message's)
            needs_attention=lead.needs_attention,
            waiting_since=lead.updated_at,
        )
        why = attention(facts).reason  # plain words: "Waiting for you: a booking request — …"
        status = f"{status} · {why}" if status else why
    return Card(
        stage_buttons=stage_buttons(lead),
        key=f"brief:{lead.id}",
        kind="brief",
        lead_id=lead.id,
        title=f"{lead_title(lead)} — {brief.get('category', 'new lead').replace('_', ' ')}",
        text=brief.get("summary", ""),
        at=lead.created_at,
        fields=tuple(fields),
        status=status,
        buttons=buttons,
        flags=tuple(brief.get("flags", [])),
        extra={"reasons": brief.get("reasons", []), "grade": lead.grade, "score": lead.score},
    )


STAGE_BUTTONS = (
    ("visit_scheduled", "Visit scheduled", "default"),
    ("quoted", "Quoted", "default"),
    ("won", "Won…", "primary"),
    ("lost", "Lost…", "danger"),
)
"""The stage buttons of a lead's card (kinds of handlers.team_actions); Won asks for the amount,
Lost for the reason."""
STAGE_ORDER = ("new", "contacted", "qualified", "visit_scheduled", "quoted")


def stage_buttons(lead: Lead) -> tuple[Button, ...]:
    """The stages a lead can still move to: none once won or lost, never the one it is in."""
    if lead.stage in ("won", "lost"):
        return ()
    return tuple(
        Button(kind, label, str(lead.id), style) for kind, label, style in STAGE_BUTTONS if kind != lead.stage
    )


ESCALATION_KINDS = ("sla_escalated", "handoff")


def escalation_events(session: Session, lead_id: int) -> list[Event]:
    return list(
        session.scalars(
            select(Event).where(Event.lead_id == lead_id, Event.kind.in_(ESCALATION_KINDS)).order_by(Event.id)
        )
    )


def escalation_card(
    event: Event, *, mention: str, holder: str | None, claim_hint: str, esc: Callable[[str], str]
) -> Card:
    """A thread message that pings someone: SLA breach, pricing question, complaint.

    Its text is the surface's markup, rendered as is so the mention notifies: `mention` (the
    on-call member, or the owner, with a trailing space) and `holder` (whoever holds the lead) come
    rendered by the surface; everything else is escaped here with `esc`."""
    data = event.data or {}
    if event.kind == "sla_escalated" and str(data.get("reason", "")).startswith("handoff:"):
        minutes = int(data.get("waited_s") or 0) // 60
        has = f" ({holder} has it)" if holder else ""
        text = (
            f"{mention}still untouched after {minutes} minutes{has}: "
            f"{esc(str(data.get('why') or 'a human should answer'))}"
        )
    elif event.kind == "sla_escalated":
        text = f"{mention}nobody has claimed this lead yet. {claim_hint}"
    else:
        reasons = esc(", ".join(str(r) for r in data.get("reasons") or []) or "a human should answer")
        within = data.get("notify_within_s")
        when = f" within {int(within) // 60} minutes" if within else (" now" if data.get("urgent") else "")
        has = f" ({holder} has it)" if holder else ""
        text = f"{mention}needs a person{when}{has}: {reasons}"
    return Card(
        key=f"event:{event.id}",
        kind="alert",
        lead_id=event.lead_id or 0,
        title="Attention",
        text=text,
        at=event.at,
    )


def waiting_words(draft: Draft, reply_to: Message | None, pricing_within_s: int = 900) -> str:
    """Why a draft waits, in plain words (domain.attention), not the policy's 'L4: other waits'."""
    triage = (reply_to.triage if reply_to is not None else None) or {}
    facts = LeadFacts(
        now=datetime.now(UTC),
        stage=draft.lead.stage if draft.lead is not None else "new",
        category=reply_to.category if reply_to is not None else triage.get("category"),
        signals=signal_names(triage),
        pending_draft=True,
        draft_reasons=tuple(str(r) for r in draft.reasons or ()),
        waiting_since=draft.created_at,
        pricing_within_s=pricing_within_s,
    )
    return attention(facts).words


def draft_status(
    draft: Draft, outbox: Outbox | None, tz: str, reply_to: Message | None = None, pricing_within_s: int = 900
) -> str:
    """'Approved by Dana · sent 14:02 by email', 'Skipped by Ali', 'Waiting for approval: …'."""
    channel = CHANNEL_WORDS.get(draft.channel, draft.channel)
    state = DraftState(draft.state)
    if state == DraftState.PENDING:
        return f"Waiting for approval: {waiting_words(draft, reply_to, pricing_within_s)}"
    verb = {DraftState.EDITED: "Edited and approved", DraftState.SKIPPED: "Skipped"}.get(state, "Approved")
    if draft.original_body is not None and state != DraftState.SKIPPED:
        verb = "Edited and approved"
    if draft.decided_by and draft.decided_by.startswith("Sheepdog"):
        verb = "Sent automatically" if state == DraftState.SENT else "Approved automatically"
        head = f"{verb} ({draft.decided_by.removeprefix('Sheepdog ').strip('()')})"
    else:
        head = f"{verb} by {draft.decided_by}" if draft.decided_by else verb
    if outbox is not None and outbox.state == OutboxState.UNCERTAIN:
        return f"{head} · may not have gone out — check: {outbox.last_error}"
    if state == DraftState.SENT:
        sent = f"{head} · sent {_clock(draft.sent_at, tz)} by {channel}"
        if outbox is not None and outbox.delivery_status in ("delivered", "read"):
            return f"{sent} · delivered {_clock(outbox.delivery_at, tz)}"
        if outbox is not None and outbox.delivery_status in ("failed", "undelivered", "bounced"):
            return f"{sent} · {outbox.delivery_status}: {outbox.delivery_error or 'no reason given'}"
        return sent
    if state == DraftState.FAILED:
        return f"{head} · failed to send by {channel}: {draft.error}"
    if state in (DraftState.APPROVED, DraftState.EDITED):
        if outbox is not None and outbox.state == OutboxState.QUEUED and outbox.attempts:
            # last_error is the send job's short sentence; the full error is in the event log
            tries = f"{outbox.attempts} attempt{'s' if outbox.attempts != 1 else ''} so far"
            return f"{head} · not sent yet: {outbox.last_error}; will retry ({tries})"
        if outbox is not None and outbox.state == OutboxState.QUEUED:
            return f"{head} · queued to send by {channel}"  # honest under a backlog
        return f"{head} · sending by {channel}…"
    return head


def draft_card(
    draft: Draft,
    outbox: Outbox | None,
    tz: str,
    cadence_state: str | None = None,
    reply_to: Message | None = None,
    pricing_within_s: int = 900,
) -> Card:
    pending = draft.state == DraftState.PENDING
    # Pause stops the lead's follow-ups; once paused the same place offers Resume.
    hold = (
        Button("resume", "Resume", str(draft.lead_id))
        if cadence_state == CadenceState.PAUSED
        else Button("pause", "Pause", str(draft.lead_id))
    )
    buttons = (
        (
            Button("approve", "Approve", str(draft.id), "primary"),
            Button("edit", "Edit", str(draft.id)),
            hold,
            Button("skip", "Skip", str(draft.id), "danger"),
        )
        if pending
        else ()
    )
    label = {"first_reply": "First reply", "reply": "Reply"}.get(
        draft.purpose, draft.purpose.replace("_", " ").capitalize()
    )
    return Card(
        key=f"draft:{draft.id}",
        kind="draft",
        lead_id=draft.lead_id,
        title=f"Draft · {label} by {CHANNEL_WORDS.get(draft.channel, draft.channel)}",
        text=draft.body,
        at=draft.created_at,
        status=draft_status(draft, outbox, tz, reply_to, pricing_within_s),
        buttons=buttons,
        flags=tuple(x for x in (draft.note,) if x),
        extra={
            "state": draft.state,
            "draft_id": draft.id,
            "subject": draft.subject,
            "backend": draft.backend,
        },
    )


INTERNAL_FIELDS = frozenset({"normalized_subject"})


def _form_fields(msg: Message) -> tuple[tuple[str, str], ...]:
    """What the customer filled in besides the message (service, company, budget, an address typed
    wrong), shown on their message's card."""
    fields = (msg.triage or {}).get("fields") or {}
    return tuple((str(k), str(v)) for k, v in fields.items() if k not in INTERNAL_FIELDS and v)


def message_card(msg: Message, lead_id: int, tz: str) -> Card:
    kind = msg.direction if msg.direction in ("inbound", "note") else "outbound"
    channel = CHANNEL_WORDS.get(msg.channel, msg.channel)
    if kind == "inbound":
        title = f"Customer · {channel}"
        status = f"{(msg.category or 'other').replace('_', ' ')} ({(msg.confidence or 0):.0%})"
        if msg.is_auto:
            status = "automatic message: not answered"
    elif kind == "note":
        title, status = f"Internal note · {msg.author}", "not sent to the customer"
    else:
        title, status = f"Sent by {channel}", f"{msg.author or 'Sheepdog'} · {_clock(msg.created_at, tz)}"
    return Card(
        key=f"message:{msg.id}",
        kind=kind,
        lead_id=lead_id,
        title=title,
        text=msg.text if msg.text else "(no text)",
        at=msg.created_at,
        status=status,
        author=msg.author,
        flags=tuple((msg.triage or {}).get("flags", [])) if kind == "inbound" else (),
        fields=_form_fields(msg) if kind == "inbound" else (),
        extra={
            "message_id": msg.id,
            "subject": msg.subject,
            "category": msg.category,
            "attachments": msg.attachments or [],
            "edited": bool(msg.edits),
        },
    )


def lead_cards(session: Session, lead_id: int, tz: str, settings: Settings | None = None) -> list[Card]:
    """The whole thread for one lead: brief first, then everything in the order it happened."""
    pricing_within_s = settings.policy.pricing_handoff_s if settings is not None else 900
    lead = session.get(Lead, lead_id)
    if lead is None:
        return []
    messages = session.scalars(
        select(Message).where(Message.conversation_id == lead.conversation_id).order_by(Message.id)
    ).all()
    drafts = session.scalars(select(Draft).where(Draft.lead_id == lead_id).order_by(Draft.id)).all()
    outboxes = {
        o.draft_id: o for o in session.scalars(select(Outbox).where(Outbox.lead_id == lead_id)) if o.draft_id
    }
    body = [message_card(m, lead_id, tz) for m in messages if m.direction != "outbound"]
    by_id = {m.id: m for m in messages}
    body += [
        draft_card(
            d,
            outboxes.get(d.id),
            tz,
            lead.cadence_state,
            by_id.get(d.reply_to_message_id or -1),
            pricing_within_s,
        )
        for d in drafts
    ]
    sent_drafts = {o.message_id or o.provider_message_id for o in outboxes.values() if o.state == "sent"}
    body += [
        message_card(m, lead_id, tz)
        for m in messages
        if m.direction == "outbound" and m.provider_message_id not in sent_drafts
    ]
    body.sort(key=lambda c: (c.at, c.key))
    extras = lead_extras(session, lead, settings) if settings is not None else None
    return [brief_card(lead, tz, extras), *body]


def lead_extras(session: Session, lead: Lead, settings: Settings) -> LeadExtras:
    """Autonomy in force for this lead, the refund button or the customer's history, and how
    many sends wait to be checked."""
    from sheepdog.handlers import policy_store  # handlers import cards: imported when used

    has_out = session.scalar(select(Outbox.id).where(Outbox.lead_id == lead.id).limit(1)) is not None
    workflow = "support" if has_out else "first_reply"
    level = policy_store.autonomy(session, settings, workflow)
    autonomy = f"{level.level.value} ({level.source})"
    uncertain = len(
        session.scalars(
            select(Outbox.id).where(Outbox.lead_id == lead.id, Outbox.state == OutboxState.UNCERTAIN)
        ).all()
    )
    button = history = None
    last = session.scalar(customer_messages(lead).limit(1))
    if last is not None and last.category == "refund_request":
        amount = ((last.triage or {}).get("extracted") or {}).get("refund_amount")
        limit = settings.business.to_domain().refund_threshold
        done = session.scalar(
            select(Refund.id).where(Refund.lead_id == lead.id, Refund.message_id == last.id)
        )
        within = amount and amount["currency"] == limit.currency and Decimal(amount["amount"]) <= limit.amount
        if within and done is None:
            button = f"Refund {Money(Decimal(amount['amount']), amount['currency'])} and confirm"
        elif not within:
            history = customer_history(session, lead)
    return LeadExtras(autonomy, button, history, uncertain, settings.followup.to_domain())


def customer_history(session: Session, lead: Lead) -> str:
    """Earlier leads with their outcomes, messages so far and refunds: what the owner needs to
    decide a refund above the threshold."""
    leads = session.scalars(select(Lead).where(Lead.contact_id == lead.contact_id, Lead.id != lead.id)).all()
    outcomes = [
        f"#{o.id} {o.stage}" + (f" {o.outcome_value} {o.outcome_currency}" if o.outcome_value else "")
        for o in leads
    ]
    conversations = [lead.conversation_id, *(o.conversation_id for o in leads)]
    messages = len(
        session.scalars(
            select(Message.id).where(
                Message.conversation_id.in_(conversations), Message.direction == "inbound"
            )
        ).all()
    )
    refunds = session.scalars(
        select(Refund).where(Refund.lead_id.in_([lead.id, *(o.id for o in leads)]))
    ).all()
    parts = [
        f"{len(leads)} earlier lead{'s' if len(leads) != 1 else ''}"
        + (f" ({', '.join(outcomes[:5])})" if outcomes else "")
    ]
    parts.append(f"{messages} message{'s' if messages != 1 else ''} from them")
    paid = ", ".join(f"{Money(r.amount, r.currency)} {r.state.replace('_', ' ')}" for r in refunds[:5])
    parts.append(f"refunds: {paid}" if refunds else "no refunds before")
    return "; ".join(parts)
