"""Shared fixtures: real SMTP server (aiosmtpd), real databases, the real app on a test client.

A test that needs PostgreSQL, Redis or Chromium skips with a clear reason when the service is
absent, except under CI=true, where it fails instead.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller

from sheepdog.app import Runtime, build_runtime, build_services
from sheepdog.bot.web import SERVICES
from sheepdog.config import Settings, load_settings
from sheepdog.jobs.queue import InProcessQueue

FIXTURES = Path(__file__).parent / "fixtures"
BASE_PG_URL = os.environ.get("SHEEPDOG_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BASE_REDIS_URL = os.environ.get("SHEEPDOG_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# Under pytest-xdist every worker gets its own database and Redis db (the fixtures wipe them per
# test, so two workers sharing one would wipe each other's): gw0 keeps the base ones.
XDIST_INDEX = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:] or 0)
if "PYTEST_XDIST_WORKER" in os.environ:
    # One test worker per core: the sentence encoder's BLAS on two threads in each of two workers
    # fought over the cores (tests/brain/test_real_safety.py[cfpb] 12 s alone, 47 s side by side).
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")
PG_URL = BASE_PG_URL if XDIST_INDEX == 0 else f"{BASE_PG_URL}_gw{XDIST_INDEX}"
REDIS_URL = (
    BASE_REDIS_URL
    if XDIST_INDEX == 0
    else BASE_REDIS_URL.rsplit("/", 1)[0] + f"/{(int(BASE_REDIS_URL.rsplit('/', 1)[1]) - XDIST_INDEX) % 16}"
)
CHROMIUM = os.environ.get("SHEEPDOG_TEST_CHROMIUM", "/usr/bin/chromium")
TOKEN = "test-console-token"


def requires_service(name: str, available: bool, how: str) -> None:
    """Skip with a reason where the service is absent; under CI=true a missing service fails."""
    if available:
        return
    message = f"{name} is not available ({how})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: {message}")
    pytest.skip(message)  # requires_service: absent service, never under CI=true


def port_open(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ensure_worker_database() -> None:
    """An xdist worker's own database, created once from the base one's server."""
    if PG_URL == BASE_PG_URL:
        return
    from sqlalchemy import create_engine, text

    name = PG_URL.rsplit("/", 1)[1]
    engine = create_engine(BASE_PG_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}) is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


@pytest.fixture
def pg_url() -> str:
    requires_service("PostgreSQL", port_open("127.0.0.1", 5432), "expected at 127.0.0.1:5432, database test")
    from sqlalchemy import create_engine, text

    _ensure_worker_database()
    engine = create_engine(PG_URL)
    with engine.begin() as conn:  # a clean database per test
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return PG_URL


@pytest.fixture
def redis_url() -> str:
    requires_service("Redis", port_open("127.0.0.1", 6379), "expected at 127.0.0.1:6379")
    from redis import Redis

    Redis.from_url(REDIS_URL).flushdb()
    return REDIS_URL


@pytest.fixture
def chromium() -> str:
    requires_service(
        "Chromium", shutil.which(CHROMIUM) is not None, f"{CHROMIUM} missing: apt-get install chromium"
    )
    return CHROMIUM


@dataclass
class SmtpRecorder:
    """What a real SMTP server on localhost received; can answer with an error code."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[Any] = field(default_factory=list)
    fail_with: list[str] = field(default_factory=list)  # e.g. ["451 4.3.0 try later"] answers next DATAs
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.fail_with:
                return self.fail_with.pop(0)
            self.envelopes.append(envelope)
            msg = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
            assert isinstance(msg, EmailMessage)
            self.messages.append(msg)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpRecorder, int]]:
    recorder = SmtpRecorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()


def _deep(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in top.items():
        out[k] = _deep(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


@pytest.fixture
def make_settings(tmp_path: Path, smtp: tuple[SmtpRecorder, int]) -> Callable[..., Settings]:
    """Demo business on a fresh SQLite file, mail to the test SMTP server, no demo sink."""

    def make(**overrides: Any) -> Settings:
        base: dict[str, Any] = {
            "storage": {"url": f"sqlite:///{tmp_path}/sheepdog.db"},
            "channels": {"email": {"smtp": {"host": "127.0.0.1", "port": smtp[1], "timeout_s": 5}}},
            "console": {"token": TOKEN, "public_url": "http://127.0.0.1:8080"},
            "demo": {"smtp_sink": False},
        }
        return load_settings(None, environ={}, overrides=_deep(base, overrides))

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = build_runtime(settings, services=build_services(settings, queue=InProcessQueue(periodic=False)))
    yield rt
    rt.services.db.dispose()


@pytest.fixture
def aiohttp_client(aiohttp_client: Any) -> Callable[..., Any]:
    """pytest-aiohttp's client, which after a POST to a customer hook waits for the app's queue to
    be idle: hooks answer once the message is stored and the brain reads it in a job, so a test
    that looks at the draft right after posting waits for that job (never a fixed sleep).
    `settle=False` gives the bare client (tests of what the hook answers before the brain)."""

    async def make(app: Any, *args: Any, settle: bool = True, **kwargs: Any) -> Any:
        client = await aiohttp_client(app, *args, **kwargs)
        services = app.get(SERVICES) if isinstance(app, web.Application) else None
        queue = getattr(services, "queue", None)
        if settle and hasattr(queue, "wait_idle"):
            request = client._request

            async def settled(method: str, path: Any, *a: Any, **kw: Any) -> Any:
                response = await request(method, path, *a, **kw)
                if method == "POST" and str(path).startswith("/hooks/"):
                    await asyncio.to_thread(queue.wait_idle, 30.0)
                return response

            client._request = settled
        return client

    return make


@pytest.fixture
async def client(runtime: Runtime, aiohttp_client: Any) -> Any:
    """The real aiohttp app (hooks, console, jobs thread) on a test server, logged in."""
    return await aiohttp_client(runtime.app, headers={"Authorization": f"Bearer {TOKEN}"})


def fixture_bytes(*parts: str) -> bytes:
    return FIXTURES.joinpath(*parts).read_bytes()
