"""The follow-up line every surface shows on a lead's card, from the stored cadence run alone:
"Follow-up: post-quote, next touch Thu 10:00 by SMS". Pure, so Slack, Telegram and the console
render the same words."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sheepdog.domain.cadence import CadenceDef, CadenceState, Run

CHANNEL_NAMES = {
    "email": "email",
    "sms": "SMS",
    "telegram": "Telegram",
    "webform": "email",
    "webhook": "webhook",
}


def followup_line(
    run: Run,
    defn: CadenceDef | None,
    tz: str,
    channel: str | None,
    now: datetime | None = None,
) -> str | None:
    """One line, or None when the lead never had a cadence. `channel` is the channel the next touch
    goes out on (the step's fixed one, else the lead's reply channel); `tz` is the zone the reader
    thinks in (the business's). The day is named when the touch is more than a day away."""
    if not run.cadence:
        return None
    title = defn.title if defn else run.cadence.replace("_", "-")
    state = run.state
    if state == CadenceState.ACTIVE and run.started_at is None:
        return f"Follow-up: {title}, starts when the first reply goes out"
    if state == CadenceState.ACTIVE and defn is not None and defn.to_visit:
        if run.next_at is None:
            return f"Follow-up: {title}, waits for the visit time"
        if run.step >= len(defn.steps):
            return f"Follow-up: {title}, no more reminders before the visit"
    if state == CadenceState.ACTIVE and run.next_at is not None:
        local = run.next_at.astimezone(ZoneInfo(tz))
        soon = now is not None and abs((run.next_at - now).total_seconds()) < 20 * 3600
        when = f"{local:%H:%M}" if soon else f"{local:%a} {local:%H:%M}"
        step = defn.step(run.step) if defn else None
        by = (step.channel if step and step.channel != "lead" else channel) or ""
        how = f" by {CHANNEL_NAMES.get(by, by)}" if by else ""
        return f"Follow-up: {title}, next touch {when}{how}"
    if state == CadenceState.PAUSED:
        return f"Follow-up: {title}, paused"
    if state == CadenceState.STOPPED:
        why = f" ({run.stop_reason})" if run.stop_reason else ""
        return f"Follow-up: {title}, stopped{why}"
    if state == CadenceState.DONE:
        return f"Follow-up: {title}, finished"
    return f"Follow-up: {title}"


def visit_words(visit_at: datetime, now: datetime, tz: str) -> str:
    """The booked visit as a reminder restates it, in the reader's zone: "today at 9:00 am",
    "tomorrow, Thursday 3 December at 9:00 am", "Thursday 3 December at 9:00 am". Guardrails let
    exactly these words through as a time (they are the team's booking, not a promise)."""
    zone = ZoneInfo(tz)
    local, today = visit_at.astimezone(zone), now.astimezone(zone).date()
    hour = local.hour % 12 or 12
    clock = f"{hour}:{local.minute:02d} {'am' if local.hour < 12 else 'pm'}"
    day = f"{local:%A} {local.day} {local:%B}"
    if local.date() == today:
        return f"today at {clock}"
    if local.date() == today + timedelta(days=1):
        return f"tomorrow, {day} at {clock}"
    return f"{day} at {clock}"
