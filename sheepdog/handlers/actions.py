"""What a team member can do to a lead, from any surface: the console, Slack or Telegram.

Every action is idempotent (a double click or a platform retry changes nothing twice), logs an
event with the actor, and asks the surfaces to update the lead's cards in place.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sheepdog.domain.cadence import OutboxState
from sheepdog.domain.extract import extract_money
from sheepdog.domain.models import Category, Channel, Direction, DraftState, Money, Stage
from sheepdog.errors import BadInputError, NotFoundError
from sheepdog.handlers import followup
from sheepdog.handlers.context import Services
from sheepdog.handlers.drafting import (
    closed,
    new_outbox,
    opt_out,
    queue_outbox,
    reply_channel,
    thread_subject,
)
from sheepdog.storage.tables import (
    Contact,
    Conversation,
    Draft,
    Lead,
    Message,
    Outbox,
    TriageCorrection,
    VoiceExample,
)

FINAL_DRAFT_STATES = {DraftState.SENT, DraftState.SKIPPED, DraftState.APPROVED, DraftState.EDITED}


@dataclass(frozen=True)
class ActionResult:
    ok: bool
    message: str
    lead_id: int
    ref: int | None = None  # what the action made: the outbox row of a reply, the message of a note


def _draft(session: Session, draft_id: int) -> Draft:
    draft = session.get(Draft, draft_id)
    if draft is None:
        raise NotFoundError(f"no draft {draft_id}")
    return draft


def _lead(session: Session, lead_id: int) -> Lead:
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFoundError(f"no lead {lead_id}")
    return lead


def _outbox(session: Session, outbox_id: int) -> Outbox:
    out = session.get(Outbox, outbox_id)
    if out is None:
        raise NotFoundError(f"no queued reply {outbox_id}")
    return out


def _done(services: Services, lead_id: int, ok: bool, message: str, ref: int | None = None) -> ActionResult:
    if ok:
        services.lead_changed(lead_id)
    return ActionResult(ok, message, lead_id, ref)


def _settled(draft: Draft) -> str | None:
    if draft.state in FINAL_DRAFT_STATES or draft.state == DraftState.FAILED:
        by = f" by {draft.decided_by}" if draft.decided_by else ""
        return f"already {draft.state}{by}"
    return None


OPTED_OUT = "the contact has opted out: nothing can be sent"


def _text(text: str, what: str) -> str:
    text = text.strip()
    if not text:
        raise BadInputError(f"the {what} is empty")
    return text


def _decide_draft(
    services: Services, draft_id: int, actor: str, state: DraftState, *, text: str | None = None
) -> ActionResult:
    """Approve, edit or skip one pending draft, exactly once: the pending → decided change is a
    conditional UPDATE, so of two people clicking at the same moment only one wins."""
    now = services.now()
    with services.db.session() as s:
        draft = _draft(s, draft_id)
        lead_id = draft.lead_id
        if why := _settled(draft):
            return ActionResult(False, why, lead_id)
        sending = state != DraftState.SKIPPED
        if sending and closed(services, draft.lead.contact, draft.channel):
            return ActionResult(False, OPTED_OUT, lead_id)
        values: dict[str, object] = {"state": state.value, "decided_by": actor, "decided_at": now}
        if text is not None and text != draft.body:
            values |= {"body": text, "original_body": draft.original_body or draft.body}
        won_it = s.execute(
            update(Draft)
            .where(Draft.id == draft_id, Draft.state == DraftState.PENDING.value)
            .values(**values)
        ).rowcount
        if won_it != 1:
            s.refresh(draft)
            return ActionResult(False, _settled(draft) or "already decided", lead_id)
        s.refresh(draft)
        if "body" in values:
            s.add(VoiceExample(text=text, author=actor, draft_id=draft.id, created_at=now))
        draft.lead.needs_attention = None
        services.log(s, f"draft_{state.value}", lead_id, actor, draft_id=draft.id)
        if sending:
            queue_outbox(s, services, draft, author=actor)
    message = {DraftState.APPROVED: "approved", DraftState.EDITED: "edited and approved"}.get(
        state, "skipped"
    )
    return _done(services, lead_id, True, message)


def approve(services: Services, draft_id: int, actor: str) -> ActionResult:
    """Send the draft as written."""
    return _decide_draft(services, draft_id, actor, DraftState.APPROVED)


def edit(services: Services, draft_id: int, actor: str, text: str) -> ActionResult:
    """Send the team's version; the edit becomes a new example of the owner's voice."""
    return _decide_draft(services, draft_id, actor, DraftState.EDITED, text=_text(text, "edited message"))


def skip(services: Services, draft_id: int, actor: str) -> ActionResult:
    return _decide_draft(services, draft_id, actor, DraftState.SKIPPED)


def pause(services: Services, lead_id: int, actor: str) -> ActionResult:
    """Stop the lead's cadence until someone resumes it."""
    with services.db.session() as s:
        lead = _lead(s, lead_id)
        if not followup.pause(s, services, lead, f"paused by {actor}", actor):
            why = (
                f"follow-ups are already {lead.cadence_state}"
                if lead.cadence_state
                else "no follow-ups are scheduled for this lead, so there is nothing to pause"
            )
            return ActionResult(False, why, lead_id)
    return _done(services, lead_id, True, "cadence paused")


def resume(services: Services, lead_id: int, actor: str) -> ActionResult:
    with services.db.session() as s:
        lead = _lead(s, lead_id)
        if not followup.resume(s, services, lead, actor):
            return ActionResult(False, f"cadence is {lead.cadence_state or 'not running'}", lead_id)
    return _done(services, lead_id, True, "cadence resumed")


def claim(services: Services, lead_id: int, actor: str) -> ActionResult:
    with services.db.session() as s:
        lead = _lead(s, lead_id)
        if lead.owner == actor:
            return ActionResult(False, f"already yours, {actor}", lead_id)
        previous, lead.owner = lead.owner, actor
        services.log(s, "lead_claimed", lead_id, actor, previous=previous)
    return _done(services, lead_id, True, f"claimed by {actor}")


def unclaim(services: Services, lead_id: int, actor: str) -> ActionResult:
    with services.db.session() as s:
        lead = _lead(s, lead_id)
        if lead.owner != actor:
            return ActionResult(False, "only the owner can release a lead", lead_id)
        lead.owner = None
        services.log(s, "lead_unclaimed", lead_id, actor)
    return _done(services, lead_id, True, "released")


def reply(services: Services, lead_id: int, actor: str, text: str, key: str | None = None) -> ActionResult:
    """A team member answers the customer directly, on the lead's channel. `key` is the surface's
    id of the message (a Slack ts, a console request id): the same key never sends twice."""
    text = _text(text, "reply")
    key = f"team:{key}" if key else f"team:{uuid.uuid4().hex}"
    with services.db.session() as s:
        lead = _lead(s, lead_id)
        known = s.scalar(select(Outbox).where(Outbox.idempotency_key == key))
        if known is not None:
            return ActionResult(True, f"reply already {known.state}", lead_id, known.id)
        channel = reply_channel(services, lead, lead.contact)
        if channel is None:
            return ActionResult(False, "no channel to answer this lead on", lead_id)
        if closed(services, lead.contact, channel):
            return ActionResult(False, OPTED_OUT, lead_id)
        subject = thread_subject(s, services, lead) if channel == Channel.EMAIL else None
        out = new_outbox(s, services, lead, channel, text, subject=subject, author=actor, key=key)
        lead.needs_attention = None
        services.log(s, "team_reply", lead_id, actor, outbox_id=out.id, channel=channel)
        services.enqueue_after_commit(s, "send_outbox", out.id)
        outbox_id = out.id
    return _done(services, lead_id, True, f"reply queued by {channel}", outbox_id)


def note(services: Services, lead_id: int, actor: str, text: str) -> ActionResult:
    """An internal note on the thread; never sent to the customer."""
    text = _text(text, "note")
    with services.db.session() as s:
        lead = _lead(s, lead_id)
        row = Message(
            conversation_id=lead.conversation_id,
            direction=Direction.NOTE.value,
            channel=lead.channel,
            author=actor,
            text=text,
            created_at=services.now(),
        )
        s.add(row)
        s.flush()
        services.log(s, "note_added", lead_id, actor, message_id=row.id)
        message_id = row.id
    return _done(services, lead_id, True, "note added", message_id)


def edit_queued_reply(services: Services, outbox_id: int, actor: str, text: str) -> ActionResult:
    """A team reply edited before it went out: the new text is what gets sent."""
    text = _text(text, "reply")
    with services.db.session() as s:
        out = _outbox(s, outbox_id)
        changed = s.execute(
            update(Outbox).where(Outbox.id == outbox_id, Outbox.state == OutboxState.QUEUED).values(body=text)
        ).rowcount
        if changed != 1:
            return ActionResult(False, f"too late: the reply is already {out.state}", out.lead_id, outbox_id)
        services.log(s, "team_reply_edited", out.lead_id, actor, outbox_id=outbox_id)
        lead_id = out.lead_id
    return _done(services, lead_id, True, "reply changed before sending", outbox_id)


def cancel_queued_reply(services: Services, outbox_id: int, actor: str) -> ActionResult:
    """A team reply withdrawn before it went out is never sent."""
    with services.db.session() as s:
        out = _outbox(s, outbox_id)
        cancelled = s.execute(
            update(Outbox)
            .where(Outbox.id == outbox_id, Outbox.state == OutboxState.QUEUED)
            .values(state=OutboxState.CANCELLED, last_error=f"withdrawn by {actor} before sending")
        ).rowcount
        kind = "team_reply_cancelled" if cancelled else "team_reply_deleted_after_send"
        services.log(s, kind, out.lead_id, actor, outbox_id=outbox_id)
        lead_id, state = out.lead_id, out.state
    if not cancelled:
        return ActionResult(False, f"too late: the reply is already {state}", lead_id, outbox_id)
    return _done(services, lead_id, True, "reply withdrawn", outbox_id)


def edit_note(services: Services, message_id: int, actor: str, text: str) -> ActionResult:
    text = _text(text, "note")
    with services.db.session() as s:
        note_row = s.get(Message, message_id)
        if note_row is None or note_row.direction != Direction.NOTE.value:
            raise NotFoundError(f"no note {message_id}")
        note_row.edits = [*(note_row.edits or []), {"text": note_row.text, "at": services.now().isoformat()}]
        note_row.text = text
        lead_id = s.scalar(select(Lead.id).where(Lead.conversation_id == note_row.conversation_id)) or 0
        services.log(s, "note_edited", lead_id, actor, message_id=message_id)
    return _done(services, lead_id, True, "note changed", message_id)


def delete_note(services: Services, message_id: int, actor: str) -> ActionResult:
    with services.db.session() as s:
        note_row = s.get(Message, message_id)
        if note_row is None or note_row.direction != Direction.NOTE.value:
            raise NotFoundError(f"no note {message_id}")
        lead_id = s.scalar(select(Lead.id).where(Lead.conversation_id == note_row.conversation_id)) or 0
        s.delete(note_row)
        services.log(s, "note_deleted", lead_id, actor, message_id=message_id)
    return _done(services, lead_id, True, "note removed", message_id)


def _move_stage(s: Session, services: Services, lead: Lead, stage: Stage, actor: str) -> bool:
    """Move the lead to `stage` inside the caller's transaction, exactly once; False if it is there
    already. The change is a conditional UPDATE on the stage just read, so of two people saying
    'won' at the same moment only one moves it, and a stage changed meanwhile by someone else (the
    first reply going out: new → contacted) is read again rather than taken for 'already there'.
    A stage change switches the cadence as configured (followup.stages: quoted → post-quote, won →
    the review request, lost → none), so nobody is asked 'still interested?' after a quote."""
    for _ in range(5):
        old = lead.stage
        if old == stage.value:
            return False
        moved = s.execute(
            update(Lead).where(Lead.id == lead.id, Lead.stage == old).values(stage=stage.value)
        ).rowcount
        s.refresh(lead)
        if moved == 1:
            break
    else:
        raise BadInputError(f"lead {lead.id} keeps changing stage; try again", status=409)
    services.log(s, "stage_changed", lead.id, actor, old=old, new=stage.value)
    followup.on_stage(s, services, lead, old, stage.value, actor)
    return True


def set_stage(services: Services, lead_id: int, stage: Stage, actor: str) -> ActionResult:
    with services.db.session() as s:
        lead = _lead(s, lead_id)
        if not _move_stage(s, services, lead, stage, actor):
            return ActionResult(False, f"already {lead.stage}", lead_id)
        line = followup.line(services, lead)
    return _done(services, lead_id, True, f"stage: {stage.value}" + (f" · {line}" if line else ""))


def visit(services: Services, lead_id: int, actor: str, at: datetime) -> ActionResult:
    """A visit booked: the stage moves to visit scheduled (switching the cadence as configured)
    and the time is kept on the lead; booking it again at another time moves the visit."""
    with services.db.session() as s:
        lead = _lead(s, lead_id)
        if lead.stage == Stage.VISIT_SCHEDULED.value and lead.visit_at == at:
            return ActionResult(False, "that visit is already booked", lead_id)
        # The time first, so the stage's visit reminder (followup.stages) is planned back from it.
        lead.visit_at = at
        s.flush()
        if not _move_stage(s, services, lead, Stage.VISIT_SCHEDULED, actor):
            followup.on_visit(s, services, lead, actor)  # booked again at another time: reminders move
        services.log(s, "visit_scheduled", lead_id, actor, at=at.isoformat())
        line = followup.line(services, lead)
    when = at.astimezone(ZoneInfo(services.business.timezone))
    return _done(services, lead_id, True, f"visit {when:%a %d %b %H:%M}" + (f" · {line}" if line else ""))


def cancel_visit(services: Services, lead_id: int, actor: str) -> ActionResult:
    """The visit is off: its time is cleared and its reminders stop (the stage stays for the team
    to move: Quoted, Lost…)."""
    with services.db.session() as s:
        lead = _lead(s, lead_id)
        if lead.visit_at is None:
            return ActionResult(False, "no visit is booked", lead_id)
        was, lead.visit_at = lead.visit_at, None
        followup.cancel_visit(s, services, lead, actor)
        services.log(s, "visit_cancelled", lead_id, actor, at=was.isoformat())
        line = followup.line(services, lead)
    return _done(services, lead_id, True, "visit cancelled" + (f" · {line}" if line else ""))


def won(services: Services, lead_id: int, actor: str, amount: Money | None) -> ActionResult:
    """Stage, amount and the outcome event in one transaction; a lead already won keeps its amount."""
    if amount is not None:
        amount = check_amount(amount)
    with services.db.session() as s:
        lead = _lead(s, lead_id)
        if not _move_stage(s, services, lead, Stage.WON, actor):
            return ActionResult(False, f"already won{_recorded(lead)}", lead_id)
        if amount is not None:
            lead.outcome_value, lead.outcome_currency = amount.amount, amount.currency
        services.log(s, "outcome", lead_id, actor, result="won", value=str(amount.amount) if amount else None)
    return _done(services, lead_id, True, f"won{f' ({amount})' if amount else ''}")


def lost(services: Services, lead_id: int, actor: str, reason: str) -> ActionResult:
    """Stage, reason and the outcome event in one transaction; a lead already lost keeps its reason."""
    with services.db.session() as s:
        lead = _lead(s, lead_id)
        if not _move_stage(s, services, lead, Stage.LOST, actor):
            why = f": {lead.lost_reason}" if lead.lost_reason else ""
            return ActionResult(False, f"already lost{why}", lead_id)
        lead.lost_reason = reason.strip() or None
        services.log(s, "outcome", lead_id, actor, result="lost", reason=lead.lost_reason)
    return _done(services, lead_id, True, f"lost: {reason}")


def _recorded(lead: Lead) -> str:
    if lead.outcome_value is None:
        return ""
    return f" ({Money(lead.outcome_value, lead.outcome_currency or '')})"


def correct_triage(services: Services, message_id: int, category: Category, actor: str) -> ActionResult:
    """'This was a booking': stored, and the brain learns it at once."""
    with services.db.session() as s:
        msg = s.get(Message, message_id)
        if msg is None:
            raise NotFoundError(f"no message {message_id}")
        lead_id = s.scalar(select(Lead.id).where(Lead.conversation_id == msg.conversation_id)) or 0
        old, msg.category = msg.category, category.value
        s.add(
            TriageCorrection(
                message_id=msg.id, text=msg.triage_text or msg.text, category=category.value, author=actor
            )
        )
        services.log(s, "triage_corrected", lead_id, actor, message_id=msg.id, old=old, new=category.value)
        text = msg.triage_text or msg.text
        if category == Category.OPT_OUT:  # the team says they asked to stop: that is an opt-out
            contact = s.get(Contact, s.get(Conversation, msg.conversation_id).contact_id)
            opt_out(s, services, contact, lead_id or None, actor, via="correction")
    services.brain.learn(text, category.value)
    return _done(services, lead_id, True, f"noted: this was {category.value}")


MAX_AMOUNT = Decimal("1000000000")
"""The largest deal value accepted: a typo guard well inside the stored Numeric(12, 2)."""


def check_amount(money: Money) -> Money:
    """A deal value: finite, more than zero, at most MAX_AMOUNT; rounded to cents as stored."""
    amount = money.amount
    if not amount.is_finite():
        raise BadInputError(f"not an amount: {amount} (give a number such as 4500 or 4,500.00)")
    if amount <= 0:
        raise BadInputError(f"the amount must be more than zero, not {amount}")
    if amount > MAX_AMOUNT:
        raise BadInputError(f"the amount is too large: at most {MAX_AMOUNT:,} (a typo?)")
    cents = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if cents == 0:
        raise BadInputError(f"the amount must be at least 0.01, not {amount}")
    return Money(cents, money.currency)


def parse_amount(text: str, currency: str) -> Money:
    """What a person types after 'won': 4500, 4,500.00, $4500, €45,50, 1.234,56, 300 GBP — read by
    the same extractor as customers' amounts, in the business's currency unless one is written.
    Nothing else (NaN, -50, 1e999999, 'lots')."""
    cleaned = text.strip()
    if not re.fullmatch(r"[$€£]?\s?\d[\d.,\s]*(\s?[A-Za-z]{3})?|[$€£]?\s?\.\d+", cleaned):
        raise BadInputError(f"not an amount: {text!r} (give a number such as 4500 or 4,500.00)")
    if re.fullmatch(r"\d+(\.\d+)?", cleaned):  # plain digits: exact, so 0.001 is refused as too small
        return check_amount(Money(Decimal(cleaned), currency))
    found = extract_money(cleaned, currency) or extract_money(f"{currency} {cleaned}", currency)
    if not found:
        raise BadInputError(f"not an amount: {text!r} (give a number such as 4500 or 4,500.00)")
    return check_amount(found[0])


__all__ = [
    "MAX_AMOUNT",
    "ActionResult",
    "approve",
    "cancel_queued_reply",
    "check_amount",
    "claim",
    "correct_triage",
    "delete_note",
    "edit",
    "edit_note",
    "edit_queued_reply",
    "lost",
    "note",
    "parse_amount",
    "pause",
    "reply",
    "resume",
    "set_stage",
    "skip",
    "unclaim",
    "visit",
    "won",
]


def refund(services: Services, lead_id: int, actor: str) -> ActionResult:
    """ "Refund $40 and confirm": record, pay (webhook) or add a refund to do, confirm once."""
    from sheepdog.handlers.refunds import refund_and_confirm

    ok, message = refund_and_confirm(services, lead_id, actor)
    return ActionResult(ok, message, lead_id)


def _take_uncertain(s: Session, lead_id: int, state: str) -> list[Outbox]:
    """The lead's sends shown as "may not have gone out", each moved to `state` by a conditional
    update: of two clicks at once (two people, two surfaces) only one takes a row."""
    ids = s.scalars(
        select(Outbox.id).where(Outbox.lead_id == lead_id, Outbox.state == OutboxState.UNCERTAIN)
    ).all()
    taken = [
        outbox_id
        for outbox_id in ids
        if s.execute(
            update(Outbox)
            .where(Outbox.id == outbox_id, Outbox.state == OutboxState.UNCERTAIN)
            .values(state=state)
        ).rowcount
        == 1
    ]
    return [s.get(Outbox, outbox_id, populate_existing=True) for outbox_id in taken]


def went_out(services: Services, lead_id: int, actor: str) -> ActionResult:
    """The team checked: the sends shown as "may not have gone out" did reach the customer. Each
    is recorded as any send is (in the thread, the lead contacted, the follow-ups' clock started)."""
    from sheepdog.jobs.tasks import mark_sent  # jobs import the handlers: imported when used

    with services.db.session() as s:
        rows = _take_uncertain(s, lead_id, "sending")
        for row in rows:
            mark_sent(s, services, row, row.provider_message_id)
            services.log(s, "send_confirmed", lead_id, actor, outbox_id=row.id)
        if rows:
            _lead(s, lead_id).needs_attention = None
    if not rows:
        return ActionResult(False, "nothing waits to be checked", lead_id)
    return _done(services, lead_id, True, "marked as sent")


def send_again(services: Services, lead_id: int, actor: str) -> ActionResult:
    """The team checked: it did not arrive. Sent again, by a person's decision, same headers."""
    with services.db.session() as s:
        rows = _take_uncertain(s, lead_id, "queued")
        for row in rows:
            row.next_attempt_at, row.last_error = None, f"sent again by {actor}"
            services.log(s, "send_again", lead_id, actor, outbox_id=row.id)
        if rows:
            _lead(s, lead_id).needs_attention = None
        again = [(row.id, row.attempts) for row in rows]
    if not rows:
        return ActionResult(False, "nothing waits to be checked", lead_id)
    for outbox_id, attempts in again:  # its own key: the first send's key may still be held
        services.try_enqueue("send_outbox", outbox_id, key=f"send_outbox-{outbox_id}-again{attempts}")
    return _done(services, lead_id, True, "sending again")
