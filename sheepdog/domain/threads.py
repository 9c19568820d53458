"""Email thread keys that survive clients which drop In-Reply-To: the subject without reply prefixes."""

from __future__ import annotations

import re

_REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|aw|wg|sv|vs|tr)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


def normalized_subject(subject: str | None) -> str:
    """Subject without Re:/Fwd:/AW: prefixes, lower-cased: the thread fallback key with the sender."""
    return re.sub(r"\s+", " ", _REPLY_PREFIX.sub("", subject or "")).strip().lower()


def is_reply_subject(subject: str | None) -> bool:
    """'Re: quote' or 'AW: Angebot' — the sender says this answers something."""
    return bool(_REPLY_PREFIX.match(subject or ""))
