"""Email threads: keys that survive clients which drop In-Reply-To (the subject without reply
prefixes), and the subject of every email we send (one rule, used by the brain and the handlers)."""

from __future__ import annotations

import re

_REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|aw|wg|sv|vs|tr)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


def normalized_subject(subject: str | None) -> str:
    """Subject without Re:/Fwd:/AW: prefixes, lower-cased: the thread fallback key with the sender."""
    return re.sub(r"\s+", " ", _REPLY_PREFIX.sub("", subject or "")).strip().lower()


def is_reply_subject(subject: str | None) -> bool:
    """'Re: quote' or 'AW: Angebot' — the sender says this answers something."""
    return bool(_REPLY_PREFIX.match(subject or ""))


# Subjects of the mail we send. Mail clients (Gmail among them) group a thread by subject as well
# as by In-Reply-To/References, so an answer keeps the customer's subject, as a person's would.

_ANSWER_PREFIX = re.compile(r"^\s*((re|aw|sv|vs|antw)\s*(\[\d+\]|\(\d+\))?\s*:\s*)+", re.IGNORECASE)
MAX_SUBJECT_CHARS = 200


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _clip(text: str) -> str:
    return text if len(text) <= MAX_SUBJECT_CHARS else text[: MAX_SUBJECT_CHARS - 1].rstrip() + "…"


def reply_subject(subject: str) -> str:
    """'AC not cooling' → 'Re: AC not cooling'; 'Re: …', 'RE: …', 'Re: Re: …', 'AW: …' → one 'Re: ';
    'Fwd: x' → 'Re: Fwd: x' (what a mail client writes when answering a forward)."""
    rest = _ANSWER_PREFIX.sub("", _one_line(subject))
    return _clip(f"Re: {rest}")


def opening_subject(business_name: str, service: str | None = None) -> str:
    """The subject of a first email to a lead who has written no subject (a form, an SMS, a chat):
    what the business would write itself, never a 'Re:' to nothing."""
    service = _one_line(service or "")
    if service:
        first, _, rest = service.partition(" ")
        first = first if first[1:2].isupper() else first.lower()  # 'Heat pump …' → 'heat pump …'; 'AC' stays
        return _clip(f"Your {first} {rest}".rstrip() + f" request - {_one_line(business_name)}")
    return _clip(f"Thanks for contacting {_one_line(business_name)}")


def email_subject(customer_subject: str | None, business_name: str, proposed: str | None = None) -> str:
    """The one rule for the Subject of an email to a lead.

    The customer wrote a subject (the last one they used) → 'Re: ' + it, whatever the brain proposed.
    Otherwise the brain's proposal, if any (without a 'Re:' that would answer nothing), else
    'Thanks for contacting <business>'."""
    if customer_subject and _ANSWER_PREFIX.sub("", _one_line(customer_subject)):
        return reply_subject(customer_subject)
    own = _ANSWER_PREFIX.sub("", _one_line(proposed or ""))
    return _clip(own) if own else opening_subject(business_name)
