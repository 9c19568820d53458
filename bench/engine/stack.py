"""What the bench stands up around Sheepdog: its config file, a fresh database, a clean Redis db."""

from __future__ import annotations

import os
import secrets
import socket
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.engine import toml

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = REPO / "sheepdog" / "config.example.toml"


def free_port() -> int:
    """A port the kernel says is free now; the tiny race with other programs is acceptable for a bench."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Stack:
    """Everything the config points at, so cleanup knows what to drop."""

    mode: str
    workdir: Path
    config_path: Path
    console_port: int
    smtp_port: int
    token: str
    database: str | None = None  # PostgreSQL database created for this run (production)
    redis_url: str | None = None
    queue_name: str | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.console_port}"


def bench_config(
    stack: Stack, storage_url: str, autonomy: str | None, sentence_encoder: bool = True
) -> dict[str, Any]:
    """The demo business (config.example.toml) with mail, ports, storage and queue pointed at the bench."""
    data = tomllib.loads(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    data["storage"] = {"url": storage_url}
    if stack.mode == "production":
        data["queue"] = {"backend": "rq", "redis_url": stack.redis_url, "queue_name": stack.queue_name}
    else:
        data["queue"] = {"backend": "inprocess"}
    data["brain"]["backend"] = "offline"
    data["brain"]["sentence_encoder"] = sentence_encoder
    data["console"].update(
        enabled=True,
        host="127.0.0.1",
        port=stack.console_port,
        token=stack.token,
        public_url=stack.base_url,
    )
    channels = data["channels"]
    channels["email"]["smtp"].update(host="127.0.0.1", port=stack.smtp_port, starttls=False, use_tls=False)
    channels["email"]["imap"]["enabled"] = False
    for off in ("sms", "telegram"):
        channels[off]["enabled"] = False
    channels.pop("webhook", None)
    data["slack"]["enabled"] = False
    data["demo"]["smtp_sink"] = False
    if autonomy:
        data["policy"]["first_reply"]["autonomy"] = autonomy
    return data


def make_stack(
    mode: str,
    workdir: Path,
    *,
    smtp_port: int,
    pg_admin_url: str,
    redis_url: str,
    autonomy: str | None,
    sentence_encoder: bool = True,
) -> Stack:
    """Write the config TOML into workdir; in production also create the database and flush Redis."""
    run_id = f"{os.getpid()}_{secrets.token_hex(2)}"
    common = {
        "mode": mode,
        "workdir": workdir,
        "config_path": workdir / "sheepdog-bench.toml",
        "console_port": free_port(),
        "smtp_port": smtp_port,
        "token": secrets.token_urlsafe(16),
    }
    if mode == "production":
        database = f"sheepdog_bench_{run_id}"
        stack = Stack(**common, database=database, redis_url=redis_url, queue_name=f"sheepdog-bench-{run_id}")
        create_database(pg_admin_url, database)
        flush_redis(redis_url)
        host = pg_admin_url.split("://", 1)[1].rsplit("/", 1)[0]
        storage_url = f"postgresql+psycopg://{host}/{database}"
    else:
        stack = Stack(**common)
        storage_url = f"sqlite:///{workdir / 'sheepdog.db'}"
    header = (
        f"# Written by `python -m bench.engine --mode {mode}`: the demo business, pointed at the bench.\n\n"
    )
    text = header + toml.dumps(bench_config(stack, storage_url, autonomy, sentence_encoder))
    stack.config_path.write_text(text, encoding="utf-8")
    return stack


def create_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(admin_url: str, name: str) -> None:
    """WITH (FORCE): a worker that ignored SIGTERM must not keep the bench's database alive."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flush_redis(url: str) -> None:
    from redis import Redis

    Redis.from_url(url).flushdb()


def registered_workers(redis_url: str, queue_name: str) -> int:
    """How many RQ workers listen on the bench's queue: a worker has no health endpoint."""
    from redis import Redis
    from rq import Queue, Worker

    redis = Redis.from_url(redis_url)
    return len(Worker.all(queue=Queue(queue_name, connection=redis)))


def queue_busy(redis_url: str, queue_name: str) -> int:
    """Jobs queued plus workers busy: the start-up jobs must be done before idle CPU means anything."""
    from redis import Redis
    from rq import Queue, Worker

    redis = Redis.from_url(redis_url)
    queue = Queue(queue_name, connection=redis)
    busy = sum(1 for w in Worker.all(queue=queue) if w.get_state() != "idle")
    return queue.count + busy
