"""Settings: TOML file, then SHEEPDOG_<SECTION>__<KEY> environment variables, then CLI overrides.

Every key is validated; a wrong key or value stops start-up with a ConfigError naming the key,
the value and what is allowed. With no file at all the built-in demo business is used.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
import zoneinfo
from datetime import time
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sheepdog import defaults
from sheepdog.domain.cadence import CadenceDef, Step
from sheepdog.domain.models import (
    Autonomy,
    Business,
    BusinessHours,
    Money,
    RubricRule,
    Service,
    Stage,
)
from sheepdog.errors import ConfigError

ENV_PREFIX = "SHEEPDOG_"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


def parse_money(value: str | int | float | Decimal, currency: str) -> Money:
    """'120', '120.50 EUR' or 120 → Money; floats go through str so 0.1 stays 0.1."""
    text = str(value).strip()
    parts = text.split()
    if len(parts) == 2 and parts[1].isalpha():
        text, currency = parts[0], parts[1].upper()
    try:
        return Money(Decimal(text.replace(",", "")), currency)
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {value!r} (write e.g. 120 or '120.50 EUR')") from exc


class ServiceConfig(_Section):
    name: str
    keywords: list[str] = []
    price: str | None = Field(None, description="published price the drafts may quote, e.g. '89' or '89 EUR'")
    price_note: str | None = None


class RubricConfig(_Section):
    when: str
    points: int = Field(ge=-100, le=100)
    reason: str

    @field_validator("when")
    @classmethod
    def _known_kind(cls, v: str) -> str:
        kinds = ("service:", "channel:", "source:", "keyword:", "signal:", "has:")
        if not v.startswith(kinds):
            raise ValueError(f"must start with one of {', '.join(kinds)} (got {v!r})")
        return v


class BusinessConfig(_Section):
    name: str = "Brightside Heating & Cooling"
    timezone: str = "America/Chicago"
    country: str = "US"
    currency: str = "USD"
    owner_name: str = "Dana"
    email: str = "hello@brightside.example"
    phone: str | None = None
    booking_link: str | None = None
    website: str | None = None
    review_link: str | None = None  # the owner's review page (Google, Yelp…), for the review request
    signature: str | None = None
    hours: dict[str, str] = {d: "08:00-18:00" for d in DAYS[:5]}
    services: list[ServiceConfig] = []
    voice_examples: list[str] = []
    rubric: list[RubricConfig] = []
    faq: dict[str, str] = {}
    refund_threshold: str = "100"
    # Where "Refund and confirm" posts a signed JSON (the payment system or an automation tool);
    # without it the click adds a "refund to do" for the owner and still confirms to the customer.
    refund_webhook_url: str | None = None
    refund_webhook_secret: str | None = None  # HMAC-SHA256 key of the X-Sheepdog-Signature header
    allowed_link_domains: list[str] = []
    allow_discounts: bool = False
    allow_guarantees: bool = False
    allow_date_promises: bool = False

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            zoneinfo.ZoneInfo(v)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown IANA time zone {v!r} (e.g. 'Europe/Berlin', 'America/Chicago')"
            ) from exc
        return v

    @field_validator("country")
    @classmethod
    def _country(cls, v: str) -> str:
        v = v.upper()
        if v not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown country code {v!r} (ISO 3166 alpha-2, e.g. 'US', 'DE')")
        return v

    @field_validator("hours")
    @classmethod
    def _hours(cls, v: dict[str, str]) -> dict[str, str]:
        for day, span in v.items():
            if day not in DAYS:
                raise ValueError(f"unknown day {day!r} (allowed: {', '.join(DAYS)})")
            _parse_span(span)
        return v

    def to_domain(self) -> Business:
        days = {DAYS.index(d): _parse_span(s) for d, s in self.hours.items()}
        return Business(
            name=self.name,
            timezone=self.timezone,
            country=self.country,
            currency=self.currency,
            owner_name=self.owner_name,
            email=self.email,
            phone=self.phone,
            booking_link=self.booking_link,
            website=self.website,
            review_link=self.review_link,
            hours=BusinessHours(days),
            services=tuple(
                Service(
                    s.name,
                    tuple(k.lower() for k in s.keywords),
                    parse_money(s.price, self.currency) if s.price is not None else None,
                    s.price_note,
                )
                for s in self.services
            ),
            voice_examples=tuple(self.voice_examples),
            rubric=tuple(RubricRule(r.when, r.points, r.reason) for r in self.rubric),
            refund_threshold=parse_money(self.refund_threshold, self.currency),
            allowed_link_domains=tuple(d.lower() for d in self.allowed_link_domains),
            faq=dict(self.faq),
            signature=self.signature,
            allow_discounts=self.allow_discounts,
            allow_guarantees=self.allow_guarantees,
            allow_date_promises=self.allow_date_promises,
        )


def _parse_span(span: str) -> tuple[time, time]:
    try:
        a, b = (p.strip() for p in span.split("-"))
        start, end = time.fromisoformat(a), time.fromisoformat(b)
    except ValueError as exc:
        raise ValueError(f"hours must look like '08:00-18:00' (got {span!r})") from exc
    if end <= start:
        raise ValueError(f"closing time must be after opening time (got {span!r})")
    return start, end


class StorageConfig(_Section):
    url: str = "sqlite:///data/sheepdog.db"


class QueueConfig(_Section):
    backend: Literal["inprocess", "rq"] = "inprocess"
    redis_url: str = "redis://127.0.0.1:6379/0"
    queue_name: str = "sheepdog"


class BrainConfig(_Section):
    backend: Literal["offline", "claude"] = "offline"
    anthropic_api_key: str | None = None
    model: str = "claude-sonnet-5-5"
    base_url: str | None = None  # point the SDK at another Messages API server (tests, proxies)
    timeout_s: float = Field(20.0, gt=0)
    max_retries: int = Field(2, ge=0, le=10)
    confidence_floor: float = Field(defaults.TRIAGE_CONFIDENCE_FLOOR, ge=0, le=1)
    # The offline brain's sentence encoder (brain/encoder.py): reads meaning, not only words, for
    # ~15 ms of CPU a message. Off trades that reading for throughput (bench/engine/README.md).
    sentence_encoder: bool = True


class ConsoleConfig(_Section):
    enabled: bool = True
    host: str = defaults.CONSOLE_HOST
    port: int = Field(defaults.CONSOLE_PORT, ge=1, le=65535)
    token: str | None = None  # login token; generated and printed at start-up when unset
    public_url: str = "http://127.0.0.1:8080"  # how customers and platforms reach this process


class WorkflowPolicy(_Section):
    autonomy: Autonomy = Autonomy.L4
    # At L4/L5, a message that waits for a person gets a short "we'll answer by …" on its own.
    holding_reply: bool = True


DEFAULT_PROMISES_H = {
    "pricing": defaults.PRICING_HANDOFF_S / 3600,
    "complaint": 1.0,
    "booking": 2.0,
    "refund": 4.0,
    "human": 2.0,
    "other": 2.0,
}


class PolicyConfig(_Section):
    """Autonomy per workflow and the handoff rules."""

    first_reply: WorkflowPolicy = WorkflowPolicy()
    support: WorkflowPolicy = WorkflowPolicy()
    cadence: WorkflowPolicy = WorkflowPolicy()
    pricing_handoff_s: int = Field(defaults.PRICING_HANDOFF_S, gt=0)
    claim_sla_s: int = Field(defaults.CLAIM_SLA_S, gt=0)
    on_call: str | None = None  # team member mentioned when an unclaimed lead escalates
    # "all": STOP (or an unsubscribe) on one channel stops every channel; "channel": only that one.
    opt_out_scope: Literal["all", "channel"] = "all"
    # Business hours a person takes to answer, per handoff, as a holding reply promises it.
    holding_promise_h: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_PROMISES_H))

    @field_validator("holding_promise_h")
    @classmethod
    def _promises(cls, v: dict[str, float]) -> dict[str, float]:
        known = tuple(DEFAULT_PROMISES_H)
        for kind, hours in v.items():
            if kind not in known:
                raise ValueError(f"unknown handoff {kind!r} (allowed: {', '.join(known)})")
            if not 0 < hours <= 24 * 7:
                raise ValueError(f"{kind} = {hours}: hours between 0 and 168")
        return {**DEFAULT_PROMISES_H, **v}


CHANNEL_CHOICES = ("lead", "email", "sms", "telegram")
"""A step's channel: the lead's own (the one they wrote on), or a fixed one."""

CADENCE_EVENTS = ("reply", "booking", "opt_out", "complaint", "cancellation", "bounce", "stage_change")


class CadenceStep(_Section):
    after_h: float | None = Field(None, ge=0, description="hours after the cadence started (exact)")
    after_d: int | None = Field(None, ge=0, le=366, description="days after, same wall-clock time")
    before_visit_h: float | None = Field(None, ge=0, le=24 * 7, description="hours before the visit (exact)")
    before_visit_d: int | None = Field(None, ge=0, le=30, description="days before the visit's date, at `at`")
    at: str | None = None  # with before_visit_d: the wall-clock time in the lead's zone, e.g. "18:00"
    template: str | None = None  # what the brain writes (brain/drafts.py PURPOSES)
    brief: str | None = None  # an instruction for the brain; with no template, the touch is "check_in"
    channel: str = "lead"
    approval: bool = False  # this touch always waits in the approval queue
    stop_on: list[str] = []  # events that stop the cadence from this step on
    incentive: bool = False  # may offer followup.incentive (guardrails hold any other offer)

    def hours(self) -> float:
        return float(self.after_d * 24 if self.after_d is not None else self.after_h or 0.0)

    def clock(self) -> time | None:
        """`at` as a time, None when it is missing or malformed (cadence_problems says which)."""
        try:
            return time.fromisoformat(self.at.strip()) if self.at else None
        except ValueError:
            return None

    def to_domain(self) -> Step:
        return Step(
            after_h=self.hours(),
            template=self.template or "check_in",
            approval=self.approval,
            days=self.after_d,
            channel=self.channel,
            brief=self.brief,
            stop_on=frozenset(self.stop_on),
            incentive=self.incentive,
            before_h=self.before_visit_h,
            before_d=self.before_visit_d,
            at=self.clock(),
        )


class CadenceConfig(_Section):
    label: str | None = None  # how cards name it ("post-quote"); default: the key with dashes
    steps: list[CadenceStep]
    stop_on: list[str] = ["reply", "booking", "opt_out", "complaint", "stage_change"]
    switch_on: dict[str, str] = {}  # event -> another cadence, e.g. booking = "post_service"
    repeat: CadenceStep | None = None  # after the last step, this touch every repeat.after_d days
    repeat_limit: int = Field(0, ge=0, le=120)

    def to_visit(self) -> bool:
        """A visit reminder: its steps count back from the booked visit."""
        return any(s.before_visit_h is not None or s.before_visit_d is not None for s in self.steps)

    def to_domain(self, name: str) -> CadenceDef:
        return CadenceDef(
            name=name,
            steps=tuple(s.to_domain() for s in self.steps),
            stop_on=frozenset(self.stop_on),
            switch_on=dict(self.switch_on),
            repeat=self.repeat.to_domain() if self.repeat else None,
            repeat_limit=self.repeat_limit,
            label=self.label or name.replace("_", "-"),
        )


class IncentiveConfig(_Section):
    """The one time-limited offer a cadence touch may make (abandoned cart); the guardrails hold a
    draft offering more, or offering it on another step."""

    percent: int = Field(10, ge=1, le=90)
    valid_h: int = Field(48, ge=1, le=24 * 30)


def _step(after: float, template: str, **kw: Any) -> CadenceStep:
    return CadenceStep(after_h=after, template=template, **kw)


def _day(days: int, template: str, **kw: Any) -> CadenceStep:
    return CadenceStep(after_d=days, template=template, **kw)


def _before_day(days: int, at: str, template: str, **kw: Any) -> CadenceStep:
    return CadenceStep(before_visit_d=days, at=at, template=template, **kw)


def _default_cadences() -> dict[str, CadenceConfig]:
    """The six cadences, ready to use; config.example.toml spells out the same."""
    return {
        "speed_to_lead": CadenceConfig(
            label="speed-to-lead",
            steps=[
                _step(0, "first_reply"),
                _step(24, "follow_up"),
                _step(72, "final_outreach", approval=True),
            ],
        ),
        "fourteen_day": CadenceConfig(
            label="14-day",
            steps=[
                _day(0, "first_reply"),
                _day(1, "value"),
                _day(3, "social_proof"),
                _day(7, "check_in"),
                _day(14, "final_nudge"),
            ],
            repeat=_day(30, "nurture"),
            repeat_limit=6,
        ),
        "abandoned_cart": CadenceConfig(
            label="abandoned cart",
            steps=[
                _step(1, "cart_reminder"),
                _day(2, "cart_reminder", brief="A second, shorter reminder; answer a likely question."),
                _day(5, "cart_incentive", incentive=True),
            ],
        ),
        "post_quote": CadenceConfig(
            label="post-quote",
            stop_on=["reply", "booking", "opt_out", "complaint"],
            steps=[_day(2, "quote_follow_up"), _day(5, "quote_follow_up"), _day(10, "quote_last_call")],
        ),
        "post_service": CadenceConfig(
            label="review request",
            stop_on=["reply", "opt_out", "complaint"],
            steps=[_day(1, "review_request")],
        ),
        "visit_reminder": CadenceConfig(
            label="visit reminder",
            # a reply ("thanks, see you then") keeps the reminders; the team moves or cancels the visit
            stop_on=["opt_out", "complaint", "cancellation", "stage_change"],
            steps=[
                _before_day(1, "18:00", "visit_reminder"),
                CadenceStep(before_visit_h=2, template="visit_reminder"),
            ],
        ),
    }


def _default_stages() -> dict[str, str]:
    return {
        "quoted": "post_quote",
        "won": "post_service",
        "lost": "none",
        "visit_scheduled": "visit_reminder",
    }


class FollowUpConfig(_Section):
    new_lead_cadence: str = "speed_to_lead"
    quiet_hours: str = "21:00-08:00"  # in the lead's (else the business's) time zone; no touch goes out then
    business_hours_only: bool = False
    tick_s: float = Field(defaults.CADENCE_TICK_S, gt=0, le=3600)  # how often due touches are looked for
    incentive: IncentiveConfig | None = None  # the abandoned cart's offer; none: no offer is ever made
    stages: dict[str, str] = Field(default_factory=_default_stages)  # stage -> cadence / "none" / "keep"
    cadences: dict[str, CadenceConfig] = Field(default_factory=_default_cadences)

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, v: str) -> str:
        try:
            for part in v.split("-", 1):
                time.fromisoformat(part.strip())
        except ValueError as exc:
            raise ValueError(f"quiet_hours must look like '21:00-08:00' (got {v!r})") from exc
        return v

    @field_validator("cadences", mode="before")
    @classmethod
    def _with_builtins(cls, v: Any) -> Any:
        """A config naming some cadences keeps the built-in others (a stage may map to them)."""
        if isinstance(v, dict):
            return {**{k: c.model_dump(exclude_unset=True) for k, c in _default_cadences().items()}, **v}
        return v

    def to_domain(self) -> dict[str, CadenceDef]:
        """Every cadence as the state machine's definition (domain.cadence)."""
        return {name: conf.to_domain(name) for name, conf in self.cadences.items()}

    @model_validator(mode="after")
    def _known(self) -> FollowUpConfig:
        if self.new_lead_cadence not in self.cadences:
            raise ValueError(
                f"new_lead_cadence {self.new_lead_cadence!r} is not one of the cadences "
                f"({', '.join(self.cadences)})"
            )
        if self.cadences[self.new_lead_cadence].to_visit():
            raise ValueError(
                f"new_lead_cadence {self.new_lead_cadence!r} is a visit reminder: a new lead has no visit"
            )
        for name, cadence in self.cadences.items():
            for problem in cadence_problems(name, cadence, self):
                raise ValueError(problem)
        stages = [s.value for s in Stage]
        for stage, target in self.stages.items():
            if stage not in stages:
                raise ValueError(f"followup.stages: {stage!r} is not a stage ({', '.join(stages)})")
            if target not in ("none", "keep") and target not in self.cadences:
                raise ValueError(
                    f"followup.stages.{stage} = {target!r}: no such cadence "
                    f"(one of {', '.join(self.cadences)}, or 'none' / 'keep')"
                )
            if target in self.cadences and self.cadences[target].to_visit() and stage != "visit_scheduled":
                raise ValueError(
                    f"followup.stages.{stage} = {target!r}: a visit reminder is for visit_scheduled only "
                    "(it counts back from the booked visit)"
                )
        return self


def cadence_problems(name: str, cadence: CadenceConfig, followup: FollowUpConfig) -> list[str]:
    """What is wrong with one cadence definition, each naming the cadence, the step and why."""
    where = f"cadence {name!r}"
    problems: list[str] = []
    if not cadence.steps:
        problems.append(f"{where}: has no steps")
    for event in [*cadence.stop_on, *cadence.switch_on]:
        if event not in CADENCE_EVENTS:
            problems.append(f"{where}: unknown event {event!r} (one of {', '.join(CADENCE_EVENTS)})")
    for event, target in cadence.switch_on.items():
        if target not in followup.cadences or target == name:
            problems.append(f"{where}: switch_on.{event} = {target!r} is not another cadence")
    steps = [(f"step {i + 1}", s) for i, s in enumerate(cadence.steps)]
    if cadence.repeat is not None:
        steps.append(("repeat", cadence.repeat))
    if cadence.repeat is not None and not cadence.to_visit():
        if cadence.repeat.after_d is None or cadence.repeat.after_d < 1:
            problems.append(f"{where} repeat: needs after_d (days between repeats, at least 1)")
        if cadence.repeat_limit < 1:
            problems.append(f"{where} repeat: needs repeat_limit (how many times at most) of 1 or more")
    elif cadence.repeat_limit and cadence.repeat is None:
        problems.append(f"{where}: repeat_limit without a repeat step")
    for event, target in cadence.switch_on.items():
        if target in followup.cadences and followup.cadences[target].to_visit():
            problems.append(
                f"{where}: switch_on.{event} = {target!r} is a visit reminder (it needs a visit time)"
            )
    if cadence.to_visit():
        return problems + _visit_problems(where, steps)
    previous = -1.0
    for label, step in steps:
        at = f"{where} {label}"
        if step.before_visit_h is not None or step.before_visit_d is not None or step.at is not None:
            problems.append(f"{at}: before_visit_h / before_visit_d / at belong to a visit reminder only")
            continue
        if (step.after_h is None) == (step.after_d is None):
            problems.append(f"{at}: give exactly one of after_h (hours) or after_d (days)")
            continue
        if label != "repeat":
            if step.hours() < previous:
                problems.append(f"{at}: comes before the step above it ({step.hours():g} h < {previous:g} h)")
            previous = step.hours()
        if step.template == "first_reply" and label != "step 1":
            problems.append(f"{at}: first_reply can only be the first step")
        problems += _step_content_problems(at, step)
    if name == "post_quote" or "quote" in (cadence.label or ""):
        for label, step in steps:
            if step.brief and "still interested" in step.brief.lower():
                problems.append(f"{where} {label}: a post-quote touch never asks 'still interested?'")
    return problems


def _step_content_problems(at: str, step: CadenceStep) -> list[str]:
    """What a step writes and where: a known template or a brief, a channel, known stop events."""
    from sheepdog.brain.drafts import PURPOSES

    problems: list[str] = []
    if step.template is None and not step.brief:
        problems.append(f"{at}: needs a template or a brief for the brain")
    elif step.template is not None and step.template not in PURPOSES:
        problems.append(
            f"{at}: unknown template {step.template!r} (one of {', '.join(sorted(PURPOSES))}), "
            "or give a brief instead"
        )
    if step.channel not in CHANNEL_CHOICES:
        problems.append(f"{at}: channel {step.channel!r} is not one of {', '.join(CHANNEL_CHOICES)}")
    for event in step.stop_on:
        if event not in CADENCE_EVENTS:
            problems.append(f"{at}: unknown stop event {event!r} (one of {', '.join(CADENCE_EVENTS)})")
    return problems


def _visit_problems(where: str, steps: list[tuple[str, CadenceStep]]) -> list[str]:
    """A visit reminder's steps: each counted back from the visit (before_visit_d days at a time,
    or before_visit_h hours), the day-based ones first, earliest first; no repeat."""
    problems: list[str] = []
    last: tuple[int, float] | None = None
    for label, step in steps:
        at = f"{where} {label}"
        if label == "repeat":
            problems.append(f"{at}: a visit reminder cannot repeat (it ends at the visit)")
            continue
        if step.after_h is not None or step.after_d is not None:
            problems.append(
                f"{at}: after_h / after_d count from the start; a visit reminder's steps count back from the "
                "visit (before_visit_h or before_visit_d), all of them"
            )
            continue
        if (step.before_visit_h is None) == (step.before_visit_d is None):
            problems.append(f"{at}: give exactly one of before_visit_h (hours) or before_visit_d (days)")
            continue
        if step.before_visit_d is not None:
            if step.clock() is None:
                problems.append(
                    f'{at}: before_visit_d needs at = "HH:MM" (the hour in the lead\'s zone), got {step.at!r}'
                )
                continue
            clock = step.clock()
            assert clock is not None
            key: tuple[int, float] = (0, -(step.before_visit_d * 24 - clock.hour - clock.minute / 60))
        else:
            if step.at is not None:
                problems.append(f"{at}: at goes with before_visit_d only (before_visit_h is exact hours)")
                continue
            if not step.before_visit_h:
                problems.append(
                    f"{at}: before_visit_h must be more than 0 (a reminder comes before the visit)"
                )
                continue
            key = (1, -step.before_visit_h)
        if last is not None and key <= last:
            problems.append(
                f"{at}: comes before the step above it (list the days-before steps first, then the "
                "hours-before ones, the earliest first)"
            )
        last = key
        problems += _step_content_problems(at, step)
        if step.incentive:
            problems.append(f"{at}: a visit reminder makes no offer (incentive = false)")
    return problems


class WebformConfig(_Section):
    enabled: bool = True
    allowed_origins: list[str] = []  # CORS for JSON posts from the business's site; empty = same origin only
    honeypot_field: str = "website_url"  # a hidden field bots fill in


class SmtpConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(defaults.DEMO_SMTP_PORT, ge=1, le=65535)
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    use_tls: bool = False
    timeout_s: float = 30.0


class ImapConfig(_Section):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 993
    ssl: bool = True
    username: str | None = None
    password: str | None = None
    folder: str = "INBOX"
    poll_s: int = Field(60, ge=5)  # polling interval when the server has no IDLE
    idle: bool = True  # use IMAP IDLE (push) where the server supports it
    mark_seen: bool = True  # also set \\Seen on what Sheepdog read (it always sets its keyword)
    keyword: str = "$Sheepdog"  # IMAP keyword marking messages already taken in
    timeout_s: float = Field(30.0, gt=0)


class EmailConfig(_Section):
    enabled: bool = True
    from_address: str | None = None  # defaults to business.email
    inbound_token: str | None = None  # shared secret the inbound-email service sends (header or ?token=)
    inbound_webhook: bool = True  # serve POST /hooks/email (switch off when only IMAP brings mail in)
    # largest raw email /hooks/email accepts (413 above it); 25 MB like common inbound-mail services
    max_inbound_mb: float = Field(25.0, gt=0, le=100)
    smtp: SmtpConfig = SmtpConfig()
    imap: ImapConfig = ImapConfig()


class SmsConfig(_Section):
    enabled: bool = False
    account_sid: str | None = None
    auth_token: str | None = None
    from_number: str | None = None
    api_base_url: str | None = None  # tests point the twilio SDK at a local server
    help_text: str | None = (
        None  # answer to HELP/INFO; default: business name, phone/email, "Reply STOP to opt out"
    )
    timeout_s: float = Field(15.0, gt=0)


SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")


class TelegramCustomerConfig(_Section):
    enabled: bool = False
    bot_token: str | None = None
    secret_token: str | None = None
    mode: Literal["webhook", "polling"] = "webhook"

    @field_validator("secret_token")
    @classmethod
    def _telegram_secret(cls, value: str | None) -> str | None:
        """Telegram's own rule for setWebhook's secret_token: 1-256 of A-Z a-z 0-9 _ -. A value
        with a space (" abc") would never match what Telegram sends, or match it loosely."""
        if value is not None and not SECRET_TOKEN_RE.fullmatch(value):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        return value

    api_base_url: str | None = None
    poll_timeout_s: int = Field(30, ge=0, le=50)  # getUpdates long-poll timeout in polling mode
    send_timeout_s: float = Field(15.0, gt=0)  # sendMessage read timeout; past it the send is uncertain


class WebhookSource(_Section):
    secret: str
    mapping: dict[str, str] = {}  # name/email/phone/text/external_id/... → dotted path in the payload


class WebhookConfig(_Section):
    sources: dict[str, WebhookSource] = {}


class ChannelsConfig(_Section):
    webform: WebformConfig = WebformConfig()
    email: EmailConfig = EmailConfig()
    sms: SmsConfig = SmsConfig()
    telegram: TelegramCustomerConfig = TelegramCustomerConfig()
    webhook: WebhookConfig = WebhookConfig()


class SlackConfig(_Section):
    enabled: bool = False
    bot_token: str | None = None
    signing_secret: str | None = None
    app_token: str | None = None  # xapp-…: Socket Mode, for installs with no public URL
    socket_mode: bool = False
    channel: str | None = None  # channel id where lead threads live
    claim_emoji: str = "raising_hand"
    note_marker: str = "note:"
    allowlist: list[str] = []  # user ids allowed to act besides channel members
    owner_user_id: str | None = None
    api_base_url: str | None = None  # tests point slack-sdk at a local server


class ReportsConfig(_Section):
    """Where the Monday report goes. Slack: [slack]'s bot in `slack_channel` (default [slack]
    channel). Telegram: a bot and a group chat id (the team surface's, once it lands)."""

    weekly: bool = True  # post the weekly report every Monday 08:00 in the business's zone
    slack_channel: str | None = None
    telegram_bot_token: str | None = None
    telegram_chat_id: str | None = None
    telegram_api_base_url: str | None = None  # tests point python-telegram-bot at a local server


class TelegramTeamConfig(_Section):
    """[telegram_team]: the team's workflow in a Telegram group (a topic per lead) and the owner's
    private chat (the approval queue). See docs/telegram.md."""

    enabled: bool = False
    bot_token: str | None = None  # empty: share channels.telegram.bot_token (one consumer routes by chat)
    secret_token: str | None = None  # X-Telegram-Bot-Api-Secret-Token of POST /hooks/telegram/team
    mode: Literal["webhook", "polling"] = "webhook"
    group_chat_id: int | None = None  # the team's supergroup (-100…)
    topics: bool = True  # a forum topic per lead; false: a reply chain under each brief
    owner_chat_id: int | None = None  # the owner's private chat with the bot: every waiting draft
    owner_user_id: int | None = None  # mentioned on escalations when nobody is on call; may always act
    on_call_user_id: int | None = None  # mentioned when an unclaimed lead escalates
    allowlist: list[int] = []  # user ids allowed to act besides the group's members
    claim_emoji: str = "✍"  # a reaction from Telegram's allowed list; on a lead's card: claim it
    note_marker: str = "note:"
    set_webhook: bool = True  # webhook mode: call setWebhook at start-up (console.public_url)
    api_base_url: str | None = None  # a local Bot API server (tests, self-hosted)
    poll_timeout_s: int = Field(30, ge=0, le=50)


class DemoConfig(_Section):
    smtp_sink: bool = True  # run a local SMTP sink that the console shows
    smtp_sink_port: int = Field(defaults.DEMO_SMTP_PORT, ge=1, le=65535)


class Settings(_Section):
    business: BusinessConfig = BusinessConfig()
    storage: StorageConfig = StorageConfig()
    queue: QueueConfig = QueueConfig()
    brain: BrainConfig = BrainConfig()
    console: ConsoleConfig = ConsoleConfig()
    policy: PolicyConfig = PolicyConfig()
    followup: FollowUpConfig = FollowUpConfig()
    channels: ChannelsConfig = ChannelsConfig()
    slack: SlackConfig = SlackConfig()
    reports: ReportsConfig = ReportsConfig()
    telegram_team: TelegramTeamConfig = TelegramTeamConfig()
    demo: DemoConfig = DemoConfig()
    source_path: Annotated[str | None, Field(exclude=True)] = None

    @model_validator(mode="after")
    def _email_hook_needs_a_secret_in_public(self) -> Settings:
        """Anyone who can reach /hooks/email could write 'as' a customer; on a public URL it needs a token."""
        email = self.channels.email
        host = urlsplit(self.console.public_url).hostname or ""
        public = host not in ("127.0.0.1", "localhost", "::1")
        if email.enabled and email.inbound_webhook and not email.inbound_token and public:
            raise ValueError(
                f"channels.email.inbound_token is required when console.public_url is public ({host}): "
                "set a long random token (SHEEPDOG_CHANNELS__EMAIL__INBOUND_TOKEN), or set "
                "channels.email.inbound_webhook = false if mail only comes in over IMAP"
            )
        return self

    @property
    def from_address(self) -> str:
        return self.channels.email.from_address or self.business.email


def example_config_text() -> str:
    """The commented example config that ships with the package (also the demo business)."""
    return resources.files("sheepdog").joinpath("config.example.toml").read_text(encoding="utf-8")


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    """SHEEPDOG_SLACK__SIGNING_SECRET=x → {"slack": {"signing_secret": "x"}}; JSON values for lists/maps."""
    out: dict[str, Any] = {}
    for key, raw in environ.items():
        if not key.startswith(ENV_PREFIX) or "__" not in key:
            continue
        path = [p.lower() for p in key[len(ENV_PREFIX) :].split("__")]
        value: Any = raw
        if raw[:1] in "[{":
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                value = raw
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return out


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for k, v in top.items():
        merged[k] = _merge(merged[k], v) if isinstance(v, dict) and isinstance(merged.get(k), dict) else v
    return merged


def _describe(err: dict[str, Any]) -> str:
    key = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        return f"{key}: unknown setting (check the spelling against config.example.toml)"
    msg = str(err["msg"]).removeprefix("Value error, ")
    value = err.get("input")
    if not key or isinstance(value, dict):  # a rule about several settings: its message names them
        return f"{key}: {msg}" if key else msg
    return f"{key} = {value!r}: {msg}"


def load_settings(
    path: str | Path | None = None,
    *,
    environ: dict[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Settings:
    """Load and validate settings. No path: the built-in demo business (the example config)."""
    environ = dict(os.environ) if environ is None else environ
    if path is None:
        text, origin = example_config_text(), "built-in demo config"
    else:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file not found: {p} (create one with 'sheepdog init')")
        text, origin = p.read_text(encoding="utf-8"), str(p)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: not valid TOML: {exc}") from exc
    data = _merge(data, _env_overrides(environ))
    data = _merge(data, overrides or {})
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        lines = "\n  ".join(_describe(e) for e in exc.errors())
        raise ConfigError(f"{origin}: invalid configuration:\n  {lines}") from None
    settings.source_path = None if path is None else str(path)
    return settings
