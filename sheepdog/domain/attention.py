"""What needs me first: a lead's urgency and the reason for it, in plain words.

One pure function, `attention(facts)`, so the console's list (and later Slack and Telegram cards)
order leads the same way and say the same sentence: "Waiting for you: a pricing question — answer
within 15 minutes" instead of the policy's "L4: other waits for approval".

Order: urgent (complaints, an upset customer, a refund to decide, a "call now" lead nobody has
taken, a reply that failed to go out), then what waits for a person, oldest first, then replies
that went out on their own, newest first, then the rest; closed leads and held spam last.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import IntEnum
from typing import Any

from sheepdog.domain.clock import minutes_words
from sheepdog.domain.models import Category, NextAction, SignalName, Stage


class Level(IntEnum):
    """Lower comes first in the list."""

    URGENT = 0
    WAITING = 1
    AUTO_SENT = 2
    OPEN = 3
    CLOSED = 4


LABELS = {
    Level.URGENT: "Urgent",
    Level.WAITING: "Waiting for you",
    Level.AUTO_SENT: "Sent on its own",
    Level.OPEN: "Open",
    Level.CLOSED: "Closed",
}
SLUGS = {
    Level.URGENT: "urgent",
    Level.WAITING: "waiting",
    Level.AUTO_SENT: "auto_sent",
    Level.OPEN: "open",
    Level.CLOSED: "closed",
}

WHAT = {
    Category.SALES_INQUIRY: "a new inquiry",
    Category.LEAD_REPLY: "a reply from the lead",
    Category.ROUTINE_QUESTION: "a routine question",
    Category.STATUS_INQUIRY: "a question about where things stand",
    Category.PRICING_QUESTION: "a pricing question",
    Category.BOOKING: "a booking request",
    Category.COMPLAINT: "a complaint",
    Category.REFUND_REQUEST: "a refund request",
    Category.CANCELLATION: "a cancellation",
    Category.OPT_OUT: "a request to stop messages",
    Category.HUMAN_REQUEST: "a request for a person",
    Category.SPAM: "a message that looks like spam",
    Category.OTHER: "a message",
}
"""A category as a person names it on a card."""

STAGE_WORDS = {
    Stage.NEW: "new",
    Stage.CONTACTED: "contacted",
    Stage.QUALIFIED: "qualified",
    Stage.VISIT_SCHEDULED: "visit scheduled",
    Stage.QUOTED: "quoted",
    Stage.WON: "won",
    Stage.LOST: "lost",
}


@dataclass(frozen=True)
class LeadFacts:
    """What the list knows of a lead; every field is read from the store, nothing is guessed."""

    now: datetime
    stage: str
    category: str | None = None  # of the newest message from the customer (else the brief's)
    signals: frozenset[str] = frozenset()  # of that message
    next_action: str | None = None  # the brief's
    owner: str | None = None
    needs_attention: str | None = None  # the lead's "why a human must look" line
    pending_draft: bool = False  # a reply waits for approval
    draft_reasons: tuple[str, ...] = ()  # the policy's reasons on that reply
    waiting_since: datetime | None = None  # when the waiting began (the draft, else the message)
    auto_sent_at: datetime | None = None  # the newest reply went out on its own, then
    held_as_spam: bool = False
    last_at: datetime | None = None  # the newest message either way
    pricing_within_s: int = 900  # policy.pricing_handoff_s


@dataclass(frozen=True)
class Attention:
    level: Level
    reason: str  # the whole sentence shown on the card, label first
    since: datetime | None  # what orders leads within a level
    hot_only: bool = False  # urgent only because the brief says call now: after what is going wrong

    @property
    def label(self) -> str:
        return LABELS[self.level]

    @property
    def words(self) -> str:
        """The reason without its label: 'a pricing question — answer within 15 minutes'."""
        return self.reason.split(": ", 1)[1] if ": " in self.reason else self.reason

    @property
    def slug(self) -> str:
        return SLUGS[self.level]

    def sort_key(self, lead_id: int) -> tuple[int, int, float, int]:
        """Urgent and waiting: oldest first (longest wait on top); the rest: newest first. Among
        the urgent, trouble (a complaint, an upset customer, a failed send) before hot leads."""
        stamp = self.since.timestamp() if self.since else 0.0
        oldest_first = self.level in (Level.URGENT, Level.WAITING)
        return (int(self.level), int(self.hot_only), stamp if oldest_first else -stamp, -lead_id)


def signal_names(triage: dict[str, Any] | None) -> frozenset[str]:
    """The signal names of a stored triage (its JSON form: {"signals": [{"name": …}, …]})."""
    signals = (triage or {}).get("signals") or []
    return frozenset(str(s.get("name")) for s in signals if isinstance(s, dict))


def _what(category: str | None) -> str:
    try:
        return WHAT[Category(category or "other")]
    except ValueError:
        return WHAT[Category.OTHER]


def _first(reasons: tuple[str, ...], prefix: str) -> str | None:
    return next((r for r in reasons if r.startswith(prefix)), None)


def _urgent_words(f: LeadFacts, reasons: tuple[str, ...]) -> str | None:
    """The reason a waiting lead cannot wait, or None."""
    failed = _first(reasons, "send failed")
    if failed:
        return f"the reply did not go out ({failed.removeprefix('send failed:').strip()}) — reach them another way"
    if f.category == Category.COMPLAINT:
        return "a complaint — answer now; follow-ups are paused"
    if SignalName.FRUSTRATED in f.signals:
        return f"the customer sounds upset ({_what(f.category)}) — answer now"
    if f.category == Category.REFUND_REQUEST:
        if any("within your" in r for r in reasons):
            return None  # within the owner's threshold: a confirmation, not an emergency
        above = _first(reasons, "refund of")
        if above:
            amount = above.removeprefix("refund of ").split(" is ", 1)[0]
            return f"a refund of {amount}, above your limit — you decide"
        return "a refund request — you decide"
    if SignalName.URGENT in f.signals:
        return f"{_what(f.category)} that cannot wait — answer now"
    return None


def _waiting_words(f: LeadFacts, reasons: tuple[str, ...]) -> str:
    """Why a reply or the lead waits for a person, as the owner would say it."""
    what = _what(f.category)
    pricing = f.category == Category.PRICING_QUESTION or SignalName.PRICE_ASKED in f.signals
    for prefix, words in (
        ("opted out earlier", "they opted out before and wrote again — nothing automatic is sent"),
        ("our email bounced", "our email bounced — check the address or reach them another way"),
        ("returning customer", f"a returning customer ({what}) — answer personally"),
    ):
        if _first(reasons, prefix):
            return words
    referral = _first(reasons, "referral from ")
    if referral:
        who = referral.removeprefix("referral from ").split(":", 1)[0]
        return f"referred by {who} ({what}) — answer personally"
    no_way = _first(reasons, "no way to answer on ")
    if no_way:
        where = no_way.removeprefix("no way to answer on ").split(":", 1)[0]
        return f"{what} on {where}, with no way to answer there — call them"
    if pricing:
        goal = f.pricing_within_s
        if f.waiting_since is not None:
            late = (f.now - f.waiting_since).total_seconds() - goal
            if late >= 60:
                return f"a pricing question — answer now, {minutes_words(late)} past the {minutes_words(goal)} goal"
        return f"a pricing question — answer within {minutes_words(goal)}"
    by_category = {
        Category.BOOKING: "a booking request — confirm the time personally",
        Category.HUMAN_REQUEST: "they asked for a person — answer personally",
        Category.CANCELLATION: "a cancellation — confirm it personally",
        Category.REFUND_REQUEST: "a refund within your limit — confirm it",
    }
    if f.category in by_category:
        return by_category[Category(f.category)]
    guardrail = _first(reasons, "guardrail: ")
    if guardrail:
        return f"{what} — check the draft first: {guardrail.removeprefix('guardrail: ')}"
    if _first(reasons, "unsure what this is"):
        return "Sheepdog is not sure what this message is — read it and choose"
    if _first(reasons, "the message tries to instruct"):
        return "the message tries to give Sheepdog instructions — read it before anything is sent"
    if _first(reasons, "this cadence step"):
        return "a follow-up to approve before it goes out"
    if _first(reasons, "L3:"):
        return f"{what} — every reply waits for your approval"
    if f.pending_draft or _first(reasons, "L4:"):
        return f"{what} — approve, edit or skip the reply"
    return f"{what} — {reasons[0]}" if reasons else f"{what} — a person should look"


def _hot(f: LeadFacts) -> bool:
    """The brief says call now and nobody has: urgent until someone claims it or the stage moves."""
    return f.next_action == NextAction.CALL_NOW and f.stage == Stage.NEW and not f.owner


REASON_CATEGORIES = {
    "complaint:": Category.COMPLAINT,
    "pricing question:": Category.PRICING_QUESTION,
    "booking:": Category.BOOKING,
    "refund ": Category.REFUND_REQUEST,
    "cancellation:": Category.CANCELLATION,
    "human request:": Category.HUMAN_REQUEST,
}
"""The policy's reason openings (domain.policy) and the category each one names."""


def _from_reasons(f: LeadFacts, reasons: tuple[str, ...]) -> LeadFacts:
    """When only the lead's 'needs attention' line is known, it names the category itself."""
    if f.category is not None or not reasons:
        return f
    category = next((c for p, c in REASON_CATEGORIES.items() if reasons[0].startswith(p)), None)
    signals = f.signals | (
        {SignalName.FRUSTRATED.value} if reasons[0].startswith("customer sounds frustrated") else set()
    )
    return replace(f, category=category, signals=frozenset(signals))


def attention(f: LeadFacts) -> Attention:
    """How much this lead needs a person now, and why, in one sentence."""
    reasons = tuple(r for r in (*f.draft_reasons, f.needs_attention) if r)
    f = _from_reasons(f, reasons)
    waiting = f.pending_draft or f.needs_attention is not None
    since = f.waiting_since or f.last_at
    if waiting:
        urgent = _urgent_words(f, reasons)
        if urgent:
            return Attention(Level.URGENT, f"Urgent: {urgent}", since)
        if _hot(f):
            words = f"Urgent: a hot lead ({_what(f.category)}) — call them now; a reply waits for you too"
            return Attention(Level.URGENT, words, since, hot_only=True)
        return Attention(Level.WAITING, f"Waiting for you: {_waiting_words(f, reasons)}", since)
    if f.held_as_spam:
        return Attention(Level.CLOSED, "Held as spam — nothing was sent", f.last_at)
    if f.stage in (Stage.WON, Stage.LOST):
        return Attention(Level.CLOSED, f"Closed: {f.stage}", f.last_at)
    if _hot(f):
        return Attention(
            Level.URGENT, "Urgent: a hot lead — call them now, then claim it", since, hot_only=True
        )
    if f.auto_sent_at is not None:
        return Attention(
            Level.AUTO_SENT, f"Sent on its own: the answer to {_what(f.category)} went out", f.auto_sent_at
        )
    stage = STAGE_WORDS.get(f.stage, f.stage)  # type: ignore[call-overload]
    who = f"{f.owner} has it" if f.owner else "nobody has claimed it"
    return Attention(Level.OPEN, f"Nothing waits: {stage}, {who}", f.last_at)
