"""Email parsing over real .eml files: charsets, encoded words, threading headers, bounces, quotes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sheepdog.channels.email import EmailParser, normalized_subject, parse_email_bytes, strip_quoted
from sheepdog.domain.models import Channel
from tests.channels.helpers import FIXTURES, check_event, expect_refused, load, parse_or_refuse, raw

ALL = sorted(p.name for p in (FIXTURES / "email").glob("*.eml"))


def request(name: str, token: str | None = None) -> object:
    return raw(
        load("email", name),
        headers={"X-Sheepdog-Token": token} if token else {},
        content_type="message/rfc822",
    )


def test_at_least_ten_real_files() -> None:
    assert len(ALL) >= 10


@pytest.mark.parametrize("name", ALL)
def test_every_fixture_parses_and_keeps_raw(name: str) -> None:
    msg = parse_email_bytes(load("email", name))
    assert msg.channel == Channel.EMAIL and msg.sender_email and "@" in msg.sender_email
    assert msg.raw == load("email", name)
    assert msg.is_auto == (name.startswith(("bounce__", "auto__")))  # never a lead reply, never answered


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("bounce__multipart_report.eml", "552 5.2.2 E4.12 user MAILBOX FULL"),  # the DSN's Diagnostic-Code
        ("bounce__mailer_daemon.eml", "550 5.1.0 Recipient rejected: <awfawfawfawfawfaw@someserverhere.com>"),
        ("auto__read_receipt_report.eml", None),  # a receipt is no bounce: no reason
    ],
)
def test_a_bounce_carries_the_servers_reason(name: str, reason: str | None) -> None:
    assert parse_email_bytes(load("email", name)).fields.get("bounce_reason") == reason


def test_japanese_iso_2022_jp_subject_and_body() -> None:
    msg = parse_email_bytes(load("email", "message__iso_2022_jp.eml"))
    assert msg.subject == "デコメール"
    assert (
        "謹賀新年" in msg.text and "ここにメッセージを入れてください" in msg.text
    )  # the text part, not the HTML
    assert [a.content_type for a in msg.attachments] == ["image/gif", "image/gif"]


def test_shift_jis_body_and_subject() -> None:
    msg = parse_email_bytes(load("email", "message__shift_jis.eml"))
    assert msg.subject == "デコメ送信テスト" and "デコメール送信テスト" in msg.text


def test_raw_utf8_header_with_byte_order_mark() -> None:
    msg = parse_email_bytes(load("email", "message__raw_utf8_subject.eml"))
    assert msg.subject == "テスト" and msg.sender_email == "test@example.com"
    assert msg.provider_message_id == "<5271A14B.6070701@example.com>"


def test_utf8_encoded_words() -> None:
    msg = parse_email_bytes(load("email", "message__utf8_encoded_subject.eml"))
    assert msg.subject == "Simple text. How are you? Как ты поживаешь?"
    assert "А эта линия по-русски." in msg.text
    sender = parse_email_bytes(load("email", "message__utf8_encoded_from.eml"))
    assert sender.sender_name == "Foo, Bar" and sender.sender_email == "foo.bar@example.com"


def test_reply_threading_headers() -> None:
    msg = parse_email_bytes(load("email", "reply__in_reply_to_references.eml"))
    assert msg.in_reply_to == "<AANLkTinUdYK2NpEiYCKGnCEp_OXKqst_bWNdBVHsfDVh@mail.gmail.com>"
    assert msg.references == (
        "<AANLkTi=1ANR2FzeeQ-vK3-_ty0gUrOsAxMRYkob6CL-c@mail.gmail.com>",
        "<AANLkTinUdYK2NpEiYCKGnCEp_OXKqst_bWNdBVHsfDVh@mail.gmail.com>",
    )
    assert msg.provider_message_id == "<AANLkTikbSvKnE9RjZLNrpupmNMKChv2Kz8qB3HAagmSw@mail.gmail.com>"
    assert msg.fields["normalized_subject"] == "please forward this email to me"


@pytest.mark.parametrize(
    "name", ["reply__original_message_quote.eml", "reply__on_wrote_quote.eml", "reply__sent_from_iphone.eml"]
)
def test_quoted_history_and_signature_stripped_for_triage_only(name: str) -> None:
    msg = parse_email_bytes(load("email", name))
    assert msg.triage_text == "Hello"
    assert len(msg.text) > len("Hello")  # the full body is kept


def test_image_attachment_recorded() -> None:
    msg = parse_email_bytes(load("email", "message__image_attachment.eml"))
    assert [(a.content_type, a.filename) for a in msg.attachments] == [("image/jpeg", "photo.JPG")]
    assert msg.attachments[0].size and msg.attachments[0].size > 1000


def test_strip_quoted_wrapped_attribution() -> None:
    text = (
        "Tuesday works.\n\nOn Mon, 3 Feb 2025 at 09:12, Dana at Brightside <hello@brightside.example>\n"
        "wrote:\n> Hi"
    )
    assert strip_quoted(text) == "Tuesday works."


def test_normalized_subject() -> None:
    assert normalized_subject("RE: Fwd: AW:  Heat   pump quote") == "heat pump quote"


def test_parser_token(tmp_path: Path) -> None:
    parser = EmailParser("mail-token")
    check_event(parser, request("message__text_only.eml", "mail-token"), sender_email="bob@marley.com")
    expect_refused(parser, request("message__text_only.eml", "wrong"), 401)
    expect_refused(parser, request("message__text_only.eml"), 401)


REAL = [load("email", n) for n in ALL[:8]]


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(body=st.binary(max_size=3000))
def test_arbitrary_bytes_never_raise(body: bytes) -> None:
    parse_or_refuse(EmailParser(), raw(body, content_type="message/rfc822"))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    base=st.sampled_from(REAL),
    cut=st.integers(0, 5000),
    junk=st.binary(max_size=40),
    drop=st.integers(0, 200),
)
def test_mutated_real_mail_never_raises(base: bytes, cut: int, junk: bytes, drop: int) -> None:
    body = base[:cut] + junk + base[cut + drop :]
    parse_or_refuse(EmailParser(), raw(body, content_type="message/rfc822"))


def test_a_customer_typed_name_or_subject_can_never_add_a_recipient_or_header() -> None:
    from sheepdog.channels.base import Outbound
    from sheepdog.channels.email import build_email

    out = Outbound(
        1,
        Channel.EMAIL,
        "hi",
        to_email="victim@example.com",
        to_name='a" <attacker@evil.example>, "b\nBcc: x@evil.example',
        subject="Re: hi\nBcc: y@evil.example",
    )
    msg = build_email(out, "hello@brightside.example", "Brightside")
    assert [a.addr_spec for a in msg["To"].addresses] == ["victim@example.com"]
    assert "Bcc" not in msg and "\n" not in str(msg["Subject"])


def test_a_forward_with_no_words_of_its_own_is_read_by_what_it_forwards() -> None:
    forwarded = (
        "---------- Forwarded message ---------\nFrom: Bob <bob@example.com>\nDate: Mon, 2 Nov 2026\n"
        "Subject: AC\nTo: office@example.com\n\nHi, can you quote a new AC unit for us?\n"
    )
    assert strip_quoted(forwarded) == "Hi, can you quote a new AC unit for us?"
    assert strip_quoted("FYI\n" + forwarded) == "FYI"  # their own words come first
