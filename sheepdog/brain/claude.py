"""Claude through the anthropic SDK: triage and brief as tool use, drafts as text in the owner's voice.

Every call has a timeout and the SDK's retries (429, 529 and other 5xx). Anything that still
fails, or answers in a shape we cannot trust, falls back to the offline brain, and the result
says so (backend="offline" plus a flag or note naming what went wrong). Rules that must never be
missed (opt-out) and the owner's corrections still win over the model; the rubric score is
computed, not asked for.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import anthropic
from pydantic import BaseModel, Field, ValidationError

from sheepdog.brain import language, prompts, rules
from sheepdog.brain.drafts import _trim, draft_service, first_name, repair_of, signer
from sheepdog.brain.offline import OfflineBrain, _zone, hold_signals
from sheepdog.brain.scoring import brief_flags, lead_service, score_lead
from sheepdog.domain.extract import extract_all, extract_money, is_past
from sheepdog.domain.models import (
    Brief,
    Business,
    Category,
    Direction,
    DraftRequest,
    DraftText,
    Extracted,
    LeadContext,
    Money,
    NextAction,
    Signal,
    SignalName,
    Triage,
)
from sheepdog.domain.threads import opening_subject
from sheepdog.errors import BrainError

if TYPE_CHECKING:
    from sheepdog.config import Settings

log = logging.getLogger(__name__)


class _SignalIn(BaseModel):
    name: SignalName
    confidence: float = Field(ge=0, le=1)
    value: str | None = None


class _ExtractedIn(BaseModel):
    refund_amount: str | None = None
    order_ref: str | None = None
    requested_time: str | None = None
    service: str | None = None
    name: str | None = None
    company: str | None = None


class _TriageIn(BaseModel):
    category: Category
    confidence: float = Field(ge=0, le=1)
    signals: list[_SignalIn] = []
    extracted: _ExtractedIn = _ExtractedIn()
    flags: list[str] = []


class _BriefIn(BaseModel):
    summary: str = Field(min_length=1)
    flags: list[str] = []
    next_action: NextAction


def describe_failure(exc: BaseException) -> str:
    """A short human reason for the card: 'timeout', 'HTTP 529', 'malformed tool response: …'."""
    if isinstance(exc, anthropic.APITimeoutError):
        return "timeout"
    if isinstance(exc, anthropic.APIStatusError):
        return f"HTTP {exc.status_code}"
    if isinstance(exc, anthropic.APIConnectionError):
        return "connection error"
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "input"
        return f"malformed tool response: {where}: {first['msg']}"
    return str(exc) or type(exc).__name__


class ClaudeBrain:
    """The Claude backend; wraps an OfflineBrain that answers whenever Claude cannot."""

    name = "claude"
    FAILURES = (anthropic.AnthropicError, BrainError, ValidationError)

    def __init__(
        self,
        client: anthropic.Anthropic,
        model: str,
        offline: OfflineBrain | None = None,
        *,
        confidence_floor: float = 0.55,
        max_tokens: int = 1024,
    ) -> None:
        self.client = client
        self.model = model
        self.offline = offline or OfflineBrain(confidence_floor=confidence_floor)
        self.confidence_floor = confidence_floor
        self.max_tokens = max_tokens
        self.last_usage: dict[str, int] = {}

    @classmethod
    def from_settings(cls, settings: Settings, offline: OfflineBrain | None = None) -> ClaudeBrain:
        cfg = settings.brain
        client = anthropic.Anthropic(
            api_key=cfg.anthropic_api_key,
            base_url=cfg.base_url,
            timeout=cfg.timeout_s,
            max_retries=cfg.max_retries,
        )
        return cls(client, cfg.model, offline, confidence_floor=cfg.confidence_floor)

    # ---- the API call ---------------------------------------------------------------------

    def _call(self, system: list[dict[str, Any]], content: str, tool: str | None = None) -> Any:
        """One Messages API call. Tools and system are the same on every call (the cached prefix);
        tool_choice forces the named tool, or no tool for a draft."""
        choice = {"type": "tool", "name": tool} if tool else {"type": "none"}
        message = self.client.messages.create(
            model=self.model,
            max_tokens=self.max_tokens,
            system=system,  # type: ignore[arg-type]
            tools=prompts.tools(),  # type: ignore[arg-type]
            tool_choice=choice,  # type: ignore[arg-type]
            messages=[{"role": "user", "content": content}],
        )
        usage = getattr(message, "usage", None)
        if usage is not None:
            self.last_usage = {
                k: int(getattr(usage, k) or 0)
                for k in (
                    "input_tokens",
                    "output_tokens",
                    "cache_read_input_tokens",
                    "cache_creation_input_tokens",
                )
                if hasattr(usage, k)
            }
        return message

    def _tool_input(self, message: Any, tool_name: str) -> dict[str, Any]:
        for block in message.content:
            if getattr(block, "type", None) == "tool_use" and block.name == tool_name:
                if not isinstance(block.input, dict):
                    raise BrainError(f"malformed tool response: {tool_name} input is not an object")
                return block.input
        raise BrainError(f"malformed tool response: no {tool_name} call (stop_reason={message.stop_reason})")

    # ---- triage ---------------------------------------------------------------------------

    def triage(self, text: str, business: Business, *, in_open_conversation: bool = False) -> Triage:
        """Claude's triage, checked by the never-miss rules; the offline brain's if Claude fails."""
        text = rules.bounded((text or "").strip())
        corrected = self.offline.classifier.correction_for(text) if text else None
        if not re.search(r"\w", text) or corrected is not None:
            return self.offline.triage(text, business, in_open_conversation=in_open_conversation)
        content = (
            "Task: TRIAGE.\n"
            f"Open conversation with us: {'yes' if in_open_conversation else 'no (first message)'}.\n"
            f"<customer_message>\n{text}\n</customer_message>\nRecord the triage with the record_triage tool."
        )
        try:
            message = self._call(
                prompts.system_blocks(business, business.voice_examples), content, "record_triage"
            )
            parsed = _TriageIn.model_validate(self._tool_input(message, "record_triage"))
        except self.FAILURES as exc:
            return self._triage_fallback(text, business, in_open_conversation, exc)
        return self._checked_triage(parsed, text, business)

    def _triage_fallback(self, text: str, business: Business, open_conv: bool, exc: BaseException) -> Triage:
        reason = describe_failure(exc)
        log.warning("Claude triage failed (%s); offline brain used", reason)
        t = self.offline.triage(text, business, in_open_conversation=open_conv)
        return replace(t, flags=(*t.flags, f"Claude failed ({reason}); offline brain used"))

    def _checked_triage(self, parsed: _TriageIn, text: str, business: Business) -> Triage:
        flags = list(parsed.flags)
        category, confidence = parsed.category, parsed.confidence
        reading = rules.read(text)
        if reading.opt_out and category != Category.OPT_OUT:
            flags.append(f"opt-out rule overrode Claude's {category.value}")
            category, confidence = Category.OPT_OUT, 0.99
        signals = {s.name: Signal(s.name, s.confidence, s.value) for s in parsed.signals}
        for s in reading.signals:
            if s.name in (SignalName.PROMPT_INJECTION, SignalName.FRUSTRATED) and s.name not in signals:
                signals[s.name] = s
        if category == Category.SPAM and rules.spam_evidence(text) is None and rules.sensitive_topic(text):
            # Held as spam only on evidence: a customer with a complaint or a refund reaches a person.
            flags.append("Claude read this as spam, but it shows no sign of spam: a person reads it")
            category, confidence = Category.OTHER, min(confidence, 0.5)
        if confidence < self.confidence_floor and not any(f.startswith("low confidence") for f in flags):
            flags.append(f"low confidence: Claude is {confidence:.0%} sure this is {category.value}")
        code, _ = language.detect(text)
        now = self.offline.clock().astimezone(_zone(business.timezone))
        local = extract_all(text, business, now=now)
        held = hold_signals(text, category, confidence, code, local.service)
        if not language.is_english(code):
            # Claude writes the customer's language; a person still reads it before it goes out
            # until the owner chooses otherwise (the draft says which language).
            held = [s for s in held if not (s.value or "").startswith("written in")]
            held.append(
                Signal(
                    SignalName.NEEDS_HUMAN,
                    0.6,
                    f"written in {language.name(code)}: check the reply before it goes",
                )
            )
        for s in held:
            signals.setdefault(s.name, s)
        ex = parsed.extracted
        amount = _money(ex.refund_amount, business.currency) or local.refund_amount
        if (
            category
            not in (
                Category.REFUND_REQUEST,
                Category.COMPLAINT,
                Category.CANCELLATION,
                Category.STATUS_INQUIRY,
            )
            and not reading.refund
        ):
            amount = None
        service = ex.service if ex.service in {s.name for s in business.services} else local.service
        extracted = Extracted(
            refund_amount=amount,
            order_ref=ex.order_ref or local.order_ref,
            # Only a time still to come is a request (Claude's reading of a past date is dropped).
            requested_time=local.requested_time
            or (ex.requested_time if ex.requested_time and not is_past(ex.requested_time, now) else None),
            service=service,
            name=ex.name or local.name,
            company=ex.company or local.company,
            language=code,
        )
        return Triage(category, confidence, tuple(signals.values()), extracted, tuple(flags), self.name)

    # ---- brief ----------------------------------------------------------------------------

    def brief(self, lead: LeadContext) -> Brief:
        """Rubric score computed here; Claude writes the paragraph, the flags and the next action."""
        score, grade, reasons = score_lead(lead)
        service = lead_service(lead)
        history = "\n".join(f"[{h.direction.value} via {h.channel.value}] {h.text}" for h in lead.history)
        content = (
            "Task: BRIEF.\n"
            f"Lead: name={lead.contact_name!r}, email={lead.contact_email!r}, phone={lead.contact_phone!r}, "
            f"channel={lead.channel.value}, source={lead.source!r}, referral={lead.referral!r}, "
            f"returning_customer={lead.returning_customer}, service={service!r}, "
            f"language={language.name(lead.triage.extracted.language)} (say it in the summary if not English), "
            f"triage={lead.triage.category.value}, signals={[s.name.value for s in lead.triage.signals]}.\n"
            f"Rubric score {score}/100, grade {grade}; reasons: {'; '.join(reasons) or 'none'}.\n"
            f"<conversation>\n{history}\n</conversation>\nRecord the brief with the record_brief tool."
        )
        try:
            message = self._call(
                prompts.system_blocks(lead.business, lead.business.voice_examples), content, "record_brief"
            )
            parsed = _BriefIn.model_validate(self._tool_input(message, "record_brief"))
        except self.FAILURES as exc:
            reason = describe_failure(exc)
            b = self.offline.brief(lead)
            return replace(b, flags=(*b.flags, f"Claude failed ({reason}); offline brain used"))
        flags = list(dict.fromkeys([*parsed.flags, *brief_flags(lead, service)]))
        return Brief(
            score, grade, parsed.summary.strip(), reasons, tuple(flags), parsed.next_action, self.name
        )

    # ---- draft ----------------------------------------------------------------------------

    def draft(self, request: DraftRequest) -> DraftText:
        """A reply in the owner's voice; guardrails check it like any other draft."""
        lead = request.lead
        voice = lead.voice_examples or lead.business.voice_examples
        system = prompts.system_blocks(lead.business, tuple(voice))
        history = "\n".join(
            f"[{'customer' if h.direction == Direction.INBOUND else 'us'}] {h.text}"
            for h in lead.history
            if h.direction != Direction.NOTE
        )
        limit = f"at most {request.max_chars} characters" if request.max_chars else "short"
        content = (
            "Task: DRAFT.\n"
            f"Purpose: {request.purpose}. {prompts.PURPOSE_BRIEFS.get(request.purpose, 'A short, helpful touch.')}\n"
            + (f"Brief for this touch: {request.brief}\n" if request.brief else "")
            + (f"Offer exactly this, nothing more: {request.incentive}.\n" if request.incentive else "")
            + (f"Their visit is booked for: {lead.visit}.\n" if lead.visit else "")
            + f"Channel: {lead.channel.value}; length: {limit}; plain text: {request.plain_text}.\n"
            f"Customer first name: {first_name(lead)!r}; service asked about: {_service_words(lead)!r}; "
            f"triage: {lead.triage.category.value}; "
            f"time they asked for: {lead.triage.extracted.requested_time!r}.\n"
            f"{_voice_line(lead)}\n"
            f"Write the reply in {language.name(lead.triage.extracted.language)}, the customer's language.\n"
            f"<conversation>\n{history}\n</conversation>\n"
            "Write the reply now."
        )
        try:
            message = self._call(system, content)
            body = "".join(
                getattr(b, "text", "") for b in message.content if getattr(b, "type", "") == "text"
            )
            if not body.strip():
                raise BrainError(f"empty draft (stop_reason={message.stop_reason})")
        except self.FAILURES as exc:
            reason = describe_failure(exc)
            d = self.offline.draft(request)
            return replace(d, note=f"Claude failed ({reason}); offline brain used")
        body = body.strip()
        note = None
        if request.max_chars and len(body) > request.max_chars:
            body = _trim(body, request.max_chars)
            note = f"Claude's draft was over {request.max_chars} characters and was shortened"
        # Only a proposal for mail with no customer subject: see domain.threads.email_subject.
        subject = opening_subject(lead.business.name, _service_words(lead))
        code = lead.triage.extracted.language
        if not language.is_english(code):
            note = "; ".join(
                filter(None, [note, f"written in {language.name(code)}, the customer's language"])
            )
        return DraftText(body=body, subject=subject, backend=self.name, note=note)

    def learn(self, text: str, category: str) -> None:
        """Corrections live in the offline brain; they win over Claude for similar messages."""
        self.offline.learn(text, category)


def _money(value: str | None, currency: str) -> Money | None:
    if not value:
        return None
    found = extract_money(value, currency)
    if found:
        return found[0]
    parts = value.replace(",", "").split()
    try:
        amount = Decimal(parts[0])
    except (InvalidOperation, IndexError):
        return None
    code = parts[1].upper() if len(parts) > 1 and parts[1].isalpha() and len(parts[1]) == 3 else currency
    return Money(amount, code)


def _service_words(lead: LeadContext) -> str | None:
    """The service as the draft should name it: the newest message's; a repair is never an install."""
    service = draft_service(lead)
    repair = repair_of(lead, service)
    return f"{repair} repair (not an installation)" if repair else service


def _voice_line(lead: LeadContext) -> str:
    """First person as the signer when a signature is set (never 'Dana will …' from Dana)."""
    who = signer(lead.business)
    if who:
        return f"You are {who}: write in the first person as {who} (never about {who} in the third person)."
    return f"Write as the team of {lead.business.name}."
