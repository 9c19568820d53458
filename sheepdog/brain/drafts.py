"""Offline drafts: one template per purpose, written in the owner's voice and fitted to the channel.

Each draft has at most one qualifying question and one call to action, names the person and
the service when known, quotes only prices from the business's price list, answers routine
questions with the business's own FAQ words, and promises nothing (no dates, refunds, discounts).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sheepdog.brain import language
from sheepdog.brain.scoring import lead_text
from sheepdog.brain.voice import Style, learn_style
from sheepdog.domain.extract import (
    describes_fault,
    describes_new_work,
    extract_service,
    is_installation,
    service_mention,
    services_mentioned,
)
from sheepdog.domain.models import Business, Category, DraftRequest, DraftText, LeadContext, SignalName
from sheepdog.domain.threads import opening_subject

FAQ_KEYS: dict[str, tuple[str, ...]] = {
    "hours": (
        "open",
        "hours",
        "close",
        "closing",
        "opening",
        "weekend",
        "sunday",
        "saturday",
        "holiday",
        "late",
    ),
    "location": ("where", "address", "located", "location", "parking", "find you", "directions"),
    "payment": ("pay", "card", "cash", "check", "cheque", "amex", "apple pay", "financing", "finance"),
    "cancellation_policy": (
        "cancellation policy",
        "cancel policy",
        "if i cancel",
        "cancellation",
        "need to cancel",
    ),
    "service_area": ("area", "cover", "service", "go as far", "come to", "suburb", "outside"),
}


def first_name(lead: LeadContext) -> str | None:
    name = lead.contact_name or lead.triage.extracted.name
    if not name or "@" in name:
        return None
    words = name.replace("\x00", " ").split()
    if not words:  # only spaces or NUL bytes (issue 18: this raised IndexError and no draft was written)
        return None
    first = words[0]
    return first[:1].upper() + first[1:] if first.isalpha() and len(first) <= 24 else None


def draft_service(lead: LeadContext) -> str | None:
    """The service this reply is about: the newest message's, then the form's field, then what
    triage found, then the whole conversation's (a form default never overrules what they wrote)."""
    business = lead.business
    newest = lead.last_inbound
    field_value = lead.fields.get("service")
    picked = (extract_service(field_value, business) or field_value) if field_value else None
    named = services_mentioned(newest, business) if newest else []
    if named:
        if picked in named:  # "replacing an old furnace … a heat pump" with heat pump picked
            return picked
        if describes_new_work(newest):
            return next((n for n in named if is_installation(n)), named[0])
        return named[0]
    if picked:
        return picked
    return lead.triage.extracted.service or extract_service(lead_text(lead), business)


def repair_of(lead: LeadContext, service: str | None) -> str | None:
    """For a fault with equipment an installation service covers ("the heat pump buzzes"), the
    customer's own words for the equipment: the draft talks about a repair, never an install."""
    if not is_installation(service):
        return None
    newest = lead.last_inbound or lead_text(lead)
    if not describes_fault(newest):
        return None
    found = service_mention(newest, lead.business) or service_mention(lead_text(lead), lead.business)
    return found[1].lower() if found and found[0] == service else None


def signer(business: Business) -> str | None:
    """Who signs: the first line of business.signature (drafts then speak as that person)."""
    sig = (business.signature or "").strip()
    return sig.splitlines()[0].strip().lstrip("-– ").strip() or None if sig else None


def faq_answer(text: str, business: Business) -> str | None:
    """The business's own answer to a routine question, if one of its FAQ topics fits."""
    low = text.lower()
    best: tuple[int, str] | None = None
    for key, answer in business.faq.items():
        words = FAQ_KEYS.get(key, (key.replace("_", " "),))
        hits = sum(1 for w in words if re.search(rf"\b{re.escape(w)}\b", low))
        if hits and (best is None or hits > best[0]):
            best = (hits, answer)
    return best[1] if best else None


def _price_line(business: Business, service: str | None) -> str | None:
    for s in business.services:
        if s.name == service and s.price is not None:
            note = f" ({s.price_note})" if s.price_note else ""
            return f"Our {s.name.lower()} is {s.price}{note}."
    return None


class Composer:
    """Builds a draft from parts so length fitting can drop the least important ones first."""

    def __init__(self, request: DraftRequest) -> None:
        self.request = request
        self.lead = request.lead
        self.business = request.lead.business
        examples = request.lead.voice_examples or self.business.voice_examples
        self.signer = signer(self.business)
        self.style: Style = learn_style(examples, self.signer or self.business.owner_name)
        self.name = first_name(self.lead)
        service = draft_service(self.lead)
        self.repair = repair_of(self.lead, service)
        # A repair of equipment we also install: name the equipment, never the installation.
        self.service = None if self.repair else service
        self.thing = f"your {self.repair}" if self.repair else _service_phrase(service)
        self.subject_service = self.repair.capitalize() + " repair" if self.repair else service
        self.link = self.business.booking_link
        self.owner = self.business.owner_name
        self.when = self.lead.triage.extracted.requested_time

    @property
    def first_person(self) -> bool:
        """With a signature the draft is written by that person: "I'll look into it", never "Dana will"."""
        return self.signer is not None

    def will(self, what: str) -> str:
        """'I'll {what}' from the signer, else '{owner} will {what}'."""
        return f"I'll {what}" if self.first_person else f"{self.owner} will {what}"

    def asked_time(self) -> str | None:
        """The time they asked for, repeated as asked and confirmed by a person (never ignored)."""
        if not self.when:
            return None
        who = (
            "let me check the schedule and confirm"
            if self.first_person
            else "we'll check the schedule and confirm"
        )
        return f"You asked for {self.when} - {who}."

    def _soften(self, sentence: str) -> str:
        """'Hey Sam, Thanks' → 'Hey Sam, thanks' (but keep 'I', names and acronyms)."""
        first = sentence.split(" ", 1)[0]
        keep = {"I", "I'm", "I've", "I'll", self.owner, *self.business.name.split()}
        if first in keep or len(first) < 2 or not first[1].islower():
            return sentence
        return sentence[0].lower() + sentence[1:]

    def cta(self, text: str = "You can grab a time that suits you here") -> str:
        if self.link:
            return f"{text}: {self.link}"
        contact = self.business.phone or self.business.email
        return f"Or just reply here or reach us at {contact}."

    def compose(
        self,
        opener: str | None,
        body: list[str],
        question: str | None,
        cta: str | None,
        *,
        verbatim: bool = False,
    ) -> str:
        """Join the parts and shrink to the channel's limit: extra body, opener, then question go first."""
        s = self.style
        limit = self.request.max_chars
        sign = s.sign_off or ""
        parts = [p for p in body if p]

        def render(op: str | None, bd: list[str], q: str | None, c: str | None, sg: str) -> str:
            head = s.greet(self.name)
            words = [head]
            if op:
                words.append(op)
            words += bd
            if q:
                words.append(q)
            if c:
                words.append(c)
            words = [w.strip() for w in words if w and w.strip()]
            if len(words) > 1 and head.endswith(","):
                words[1] = words[1] if verbatim and not op else self._soften(words[1])
            text = " ".join(words)
            if sg:
                text = f"{text}{s.dash}{sg.lstrip('- ').strip()}" if sg.startswith("-") else f"{text}\n{sg}"
            return re.sub(r"\s+([,.!?])", r"\1", text)

        candidates = [
            (opener, parts, question, cta, sign),
            (opener, parts[:1], question, cta, sign),
            (None, parts[:1], question, cta, sign),
            (None, parts[:1], None, cta, sign),
            (None, parts[:1], None, cta, ""),
            (None, parts[:1], None, None, ""),
        ]
        text = ""
        for cand in candidates:
            text = render(*cand)
            if limit is None or len(text) <= limit:
                return text
        return _trim(text, limit or len(text))


def _service_phrase(service: str | None) -> str:
    """'Heat pump installation' → 'the heat pump installation'; acronyms such as 'AC' stay."""
    if not service:
        return "what you need"
    first, _, rest = service.partition(" ")
    first = first if first[1:2].isupper() else first.lower()
    return f"your {first} {rest}".strip()


def _trim(text: str, limit: int) -> str:
    """Cut at the last sentence end that fits; never mid-word, never mid-link."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    if end > limit // 3:
        return cut[: end + 1]
    return cut[: cut.rfind(" ")].rstrip(",;:- ") + "."


def _first_reply(c: Composer, answering: bool) -> str:
    cat = c.lead.triage.category
    s = c.style
    ex = c.lead.triage.extracted
    opener = None if answering else s.opener
    owner = c.owner
    said = c.lead.last_inbound.strip()
    if cat == Category.OTHER and (not said or said.startswith("/start")):
        # They opened the chat (Telegram /start) or sent an empty form: greet and ask, promise nothing.
        return c.compose(opener, [f"You have reached {c.business.name}."], "What can we help you with?", None)
    if cat == Category.ROUTINE_QUESTION:
        answer = faq_answer(c.lead.last_inbound, c.business)
        if answer:
            return c.compose(opener, [answer], "Anything else I can help with?", None, verbatim=True)
        check = (
            "I'll check and come back to you shortly"
            if c.first_person
            else f"I'll check with {owner} and come back to you shortly"
        )
        return c.compose(opener, [f"Good question - {check}."], None, None)
    if cat == Category.STATUS_INQUIRY:
        ref = f" on {ex.order_ref}" if ex.order_ref else ""
        return c.compose(
            None,
            [
                f"Thanks for checking in{ref}. I'm looking into it now and will come back to "
                f"you with an update as soon as I have one."
            ],
            None,
            None,
        )
    if cat == Category.BOOKING:
        if c.when:
            return c.compose(
                opener, [c.asked_time()], None, c.cta("If it's easier, you can also pick a slot here")
            )
        return c.compose(
            opener,
            ["Happy to get you booked in."],
            "Which day and time would suit you?",
            c.cta("If it's easier, you can also pick a slot here"),
        )
    if cat == Category.COMPLAINT:
        what = c.thing if c.service or c.repair else "it"  # the service they wrote about, when known
        return c.compose(
            None,
            [
                f"I'm really sorry about this. {c.will(f'look into {what} personally and get in touch with you')}."
            ],
            "What's the best number and time to reach you?",
            None,
        )
    if cat == Category.REFUND_REQUEST:
        return c.compose(
            None,
            [
                "Thanks for letting us know. I'll review your refund request myself and get back to you."
                if c.first_person
                else f"Thanks for letting us know. I've passed your refund request to {owner}, who will "
                "review it and get back to you."
            ],
            None,
            None,
        )
    if cat == Category.CANCELLATION:
        return c.compose(
            None,
            [
                "Thanks for letting us know - I've passed your cancellation on and we'll confirm "
                "it with you shortly."
            ],
            None,
            None,
        )
    if cat == Category.HUMAN_REQUEST:
        return c.compose(
            None,
            [f"Of course - {c.will('get back to you personally')}."],
            "What's the best number and time to call you?",
            None,
        )
    if cat == Category.OPT_OUT:
        return c.compose(None, ["Understood - you won't get any more messages from us."], None, None)
    if cat == Category.SPAM:
        return c.compose(None, ["Thanks, but we're not interested."], None, None)
    if cat == Category.PRICING_QUESTION or c.lead.triage.has(SignalName.PRICE_ASKED):
        price = _price_line(c.business, c.service)
        body = (
            [price]
            if price
            else [
                f"Pricing{' for ' + c.thing if c.service or c.repair else ''} depends on the job, "
                f"so {c.will('get back to you with a proper figure shortly')}."
            ]
        )
        return c.compose(opener, [*body, c.asked_time()], _qualifier(c), c.cta())
    if cat == Category.LEAD_REPLY:
        return c.compose(
            None,
            [s.end("Great, thanks for getting back to me"), c.asked_time()],
            _qualifier(c, reply=True),
            c.cta(),
        )
    if cat == Category.SALES_INQUIRY:
        if c.repair:
            help_line = s.end(f"Sorry to hear about the trouble with {c.thing} - happy to take a look")
        else:
            help_line = s.end(f"Happy to help with {c.thing}" if c.service else "Happy to help")
        return c.compose(opener, [help_line, c.asked_time()], _qualifier(c), c.cta())
    passed = (
        "I'll look at this and get back to you shortly"
        if c.first_person
        else f"I'll pass this on to {owner}, who will get back to you shortly"
    )
    return c.compose(opener, [f"{passed}."], None, None)


def _qualifier(c: Composer, reply: bool = False) -> str:
    if c.when or reply:
        return "Is there anything else we should know before we come out?"
    if c.repair:
        return f"What is {c.thing} doing, and when would suit you for a visit?"
    return "Could you tell me a little more about what you need and when you'd like it done?"


def _follow_up(c: Composer) -> str:
    return c.compose(
        None,
        [f"Just following up on your message about {c.thing}."],
        "Is now still a good time to get this sorted?",
        c.cta("You can pick a time here"),
    )


def _final_outreach(c: Composer) -> str:
    return c.compose(
        None,
        [
            f"I don't want to crowd your inbox, so this is my last note about {c.thing}.",
            "If it's not the right time, no worries at all.",
        ],
        None,
        c.cta("If you'd still like a hand, you can book here"),
    )


def _value(c: Composer) -> str:
    return c.compose(
        None,
        [
            f"A quick thought while you weigh up {c.thing}: a short visit usually answers most "
            "questions and you'll know the options before anything is decided."
        ],
        "What matters most to you in choosing someone?",
        c.cta("If it helps, you can book a visit here"),
    )


def _social_proof(c: Composer) -> str:
    return c.compose(
        None,
        [
            f"Plenty of our customers came to us with a similar question about {c.thing}, and a "
            "quick chat usually clears things up."
        ],
        None,
        c.cta("Happy to do the same for you"),
    )


def _check_in(c: Composer) -> str:
    return c.compose(
        None,
        [f"Just checking in on {c.thing}."],
        "Has anything changed on your side?",
        c.cta("If you'd like to go ahead, you can pick a time here"),
    )


def _final_nudge(c: Composer) -> str:
    return c.compose(
        None,
        [f"One last nudge about {c.thing} - I'll stop here so I don't clutter your inbox."],
        None,
        c.cta("Whenever you're ready, you can book here"),
    )


def _nurture(c: Composer) -> str:
    return c.compose(
        None,
        [f"Hope all is well! Just a friendly note that we're here whenever you need help with {c.thing}."],
        None,
        c.cta("You can always book here"),
    )


def _review_request(c: Composer) -> str:
    site = c.business.review_link or c.business.website or c.business.booking_link
    ask = (
        f"If you have a minute, a short review would mean a lot: {site}"
        if site
        else "If you have a minute, a short review would mean a lot to us."
    )
    return c.compose(
        None, [f"Thanks again for choosing {c.business.name}.", ask], "How did everything go?", None
    )


def _quote_follow_up(c: Composer) -> str:
    return c.compose(
        None,
        [
            f"I wanted to see whether you had any questions about the quote for {c.thing}.",
            "Happy to walk through any part of it.",
        ],
        "Which part would be most useful to go over?",
        c.cta("If you'd like to talk it through, pick a time"),
    )


def _cart_reminder(c: Composer) -> str:
    return c.compose(
        None,
        ["You left a few things in your cart, and we've kept them there for you."],
        "Anything we can answer before you finish your order?",
        None,
    )


def _quote_last_call(c: Composer) -> str:
    return c.compose(
        None,
        [
            f"Just a last note on the quote for {c.thing}: if anything in it doesn't fit, tell me and "
            "we'll look at the options together.",
        ],
        None,
        c.cta("If you'd like to go ahead, you can pick a time here"),
    )


def _cart_incentive(c: Composer) -> str:
    offer = c.request.incentive
    lines = ["Your cart is still saved."]
    if offer:
        lines.append(f"As a thank-you for coming back: {offer}.")
    return c.compose(None, lines, "Anything we can answer before you finish your order?", None)


def _visit_reminder(c: Composer) -> str:
    """The booked time restated exactly as booked (guardrails accept only that time), nothing
    promised beyond it: no arrival window, no price, no guarantee."""
    when = c.lead.visit
    booked = f"is booked for {when}" if when else "is coming up soon"
    about = f" about {c.thing}" if c.service or c.repair else ""
    return c.compose(
        None,
        [
            f"Just a quick reminder that your visit from {c.business.name}{about} {booked}.",
            "If that time no longer works, just reply to this message and we'll sort out another.",
        ],
        None,
        None,
    )


PURPOSES: dict[str, Callable[[Composer], str]] = {
    "first_reply": lambda c: _first_reply(c, answering=False),
    "reply": lambda c: _first_reply(c, answering=True),
    "follow_up": _follow_up,
    "final_outreach": _final_outreach,
    "value": _value,
    "social_proof": _social_proof,
    "check_in": _check_in,
    "final_nudge": _final_nudge,
    "nurture": _nurture,
    "review_request": _review_request,
    "quote_follow_up": _quote_follow_up,
    "cart_reminder": _cart_reminder,
    "cart_incentive": _cart_incentive,
    "quote_last_call": _quote_last_call,
    "visit_reminder": _visit_reminder,
}


def write_draft(request: DraftRequest) -> DraftText:
    """The offline draft for a purpose; an unknown purpose gets a plain check-in and a note."""
    composer = Composer(request)
    make = PURPOSES.get(request.purpose)
    note = None
    if make is None:
        make, note = _check_in, f"unknown purpose {request.purpose!r}: wrote a plain check-in"
    body = make(composer)
    # A proposal for when the customer wrote no subject (a form, an SMS); an answer to their email
    # keeps their subject (domain.threads.email_subject decides, in handlers.drafting).
    subject = opening_subject(request.lead.business.name, composer.subject_service)
    code = request.lead.triage.extracted.language
    if not language.is_english(code) and request.purpose in ("first_reply", "reply"):
        note = (
            f"the customer wrote in {language.name(code)}; this offline draft is in English: "
            "a person answers (or edits it into their language)"
        )
    return DraftText(body=body, subject=subject, note=note)
