"""Understanding and writing: an offline brain (no key needed) and Claude, behind one Protocol."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sheepdog.brain.base import Brain

if TYPE_CHECKING:
    from sheepdog.config import Settings


def make_brain(settings: Settings, corrections: list[tuple[str, str]] | None = None) -> Brain:
    """ClaudeBrain when configured with a key, else the offline brain (which Claude falls back to anyway)."""
    from sheepdog.brain.offline import OfflineBrain

    offline = OfflineBrain(corrections or (), confidence_floor=settings.brain.confidence_floor)
    cfg = settings.brain
    if cfg.backend == "claude" and cfg.anthropic_api_key:
        from sheepdog.brain.claude import ClaudeBrain

        return ClaudeBrain.from_settings(settings, offline=offline)
    return offline


__all__ = ["Brain", "make_brain"]
