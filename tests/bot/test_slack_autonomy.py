"""`/sheepdog autonomy` from Slack: the owner (slack.owner_user_id) changes it, stored in the
database and logged; a member who is not the owner is refused and nothing changes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from sheepdog.app import Runtime
from sheepdog.handlers import policy_store
from sheepdog.storage.tables import Event
from tests.bot.slack_fake import FakeSlack
from tests.bot.test_slack import check, rt  # noqa: F401  (rt is the fixture)


async def answer(fake: FakeSlack, before: int) -> str:
    await fake.wait_for(lambda: any(c.method == "response_url" for c in fake.calls[before:]))
    return next(c.params.get("text", "") for c in fake.calls[before:] if c.method == "response_url")


async def test_owner_changes_autonomy_and_a_member_is_refused(
    rt: tuple[Runtime, Any],  # noqa: F811  (the fixture imported above)
    fake: FakeSlack,
) -> None:
    runtime, client = rt
    before = len(fake.calls)
    await check(client, fake, "slash_command__autonomy.txt", USER_ID="UALI")  # a member, not the owner
    assert "only the owner can change autonomy" in await answer(fake, before)
    with runtime.services.db.session() as s:
        assert policy_store.autonomy(s, runtime.settings, "first_reply").source == "config"
        refused = s.scalar(select(Event).where(Event.kind == "autonomy_refused"))
        assert refused is not None and refused.actor == "Ali"

    before = len(fake.calls)
    await check(client, fake, "slash_command__autonomy.txt", USER_ID="UDANA")
    assert "first reply L3 → L5" in await answer(fake, before)  # the Slack tests run at L3
    with runtime.services.db.session() as s:
        now = policy_store.autonomy(s, runtime.settings, "first_reply")
        assert (now.level.value, now.source) == ("L5", "set by Dana in chat")
