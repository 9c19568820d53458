"""The offline brain: local classifier + rules for triage, rubric scoring for briefs, templates for drafts.

Needs no key and no network. It is the default backend and the fallback whenever Claude fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from sheepdog import defaults
from sheepdog.brain import language, rules
from sheepdog.brain.classifier import Classifier, shared_model
from sheepdog.brain.drafts import draft_service, repair_of, write_draft
from sheepdog.brain.scoring import brief_flags, next_action, score_lead
from sheepdog.domain.extract import extract_all
from sheepdog.domain.models import (
    Brief,
    Business,
    Category,
    DraftRequest,
    DraftText,
    Extracted,
    LeadContext,
    Signal,
    SignalName,
    Triage,
)

_QUOTE_REQUEST = re.compile(
    r"\b(?:get|need|want|like|send|give|after|request(?:ing)?|looking for)\b.{0,25}\b(?:quote|estimate|quotation)\b",
    re.IGNORECASE,
)
# A spam reading on one sign of spam (a pitch word or a known pattern) must be at least this sure to
# hold the message (nobody answers spam): under it, not even one reading in three says spam. With
# nothing to act on either (no link, no number, no "call / text / reply / claim"), more likely than
# not: "Congrats to you both!" carries a pitch word and asks nothing of anyone.
WEAK_SPAM_FLOOR = 0.3
WEAK_SPAM_FLOOR_ASKS_NOTHING = 0.5
_LOOSE = rules.SOFT | {
    Category.STATUS_INQUIRY,
    Category.BOOKING,
    Category.HUMAN_REQUEST,
    Category.COMPLAINT,
    Category.PRICING_QUESTION,
}


def _weak_spam_floor(text: str) -> float:
    """How sure a spam reading on one sign must be to hold the message: surer when it asks nothing."""
    return WEAK_SPAM_FLOOR if rules.CALL_TO_ACTION.search(text) else WEAK_SPAM_FLOOR_ASKS_NOTHING


def _rule_override(text: str, top: Category, reading: rules.RuleReading) -> Category | None:
    """Patterns strong enough to overrule the classifier, most important first."""
    priced = rules.PRICE.search(text) is not None
    if (
        rules.SPAM.search(text)
        and top != Category.SPAM
        and not rules.sensitive_topic(text)
        and (rules.LINK.search(text) or rules.bulk_markers(text))
    ):
        # A known pattern with a link or another marker overrules the classifier; alone it is
        # evidence that lets a spam reading stand. Never for a customer with a problem who quotes
        # one ("they asked me to verify the details of a debt"), nor for "Do you accept bitcoin?".
        return Category.SPAM
    if top != Category.SPAM and len(rules.pitch_markers(text)) >= 3 and not rules.sensitive_topic(text):
        return Category.SPAM  # a bulk pitch ("WINNER! … claim … T&Cs … txt to 87121"), whatever the guess
    if (
        rules.CANCELLED_ONLY.search(text)
        and not rules.CANCEL.search(rules.CANCELLED_ONLY.sub(" ", text))
        and top in _LOOSE | {Category.CANCELLATION}
        and (
            rules.WRONG_CHARGE.search(text)
            or rules.COMPLAINT_STORY.search(text)
            or rules.COMPLAINT_STRONG.search(text)
        )
    ):
        # "I cancelled in May and you charged me again": a cancellation told as what happened,
        # followed by being let down, is a complaint (TRIAGE.md: cancellation *asks* to cancel).
        return Category.COMPLAINT
    if (
        rules.CANCEL.search(text)
        and top in _LOOSE
        and (
            rules.CANCEL_ASK.search(text)
            or (
                top != Category.COMPLAINT
                and (len(text.split()) < rules.LETTER_WORDS or rules.BOOKED_WITH_US.search(text))
            )
        )
        and top != Category.PRICING_QUESTION
        and not priced
        and not re.search(r"\bpolic(?:y|ies)\b", text, re.IGNORECASE)
        and not rules.sets_aside_to_ask(text)
    ):
        return Category.CANCELLATION
    if (
        rules.WRONG_CHARGE.search(text)
        and top in _LOOSE - {Category.COMPLAINT}
        and not rules.FEE_QUESTION.search(text)
    ):
        return Category.COMPLAINT
    if rules.COMPLAINT_STRONG.search(text) and top in rules.SOFT | {
        Category.STATUS_INQUIRY,
        Category.BOOKING,
        Category.PRICING_QUESTION,
    }:
        return Category.COMPLAINT
    if (rules.COMPLAINT_STORY.search(text) or rules.our_work_failed(text)) and (
        top in rules.SOFT
        # (a refund guess with no money back asked is already a complaint: see _categorise)
        # A status inquiry asks where something stands; a story of being let down that asks
        # nothing is a complaint.
        or (top == Category.STATUS_INQUIRY and not rules.ASKS_STATUS.search(text))
    ):
        return Category.COMPLAINT  # let down, and no money asked back: TRIAGE.md's complaint
    if rules.let_down_story(text) and (
        top in rules.SOFT | {Category.STATUS_INQUIRY, Category.BOOKING, Category.PRICING_QUESTION}
        or (top == Category.CANCELLATION and not rules.CANCEL_ASK.search(text))
    ):
        # A letter that asks nothing and tells of being wronged twice over is a complaint, whatever
        # it was about: "I applied for the loan … they denied it … the error is still there".
        return Category.COMPLAINT
    worded = rules.ANGER_WORDS.search(text) is not None
    if (reading.anger >= 0.6 or (worded and reading.anger >= 0.35)) and top in rules.SOFT | {
        Category.STATUS_INQUIRY
    }:
        return Category.COMPLAINT
    if rules.HUMAN_STRONG.search(text) and top in rules.SOFT | {Category.BOOKING, Category.STATUS_INQUIRY}:
        return Category.HUMAN_REQUEST
    return None


_MONEY_TOPIC = {Category.REFUND_REQUEST, Category.COMPLAINT, Category.CANCELLATION}


def _not_asked(
    top: Category, p: float, ranked: list[tuple[str, float]], text: str, *, keep: bool
) -> tuple[Category, float]:
    """A reading whose category must be asked for (a refund, a cancellation), in a message that does
    not ask: the complaint it is when it shows being let down, else `top` if `keep`, else the next
    reading."""
    if rules.let_down(text):
        return Category.COMPLAINT, max(p, 0.75)
    if keep:
        return top, p
    c, q = next(kv for kv in ranked if kv[0] != top)
    return Category(c), q


class OfflineBrain:
    """Understands and writes with nothing but the shipped data and the owner's corrections."""

    name = "offline"

    def __init__(
        self,
        corrections: Iterable[tuple[str, str]] = (),
        *,
        confidence_floor: float = defaults.TRIAGE_CONFIDENCE_FLOOR,
        clock: Callable[[], datetime] | None = None,
        sentence_encoder: bool = True,
    ) -> None:
        self.classifier = Classifier(model=shared_model(vectors=sentence_encoder))
        self.confidence_floor = confidence_floor
        self.clock = clock or (lambda: datetime.now(ZoneInfo("UTC")))
        for text, category in corrections:
            self.learn(text, category)

    # ---- triage -------------------------------------------------------------------------------

    def triage(self, text: str, business: Business, *, in_open_conversation: bool = False) -> Triage:
        """One category, its confidence, signals and extracted fields; unsure → flagged, never silent."""
        text = rules.bounded((text or "").strip())
        if not re.search(r"\w", text):
            what = "empty message" if not text else "no words to read (emoji or symbols only)"
            return Triage(Category.OTHER, 0.2, flags=(f"low confidence: {what}",))
        reading = rules.read(text)
        category, confidence, flags = self._categorise(text, reading, in_open_conversation)
        signals = list(reading.signals)
        if category == Category.HUMAN_REQUEST and not any(
            s.name == SignalName.ASKS_FOR_HUMAN for s in signals
        ):
            signals.append(Signal(SignalName.ASKS_FOR_HUMAN, 0.9))
        if category in (Category.PRICING_QUESTION,) and not any(
            s.name == SignalName.PRICE_ASKED for s in signals
        ):
            signals.append(Signal(SignalName.PRICE_ASKED, 0.7))
        with_money = category in _MONEY_TOPIC or reading.refund or "refund" in text.lower()
        now = self.clock().astimezone(_zone(business.timezone))
        code, _ = language.detect(text)
        extracted = extract_all(text, business, with_refund=with_money, now=now)
        extracted = replace(extracted, language=code)
        signals += hold_signals(text, category, confidence, code, extracted.service)
        if not language.is_english(code):
            flags.append(f"written in {language.name(code)}: a person answers")
        if category == Category.REFUND_REQUEST and extracted.refund_amount is None:
            flags.append("refund amount not stated")
        if any(s.name == SignalName.PROMPT_INJECTION for s in signals):
            flags.append("message contains instructions aimed at the assistant: ignored")
        return Triage(category, round(confidence, 3), tuple(signals), extracted, tuple(flags), self.name)

    def _categorise(
        self, text: str, reading: rules.RuleReading, open_conversation: bool
    ) -> tuple[Category, float, list[str]]:
        flags: list[str] = []
        corrected = self.classifier.correction_for(text)
        if corrected is not None:
            return Category(corrected[0]), max(0.9, corrected[1]), flags
        if reading.opt_out:
            if rules.bulk_despite_stop(text):  # the rules first: a plain STOP never pays for the classifier
                probs = self.classifier.predict_proba(text)
                if max(probs, key=probs.__getitem__) == Category.SPAM:
                    # Not a customer asking to stop: a bulk text's "reply with STOP" footer. Both
                    # the classifier and the markers must say so; a short STOP is never overruled.
                    flags.append("a bulk message with a stop footer: held as spam, not an opt-out")
                    return Category.SPAM, max(0.75, probs[Category.SPAM]), flags
            return Category.OPT_OUT, 0.99, flags
        probs = self.classifier.predict_proba(text)
        if open_conversation:
            probs[Category.LEAD_REPLY] *= 2.5
            probs[Category.SALES_INQUIRY] *= 0.5
            total = sum(probs.values())
            probs = {k: v / total for k, v in probs.items()}
        ranked = sorted(probs.items(), key=lambda kv: kv[1], reverse=True)
        untrusted: set[str] = set()
        if not rules.CONTACT_WORDS.search(rules.VISIT_STOP.sub(" ", rules.without_plan_opt_outs(text))):
            untrusted.add(Category.OPT_OUT)  # an opt-out guess that never mentions contact: not trusted
        if rules.WANTS_CONTACT.search(text):
            untrusted.add(Category.OPT_OUT)  # "unsubscribed by mistake, add me back": asks for messages
        if rules.spam_evidence(text) is None or (
            rules.weak_spam_evidence(text) and rules.sensitive_topic(text)
        ):
            # Held as spam only on evidence (links, pitches, bulk markers, known patterns), never
            # on the classifier alone: "how can I file a complaint?" must reach a person; nor on
            # one sign when a customer has a problem ("a text said verify your details, a scam?").
            untrusted.add(Category.SPAM)
            if next(c for c, _ in ranked if c not in untrusted - {Category.SPAM}) == Category.SPAM:
                flags.append("reads a little like spam, but shows no sign of it: not held as spam")
        elif (
            (guess := next(kv for kv in ranked if kv[0] not in untrusted))[0] == Category.SPAM
            and rules.weak_spam_evidence(text)
            and guess[1] < _weak_spam_floor(text)
        ):
            # One pitch word and an unsure guess are not enough to hold a message nobody answers:
            # "Congrats! When is the baby due?" carries a marker and read 25% spam.
            untrusted.add(Category.SPAM)
            flags.append("reads a little like spam, but not surely: not held as spam")
        # Both demotions at once: demoting one must never promote the other to the top.
        ranked = [kv for kv in ranked if kv[0] not in untrusted] + [kv for kv in ranked if kv[0] in untrusted]
        top, p = Category(ranked[0][0]), ranked[0][1]
        if reading.refund:
            return Category.REFUND_REQUEST, max(p if top == Category.REFUND_REQUEST else 0.0, 0.85), flags
        words = len(text.split())
        if (
            top == Category.CANCELLATION
            and words >= rules.LETTER_WORDS
            and not rules.CANCEL_ASK.search(text)
            and not rules.CANCEL.search(rules.CANCELLED_ONLY.sub(" ", text))
        ):
            # TRIAGE.md: a cancellation *asks* to cancel. A letter read as one that never asks
            # ("I closed the account in May, yet they kept billing me") tells what happened.
            top, p = _not_asked(top, p, ranked, text, keep=False)
        if top == Category.REFUND_REQUEST and not rules.mentions_money_back(text):
            # TRIAGE.md: a refund request asks for money back; "a wrong charge with no request for
            # money back is complaint". A terse message keeps its refund reading when nothing shows
            # being let down: money back may be asked in words no rule knows.
            top, p = _not_asked(top, p, ranked, text, keep=words <= rules.TERSE_WORDS)
        if top == Category.REFUND_REQUEST and rules.chases_refund(text):
            # "When will I get my money back?": where a refund stands, not a new request for one.
            return Category.STATUS_INQUIRY, max(0.75, probs[Category.STATUS_INQUIRY]), flags
        override = _rule_override(text, top, reading)
        if override is not None:
            return override, max(0.75, probs[override]), flags
        if (
            open_conversation
            and top == Category.SALES_INQUIRY
            and any(s.name == SignalName.PRICE_ASKED for s in reading.signals)
        ):
            top, p = Category.PRICING_QUESTION, max(p, probs[Category.PRICING_QUESTION])
        elif not open_conversation and top == Category.PRICING_QUESTION and _QUOTE_REQUEST.search(text):
            top = Category.SALES_INQUIRY
        elif not open_conversation and top == Category.LEAD_REPLY:
            flags.append("reads like a reply, but there is no open conversation")
        if p < self.confidence_floor:
            second = Category(ranked[1][0]) if ranked[1][0] != top else Category(ranked[0][0])
            flags.append(
                f"low confidence: looks like {top.value} ({p:.0%}), could be {second.value} "
                f"({probs[second]:.0%})"
            )
        return top, p, flags

    def read_ahead(self, texts: list[str]) -> None:
        """Prepare for triaging these texts next (their sentence vectors in one batch)."""
        self.classifier.read_ahead(texts)

    def learn(self, text: str, category: str) -> None:
        """The owner said what this message really was; similar messages follow from now on."""
        self.classifier.learn(text, Category(category).value)

    # ---- brief and draft ----------------------------------------------------------------------

    def brief(self, lead: LeadContext) -> Brief:
        """Score against the rubric, say why in one paragraph, flag doubts, recommend the next move."""
        score, grade, reasons = score_lead(lead)
        service = draft_service(lead)
        repair = repair_of(lead, service)
        if repair:
            service = f"a {repair} repair"
        action = next_action(lead, grade)
        flags = brief_flags(lead, service)
        return Brief(
            score,
            grade,
            summarise(lead, service, score, grade, reasons, action.value),
            reasons,
            tuple(flags),
            action,
            self.name,
        )

    def draft(self, request: DraftRequest) -> DraftText:
        """A template draft in the owner's voice; guardrails still check it before anything is sent."""
        return write_draft(request)


def summarise(
    lead: LeadContext, service: str | None, score: int, grade: str, reasons: tuple[str, ...], action: str
) -> str:
    """One paragraph a closer can read in 30 seconds."""
    ex: Extracted = lead.triage.extracted
    who = lead.contact_name or ex.name or "An unnamed contact"
    company = lead.fields.get("company") or ex.company
    if company:
        who += f" ({company})"
    asks = f"asks about {service}" if service else f"wrote a {lead.triage.category.value.replace('_', ' ')}"
    bits = [f"{who} {asks} via {lead.channel.words}"]
    if lead.source and lead.source.lower() != lead.channel.words.lower():
        bits[0] += f" (source: {lead.source})"
    extras = []
    if lead.triage.has(SignalName.URGENT):
        extras.append("sounds urgent")
    if lead.referral:
        extras.append(f"referred by {lead.referral}")
    if lead.returning_customer:
        extras.append("returning customer")
    if ex.requested_time:
        extras.append(f"asked for {ex.requested_time}")
    if rules.asks_price(lead.last_inbound or "") or (
        lead.triage.category == Category.PRICING_QUESTION and lead.triage.confidence >= 0.7
    ):
        extras.append("asked about price")
    if not language.is_english(ex.language):
        extras.append(f"writes in {language.name(ex.language)}")
    why = "; ".join(reasons) if reasons else "no rubric rule matched"
    lines = [", ".join(bits + extras) + "."]
    lines.append(f"Score {score} ({grade}) from 40: {why}.")
    lines.append(f"Next: {action.replace('_', ' ')}.")
    return " ".join(lines)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except Exception:  # an unknown zone name: UTC, the dates are still read
        return ZoneInfo("UTC")


_NO_REPLY = {Category.SPAM, Category.OPT_OUT}


def hold_signals(
    text: str, category: Category, confidence: float, code: str, service: str | None = None
) -> list[Signal]:
    """Why nothing may go out on its own (policy reads `needs_human`): another language, a
    sensitive topic in a message that would otherwise be answered by itself, a customer who says
    we worked for them before, an offer to buy from us or to sell us leads, too little confidence
    (more for a long letter), or a long letter about none of the business's services. Safety that
    does not depend on the classifier being right."""
    if category in _NO_REPLY:
        return []
    out: list[Signal] = []
    if not language.is_english(code):
        out.append(Signal(SignalName.NEEDS_HUMAN, 0.9, f"written in {language.name(code)}: a person answers"))
    topic = rules.sensitive_topic(text)
    if topic:
        out.append(
            Signal(SignalName.NEEDS_HUMAN, 0.8, f"mentions '{topic}': a person reads it before any reply")
        )
    if rules.RETURNING.search(text):
        # "Your team installed our furnace …": policy gives a returning customer a person, and
        # what follows is as often a fault in our work as a new need.
        out.append(Signal(SignalName.NEEDS_HUMAN, 0.7, "says we worked for them before: a person answers"))
    if rules.OFFERS_TO_BUY_OR_SELL_LEADS.search(text):
        # A buyer of scrap or a seller of leads names our services too; a sales reply to them would
        # be the business answering a pitch.
        out.append(
            Signal(
                SignalName.NEEDS_HUMAN, 0.7, "offers to buy from us or to sell us leads: a person reads it"
            )
        )
    words = len(text.split())
    if words >= rules.LETTER_WORDS and service is None:
        # A long letter that names none of our services: a reply of ours would be a guess at what
        # it is about (a 104-word dispute read as a sales inquiry at 85% was one).
        out.append(
            Signal(SignalName.NEEDS_HUMAN, 0.7, "a long letter about none of our services: a person reads it")
        )
    long_letter = words > rules.STORY_WORDS
    bar = defaults.AUTO_REPLY_CONFIDENCE_LONG if long_letter else defaults.AUTO_REPLY_CONFIDENCE
    if confidence < bar:
        what = "a long letter" if long_letter else "it"
        out.append(
            Signal(
                SignalName.NEEDS_HUMAN, 0.7, f"not sure enough ({confidence:.0%}) to answer {what} on its own"
            )
        )
    return out
