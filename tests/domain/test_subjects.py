"""The Subject of every email Sheepdog sends: an answer keeps the customer's subject, as a person's
reply would (mail clients thread by it); a first email to a form or SMS lead gets one the business
would write."""

from __future__ import annotations

import pytest

from sheepdog.domain.threads import email_subject, normalized_subject, opening_subject, reply_subject

BIZ = "Brightside Heating & Cooling"


@pytest.mark.parametrize(
    ("customer", "expected"),
    [
        ("AC not cooling", "Re: AC not cooling"),
        ("Re: AC not cooling", "Re: AC not cooling"),
        ("RE: AC not cooling", "Re: AC not cooling"),
        ("Re: Re: RE:AC not cooling", "Re: AC not cooling"),
        ("Re[2]: AC not cooling", "Re: AC not cooling"),
        ("AW: Angebot Wärmepumpe", "Re: Angebot Wärmepumpe"),
        ("Fwd: quote from another company", "Re: Fwd: quote from another company"),
        ("Re: Fwd: quote", "Re: Fwd: quote"),
        ("  AC not\r\n cooling  ", "Re: AC not cooling"),
        ("エアコンが冷えない", "Re: エアコンが冷えない"),
        ("Return visit", "Re: Return visit"),  # a word starting with "re" is not a prefix
    ],
)
def test_an_answer_keeps_the_customers_subject(customer: str, expected: str) -> None:
    assert email_subject(customer, BIZ, proposed="Re: AC repair - Brightside Heating & Cooling") == expected
    assert reply_subject(customer) == expected
    assert normalized_subject(expected).endswith(normalized_subject(customer))  # still threads


@pytest.mark.parametrize("customer", [None, "", "   ", "Re:", "RE:  "])
def test_no_customer_subject_takes_the_proposal_or_thanks(customer: str | None) -> None:
    assert email_subject(customer, BIZ) == "Thanks for contacting Brightside Heating & Cooling"
    proposal = "Your heat pump installation request - Brightside Heating & Cooling"
    assert email_subject(customer, BIZ, proposed=proposal) == proposal
    # a first email never answers nothing
    assert email_subject(customer, BIZ, proposed="Re: AC repair - Brightside") == "AC repair - Brightside"


def test_opening_subject_reads_like_the_business_wrote_it() -> None:
    assert opening_subject(BIZ) == "Thanks for contacting Brightside Heating & Cooling"
    assert opening_subject(BIZ, "Heat pump installation") == (
        "Your heat pump installation request - Brightside Heating & Cooling"
    )
    assert opening_subject(BIZ, "AC repair") == "Your AC repair request - Brightside Heating & Cooling"
    assert opening_subject(BIZ, "Maintenance") == "Your maintenance request - Brightside Heating & Cooling"


def test_a_huge_subject_is_clipped_to_one_line() -> None:
    subject = email_subject("Re: " + "very long " * 100 + "\nBcc: x@evil.example", BIZ)
    assert subject.startswith("Re: very long") and len(subject) <= 200 and "\n" not in subject
