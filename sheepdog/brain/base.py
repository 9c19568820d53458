"""The small interface every brain backend implements (offline rules, Claude, …)."""

from __future__ import annotations

from typing import Protocol

from sheepdog.domain.models import Brief, Business, DraftRequest, DraftText, LeadContext, Triage


class Brain(Protocol):
    """Understands and writes; never decides what may be sent (policy and guardrails do)."""

    name: str

    def triage(self, text: str, business: Business, *, in_open_conversation: bool = False) -> Triage:
        """Classify one customer message into exactly one category plus signals and fields."""
        ...

    def brief(self, lead: LeadContext) -> Brief:
        """Score and summarise a new lead against the business's rubric."""
        ...

    def draft(self, request: DraftRequest) -> DraftText:
        """Write a reply in the owner's voice for the given purpose."""
        ...

    def learn(self, text: str, category: str) -> None:
        """Record an owner's correction ("this was a booking") so later triage improves."""
        ...
