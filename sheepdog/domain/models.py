"""Surface- and storage-neutral value types that every layer speaks.

Nothing here imports an SDK, the network or the database: channels parse into these,
the brain reads and returns these, policy decides on these, storage persists them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal
from enum import StrEnum


class Category(StrEnum):
    """Primary triage category. The names are exact (see shared/TRIAGE.md)."""

    SALES_INQUIRY = "sales_inquiry"
    LEAD_REPLY = "lead_reply"
    ROUTINE_QUESTION = "routine_question"
    STATUS_INQUIRY = "status_inquiry"
    PRICING_QUESTION = "pricing_question"
    BOOKING = "booking"
    COMPLAINT = "complaint"
    REFUND_REQUEST = "refund_request"
    CANCELLATION = "cancellation"
    OPT_OUT = "opt_out"
    HUMAN_REQUEST = "human_request"
    SPAM = "spam"
    OTHER = "other"


class SignalName(StrEnum):
    FRUSTRATED = "frustrated"
    URGENT = "urgent"
    PRICE_ASKED = "price_asked"
    ASKS_FOR_HUMAN = "asks_for_human"
    MENTIONS_COMPETITOR = "mentions_competitor"
    REFERRAL = "referral"
    RETURNING_CUSTOMER = "returning_customer"
    PROMPT_INJECTION = "prompt_injection"
    # Nothing goes out on its own: a person reads it first (value: why, e.g. "written in Spanish").
    NEEDS_HUMAN = "needs_human"


class Channel(StrEnum):
    """Customer-facing channels. A reply always goes back on the lead's channel."""

    WEBFORM = "webform"
    EMAIL = "email"
    SMS = "sms"
    TELEGRAM = "telegram"
    WEBHOOK = "webhook"

    @property
    def words(self) -> str:
        """How a person names the channel on a card or in a brief."""
        return {"webform": "web form", "sms": "SMS", "telegram": "Telegram"}.get(self.value, self.value)


ANSWER_PURPOSES = ("first_reply", "reply")
"""Draft purposes that answer the customer; every other purpose is a cadence touch."""


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    NOTE = "note"  # internal team note: never sent to the customer


class Stage(StrEnum):
    NEW = "new"
    CONTACTED = "contacted"
    QUALIFIED = "qualified"
    VISIT_SCHEDULED = "visit_scheduled"
    QUOTED = "quoted"
    WON = "won"
    LOST = "lost"


class DraftState(StrEnum):
    PENDING = "pending"  # waiting in the approval queue
    APPROVED = "approved"  # approved as written, queued in the outbox
    EDITED = "edited"  # approved with the team's edit, queued in the outbox
    SKIPPED = "skipped"
    SENT = "sent"
    FAILED = "failed"  # persistent send failure, shown on the thread


class Autonomy(StrEnum):
    L3 = "L3"  # every message waits for approval
    L4 = "L4"  # routine goes out on its own, exceptions wait
    L5 = "L5"  # everything goes out on its own


class NextAction(StrEnum):
    CALL_NOW = "call_now"
    FAST_CADENCE = "fast_cadence"
    NURTURE = "nurture"
    POLITE_DECLINE = "polite_decline"


class DecisionKind(StrEnum):
    SEND = "send"  # straight to the outbox
    APPROVE = "approve"  # wait in the approval queue
    HANDOFF = "handoff"  # no automated reply: a human takes it
    DROP = "drop"  # nothing to send (spam, auto-reply, opt-out confirmation already handled)


@dataclass(frozen=True)
class Money:
    """An amount with its currency; never a float."""

    amount: Decimal
    currency: str

    def __str__(self) -> str:
        symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(self.currency)
        q = self.amount.quantize(Decimal("0.01"))
        text = f"{q:,.2f}".removesuffix(".00")
        return f"{symbol}{text}" if symbol else f"{text} {self.currency}"


@dataclass(frozen=True)
class Attachment:
    content_type: str
    url: str | None = None
    filename: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class RawRequest:
    """An HTTP request reduced to what a channel parser needs (no framework types)."""

    method: str
    url: str  # the full URL as the platform called it (public URL for signatures)
    headers: dict[str, str]  # keys lower-cased
    body: bytes
    query: dict[str, str] = field(default_factory=dict)
    path_params: dict[str, str] = field(default_factory=dict)
    content_type: str = ""

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


@dataclass
class InboundMessage:
    """One message from a customer, as a channel adapter understood it."""

    channel: Channel
    text: str  # the full body as received (decoded), kept verbatim
    received_at: datetime  # aware, UTC
    raw: bytes = b""  # the raw payload, always kept
    raw_content_type: str = ""
    sender_name: str | None = None
    sender_email: str | None = None
    sender_phone: str | None = None  # as given; contacts.normalize_phone makes it E.164
    sender_handle: str | None = None  # channel-native id: Telegram chat id, external id of a webhook
    subject: str | None = None
    provider_message_id: str | None = None  # dedup key: the same id from the same channel stores once
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    source: str | None = None  # where the lead came from ("website", "facebook", a deep-link payload)
    referral: str | None = None  # who sent them, when the payload says so
    attachments: tuple[Attachment, ...] = ()
    fields: dict[str, str] = field(default_factory=dict)  # extra structured fields (service, company …)
    triage_text: str | None = None  # body with quoted history and signatures stripped
    is_auto: bool = False  # bounce or auto-reply: stored, never treated as a lead reply, never answered
    bounce: bool = False  # a delivery failure report (is_auto too): the lead's address does not work
    edited: bool = False  # an edit of a message already stored (same provider_message_id)
    opt_in: bool | None = None  # True: START/UNSTOP, False: carrier STOP keywords (channel-detected)
    spam_reason: str | None = None  # the channel already knows it is a bot (honeypot, known sender)
    auto_reply: str | None = None  # short text the platform wants back at once (e.g. SMS HELP answer)
    sender_utc_offset_min: int | None = None  # an email's Date offset: a hint of the lead's time zone

    @property
    def text_for_triage(self) -> str:
        return self.triage_text if self.triage_text is not None else self.text


@dataclass(frozen=True)
class Signal:
    name: SignalName
    confidence: float
    value: str | None = None  # e.g. who referred them


@dataclass(frozen=True)
class Extracted:
    refund_amount: Money | None = None
    order_ref: str | None = None
    requested_time: str | None = None
    service: str | None = None
    name: str | None = None
    company: str | None = None
    language: str | None = None  # ISO 639-1 code of the message's language, when detected


@dataclass(frozen=True)
class Triage:
    category: Category
    confidence: float
    signals: tuple[Signal, ...] = ()
    extracted: Extracted = field(default_factory=Extracted)
    flags: tuple[str, ...] = ()  # where the brain is unsure; shown on the card
    backend: str = "offline"

    def has(self, name: SignalName) -> bool:
        return any(s.name == name for s in self.signals)


@dataclass(frozen=True)
class Brief:
    score: int  # 1..100
    grade: str  # A..D
    summary: str  # one paragraph: who this is and why that score
    reasons: tuple[str, ...]  # what moved the score, e.g. "+20 service in our list"
    flags: tuple[str, ...]
    next_action: NextAction
    backend: str = "offline"


@dataclass(frozen=True)
class DraftText:
    body: str
    subject: str | None = None
    backend: str = "offline"
    note: str | None = None  # e.g. "Claude timed out; offline brain used"


@dataclass(frozen=True)
class Service:
    name: str
    keywords: tuple[str, ...] = ()
    price: Money | None = None  # a published price the drafts may quote
    price_note: str | None = None  # e.g. "from", "per hour"


@dataclass(frozen=True)
class BusinessHours:
    """Opening hours per weekday (0 = Monday); a missing day is closed."""

    days: dict[int, tuple[time, time]]


@dataclass(frozen=True)
class RubricRule:
    """One line of the ideal-customer rubric: a signal and the points it is worth."""

    when: str  # e.g. "service:heat pump", "channel:sms", "urgent", "source:referral", "keyword:commercial"
    points: int
    reason: str


@dataclass(frozen=True)
class Business:
    """The business profile the brain writes for and the guardrails check against."""

    name: str
    timezone: str
    country: str  # ISO 3166 alpha-2: default region for phone numbers
    currency: str
    owner_name: str
    email: str
    phone: str | None
    booking_link: str | None
    website: str | None
    hours: BusinessHours
    services: tuple[Service, ...]
    voice_examples: tuple[str, ...]
    rubric: tuple[RubricRule, ...]
    refund_threshold: Money
    allowed_link_domains: tuple[str, ...]
    faq: dict[str, str] = field(default_factory=dict)  # routine answers: "hours" -> "We're open …"
    signature: str | None = None
    allow_discounts: bool = False
    allow_guarantees: bool = False
    allow_date_promises: bool = False
    review_link: str | None = None


@dataclass(frozen=True)
class HistoryItem:
    direction: Direction
    text: str
    at: datetime
    channel: Channel


@dataclass(frozen=True)
class LeadContext:
    """Everything the brain may know about a lead when it briefs or drafts."""

    business: Business
    channel: Channel
    contact_name: str | None
    contact_email: str | None
    contact_phone: str | None
    source: str | None
    history: tuple[HistoryItem, ...]  # oldest first; the last inbound is what we answer
    triage: Triage
    fields: dict[str, str] = field(default_factory=dict)
    returning_customer: bool = False
    referral: str | None = None
    voice_examples: tuple[str, ...] = ()  # config examples + learned edits, most recent last
    visit: str | None = (
        None  # the booked visit, as it is restated: "tomorrow, Thursday 3 December at 9:00 am"
    )

    @property
    def last_inbound(self) -> str:
        for item in reversed(self.history):
            if item.direction == Direction.INBOUND:
                return item.text
        return ""


@dataclass(frozen=True)
class DraftRequest:
    """What to write: a first reply, a cadence touch, or an answer in an open conversation."""

    lead: LeadContext
    purpose: str  # "first_reply", "reply", or a cadence step's template name ("follow_up", "final_outreach"…)
    max_chars: int | None = None  # channel limit, e.g. 320 for SMS
    plain_text: bool = True  # no markdown (SMS, plain-text email)
    brief: str | None = None  # the cadence step's own instruction, beside the purpose's
    incentive: str | None = None  # the one offer this touch may make ("10% off if you order within 48 hours")


@dataclass(frozen=True)
class GuardrailResult:
    ok: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision:
    kind: DecisionKind
    reasons: tuple[str, ...] = ()
    notify: bool = False  # tell the assigned human now
    urgent: bool = False  # alert immediately (complaint, frustration)
    pause_cadence: bool = False
    stop_cadence: bool = False
    notify_within_s: int | None = None  # e.g. pricing question: a human within 15 minutes
