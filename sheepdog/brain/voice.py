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


VOICE_EXAMPLES_MAX = 12
"""At most this many examples reach a draft (config examples first, then learned edits)."""
LEARNED_CANDIDATES = 200
"""How many of the newest learned edits are considered for selection."""


def _norm(text: str) -> str:
    """What makes two examples the same: case, spacing, numbers, links and punctuation aside."""
    text = re.sub(r"https?://\S+", "<link>", text.lower())
    text = re.sub(r"\d+", "0", text)
    return " ".join(re.sub(r"[^\w<> ]+", " ", text).split())


def _words(text: str) -> set[str]:
    return set(_norm(text).split())


def select_examples(
    configured: Sequence[str], learned: Sequence[str], cap: int = VOICE_EXAMPLES_MAX
) -> tuple[str, ...]:
    """The examples a draft learns from, oldest first (learn_style weighs later ones more):
    the owner's configured examples, then learned edits de-duplicated (the newest copy kept),
    half of the remaining room for the most recent, the rest for the most representative (the
    edits most like the others, so one odd reply does not set the tone), capped at `cap`.
    `learned` is oldest first."""
    seen: set[str] = set()
    kept_config = []
    for text in configured:
        key = _norm(text)
        if text.strip() and key not in seen:
            seen.add(key)
            kept_config.append(text)
    kept_config = kept_config[:cap]
    unique: list[str] = []  # newest first
    for text in reversed(learned):
        key = _norm(text)
        if text.strip() and key not in seen:
            seen.add(key)
            unique.append(text)
    room = cap - len(kept_config)
    if room <= 0 or not unique:
        return tuple(kept_config)
    recent = unique[: max(1, room // 2)]
    words = [_words(t) for t in unique]

    def typical(i: int) -> float:
        mine = words[i]
        others = [w for j, w in enumerate(words) if j != i]
        if not mine or not others:
            return 0.0
        return sum(len(mine & w) / len(mine | w) for w in others if w) / len(others)

    ranked = sorted(range(len(recent), len(unique)), key=lambda i: (-typical(i), i))
    chosen = set(range(len(recent))) | set(ranked[: room - len(recent)])
    picked = [unique[i] for i in sorted(chosen)]  # newest first
    return (*kept_config, *reversed(picked))
