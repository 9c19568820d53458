"""Shared by the Slack tests: the local Slack Web API server and the settings that point at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.bot.slack_fake import FakeSlack

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL = "C0LEADS"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    slack = FakeSlack()
    await slack.start()
    yield slack
    await slack.stop()


def slack_settings(make_settings: Any, fake: FakeSlack, **slack: Any) -> Any:
    """Settings with Slack on, every draft waiting for approval, the Web API at the local server."""
    return make_settings(
        policy={"first_reply": {"autonomy": "L3"}},
        slack={
            "enabled": True,
            "bot_token": "xoxb-test",
            "signing_secret": SECRET,
            "channel": CHANNEL,
            "owner_user_id": "UDANA",
            "api_base_url": fake.base_url + "/api",
            **slack,
        },
    )
