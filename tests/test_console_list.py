"""The console's list through the real app: most urgent first, each reason in plain words, every
time on the business's clock. (The ordering rules themselves: tests/domain/test_attention.py.)"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from sheepdog.app import build_runtime
from sheepdog.domain.clock import shown_time
from tests.conftest import TOKEN, fixture_bytes


async def _post(client: Any, name: str) -> None:
    resp = await client.post("/hooks/form", json=json.loads(fixture_bytes("loop", name)))
    assert resp.status == 200, await resp.text()


async def test_the_list_puts_the_complaint_first_and_says_why_in_plain_words(
    client: Any, runtime: Any
) -> None:
    # At the default autonomy (L4): the new inquiry's first reply goes out on its own, the
    # pricing question waits, the complaint is urgent, though it arrived last.
    for name in ("webform__lead.json", "webform__pricing.json", "webform__complaint.json"):
        await _post(client, name)
    data = await (await client.get("/api/leads")).json()
    rows = {row["name"]: row for row in data["leads"]}
    assert [row["name"] for row in data["leads"]] == ["Casey Morgan", "Lee Park", "Jordan Ellis"]
    assert rows["Casey Morgan"]["attention"]["level"] == "urgent"
    assert rows["Casey Morgan"]["attention"]["reason"].startswith("Urgent: a complaint — answer now")
    assert rows["Lee Park"]["attention"] == {
        "level": "waiting",
        "label": "Waiting for you",
        "reason": "Waiting for you: a pricing question — answer within 15 minutes",
    }
    assert rows["Jordan Ellis"]["attention"]["level"] == "auto_sent"
    assert rows["Jordan Ellis"]["attention"]["reason"].startswith("Sent on its own")
    for row in data["leads"]:
        assert "L4" not in row["attention"]["reason"] and "L3" not in row["attention"]["reason"]

    # The thread says the same: the head row and the waiting draft's status, in the same words.
    lee = await (await client.get(f"/api/leads/{rows['Lee Park']['id']}")).json()
    assert lee["lead"]["attention"] == rows["Lee Park"]["attention"]
    draft = next(c for c in lee["cards"] if c["kind"] == "draft")
    assert draft["status"] == "Waiting for approval: a pricing question — answer within 15 minutes"

    # One clock: the list's time and the sent card's are the business's, like the mail tab's.
    tz = runtime.services.business.timezone
    jordan = await (await client.get(f"/api/leads/{rows['Jordan Ellis']['id']}")).json()
    sent = next(c for c in jordan["cards"] if c["kind"] == "draft")
    from datetime import datetime

    assert (
        shown_time(datetime.fromisoformat(rows["Jordan Ellis"]["last_at"]), tz)
        == rows["Jordan Ellis"]["when"]
    )
    assert rows["Jordan Ellis"]["when"] in sent["status"]


async def test_the_login_cookie_outlives_the_browser_session(aiohttp_client: Any, runtime: Any) -> None:
    from tests.conftest import TOKEN

    anon = await aiohttp_client(runtime.app)
    login = await anon.get(f"/?token={TOKEN}", allow_redirects=False)
    cookie = login.cookies["sheepdog_token"]
    assert int(cookie["max-age"]) >= 30 * 24 * 3600  # not a session cookie: a phone stays logged in
    assert cookie["httponly"] and cookie["samesite"] == "Strict"


def test_the_demo_keeps_its_login_link_across_restarts(tmp_path: Any, make_settings: Any) -> None:
    """No console.token in the config (the demo): the token made at the first start is saved beside
    the SQLite file, readable by its owner only, and the next start uses it; a config's wins."""
    import stat

    from sheepdog.app import SAVED_TOKEN_FILE, console_token
    from sheepdog.config import load_settings

    demo = load_settings(
        None, environ={}, overrides={"storage": {"url": f"sqlite:///{tmp_path}/d/sheepdog.db"}}
    )
    first = console_token(demo)
    saved = tmp_path / "d" / SAVED_TOKEN_FILE
    assert len(first) >= 20 and saved.read_text().strip() == first
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert console_token(demo) == first  # a restart: the same link
    saved.unlink()  # the README's reset: a new link
    assert console_token(demo) != first
    assert console_token(make_settings()) == "test-console-token"


@pytest.fixture(params=["sqlite", "postgresql"])
async def any_store(
    request: pytest.FixtureRequest, make_settings: Any, aiohttp_client: Any
) -> AsyncIterator[Any]:
    """The console's client on SQLite, then on PostgreSQL (the list's query is set-wise SQL)."""
    over: dict[str, Any] = {}
    if request.param == "postgresql":
        over["storage"] = {"url": request.getfixturevalue("pg_url")}
    runtime = build_runtime(make_settings(**over))
    yield await aiohttp_client(runtime.app, headers={"Authorization": f"Bearer {TOKEN}"})
    runtime.services.db.dispose()


async def test_the_list_shows_the_newest_leads_and_every_lead_that_waits(
    any_store: Any, monkeypatch: Any
) -> None:
    """Not the whole store on every poll: the newest LIST_RECENT leads, plus every lead that waits
    for someone (a draft to approve, needs attention) however old it is."""
    from sheepdog.bot.console import listing

    client = any_store
    monkeypatch.setattr(listing, "LIST_RECENT", 1)
    for name in ("webform__lead.json", "webform__pricing.json", "webform__complaint.json"):
        await _post(client, name)
    data = await (await client.get("/api/leads")).json()
    # Casey (the newest, urgent) and Lee (older, a pricing draft waits) are shown; Jordan, older
    # and answered on its own, is not (reached by its link).
    assert [row["name"] for row in data["leads"]] == ["Casey Morgan", "Lee Park"]
    jordan = await (await client.get("/api/leads/1")).json()  # the first lead: still reached by its link
    assert jordan["lead"]["name"] == "Jordan Ellis"
