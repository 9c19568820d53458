"""`make soak`: a few bounded minutes of mixed traffic against Sheepdog in production mode
(`sheepdog run` + `sheepdog worker` on PostgreSQL and Redis, Slack pointed at a local Slack Web
API), on loopback: web-form leads, console clicks (approve, claim, note), signed Slack button
clicks and slash commands, refused garbage. At the end: no 5xx, no traceback in any log, every
lead stored, and the bot's RSS and open descriptors flat (growth measured from the end of the
warm-up, when caches and pools are full).

    python -m bench.reliability.soak --seconds 180 [--rate 6]

Writes bench/reliability/soak.json (what docs/RELIABILITY.md shows); exits 1 when a bound fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import tempfile
import threading
import time
import tomllib
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench.engine import procs, stack, toml
from bench.engine.smtp import SmtpServer
from tests.bot.slack_fake import FakeSlack
from tests.reliability.live import slack_sign

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parents[1] / "tests" / "fixtures"
RESULTS = HERE / "soak.json"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
RSS_GROWTH_MAX = 0.10


def _fd_counts(pid: int) -> tuple[int, int]:
    """(open descriptors, of which sockets) of a process."""
    fds = sockets = 0
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            fds += 1
            with contextlib.suppress(OSError):
                sockets += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
    except OSError:
        pass
    return fds, sockets


class Client:
    """Plain urllib against the bot: status codes counted per kind of request."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token
        self.statuses: Counter[str] = Counter()

    def call(
        self,
        kind: str,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, data = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, data = exc.code, exc.read()
        except OSError:
            status, data = 0, b""
        self.statuses[f"{kind} {status}"] += 1
        return status, data

    def console(self, kind: str, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
        body = json.dumps(payload).encode() if payload is not None else None
        status, data = self.call(
            kind,
            method,
            path,
            body,
            {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            return status, json.loads(data or b"null")
        except ValueError:
            return status, None


def _slack_payload(name: str, fake_url: str, **replace: str) -> tuple[bytes, str]:
    text = (FIXTURES / "slack" / name).read_text(encoding="utf-8")
    for key, value in replace.items():
        text = text.replace(key, value)
    text = text.replace("https://hooks.slack.com", fake_url)
    if name.endswith(".txt"):
        return text.replace(
            "https%3A%2F%2Fhooks.slack.com", quote(fake_url, safe="")
        ).encode(), "application/x-www-form-urlencoded"
    return ("payload=" + quote(text, safe="")).encode(), "application/x-www-form-urlencoded"


def _stored_leads(pg_admin_url: str, database: str) -> int:
    """How many leads the run's database holds."""
    import psycopg

    server = pg_admin_url.rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/{database}") as conn:
        row = conn.execute("SELECT count(*) FROM leads").fetchone()
    return int(row[0]) if row else 0


def run(seconds: float, rate: float, pg_admin_url: str, redis_url: str) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="sheepdog-soak-"))
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    fake = FakeSlack()
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(10)
    smtp = SmtpServer(stack.free_port())
    smtp.start()
    st = stack.make_stack(
        "production",
        workdir,
        smtp_port=smtp.port,
        pg_admin_url=pg_admin_url,
        redis_url=redis_url,
        autonomy="L3",
    )
    config = tomllib.loads(st.config_path.read_text())
    config["slack"] = {
        "enabled": True,
        "bot_token": "xoxb-soak",
        "signing_secret": SECRET,
        "channel": "C0LEADS",
        "owner_user_id": "UDANA",
        "api_base_url": fake.base_url + "/api",
    }
    st.config_path.write_text(toml.dumps(config), encoding="utf-8")
    started: list[procs.Proc] = []
    result: dict[str, Any] = {"seconds": seconds, "rate_per_s": rate}
    try:
        cfg = ["--config", str(st.config_path)]
        if procs.run_once(["migrate", *cfg], workdir / "migrate.log", workdir, st.config_path) != 0:
            raise RuntimeError(f"migrate failed: {workdir / 'migrate.log'}")
        bot = procs.start("bot", ["run", *cfg], workdir, workdir, st.config_path)
        started += [bot, procs.start("worker", ["worker", *cfg], workdir, workdir, st.config_path)]
        client = Client(st.base_url, st.token)
        deadline = time.monotonic() + 120
        while client.call("ready", "GET", "/readyz")[0] != 200:
            if time.monotonic() > deadline or bot.popen.poll() is not None:
                raise RuntimeError(f"the bot never became ready: {workdir}")
            time.sleep(0.5)
        client.statuses.clear()  # the readiness polls are not part of the load
        rng = random.Random(18)
        n = max(1, int(seconds * rate))
        start = time.monotonic()
        warm = None
        leads = 0
        for i in range(n):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if warm is None and time.monotonic() - start >= seconds * 0.25:
                warm = (procs.rss_mb(bot.pid), *_fd_counts(bot.pid))
            roll = rng.random()
            if roll < 0.45:
                leads += 1
                body = json.dumps(
                    {
                        "name": f"Soak Lead{i}",
                        "email": f"soak{i}@example.com",
                        "message": "Hi, I'm interested in a new heat pump for my home. Can you help?",
                    }
                )
                client.call(
                    "form", "POST", "/hooks/form", body.encode(), {"Content-Type": "application/json"}
                )
            elif roll < 0.80:
                status, listing = client.console("console", "GET", "/api/leads")
                open_leads = (
                    [row["id"] for row in (listing or {}).get("leads", [])][:50] if status == 200 else []
                )
                if not open_leads:
                    continue
                lead_id = rng.choice(open_leads)
                status, lead = client.console("console", "GET", f"/api/leads/{lead_id}")
                drafts = [
                    int(c["key"].split(":")[1])
                    for c in (lead or {}).get("cards", [])
                    if str(c.get("key", "")).startswith("draft:") and c.get("buttons")
                ]
                action = rng.choice(["approve", "claim", "note", "slack"])
                if action == "approve" and drafts:
                    client.console("console", "POST", f"/api/drafts/{drafts[-1]}/approve", {})
                elif action == "slack" and drafts:
                    body, ctype = _slack_payload(
                        "block_actions__approve.json",
                        fake.base_url,
                        DRAFT_ID=str(drafts[-1]),
                        CARD_TS="1700000000.000100",
                    )
                    client.call(
                        "slack", "POST", "/slack/events", body, {"Content-Type": ctype, **slack_sign(body)}
                    )
                elif action == "claim":
                    client.console("console", "POST", f"/api/leads/{lead_id}/claim", {})
                else:
                    client.console(
                        "console", "POST", f"/api/leads/{lead_id}/note", {"text": f"soak note {i}"}
                    )
            elif roll < 0.92:
                body, ctype = _slack_payload("slash_command__pipeline.txt", fake.base_url)
                client.call(
                    "slack", "POST", "/slack/events", body, {"Content-Type": ctype, **slack_sign(body)}
                )
            else:  # garbage that must be refused with a 4xx, never a 5xx
                junk = rng.choice([b"", b"\x00\xff", b"[" * 5000, b'{"type": 5}', b"payload=%7B"])
                client.call(
                    "junk",
                    "POST",
                    rng.choice(["/slack/events", "/hooks/form", "/api/leads/1/note"]),
                    junk,
                    {
                        "Content-Type": rng.choice(["application/json", "application/x-www-form-urlencoded"]),
                        "Authorization": f"Bearer {st.token}",
                    },
                )
        # let the worker finish what is queued, then measure
        time.sleep(min(30.0, seconds * 0.1))
        end = (procs.rss_mb(bot.pid), *_fd_counts(bot.pid))
        warm = warm or end
        logs = "\n".join(p.log_path.read_text(errors="replace") for p in started)
        status, _ = client.console("final", "GET", "/api/leads")  # the console still answers
        # Counted in the database: the console's list is a page (the newest leads and whatever waits).
        stored = _stored_leads(pg_admin_url, st.database) if status == 200 and st.database else -1
        five = sum(v for k, v in client.statuses.items() if k.rsplit(" ", 1)[1].startswith("5"))
        result.update(
            requests=sum(client.statuses.values()),
            statuses=dict(sorted(client.statuses.items())),
            five_xx=five,
            tracebacks=logs.count("Traceback (most recent call last)"),
            leads_posted=leads,
            leads_stored=stored,
            mails_sent=smtp.recorder.count(),
            rss_mb_warm=round(warm[0], 1),
            rss_mb_end=round(end[0], 1),
            rss_growth_pct=round(100 * (end[0] - warm[0]) / warm[0], 1) if warm[0] else None,
            fds_warm=warm[1],
            fds_end=end[1],
            sockets_warm=warm[2],
            sockets_end=end[2],
            workdir=str(workdir),
        )
        result["ok"] = bool(
            five == 0
            and result["tracebacks"] == 0
            and stored >= min(leads, 500)
            and (result["rss_growth_pct"] or 0) < RSS_GROWTH_MAX * 100
            and end[2] <= warm[2] + 10
        )
        return result
    finally:
        procs.stop(started)
        smtp.stop()
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if st.database:
            stack.drop_database(pg_admin_url, st.database)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=180.0)
    p.add_argument("--rate", type=float, default=6.0, help="requests per second (open loop)")
    p.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument(
        "--redis-url", default=os.environ.get("SHEEPDOG_TEST_REDIS_URL", "redis://127.0.0.1:6379/8")
    )
    args = p.parse_args(argv)
    result = run(args.seconds, args.rate, args.pg_admin_url, args.redis_url)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
