"""`sheepdog run`'s terminal lines, read from the event log of the real app: one per message in,
one per send (who, channel, what was decided). The `run` process itself: tests/test_config_cli.py."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sheepdog.bot.live_lines import last_event_id, lines_after
from tests.conftest import fixture_bytes


async def test_a_line_per_message_in_and_per_send(client: Any, runtime: Any) -> None:
    services = runtime.services
    start = await asyncio.to_thread(last_event_id, services)
    for name in ("webform__lead.json", "webform__pricing.json"):
        assert (await client.post("/hooks/form", json=json.loads(fixture_bytes("loop", name)))).status == 200
    lee = next(r for r in (await (await client.get("/api/leads")).json())["leads"] if r["name"] == "Lee Park")
    draft = next(
        c
        for c in (await (await client.get(f"/api/leads/{lee['id']}")).json())["cards"]
        if c["kind"] == "draft"
    )
    resp = await client.post(f"/api/drafts/{draft['extra']['draft_id']}/approve", json={"actor": "Dana"})
    assert resp.status == 200
    await asyncio.to_thread(services.queue.wait_idle, 30.0)

    lines, last = await asyncio.to_thread(lines_after, services, start)
    said = [line.split("  ", 1)[1] for line in lines]  # without the time
    assert said == [
        "← Jordan Ellis · web form · a new inquiry → answered on its own",
        "→ Jordan Ellis · email · sent on its own",
        "← Lee Park · web form · a pricing question → waits for you: a pricing question — answer within 15 minutes",
        "→ Lee Park · email · holding reply sent on its own",  # "a person will answer by …"
        "→ Lee Park · email · sent, approved by Dana",
    ]
    assert all(line[:5].strip() for line in lines)  # each line starts with the business's time
    assert await asyncio.to_thread(lines_after, services, last) == ([], last)  # nothing twice
