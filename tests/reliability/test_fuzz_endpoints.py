"""Bounded property runs of the two endpoints whose bodies Sheepdog does not parse itself first
(/slack/events, where slack-bolt parses) and the console API, against the real app on a loopback
port: whatever arrives, signed or not, the answer is below 500 and no traceback is logged, and a
real lead sent afterwards is still answered. `make fuzz` runs the same with many more cases
(SHEEPDOG_FUZZ_EXAMPLES) and writes the figures docs/RELIABILITY.md shows."""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from sheepdog.config import load_settings
from sheepdog.storage.tables import Draft, Lead
from tests.bot.conftest import CHANNEL, SECRET
from tests.conftest import TOKEN, fixture_bytes
from tests.reliability.live import LiveServer, slack_sign
from tests.reliability.strategies import JSON_VALUE, RAW_BODIES, slack_body

EXAMPLES = int(os.environ.get("SHEEPDOG_FUZZ_EXAMPLES", "60"))
RESULTS = os.environ.get("SHEEPDOG_FUZZ_RESULTS")  # make fuzz: where to write the counts
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not RESULTS,  # the bounded run in `make test` is the same every time
    suppress_health_check=list(HealthCheck),
    database=None,
)


class Tracebacks(logging.Handler):
    """Every log record that carries a traceback, from any logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.records.append(record)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder: Path = tmp_path_factory.mktemp("fuzz")

    def settings_for(fake: Any) -> Any:
        return load_settings(
            None,
            environ={},
            overrides={
                "storage": {"url": os.environ.get("SHEEPDOG_FUZZ_DB") or f"sqlite:///{folder}/fuzz.db"},
                "console": {"token": TOKEN, "public_url": "http://127.0.0.1:8080"},
                "demo": {"smtp_sink": False},
                "policy": {"first_reply": {"autonomy": "L3"}},
                "slack": {
                    "enabled": True,
                    "bot_token": "xoxb-test",
                    "signing_secret": SECRET,
                    "channel": CHANNEL,
                    "owner_user_id": "UDANA",
                    "api_base_url": fake.base_url + "/api",
                },
            },
        )

    with LiveServer(settings_for) as server:
        yield server


@pytest.fixture(scope="module")
def tally() -> Iterator[Counter[str]]:
    counts: Counter[str] = Counter()
    yield counts
    if RESULTS:
        path = Path(RESULTS)
        old = json.loads(path.read_text()) if path.exists() else {}
        old.update({k: v for k, v in counts.items()})
        path.write_text(json.dumps(old, indent=2, sort_keys=True))


@pytest.fixture
def tracebacks() -> Iterator[Tracebacks]:
    handler = Tracebacks()
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


def _count(tally: Counter[str], name: str, status: int) -> None:
    tally[f"{name}.cases"] += 1
    tally[f"{name}.5xx"] += status >= 500


def test_slack_events_never_answer_5xx(live: LiveServer, tally: Counter[str], tracebacks: Tracebacks) -> None:
    @FUZZ
    @given(body=slack_body(), signed=st.booleans())
    def run(body: tuple[bytes, str], signed: bool) -> None:
        raw, ctype = body
        headers = {"Content-Type": ctype} if ctype else {}
        if signed:
            headers.update(slack_sign(raw))
        resp = live.post("/slack/events", raw, headers)
        _count(tally, "slack_events", resp.status_code)
        assert resp.status_code < 500, (resp.status_code, resp.text, raw[:300])

    run()
    assert not tracebacks.records, [r.getMessage() for r in tracebacks.records][:5]


ACTIONS = st.sampled_from(
    ["approve", "skip", "edit", "claim", "note", "reply", "pause", "resume", "won", "lost", "send", "x"]
)
IDS = st.one_of(
    st.integers(0, 5).map(str),
    st.sampled_from(["-1", "99999999999999999999", "9223372036854775808", "1e3", "%00", "abc", "0x1"]),
)


def test_console_api_never_answers_5xx(live: LiveServer, tally: Counter[str], tracebacks: Tracebacks) -> None:
    live.post(
        "/hooks/form", fixture_bytes("loop", "webform__lead.json"), {"Content-Type": "application/json"}
    )
    live.idle()
    auth = {"Authorization": f"Bearer {TOKEN}"}

    @FUZZ
    @given(
        route=st.sampled_from(["leads", "drafts", "messages", "jobs"]),
        target=IDS,
        action=ACTIONS,
        body=st.one_of(
            RAW_BODIES,
            st.dictionaries(
                st.sampled_from(
                    ["text", "body", "actor", "category", "value", "currency", "reason", "until"]
                ),
                JSON_VALUE,
                max_size=4,
            ).map(lambda d: json.dumps(d).encode()),
        ),
    )
    def run(route: str, target: str, action: str, body: bytes) -> None:
        path = f"/api/messages/{target}/triage" if route == "messages" else f"/api/{route}/{target}/{action}"
        resp = live.post(path, body, {**auth, "Content-Type": "application/json"})
        _count(tally, "console_api", resp.status_code)
        assert resp.status_code < 500, (path, resp.status_code, resp.text, body[:300])
        got = live.get(f"/api/leads/{target}", auth)
        _count(tally, "console_api", got.status_code)
        assert got.status_code < 500, (target, got.status_code, got.text)

    run()
    live.idle()
    assert not tracebacks.records, [r.getMessage() for r in tracebacks.records][:5]


def test_a_lead_sent_after_the_fuzzing_is_still_answered(live: LiveServer) -> None:
    """The canary: after everything above, the next real lead gets its draft."""
    assert live.runtime is not None
    with live.runtime.services.db.session() as s:
        before = s.scalar(select(func.count(Lead.id)))
    form = json.loads(fixture_bytes("loop", "webform__lead.json"))
    form.update(email="canary@example.com", phone="(512) 555-0123", name="Casey Canary")
    body = json.dumps(form).encode()
    assert live.post("/hooks/form", body, {"Content-Type": "application/json"}).status_code == 200
    live.idle()
    with live.runtime.services.db.session() as s:
        assert s.scalar(select(func.count(Lead.id))) == before + 1
        newest = s.scalar(select(func.max(Lead.id)))
        assert s.scalar(select(func.count(Draft.id)).where(Draft.lead_id == newest)) == 1
