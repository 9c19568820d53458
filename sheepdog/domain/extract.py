"""Pure extraction of the fields policy and drafts need: money, references, times, service, name, company.

Regular expressions and small word lists, no I/O, so both brain backends and the guardrails can
use the same reading of a message (and a test can pin each case down).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sheepdog.domain.models import Business, Extracted, Money

SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP"}
WORD_CURRENCIES = {
    "dollar": "USD",
    "dollars": "USD",
    "bucks": "USD",
    "buck": "USD",
    "usd": "USD",
    "euro": "EUR",
    "euros": "EUR",
    "eur": "EUR",
    "pound": "GBP",
    "pounds": "GBP",
    "quid": "GBP",
    "gbp": "GBP",
}
NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
SCALES = {"hundred": 100, "thousand": 1000, "grand": 1000, "k": 1000}

# Grouped thousands (1,234.56 / 1.234,56 / 1 234) or plain digits (4500, 45,50); never half a number.
_NUM = r"\d{1,3}(?:[.,\s]\d{3})+(?:[.,]\d{1,2})?(?!\d)|\d+(?:[.,]\d{1,2})?(?!\d)"
_SYMBOL_AMOUNT = re.compile(rf"([$€£])\s?({_NUM})(\s?k\b)?|({_NUM})\s?([$€£])")
_CODE_AMOUNT = re.compile(rf"\b(USD|EUR|GBP|CAD|AUD)\s?({_NUM})\b", re.IGNORECASE)
_WORD_AMOUNT = re.compile(rf"\b({_NUM})\s?(k\s)?\s?({'|'.join(WORD_CURRENCIES)})\b", re.IGNORECASE)
_SPELLED_AMOUNT = re.compile(
    # At most eight words ("two thousand five hundred and fifty"): unbounded, a long run of
    # number-like words ("a-a-a-…") made every start position scan to the end (quadratic time).
    rf"\b((?:(?:{'|'.join(NUMBER_WORDS)}|{'|'.join(SCALES)}|and)[\s-]+){{1,8}})({'|'.join(WORD_CURRENCIES)})\b",
    re.IGNORECASE,
)


def parse_number(text: str) -> Decimal | None:
    """'1,200' → 1200, '45,50' → 45.50, '1.200,50' → 1200.50, '19.99' → 19.99."""
    t = text.replace(" ", "")
    if "," in t and "." in t:
        t = t.replace(".", "").replace(",", ".") if t.rfind(",") > t.rfind(".") else t.replace(",", "")
    elif "," in t:
        head, _, tail = t.rpartition(",")
        t = f"{head.replace(',', '')}.{tail}" if len(tail) in (1, 2) else t.replace(",", "")
    elif t.count(".") == 1 and len(t.rpartition(".")[2]) == 3 and len(t) > 4:
        t = t.replace(".", "")  # 1.200 as thousands
    try:
        return Decimal(t)
    except InvalidOperation:
        return None


def _spelled(words: str) -> Decimal | None:
    total, current = 0, 0
    seen = False
    for w in re.split(r"[\s-]+", words.lower().strip()):
        if not w or w == "and":
            continue
        if w in NUMBER_WORDS:
            current += NUMBER_WORDS[w]
            seen = True
        elif w in SCALES:
            current = max(current, 1) * SCALES[w]
            if SCALES[w] >= 1000:
                total, current = total + current, 0
            seen = True
    value = total + current
    return Decimal(value) if seen and value > 1 else None


def extract_money(text: str, default_currency: str = "USD") -> list[Money]:
    """Every amount in the text, in order of appearance."""
    found: list[tuple[int, Money]] = []
    for m in _SYMBOL_AMOUNT.finditer(text):
        sym, num = (m.group(1), m.group(2)) if m.group(1) else (m.group(5), m.group(4))
        value = parse_number(num)
        if value is None:
            continue
        if m.group(3):
            value *= 1000
        found.append((m.start(), Money(value, SYMBOLS[sym])))
    for m in _CODE_AMOUNT.finditer(text):
        value = parse_number(m.group(2))
        if value is not None:
            found.append((m.start(), Money(value, m.group(1).upper())))
    taken = [range(s, s + 1) for s, _ in found]
    for m in _WORD_AMOUNT.finditer(text):
        value = parse_number(m.group(1))
        if value is None or any(m.start() in r for r in taken):
            continue
        if m.group(2):
            value *= 1000
        found.append((m.start(), Money(value, WORD_CURRENCIES[m.group(3).lower()])))
    for m in _SPELLED_AMOUNT.finditer(text):
        value = _spelled(m.group(1))
        if value is not None:
            found.append((m.start(), Money(value, WORD_CURRENCIES[m.group(2).lower()])))
    found.sort(key=lambda p: p[0])
    return [money for _, money in found]


_REF_KEYWORD = re.compile(
    r"\b(?:order|booking|ref(?:erence)?|invoice|case|ticket|confirmation|tracking|claim|account)"
    r"\s*(?:no\.?|number|num|#|:)?\s*#?\s*([A-Z0-9][A-Z0-9-]{2,})\b",
    re.IGNORECASE,
)
_REF_HASH = re.compile(r"#\s?([A-Z0-9][A-Z0-9-]{2,})\b", re.IGNORECASE)
_REF_CODE = re.compile(r"\b([A-Z]{2,4}-\d{3,}[A-Z0-9-]*)\b")


def extract_order_ref(text: str) -> str | None:
    """'order 99812' → '99812', '#A1234' → 'A1234', 'BK-2291' → 'BK-2291' (must contain a digit)."""
    for pattern in (_REF_HASH, _REF_KEYWORD, _REF_CODE):
        for m in pattern.finditer(text):
            ref = m.group(1)
            if any(c.isdigit() for c in ref) and not re.fullmatch(r"\d{1,2}(st|nd|rd|th)?", ref, re.I):
                return ref.upper()
    return None


_WEEKDAY = r"(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?"
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*"
_DATE = re.compile(
    rf"\b(?:(?:next|this|on)\s+)?{_WEEKDAY}\b(?:\s+(?:morning|afternoon|evening|night))?"
    rf"|\b(?:today|tonight|tomorrow|this weekend|next week|this week)\b(?:\s+(?:morning|afternoon|evening))?"
    rf"|\bthe\s+\d{{1,2}}(?:st|nd|rd|th)\b"
    rf"|\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?\b"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\b"
    rf"|\b\d{{1,2}}/\d{{1,2}}(?:/\d{{2,4}})?\b",
    re.IGNORECASE,
)
_TIME = re.compile(
    r"\b(?:at|around|by|after|before|from)?\s*\d{1,2}(?::\d{2})?\s?(?:am|pm|a\.m\.|p\.m\.)"
    r"|\b\d{1,2}:\d{2}\b|\b(?:at|around|after)\s+\d{1,2}\b(?!\s*(?:%|dollars|bucks|st|nd|rd|th))"
    r"|\bnoon\b|\bmidday\b",
    re.IGNORECASE,
)


_CLOCK = r"\d{1,2}(?::\d{2})?\s?(?:am|pm|a\.m\.|p\.m\.)?"
# A window right after a date: "Thursday Dec 3, 8–11", "Friday 9am-noon", "the 5th between 2 and 4".
_WINDOW = re.compile(
    rf"\s*,?\s*(?:(?:at|from|between|around|by|after|before)\s+)?"
    rf"(?:{_CLOCK}\s?(?:-|–|—|to|till|until|and)\s?(?:{_CLOCK}|noon)|\d{{1,2}}(?::\d{{2}})?\s?(?:am|pm|a\.m\.|p\.m\.)"
    rf"|\d{{1,2}}:\d{{2}}|noon|midday|(?:in the )?(?:morning|afternoon|evening))",
    re.IGNORECASE,
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_PAST_CONTEXT = re.compile(
    r"\b(?:since|last|until|till|before|ago)\s*$|"
    r"\b(?:came|was|were|did|had|installed|serviced|visited|ordered|paid|bought|called|booked|"
    r"fixed|repaired|charged|billed|happened|started|began|delivered|arrived)\b[^.!?]{0,30}$",
    re.IGNORECASE,
)
_PAST_WINDOW_DAYS = 183  # a month-day earlier this year within this many days is past, else next year's


def calendar_date(piece: str, today: date) -> date | None:
    """The calendar date a month-day piece names ('Dec 3', '3rd of December', '12/3', '12/3/2026')."""
    low = piece.lower()
    m = re.search(r"(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?", low)
    if m:
        month, day = int(m.group(1)), int(m.group(2))
        year = int(m.group(3)) if m.group(3) else None
    else:
        mon = next((i + 1 for i, name in enumerate(_MONTHS) if re.search(rf"\b{name}", low)), None)
        num = re.search(r"\d{1,2}", low)
        if mon is None or num is None:
            return None
        month, day, year = mon, int(num.group(0)), None
        y = re.search(r"\b(20\d\d)\b", low)
        year = int(y.group(1)) if y else None
    if year is not None and year < 100:
        year += 2000
    try:
        when = date(year or today.year, month, day)
    except ValueError:
        return None
    if year is None and when < today and (today - when).days > _PAST_WINDOW_DAYS:
        when = date(today.year + 1, month, day)
    return when


def is_past(piece: str, now: datetime | date | None) -> bool:
    """Whether a month-day piece is a date already gone ('Nov 10' read on Nov 29)."""
    if now is None:
        return False
    today = now.date() if isinstance(now, datetime) else now
    when = calendar_date(piece, today)
    return when is not None and when < today


def extract_requested_time(text: str, now: datetime | date | None = None) -> str | None:
    """The day and time asked for, as written: 'Friday at 10', 'Thursday Dec 3, 8–11', 'the 16th'.

    Only a request: a date in a past-tense clause ("you came out on Tuesday") or one already gone
    ("asked on Nov 10", read on Nov 29) is history, not a time they want."""
    dates = [
        m
        for m in _DATE.finditer(text)
        if not _PAST_CONTEXT.search(text[: m.start()]) and not is_past(m.group(0), now)
    ]
    if dates:
        start, end = dates[0].start(), dates[0].end()
        for m in dates[1:]:  # "Thursday Dec 3": adjacent pieces of one date
            if m.start() - end > 3:
                break
            end = m.end()
        window = _WINDOW.match(text, end)
        if window:
            return re.sub(r"^on\s+", "", text[start : window.end()].strip(" ,"), flags=re.IGNORECASE)
        date_text = text[start:end].strip()
    else:
        date_text = None
    clock = _TIME.search(text)
    if clock is not None and (
        _SYMBOL_AMOUNT.search(clock.group(0)) is not None or _PAST_CONTEXT.search(text[: clock.start()])
    ):
        clock = None
    parts = [p for p in (date_text, clock.group(0).strip() if clock else None) if p]
    if not parts:
        return None
    if date_text and clock and start < clock.start() and clock.start() - end < 12:
        return text[start : clock.end()].strip()
    return " ".join(parts)


def service_mention(text: str, business: Business) -> tuple[str, str] | None:
    """(service name, the words the customer used for it) of the earliest service named in text."""
    low = text.lower()
    best: tuple[int, str, str] | None = None
    for service in business.services:
        for kw in (*service.keywords, service.name.lower()):
            m = re.search(rf"(?<![\w/]){re.escape(kw)}(?:s|es)?(?![\w/])", low)
            if m and (best is None or m.start() < best[0]):
                best = (m.start(), service.name, text[m.start() : m.start() + len(kw)])
    return (best[1], best[2]) if best else None


def services_mentioned(text: str, business: Business) -> list[str]:
    """Every service of ours the text names, in the order it names them."""
    low = text.lower()
    found: list[tuple[int, str]] = []
    for service in business.services:
        starts = [
            m.start()
            for kw in (*service.keywords, service.name.lower())
            for m in [re.search(rf"(?<![\w/]){re.escape(kw)}(?:s|es)?(?![\w/])", low)]
            if m
        ]
        if starts:
            found.append((min(starts), service.name))
    return [name for _, name in sorted(found)]


def extract_service(text: str, business: Business) -> str | None:
    """The first of the business's services whose keyword (or name) appears as whole words."""
    found = service_mention(text, business)
    return found[0] if found else None


_FAULT = re.compile(
    r"\b(?:buzz\w*|rattl\w*|nois\w*|broke\w*|leak\w*|repair\w*|fix\w*|fault\w*|error code|smell\w*|"
    r"squeal\w*|grind\w*|bang\w*|click\w*|humm\w*|hums|died|dead|quit|acting up|trouble|problem|issue|"
    r"stopped|not (?:working|cooling|heating|turning on|blowing|running|starting)|"
    r"(?:won'?t|doesn'?t|does not|will not|isn'?t|is not) (?:turn on|start|work|cool|heat|run|blow))\b",
    re.IGNORECASE,
)
_NEW_WORK = re.compile(
    r"\b(?:install\w*|new|replace\w*|replacement|upgrade|put in|fit a|fitted)\b", re.IGNORECASE
)
_INSTALL_SERVICE = re.compile(r"\b(?:install\w*|replacement|new)\b", re.IGNORECASE)


def describes_fault(text: str) -> bool:
    """Something they have is broken or odd (a repair), and they do not ask for new equipment."""
    return _FAULT.search(text) is not None and _NEW_WORK.search(text) is None


def describes_new_work(text: str) -> bool:
    """They want something new fitted ('install', 'replace', 'new')."""
    return _NEW_WORK.search(text) is not None


def is_installation(service: str | None) -> bool:
    return bool(service) and _INSTALL_SERVICE.search(service or "") is not None


_NOT_NAMES = {
    "interested",
    "looking",
    "not",
    "just",
    "still",
    "so",
    "very",
    "a",
    "the",
    "here",
    "having",
    "trying",
    "calling",
    "writing",
    "hoping",
    "wondering",
    "sorry",
    "done",
    "moving",
    "new",
    "good",
    "fine",
    "ok",
    "okay",
    "available",
    "free",
    "home",
    "out",
    "in",
    "on",
    "going",
    "getting",
    "thinking",
    "after",
    "happy",
    "unhappy",
    "frustrated",
    "angry",
    "your",
    "an",
    "also",
    "really",
    "sure",
    "glad",
}
_NAME_PATTERNS = [
    re.compile(r"\b(?i:my name)(?:'s| is)\s+([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)"),
    re.compile(
        r"\b(?i:this is|I'm|I am|it's)\s+([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)\b(?=\s*(?:here|from|,|\.|!|$|-))"
    ),
    re.compile(r"^([A-Z][a-z]+)\s+here\b"),
    re.compile(
        r"(?:thanks|thank you|cheers|regards|best|thx|ty)[,!.]?\s*\n?\s*-?\s*([A-Z][a-z]+)\s*[.!]?\s*$",
        re.IGNORECASE,
    ),
    re.compile(r"\n\s*-\s*([A-Z][a-z]+)\s*$|\s-\s?([A-Z][a-z]+)\s*$"),
]


def extract_name(text: str) -> str | None:
    """A name the customer gives ('my name is', 'this is', a sign-off), never a guessed word."""
    for pattern in _NAME_PATTERNS:
        m = pattern.search(text.strip())
        if m:
            name = next(g for g in m.groups() if g)
            if name.split()[0].lower() not in _NOT_NAMES and name.lower() not in {"stop", "me", "us"}:
                return name
    return None


_COMPANY_SUFFIX = re.compile(
    r"\b((?:[A-Z][\w'&.-]*\s+){0,4}?[A-Z][\w'&.-]*\s+(?:&\s+[A-Z]\w*\s+)?"
    r"(?:LLC|Inc\.?|Ltd\.?|Corp\.?|Co\.|GmbH|Group|Company|Apartments|Properties|Property Mgmt|Labs|Cafe|Dental|"
    r"Holdings|Partners|Associates|Sons))(?=\W|$)"
)
_COMPANY_LEAD = re.compile(
    r"\b(?:I run|I own|we run|on behalf of|I work for|I'm with|I am with|calling from|writing from|from)\s+"
    r"((?:[A-Z][\w'&-]*)(?:\s+(?:&\s+)?[A-Z][\w'&-]*){0,3})"
)


def extract_company(text: str) -> str | None:
    """A company named with a legal or trade suffix, or introduced with 'I run' / 'on behalf of'."""
    m = _COMPANY_SUFFIX.search(text)
    if m:
        return re.sub(r"^(?:We|Our|I|At|From|For)\s+", "", m.group(1)).strip()
    m = _COMPANY_LEAD.search(text)
    if m and m.group(1).split()[0] not in {"Google", "Facebook", "Instagram", "Yelp", "I", "Monday"}:
        return m.group(1).strip()
    return None


def extract_all(
    text: str, business: Business, *, with_refund: bool = True, now: datetime | date | None = None
) -> Extracted:
    """All fields at once; refund_amount only when the message is about money back or a charge;
    requested_time only for a time still to come (read at `now`)."""
    amounts = extract_money(text, business.currency) if with_refund else []
    return Extracted(
        refund_amount=amounts[0] if amounts else None,
        order_ref=extract_order_ref(text),
        requested_time=extract_requested_time(text, now),
        service=extract_service(text, business),
        name=extract_name(text),
        company=extract_company(text),
    )
