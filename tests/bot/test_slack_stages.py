"""Stage buttons on the Slack brief: Visit scheduled / Quoted move the lead at once; Won asks for
the amount and Lost for the reason in a modal, both through handlers.team_actions."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from sheepdog.app import Runtime
from sheepdog.storage.tables import Event, Lead
from tests.bot.slack_fake import FakeSlack
from tests.bot.test_slack import check, new_lead, rt  # noqa: F401  (the fixture)


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
