"""The one dispatch table: every surface's kinds map to handlers.actions, unknown kinds are refused."""

from __future__ import annotations

from typing import Any

import pytest

from sheepdog.errors import BadInputError, NotFoundError
from sheepdog.handlers.inbound import receive
from sheepdog.handlers.team_actions import DISPATCH, TeamAction, attempt, dispatch
from sheepdog.storage.tables import Lead
from tests.jobs.test_outbox_and_cadence import lead_message


def test_the_table_covers_every_surface_kind() -> None:
    assert {"approve", "edit", "skip", "pause", "resume", "claim", "unclaim", "reply", "note", "stage",
            "visit_scheduled", "quoted", "won", "lost", "was"} <= set(DISPATCH)  # fmt: skip


@pytest.fixture
def services(make_settings: Any) -> Any:
    from sheepdog.app import build_services
    from sheepdog.jobs.queue import InProcessQueue

    svc = build_services(make_settings(), queue=InProcessQueue(periodic=False))
    yield svc
    svc.db.dispose()


def test_stage_won_lost_and_unknown(services: Any) -> None:
    lead_id = receive(services, lead_message()).lead_id
    assert dispatch(services, TeamAction("visit_scheduled", lead_id, "Dana")).ok
    with pytest.raises(BadInputError, match="say why"):
        dispatch(services, TeamAction("lost", lead_id, "Dana", "  "))
    with pytest.raises(BadInputError, match="not an amount"):
        dispatch(services, TeamAction("won", lead_id, "Dana", "lots"))
    assert dispatch(services, TeamAction("won", lead_id, "Dana", "none")).message == "won"
    with services.db.session() as s:
        lead = s.get(Lead, lead_id)
        assert (lead.stage, lead.outcome_value) == ("won", None)
    with pytest.raises(NotFoundError):
        dispatch(services, TeamAction("launch", lead_id, "Dana"))
    refused = attempt(services, TeamAction("approve", 999999, "Dana", surface="telegram"))
    assert not refused.ok and "no draft 999999" in refused.message
