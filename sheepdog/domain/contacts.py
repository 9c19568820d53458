"""Identity: one person, however many channels they use. Pure functions, no I/O."""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email

_REFERRAL = re.compile(
    r"\b(?:(?P<who>[A-Z][a-z]+(?: [A-Z][a-z]+)?) (?:sent|referred|recommended) me"
    r"|referred (?:by|from) (?P<who2>[A-Z][a-z]+(?: [A-Z][a-z]+)?)"
    r"|(?:my )?(?:friend|neighbou?r|colleague|sister|brother|mom|dad) (?P<who3>[A-Z][a-z]+)"
    r" (?:recommended|suggested|said))",
)


def normalize_email(value: str | None) -> str | None:
    """Lower-cased, syntax-checked address, or None when it is not an address."""
    if not value:
        return None
    value = value.strip().strip("<>").strip()
    try:
        info = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return None
    return info.normalized.lower()


def normalize_phone(value: str | None, region: str) -> str | None:
    """E.164 (+15125550142) with the business's country as the default region, or None."""
    if not value:
        return None
    try:
        parsed = phonenumbers.parse(value.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def find_referral(text: str) -> str | None:
    """'Maria sent me', 'referred by John Smith' → the referrer's name."""
    m = _REFERRAL.search(text or "")
    if not m:
        return None
    return m.group("who") or m.group("who2") or m.group("who3")


def identity_keys(email: str | None, phone: str | None, handles: dict[str, str]) -> list[tuple[str, str]]:
    """Every (kind, value) that identifies this person; used to find and merge contacts."""
    keys: list[tuple[str, str]] = []
    if email:
        keys.append(("email", email))
    if phone:
        keys.append(("phone", phone))
    keys.extend((kind, value) for kind, value in handles.items() if value)
    return keys
