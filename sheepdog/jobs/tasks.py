"""Time-driven work. Jobs are sync functions of (services, *args): RQ workers and the in-process
queue run the same code. Network sends are coroutines run to completion inside the job."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from sqlalchemy import func, or_, select, update

from sheepdog import defaults
from sheepdog.channels.base import Outbound
from sheepdog.config import Settings
from sheepdog.domain import cadence as cadence_rules
from sheepdog.domain import metrics as metric_rules
from sheepdog.domain.cadence import CadenceState, OutboxState
from sheepdog.domain.guardrails import Incentive
from sheepdog.domain.models import ANSWER_PURPOSES, Category, Channel, Direction, DraftState, Stage, Triage
from sheepdog.errors import (
    PermanentSendError,
    QueueUnavailableError,
    SendError,
    TransientSendError,
    UncertainSendError,
)
from sheepdog.handlers import followup, unsubscribe
from sheepdog.handlers.context import PROCESS_ID, Services
from sheepdog.handlers.drafting import Touch, closed, compose, skip_draft
from sheepdog.handlers.inbound import read_stragglers, understand_stored
from sheepdog.storage.tables import Contact, Draft, Event, Lead, Message, Outbox

log = logging.getLogger(__name__)

T = TypeVar("T")

STUCK_SENDING_S = 15 * 60
"""A send a live process has held this long is shown as failed (a hung connection)."""

INTERRUPTED_AFTER_S = 3
"""A send claimed this long ago by a process that is gone was interrupted (no send takes a process
this long to record once the server answered)."""


def backoff_s(attempt: int) -> float:
    return min(defaults.SEND_BACKOFF_BASE_S * 4 ** (attempt - 1), defaults.SEND_BACKOFF_MAX_S)


def _where(channel: Channel, settings: Settings, cause: BaseException | None) -> str:
    """Who we failed to talk to, as a person would name it."""
    if channel == Channel.EMAIL:
        smtp = settings.channels.email.smtp
        return f"the mail server at {smtp.host}:{smtp.port}"
    host, port = getattr(cause, "host", None), getattr(cause, "port", None)  # aiohttp connector errors
    if channel == Channel.SMS:
        if not isinstance(host, str):
            host = urlsplit(settings.channels.sms.api_base_url or "https://api.twilio.com").netloc
            port = None
        return f"Twilio at {host}:{port}" if isinstance(port, int) else f"Twilio at {host}"
    if channel == Channel.TELEGRAM:
        return "Telegram"
    return f"the {channel.value} service"


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    node: BaseException | None = exc
    while node is not None and node not in seen and len(seen) < 10:
        seen.append(node)
        node = node.__cause__ or node.__context__
    return seen


def _reason(chain: list[BaseException]) -> str | None:
    """'connection refused', 'name or service not known': the OS's words, if there are any."""
    for e in chain:
        e = getattr(e, "os_error", None) or e  # aiohttp keeps the OSError beside, not as the cause
        if isinstance(e, OSError) and isinstance(e.errno, int) and e.errno > 0:
            return os.strerror(e.errno).lower()  # asyncio's strerror repeats the address: use errno's
        if isinstance(e, OSError) and e.strerror:  # socket.gaierror: negative errno, words in strerror
            return str(e.strerror).lower()
    return None


def _text(value: object) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return " ".join(text.split())


def describe_send_error(exc: BaseException, channel: Channel, settings: Settings) -> str:
    """One short sentence for the card and the needs-attention line ('could not reach the mail
    server at smtp.example.com:587 (connection refused)', 'the mail server answered 550 …'),
    never an exception's repr; the full error stays in the event log."""
    chain = _chain(exc)
    cause = chain[1] if len(chain) > 1 else exc
    refused = next((e for e in chain if getattr(e, "recipients", None)), None)
    if refused is not None:  # aiosmtplib.SMTPRecipientsRefused: one (code, message, recipient) each
        parts = [
            f"{getattr(r, 'recipient', '?')}: {getattr(r, 'code', '')} {_text(getattr(r, 'message', ''))}"
            for r in refused.recipients  # type: ignore[attr-defined]
        ]
        sentence = "the mail server refused " + "; ".join(p.strip() for p in parts)
    elif channel == Channel.EMAIL and (
        replied := next((e for e in chain if isinstance(getattr(e, "code", None), int)), None)
    ):
        # aiosmtplib.SMTPResponseException: the server's own reply is the clearest words there are
        code, message = replied.code, _text(getattr(replied, "message", ""))  # type: ignore[attr-defined]
        sentence = f"the mail server answered {code} {message}".strip()
    elif any(isinstance(e, TimeoutError) for e in chain):
        sentence = f"{_where(channel, settings, cause)} did not answer in time"
    elif any(isinstance(e, OSError) for e in chain):
        why = _reason(chain)
        connector = next((e for e in chain if isinstance(getattr(e, "host", None), str)), cause)
        sentence = f"could not reach {_where(channel, settings, connector)}" + (f" ({why})" if why else "")
    elif isinstance(exc, SendError):
        sentence = _text(exc)  # the channel's own sentence: "Twilio answered 503: …", "no email address…"
    else:
        sentence = (
            f"unexpected error from the {channel.value} sender ({type(exc).__name__}); see the event log"
        )
    return sentence if len(sentence) <= 300 else sentence[:299].rstrip() + "…"


MAY_NOT_HAVE_GONE = "may not have gone out — check"
"""What the card and needs-attention say of a send whose outcome nobody knows."""


def _outbound(services: Services, row: Outbox, contact: Contact | None) -> Outbound:
    """The row as its channel's sender needs it, with what only the engine knows: the
    unsubscribe link, the status-callback URL, the business's Reply-To and signature."""
    extra = {"automated": "1" if row.author is None else "0", "idempotency_key": row.idempotency_key}
    public = services.settings.console.public_url.rstrip("/")
    if row.channel == Channel.EMAIL.value:
        extra["reply_to"] = services.business.email
        if services.business.signature and (row.author is None or row.draft_id is not None):
            # the owner's signature under what Sheepdog wrote; a member's own words are theirs
            extra["signature"] = services.business.signature
        if contact is not None:
            extra["unsubscribe_url"] = f"{public}/unsubscribe/{unsubscribe.make_token(services, contact.id)}"
    if row.channel == Channel.SMS.value:
        extra["status_callback"] = f"{public}/hooks/twilio/status"
    return Outbound(
        outbox_id=row.id,
        channel=Channel(row.channel),
        body=row.body,
        to_email=row.to_email,
        to_phone=row.to_phone,
        to_handle=row.to_handle,
        to_name=row.to_name,
        subject=row.subject,
        message_id=row.message_id,
        in_reply_to=row.in_reply_to,
        references=tuple(row.references or ()),
        extra=extra,
    )


def send_outbox(services: Services, outbox_id: int) -> str:
    """Deliver one outbox row at most once: the row is claimed atomically before the send, and a
    send whose outcome is unknown (the server stopped answering after it had the message, or the
    process died mid-send) is shown as "may not have gone out — check", never sent again blindly.
    Opt-out is checked last, right before the send, whatever path queued the row."""
    unsubscribe.ensure_key(services)  # made (once) in its own transaction, never inside the claim's
    now = services.now()
    deferred = 0.0
    with services.db.session() as s:
        claimed = s.execute(
            update(Outbox)
            .where(
                Outbox.id == outbox_id,
                Outbox.state == OutboxState.QUEUED,
                or_(Outbox.next_attempt_at.is_(None), Outbox.next_attempt_at <= now),
            )
            .values(
                state=OutboxState.SENDING, attempts=Outbox.attempts + 1, claimed_at=now, claimed_by=PROCESS_ID
            )
        ).rowcount
        if claimed != 1:
            return "not due or already taken"
        row = s.get(Outbox, outbox_id)
        assert row is not None
        lead = s.get(Lead, row.lead_id)
        if lead is not None and row.author is None and (stale := _stale_touch(s, services, row, lead, now)):
            row.state, row.last_error = OutboxState.CANCELLED, f"{stale} before this touch went out"
            services.log(s, "touch_withdrawn", lead.id, outbox_id=row.id, reason=stale)
            return "cancelled"
        if lead is not None and closed(services, lead.contact, row.channel):
            row.state, row.last_error = OutboxState.CANCELLED, "they opted out before it was sent"
            if row.draft_id:
                skip_draft(s.get(Draft, row.draft_id), "not sent: they opted out")
            services.log(s, "send_cancelled", lead.id, outbox_id=row.id, reason="opted out")
            services.lead_changed(lead.id, s)
            return "cancelled"
        if lead is not None and row.author is None and (later := _touch_waits(s, services, row, lead, now)):
            # Checked again at send time: a touch never lands in the lead's night, even one whose
            # send was retried or held up until it was.
            if _reminder_too_late(services, lead, later):
                row.state, row.last_error = OutboxState.CANCELLED, "quiet hours last until the visit"
                services.log(
                    s, "touch_withdrawn", lead.id, outbox_id=row.id, reason="quiet hours until the visit"
                )
                return "cancelled"
            row.state, row.attempts, row.next_attempt_at = OutboxState.QUEUED, row.attempts - 1, later
            services.log(
                s, "touch_deferred", lead.id, outbox_id=row.id, until=later.isoformat(), reason="quiet hours"
            )
            deferred = (later - now).total_seconds()
        out = _outbound(services, row, lead.contact if lead is not None else None)
        attempts = row.attempts
    if deferred:
        services.try_enqueue(
            "send_outbox",
            outbox_id,
            delay_s=deferred,
            key=f"send_outbox-{outbox_id}-at{int(later.timestamp())}",
        )
        return "deferred"
    sender = services.senders.get(out.channel)
    try:
        if sender is None:
            raise PermanentSendError(f"no {out.channel.value} sender is configured")
        provider_id = run_async(sender.send(out))
    except TransientSendError as exc:
        shown = describe_send_error(exc, out.channel, services.settings)
        return _retry_or_fail(services, outbox_id, attempts, exc, shown)
    except PermanentSendError as exc:
        with services.db.session() as s:
            shown = describe_send_error(exc, out.channel, services.settings)
            _fail(s, services, s.get(Outbox, outbox_id), str(exc), shown)
        return "failed"
    except UncertainSendError as exc:
        with services.db.session() as s:
            _uncertain(
                s,
                services,
                s.get(Outbox, outbox_id),
                describe_send_error(exc, out.channel, services.settings),
                str(exc),
            )
        return "uncertain"
    except Exception as exc:  # an unexpected SDK error: it may have sent; a person checks
        log.exception("unexpected error sending outbox %s", outbox_id)
        shown = describe_send_error(exc, out.channel, services.settings)
        with services.db.session() as s:
            _uncertain(s, services, s.get(Outbox, outbox_id), shown, repr(exc))
        return "uncertain"
    with services.db.session() as s:
        row = s.get(Outbox, outbox_id)
        mark_sent(s, services, row, provider_id)
        lead_id = row.lead_id
    log.info(
        "sent outbox %s by %s (lead %s, attempt %s)",
        outbox_id,
        out.channel.value,
        lead_id,
        attempts,
        extra={"outbox_id": outbox_id, "lead_id": lead_id, "channel": out.channel.value},
    )
    return "sent"


def _uncertain(s: Any, services: Services, row: Outbox, shown: str, error: str) -> None:
    """Nobody knows whether it went out: the card and needs-attention say so, the team checks
    (and marks it sent, or sends it again from the card); it is never sent again on its own."""
    log.warning(
        "send outcome unknown: outbox %s (lead %s): %s",
        row.id,
        row.lead_id,
        shown,
        extra={"outbox_id": row.id, "lead_id": row.lead_id, "channel": row.channel},
    )
    row.state, row.last_error = OutboxState.UNCERTAIN, shown
    lead = s.get(Lead, row.lead_id)
    lead.needs_attention = f"{MAY_NOT_HAVE_GONE}: {shown}"[:200]
    services.log(s, "send_uncertain", row.lead_id, outbox_id=row.id, channel=row.channel, error=error)
    services.lead_changed(row.lead_id, s)


def _stale_touch(s: Any, services: Services, row: Outbox, lead: Lead, now: datetime) -> str | None:
    """Why an automated cadence touch may no longer go out: its cadence stopped or paused, or it
    reminds of a visit that is no longer ahead (approved late, or its send held up)."""
    draft = s.get(Draft, row.draft_id) if row.draft_id else None
    if draft is None or draft.purpose in ANSWER_PURPOSES:
        return None
    # A switch (quoted → post-quote, won → review request) withdraws the old cadence's touches
    # itself; a touch is written only while its step is the lead's (followup.claim_step).
    if lead.cadence_state in (CadenceState.STOPPED, CadenceState.PAUSED):
        return "the cadence stopped"
    if _reminder_too_late(services, lead, now):
        return "the visit time came"
    return None


def _reminder_too_late(services: Services, lead: Lead, at: datetime) -> bool:
    """A visit reminder going out at `at` would come too late: the visit is (nearly) there."""
    defn = services.cadence(lead.cadence)
    if defn is None or not defn.to_visit:
        return False
    return lead.visit_at is None or at >= lead.visit_at - cadence_rules.VISIT_MIN_AHEAD / 3


def _touch_waits(s: Any, services: Services, row: Outbox, lead: Lead, now: datetime) -> datetime | None:
    """When an automated cadence touch due to go out now must wait (the lead's quiet hours, or
    the business closed when touches keep to its hours); None when it may go."""
    draft = s.get(Draft, row.draft_id) if row.draft_id else None
    if draft is None or draft.purpose in ANSWER_PURPOSES:
        return None
    window = followup.window_for(services, lead)
    return None if cadence_rules.allowed(now, window) else cadence_rules.next_allowed(now, window)


def _retry_or_fail(
    services: Services, outbox_id: int, attempts: int, exc: TransientSendError, shown: str
) -> str:
    """`shown` is the sentence for people (cards, needs-attention); the event log keeps `exc` whole."""
    with services.db.session() as s:
        row = s.get(Outbox, outbox_id)
        if attempts >= defaults.SEND_MAX_ATTEMPTS:
            gave_up = f"gave up after {attempts} attempts"
            _fail(s, services, row, f"{gave_up}: {exc}", f"{gave_up}: {shown}")
            return "failed"
        delay = exc.retry_after_s if exc.retry_after_s is not None else backoff_s(attempts)
        row.state, row.last_error = OutboxState.QUEUED, shown
        row.next_attempt_at = services.now() + timedelta(seconds=delay)
        services.log(
            s, "send_retry", row.lead_id, outbox_id=row.id, attempt=attempts, error=str(exc), delay_s=delay
        )
    # Its own key: this job (send_outbox-<id>) is still running, so that key is taken.
    services.try_enqueue("send_outbox", outbox_id, delay_s=delay, key=f"send_outbox-{outbox_id}-a{attempts}")
    return "retrying"


def _fail(s: Any, services: Services, row: Outbox, error: str, shown: str | None = None) -> None:
    """A persistent failure is posted to the lead's thread: the team sees it (`shown`, a sentence)
    and can act; the event log keeps the full `error`."""
    shown = shown or error
    log.warning(
        "send failed: outbox %s (lead %s): %s",
        row.id,
        row.lead_id,
        shown,
        extra={"outbox_id": row.id, "lead_id": row.lead_id, "channel": row.channel},
    )
    row.state, row.last_error = OutboxState.FAILED, shown
    lead = s.get(Lead, row.lead_id)
    if row.draft_id:
        draft = s.get(Draft, row.draft_id)
        draft.state, draft.error = DraftState.FAILED, shown
    lead.needs_attention = f"send failed: {shown}"
    services.log(s, "send_failed", row.lead_id, outbox_id=row.id, channel=row.channel, error=error)
    services.lead_changed(row.lead_id, s)


PURPOSE_AUTHORS = {
    "holding_reply": "Sheepdog · holding reply",
    "refund_confirmation": "Sheepdog · refund confirmation",
}


def mark_sent(s: Any, services: Services, row: Outbox, provider_id: str | None) -> None:
    """Record a send that reached the customer (or that the team checked did): the row, the
    thread's message, the draft, the lead contacted and the follow-ups' clock started."""
    now = services.now()
    row.state, row.sent_at, row.provider_message_id, row.last_error = OutboxState.SENT, now, provider_id, None
    lead = s.get(Lead, row.lead_id)
    s.add(
        Message(
            conversation_id=lead.conversation_id,
            direction=Direction.OUTBOUND.value,
            channel=row.channel,
            author=row.author or PURPOSE_AUTHORS.get(row.purpose or "", "Sheepdog"),
            subject=row.subject,
            text=row.body,
            provider_message_id=row.message_id or provider_id,
            in_reply_to=row.in_reply_to,
            references=list(row.references or []),
            created_at=now,
        )
    )
    if row.draft_id:
        draft = s.get(Draft, row.draft_id)
        draft.state, draft.sent_at = DraftState.SENT, now
    if lead.first_response_at is None:
        lead.first_response_at = now
    followup.begin_clock(s, services, lead, now)  # follow-ups count from our first reply that went out
    # Conditional: a lead marked won or lost while this send was under way keeps that stage.
    s.execute(
        update(Lead)
        .where(Lead.id == lead.id, Lead.stage == Stage.NEW.value)
        .values(stage=Stage.CONTACTED.value)
    )
    services.log(
        s,
        "sent",
        lead.id,
        row.author,
        outbox_id=row.id,
        draft_id=row.draft_id,
        channel=row.channel,
        automated=row.author is None,
        purpose=row.purpose,
    )
    services.lead_changed(lead.id, s)


NEUTRAL = Triage(Category.SALES_INQUIRY, 1.0, backend="cadence")

TICK_BATCH = 20_000
"""At most this many touches are queued by one tick (the rest by the next)."""

EARLY_WAKE_S = 2.0
"""A touch job woken this little before its moment waits for it rather than giving up."""

LOOKAHEAD_MARGIN_S = 5.0
"""A tick queues the touches due before the next tick plus this margin, each delayed to its moment."""


def cadence_tick(services: Services) -> int:
    """Queue every cadence touch due before the next tick, each for its own moment (a delayed
    job), so a touch goes out on time whatever the tick period; touches overdue after downtime
    are spread out (domain.cadence.spread). A touch already due whose job died with its worker
    is queued again. Returns how many were queued."""
    now = services.now()
    tick_s = services.settings.followup.tick_s
    horizon = now + timedelta(seconds=tick_s + LOOKAHEAD_MARGIN_S)
    with services.db.session() as s:
        rows = s.execute(
            select(Lead.id, Lead.cadence_step, Lead.cadence_next_at)
            .where(Lead.cadence_state == CadenceState.ACTIVE, Lead.cadence_next_at <= horizon)
            .order_by(Lead.cadence_next_at)
            .limit(TICK_BATCH)
        ).all()
    late = now - cadence_rules.CATCH_UP_AFTER
    overdue = [r for r in rows if r.cadence_next_at < late]
    queued = 0
    for row in rows:
        if row.cadence_next_at >= late:
            delay = (row.cadence_next_at - now).total_seconds()
            queued += _queue_touch(services, row.id, row.cadence_step, delay)
    for row, delay in zip(overdue, cadence_rules.spread(len(overdue), tick_s), strict=False):
        queued += _queue_touch(services, row.id, row.cadence_step, delay)
    return queued


def _queue_touch(services: Services, lead_id: int, step: int, delay_s: float) -> int:
    try:
        if delay_s <= 0:
            return int(services.queue.ensure("cadence_touch", lead_id, step))
        return int(services.queue.enqueue("cadence_touch", lead_id, step, delay_s=delay_s))
    except QueueUnavailableError as exc:
        log.warning("%s; the next tick queues it again", exc)
        return 0


def cadence_touch(services: Services, lead_id: int, step: int) -> str:
    """Write (and send, when the policy lets it go) step `step` of the lead's cadence, exactly
    once: the step is claimed in the transaction that stores its draft, so a worker killed while
    writing leaves the step due for the next tick, and two workers never both write it."""
    with services.db.session() as s:
        due = s.scalar(select(Lead.cadence_next_at).where(Lead.id == lead_id, Lead.cadence_step == step))
    early = (due - services.now()).total_seconds() if due else 0.0
    if 0 < early <= EARLY_WAKE_S:
        time.sleep(early)  # RQ wakes delayed jobs on whole seconds: up to one second early
    now = services.now()
    with services.db.session() as s:
        lead = s.get(Lead, lead_id)
        if lead is None:
            return "no such lead"
        defn = services.cadence(lead.cadence)
        if defn is None:
            return "no cadence"
        before = followup.run_of(lead)
        window = followup.window_for(services, lead)
        change = cadence_rules.advance(before, defn, now, window, expect_step=step)
        if change is None:
            return "not due"  # already written, stopped meanwhile, or not yet due
        if change.fire is None:  # deferred out of quiet hours, or finished
            followup.apply(s, services, lead, change)
            return change.event
    fire = change.fire
    allowance = _allowance(services) if fire.incentive else None
    touch = Touch(
        brief=fire.brief,
        channel=fire.channel,
        incentive=allowance.words() if allowance else None,
        allowance=allowance,
        claim=lambda session: followup.claim_step(session, services, lead_id, before, change),
    )
    try:
        draft_id, _ = compose(
            services,
            lead_id,
            purpose=fire.template,
            triage=NEUTRAL,
            step_needs_approval=fire.approval,
            touch=touch,
        )
        if draft_id is None:  # held back (nothing to write): the step is still taken
            with services.db.session() as s:
                followup.claim_step(s, services, lead_id, before, change)
    except followup.StepTaken:
        return "written by another worker"
    services.lead_changed(lead_id)  # the touch's send is its own job (send_outbox), queued on commit
    return "written"


def _allowance(services: Services) -> Incentive | None:
    conf = services.settings.followup.incentive
    return Incentive(conf.percent, conf.valid_h) if conf else None


def recover_sends(services: Services) -> int:
    """A send whose process died mid-way (kill -9, a crash), or that a live process has held
    longer than STUCK_SENDING_S, may or may not have reached the customer: it is shown as
    "may not have gone out — check" on its card and in needs-attention, never dropped silently
    and never sent again blindly (a mail server that stored the message but answered late would
    get it twice). Returns rows handled."""
    now = services.now()
    with services.db.session() as s:
        rows = s.scalars(
            select(Outbox)
            .where(
                Outbox.state == OutboxState.SENDING,
                func.coalesce(Outbox.claimed_at, Outbox.created_at)
                < now - timedelta(seconds=INTERRUPTED_AFTER_S),
            )
            .limit(200)
        ).all()
        alive = services.queue.alive({r.claimed_by for r in rows if r.claimed_by})
        hung_before = now - timedelta(seconds=STUCK_SENDING_S)
        handled = 0
        for row in rows:
            claimed = row.claimed_at or row.created_at
            if (row.claimed_by in alive or row.claimed_by is None) and claimed >= hung_before:
                continue  # still being sent (or claimed before claimers were recorded: wait)
            handled += 1
            died = row.claimed_by not in alive
            why = "the process sending it stopped mid-send" if died else "the send hung for 15 minutes"
            services.log(s, "send_interrupted", row.lead_id, outbox_id=row.id, claimed_by=row.claimed_by)
            _uncertain(s, services, row, why, why)
    return handled


ESCALATION_WINDOW = timedelta(days=2)


def sla_check(services: Services) -> int:
    """Escalate once: an unclaimed lead past the claim SLA, and a handoff nobody touched in time
    (a pricing question must reach a human within 15 minutes)."""
    now = services.now()
    escalated: list[int] = []
    with services.db.session() as s:
        sla = timedelta(seconds=services.settings.policy.claim_sla_s)
        # Every unclaimed lead, answered automatically or not: somebody has to own the sale.
        # Leads held as spam and people who opted out are nobody's job.
        unclaimed = s.scalars(
            select(Lead)
            .join(Contact, Lead.contact_id == Contact.id)
            .where(
                Lead.owner.is_(None),
                Lead.created_at <= now - sla,
                # The escalation is due when the SLA runs out; a lead older than this window was
                # dealt with then (or predates the rule): no flood of pings after an upgrade.
                Lead.created_at >= now - sla - ESCALATION_WINDOW,
                Lead.stage.in_([Stage.NEW.value, Stage.CONTACTED.value]),
                Contact.opted_out.is_(False),
            )
        ).all()
        for lead in unclaimed:
            if not metric_rules.unclaimed_past_sla(lead.owner, lead.created_at, now, sla):
                continue  # the query's rule, said once in domain.metrics (the pipeline's "stuck")
            held_as_spam = (lead.brief or {}).get("category") == "spam" and not lead.needs_attention
            if not held_as_spam and not _escalated(s, lead.id, "unclaimed"):
                services.log(
                    s, "sla_escalated", lead.id, reason="unclaimed", on_call=services.settings.policy.on_call
                )
                escalated.append(lead.id)
        recent = now - timedelta(days=2)
        for handoff in s.scalars(select(Event).where(Event.kind == "handoff", Event.at >= recent)):
            within = (handoff.data or {}).get("notify_within_s")
            if not within or handoff.lead_id is None or handoff.at + timedelta(seconds=within) > now:
                continue
            key = f"handoff:{handoff.id}"
            if _escalated(s, handoff.lead_id, key) or _touched_since(s, handoff.lead_id, handoff.at):
                continue
            services.log(
                s,
                "sla_escalated",
                handoff.lead_id,
                reason=key,
                on_call=services.settings.policy.on_call,
                waited_s=within,
                why=(handoff.data or {}).get("reasons", [""])[0],
            )
            escalated.append(handoff.lead_id)
    for lead_id in dict.fromkeys(escalated):
        services.lead_changed(lead_id)
    return len(escalated)


TEAM_TOUCHES = ("draft_approved", "draft_edited", "draft_skipped", "team_reply", "note_added", "lead_claimed")


def _escalated(s: Any, lead_id: int, reason: str) -> bool:
    rows = s.scalars(select(Event.data).where(Event.lead_id == lead_id, Event.kind == "sla_escalated"))
    return any((data or {}).get("reason") == reason for data in rows)


def _touched_since(s: Any, lead_id: int, since: Any) -> bool:
    """A person acted on the lead after `since` (an approval, a reply, a note or a claim)."""
    hit = s.scalar(
        select(Event.id)
        .where(Event.lead_id == lead_id, Event.at > since, Event.kind.in_(TEAM_TOUCHES))
        .limit(1)
    )
    return hit is not None


def sync_surfaces(services: Services, lead_id: int) -> None:
    """Bring every chat surface's cards for this lead up to date (retried by the queue on failure)."""

    async def run() -> None:
        for surface in services.surfaces:
            await surface.sync_lead(services, lead_id)

    run_async(run())


_LOOPS = threading.local()


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on this thread's own event loop, kept for the thread's life
    (jobs are sync; a new loop per send cost more than the send's own bookkeeping)."""
    loop = getattr(_LOOPS, "loop", None)
    if loop is None or loop.is_closed():
        loop = _LOOPS.loop = asyncio.new_event_loop()
    return loop.run_until_complete(coro)


def requeue_outbox(services: Services) -> int:
    """Queue again every due outbox row that no job holds (Redis lost its queue, a restart lost
    the in-process queue, a retry's delayed job vanished) and take over sends whose process died.
    Keyed: a row already queued or being sent is not queued twice. Returns rows queued."""
    recover_sends(services)
    now = services.now()
    with services.db.session() as s:
        due = s.scalars(
            select(Outbox.id)
            .where(
                Outbox.state == OutboxState.QUEUED,
                or_(Outbox.next_attempt_at.is_(None), Outbox.next_attempt_at <= now),
                Outbox.created_at <= now - timedelta(seconds=REQUEUE_AFTER_S),
            )
            .order_by(Outbox.id)
            .limit(1000)
        ).all()
    return sum(1 for outbox_id in due if services.queue.ensure("send_outbox", outbox_id))


def resync_surfaces(services: Services) -> int:
    """After a restart, bring the cards of recently active leads up to date (an in-memory queue
    may have lost their sync jobs). Syncing is idempotent: unchanged cards are not touched."""
    if not services.surfaces:
        return 0
    since = services.now() - timedelta(days=1)
    with services.db.session() as s:
        lead_ids = s.scalars(
            select(Event.lead_id).where(Event.at >= since, Event.lead_id.is_not(None)).distinct()
        ).all()
    for lead_id in lead_ids:
        services.try_enqueue("sync_surfaces", lead_id)
    return len(lead_ids)


REQUEUE_AFTER_S = 10
"""A queued row older than this with no attempt due later may be orphaned: it is queued again
(keyed, so a row whose job still waits is left alone)."""


def understand(services: Services, *message_ids: int) -> int:
    """Read stored customer messages: triage, brief, draft, decide (handlers.inbound); then send
    what went out on its own, here, without a second trip through the queue."""
    with services.inline("send_outbox") as sends:
        read = len(understand_stored(services, *message_ids))
    for (outbox_id,) in sends:
        send_outbox(services, outbox_id)
    return read


def ping(services: Services) -> float:
    """Does nothing: doctor and the engine bench time a worker's round trip with it."""
    return time.time()


JOBS: dict[str, Callable[..., Any]] = {
    "understand": understand,
    "ping": ping,
    "send_outbox": send_outbox,
    "cadence_tick": cadence_tick,
    "cadence_touch": cadence_touch,
    "sla_check": sla_check,
    "sync_surfaces": sync_surfaces,
    "requeue_outbox": requeue_outbox,
    "resync_surfaces": resync_surfaces,
    "read_stragglers": read_stragglers,
    "weekly_report": lambda services: _weekly_report(services),
    "retrain_scorer": lambda services: _retrain_scorer(services),
}

PERIODIC: dict[str, float] = {
    "cadence_tick": defaults.CADENCE_TICK_S,
    "sla_check": defaults.CADENCE_TICK_S,
    "requeue_outbox": defaults.SWEEP_S,
    "read_stragglers": defaults.SWEEP_S,
    "weekly_report": defaults.REPORT_CHECK_S,
    "retrain_scorer": defaults.RETRAIN_CHECK_S,
}
"""Each runs once per period per deployment (jobs.schedule in RQ mode, the queue's own clock
in-process), never twice at once."""


def periodic(settings: Settings) -> dict[str, float]:
    """PERIODIC with the configured cadence tick (followup.tick_s)."""
    return {**PERIODIC, "cadence_tick": settings.followup.tick_s}


SWEEPS = frozenset({"requeue_outbox", "read_stragglers"})
"""Periodic jobs that also run at start: work a restart or an outage left behind."""


def _weekly_report(services: Services) -> str:
    from sheepdog.reports.job import weekly_report  # matplotlib loads only where reports are made

    return weekly_report(services)


def _retrain_scorer(services: Services) -> str:
    """Refit the lead scorer when outcomes arrived (one query when nothing changed)."""
    from sheepdog.handlers.learning import retrain

    return retrain(services)


def run_job(services: Services, name: str, *args: Any) -> Any:
    try:
        fn = JOBS[name]
    except KeyError:
        raise ValueError(f"unknown job {name!r} (known: {', '.join(JOBS)})") from None
    return fn(services, *args)
