"""Twilio SMS/MMS: real-shaped form bodies, X-Twilio-Signature, carrier keywords, TwiML, sending."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from sheepdog.channels.base import Outbound
from sheepdog.channels.sms_twilio import TwilioSmsParser, TwilioSmsSender, carrier_keyword, help_line
from sheepdog.domain.models import Attachment, Channel
from sheepdog.errors import PermanentSendError, TransientSendError, UncertainSendError
from tests.channels.helpers import check_event, expect_refused, load, parse_or_refuse, raw

TOKEN = "twilio-test-auth-token"
URL = "https://bot.example.com/hooks/twilio/sms"
HELP = help_line("Brightside Heating & Cooling", "+1 512 555 0100", "hello@brightside.example", None)
FORM = "application/x-www-form-urlencoded"


def signed(body: bytes, *, url: str = URL, token: str = TOKEN, signature: str | None = None) -> Any:
    params = dict(parse_qsl(body.decode(), keep_blank_values=True))
    sig = signature if signature is not None else RequestValidator(token).compute_signature(url, params)
    headers = {"X-Twilio-Signature": sig} if sig else {}
    return raw(body, url=url, headers=headers, content_type=FORM)


@pytest.fixture
def parser() -> TwilioSmsParser:
    return TwilioSmsParser(TOKEN, HELP)


def test_text_message(parser: TwilioSmsParser) -> None:
    msg = check_event(
        parser,
        signed(load("twilio", "sms__text.txt")),
        channel=Channel.SMS,
        text="Ahoy!",
        sender_phone="+11234567890",
        provider_message_id="SM0000000000000000000000000000001",
        opt_in=None,
        auto_reply=None,
        attachments=(),
    )
    assert msg.fields["to"] == "+12345678901"


def test_mms_media_become_attachments(parser: TwilioSmsParser) -> None:
    msg = check_event(parser, signed(load("twilio", "sms__mms_two_images.txt")))
    assert [a.content_type for a in msg.attachments] == ["image/jpeg", "image/png"]
    assert all(isinstance(a, Attachment) and a.url and "/Media/ME" in a.url for a in msg.attachments)


@pytest.mark.parametrize(
    ("fixture", "opt_in", "auto_reply"),
    [
        ("sms__stop.txt", False, None),
        ("sms__stop_lowercase_padded.txt", False, None),
        ("sms__start.txt", True, None),
        ("sms__unstop.txt", True, None),
        ("sms__help.txt", None, HELP),
        ("sms__stop_in_sentence.txt", None, None),
    ],
)
def test_carrier_keywords(
    parser: TwilioSmsParser, fixture: str, opt_in: bool | None, auto_reply: str | None
) -> None:
    check_event(parser, signed(load("twilio", fixture)), opt_in=opt_in, auto_reply=auto_reply)


@pytest.mark.parametrize(
    "word", ["STOP", "stopall", "Unsubscribe", "cancel", "END", "quit", " Stop! ", "STOP."]
)
def test_every_opt_out_keyword_matches_like_a_carrier(word: str) -> None:
    assert carrier_keyword(word) in {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}


@pytest.mark.parametrize("text", ["stop by tomorrow", "please cancel my visit", "the end", "STOPS", ""])
def test_keyword_must_be_the_whole_message(text: str) -> None:
    assert carrier_keyword(text) is None


def test_help_line_names_business_and_stop() -> None:
    assert "Brightside" in HELP and "+1 512 555 0100" in HELP and "STOP" in HELP


# -- signatures ----------------------------------------------------------------------------


def test_twilio_published_vector_is_accepted() -> None:
    """Twilio's own example (auth token 12345) validates through our parser, byte for byte."""
    vector = json.loads(load("twilio", "signature__request_validator_vector.json"))
    body = urlencode(vector["params"]).encode()
    request = raw(
        body, url=vector["url"], headers={"X-Twilio-Signature": vector["signature"]}, content_type=FORM
    )
    # a voice-call webhook (no MessageSid): the signature passes, then it is refused as not an SMS
    err = expect_refused(TwilioSmsParser(vector["auth_token"], HELP), request, 422)
    assert "MessageSid" in str(err)
    tampered = body.replace(b"1234", b"9999")
    request = raw(
        tampered, url=vector["url"], headers={"X-Twilio-Signature": vector["signature"]}, content_type=FORM
    )
    expect_refused(TwilioSmsParser(vector["auth_token"], HELP), request, 401)


def test_signature_wrong_missing_other_url(parser: TwilioSmsParser) -> None:
    body = load("twilio", "sms__text.txt")
    expect_refused(parser, signed(body, signature="AAAAAAAAAAAAAAAAAAAAAAAAAAA="), 401)
    expect_refused(parser, signed(body, signature=""), 401)
    expect_refused(parser, signed(body, token="another-accounts-token"), 401)
    wrong_url = signed(body, url="https://attacker.example/hooks/twilio/sms")
    expect_refused(parser, raw(body, url=URL, headers=wrong_url.headers, content_type=FORM), 401)


def test_replay_is_not_a_timestamp_matter_but_dedup_by_sid(parser: TwilioSmsParser) -> None:
    """Twilio signs no timestamp: a replayed request parses to the same MessageSid, which stores once."""
    request = signed(load("twilio", "sms__text.txt"))
    assert parser.parse(request)[0].provider_message_id == parser.parse(request)[0].provider_message_id


def test_wrong_content_type_is_415(parser: TwilioSmsParser) -> None:
    expect_refused(parser, raw(b"{}", url=URL, headers={"X-Twilio-Signature": "x"}), 415)


# -- TwiML -------------------------------------------------------------------------------------


def test_twiml_empty_and_with_message(parser: TwilioSmsParser) -> None:
    empty = parser.reply(None)
    root = ET.fromstring(empty.body)
    assert empty.status == 200 and empty.content_type == "application/xml"
    assert root.tag == "Response" and list(root) == []
    answer = ET.fromstring(parser.reply("Brightside: call us <now> & more").body)
    assert [m.tag for m in answer] == ["Message"] and answer[0].text == "Brightside: call us <now> & more"


# -- property-based: never anything but a 4xx ----------------------------------------------------

REAL = [load("twilio", n) for n in ("sms__text.txt", "sms__mms_two_images.txt", "sms__help.txt")]


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    body=st.binary(max_size=2000),
    signature=st.text(max_size=40),
    ctype=st.sampled_from([FORM, "", "text/xml"]),
)
def test_arbitrary_bytes_never_raise(body: bytes, signature: str, ctype: str) -> None:
    parser = TwilioSmsParser(TOKEN, HELP)
    parse_or_refuse(parser, raw(body, url=URL, headers={"X-Twilio-Signature": signature}, content_type=ctype))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    base=st.sampled_from(REAL),
    cut=st.integers(min_value=0, max_value=600),
    junk=st.binary(max_size=30),
    extra=st.dictionaries(st.text(max_size=12), st.text(max_size=30), max_size=4),
)
def test_mutated_real_payloads_signed_or_not_never_raise(
    base: bytes, cut: int, junk: bytes, extra: dict[str, str]
) -> None:
    parser = TwilioSmsParser(TOKEN, HELP)
    mutated = base[:cut] + junk + base[cut:]
    parse_or_refuse(parser, raw(mutated, url=URL, headers={"X-Twilio-Signature": "x"}, content_type=FORM))
    try:
        mutated.decode()
    except UnicodeDecodeError:
        return
    # correctly signed mutations still parse or are refused with a 4xx, never anything else
    body = mutated + (b"&" + urlencode(extra).encode() if extra else b"")
    parse_or_refuse(parser, signed(body))


# -- sending: the twilio SDK against a local server that answers like Twilio -------------------


@dataclass
class FakeTwilio:
    requests: list[dict[str, Any]] = field(default_factory=list)
    answers: list[tuple[int, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    delay_s: float = 0.0


@pytest.fixture
async def fake_twilio(aiohttp_server: Any) -> AsyncIterator[tuple[FakeTwilio, str]]:
    state = FakeTwilio()

    async def messages(request: web.Request) -> web.Response:
        import asyncio

        form = dict(await request.post())
        state.requests.append(
            {"path": request.path, "form": form, "auth": request.headers.get("Authorization")}
        )
        if state.delay_s:
            await asyncio.sleep(state.delay_s)
        if state.answers:
            status, payload, headers = state.answers.pop(0)
            return web.json_response(payload, status=status, headers=headers)
        sid = f"SM{len(state.requests):032d}"
        return web.json_response(
            {"sid": sid, "status": "queued", "to": form["To"], "from": form["From"], "body": form["Body"]},
            status=201,
        )

    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", messages)
    server = await aiohttp_server(app)
    yield state, str(server.make_url(""))


def _sender(base: str, timeout_s: float = 5.0) -> TwilioSmsSender:
    return TwilioSmsSender("AC" + "0" * 32, TOKEN, "+15125550100", api_base_url=base, timeout_s=timeout_s)


def _out(to: str | None = "+15125550142") -> Outbound:
    return Outbound(outbox_id=1, channel=Channel.SMS, body="Hi Sam, Brightside here.", to_phone=to)


async def test_send_posts_once_and_returns_sid(fake_twilio: tuple[FakeTwilio, str]) -> None:
    state, base = fake_twilio
    sid = await _sender(base).send(_out())
    assert sid == "SM" + "1".zfill(32)
    assert len(state.requests) == 1
    req = state.requests[0]
    assert req["path"] == f"/2010-04-01/Accounts/AC{'0' * 32}/Messages.json"
    assert req["form"] == {"To": "+15125550142", "From": "+15125550100", "Body": "Hi Sam, Brightside here."}
    assert req["auth"] and req["auth"].startswith("Basic ")


async def test_429_is_transient_with_retry_after(fake_twilio: tuple[FakeTwilio, str]) -> None:
    state, base = fake_twilio
    state.answers.append(
        (429, {"code": 20429, "message": "Too Many Requests", "status": 429}, {"Retry-After": "7"})
    )
    with pytest.raises(TransientSendError) as info:
        await _sender(base).send(_out())
    assert info.value.retry_after_s == 7.0


async def test_5xx_is_transient(fake_twilio: tuple[FakeTwilio, str]) -> None:
    state, base = fake_twilio
    state.answers.append((503, {"code": 20503, "message": "Service Unavailable", "status": 503}, {}))
    with pytest.raises(TransientSendError):
        await _sender(base).send(_out())


async def test_4xx_is_permanent(fake_twilio: tuple[FakeTwilio, str]) -> None:
    state, base = fake_twilio
    state.answers.append(
        (400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400}, {})
    )
    with pytest.raises(PermanentSendError, match="21610"):
        await _sender(base).send(_out())


async def test_a_timeout_is_uncertain_and_a_refused_connection_transient(
    fake_twilio: tuple[FakeTwilio, str],
) -> None:
    """A POST that timed out may have been taken by Twilio (only the answer was lost): never
    retried blindly. A connection refused never reached Twilio: retried."""
    state, base = fake_twilio
    state.delay_s = 2.0
    with pytest.raises(UncertainSendError):
        await _sender(base, timeout_s=0.3).send(_out())
    with pytest.raises(TransientSendError):
        await _sender("http://127.0.0.1:9", timeout_s=2).send(_out())


async def test_no_phone_is_permanent() -> None:
    with pytest.raises(PermanentSendError):
        await _sender("http://127.0.0.1:9").send(_out(to=None))


def test_a_body_captured_from_twilio_parses(parser: TwilioSmsParser) -> None:
    """The one inbound body we have exactly as Twilio sent it (see SOURCES.md)."""
    msg = check_event(
        parser,
        signed(load("twilio", "sms__captured_request.txt")),
        channel=Channel.SMS,
        text="twilio-go testing!",
        sender_phone="+19253920364",
        provider_message_id="SM1521fa559fb923c1ed64f56cd1bed8ef",
        opt_in=None,
        attachments=(),
    )
    assert msg.fields["to"] == "+19253920364"
