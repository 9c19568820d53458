"""Extraction: amounts in many spellings, references, requested times, service, name, company."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sheepdog.domain.extract import (
    extract_company,
    extract_money,
    extract_name,
    extract_order_ref,
    extract_requested_time,
    extract_service,
    parse_number,
)
from sheepdog.domain.models import Business, Money


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I want my $120 deposit back", Money(Decimal("120"), "USD")),
        ("refund €45,50 please", Money(Decimal("45.50"), "EUR")),
        ("you owe me a hundred bucks", Money(Decimal("100"), "USD")),
        ("charged $1,200 instead of $120", Money(Decimal("1200"), "USD")),
        ("two hundred and fifty dollars is a lot", Money(Decimal("250"), "USD")),
        ("£12.50 for a filter?", Money(Decimal("12.50"), "GBP")),
        ("75 euros back please", Money(Decimal("75"), "EUR")),
        ("a $2k deposit", Money(Decimal("2000"), "USD")),
        ("1.200,50 € were taken", Money(Decimal("1200.50"), "EUR")),
        ("fifty quid", Money(Decimal("50"), "GBP")),
        ("refund my $4500 deposit", Money(Decimal("4500"), "USD")),  # not $450: never half a number
        ("USD 12000 was charged", Money(Decimal("12000"), "USD")),
    ],
)
def test_money(text: str, expected: Money) -> None:
    assert extract_money(text)[0] == expected


def test_no_money_in_times_or_refs() -> None:
    assert extract_money("Friday at 10, order 99812, 3 bedrooms") == []


@pytest.mark.parametrize(
    ("raw", "value"),
    [("1,200", "1200"), ("45,50", "45.50"), ("19.99", "19.99"), ("1.200", "1200"), ("1.200,50", "1200.50")],
)
def test_parse_number(raw: str, value: str) -> None:
    assert parse_number(raw) == Decimal(value)


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("Any update on order 99812?", "99812"),
        ("#A1234 hasn't arrived", "A1234"),
        ("move BK-2291 please", "BK-2291"),
        ("ref 7781-X", "7781-X"),
        ("order no. 4471", "4471"),
        ("invoice INV-4410 is wrong", "INV-4410"),
        ("Can I come on the 16th?", None),
        ("I'm #1 fan", None),
    ],
)
def test_order_ref(text: str, ref: str | None) -> None:
    assert extract_order_ref(text) == ref


@pytest.mark.parametrize(
    ("text", "when"),
    [
        ("Can I come Friday at 10?", "Friday at 10"),
        ("Move my appointment to the 16th", "the 16th"),
        ("tomorrow 2pm?", "tomorrow 2pm"),
        ("next Tuesday morning works", "next Tuesday morning"),
        ("March 3 at 4:15pm", "March 3 at 4:15pm"),
        ("how much is it", None),
    ],
)
def test_requested_time(text: str, when: str | None) -> None:
    assert extract_requested_time(text) == when


@pytest.mark.parametrize(
    ("text", "service"),
    [
        ("my AC is not cooling", "AC repair"),
        ("need a mini-split in the attic", "Heat pump installation"),
        ("furnace tune up before winter", "Furnace tune-up"),
        ("ducts are dusty", "Duct cleaning"),
        ("Can you come Friday?", None),
        ("I have a cactus", None),
    ],
)
def test_service(business: Business, text: str, service: str | None) -> None:
    assert extract_service(text, business) == service


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("My name is Priya Shah and I need help", "Priya Shah"),
        ("Hi, this is Sam from Acme Corp", "Sam"),
        ("Tom here, quick question", "Tom"),
        ("Need a quote. Thanks, Maria", "Maria"),
        ("I'm interested in a heat pump", None),
        ("I'm Looking for help", None),
    ],
)
def test_name(text: str, name: str | None) -> None:
    assert extract_name(text) == name


@pytest.mark.parametrize(
    ("text", "company"),
    [
        ("this is Sam from Acme Corp", "Acme Corp"),
        ("I run Blue Fox Cafe downtown", "Blue Fox Cafe"),
        ("We manage Riverside Apartments", "Riverside Apartments"),
        ("on behalf of Hartley & Sons", "Hartley & Sons"),
        ("found you on Google", None),
    ],
)
def test_company(text: str, company: str | None) -> None:
    assert extract_company(text) == company


def test_past_dates_are_not_requested_times() -> None:
    assert extract_requested_time("It's been blowing warm air since Sunday") is None
    assert extract_requested_time("Broken since Sunday, can you come Tuesday at 3pm?") == "Tuesday at 3pm"
