"""One dispatch for team actions, whichever surface they come from.

A surface turns a click, a reaction, a thread reply or a command into a neutral `TeamAction`
(kind, target, actor, text, surface) and calls `dispatch`; the table below decides which action in
`handlers.actions` runs. No surface maps buttons to actions itself, so Slack, Telegram, the console
and the text commands can never disagree about what "Won" or "Approve" does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time
from zoneinfo import ZoneInfo

from sheepdog.domain.models import Category, Stage
from sheepdog.domain.timezones import parse_when, suggested_visit
from sheepdog.errors import BadInputError, NotFoundError
from sheepdog.handlers import actions
from sheepdog.handlers.actions import ActionResult
from sheepdog.handlers.context import Services
from sheepdog.storage.tables import Draft, Lead, Message, customer_messages

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TeamAction:
    """What a team member did, in no platform's terms.

    `target` is a draft id (approve, edit, skip), an outbox id (edit_reply, cancel_reply), a message
    id (edit_note, delete_note, was) or a lead id (everything else); `text` carries the edit, the
    reply, the amount, the reason, the stage or the category."""

    kind: str
    target: int
    actor: str
    text: str = ""
    surface: str = "console"


Run = Callable[[Services, TeamAction], ActionResult]


def _stage(stage: Stage) -> Run:
    return lambda s, a: actions.set_stage(s, a.target, stage, a.actor)


def _any_stage(services: Services, a: TeamAction) -> ActionResult:
    try:
        stage = Stage(a.text.strip())
    except ValueError:
        raise BadInputError(f"stage must be one of {', '.join(s.value for s in Stage)}") from None
    return actions.set_stage(services, a.target, stage, a.actor)


def _visit(services: Services, a: TeamAction) -> ActionResult:
    """Visit scheduled; with a time ('thu 9am', in the business's zone) the visit is kept too and
    its reminders are planned; 'cancel' calls the visit off (its reminders stop)."""
    if not a.text.strip():
        return actions.set_stage(services, a.target, Stage.VISIT_SCHEDULED, a.actor)
    if a.text.strip().lower() in CANCEL_WORDS:
        return actions.cancel_visit(services, a.target, a.actor)
    try:
        at = parse_when(a.text, services.now(), services.business.timezone)
    except ValueError as exc:
        raise BadInputError(f"{exc}; e.g. 'thu 9am' or 'tomorrow 14:30'") from None
    return actions.visit(services, a.target, a.actor, at)


CANCEL_WORDS = frozenset({"cancel", "cancelled", "canceled", "off", "none"})
"""`/sheepdog visit 12 cancel`: the visit is off."""


def _won(services: Services, a: TeamAction) -> ActionResult:
    """Won with an amount when one is given (4500, $4,500.00, 300 GBP), else without."""
    text = a.text.strip()
    if text.lower() in ("", "none", "no", "-", "skip"):
        return actions.won(services, a.target, a.actor, None)
    return actions.won(services, a.target, a.actor, actions.parse_amount(text, services.business.currency))


def _lost(services: Services, a: TeamAction) -> ActionResult:
    reason = a.text.strip()
    if not reason:
        raise BadInputError("say why it was lost, e.g. 'went with a competitor'")
    return actions.lost(services, a.target, a.actor, reason)


def _was(services: Services, a: TeamAction) -> ActionResult:
    from sheepdog.handlers.commands import parse_category

    try:
        category = Category(a.text.strip())
    except ValueError:
        category = parse_category(a.text)
    return actions.correct_triage(services, a.target, category, a.actor)


DISPATCH: dict[str, Run] = {
    # a draft waiting for approval
    "approve": lambda s, a: actions.approve(s, a.target, a.actor),
    "edit": lambda s, a: actions.edit(s, a.target, a.actor, a.text),
    "skip": lambda s, a: actions.skip(s, a.target, a.actor),
    # the lead
    "pause": lambda s, a: actions.pause(s, a.target, a.actor),
    "resume": lambda s, a: actions.resume(s, a.target, a.actor),
    "claim": lambda s, a: actions.claim(s, a.target, a.actor),
    "refund": lambda s, a: actions.refund(s, a.target, a.actor),
    "went_out": lambda s, a: actions.went_out(s, a.target, a.actor),
    "send_again": lambda s, a: actions.send_again(s, a.target, a.actor),
    "unclaim": lambda s, a: actions.unclaim(s, a.target, a.actor),
    "reply": lambda s, a: actions.reply(s, a.target, a.actor, a.text),
    "note": lambda s, a: actions.note(s, a.target, a.actor, a.text),
    "stage": _any_stage,
    "visit_scheduled": _visit,
    "quoted": _stage(Stage.QUOTED),
    "won": _won,
    "lost": _lost,
    # a team reply still queued, a note
    "edit_reply": lambda s, a: actions.edit_queued_reply(s, a.target, a.actor, a.text),
    "cancel_reply": lambda s, a: actions.cancel_queued_reply(s, a.target, a.actor),
    "edit_note": lambda s, a: actions.edit_note(s, a.target, a.actor, a.text),
    "delete_note": lambda s, a: actions.delete_note(s, a.target, a.actor),
    # a customer message's triage
    "was": _was,
}
DRAFT_KINDS = frozenset({"approve", "edit", "skip"})
"""Kinds whose target is a draft; a surface's button for them carries the draft id."""
STAGE_KINDS = ("visit_scheduled", "quoted", "won", "lost")
"""The stage buttons, in the order surfaces show them."""
NEEDS_TEXT = {"won": "amount", "lost": "reason", "edit": "text", "visit_scheduled": "when"}
"""Buttons that ask for a text first (a modal in Slack, a ForceReply in Telegram, an input in the
console). Visit scheduled asks for the visit's time: its reminders are timed back from it."""


def dispatch(services: Services, action: TeamAction) -> ActionResult:
    """Run the action; BadInputError / NotFoundError for what cannot be done (the console turns
    them into 4xx, chat surfaces into a private answer)."""
    run = DISPATCH.get(action.kind)
    if run is None:
        raise NotFoundError(f"unknown action {action.kind!r}")
    return run(services, action)


def attempt(services: Services, action: TeamAction) -> ActionResult:
    """dispatch, with a refusal as a failed result rather than an exception (chat surfaces)."""
    try:
        return dispatch(services, action)
    except (BadInputError, NotFoundError) as exc:
        log.info("%s action %s on %s refused: %s", action.surface, action.kind, action.target, exc)
        return ActionResult(False, str(exc), 0)


async def perform(services: Services, action: TeamAction) -> ActionResult:
    """attempt, off the event loop (the actions use the database synchronously)."""
    return await asyncio.to_thread(attempt, services, action)


DECIDED_WORDS = {  # Draft.state of a draft no longer waiting → how a refusal to edit says it
    "approved": "approved",
    "edited": "edited and approved",
    "sent": "approved and sent",
    "failed": "approved (sending failed)",
    "skipped": "skipped",
}


def draft_to_edit(services: Services, draft_id: int) -> tuple[str | None, str | None]:
    """(body, None) for a draft still waiting; (None, why not) once it is decided or gone."""
    with services.db.session() as s:
        draft = s.get(Draft, draft_id)
        if draft is None:
            return None, "that draft no longer exists"
        if draft.state == "pending":
            return draft.body, None
        done = DECIDED_WORDS.get(draft.state, draft.state)
        if draft.original_body is not None and draft.state in ("sent", "failed"):
            done = done.replace("approved", "edited and approved", 1)
        by = f" by {draft.decided_by}" if draft.decided_by else ""
        return None, f"this draft was already {done}{by}"


def draft_lead(services: Services, draft_id: int) -> int | None:
    with services.db.session() as s:
        draft = s.get(Draft, draft_id)
        return draft.lead_id if draft is not None else None


def check_when(services: Services, text: str) -> str | None:
    """Why a visit time cannot be taken ('… has already passed', '9 could be morning or evening'),
    or None: what the Slack modal says in place before it closes; the action itself reads the
    same text again with the same parser."""
    try:
        parse_when(text, services.now(), services.business.timezone)
    except ValueError as exc:
        return str(exc)
    return None


@dataclass(frozen=True)
class VisitPrefill:
    """What a visit picker opens on (local day and time in the business's zone) and why."""

    day: date | None = None
    at: time | None = None
    source: str | None = None  # "booked" (the visit being moved), "asked" (the customer's), None


def visit_prefill(services: Services, lead_id: int) -> VisitPrefill:
    """What a visit picker opens on, in the business's zone: the booked visit when it is still
    ahead (moving it), else the day and time the customer asked for (the newest inbound message's
    triage) when still ahead, else nothing (the team picks)."""
    zone, now = services.business.timezone, services.now()
    with services.db.session() as s:
        lead = s.get(Lead, lead_id)
        if lead is None:
            return VisitPrefill()
        if lead.visit_at is not None and lead.visit_at > now:
            booked = lead.visit_at.astimezone(ZoneInfo(zone))
            return VisitPrefill(booked.date(), booked.time().replace(second=0, microsecond=0), "booked")
        triages = s.scalars(customer_messages(lead).with_only_columns(Message.triage).limit(20))
        for triage in triages:
            asked = ((triage or {}).get("extracted") or {}).get("requested_time")
            if asked:
                day, at = suggested_visit(str(asked), now, zone)
                return VisitPrefill(day, at, "asked" if day is not None else None)
    return VisitPrefill()
