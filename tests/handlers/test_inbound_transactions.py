"""A slow brain (Claude over the network) must never hold the database: the customer's message is
stored before the brain is asked, and the team keeps working meanwhile. Real components: the
Claude backend through the anthropic SDK, pointed at a local Messages API server that answers slowly."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from sheepdog.app import build_services
from sheepdog.domain.models import Channel, InboundMessage
from sheepdog.handlers import actions
from sheepdog.handlers.inbound import receive
from sheepdog.jobs.queue import InProcessQueue
from sheepdog.storage.tables import Message
from tests.brain.messages_server import MessagesServer, Reply, text


def _msg(i: int, body: str) -> InboundMessage:
    return InboundMessage(
        channel=Channel.EMAIL,
        text=body,
        received_at=datetime.now(UTC),
        sender_email=f"c{i}@example.com",
        sender_name=f"Customer {i}",
        provider_message_id=f"<slow-{i}@example.com>",
    )


def claude_settings(make_settings: Any, api: MessagesServer) -> Any:
    """Claude as the brain, at the local Messages API server, no retries (the delay is the point)."""
    return make_settings(
        brain={"backend": "claude", "anthropic_api_key": "test-key", "base_url": api.url, "max_retries": 0}
    )


def test_a_slow_brain_holds_no_lock_and_loses_nothing(make_settings: Any, smtp: Any) -> None:
    with MessagesServer() as api:
        settings = claude_settings(make_settings, api)
        svc = build_services(settings, queue=InProcessQueue(periodic=False))
        first = receive(svc, _msg(1, "Do you install heat pumps?"))  # an existing lead to work on
        held = threading.Event()
        api.script(Reply(200, text("Thanks for getting in touch!"), gate=held))
        api.arrived.clear()
        done: list[Any] = []
        worker = threading.Thread(target=lambda: done.append(receive(svc, _msg(2, "Is my furnace fixable?"))))
        worker.start()
        assert api.arrived.wait(timeout=30)  # the second message is with the (held) brain now
        with svc.db.session() as s:
            stored = s.scalar(
                select(func.count()).select_from(Message).where(Message.text == "Is my furnace fixable?")
            )
        assert stored == 1  # committed before the brain was asked

        # No waiting for the brain's transaction: a note commits while the brain is still held
        # (SQLite's busy timeout would otherwise make this raise "database is locked").
        actions.note(svc, first.lead_id, "Dana", "called back, left a voicemail")
        assert not held.is_set() and not done
        held.set()
        worker.join(timeout=30)
        assert done and done[0].lead_id is not None
        svc.db.dispose()


async def test_a_webhook_is_answered_before_a_slow_brain_finishes(
    make_settings: Any, smtp: Any, aiohttp_client: Any
) -> None:
    """Twilio and friends give up after ~15 s: the hook answers once the message is stored; the
    brief and draft follow in a job, nothing is lost."""
    import asyncio

    from sheepdog.app import build_runtime
    from sheepdog.storage.tables import Lead
    from tests.conftest import fixture_bytes

    with MessagesServer() as api:
        held = threading.Event()  # the brain answers only when the test lets it
        api.script(Reply(200, text("Thanks for getting in touch!"), gate=held))
        settings = claude_settings(make_settings, api)
        runtime = build_runtime(
            settings, services=build_services(settings, queue=InProcessQueue(periodic=False))
        )
        client = await aiohttp_client(runtime.app, settle=False)
        resp = await client.post(
            "/hooks/form",
            data=fixture_bytes("loop", "webform__lead.json"),
            headers={"Content-Type": "application/json"},
        )
        assert resp.status == 200 and not held.is_set()  # answered while the brain is still busy
        with runtime.services.db.session() as s:
            assert s.scalar(select(func.count()).select_from(Message)) == 1  # stored before the answer
            lead = s.scalar(select(Lead))
            assert lead is None or not lead.brief  # the brief is not there yet
        held.set()
        for _ in range(100):  # the brain finishes on its own: a lead with a brief
            with runtime.services.db.session() as s:
                lead = s.scalar(select(Lead))
                if lead is not None and lead.brief:
                    break
            await asyncio.sleep(0.1)
        assert lead is not None and lead.brief
        await client.close()
        runtime.services.db.dispose()
