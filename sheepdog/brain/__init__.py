"""Understanding and writing: an offline brain (no key needed) and Claude, behind one Protocol."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sheepdog.brain.base import Brain

if TYPE_CHECKING:
    from sheepdog.brain.offline import OfflineBrain
    from sheepdog.config import Settings


def offline_brain(settings: Settings, corrections: list[tuple[str, str]] | None = None) -> OfflineBrain:
    """The offline brain as configured: its confidence floor, the sentence encoder on or off."""
    from sheepdog.brain.offline import OfflineBrain

    cfg = settings.brain
    return OfflineBrain(
        corrections or (), confidence_floor=cfg.confidence_floor, sentence_encoder=cfg.sentence_encoder
    )


def make_brain(settings: Settings, corrections: list[tuple[str, str]] | None = None) -> Brain:
    """ClaudeBrain when configured with a key, else the offline brain (which Claude falls back to anyway)."""
    offline = offline_brain(settings, corrections)
    cfg = settings.brain
    if cfg.backend == "claude" and cfg.anthropic_api_key:
        from sheepdog.brain.claude import ClaudeBrain

        return ClaudeBrain.from_settings(settings, offline=offline)
    return offline


class LazyBrain:
    """A brain built on first use (or by warm_up in the background), so a process that never
    reads a message — the bot in RQ mode, the CLI — starts in a second without the model."""

    def __init__(self, build: Callable[[], Brain]) -> None:
        self._build = build
        self._brain: Brain | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._brain is not None

    def get(self) -> Brain:
        if self._brain is None:
            with self._lock:
                if self._brain is None:
                    self._brain = self._build()
        return self._brain

    def learn(self, text: str, category: str) -> None:
        """Not built yet: nothing to teach; the correction is stored and replayed when it is built."""
        if self._brain is not None:
            self._brain.learn(text, category)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)


__all__ = ["Brain", "LazyBrain", "make_brain", "offline_brain"]
