"""The owner's voice, read from their example replies and every edit they make later.

The offline drafts are templates; the voice decides the greeting, the sign-off, the opener,
how often an exclamation mark appears and how long a reply runs, so a draft reads like the
owner wrote it. Later examples (learned edits come last) weigh more than earlier ones.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

GREETINGS = ("Hi", "Hey", "Hello", "Hiya", "Good morning", "Morning", "Dear")
_OPENER = re.compile(
    r"(?:thanks|thank you|cheers|many thanks|great to hear|lovely to hear|good to hear|appreciate)[^.!?]{0,50}[.!?]",
    re.IGNORECASE,
)
_SPECIFIC = re.compile(r"https?://|\d|@")


@dataclass(frozen=True)
class Style:
    """How the owner writes: what the templates need to sound like them."""

    greeting: str = "Hi"
    sign_off: str | None = None  # e.g. "- Dana"
    opener: str = "thanks for reaching out!"
    exclaim: bool = True
    dash: str = " - "
    avg_chars: int = 220
    emoji: str | None = None

    def greet(self, name: str | None) -> str:
        return f"{self.greeting} {name}," if name else f"{self.greeting},"

    def end(self, sentence: str) -> str:
        """Finish a sentence the owner's way (an exclamation if they use them, else a full stop)."""
        s = sentence.rstrip(" .!")
        return s + ("!" if self.exclaim else ".")


def _first_greeting(text: str) -> str | None:
    for g in sorted(GREETINGS, key=len, reverse=True):
        if text.startswith(g + " ") or text.startswith(g + ","):
            return g
    return None


def _sign_off(text: str) -> str | None:
    m = re.search(r"(?:\s[-–—]\s?|\n\s*[-–—]?\s*)([A-Z][a-z]+)\s*$", text.strip())
    if not m:
        return None
    return (
        f"- {m.group(1)}"
        if "-" in text[-len(m.group(0)) :] or "–" in text[-len(m.group(0)) :]
        else m.group(1)
    )


def learn_style(examples: Sequence[str], owner_name: str | None = None) -> Style:
    """Read a Style from examples (most recent last); with none, a friendly plain default."""
    examples = [e.strip() for e in examples if e and e.strip()]
    if not examples:
        return Style(sign_off=f"- {owner_name}" if owner_name else None)
    weights = [1 + i for i in range(len(examples))]  # later edits weigh more
    greet_votes: Counter[str] = Counter()
    sign_votes: Counter[str] = Counter()
    for w, text in zip(weights, examples, strict=True):
        g = _first_greeting(text)
        if g:
            greet_votes[g] += w
        s = _sign_off(text)
        if s:
            sign_votes[s] += w
    opener = None
    for text in reversed(examples):
        body = re.sub(r"^\s*\w+(?:\s\w+)?,\s*", "", text, count=1) if _first_greeting(text) else text
        m = _OPENER.match(body.strip())
        if m and not _SPECIFIC.search(m.group(0)) and len(m.group(0)) < 60:
            opener = m.group(0)
            opener = opener[0].lower() + opener[1:]
            break
    sentences = sum(max(1, len(re.findall(r"[.!?](?:\s|$)", e))) for e in examples)
    bangs = sum(e.count("!") for e in examples)
    emoji = next(
        (m.group(0) for e in reversed(examples) for m in [re.search(r"[\U0001F300-\U0001FAFF]", e)] if m),
        None,
    )
    dash = (
        " - " if any(" - " in e for e in examples) else (" – " if any(" – " in e for e in examples) else ", ")
    )
    return Style(
        greeting=greet_votes.most_common(1)[0][0] if greet_votes else "Hi",
        sign_off=sign_votes.most_common(1)[0][0]
        if sign_votes
        else (f"- {owner_name}" if owner_name else None),
        opener=opener or "thanks for reaching out!",
        exclaim=bangs / sentences >= 0.2,
        dash=dash,
        avg_chars=int(sum(len(e) for e in examples) / len(examples)),
        emoji=emoji,
    )
