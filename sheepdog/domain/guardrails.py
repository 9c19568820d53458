"""Deterministic checks of a draft before policy lets it out, whichever brain wrote it.

A draft fails (and waits for approval with the reasons shown) when it quotes a price that is not
in the price list, offers a discount, guarantee or date the policy does not allow, promises a
refund beyond the owner's threshold, links outside the allowed domains, does what instructions
hidden in the customer's message asked, runs over the channel's length, or uses markdown where
only plain text arrives. The business's own FAQ answers are trusted word for word.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

from sheepdog import defaults
from sheepdog.domain.extract import extract_money
from sheepdog.domain.models import Business, Category, Channel, GuardrailResult, Money, Triage

_I = re.IGNORECASE
PLAIN_TEXT_CHANNELS = frozenset(Channel)  # every customer channel receives plain text

_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)")
_BARE_PRICE = re.compile(
    r"\b(?:cost|costs|price|priced|charge|charges|fee|rate|quote|pay|only|just|total)\b[^.!?\n\d]{0,20}"
    r"(?<![\d:])\b(\d{2,6}(?:[.,]\d{2})?)\b(?!\s*(?:%|am|pm|minutes|mins|hours|hrs|days|years|sq|ft|:|th|st|nd|rd))",
    _I,
)
DISCOUNT = re.compile(
    r"\b\d{1,2}\s?(?:%|percent|per cent)\s?off\b|\bhalf off\b|\bdiscount\w*|"
    r"\bfree\s+(?:\w+\s+)?(?:visit|inspection|estimate|quote|diagnostic|service|consultation|upgrade|installation|"
    r"delivery|month|trial|session|repair|tune-?up)s?\b|\b(?:at no|no extra|without any) (?:extra )?(?:cost|charge)\b|\bcoupon\b|\bpromo(?:tion)?(?:al)?\s?code\b|\bspecial (?:offer|deal|price)\b|"
    r"\bhalf[\s-]price\b|\b(?:waive|waived|waiving)\b|\bno charge\b|\bon the house\b|\bfree of charge\b|"
    r"\bfor free\b|\bcomplimentary\b|\bmoney off\b|\bprice[\s-]match\w*|\bknock\w* (?:\w+ )?off\b|\bcheaper for you\b",
    _I,
)
GUARANTEE = re.compile(
    r"\bguarantee\w*|\bwarrant(?:y|ies|ied)\b|\b(?:I|we)\s+promise\b|\bpromise(?:d)? (?:you|that)\b|\b100\s?%\b|"
    r"\brisk[\s-]free\b|\blifetime\b|\bwill (?:definitely|certainly|absolutely) (?:fix|work|solve)\b|"
    r"\bnever (?:break|fail|leak)s? again\b|\bfor sure\b|\bno matter what\b",
    _I,
)
_DATE_WORD = (
    r"(?:today|tonight|tomorrow|this (?:week|weekend|afternoon|morning|evening)|next (?:week|\w+day)|"
    r"(?:on\s+)?(?:mon|tues|wednes|thurs|fri|satur|sun)day|\bby\s+\d|\bat\s+\d|\d{1,2}(?::\d{2})?\s?(?:am|pm)|"
    r"the \d{1,2}(?:st|nd|rd|th)|within (?:\d+|an?|one|two|the) (?:hour|hours|day|days|business days|week)|"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]* \d{1,2}|first thing|same[\s-]day|next[\s-]day|asap)"
)
DATE_PROMISE = re.compile(
    rf"\b(?:we'll|we will|i'll|i will|we can|i can|we're|we are|they'll|he'll|she'll|(?:tech|technician|crew|team|"
    rf"someone|driver)\s+(?:will|can|is going to)|(?:it|your \w+) will|(?:it|your \w+)'ll|will be|going to)\s+"
    rf"(?:\w+\s+){{0,3}}?(?:be (?:there|here|out|with you|ready|done|delivered|fixed|finished|arriving)|come|arrive|"
    rf"get (?:there|to you|it done)|deliver|ship|fix|install|finish|complete|have (?:it|this|that|everything) "
    rf"(?:done|ready|fixed)|have (?:someone|somebody|a tech|a technician|the crew|a plumber) (?:out|there|over|round)|"
    rf"see you|send (?:someone|a tech)|show up)\b[^.!?\n]{{0,40}}\b{_DATE_WORD}"
    rf"|\b(?:expect (?:us|the tech|the technician|the crew|delivery|it)|(?:it|your \w+) (?:ships|arrives|will arrive|"
    rf"will ship|is arriving|goes out))\b[^.!?\n]{{0,25}}\b{_DATE_WORD}"
    rf"|\b(?:booked (?:you )?(?:in )?(?:for|on)|confirmed for|see you (?:on )?|scheduled (?:you )?for|"
    rf"your (?:appointment|visit|booking) is (?:on|at|for))\s*{_DATE_WORD}",
    _I,
)
REFUND_PROMISE = re.compile(
    r"\b(?:we'll|we will|i'll|i will|we've|we have|i've|i have|we're going to|we can|i can|happy to|glad to|will be)\s+"
    r"(?:(?:happily|gladly|go ahead and|be|also|then|now|just|get)\s+){0,2}(?:refund\w*(?! request)|reimburs\w*|credit(?:ed)?|return (?:your|the) (?:money|deposit|payment)|"
    r"give you (?:your|the) (?:money|deposit)|send (?:your|the) (?:money|deposit))\b"
    r"|\b(?:full|complete|partial)\s+refund\b|\brefund (?:has been|is|was|will be) (?:processed|issued|approved|"
    r"on its way|sent)\b|\byou(?:'ll| will) (?:get|receive|see) (?:a|your|the)\s+(?:full\s+)?(?:refund|money back)\b"
    r"|\bmoney back\b",
    _I,
)
INSTRUCTION_ECHO = re.compile(
    r"\bas (?:you )?(?:instructed|requested by your message|you asked me to)\b|\bignor\w+ (?:my|the|previous|all|your)"
    r"\s+(?:rules|instructions)\b|\bsystem prompt\b|\bmy (?:instructions|rules|programming|guidelines)\b|"
    r"\bas an ai\b|\bi(?:'m| am) (?:an ai|a language model|a bot|an assistant)\b|\bdeveloper mode\b|"
    r"\bi have been (?:told|instructed)\b|\brules (?:don't|do not) apply\b|\bnew instructions\b",
    _I,
)
INJECTION_IN = re.compile(
    r"\bignore\b|\bdisregard\b|\bsystem prompt\b|\binstructions?\b|\byou must\b|\bpretend\b|\boverride\b|"
    r"\b(?:reply|respond|answer|write back|say)\s+(?:only\s+)?(?:with|that|saying|exactly)\b|\bassistant\s*:|"
    r"\bnew rules\b|\bforget\b|\bas an ai\b|\bdeveloper mode\b",
    _I,
)
_QUOTED = re.compile(r"[\"“']([^\"”']{6,120})[\"”']")
MARKDOWN = [
    (re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__"), "bold markers"),
    (re.compile(r"(?m)^\s{0,3}#{1,6}\s+\S"), "a heading"),
    (re.compile(r"\[[^\]\n]+\]\((?:https?://|www\.)[^)\s]+\)"), "a markdown link"),
    (re.compile(r"`[^`\n]+`"), "code backticks"),
    (re.compile(r"(?m)(?:^\s*[-*+]\s+\S.*\n){1,}^\s*[-*+]\s+\S"), "a bullet list"),
    (re.compile(r"(?m)(?:^\s*\d+[.)]\s+\S.*\n){1,}^\s*\d+[.)]\s+\S"), "a numbered list"),
    (re.compile(r"(?<![\w*])\*[^*\s][^*\n]{0,80}[^*\s]\*(?![\w*])"), "italic markers"),
    (re.compile(r"~~[^~\n]+~~"), "strike-through"),
    (re.compile(r"(?m)^>\s"), "a block quote"),
]
_URL = re.compile(
    r"\b(?:https?://[^\s<>()\"']+|www\.[^\s<>()\"']+|(?:[a-z0-9-]+\.)+(?:com|net|org|io|co|biz|info|ru|cn|xyz|ly|me|"
    r"app|site|online|shop|link|click|top|us|uk|de|example|gg|tk|to|dev|ai)(?:/[^\s<>()\"']*)?)",
    _I,
)
_EMAIL = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")


def check_draft(
    draft_text: str,
    business: Business,
    *,
    inbound_text: str,
    triage: Triage,
    channel: Channel,
    max_chars: int | None,
) -> GuardrailResult:
    """Every reason the draft may not go out on its own; ok when there is none."""
    reasons: list[str] = []
    text = draft_text or ""
    if not text.strip():
        return GuardrailResult(False, ("the draft is empty",))
    checked = _without_business_words(text, business)
    reasons += _prices(checked, business, triage)
    reasons += _refunds(checked, business, triage)
    if not business.allow_discounts and (m := DISCOUNT.search(checked)):
        reasons.append(f"offers a discount ('{m.group(0)}'), which your policy does not allow")
    if not business.allow_guarantees and (m := GUARANTEE.search(checked)):
        reasons.append(f"makes a guarantee ('{m.group(0)}'), which your policy does not allow")
    if not business.allow_date_promises and (m := DATE_PROMISE.search(checked)):
        reasons.append(f"promises a date or time ('{m.group(0).strip()}'), which your policy does not allow")
    reasons += _links(text, business)
    reasons += _injection(text, inbound_text, triage)
    limit = (
        max_chars if max_chars is not None else (defaults.SMS_MAX_CHARS if channel == Channel.SMS else None)
    )
    if limit is not None and len(text) > limit:
        reasons.append(f"{len(text)} characters, over the {limit}-character limit for {channel.value}")
    if channel in PLAIN_TEXT_CHANNELS:
        found = [label for pattern, label in MARKDOWN if pattern.search(text)]
        if found:
            reasons.append(f"uses markdown ({', '.join(found)}) in a plain-text {channel.value} message")
    return GuardrailResult(not reasons, tuple(dict.fromkeys(reasons)))


def _without_business_words(text: str, business: Business) -> str:
    """Remove the business's own FAQ sentences: their words are the owner's, not the model's promises."""
    for answer in business.faq.values():
        for sentence in _sentences(answer or ""):
            if len(sentence) > 12:
                text = re.sub(re.escape(sentence.rstrip(".!?")) + r"[.!?]?", " ", text, flags=re.IGNORECASE)
    return text


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


def _service_named(sentence: str, business: Business, name: str) -> bool:
    low = sentence.lower()
    for s in business.services:
        if s.name == name:
            words = (*s.keywords, s.name.lower())
            return any(re.search(rf"(?<![\w/]){re.escape(w)}(?![\w/])", low) for w in words)
    return False


def _prices(text: str, business: Business, triage: Triage) -> list[str]:
    """Each amount must be a listed price next to its own service, or the customer's own refund amount."""
    reasons = []
    listed = [(s.name, s.price) for s in business.services if s.price is not None]
    refund = triage.extracted.refund_amount
    for sentence in _sentences(text):
        for money in extract_money(sentence, business.currency):
            if refund is not None and _same(money, refund):
                continue  # the customer's amount restated; _refunds decides whether a promise is allowed
            owners = [name for name, price in listed if price is not None and _same(money, price)]
            if not owners:
                reasons.append(f"quotes {money}, which is not in your price list")
            elif not any(_service_named(sentence, business, n) for n in owners):
                reasons.append(f"quotes {money} without naming the service it is the listed price of")
        if not extract_money(sentence, business.currency):
            for m in _BARE_PRICE.finditer(sentence):
                value = m.group(1).replace(",", ".")
                if not any(p is not None and str(p.amount.normalize()) == value for _, p in listed):
                    reasons.append(
                        f"mentions a price-like figure ('{m.group(0).strip()}') not in your price list"
                    )
    return reasons


def _same(a: Money, b: Money) -> bool:
    return a.currency == b.currency and a.amount == b.amount


def _refunds(text: str, business: Business, triage: Triage) -> list[str]:
    """A refund may be promised only for a known amount within the owner's threshold."""
    m = REFUND_PROMISE.search(text)
    if not m:
        return []
    threshold = business.refund_threshold
    amounts = extract_money(text, business.currency) or (
        [triage.extracted.refund_amount] if triage.extracted.refund_amount else []
    )
    if not amounts:
        return [f"promises a refund ('{m.group(0)}') with no amount the owner has approved"]
    reasons = []
    for money in amounts:
        if money.currency != threshold.currency or money.amount > threshold.amount:
            reasons.append(f"promises a refund of {money}, beyond your {threshold} refund threshold")
    if triage.category != Category.REFUND_REQUEST and not reasons:
        reasons.append(f"promises a refund ('{m.group(0)}') the customer did not ask for")
    return reasons


def allowed_domains(business: Business) -> set[str]:
    domains = {d.lower().lstrip(".") for d in business.allowed_link_domains}
    for url in (business.booking_link, business.website):
        if url:
            host = urlparse(url if "://" in url else f"https://{url}").hostname
            if host:
                domains.add(host.lower().removeprefix("www."))
    if "@" in business.email:
        domains.add(business.email.rsplit("@", 1)[1].lower())
    return domains


def _host_allowed(host: str, allowed: set[str]) -> bool:
    host = host.lower().rstrip(".").removeprefix("www.")
    return any(host == d or host.endswith("." + d) for d in allowed)


def _links(text: str, business: Business) -> list[str]:
    allowed = allowed_domains(business)
    reasons = []
    for m in _EMAIL.finditer(text):
        if not _host_allowed(m.group(1), allowed):
            reasons.append(f"gives an email address at {m.group(1)}, which is not an allowed domain")
    bare = _EMAIL.sub(" ", text)
    for m in _URL.finditer(bare):
        raw = m.group(0).rstrip(".,;:!?)")
        host = urlparse(raw if "://" in raw else f"http://{raw}").hostname or raw
        if "@" in raw or not _host_allowed(host, allowed):
            reasons.append(f"links to {host}, which is not an allowed domain")
    return reasons


def _injection(draft: str, inbound: str, triage: Triage) -> list[str]:
    """The draft must not carry out what the customer's message told the assistant to do."""
    reasons = []
    if m := INSTRUCTION_ECHO.search(draft):
        reasons.append(f"talks about instructions or being an AI ('{m.group(0)}')")
    from sheepdog.domain.models import SignalName

    injected = triage.has(SignalName.PROMPT_INJECTION) or INJECTION_IN.search(inbound or "") is not None
    if not injected:
        return reasons
    low = draft.lower()
    for quoted in _QUOTED.findall(inbound):
        if quoted.lower().strip() in low:
            reasons.append(f"repeats text the customer's message told it to say ('{quoted.strip()}')")
    echo = _shared_run(inbound, draft, 5)
    if echo:
        reasons.append(f"echoes the instruction hidden in the customer's message ('{echo}')")
    if re.search(
        r"\b(?:i|we)\s+(?:agree|confirm|accept|approve|promise)\b|\bas you (?:asked|requested)\b|"
        r"\bsure(?:,|!)? (?:here|i|we)\b|\bno problem,? (?:i|we)(?:'ll| will)\b",
        draft,
        _I,
    ):
        reasons.append("agrees to a demand from a message that tries to instruct the assistant")
    return reasons


def _shared_run(a: str, b: str, n: int) -> str | None:
    """The first run of n words the two texts share (case and punctuation ignored)."""
    wa = re.findall(r"[a-z0-9$€£']+", a.lower())
    wb = " " + " ".join(re.findall(r"[a-z0-9$€£']+", b.lower())) + " "
    common = {"thanks for", "let me know", "get back to you", "as soon as"}
    for i in range(len(wa) - n + 1):
        run = " ".join(wa[i : i + n])
        if f" {run} " in wb and not any(c in run for c in common):
            return run
    return None
