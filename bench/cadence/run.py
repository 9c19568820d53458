"""The cadence bench: N active cadences in a fresh PostgreSQL database, `--workers` real
`sheepdog worker` processes on Redis, and the bench acting as the scheduler: it runs the same
`cadence_tick` a bot or worker runs every `followup.tick_s`, times it, and times every touch when
it arrives at its own SMTP server against the moment the touch was due.

stdout gets one JSON line: tick_s (the slowest tick), lateness_p50_s / lateness_p99_s (arrival at
the SMTP server minus due time, over every touch due in the window), worker_rss_mb (the largest
worker, its RQ work horses included), and what was counted. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import secrets
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.engine import procs, stack, toml
from bench.engine.smtp import SmtpServer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.cadence", description=__doc__)
    p.add_argument("--leads", type=int, required=True, help="active cadences in the database")
    p.add_argument("--due", type=int, default=600, help="touches due during the window (600)")
    p.add_argument("--window", type=float, default=60.0, help="seconds over which they fall due (60)")
    p.add_argument("--workers", type=int, default=2, help="sheepdog worker processes (2)")
    p.add_argument("--tick-s", type=float, default=60.0, help="followup.tick_s: seconds between ticks (60)")
    p.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/7", help="a unique queue name is used")
    p.add_argument("--drain-timeout", type=float, default=180.0)
    p.add_argument("--keep", action="store_true", help="keep the database and the log directory")
    return p.parse_args(argv)


def log(msg: str) -> None:
    print(f"bench.cadence: {msg}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


SEED = """
INSERT INTO contacts (id, name, email, opted_out, created_at, timezone, timezone_source)
  SELECT g, 'Bench ' || g, 'cadence-' || g || '@example.com', false, :start, :tz, 'form'
  FROM generate_series(1, :n) g;
INSERT INTO conversations (id, contact_id, channel, subject, created_at, last_message_at)
  SELECT g, g, 'email', 'Heat pump', :start, :start FROM generate_series(1, :n) g;
INSERT INTO messages (conversation_id, direction, channel, text, "references", attachments, is_auto,
                      edits, created_at, provider_message_id, category, understood_at)
  SELECT g, 'inbound', 'email', 'Do you install heat pumps? Our furnace is 20 years old.', '[]', '[]',
         false, '[]', :start, '<cadence-' || g || '@mail.example.com>', 'sales_inquiry', :start
  FROM generate_series(1, :n) g;
INSERT INTO leads (id, contact_id, conversation_id, channel, stage, owner, returning_customer, cadence,
                   cadence_state, cadence_step, cadence_started_at, cadence_next_at, first_response_at,
                   created_at, updated_at)
  SELECT g, g, g, 'email', 'contacted', 'bench', false, 'speed_to_lead', 'active', 1, :start, :start, :start,
         :start, :start FROM generate_series(1, :n) g;
"""


def daytime_zone() -> str:
    """A zone where it is midday now, so quiet hours (checked on every touch, as always) let the
    measured touches go whenever the bench runs."""
    from zoneinfo import ZoneInfo

    for hours in range(-12, 15):
        zone = "UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"
        if 10 <= datetime.now(ZoneInfo(zone)).hour <= 15:
            return zone
    return "UTC"


def seed(url: str, n: int, due: int, first_due: datetime, window: float) -> dict[int, datetime]:
    """N leads in speed-to-lead, waiting for their 24 h follow-up: `due` of them fall due over the
    window, the rest spread over the next two days (active, but not due). Returns lead -> due."""
    from sheepdog.storage.db import Database

    db = Database(url)  # migrates the fresh database
    started = first_due - timedelta(hours=24)
    with db.engine.begin() as conn:
        for statement in SEED.split(";"):
            if statement.strip():
                conn.execute(text(statement), {"n": n, "start": started, "tz": daytime_zone()})
        conn.execute(
            text(
                "UPDATE leads SET cadence_next_at = :first + (id - 1) * (:step * interval '1 second') "
                "WHERE id <= :due"
            ),
            {"first": first_due, "step": window / max(due, 1), "due": due},
        )
        conn.execute(
            text(
                "UPDATE leads SET cadence_next_at = :later + (id * interval '1 second') * (172800.0 / :n) "
                "WHERE id > :due"
            ),
            {"later": first_due + timedelta(hours=2), "n": n, "due": due},
        )
        for table in ("contacts", "conversations", "leads"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), :n)"), {"n": n})
        conn.execute(text("ANALYZE"))
        rows = conn.execute(
            text("SELECT id, cadence_next_at FROM leads WHERE id <= :due"), {"due": due}
        ).all()
    db.dispose()
    return {int(r.id): r.cadence_next_at for r in rows}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run_id = f"{os.getpid()}_{secrets.token_hex(2)}"
    database, queue_name = f"sheepdog_bench_cadence_{run_id}", f"sheepdog-bench-cadence-{run_id}"
    workdir = Path(tempfile.mkdtemp(prefix="sheepdog-bench-cadence-"))
    host = args.pg_admin_url.split("://", 1)[1].rsplit("/", 1)[0]
    url = f"postgresql+psycopg://{host}/{database}"
    smtp = SmtpServer(stack.free_port())
    smtp.start()
    st = stack.Stack(
        "production",
        workdir,
        workdir / "sheepdog-bench.toml",
        stack.free_port(),
        smtp.port,
        secrets.token_urlsafe(16),
        database,
        args.redis_url,
        queue_name,
    )
    data = stack.bench_config(st, url, None)
    data["followup"]["tick_s"] = args.tick_s
    st.config_path.write_text(toml.dumps(data), encoding="utf-8")
    stack.create_database(args.pg_admin_url, database)
    workers: list[procs.Proc] = []
    result: dict[str, Any] = {"leads": args.leads, "due": args.due, "workers": args.workers}
    try:
        t = time.monotonic()
        first_due = datetime.now(UTC) + timedelta(seconds=30)  # after the workers are up
        due_at = seed(url, args.leads, args.due, first_due, args.window)
        result["seed_s"] = round(time.monotonic() - t, 1)
        log(f"seeded {args.leads} cadences in {result['seed_s']} s; logs in {workdir}")
        workers = [
            procs.start(f"worker-{i}", ["worker"], workdir, workdir, st.config_path)
            for i in range(args.workers)
        ]
        sampler = procs.RssSampler(workers)
        sampler.start()
        deadline = time.monotonic() + 60
        while stack.registered_workers(args.redis_url, queue_name) < args.workers:
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not register in 60 s")
            time.sleep(0.2)

        os.environ["SHEEPDOG_CONFIG"] = str(st.config_path)
        from sheepdog.app import build_services
        from sheepdog.config import load_settings
        from sheepdog.jobs import tasks

        services = build_services(load_settings(st.config_path, environ={}))
        ticks: list[float] = []
        queued = 0
        wall_minus_mono = time.time() - time.monotonic()
        end = first_due + timedelta(seconds=args.window)
        next_tick = time.monotonic()
        while True:  # the scheduler's loop: one tick per tick_s, as jobs.schedule runs it
            if time.monotonic() >= next_tick:
                t = time.monotonic()
                queued += tasks.cadence_tick(services)
                ticks.append(time.monotonic() - t)
                log(f"tick {len(ticks)}: {ticks[-1]:.2f} s, {queued} touches queued so far")
                next_tick = t + args.tick_s
            arrived = {m.rcpt for m in smtp.recorder.mails()}
            if datetime.now(UTC) > end and len(arrived) >= args.due:
                break
            if datetime.now(UTC) > end + timedelta(seconds=args.drain_timeout):
                log("drain timeout")
                break
            time.sleep(0.2)
        time.sleep(2)  # look for doubles
        sampler.stop()
        mails = smtp.recorder.mails()
        first_arrival: dict[str, float] = {}
        for m in mails:
            first_arrival.setdefault(m.rcpt, m.at)
        lateness = []
        by_lead = {}
        for lead_id, due in due_at.items():
            at = first_arrival.get(f"cadence-{lead_id}@example.com")
            if at is not None:
                lateness.append(at + wall_minus_mono - due.timestamp())
                by_lead[lead_id] = lateness[-1]
        worst = sorted(by_lead.items(), key=lambda kv: -kv[1])[:5]
        log("latest touches (lead, seconds late): " + ", ".join(f"{k}: {v:.2f}" for k, v in worst))
        counts = Counter(m.rcpt for m in mails)
        result.update(
            tick_s=round(max(ticks), 3),
            tick_p50_s=round(percentile(ticks, 0.5), 3),
            ticks=len(ticks),
            lateness_p50_s=round(percentile(lateness, 0.5), 3),
            lateness_p99_s=round(percentile(lateness, 0.99), 3),
            worker_rss_mb=round(max(p.rss_mb_max + p.child_rss_mb_max for p in workers), 1),
            touches=len(lateness),
            missing=args.due - len(lateness),
            doubled=sum(1 for c in counts.values() if c > 1),
            early=sum(1 for x in lateness if x < -0.5),
        )
        services.db.dispose()
    except Exception as exc:  # the harness failed: say so in the JSON line
        result["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        procs.stop(workers)
        smtp.stop()
        if not args.keep:
            with contextlib.suppress(Exception):
                stack.drop_database(args.pg_admin_url, database)
            with contextlib.suppress(Exception):
                from redis import Redis

                redis = Redis.from_url(args.redis_url)
                for key in redis.scan_iter(match=f"*{queue_name}*"):
                    redis.delete(key)
    print(json.dumps(result))
    return 1 if "error" in result else 0
