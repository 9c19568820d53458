"""`make fuzz`: hypothesis over every inbound parser and the config loader (not part of `make
test`; the file name keeps pytest from collecting it there). A parser given anything either
returns messages or raises BadInputError (a 4xx with a message); a config either loads or raises
ConfigError. Any other exception is a bug. Bodies are garbage, or real stored payloads with their
values swapped, signed with the test secrets so they reach the parsing code behind the signature."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from sheepdog.channels.email import EmailParser
from sheepdog.channels.sms_twilio import TwilioSmsParser
from sheepdog.channels.telegram_customer import TelegramCustomerParser
from sheepdog.channels.webform import WebformParser
from sheepdog.channels.webhook import WebhookParser, sign
from sheepdog.config import load_settings
from sheepdog.domain.models import RawRequest
from sheepdog.errors import BadInputError, ConfigError
from tests.conftest import FIXTURES
from tests.reliability.strategies import EDGE_TEXT, JSON_VALUE, RAW_BODIES, mutated

EXAMPLES = int(os.environ.get("SHEEPDOG_FUZZ_EXAMPLES", "300"))
RESULTS = os.environ.get("SHEEPDOG_FUZZ_RESULTS")
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
TW_TOKEN, TG_SECRET, FB_SECRET = "tw-token", "tg-secret", "fb-secret"
URL = "http://127.0.0.1:8080"


@pytest.fixture(scope="module")
def tally() -> Iterator[Counter[str]]:
    counts: Counter[str] = Counter()
    yield counts
    if RESULTS:
        path = Path(RESULTS)
        old = json.loads(path.read_text()) if path.exists() else {}
        old.update(counts)
        path.write_text(json.dumps(old, indent=2, sort_keys=True))


def _check(tally: Counter[str], name: str, parse: Callable[[], Any]) -> None:
    tally[f"{name}.cases"] += 1
    try:
        parse()
    except BadInputError as exc:
        tally[f"{name}.refused"] += 1
        assert 400 <= exc.status < 500
    except ConfigError:
        tally[f"{name}.refused"] += 1


def _raw(path: str, body: bytes, ctype: str, headers: dict[str, str] | None = None, **kw: Any) -> RawRequest:
    return RawRequest(
        "POST", URL + path, {k.lower(): v for k, v in (headers or {}).items()}, body, content_type=ctype, **kw
    )


CTYPES = st.sampled_from(
    [
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "text/plain",
        "message/rfc822",
        "",
    ]
)


def test_webform(tally: Counter[str]) -> None:
    parser = WebformParser()
    fields = st.dictionaries(
        st.sampled_from(["name", "email", "phone", "message", "service", "source", "website_url", "x"]),
        st.one_of(EDGE_TEXT, st.text(max_size=30), st.sampled_from(["sam@example.com", "(512) 555-0100"])),
        max_size=6,
    ).map(lambda d: {"email": "sam@example.com", **d})
    bodies = st.one_of(
        st.tuples(RAW_BODIES, CTYPES),
        st.tuples(
            fields.map(lambda d: urlencode(d).encode("utf-8", "surrogatepass")),
            st.just("application/x-www-form-urlencoded"),
        ),
        st.tuples(
            st.dictionaries(st.text(max_size=10), JSON_VALUE, max_size=4).map(
                lambda d: json.dumps({"email": "sam@example.com", **d}).encode()
            ),
            st.just("application/json"),
        ),
        st.tuples(fields.map(lambda d: json.dumps(d).encode()), st.just("application/json")),
    )

    @FUZZ
    @given(case=bodies)
    def run(case: tuple[bytes, str]) -> None:
        body, ctype = case
        _check(tally, "parser.webform", lambda: parser.parse(_raw("/hooks/form", body, ctype)))

    run()


def test_telegram(tally: Counter[str]) -> None:
    parser = TelegramCustomerParser(TG_SECRET)

    @FUZZ
    @given(body=st.one_of(RAW_BODIES, mutated("telegram").map(lambda d: json.dumps(d).encode())))
    def run(body: bytes) -> None:
        raw = _raw(
            "/hooks/telegram/customer",
            body,
            "application/json",
            {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET},
        )
        _check(tally, "parser.telegram", lambda: parser.parse(raw))

    run()


def test_webhook(tally: Counter[str]) -> None:
    mapping = {
        "name": "field_data[name=full_name].values.0",
        "email": "field_data[name=email].values.0",
        "external_id": "id",
        "text": "message",
    }
    parser = WebhookParser({"facebook": (FB_SECRET, mapping)})

    @FUZZ
    @given(body=st.one_of(RAW_BODIES, mutated("webhook").map(lambda d: json.dumps(d).encode())))
    def run(body: bytes) -> None:
        stamp = str(int(time.time()))
        raw = _raw(
            "/hooks/inbound/facebook",
            body,
            "application/json",
            {"X-Sheepdog-Timestamp": stamp, "X-Sheepdog-Signature": sign(FB_SECRET, stamp, body)},
            path_params={"source": "facebook"},
        )
        _check(tally, "parser.webhook", lambda: parser.parse(raw))

    run()


def _twilio_forms() -> list[dict[str, str]]:
    return [
        dict(parse_qsl(p.read_text(), keep_blank_values=True)) for p in sorted(FIXTURES.glob("twilio/*.txt"))
    ]


def test_twilio_sms(tally: Counter[str]) -> None:
    parser = TwilioSmsParser(TW_TOKEN, "Brightside: call us. Reply STOP to opt out.")
    forms = _twilio_forms()

    @FUZZ
    @given(
        base=st.sampled_from(forms or [{}]),
        changes=st.dictionaries(
            st.sampled_from(
                [
                    "Body",
                    "From",
                    "To",
                    "MessageSid",
                    "NumMedia",
                    "MediaUrl0",
                    "MediaContentType0",
                    "OptOutType",
                    "SmsStatus",
                ]
            ),
            st.one_of(st.text(max_size=40), EDGE_TEXT, st.integers().map(str)),
            max_size=4,
        ),
    )
    def run(base: dict[str, str], changes: dict[str, str]) -> None:
        params = {**base, **changes}
        body = urlencode(params).encode("utf-8", "surrogatepass")
        signature = RequestValidator(TW_TOKEN).compute_signature(URL + "/hooks/twilio/sms", params)
        raw = _raw(
            "/hooks/twilio/sms", body, "application/x-www-form-urlencoded", {"X-Twilio-Signature": signature}
        )
        _check(tally, "parser.twilio_sms", lambda: parser.parse(raw))

    run()


def test_email(tally: Counter[str]) -> None:
    parser = EmailParser()
    stored = [p.read_bytes() for p in sorted(FIXTURES.glob("email/*.eml"))]

    @st.composite
    def mails(draw: st.DrawFn) -> bytes:
        """Headers and a body as bytes, written by hand: EmailMessage would refuse what senders don't."""
        lines = []
        for header in (
            "From",
            "To",
            "Subject",
            "Message-ID",
            "In-Reply-To",
            "Date",
            "Auto-Submitted",
            "Content-Type",
            "Content-Transfer-Encoding",
        ):
            if draw(st.booleans()):
                value = draw(
                    st.one_of(
                        st.text(max_size=60),
                        EDGE_TEXT,
                        st.sampled_from(
                            [
                                "Sam <sam@example.com>",
                                "multipart/mixed; boundary=x",
                                "base64",
                                "text/plain; charset=bogus",
                            ]
                        ),
                    )
                )
                lines.append(f"{header}: {value}".encode("utf-8", "surrogatepass").replace(b"\n", b" "))
        body = draw(
            st.one_of(
                st.binary(max_size=200),
                st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
            )
        )
        return b"\r\n".join(lines) + b"\r\n\r\n" + body

    @FUZZ
    @given(
        body=st.one_of(
            RAW_BODIES,
            mails(),
            st.sampled_from(stored).flatmap(lambda b: st.integers(0, len(b)).map(lambda n: b[:n])),
        )
    )
    def run(body: bytes) -> None:
        _check(tally, "parser.email", lambda: parser.parse(_raw("/hooks/email", body, "message/rfc822")))

    run()


def test_config_loader(tally: Counter[str], tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("cfg")
    keys = st.sampled_from(
        [
            "business",
            "policy",
            "channels",
            "storage",
            "queue",
            "brain",
            "console",
            "slack",
            "followup",
            "demo",
            "nonsense",
        ]
    )

    @FUZZ
    @given(
        doc=st.one_of(
            st.dictionaries(
                keys, st.dictionaries(st.text(min_size=1, max_size=12), JSON_VALUE, max_size=4), max_size=3
            ),
            st.text(max_size=300),
        )
    )
    def run(doc: Any) -> None:
        if isinstance(doc, dict):
            _check(
                tally,
                "config",
                lambda: load_settings(None, environ={}, overrides=json.loads(json.dumps(doc))),
            )
        else:
            path = folder / "sheepdog.toml"
            path.write_text(doc, encoding="utf-8", errors="surrogatepass")
            _check(tally, "config", lambda: load_settings(str(path), environ={}))

    run()
