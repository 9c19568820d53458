"""The `weekly_report` job: runs every few minutes, posts once a week, Monday 08:00 business time.

Each destination (Slack, Telegram, the console) is recorded in the event log when its post
succeeded, so a failure on one is retried at the next look without posting twice to the others.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from typing import Any

from sqlalchemy import select

from sheepdog.handlers.context import Services
from sheepdog.reports import weekly
from sheepdog.storage.tables import Event

log = logging.getLogger(__name__)

POSTED = "weekly_report_posted"


def _done(services: Services, key: str) -> set[str]:
    with services.db.session() as s:
        rows = s.scalars(select(Event).where(Event.kind == POSTED)).all()
        return {str((e.data or {}).get("to")) for e in rows if (e.data or {}).get("week") == key}


def slack_client(services: Services) -> Any:
    from slack_sdk import WebClient

    conf = services.settings.slack
    base = f"{conf.api_base_url.rstrip('/')}/api/" if conf.api_base_url else "https://slack.com/api/"
    return WebClient(token=conf.bot_token, base_url=base)


def telegram_target(settings: Any) -> tuple[str, str, str | None] | None:
    """(bot token, chat id, Bot API base URL) of the report's Telegram post: [reports]'s own bot and
    chat when set, else the Telegram team surface's bot and group (or the owner's chat)."""
    conf = settings.reports
    if conf.telegram_bot_token and conf.telegram_chat_id:
        return conf.telegram_bot_token, conf.telegram_chat_id, conf.telegram_api_base_url
    team, customer = settings.telegram_team, settings.channels.telegram
    token = team.bot_token or (customer.bot_token if customer.enabled else None)
    chat = team.group_chat_id or team.owner_chat_id
    if team.enabled and token and chat:
        return token, str(chat), team.api_base_url
    return None


def telegram_bot(services: Services) -> Any:
    from sheepdog.channels.telegram_customer import make_bot

    token, _, base_url = telegram_target(services.settings) or ("", "", None)
    return make_bot(token, base_url)


def destinations(services: Services) -> dict[str, Any]:
    """Where this deployment's report goes: name → a function posting a report there."""
    settings = services.settings
    out: dict[str, Any] = {"console": None}
    channel = settings.reports.slack_channel or settings.slack.channel
    if settings.slack.enabled and settings.slack.bot_token and channel:
        out["slack"] = lambda r: weekly.post_to_slack(slack_client(services), channel, r)
    target = telegram_target(settings)
    if target is not None:
        chat = target[1]
        out["telegram"] = lambda r: asyncio.run(weekly.post_to_telegram(telegram_bot(services), chat, r))
    return out


def weekly_report(services: Services) -> str:
    """Post last week's report if it is Monday 08:00 or later (business time) and not yet posted."""
    if not services.settings.reports.weekly:
        return "off"
    now = services.now()
    tz = services.business.timezone
    run_at, period = weekly.due(now, tz)
    if now - run_at > weekly.REPORT_LATE_WINDOW:
        return "not due"
    key = period.label.removeprefix("week of ")
    todo = {name: post for name, post in destinations(services).items() if name not in _done(services, key)}
    if not todo:
        return "posted already"
    report = weekly.build(services.db, now, tz, services.business.currency, period)
    failed = []
    for name, post in todo.items():
        try:
            if post is not None:
                post(report)
        except Exception as exc:  # one platform down must not hold the others back
            log.warning("weekly report to %s failed: %s", name, exc)
            failed.append(name)
            continue
        with services.db.session() as s:
            data: dict[str, Any] = {"week": key, "to": name}
            if name == "console":  # the console shows the newest report from here
                data |= {"text": report.text, "png": base64.b64encode(report.png).decode()}
            services.log(s, POSTED, None, "Sheepdog", **data)
    if failed:
        raise RuntimeError(f"weekly report not posted to {', '.join(failed)}; retried at the next look")
    return "posted"
