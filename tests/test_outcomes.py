"""Won and lost: the stage is checked before anything is written, so a second 'won' changes nothing
(not the amount, not the event log), and only a real amount is taken. Through the console's HTTP
API and the chat command path the Slack slash command uses."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from sheepdog.app import Runtime
from sheepdog.errors import BadInputError
from sheepdog.handlers import commands
from sheepdog.storage.tables import Event, Lead
from tests.conftest import fixture_bytes


async def _lead_id(client: Any) -> int:
    resp = await client.post(
        "/hooks/form",
        data=fixture_bytes("loop", "webform__lead.json"),
        headers={"Content-Type": "application/json"},
    )
    assert resp.status == 200
    return int((await (await client.get("/api/leads")).json())["leads"][0]["id"])


def _outcome(runtime: Runtime, lead_id: int) -> tuple[str, Any, str | None, list[dict[str, Any]]]:
    with runtime.services.db.session() as s:
        lead = s.get(Lead, lead_id)
        events = s.scalars(select(Event).where(Event.lead_id == lead_id, Event.kind == "outcome")).all()
        return lead.stage, lead.outcome_value, lead.lost_reason, [e.data for e in events]


async def test_a_second_won_changes_nothing(client: Any, runtime: Runtime) -> None:
    lead_id = await _lead_id(client)
    first = await client.post(f"/api/leads/{lead_id}/won", json={"amount": "4,500"})
    assert first.status == 200 and (await first.json())["message"] == "won ($4,500)"
    again = await client.post(f"/api/leads/{lead_id}/won", json={"amount": "777"})
    assert again.status == 409
    assert (await again.json())["message"] == "already won ($4,500)"
    stage, value, _, events = _outcome(runtime, lead_id)
    assert (stage, str(value)) == ("won", "4500.00")
    assert events == [{"result": "won", "value": "4500.00"}]


async def test_a_second_lost_keeps_the_first_reason(client: Any, runtime: Runtime) -> None:
    lead_id = await _lead_id(client)
    first = await client.post(f"/api/leads/{lead_id}/lost", json={"reason": "too expensive"})
    assert first.status == 200
    again = await client.post(f"/api/leads/{lead_id}/lost", json={"reason": "went quiet"})
    assert again.status == 409 and (await again.json())["message"] == "already lost: too expensive"
    stage, _, reason, events = _outcome(runtime, lead_id)
    assert (stage, reason) == ("lost", "too expensive")
    assert events == [{"result": "lost", "reason": "too expensive"}]


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("NaN", "not an amount"),
        ("nan", "not an amount"),
        ("Infinity", "not an amount"),
        ("1e999999", "not an amount"),
        ("-50", "not an amount"),
        ("0", "more than zero"),
        ("0.001", "at least 0.01"),
        ("2000000000", "too large"),
        ("4,500 dollars", "not an amount"),
        (-50, "not an amount"),
        (float("inf"), "number out of range"),  # refused at the edge: numbers are bounded (issue 18)
    ],
)
async def test_only_a_real_amount_is_taken(client: Any, runtime: Runtime, amount: Any, words: str) -> None:
    lead_id = await _lead_id(client)
    if isinstance(amount, float):  # what a JSON 1e999999 becomes once parsed
        body = b'{"amount": 1e999999}'
        resp = await client.post(
            f"/api/leads/{lead_id}/won", data=body, headers={"Content-Type": "application/json"}
        )
    else:
        resp = await client.post(f"/api/leads/{lead_id}/won", json={"amount": amount})
    assert resp.status == 400, await resp.text()
    assert words in (await resp.json())["error"]
    stage, value, _, events = _outcome(runtime, lead_id)
    assert stage != "won" and value is None and events == []
    assert (await client.get(f"/api/leads/{lead_id}")).status == 200  # the lead still renders


async def test_won_without_an_amount_and_cents_are_kept(client: Any, runtime: Runtime) -> None:
    lead_id = await _lead_id(client)
    resp = await client.post(f"/api/leads/{lead_id}/won", json={"amount": "$1,234.56"})
    assert resp.status == 200 and (await resp.json())["message"] == "won ($1,234.56)"
    assert str(_outcome(runtime, lead_id)[1]) == "1234.56"
    other = await _lead_id_second(client)
    resp = await client.post(f"/api/leads/{other}/won", json={})
    assert resp.status == 200 and (await resp.json())["message"] == "won"


async def _lead_id_second(client: Any) -> int:
    resp = await client.post(
        "/hooks/form",
        json={"name": "Maria Lopez", "email": "maria@example.com", "message": "Need a furnace tune-up"},
    )
    assert resp.status == 200
    leads = (await (await client.get("/api/leads")).json())["leads"]
    return int(max(lead["id"] for lead in leads))


async def test_the_chat_command_refuses_the_same_way(client: Any, runtime: Runtime) -> None:
    lead_id = await _lead_id(client)
    svc = runtime.services
    for bad in ("NaN", "-50", "1e999999"):
        with pytest.raises(BadInputError):
            commands.run(svc, f"won {lead_id} {bad}", "Dana")
    assert commands.run(svc, f"won {lead_id} 4500", "Dana") == f"Lead #{lead_id}: won ($4,500)"
    assert (
        commands.run(svc, f"won {lead_id} 777", "Dana")
        == f"Lead #{lead_id}: nothing changed (already won ($4,500))"
    )
    stage, value, _, events = _outcome(runtime, lead_id)
    assert (stage, str(value), len(events)) == ("won", "4500.00", 1)
