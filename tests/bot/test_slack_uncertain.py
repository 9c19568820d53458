"""The Slack buttons on a send flagged "may not have gone out — check" (issue 13): Send again
sends exactly once and is refused a second time, each click a signed stored block_actions payload
through the real slack-bolt app."""

from __future__ import annotations

from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import select

from sheepdog.app import build_runtime, build_services
from sheepdog.jobs.queue import InProcessQueue
from sheepdog.storage.tables import Draft, Event, Lead, Outbox
from tests.bot.conftest import slack_settings
from tests.bot.slack_fake import FakeSlack
from tests.bot.test_slack import check
from tests.conftest import TOKEN, fixture_bytes, free_port
from tests.handlers.test_trusted_sends import idle
from tests.handlers.test_trusted_sends_edges import LateOnce


async def test_send_again_from_slack_sends_once_and_is_refused_the_second_time(
    make_settings: Any, fake: FakeSlack, aiohttp_client: Any
) -> None:
    recorder = LateOnce(late=1)
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings = slack_settings(make_settings, fake)
    settings.channels.email.smtp.port, settings.channels.email.smtp.timeout_s = controller.port, 0.5
    runtime = build_runtime(settings, services=build_services(settings, queue=InProcessQueue(periodic=False)))
    try:
        client = await aiohttp_client(runtime.app, headers={"Authorization": f"Bearer {TOKEN}"})
        resp = await client.post(
            "/hooks/form",
            data=fixture_bytes("loop", "webform__lead.json"),
            headers={"Content-Type": "application/json"},
        )
        assert resp.status == 200
        with runtime.services.db.session() as s:
            lead_id, draft_id = s.scalar(select(Lead.id)), s.scalar(select(Draft.id))
        assert (await client.post(f"/api/drafts/{draft_id}/approve", json={"actor": "Dana"})).status == 200
        await idle(runtime)
        with runtime.services.db.session() as s:
            assert s.scalar(select(Outbox.state)) == "uncertain" and len(recorder.messages) == 1

        click = {"sheepdog_pause": "sheepdog_send_again", "DRAFT_ID": str(lead_id), "CARD_TS": "1.0"}
        await check(client, fake, "block_actions__pause.json", **click)
        await idle(runtime)
        await fake.settle()
        told = len(fake.made(skip=()))
        await check(client, fake, "block_actions__pause.json", **click)
        await idle(runtime)
        await fake.wait_for(lambda: any(c.method == "response_url" for c in fake.calls[told:]))
        answer = next(c for c in fake.calls[told:] if c.method == "response_url")
        assert answer.params["text"] == "Nothing changed: nothing waits to be checked."
        assert len(recorder.messages) == 2  # the second click sent nothing
        with runtime.services.db.session() as s:
            assert s.scalar(select(Outbox.state)) == "sent"
            again = s.scalars(select(Event).where(Event.kind == "send_again")).all()
            assert len(again) == 1
    finally:
        runtime.services.db.dispose()
        controller.stop()
