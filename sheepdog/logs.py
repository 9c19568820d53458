"""How Sheepdog logs: one line per inbound message and per send by default, as text or as JSON
(`--log-format json`, one object a line, with the lead and message ids of the work it is about),
and never a secret: the SDKs' own loggers, which print request URLs (Telegram puts the bot token
in every URL) and headers, stay at WARNING unless -v is given."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

QUIET = (
    "alembic",
    "mail.log",
    "aiohttp.access",
    "httpx",
    "httpx2",
    "httpcore",
    "urllib3",
    "slack_sdk",
    "slack_bolt",
    "telegram",
    "twilio",
    "anthropic",
    "rq.worker",
    "rq.scheduler",
)
"""Loggers that say what they send over the wire: not at INFO (URLs and headers carry tokens)."""

CONTEXT = ("lead_id", "message_id", "outbox_id", "channel", "job")
"""Fields a log call may pass with extra={…}; JSON lines carry them as keys."""


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, and the ids of the work it is about."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in CONTEXT:
            value = getattr(record, key, None)
            if value is not None:
                line[key] = value
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time of the line, not the one at set-up: a test
    runner swaps it per test, and a thread still working must not write to a closed stream."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def setup(*, verbose: bool = False, fmt: str = "text") -> None:
    handler = StderrHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(Redact(set()))  # secret shapes are masked from the first line on
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.WARNING)


SECRET_FIELDS = ("token", "secret", "password", "api_key", "auth_token", "app_token")
"""A setting whose name ends with one of these holds a secret."""

MASK = "***"


def secret_values(settings: object) -> set[str]:
    """Every secret the configuration holds: fields named like secrets, and passwords in URLs."""
    from urllib.parse import urlsplit

    from pydantic import BaseModel

    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, BaseModel):
            for name in type(node).model_fields:
                value = getattr(node, name, None)
                if isinstance(value, str) and name.endswith(SECRET_FIELDS):
                    found.add(value)
                elif isinstance(value, str) and "://" in value:
                    try:
                        password = urlsplit(value).password
                    except ValueError:
                        password = None
                    if password:
                        found.add(password)
                else:
                    walk(value)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value)

    walk(settings)
    return {s for s in found if len(s) >= 6}  # a short value would mask ordinary words


SECRET_SHAPES = (
    # A Telegram bot token, as it appears in every Bot API URL: /bot123456:AAH…/getMe
    (re.compile(r"\b(bot)?\d{5,}:[A-Za-z0-9_-]{30,}"), lambda m: (m.group(1) or "") + MASK),
    # A password in a URL: postgresql://user:pw@host, redis://:pw@host
    (re.compile(r"(://[^/\s:@]*:)[^/\s@]+@"), lambda m: m.group(1) + MASK + "@"),
    # Bearer tokens and Anthropic / Slack keys wherever they are printed
    (re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), lambda m: m.group(1) + MASK),
    (re.compile(r"\b(sk-ant-[A-Za-z0-9_-]{4})[A-Za-z0-9_-]+"), lambda m: m.group(1) + MASK),
    (re.compile(r"\b(xox[abpr]-)[A-Za-z0-9-]+"), lambda m: m.group(1) + MASK),
)
"""Secrets recognised by their shape, masked even when the configuration does not name them
(a token passed in the environment, a URL built by an SDK)."""


def mask_text(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """`text` with every known secret and every secret-shaped value replaced by ***."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, repl in SECRET_SHAPES:
        text = pattern.sub(repl, text)
    return text


class Redact(logging.Filter):
    """Replaces every configured secret in a log line (and its traceback) with ***: even at -v,
    where the SDKs print URLs such as Telegram's /bot<token>/sendMessage (httpx logs each one)."""

    def __init__(self, secrets: set[str]) -> None:
        super().__init__()
        self.secrets = sorted(secrets, key=len, reverse=True)

    def _clean(self, text: str) -> str:
        return mask_text(text, self.secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self._clean(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        return True


def redact(settings: object) -> None:
    """Install the filter for this configuration's secrets on every handler of the root logger."""
    secrets = secret_values(settings)
    for handler in logging.getLogger().handlers:
        handler.filters = [f for f in handler.filters if not isinstance(f, Redact)]
        handler.addFilter(Redact(secrets))
