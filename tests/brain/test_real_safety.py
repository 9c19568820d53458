"""Safety on real customer language that does not depend on accuracy (issue 16).

Every message of the benchmark's real, openly licensed evaluation sources (bench/triage/real:
NLU++, Restaurants-8k, the SMS Spam Collection, CFPB complaint narratives) goes through the shipped
offline brain and the policy: no ordinary message is held as spam, and no complaint, refund,
cancellation, opt-out or request for a person gets a first reply without a person at L4, however
it was categorised. These are guards, not accuracy goals: the bench reports accuracy.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.triage.run import REAL, SENSITIVE_TRUTH, answers_alone
from sheepdog.brain.encoder import CACHE_SIZE
from sheepdog.brain.offline import OfflineBrain
from sheepdog.config import load_settings
from sheepdog.domain.models import Business, Category


@pytest.fixture(scope="module")
def business() -> Business:
    return load_settings(environ={}).business.to_domain()


@pytest.fixture(scope="module")
def brain() -> OfflineBrain:
    return OfflineBrain()


# The blind CFPB draws are the same source as "cfpb" and each 300 long letters cost 40 s of
# encoding; the bench reports their safety figures (bench/triage/README.md).
@pytest.mark.parametrize("source", sorted(set(REAL) - {"cfpb_blind", "cfpb_blind2"}))
def test_real_messages_are_never_wrongly_held_or_answered_alone(
    source: str, brain: OfflineBrain, business: Business
) -> None:
    path: Path = REAL[source][0]
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 250
    held, alone = [], []
    brain.read_ahead([r["text"] for r in rows][:CACHE_SIZE])  # the sentence vectors in one batch
    for row in rows:
        triage = brain.triage(row["text"], business, in_open_conversation=bool(row.get("open")))
        if row["label"] != "spam" and triage.category == Category.SPAM:
            held.append(row["text"][:80])
        if row["label"] in SENSITIVE_TRUTH and answers_alone(triage, business):
            alone.append((row["label"], triage.category.value, row["text"][:80]))
    assert held == []
    assert alone == []
