"""Identity normalisation: lower-cased email, E.164 phones in the business's region, referrals."""

from __future__ import annotations

import pytest

from sheepdog.domain.contacts import find_referral, normalize_email, normalize_phone


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("(512) 555-0142", "US", "+15125550142"),
        ("+1 512 555 0142", "DE", "+15125550142"),
        ("0151 23456789", "DE", "+4915123456789"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("not a phone", "US", None),
        ("", "US", None),
    ],
)
def test_phone_to_e164(raw: str, region: str, e164: str | None) -> None:
    assert normalize_phone(raw, region) == e164


def test_email_is_lower_cased_and_checked() -> None:
    assert normalize_email("  <Jane.Doe@Example.COM> ") == "jane.doe@example.com"
    assert normalize_email("nobody") is None
    assert normalize_email(None) is None


@pytest.mark.parametrize(
    ("text", "who"),
    [
        ("Hi! Maria sent me your way, we need a new AC", "Maria"),
        ("I was referred by John Smith for the duct cleaning", "John Smith"),
        ("My neighbour Priya recommended you", "Priya"),
        ("Do you install heat pumps?", None),
    ],
)
def test_referrals_are_recognised(text: str, who: str | None) -> None:
    assert find_referral(text) == who
