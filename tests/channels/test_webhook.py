"""Generic JSON webhook: per-source HMAC-SHA256 with a timestamp, field mappings, real lead payloads."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sheepdog.channels.webhook import WebhookParser, resolve, sign
from sheepdog.domain.models import Channel
from tests.channels.helpers import check_event, expect_refused, load, parse_or_refuse, raw

NOW = 1_760_000_000
SOURCES: dict[str, tuple[str, dict[str, str]]] = {
    "facebook": (
        "fb-secret",
        {
            "name": "field_data[name=full_name].values.0",
            "email": "field_data[name=email].values.0",
            "phone": "field_data[name=phone_number].values.0",
            "service": "field_data[name=car_make].values.0",
            "external_id": "id",
        },
    ),
    "google": (
        "g-secret",
        {
            "name": "user_column_data[column_id=FULL_NAME].string_value",
            "email": "user_column_data[column_id=EMAIL].string_value",
            "phone": "user_column_data[column_id=PHONE_NUMBER].string_value",
            "external_id": "lead_id",
        },
    ),
}


@pytest.fixture
def parser() -> WebhookParser:
    return WebhookParser(SOURCES, clock=lambda: NOW)


def post(
    source: str, body: bytes, *, ts: int = NOW, secret: str | None = None, signature: str | None = None
) -> Any:
    key = secret if secret is not None else SOURCES.get(source, ("x", {}))[0]
    headers = {"X-Sheepdog-Timestamp": str(ts), "X-Sheepdog-Signature": signature or sign(key, ts, body)}
    return raw(body, headers=headers, path_params={"source": source})


def test_facebook_lead(parser: WebhookParser) -> None:
    msg = check_event(
        parser,
        post("facebook", load("webhook", "facebook__lead.json")),
        channel=Channel.WEBHOOK,
        sender_name="Joe Example",
        sender_email="joe@example.com",
        sender_phone=None,
        sender_handle="facebook:<LEAD_ID>",
        source="facebook",
    )
    assert msg.fields == {"service": "Honda"}
    assert msg.provider_message_id and msg.provider_message_id.startswith("facebook:")


def test_google_lead_form(parser: WebhookParser) -> None:
    check_event(
        parser,
        post("google", load("webhook", "google__lead_form.json")),
        sender_name="FirstName LastName",
        sender_email="test@example.com",
        sender_phone="+16505550123",
        source="google",
    )


def test_same_delivery_twice_has_the_same_dedup_key(parser: WebhookParser) -> None:
    body = load("webhook", "google__lead_form.json")
    assert (
        parser.parse(post("google", body))[0].provider_message_id
        == parser.parse(post("google", body))[0].provider_message_id
    )


def test_notification_without_contact_is_422(parser: WebhookParser) -> None:
    err = expect_refused(
        parser, post("facebook", load("webhook", "facebook__leadgen_notification.json")), 422
    )
    assert "no sender" in str(err)


def test_unknown_source_is_404(parser: WebhookParser) -> None:
    expect_refused(parser, post("myspace", load("webhook", "facebook__lead.json"), secret="x"), 404)


def test_signature_valid_wrong_missing_replayed(parser: WebhookParser) -> None:
    body = load("webhook", "facebook__lead.json")
    assert parser.parse(post("facebook", body))
    expect_refused(parser, post("facebook", body, secret="g-secret"), 401)  # another source's secret
    expect_refused(parser, post("facebook", body, signature="sha256=" + "0" * 64), 401)
    expect_refused(parser, raw(body, path_params={"source": "facebook"}), 401)
    old = NOW - 301
    expect_refused(parser, post("facebook", body, ts=old), 401)  # correctly signed, 5 min + 1 s old
    assert parser.parse(post("facebook", body, ts=NOW - 299))
    # a captured signature re-sent with a fresh timestamp no longer matches
    captured = sign("fb-secret", old, body)
    expect_refused(parser, post("facebook", body, ts=NOW, signature=captured), 401)


def test_unknown_mapping_keys_are_a_config_error() -> None:
    with pytest.raises(ValueError, match="unknown mapping keys"):
        WebhookParser({"x": ("s", {"emial": "email"})})


def test_resolve_paths() -> None:
    data = json.loads(load("webhook", "facebook__lead.json"))
    assert resolve(data, "field_data[name=email].values.0") == "joe@example.com"
    assert resolve(data, "field_data.1.name") == "full_name"
    assert resolve(data, "field_data[name=nope].values.0") is None
    assert resolve(data, "id.deeper") is None
    assert resolve([1, 2], "5") is None


REAL = [load("webhook", n) for n in ("facebook__lead.json", "google__lead_form.json")]


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    body=st.binary(max_size=2000),
    source=st.sampled_from(["facebook", "google", "other"]),
    signed_ok=st.booleans(),
)
def test_arbitrary_bytes_never_raise(body: bytes, source: str, signed_ok: bool) -> None:
    parser = WebhookParser(SOURCES, clock=lambda: NOW)
    request = post(source, body) if signed_ok else raw(body, path_params={"source": source})
    parse_or_refuse(parser, request)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    base=st.sampled_from(REAL), cut=st.integers(0, 900), junk=st.binary(max_size=20), ts=st.text(max_size=12)
)
def test_mutated_signed_payloads_never_raise(base: bytes, cut: int, junk: bytes, ts: str) -> None:
    parser = WebhookParser(SOURCES, clock=lambda: NOW)
    body = base[:cut] + junk + base[cut:]
    parse_or_refuse(parser, post("google", body))
    bad_ts = raw(
        body,
        headers={"X-Sheepdog-Timestamp": ts, "X-Sheepdog-Signature": sign("g-secret", ts, body)},
        path_params={"source": "google"},
    )
    parse_or_refuse(parser, bad_ts)


def test_clock_default_is_real_time() -> None:
    parser = WebhookParser(SOURCES)
    body = load("webhook", "google__lead_form.json")
    assert parser.parse(post("google", body, ts=int(time.time())))
