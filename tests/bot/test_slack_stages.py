"""Stage buttons on the Slack brief: Quoted moves the lead at once; Visit scheduled asks when (a
date and a time picker), Won the amount and Lost the reason in a modal, all through
handlers.team_actions."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from sheepdog.app import Runtime, build_runtime, build_services
from sheepdog.jobs.queue import InProcessQueue
from sheepdog.storage.tables import CardPost, Event, Lead
from tests.bot.conftest import slack_settings
from tests.bot.slack_fake import FakeSlack
from tests.bot.test_slack import check, new_lead, rt  # noqa: F401  (the fixture)
from tests.conftest import fixture_bytes


def outcome_submission(view: dict[str, Any], value: str) -> dict[str, str]:
    """view_submission__edit.json turned into the Won/Lost modal's submission."""
    return {
        '"sheepdog_edit"': '"sheepdog_outcome"',
        '"draft": {': '"outcome": {',
        "This is my example inputted value": value,
        "PRIVATE_METADATA": json.dumps(view["private_metadata"])[1:-1],
    }


async def test_stage_buttons_on_the_brief_and_the_won_and_lost_modals(
    rt: tuple[Runtime, Any],  # noqa: F811
    fake: FakeSlack,
) -> None:
    runtime, client = rt
    lead_id, _, posts = await new_lead(rt, fake)
    root = next(c for c in fake.made() if c.method == "chat.postMessage")
    stage_block = root.params["blocks"][-1]
    assert [b["action_id"] for b in stage_block["elements"]] == [
        "sheepdog_visit_scheduled",
        "sheepdog_quoted",
        "sheepdog_won",
        "sheepdog_lost",
    ]
    brief = {"DRAFT_ID": str(lead_id), "CARD_TS": posts[f"brief:{lead_id}"]}

    async def press_for_modal(kind: str) -> dict[str, Any]:
        """Press Won or Lost on the brief: the modal Slack was asked to open."""
        press = {"sheepdog_approve": f"sheepdog_{kind}"}
        await check(client, fake, "block_actions__approve.json", **press, expect=["views.open"], **brief)
        return next(c for c in reversed(fake.calls) if c.method == "views.open").params["view"]

    await check(
        client, fake, "block_actions__approve.json", **{"sheepdog_approve": "sheepdog_quoted"}, **brief
    )
    await fake.settle()
    with runtime.services.db.session() as s:
        assert s.get(Lead, lead_id).stage == "quoted"

    view = await press_for_modal("won")
    assert view["callback_id"] == "sheepdog_outcome" and view["blocks"][1]["optional"] is True
    resp = await check(client, fake, "view_submission__edit.json", **outcome_submission(view, "lots"))
    assert (await resp.json())["response_action"] == "errors"  # said in the modal, nothing changed
    await check(client, fake, "view_submission__edit.json", **outcome_submission(view, "$4,500"))
    await fake.settle()
    with runtime.services.db.session() as s:
        lead = s.get(Lead, lead_id)
        assert (lead.stage, str(lead.outcome_value)) == ("won", "4500.00")
        outcome = s.scalars(select(Event).where(Event.kind == "outcome")).one()
        assert outcome.actor == "Dana" and outcome.data["value"] == "4500.00"
    last_root = [
        c for c in fake.calls if c.method == "chat.update" and c.params["ts"] == posts[f"brief:{lead_id}"]
    ][-1]
    pressable = {
        e["action_id"] for b in last_root.params["blocks"] if b["type"] == "actions" for e in b["elements"]
    }
    stages = {f"sheepdog_{k}" for k in ("visit_scheduled", "quoted", "won", "lost")}
    assert not pressable & stages  # won: no stage buttons left (Pause stays: the review request runs)

    view = await press_for_modal("lost")
    resp = await check(client, fake, "view_submission__edit.json", **outcome_submission(view, ""))
    assert (await resp.json())["errors"] == {"outcome": "Say why it was lost."}


def visit_submission(view: dict[str, Any], day: str | None, at: str | None) -> dict[str, str]:
    """view_submission__visit.json with the modal's lead and the picked day and time (None: empty)."""
    return {
        "PRIVATE_METADATA": json.dumps(view["private_metadata"])[1:-1],
        '"SELECTED_DATE"': json.dumps(day),
        '"SELECTED_TIME"': json.dumps(at),
    }


@pytest.fixture(params=["sqlite", "postgresql"])
async def rt_both(
    request: pytest.FixtureRequest, make_settings: Any, fake: FakeSlack, aiohttp_client: Any
) -> AsyncIterator[tuple[Runtime, Any]]:
    """The Slack app on SQLite, then on PostgreSQL."""
    storage = {"url": request.getfixturevalue("pg_url")} if request.param == "postgresql" else None
    settings = slack_settings(
        lambda **o: make_settings(**({"storage": storage} if storage else {}), **o), fake
    )
    runtime = build_runtime(settings, services=build_services(settings, queue=InProcessQueue(periodic=False)))
    client = await aiohttp_client(runtime.app, headers={"Authorization": "Bearer test-console-token"})
    yield runtime, client
    runtime.services.db.dispose()


async def test_visit_scheduled_opens_a_date_and_time_modal_and_books_the_visit(
    rt_both: tuple[Runtime, Any], fake: FakeSlack
) -> None:
    """The button asks when (prefilled with the time the customer asked for); a time already gone
    or a picker left empty is said in the modal and nothing is recorded; a time ahead books the
    visit through the same team action as `/sheepdog visit`, by the member, and the brief says so."""
    runtime, client = rt_both
    form = json.loads(fixture_bytes("loop", "webform__lead.json"))
    form["message"] += " Could someone come out tomorrow at 10am to take a look?"
    resp = await client.post("/hooks/form", json=form)
    assert resp.status == 200
    await fake.wait_for(lambda: len(fake.made()) >= 3)
    await fake.settle()
    with runtime.services.db.session() as s:
        lead_id = s.scalars(select(Lead.id)).one()
        brief_ts = s.scalars(select(CardPost.ref).where(CardPost.card_key == f"brief:{lead_id}")).one()
    chicago = ZoneInfo("America/Chicago")
    today = runtime.services.now().astimezone(chicago).date()
    tomorrow, yesterday = today + timedelta(days=1), today - timedelta(days=1)

    press = {"sheepdog_approve": "sheepdog_visit_scheduled", "DRAFT_ID": str(lead_id), "CARD_TS": brief_ts}
    await check(client, fake, "block_actions__approve.json", **press, expect=["views.open"])
    opened = fake.calls[-1]
    assert opened.params["trigger_id"] == "12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3"
    view = opened.params["view"]
    assert view == {
        "type": "modal",
        "callback_id": "sheepdog_visit",
        "private_metadata": json.dumps({"lead_id": lead_id}),
        "title": {"type": "plain_text", "text": "Visit scheduled"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"Lead #{lead_id}: Jordan Ellis"}},
            {
                "type": "input",
                "block_id": "visit_date",
                "label": {"type": "plain_text", "text": "Day of the visit"},
                "element": {
                    "type": "datepicker",
                    "action_id": "date",
                    "placeholder": {"type": "plain_text", "text": "Pick a day"},
                    "initial_date": tomorrow.isoformat(),
                },
            },
            {
                "type": "input",
                "block_id": "visit_time",
                "label": {"type": "plain_text", "text": "Time"},
                "element": {
                    "type": "timepicker",
                    "action_id": "time",
                    "timezone": "America/Chicago",
                    "placeholder": {"type": "plain_text", "text": "Pick a time"},
                    "initial_time": "10:00",
                },
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": "Prefilled with what the customer asked for. Times are "
                        "America/Chicago. The customer is reminded before the visit.",
                    }
                ],
            },
        ],
    }

    async def submit(day: str | None, at: str | None) -> Any:
        """Submit the modal: the answer Slack gets (nothing is asked of the Web API when refused)."""
        resp = await check(client, fake, "view_submission__visit.json", **visit_submission(view, day, at))
        return await resp.json() if resp.content_length else None

    before = len(fake.calls)
    assert await submit(yesterday.isoformat(), "10:00") == {
        "response_action": "errors",
        "errors": {"visit_time": f"{yesterday:%a %d %b} 10:00 has already passed."},
    }
    assert await submit(tomorrow.isoformat(), None) == {
        "response_action": "errors",
        "errors": {"visit_time": "Pick the day and the time of the visit."},
    }
    assert await submit(None, "10:00") == {
        "response_action": "errors",
        "errors": {"visit_date": "Pick the day and the time of the visit."},
    }
    await fake.settle()
    assert fake.calls[before:] == []  # refused in the modal: no Web API call, nothing recorded
    with runtime.services.db.session() as s:
        lead = s.get(Lead, lead_id)
        assert lead.stage != "visit_scheduled" and lead.visit_at is None
        assert not s.scalars(select(Event).where(Event.kind == "visit_scheduled")).all()

    before = len(fake.calls)
    assert await submit(tomorrow.isoformat(), "14:30") is None  # closed: accepted
    await fake.settle()
    booked = datetime.combine(tomorrow, time(14, 30), chicago)
    with runtime.services.db.session() as s:
        lead = s.get(Lead, lead_id)
        assert (lead.stage, lead.visit_at) == ("visit_scheduled", booked.astimezone(UTC))
        (event,) = s.scalars(select(Event).where(Event.kind == "visit_scheduled")).all()
        assert (event.actor, event.data["at"]) == ("Dana", booked.astimezone(UTC).isoformat())
    updates = [c for c in fake.calls[before:] if c.method == "chat.update"]
    brief = [c for c in updates if c.params["ts"] == brief_ts][-1]
    fields = [f["text"] for b in brief.params["blocks"] if b.get("fields") for f in b["fields"]]
    assert "*Stage*\nvisit scheduled" in fields
    assert any(f.startswith("*Visit*\n") and "14:30" in f for f in fields), fields
    stage_buttons = [b for b in brief.params["blocks"] if b.get("block_id") == f"stage:{lead_id}"]
    assert [e["action_id"] for e in stage_buttons[0]["elements"]] == [
        "sheepdog_quoted",
        "sheepdog_won",
        "sheepdog_lost",
    ]
    # Pressed again (to move the visit): the modal opens on the booked time.
    await check(client, fake, "block_actions__approve.json", **press, expect=["views.open"])
    again = fake.calls[-1].params["view"]["blocks"]
    assert (again[1]["element"]["initial_date"], again[2]["element"]["initial_time"]) == (
        tomorrow.isoformat(),
        "14:30",
    )
