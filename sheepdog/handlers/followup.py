"""Applying the cadence state machine (domain.cadence) to a stored lead.

The domain decides (start, pause, resume, stop, switch, advance: each returns a Change); this
module writes the Change on the lead's columns, logs its event and withdraws touches it made
stale. No other module writes a cadence state.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from sheepdog.domain import cadence as rules
from sheepdog.domain.cadence import CadenceState, Change, Run, Window
from sheepdog.domain.followup import followup_line
from sheepdog.domain.models import Triage
from sheepdog.handlers.context import Services
from sheepdog.storage.tables import Lead


def run_of(lead: Lead) -> Run:
    state = CadenceState(lead.cadence_state) if lead.cadence_state else None
    return Run(
        lead.cadence,
        state,
        lead.cadence_step or 0,
        lead.cadence_started_at,
        lead.cadence_next_at,
        lead.cadence_stop_reason,
        lead.visit_at,
    )


def window_for(services: Services, lead: Lead) -> Window:
    """The lead's window: quiet hours in their zone when we know it, else the business's."""
    return services.window(lead.contact.timezone if lead.contact else None)


def apply(
    session: Session, services: Services, lead: Lead, change: Change | None, actor: str | None = None
) -> bool:
    """Write `change` on the lead (in the caller's transaction). False when there was none."""
    if change is None:
        return False
    run = change.run
    lead.cadence = run.cadence
    lead.cadence_state = run.state.value if run.state else None
    lead.cadence_step = run.step
    lead.cadence_started_at = run.started_at
    lead.cadence_next_at = run.next_at
    lead.cadence_stop_reason = run.stop_reason if run.state == CadenceState.STOPPED else None
    if change.withdraw:
        from sheepdog.handlers.drafting import withdraw_touches  # drafting uses this module too

        withdraw_touches(session, services, lead, str(change.data.get("reason") or "the follow-ups changed"))
    if change.event:
        services.log(session, change.event, lead.id, actor, **change.data)
    return bool(change.event)


class StepTaken(Exception):
    """The step was already written (another worker), or the cadence changed meanwhile."""


def claim_step(session: Session, services: Services, lead_id: int, before: Run, change: Change) -> None:
    """Take the step `change` fires, in the caller's transaction: a conditional UPDATE on the run
    as it was read, so of two workers (or a retry after a crash) exactly one writes it."""
    run = change.run
    moved = session.execute(
        update(Lead)
        .where(
            Lead.id == lead_id,
            Lead.cadence == before.cadence,
            Lead.cadence_step == before.step,
            Lead.cadence_state == CadenceState.ACTIVE,
        )
        .values(
            cadence_step=run.step,
            cadence_next_at=run.next_at,
            cadence_state=run.state.value if run.state else None,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        raise StepTaken(f"lead {lead_id}: step {before.step} of {before.cadence} is no longer due")
    services.log(session, change.event, lead_id, **change.data)


def start_new_lead(session: Session, services: Services, lead: Lead) -> bool:
    """A new lead's first words: the new-lead cadence, whose clock waits for our first reply."""
    defn = services.cadence(services.settings.followup.new_lead_cadence)
    if defn is None:
        return False
    change = rules.start(defn, services.now(), window_for(services, lead), first_reply_now=True)
    return apply(session, services, lead, change)


def begin_clock(session: Session, services: Services, lead: Lead, now: datetime) -> bool:
    """Our first reply went out: the follow-ups count from now."""
    defn = services.cadence(lead.cadence)
    if defn is None:
        return False
    return apply(
        session, services, lead, rules.begin_clock(run_of(lead), defn, now, window_for(services, lead))
    )


def replan(session: Session, services: Services, lead: Lead) -> bool:
    """The lead's zone changed: the next touch moves out of their quiet hours if it fell in them."""
    change = rules.replan(
        run_of(lead), window_for(services, lead), services.cadence(lead.cadence), services.now()
    )
    return apply(session, services, lead, change)


def stop(session: Session, services: Services, lead: Lead, why: str, actor: str | None = None) -> bool:
    return apply(session, services, lead, rules.stop(run_of(lead), why), actor)


def pause(session: Session, services: Services, lead: Lead, why: str, actor: str | None = None) -> bool:
    return apply(session, services, lead, rules.pause(run_of(lead), why), actor)


def resume(session: Session, services: Services, lead: Lead, actor: str | None = None) -> bool:
    defn = services.cadence(lead.cadence)
    if defn is None:
        return False
    change = rules.resume(
        run_of(lead), defn, services.now(), window_for(services, lead), lead.first_response_at
    )
    return apply(session, services, lead, change, actor)


def react(
    session: Session,
    services: Services,
    lead: Lead,
    event: str,
    actor: str | None = None,
    why: str | None = None,
) -> bool:
    """What an event (reply, booking, opt-out, complaint, bounce …) does: stop, switch or nothing."""
    change = rules.react(
        run_of(lead),
        services.cadence(lead.cadence),
        event,
        services.now(),
        window_for(services, lead),
        services.cadences(),
        why,
    )
    if change is not None and change.run.state == CadenceState.ACTIVE and lead.contact.opted_out:
        change = rules.stop(run_of(lead), "opted out")
    return apply(session, services, lead, change, actor)


def react_to_message(session: Session, services: Services, lead: Lead, triage: Triage) -> bool:
    """A real reply: the strongest thing it means (opt-out, complaint, booking, a reply) decides."""
    return any(react(session, services, lead, event) for event in rules.events_of(triage, is_reply=True))


def on_stage(session: Session, services: Services, lead: Lead, old: str, new: str, actor: str | None) -> bool:
    """The stage moved: switch to the stage's cadence, stop, or leave it (config followup.stages)."""
    change = rules.on_stage(
        run_of(lead),
        services.cadence(lead.cadence),
        old,
        new,
        services.settings.followup.stages,
        services.cadences(),
        services.now(),
        window_for(services, lead),
    )
    if change is not None and change.run.state == CadenceState.ACTIVE and lead.contact.opted_out:
        return False  # nobody who opted out is started on a cadence
    return apply(session, services, lead, change, actor)


def on_visit(session: Session, services: Services, lead: Lead, actor: str | None) -> bool:
    """The visit got a (new) time (lead.visit_at, already set): its reminders move to it, or the
    stage map's visit reminder starts; touches written for the old time are withdrawn."""
    change = rules.on_visit(
        run_of(lead),
        services.cadence(lead.cadence),
        services.settings.followup.stages,
        services.cadences(),
        services.now(),
        window_for(services, lead),
    )
    if change is not None and change.run.state == CadenceState.ACTIVE and lead.contact.opted_out:
        return False  # nobody who opted out is reminded of anything
    return apply(session, services, lead, change, actor)


def cancel_visit(session: Session, services: Services, lead: Lead, actor: str | None) -> bool:
    """The visit was called off: its reminders stop."""
    return apply(
        session, services, lead, rules.cancel_visit(run_of(lead), services.cadence(lead.cadence)), actor
    )


def line(services: Services, lead: Lead) -> str | None:
    """The card's follow-up line for this lead, in the business's zone, naming the channel the
    next touch goes out on."""
    from sheepdog.handlers.drafting import reply_channel  # drafting uses this module too

    channel = reply_channel(services, lead, lead.contact)
    return followup_line(
        run_of(lead),
        services.cadence(lead.cadence),
        services.business.timezone,
        channel.value if channel else None,
        services.now(),
    )
