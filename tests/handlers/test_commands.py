"""Chat commands, surface-independent: pipeline, metrics, won/lost/pause/resume by number or name."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from sheepdog.channels.webform import WebformParser
from sheepdog.domain.models import RawRequest
from sheepdog.errors import BadInputError, NotFoundError
from sheepdog.handlers import commands
from sheepdog.handlers.inbound import receive
from sheepdog.storage.tables import Lead
from tests.conftest import fixture_bytes


def form(**changes: str) -> Any:
    data = {**json.loads(fixture_bytes("loop", "webform__lead.json")), **changes}
    raw = RawRequest(
        "POST", "http://x/hooks/form", {}, json.dumps(data).encode(), content_type="application/json"
    )
    return WebformParser().parse(raw)[0]


def test_pipeline_metrics_and_outcomes(svc: Any) -> None:
    jordan = receive(svc, form()).lead_id
    maria = receive(svc, form(name="Maria Lopez", email="maria@example.com", phone="512-555-0111")).lead_id
    svc.queue.wait_idle()

    pipeline = commands.run(svc, "pipeline", "Dana")
    assert "*Pipeline*" in pipeline and "contacted: 2" in pipeline

    assert commands.run(svc, f"won #{jordan} $4,500", "Dana") == f"Lead #{jordan}: won ($4,500)"
    assert commands.run(svc, 'lost "Maria Lopez" went with a competitor', "Dana").startswith(
        f"Lead #{maria}: lost"
    )
    with svc.db.session() as s:
        assert s.get(Lead, jordan).stage == "won" and str(s.get(Lead, jordan).outcome_value) == "4500.00"
        assert s.get(Lead, maria).lost_reason == "went with a competitor"

    report = commands.run(svc, "metrics", "Dana")
    assert "the last 7 days* — 2 leads (new)" in report and "1 won ($4,500)" in report
    assert "1 lost" in report and "Conversion 50%: 1 won" in report
    november = commands.run(svc, "metrics 2026-11-01..2026-11-30", "Dana")
    assert november.startswith("*Metrics, 2026-11-01 to 2026-11-30*")
    with pytest.raises(BadInputError, match="not a period"):
        commands.run(svc, "metrics last tuesday", "Dana")


def test_pause_resume_and_references(svc: Any) -> None:
    lead = receive(svc, form()).lead_id
    assert commands.run(svc, "pause Jordan", "Dana") == f"Lead #{lead}: cadence paused"
    assert "nothing changed" in commands.run(svc, f"pause {lead}", "Dana")
    assert commands.run(svc, f"resume #{lead}", "Dana") == f"Lead #{lead}: cadence resumed"
    with pytest.raises(NotFoundError):
        commands.run(svc, "won 999", "Dana")
    with pytest.raises(NotFoundError):
        commands.run(svc, "won Nobody", "Dana")
    with pytest.raises(BadInputError, match="which lead"):
        commands.run(svc, "won", "Dana")
    with pytest.raises(BadInputError, match="say why"):
        commands.run(svc, f"lost {lead}", "Dana")
    with pytest.raises(BadInputError, match="unknown command"):
        commands.run(svc, "dance", "Dana")
    with pytest.raises(BadInputError, match="could not read"):
        commands.run(svc, 'won "unclosed', "Dana")
    assert "pipeline" in commands.run(svc, "", "Dana")  # no words: help


def test_a_name_shared_by_two_open_leads_asks_for_the_number(svc: Any) -> None:
    receive(svc, form())
    receive(svc, form(name="Jordan Smith", email="js@example.com", phone="512-555-0122"))
    with pytest.raises(BadInputError, match="several leads"):
        commands.run(svc, "pause Jordan", "Dana")
    with svc.db.session() as s:
        assert len(s.scalars(select(Lead)).all()) == 2


def test_correcting_triage_from_chat(svc: Any) -> None:
    """'/sheepdog was 12 a booking': the lead's last message is corrected and the brain learns it."""
    from sheepdog.storage.tables import Message, TriageCorrection

    text = "Is your showroom open for a walk-through on Friday?"
    lead = receive(svc, form(message=text)).lead_id
    answer = commands.run(svc, f"was {lead} a booking", "Dana")
    assert answer == f"Lead #{lead}: noted: this was booking"
    with svc.db.session() as s:
        assert s.scalar(select(Message.category).where(Message.text == text)) == "booking"
        assert s.scalar(select(TriageCorrection.author)) == "Dana"
    assert svc.brain.triage(text, svc.business).category.value == "booking"
    with pytest.raises(BadInputError, match="not a category"):
        commands.run(svc, f"was {lead} a bookng", "Dana")
    assert commands.run(svc, f"was {lead} opt-out", "Dana").endswith("opt_out")
