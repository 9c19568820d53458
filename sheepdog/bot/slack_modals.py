"""Slack modals: Edit (the draft's text), Won / Lost (the amount, the reason) and Visit scheduled
(a date and a time picker). A modal's submission is answered in the modal when it cannot be done
(empty, already decided, not an amount, a time already gone); otherwise it becomes a TeamAction
like any button."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from sheepdog.bot.cards import lead_title
from sheepdog.bot.slack_blocks import (
    EDIT_ACTION,
    EDIT_BLOCK,
    OUTCOME_ACTION,
    OUTCOME_BLOCK,
    VISIT_DATE_ACTION,
    VISIT_DATE_BLOCK,
    VISIT_TIME_ACTION,
    VISIT_TIME_BLOCK,
    edit_modal,
    outcome_modal,
    visit_modal,
)
from sheepdog.bot.slack_members import SlackMembers
from sheepdog.errors import BadInputError
from sheepdog.handlers import actions
from sheepdog.handlers.context import Services
from sheepdog.handlers.team_actions import TeamAction, check_when, draft_to_edit, perform, visit_prefill
from sheepdog.storage.tables import Lead

STAGE_RIGHT = "change a lead's stage"  # what a member without the right is told they may not do


class SlackModals(SlackMembers):
    """Opening and submitting the modals that ask for a text before an action."""

    async def act(
        self, services: Services, client: AsyncWebClient, user_id: str, kind: str, target: int, text: str = ""
    ) -> actions.ActionResult:
        actor = await self.display_name(client, user_id)
        return await perform(services, TeamAction(kind, target, actor, text, "slack"))

    async def submitted(
        self,
        services: Services,
        client: AsyncWebClient,
        user_id: str,
        right: str,
        failed: str,
        action: str,
        target: int,
        value: str,
    ) -> None:
        """After a modal's Submit is acknowledged: a member who may not act is told so, else the
        action runs, and a refusal comes back to them as "<failed>: <why>."."""
        if not await self.may_act(client, user_id):
            await self.refuse(services, client, user_id, right)
            return
        result = await self.act(services, client, user_id, action, target, value)
        if not result.ok:
            await self.tell(client, user_id, f"{failed}: {result.message}.")

    async def open_modal(
        self,
        services: Services,
        client: AsyncWebClient,
        respond: AsyncRespond,
        body: dict[str, Any],
        name: str,
        target: int,
    ) -> None:
        """Edit opens the draft's text (or says why not: already decided); Won and Lost ask first;
        Visit scheduled asks when (prefilled with the booked visit or the customer's asked time)."""
        user_id = body["user"]["id"]
        if name == "edit":
            body_text, decided = await asyncio.to_thread(draft_to_edit, services, target)
            if body_text is None:
                await self.tell(client, user_id, f"Nothing to edit: {decided}.", respond)
                return
            where = body.get("container") or {}
            meta = {"channel": where.get("channel_id"), "ts": where.get("message_ts")}
            await client.views_open(trigger_id=body["trigger_id"], view=edit_modal(target, body_text, meta))
            return
        title = await asyncio.to_thread(_lead_title, services, target)
        if name == "visit_scheduled":
            pre = await asyncio.to_thread(visit_prefill, services, target)
            tz = services.business.timezone
            modal = visit_modal(target, title, tz, pre.day, pre.at, pre.source)
        else:
            modal = outcome_modal(name, target, title, services.business.currency)
        await client.views_open(trigger_id=body["trigger_id"], view=modal)

    async def on_edit_submit(
        self, services: Services, client: AsyncWebClient, ack: AsyncAck, body: dict[str, Any]
    ) -> None:
        view, user_id = body["view"], body["user"]["id"]
        value = _modal_value(view, EDIT_BLOCK, EDIT_ACTION)
        if not value:
            await ack(response_action="errors", errors={EDIT_BLOCK: "The message is empty."})
            return
        draft_id = int(json.loads(view.get("private_metadata") or "{}")["draft_id"])
        # Decided while the modal was open (someone approved or skipped it): say so in the modal.
        _, decided = await asyncio.to_thread(draft_to_edit, services, draft_id)
        if decided:
            await ack(response_action="errors", errors={EDIT_BLOCK: f"Not sent: {decided}."})
            return
        await ack()
        await self.submitted(services, client, user_id, "edit drafts", "Not sent", "edit", draft_id, value)

    async def on_outcome_submit(
        self, services: Services, client: AsyncWebClient, ack: AsyncAck, body: dict[str, Any]
    ) -> None:
        """Won with its amount, Lost with its reason; a bad amount is said in the modal."""
        view, user_id = body["view"], body["user"]["id"]
        meta = json.loads(view.get("private_metadata") or "{}")
        kind, lead_id, value = (
            str(meta.get("kind")),
            int(meta.get("lead_id") or 0),
            _modal_value(view, OUTCOME_BLOCK, OUTCOME_ACTION),
        )
        try:
            if kind == "won" and value:
                actions.parse_amount(value, services.business.currency)
            elif kind == "lost" and not value:
                raise BadInputError("Say why it was lost.")
        except BadInputError as exc:
            await ack(response_action="errors", errors={OUTCOME_BLOCK: str(exc)})
            return
        await ack()
        await self.submitted(services, client, user_id, STAGE_RIGHT, "Nothing changed", kind, lead_id, value)

    async def on_visit_submit(
        self, services: Services, client: AsyncWebClient, ack: AsyncAck, body: dict[str, Any]
    ) -> None:
        """The visit's day and time, read in the business's zone: a time already gone (or one the
        clocks skip) is said in the modal and nothing is recorded; else the same team action as
        `/sheepdog visit 12 …`: the stage, the time, its reminders, the card updated."""
        view, user_id = body["view"], body["user"]["id"]
        lead_id = int(json.loads(view.get("private_metadata") or "{}").get("lead_id") or 0)
        day = _modal_value(view, VISIT_DATE_BLOCK, VISIT_DATE_ACTION, "selected_date")
        at = _modal_value(view, VISIT_TIME_BLOCK, VISIT_TIME_ACTION, "selected_time")
        if not day or not at:
            missing = VISIT_DATE_BLOCK if not day else VISIT_TIME_BLOCK
            await ack(response_action="errors", errors={missing: "Pick the day and the time of the visit."})
            return
        when = f"{day} {at}"
        if why := check_when(services, when):
            await ack(response_action="errors", errors={VISIT_TIME_BLOCK: f"{why[:1].upper()}{why[1:]}."})
            return
        await ack()
        await self.submitted(
            services, client, user_id, STAGE_RIGHT, "Nothing changed", "visit_scheduled", lead_id, when
        )


def _modal_value(view: dict[str, Any], block: str, action: str, key: str = "value") -> str:
    """An input's value in view.state: `value` for text, `selected_date` / `selected_time` for pickers."""
    values = ((view.get("state") or {}).get("values") or {}).get(block) or {}
    return str((values.get(action) or {}).get(key) or "").strip()


def _lead_title(services: Services, lead_id: int) -> str:
    with services.db.session() as s:
        lead = s.get(Lead, lead_id)
        return lead_title(lead) if lead is not None else f"Lead #{lead_id}"
