"""Orchestration: stand the system up, wait for it, load it, wait for every reply, report one JSON line.

stdout carries only the JSON result (so runs can be appended to a file); everything a person
watches (progress, where the logs are, warnings) goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import resource
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.engine import load, procs, stack
from bench.engine.smtp import SmtpServer

err = Console(stderr=True)
REQUIRED = ("first_reply_p50_s", "first_reply_p99_s", "ack_p99_ms", "unanswered", "doubled", "non_2xx")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__)
    p.add_argument("--mode", choices=("embedded", "production"), required=True)
    p.add_argument("--rate", type=float, help="posts per second (with --seconds)")
    p.add_argument("--seconds", type=float, help="how long to post at --rate")
    p.add_argument("--burst", type=int, help="N posts spread evenly over --within seconds")
    p.add_argument("--within", type=float, help="seconds for --burst")
    p.add_argument("--workers", type=int, default=2, help="RQ workers in production mode (default 2)")
    p.add_argument("--drain-timeout", type=float, default=120.0, help="seconds to wait for replies (120)")
    p.add_argument(
        "--settle", type=float, default=3.0, help="seconds to look for doubles after the last reply"
    )
    p.add_argument("--ready-timeout", type=float, default=120.0, help="seconds to wait for start-up (120)")
    p.add_argument("--idle-seconds", type=float, default=10.0, help="idle CPU window, production (10)")
    p.add_argument("--post-timeout", type=float, default=60.0, help="per-post HTTP timeout (60)")
    p.add_argument(
        "--autonomy",
        choices=("L3", "L4", "L5"),
        default=None,
        help="policy.first_reply.autonomy (default: the demo's L4, which auto-sends these first replies)",
    )
    p.add_argument(
        "--stagger",
        action="store_true",
        help="production: start the workers only once the bot is healthy (default: all at once, as a "
        "process manager would, which also shows start-up races such as two processes migrating)",
    )
    p.add_argument(
        "--words-only",
        action="store_true",
        help="brain.sentence_encoder = false: triage on words alone (what the encoder costs)",
    )
    p.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/7", help="flushed at start and end")
    p.add_argument("--keep", action="store_true", help="keep the database and Redis db for inspection")
    p.add_argument(
        "--per-lead",
        type=Path,
        default=None,
        help="also write one JSON line per lead here (post time after launch, ack, first reply): "
        "shows when in the run the slow ones were",
    )
    args = p.parse_args(argv)
    if (args.rate is None) == (args.burst is None):
        p.error("give either --rate R --seconds S or --burst N --within W")
    if args.rate is not None and (args.seconds is None or args.rate <= 0 or args.seconds <= 0):
        p.error("--rate needs --seconds, both > 0")
    if args.burst is not None and (args.within is None or args.burst <= 0 or args.within < 0):
        p.error("--burst needs --within, N > 0 and W >= 0")
    return args


def pct(values: list[float], q: float) -> float | None:
    """Percentile with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def rnd(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(x, nd)


def raise_fd_limit() -> None:
    """An open-loop burst holds one socket per post in flight; the soft default (1024) is too low."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def git_commit() -> str | None:
    """Short HEAD, with "+dirty" when sheepdog/ has uncommitted changes: such figures belong to no commit."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(stack.REPO), *args], capture_output=True, text=True, check=False
        )
        return done.stdout.strip()

    head = git("rev-parse", "--short", "HEAD")
    return f"{head}+dirty" if head and git("status", "--porcelain", "--", "sheepdog") else head or None


async def wait_ready(
    st: stack.Stack, bot: procs.Proc, workers: list[procs.Proc], timeout_s: float, *, readyz: bool = False
) -> dict[str, Any]:
    """Poll the bot until 200, and Redis until every worker has registered.

    With `readyz` (embedded), /readyz first: the process says it is ready once its brain has loaded,
    as a load balancer would wait for. Earlier versions without it fall back to /healthz, then /health.
    In production /readyz is red until a worker is alive, which the bench checks in Redis itself."""
    deadline = time.monotonic() + timeout_s
    paths = ["/readyz", "/healthz", "/health"] if readyz else ["/healthz", "/health"]
    out: dict[str, Any] = {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while "bot" not in out:
            if bot.popen.poll() is not None:
                raise RuntimeError(f"`sheepdog run` exited with {bot.popen.returncode}; see {bot.log_path}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"`sheepdog run` not healthy after {timeout_s:.0f} s; see {bot.log_path}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(st.base_url + paths[0]) as resp:
                    if resp.status == 404 and len(paths) > 1:
                        paths.pop(0)  # an older version: fall back to the next path
                    elif resp.status == 200:
                        out["bot"] = time.monotonic() - bot.started
                        out["health_path"] = paths[0]
                        continue
            await asyncio.sleep(0.1)
    while workers:
        for w in workers:
            if w.popen.poll() is not None:
                raise RuntimeError(f"`sheepdog worker` exited with {w.popen.returncode}; see {w.log_path}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"workers not registered after {timeout_s:.0f} s; see {workers[0].log_path}")
        assert st.redis_url and st.queue_name
        if await asyncio.to_thread(stack.registered_workers, st.redis_url, st.queue_name) >= len(workers):
            out["workers"] = time.monotonic() - min(w.started for w in workers)
            break
        await asyncio.sleep(0.2)
    if workers:
        out["workers_brain"] = await workers_brain_loaded(workers, min(deadline, time.monotonic() + 30))
    return out


async def workers_brain_loaded(workers: list[procs.Proc], deadline: float) -> float | None:
    """Seconds until every worker logged that its brain is loaded: a worker registers and takes
    jobs before (sends need no brain), so posting at registration measured the warm-up as a
    backlog, where embedded mode waits for /readyz. None for a version that does not log it."""
    while time.monotonic() < deadline:
        logs = [w.log_path.read_text(encoding="utf-8", errors="replace") for w in workers]
        if all("brain loaded" in text for text in logs):
            return time.monotonic() - min(w.started for w in workers)
        await asyncio.sleep(0.1)
    return None


def wait_startup_jobs(st: stack.Stack, timeout_s: float) -> float:
    """Seconds until the jobs every start enqueues (resync, first ticks) are done, so "idle" is idle."""
    assert st.redis_url and st.queue_name
    t = time.monotonic()
    quiet = 0
    while time.monotonic() - t < timeout_s and quiet < 3:  # three quiet looks in a row, 0.6 s
        quiet = quiet + 1 if stack.queue_busy(st.redis_url, st.queue_name) == 0 else 0
        time.sleep(0.2)
    return time.monotonic() - t


def idle_cpu(ps: list[procs.Proc], seconds: float) -> list[float]:
    """CPU % of each process over `seconds` with no load: what an idle deployment costs."""
    before = [procs.cpu_s(p.pid) for p in ps]
    time.sleep(seconds)
    return [round((procs.cpu_s(p.pid) - b) / seconds * 100, 2) for p, b in zip(ps, before, strict=True)]


def log_problems(ps: list[procs.Proc]) -> dict[str, int]:
    """Tracebacks per log: an engine that fails quietly still answers HTTP 200."""
    out = {}
    for p in ps:
        text = p.log_path.read_text(encoding="utf-8", errors="replace") if p.log_path.exists() else ""
        out[p.name] = text.count("Traceback (most recent call last)")
    return out


async def load_and_drain(
    args: argparse.Namespace, st: stack.Stack, smtp: SmtpServer, leads: list[load.Lead]
) -> tuple[float, bool]:
    columns = (TextColumn("{task.description:<9}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=False) as progress:
        posting = progress.add_task("posted", total=len(leads))
        replies = progress.add_task("replies", total=len(leads))

        def acked() -> None:
            progress.advance(posting)

        async def watch() -> None:
            emails = {lead.email for lead in leads}
            while True:
                progress.update(replies, completed=load.answered(smtp.recorder, emails))
                await asyncio.sleep(0.25)

        watcher = asyncio.create_task(watch())
        try:
            t0 = await load.post_all(st.base_url, leads, args.post_timeout, acked)
            done = await load.drain(
                smtp.recorder,
                leads,
                args.drain_timeout,
                args.settle,
                lambda n: progress.update(replies, completed=n),
            )
        finally:
            watcher.cancel()
    return t0, done


def summarize(
    args: argparse.Namespace, leads: list[load.Lead], smtp: SmtpServer, t0: float, drained: bool
) -> dict[str, Any]:
    mails = smtp.recorder.mails()
    by_rcpt: dict[str, list[float]] = {}
    for m in mails:
        by_rcpt.setdefault(m.rcpt, []).append(m.at)
    first_reply = [
        min(by_rcpt[lead.email]) - lead.sent_at for lead in leads if lead.email in by_rcpt and lead.sent_at
    ]
    acks = [lead.ack_ms for lead in leads if lead.ack_ms is not None]
    statuses = Counter(str(lead.status) if lead.status is not None else "error" for lead in leads)
    emails = {lead.email for lead in leads}
    arrivals = [m.at for m in mails if m.rcpt in emails]
    late = [lead.sent_at - (t0 + lead.scheduled) for lead in leads if lead.sent_at is not None]
    errors = [lead.error for lead in leads if lead.error]
    out: dict[str, Any] = {
        "mode": args.mode,
        "first_reply_p50_s": rnd(pct(first_reply, 0.5)),
        "first_reply_p99_s": rnd(pct(first_reply, 0.99)),
        "ack_p99_ms": rnd(pct(acks, 0.99), 1),
        "unanswered": sum(1 for lead in leads if lead.email not in by_rcpt),
        "doubled": sum(1 for lead in leads if len(by_rcpt.get(lead.email, ())) > 1),
        "non_2xx": sum(1 for lead in leads if lead.status is None or not 200 <= lead.status < 300),
    }
    if args.rate is not None:
        out.update(rate=args.rate, seconds=args.seconds)
    else:
        out.update(burst=args.burst, within=args.within)
    out.update(
        leads=len(leads),
        ack_p50_ms=rnd(pct(acks, 0.5), 1),
        ack_max_ms=rnd(max(acks, default=None), 1),
        first_reply_max_s=rnd(max(first_reply, default=None)),
        last_reply_after_first_post_s=rnd(max(arrivals) - t0 if arrivals else None),
        statuses=dict(statuses),
        post_errors=Counter(e.split(":", 1)[0] for e in errors) or None,
        mails=len(mails),
        mails_to_strangers=sum(1 for m in mails if m.rcpt not in emails),
        send_lag_ms_max=rnd(max(late, default=0.0) * 1000, 1),  # how late the bench itself posted
        all_acked_answered=drained,
    )
    return out


def write_per_lead(path: Path, leads: list[load.Lead], smtp: SmtpServer, launch: float) -> None:
    """One JSON line per lead, times in seconds after the bot's launch: a tail is a stall at start,
    a periodic job, or spread evenly, and these lines tell which."""
    first: dict[str, float] = {}
    for m in smtp.recorder.mails():
        first[m.rcpt] = min(m.at, first.get(m.rcpt, m.at))
    with path.open("w", encoding="utf-8") as f:
        for lead in leads:
            sent = None if lead.sent_at is None else lead.sent_at - launch
            reply = first.get(lead.email)
            row = {
                "i": lead.index,
                "sent_s": rnd(sent),
                "ack_ms": rnd(lead.ack_ms, 1),
                "status": lead.status,
                "first_reply_s": rnd(reply - lead.sent_at) if reply and lead.sent_at else None,
            }
            f.write(json.dumps(row) + "\n")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # a SIGTERM to the bench still stops what it started and drops its database


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_fd_limit()
    signal.signal(signal.SIGTERM, _interrupt)
    if args.rate is not None:
        n, interval = max(1, round(args.rate * args.seconds)), 1.0 / args.rate
    else:
        n, interval = args.burst, (args.within / args.burst if args.burst else 0.0)
    workdir = Path(tempfile.mkdtemp(prefix=f"sheepdog-bench-{args.mode}-"))
    err.print(f"bench: logs and config in {workdir}")
    smtp = SmtpServer(stack.free_port())
    smtp.start()
    started: list[procs.Proc] = []
    sampler = procs.RssSampler(started)
    st: stack.Stack | None = None
    result: dict[str, Any] = {"mode": args.mode}
    try:
        st = stack.make_stack(
            args.mode,
            workdir,
            smtp_port=smtp.port,
            pg_admin_url=args.pg_admin_url,
            redis_url=args.redis_url,
            autonomy=args.autonomy,
            sentence_encoder=not args.words_only,
        )
        result["sentence_encoder"] = not args.words_only
        cfg = ["--config", str(st.config_path)]
        if args.mode == "production":  # a shared database is migrated once, before the processes start
            t = time.monotonic()
            code = procs.run_once(["migrate", *cfg], workdir / "migrate.log", workdir, st.config_path)
            if code != 0:
                raise RuntimeError(f"`sheepdog migrate` exited with {code}; see {workdir / 'migrate.log'}")
            result["migrate_s"] = round(time.monotonic() - t, 2)
        # The fitted model is cached on disk (~/.cache/sheepdog): only the very first start after
        # an install or upgrade fits it. Make sure it is there, so start-up and idle CPU are those
        # of every other start (the fit, if one was needed, is reported apart).
        t = time.monotonic()
        subprocess.run(
            [
                sys.executable,
                "-c",
                f"from sheepdog.brain.classifier import shared_model; shared_model(vectors={not args.words_only})",
            ],
            cwd=workdir,
            env=procs.bench_env(),
            check=True,
            timeout=300,
        )
        result["model_cache_s"] = round(time.monotonic() - t, 2)
        launch = time.monotonic()
        started.append(procs.start("bot", ["run", *cfg], workdir, workdir, st.config_path))
        sampler.start()
        bot_alone = None
        if args.mode == "production" and args.stagger:
            bot_alone = asyncio.run(wait_ready(st, started[0], [], args.ready_timeout))
        if args.mode == "production":
            for i in range(args.workers):
                started.append(
                    procs.start(f"worker{i + 1}", ["worker", *cfg], workdir, workdir, st.config_path)
                )
        bot, workers = started[0], started[1:]
        ready = {
            **asyncio.run(wait_ready(st, bot, workers, args.ready_timeout, readyz=args.mode == "embedded")),
            **(bot_alone or {}),
        }
        result["ready_s"] = round(time.monotonic() - launch, 2)
        result["bot_ready_s"] = round(ready["bot"], 2)
        result["health_path"] = ready["health_path"]
        if workers:
            result["workers_ready_s"] = round(ready["workers"], 2)
            brain = ready.get("workers_brain")
            result["workers_brain_loaded_s"] = None if brain is None else round(brain, 2)
            result["startup_jobs_s"] = round(wait_startup_jobs(st, args.ready_timeout), 2)
            err.print(
                f"bench: ready in {result['ready_s']} s, start-up jobs done {result['startup_jobs_s']} s later;"
                f" measuring idle CPU for {args.idle_seconds:g} s"
            )
            result["startup_cpu_s"] = {p.name: round(procs.cpu_s(p.pid), 2) for p in started}
            cpu = idle_cpu(started, args.idle_seconds)
            result["idle_bot_cpu_pct"] = cpu[0]
            result["idle_worker_cpu_pct"] = max(cpu[1:])
            result["idle_worker_cpu_pct_each"] = cpu[1:]
        else:
            err.print(f"bench: ready in {result['ready_s']} s")
        leads = load.make_leads(secrets.token_hex(3), n, interval)
        result["loadavg_1m_before"] = round(os.getloadavg()[0], 2)  # was the machine busy with other work?
        cpu_before = [procs.cpu_s(p.pid) for p in started]
        t0, drained = asyncio.run(load_and_drain(args, st, smtp, leads))
        result.update(summarize(args, leads, smtp, t0, drained))
        if args.per_lead is not None:
            write_per_lead(args.per_lead, leads, smtp, launch)
        result["load_cpu_s"] = {
            p.name: round(procs.cpu_s(p.pid) - b, 2) for p, b in zip(started, cpu_before, strict=True)
        }
        for p in started:
            p.exit_code_before_stop = p.popen.poll()
    except RuntimeError as exc:  # the system under test did not come up: its log says why
        result["error"] = str(exc)
        err.print(f"[red]bench: {exc}[/]")
    except Exception as exc:  # the bench's own set-up (PostgreSQL, Redis, a port) failed
        result["error"] = f"{type(exc).__name__}: {exc}"
        err.print_exception()
    except KeyboardInterrupt:
        result["error"] = "interrupted"
    finally:
        sampler.stop()
        procs.stop(started)
        smtp.stop()
        if st is not None and st.database and not args.keep:
            try:
                stack.drop_database(args.pg_admin_url, st.database)
            except Exception as exc:  # cleanup must not hide the result
                err.print(f"[yellow]bench: could not drop database {st.database}: {exc}[/]")
        if st is not None and st.redis_url and not args.keep:
            with contextlib.suppress(Exception):
                stack.flush_redis(st.redis_url)
    if started:
        result["bot_rss_mb_max"] = round(started[0].rss_mb_max, 1)
        if len(started) > 1:
            result["worker_rss_mb_max"] = [round(p.rss_mb_max, 1) for p in started[1:]]
            result["worker_horse_rss_mb_max"] = round(max(p.child_rss_mb_max for p in started[1:]), 1)
        result["tracebacks_in_logs"] = log_problems(started)
        died = {p.name: p.exit_code_before_stop for p in started if p.exit_code_before_stop is not None}
        if died:
            result["exited_during_run"] = died
    result.update(
        commit=git_commit(), date=datetime.now(UTC).strftime("%Y-%m-%dT%H:%MZ"), log_dir=str(workdir)
    )
    first = [k for k in REQUIRED if k in result]
    print(json.dumps({k: result[k] for k in [*first, *(k for k in result if k not in first)]}), flush=True)
    return 1 if "error" in result else 0
