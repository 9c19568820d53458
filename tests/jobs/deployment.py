"""Production mode as an operator runs it: `sheepdog run` and `sheepdog worker` processes on the
machine's PostgreSQL and a Redis, mail to a real local SMTP server. Tests start, kill and stop
these processes; nothing of Sheepdog's runs inside the test process but a read of the database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from sheepdog.storage.db import Database
from sheepdog.storage.tables import Outbox

LEAD_TEXT = "Hi, I'm interested in a new heat pump for my home. Can you help?"
"""A plain inquiry: its first reply goes out on its own at the default autonomy (L4)."""


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.2) -> Any:
    """Poll until check() is truthy; fail saying what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


@dataclass
class Deployment:
    """One bot and N workers sharing a config file; logs under `root`."""

    root: Path
    pg_url: str
    redis_url: str
    smtp_port: int
    port: int
    queue_name: str = "sheepdog-e2e"
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    extra_config: str = ""  # more TOML appended to the config file
    env: dict[str, str] = field(default_factory=dict)  # more environment for every process

    @property
    def config(self) -> Path:
        return self.root / "sheepdog.toml"

    def queue_section(self) -> str:
        """RQ on the test's Redis, a queue of its own."""
        return f'[queue]\nbackend = "rq"\nredis_url = "{self.redis_url}"\nqueue_name = "{self.queue_name}"'

    def write_config(self) -> None:
        self.config.write_text(
            f"""
[storage]
url = "{self.pg_url}"
{self.queue_section()}
[console]
port = {self.port}
token = "e2e-token"
public_url = "http://127.0.0.1:{self.port}"
[channels.email.smtp]
host = "127.0.0.1"
port = {self.smtp_port}
timeout_s = 5
[demo]
smtp_sink = false
"""
            + self.extra_config,
            encoding="utf-8",
        )
        Database(self.pg_url).dispose()  # the schema, before several processes start at once

    def start(self, name: str, *command: str) -> subprocess.Popen[bytes]:
        log = (self.root / f"{name}.log").open("wb")
        env = {**os.environ, "SHEEPDOG_CONFIG": str(self.config), "PYTHONUNBUFFERED": "1", **self.env}
        proc = subprocess.Popen(
            [sys.executable, "-m", "sheepdog.cli", *command, "--config", str(self.config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        self.procs[name] = proc
        return proc

    def start_bot(self) -> None:
        self.start("bot", "run")

    def start_worker(self, name: str) -> None:
        self.start(name, "worker")

    def start_all(self, workers: int = 2) -> None:
        """The bot and `workers` workers, started together as a process manager would; ready."""
        self.start_bot()
        for i in range(1, workers + 1):
            self.start_worker(f"worker-{i}")
        self.wait_ready(workers=workers)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs[name]
        proc.send_signal(sig)
        proc.wait(timeout=30)

    def worker_sending_to(self, email: str) -> str:
        """The name of the worker process that has claimed the send to this address."""
        db = Database(self.pg_url, run_migrations=False)
        try:
            with db.session() as s:
                claimer = s.scalar(select(Outbox.claimed_by).where(Outbox.to_email == email))
        finally:
            db.dispose()
        assert claimer, f"nobody claimed the send to {email}"
        pid = int(claimer.rsplit("-", 2)[1])  # PROCESS_ID is host-pid-random
        return next(name for name, proc in self.procs.items() if proc.pid == pid)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name} ---\n" + p.read_text(errors="replace")[-3000:]
            for p in sorted(self.root.glob("*.log"))
        )

    def workers_alive(self) -> int:
        from redis import Redis

        redis = Redis.from_url(self.redis_url)
        try:
            return sum(1 for _ in redis.scan_iter(match=f"sheepdog:{self.queue_name}:alive:worker:*"))
        finally:
            redis.close()

    def wait_ready(self, workers: int, timeout: float = 60) -> None:
        def up() -> bool:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise AssertionError(f"{name} exited with {proc.returncode}\n{self.logs()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as resp:
                    ok = resp.status == 200
            except (OSError, urllib.error.URLError):
                return False
            return ok and self.workers_alive() >= workers

        wait_for(up, timeout, f"the bot and {workers} workers")

    def post_lead(self, i: int, tag: str = "lead") -> int:
        """One new lead on the web form; returns the HTTP status (0: no answer at all)."""
        body = json.dumps(
            {"name": f"Pat {tag} {i}", "email": f"{tag}-{i}@example.com", "message": LEAD_TEXT}
        ).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/hooks/form",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except OSError:
            return 0

    def post_leads(self, indexes: range, tag: str = "lead", *, per_s: float = 10.0) -> list[int]:
        """Post at a steady rate from a small pool (open loop: a slow answer does not slow posting)."""
        start = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            futures = []
            for n, i in enumerate(indexes):
                delay = start + n / per_s - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                futures.append(pool.submit(self.post_lead, i, tag))
            return [f.result() for f in futures]

    def flagged(self) -> set[str]:
        """The addresses whose send is flagged "may not have gone out — check" on its lead."""
        from sheepdog.storage.tables import Lead

        db = Database(self.pg_url, run_migrations=False)
        try:
            with db.session() as s:
                rows = s.execute(
                    select(Outbox.to_email, Lead.needs_attention)
                    .join(Lead, Lead.id == Outbox.lead_id)
                    .where(Outbox.state == "uncertain")
                ).all()
        finally:
            db.dispose()
        assert all((why or "").startswith("may not have gone out — check") for _, why in rows), rows
        return {email for email, _ in rows}

    def outbox_settled(self) -> bool:
        """Every outbox row is sent or failed: nothing more can go out."""
        db = Database(self.pg_url, run_migrations=False)
        try:
            with db.session() as s:
                busy = s.scalar(
                    select(func.count()).select_from(Outbox).where(Outbox.state.in_(("queued", "sending")))
                )
            return busy == 0
        finally:
            db.dispose()


def diagnose(pg_url: str, emails: list[str]) -> str:
    """What the database says about leads that got no reply (for a failing test's message)."""
    from sheepdog.storage.tables import Contact, Conversation, Message

    db = Database(pg_url, run_migrations=False)
    lines = []
    try:
        with db.session() as s:
            for email in emails[:5]:
                rows = s.execute(
                    select(Message)
                    .join(Conversation, Conversation.id == Message.conversation_id)
                    .join(Contact, Contact.id == Conversation.contact_id)
                    .where(Contact.email == email, Message.direction == "inbound")
                ).scalars()
                for m in rows:
                    lines.append(
                        f"{email}: message {m.id} category={m.category} understood_at={m.understood_at} "
                        f"reading_until={m.reading_until} read_by={m.read_by}"
                    )
                    outs = s.scalars(select(Outbox).where(Outbox.to_email == email)).all()
                    lines += [
                        f"   outbox {o.id} {o.state} by={o.claimed_by} err={o.last_error}" for o in outs
                    ]
    finally:
        db.dispose()
    return "\n".join(lines)


def replies_by_recipient(recorder: Any) -> Counter[str]:
    """How many mails each address got at the test's SMTP server."""
    with recorder.lock:
        return Counter(rcpt.lower() for env in recorder.envelopes for rcpt in env.rcpt_tos)
