"""One path for every outgoing message: draft → guardrails → policy → outbox or approval queue.

The first reply, a cadence touch and an answer in an open conversation all come through here,
so the same checks apply to each whatever wrote the text.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sheepdog import defaults
from sheepdog.brain import voice
from sheepdog.brain.scoring import lead_service
from sheepdog.channels.email import new_message_id
from sheepdog.config import Settings
from sheepdog.domain.cadence import OutboxState
from sheepdog.domain.followup import visit_words
from sheepdog.domain.guardrails import Incentive, check_draft
from sheepdog.domain.models import (
    ANSWER_PURPOSES,
    Autonomy,
    Category,
    Channel,
    Decision,
    DecisionKind,
    Direction,
    DraftRequest,
    DraftState,
    Extracted,
    GuardrailResult,
    HistoryItem,
    LeadContext,
    Money,
    Signal,
    SignalName,
    Triage,
)
from sheepdog.domain.policy import ALL_CHANNELS, PolicyInput, decide, holding_kind, holding_text, opted_out_of
from sheepdog.domain.threads import email_subject, opening_subject
from sheepdog.handlers import policy_store
from sheepdog.handlers.context import Services
from sheepdog.storage.tables import (
    Contact,
    Conversation,
    Draft,
    Lead,
    Message,
    Outbox,
    VoiceExample,
    customer_messages,
)

CHANNEL_LIMITS = {Channel.SMS: defaults.SMS_MAX_CHARS, Channel.TELEGRAM: 4000}


@dataclasses.dataclass(frozen=True)
class Touch:
    """What a cadence step adds to a draft: its brief for the brain, a fixed channel, the offer it
    may make (words for the brain, the allowance for the guardrails), and the claim of the step,
    run in the transaction that stores the draft so a step is written exactly once."""

    brief: str | None = None
    channel: str | None = None
    incentive: str | None = None
    allowance: Incentive | None = None
    claim: Callable[[Session], None] | None = None


def reply_channel(services: Services, lead: Lead, contact: Contact) -> Channel | None:
    """Answer on the channel the lead used; a web form or webhook lead is answered by email, else SMS."""
    channel = Channel(lead.channel)
    if channel in (Channel.WEBFORM, Channel.WEBHOOK):
        if contact.email and Channel.EMAIL in services.senders:
            return Channel.EMAIL
        if contact.phone and Channel.SMS in services.senders:
            return Channel.SMS
        return None
    return channel if channel in services.senders else None


def triage_to_dict(triage: Triage) -> dict[str, Any]:
    return json_ready(dataclasses.asdict(triage))


def json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


def triage_from_dict(data: dict[str, Any] | None) -> Triage:
    """Rebuild the stored triage (for actions and cadence touches long after the message)."""
    if not data:
        return Triage(Category.OTHER, 0.0)
    ex = dict(data.get("extracted") or {})
    amount = ex.get("refund_amount")
    ex["refund_amount"] = Money(Decimal(amount["amount"]), amount["currency"]) if amount else None
    return Triage(
        category=Category(data["category"]),
        confidence=float(data.get("confidence", 0.0)),
        signals=tuple(
            Signal(SignalName(s["name"]), s["confidence"], s.get("value"))
            for s in data.get("signals", [])
            if s.get("name") in SignalName.__members__.values()
        ),
        extracted=Extracted(**ex),
        flags=tuple(data.get("flags", [])),
        backend=data.get("backend", "offline"),
    )


def lead_context(session: Session, services: Services, lead: Lead, triage: Triage) -> LeadContext:
    contact = lead.contact
    rows = session.scalars(
        select(Message).where(Message.conversation_id == lead.conversation_id).order_by(Message.id)
    ).all()
    history = tuple(
        HistoryItem(Direction(m.direction), m.triage_text or m.text, m.created_at, Channel(m.channel))
        for m in rows
        if m.direction != Direction.NOTE and not m.is_auto
    )
    learned = session.scalars(
        select(VoiceExample.text).order_by(VoiceExample.id.desc()).limit(voice.LEARNED_CANDIDATES)
    ).all()
    fields: dict[str, str] = {}
    if rows and rows[0].triage and isinstance(rows[0].triage.get("fields"), dict):
        fields = rows[0].triage["fields"]
    return LeadContext(
        business=services.business,
        channel=Channel(lead.channel),
        contact_name=contact.name,
        contact_email=contact.email,
        contact_phone=contact.phone,
        source=lead.source,
        history=history,
        triage=triage,
        fields=fields,
        returning_customer=lead.returning_customer,
        referral=lead.referral,
        voice_examples=voice.select_examples(services.business.voice_examples, tuple(reversed(learned))),
        visit=_visit(services, lead),
    )


def _visit(services: Services, lead: Lead) -> str | None:
    """The booked visit, still ahead, in the lead's words and zone (else the business's)."""
    now = services.now()
    if lead.visit_at is None or lead.visit_at <= now:
        return None
    tz = (lead.contact.timezone if lead.contact else None) or services.business.timezone
    return visit_words(lead.visit_at, now, tz)


def autonomy_for(settings: Settings, purpose: str, session: Session | None = None) -> Autonomy:
    """The workflow's autonomy: the owner's choice from chat when there is one, else the config."""
    if session is not None:
        return policy_store.autonomy_for(session, settings, purpose)
    return getattr(settings.policy, policy_store.workflow_of(purpose)).autonomy


def closed(services: Services, contact: Contact, channel: Channel | str | None) -> bool:
    """Has the contact opted out of this channel (of every channel under opt_out_scope = "all")?"""
    name = channel.value if isinstance(channel, Channel) else (channel or "*")
    return opted_out_of(
        contact.opted_out_channels, contact.opted_out, name, services.settings.policy.opt_out_scope
    )


@dataclasses.dataclass(frozen=True)
class _Plan:
    """What compose learned in its first, read-only transaction."""

    channel: Channel | None
    facts: PolicyInput
    ctx: LeadContext
    inbound_text: str
    customer_subject: str | None
    lead_channel: Channel


def compose(
    services: Services,
    lead_id: int,
    *,
    purpose: str,
    triage: Triage,
    reply_to_id: int | None = None,
    step_needs_approval: bool = False,
    spam_reason: str | None = None,
    auto_message: bool = False,
    touch: Touch | None = None,
) -> tuple[int | None, Decision]:
    """Write, check and decide one message; returns the draft id (None when nothing is written).

    Three steps: read the lead (short transaction), write the draft with the brain (no
    transaction: Claude may take seconds), then store draft, decision and outbox (short transaction).
    A cadence `touch` brings its step's brief, channel and offer, and a `claim` run inside that last
    transaction: if it fails (another worker wrote this step), nothing is stored.
    """
    with services.db.session() as session:
        lead = session.get(Lead, lead_id)
        if lead is None:
            raise ValueError(f"no lead {lead_id}")
        contact = lead.contact
        channel = reply_channel(services, lead, contact)
        if touch is not None and touch.channel not in (None, "lead"):
            fixed = Channel(touch.channel)
            reachable = {Channel.EMAIL: contact.email, Channel.SMS: contact.phone}.get(fixed, True)
            if fixed in services.senders and reachable:
                channel = fixed
        opted_out = closed(services, contact, channel or Channel(lead.channel))
        facts = PolicyInput(
            autonomy=autonomy_for(services.settings, purpose, session),
            purpose=purpose,
            guardrails=GuardrailResult(True),
            opted_out=opted_out,
            auto_message=auto_message,
            spam_reason=spam_reason,
            returning_customer=lead.returning_customer,
            referral=lead.referral,
            step_needs_approval=step_needs_approval,
            refund_threshold=services.business.refund_threshold,
            pricing_handoff_s=services.settings.policy.pricing_handoff_s,
            confidence_floor=services.settings.brain.confidence_floor,
        )
        early = decide(triage, facts)
        if early.kind == DecisionKind.DROP or (early.kind == DecisionKind.HANDOFF and opted_out):
            # Nothing to write: held back, or a person decides (someone who opted out wrote again).
            services.log(
                session, "decision", lead.id, kind=early.kind, reasons=list(early.reasons), purpose=purpose
            )
            if early.kind == DecisionKind.HANDOFF:
                lead.needs_attention = early.reasons[0]
                services.log(session, "handoff", lead.id, urgent=early.urgent, reasons=list(early.reasons))
            return None, early
        reply_to = session.get(Message, reply_to_id) if reply_to_id else None
        ctx = lead_context(session, services, lead, triage)
        plan = _Plan(
            channel=channel,
            facts=facts,
            ctx=ctx,
            inbound_text=(reply_to.triage_text or reply_to.text) if reply_to else ctx.last_inbound,
            customer_subject=customer_subject(session, lead, reply_to),
            lead_channel=Channel(lead.channel),
        )

    max_chars = CHANNEL_LIMITS.get(plan.channel) if plan.channel else None
    text = services.brain.draft(
        DraftRequest(
            plan.ctx,
            purpose,
            max_chars=max_chars,
            plain_text=True,
            brief=touch.brief if touch else None,
            incentive=touch.incentive if touch else None,
        )
    )
    checked = check_draft(
        text.body,
        services.business,
        inbound_text=plan.inbound_text,
        triage=triage,
        channel=plan.channel or plan.lead_channel,
        max_chars=max_chars,
        incentive=touch.allowance if touch else None,
        booked=plan.ctx.visit,
    )
    faq_answer = any(a and a in text.body for a in services.business.faq.values())
    decision = decide(
        triage, dataclasses.replace(plan.facts, guardrails=checked, answered_from_faq=faq_answer)
    )
    reasons = list(decision.reasons)
    if plan.channel is None:
        # Nothing can go out, so "goes out on its own" reasons would only confuse the card.
        reasons = [r for r in reasons if decision.kind != DecisionKind.SEND]
        reasons.insert(
            0, f"no way to answer on {plan.lead_channel.value}: call them, or set up that channel's sender"
        )
        decision = dataclasses.replace(
            decision, kind=DecisionKind.HANDOFF, reasons=tuple(reasons), notify=True
        )

    with services.db.session() as session:
        lead = session.get(Lead, lead_id)
        if touch is not None and touch.claim is not None:
            touch.claim(session)  # raises when another worker already wrote this step: nothing stored
        draft = Draft(
            lead_id=lead.id,
            reply_to_message_id=reply_to_id,
            purpose=purpose,
            channel=(plan.channel or plan.lead_channel).value,
            subject=(
                email_subject(plan.customer_subject, services.business.name, text.subject)
                if (plan.channel or plan.lead_channel) == Channel.EMAIL
                else None
            ),
            body=text.body,
            state=DraftState.PENDING,
            decision=decision.kind.value,
            reasons=reasons,
            backend=text.backend,
            note=text.note,
            created_at=services.now(),
        )
        session.add(draft)
        session.flush()
        services.log(
            session,
            "draft_created",
            lead.id,
            draft_id=draft.id,
            purpose=purpose,
            decision=decision.kind,
            reasons=reasons,
        )
        if decision.kind == DecisionKind.SEND and not closed(services, lead.contact, draft.channel):
            if draft.subject is not None:
                # Sent on its own to an address nobody verified (a forged From:, a form naming a
                # stranger): the subject is the business's own words, never theirs echoed back.
                service = lead_service(plan.ctx)
                known = {x.name for x in services.business.services}
                draft.subject = opening_subject(services.business.name, service if service in known else None)
            draft.state = DraftState.APPROVED
            draft.decided_by = f"Sheepdog ({plan.facts.autonomy.value})"
            draft.decided_at = services.now()
            queue_outbox(session, services, draft, author=None, automated=True)
        else:
            lead.needs_attention = reasons[0] if reasons else "waiting for approval"
            if plan.channel is not None and reply_to_id is not None:
                hold(session, services, lead, plan.channel, triage, decision, plan.facts, reply_to_id)
        if decision.notify or decision.urgent:
            services.log(
                session,
                "handoff",
                lead.id,
                urgent=decision.urgent,
                reasons=reasons,
                notify_within_s=decision.notify_within_s,
            )
        return draft.id, decision


def hold(
    session: Session,
    services: Services,
    lead: Lead,
    channel: Channel,
    triage: Triage,
    decision: Decision,
    facts: PolicyInput,
    reply_to_id: int,
) -> Outbox | None:
    """A message that waits for a person gets a short holding reply on its own, saying when a
    person answers (business hours counted), unless the workflow switched it off, it must not be
    answered at all, or an earlier holding reply is still unanswered by a person."""
    kind = holding_kind(triage, decision, facts)
    workflow = policy_store.workflow_of(facts.purpose)
    if kind is None or not getattr(services.settings.policy, workflow).holding_reply:
        return None
    key = f"holding:{reply_to_id}"
    if session.scalar(select(Outbox.id).where(Outbox.idempotency_key == key)) is not None:
        return None  # a reader before us (killed half-way) queued it already
    if closed(services, lead.contact, channel):
        return None
    last = session.scalar(
        select(Outbox)
        .where(Outbox.lead_id == lead.id, Outbox.state.not_in(("cancelled", "failed")))
        .order_by(Outbox.id.desc())
        .limit(1)
    )
    if last is not None and last.purpose == "holding_reply":
        return None  # the first one is still unanswered by a person: never a second
    promise = timedelta(hours=services.settings.policy.holding_promise_h[kind])
    name = (lead.contact.name or "").split()
    body = holding_text(
        first_name=name[0] if name else None,
        owner_name=services.business.owner_name,
        kind=kind,
        now=services.now(),
        promise=promise,
        hours=services.business.hours,
        tz=services.business.timezone,
        signature=services.business.signature,
    )
    subject = thread_subject(session, services, lead) if channel == Channel.EMAIL else None
    out = new_outbox(
        session,
        services,
        lead,
        channel,
        body,
        subject=subject,
        author=None,
        key=key,
        purpose="holding_reply",
    )
    services.log(session, "holding_reply_queued", lead.id, outbox_id=out.id, handoff=kind, channel=channel)
    services.enqueue_after_commit(session, "send_outbox", out.id)
    return out


def customer_subject(session: Session, lead: Lead, reply_to: Message | None = None) -> str | None:
    """The subject the customer last wrote by email in this conversation (the one being answered
    first); None when they never emailed with one (a form's "Web form: …" is ours, not theirs)."""
    if reply_to is not None and reply_to.channel == Channel.EMAIL.value and reply_to.subject:
        return reply_to.subject
    return session.scalar(
        select(Message.subject)
        .where(
            Message.conversation_id == lead.conversation_id,
            Message.direction == Direction.INBOUND.value,
            Message.channel == Channel.EMAIL.value,
            Message.subject.is_not(None),
            Message.subject != "",
        )
        .order_by(Message.id.desc())
        .limit(1)
    )


def thread_subject(session: Session, services: Services, lead: Lead, reply_to: Message | None = None) -> str:
    """The Subject of an email to this lead that nobody (brain or person) proposed one for."""
    return email_subject(customer_subject(session, lead, reply_to), services.business.name)


def queue_outbox(
    session: Session, services: Services, draft: Draft, *, author: str | None, automated: bool = False
) -> Outbox:
    """Put an approved draft in the outbox (once: the draft id is unique there) and schedule the send."""
    existing = session.scalar(select(Outbox).where(Outbox.draft_id == draft.id))
    if existing is not None:
        return existing
    lead = draft.lead
    out = new_outbox(
        session,
        services,
        lead,
        Channel(draft.channel),
        draft.body,
        subject=draft.subject,
        author=author,
        key=f"draft:{draft.id}",
        purpose=draft.purpose,
    )
    out.draft_id = draft.id
    session.flush()
    services.log(session, "outbox_queued", lead.id, outbox_id=out.id, draft_id=draft.id, automated=automated)
    services.enqueue_after_commit(session, "send_outbox", out.id)
    return out


def new_outbox(
    session: Session,
    services: Services,
    lead: Lead,
    channel: Channel,
    body: str,
    *,
    subject: str | None,
    author: str | None,
    key: str,
    purpose: str | None = None,
) -> Outbox:
    """An outbox row with the recipient and, for email, the thread's headers fixed before sending.

    `key` is the row's idempotency key: what it is for (a draft, a holding reply to one message,
    a refund, a surface's event), so the same intent never makes two rows. The recipient is the
    address, number or chat the customer last wrote from on this channel, not the contact's first."""
    contact = lead.contact
    last_in = session.scalar(customer_messages(lead).limit(1))
    used = _used_handle(session, lead, channel)
    out = Outbox(
        idempotency_key=key,
        purpose=purpose,
        lead_id=lead.id,
        channel=channel.value,
        author=author,
        to_email=(used if channel == Channel.EMAIL and used else contact.email),
        to_phone=(used if channel == Channel.SMS and used else contact.phone),
        # An automatic message names them by first name at most (what a stranger typed stays in).
        to_name=contact.name if author is not None else first_word(contact.name),
        to_handle=(used if channel == Channel.TELEGRAM and used else _handle(contact, channel)),
        subject=subject,
        body=body,
        state=OutboxState.QUEUED,
        created_at=services.now(),
    )
    if channel == Channel.EMAIL:
        out.message_id = new_message_id(services.settings.from_address.rsplit("@", 1)[-1])
        if last_in is not None and last_in.channel == Channel.EMAIL and last_in.provider_message_id:
            out.in_reply_to = last_in.provider_message_id
            out.references = [*list(last_in.references or []), last_in.provider_message_id][-20:]
    session.add(out)
    session.flush()
    if channel == Channel.EMAIL and not out.subject:
        out.subject = thread_subject(session, services, lead)
    return out


FORMS = (Channel.WEBFORM.value, Channel.WEBHOOK.value)


def _reaches(sender: str, channel: Channel) -> bool:
    """Can this channel send to that handle (a form's handle is an address or a number)?"""
    if channel == Channel.EMAIL:
        return "@" in sender
    if channel == Channel.SMS:
        return sender.startswith("+")
    return True


def _used_handle(session: Session, lead: Lead, channel: Channel) -> str | None:
    """The address, number or chat the customer last wrote from that `channel` reaches: in this
    lead's conversation first (the thread being answered), else in any of theirs. A form counts:
    the address typed into it is the one they used."""
    kinds = [channel.value, *(FORMS if channel in (Channel.EMAIL, Channel.SMS) else ())]
    inbound = (
        select(Message.sender)
        .where(
            Message.direction == Direction.INBOUND.value,
            Message.channel.in_(kinds),
            Message.sender.is_not(None),
        )
        .order_by(Message.id.desc())
        .limit(20)
    )
    theirs = inbound.join(Conversation, Conversation.id == Message.conversation_id).where(
        Conversation.contact_id == lead.contact_id
    )
    for query in (inbound.where(Message.conversation_id == lead.conversation_id), theirs):
        for sender in session.scalars(query):
            if _reaches(sender, channel):
                return str(sender)
    return None


def first_word(name: str | None) -> str | None:
    """A first name fit for an automatic message: one word of letters, at most 24 of them."""
    words = (name or "").split()
    first = words[0] if words else ""
    return first if first.isalpha() and len(first) <= 24 else None


def _handle(contact: Contact, channel: Channel) -> str | None:
    kind = {Channel.TELEGRAM: "telegram"}.get(channel)
    if kind is None:
        return None
    for ident in contact.identities:
        if ident.kind == kind:
            return ident.value
    return None


def skip_draft(draft: Draft, why: str) -> None:
    """Sheepdog takes a draft off the approval queue, saying why on its card."""
    draft.state, draft.decided_by = DraftState.SKIPPED.value, "Sheepdog"
    draft.reasons = [*draft.reasons, why]


def withdraw_touches(session: Session, services: Services, lead: Lead, why: str) -> None:
    """Cadence touches already written but not sent are stale: pending drafts are skipped and
    queued automated sends cancelled, so a lead marked quoted is never asked 'still interested?'."""
    touches = select(Draft).where(Draft.lead_id == lead.id, Draft.purpose.not_in(ANSWER_PURPOSES))
    for draft in session.scalars(touches.where(Draft.state == DraftState.PENDING.value)):
        skip_draft(draft, f"withdrawn: {why}")
    queued = session.scalars(
        select(Outbox)
        .join(Draft, Outbox.draft_id == Draft.id)
        .where(Outbox.lead_id == lead.id, Outbox.state == OutboxState.QUEUED, Outbox.author.is_(None))
        .where(Draft.purpose.not_in(ANSWER_PURPOSES))
    ).all()
    for row in queued:
        row.state, row.last_error = OutboxState.CANCELLED, f"withdrawn before sending: {why}"
        services.log(session, "touch_withdrawn", lead.id, outbox_id=row.id, reason=why)


def stop_cadence(
    session: Session, services: Services, lead: Lead, why: str, actor: str | None = None
) -> None:
    """End the lead's cadence for good, and withdraw what it had written but not yet sent
    (also after its last step, when a final touch may still wait for approval)."""
    from sheepdog.handlers import followup  # it applies domain.cadence; it uses withdraw_touches

    followup.stop(session, services, lead, why, actor)


def opt_out(
    session: Session,
    services: Services,
    contact: Contact,
    lead_id: int | None,
    actor: str | None = None,
    **how: Any,
) -> None:
    """They asked for no more messages (a keyword, a message, an unsubscribe link, or the team
    saying so): recorded once per channel, and whatever that closes is stopped: follow-ups, drafts
    still waiting (so no card offers an Approve button that could only fail) and queued sends.
    The outbox checks again right before each send (jobs.tasks), for every path."""
    channel = str(how.get("channel") or ALL_CHANNELS) if actor is None else ALL_CHANNELS
    channels = list(contact.opted_out_channels or [])
    if channel in channels and (contact.opted_out or services.settings.policy.opt_out_scope == "channel"):
        return
    if channel not in channels:
        contact.opted_out_channels = [*channels, channel]
    everything = services.settings.policy.opt_out_scope == "all" or channel == ALL_CHANNELS
    if everything:
        contact.opted_out = True
    contact.opted_out_at = services.now()
    services.log(session, "opted_out", lead_id, actor, contact_id=contact.id, scope=channel, **how)
    withdraw_closed(session, services, contact, actor, channel=channel, everything=everything)


def withdraw_closed(
    session: Session,
    services: Services,
    contact: Contact,
    actor: str | None = None,
    *,
    channel: str | None = None,
    everything: bool = False,
) -> None:
    """Whatever an opt-out closes, stopped: drafts waiting on a closed channel skipped, queued
    sends cancelled, follow-ups stopped. Also run when a merge brings leads under a contact who had
    opted out, so the moved leads stop too."""
    everything = everything or contact.opted_out
    for draft in session.scalars(
        select(Draft)
        .join(Lead, Draft.lead_id == Lead.id)
        .where(Lead.contact_id == contact.id, Draft.state == DraftState.PENDING.value)
    ):
        if closed(services, contact, draft.channel):
            skip_draft(draft, "withdrawn: they opted out")
    for row in session.scalars(
        select(Outbox)
        .join(Lead, Outbox.lead_id == Lead.id)
        .where(Lead.contact_id == contact.id, Outbox.state == "queued")
    ):
        if closed(services, contact, row.channel):
            row.state, row.last_error = "cancelled", "they opted out before it was sent"
            services.log(session, "send_cancelled", row.lead_id, outbox_id=row.id, reason="opted out")
    for lead in session.scalars(select(Lead).where(Lead.contact_id == contact.id)):
        if (
            everything
            or lead.channel == channel
            or closed(services, contact, reply_channel(services, lead, contact))
        ):
            stop_cadence(session, services, lead, "opted out", actor)
        services.lead_changed(lead.id, session)


def opt_in(session: Session, services: Services, contact: Contact, lead_id: int | None, channel: str) -> bool:
    """START (or UNSTOP) reopens the channel it was sent on, and only that: an unsubscribe from
    email or a team's opt-out stays. Returns whether anything reopened."""
    channels = list(contact.opted_out_channels or [])
    if channel not in channels and not (contact.opted_out and not channels):
        return False
    left = [c for c in channels if c != channel]
    contact.opted_out_channels = left
    if not left:
        contact.opted_out, contact.opted_out_at = False, None
    services.log(session, "opted_in", lead_id, contact_id=contact.id, channel=channel, still_closed=left)
    return True
