"""The engine in production mode, as processes: `sheepdog run` and two `sheepdog worker` on the
machine's PostgreSQL and Redis, every first reply counted at a real SMTP server.

- leads posted while one worker is killed with SIGKILL: each answered exactly once;
- Redis taken away twice for 45 s while 200 leads arrive: each answered exactly once after it
  returns, with no process restarted.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import SmtpRecorder, free_port, port_open, requires_service
from tests.jobs.deployment import Deployment, diagnose, replies_by_recipient, wait_for

pytestmark = pytest.mark.slow


def assert_each_answered_once(
    recorder: Any, tag: str, n: int, deploy: Deployment, timeout: float, flagged: set[str] = frozenset()
) -> None:
    """Wait until every lead has its reply or is flagged "may not have gone out — check", and
    nothing more can be sent; then count. `flagged` must be among the flagged: the send the test
    cut off. Under load another send may have been under way at the kill: it is flagged too (and
    may or may not have arrived), never lost and never sent twice."""
    everyone = {f"{tag}-{i}@example.com" for i in range(n)}
    seen_flagged: set[str] = set()

    def all_answered() -> bool:
        if everyone - flagged <= set(replies_by_recipient(recorder)) and flagged <= seen_flagged:
            return True
        seen_flagged.update(deploy.flagged())
        return everyone <= set(replies_by_recipient(recorder)) | seen_flagged

    try:
        wait_for(all_answered, timeout, f"{n} first replies")
        wait_for(deploy.outbox_settled, 60, "the outbox to settle")
    except AssertionError as exc:
        got = replies_by_recipient(recorder)
        missing = sorted(everyone - set(got) - seen_flagged)
        why = diagnose(deploy.pg_url, missing)
        raise AssertionError(
            f"{exc}; {len(missing)} unanswered and unflagged, e.g. {missing[:5]}\n{why}\n{deploy.logs()}"
        ) from None
    got = replies_by_recipient(recorder)
    doubled = {rcpt: k for rcpt, k in got.items() if k > 1}
    assert not doubled, f"answered more than once: {doubled}"
    now_flagged = deploy.flagged()
    assert flagged <= now_flagged, f"the cut-off send is not flagged: {flagged - now_flagged}"
    assert not flagged & set(got), "the cut-off send was delivered after all"
    assert everyone - now_flagged <= set(got), (
        f"unanswered and unflagged: {everyone - now_flagged - set(got)}"
    )
    assert set(got) <= everyone


class HoldingSmtp(SmtpRecorder):
    """A real SMTP server that holds its answer to the DATA of one recipient until the client
    goes away; a message whose sender vanished before the 250 is not delivered (the server never
    took responsibility for it, RFC 5321 4.1.1.4), exactly as a careful MTA behaves."""

    def __init__(self, hold: str) -> None:
        super().__init__()
        self.hold = hold
        self.holding = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.hold in envelope.rcpt_tos and not self.holding.is_set():
            self.holding.set()
            while not server.transport.is_closing():  # the test kills the sender meanwhile
                await asyncio.sleep(0.02)
            return "421 4.4.2 connection lost before the message was taken"
        return await super().handle_DATA(server, session, envelope)


def test_two_workers_answer_every_lead_once_while_one_is_killed_mid_send(
    tmp_path: Path, pg_url: str, redis_url: str
) -> None:
    """SIGKILL lands on the worker that is in the middle of sending a first reply (the SMTP
    server holds its answer), while other leads keep arriving: the other worker takes everything
    else, each answered exactly once; the send that was cut off is never sent again blindly but
    flagged on its lead's card, "may not have gone out — check"."""
    held = "kill-5@example.com"
    recorder = HoldingSmtp(held)
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    deploy = Deployment(tmp_path, pg_url, redis_url, port, free_port())
    deploy.write_config()
    try:
        deploy.start_all(workers=2)
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(deploy.post_leads, range(0, 30), "kill", per_s=10)
            wait_for(recorder.holding.is_set, 60, f"the send to {held} to reach the SMTP server")
            victim = deploy.worker_sending_to(held)
            deploy.kill(victim, signal.SIGKILL)  # mid-send, with leads still arriving
            statuses = first.result() + deploy.post_leads(range(30, 60), "kill", per_s=10)
        assert set(statuses) == {200}
        assert_each_answered_once(recorder, "kill", 60, deploy, timeout=120, flagged={held})
    finally:
        deploy.stop()
        controller.stop()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """A Redis of the test's own (keeping nothing on disk), so it can be taken away and brought
    back on the same port without disturbing the machine's."""
    binary = shutil.which("redis-server")
    requires_service("redis-server", binary is not None, "apt-get install redis-server")
    assert binary is not None
    port = free_port()

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: port_open("127.0.0.1", port), 10, "redis-server")
        return proc

    state = {"proc": start()}

    class Control:
        def down(self) -> None:
            state["proc"].kill()  # everything it held is gone: queued jobs, leases, registrations
            state["proc"].wait()

        def up(self) -> None:
            state["proc"] = start()

    try:
        yield f"redis://127.0.0.1:{port}/0", Control()
    finally:
        state["proc"].kill()
        state["proc"].wait()


OUTAGE_S = 45.0


def test_redis_away_twice_for_45_s_while_200_leads_arrive(
    tmp_path: Path, pg_url: str, smtp: Any, private_redis: tuple[str, Any]
) -> None:
    recorder, smtp_port = smtp
    redis_url, redis = private_redis
    deploy = Deployment(tmp_path, pg_url, redis_url, smtp_port, free_port())
    deploy.write_config()
    try:
        deploy.start_all(workers=2)
        statuses: list[int] = []
        # 200 leads over ~2 minutes, at 1.6 a second: 20 before the first outage, most during the
        # two outages, a few between and after.
        plan = [(range(0, 10), None), (range(10, 80), "down"), (range(80, 100), "up")]
        plan += [(range(100, 170), "down"), (range(170, 200), "up")]
        for indexes, change in plan:
            if change == "down":
                redis.down()
                began = time.monotonic()
                statuses += deploy.post_leads(indexes, "outage", per_s=len(indexes) / (OUTAGE_S - 2))
                time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - began)))  # the outage lasts 45 s
            elif change == "up":
                redis.up()
                statuses += deploy.post_leads(indexes, "outage", per_s=5)
            else:
                statuses += deploy.post_leads(indexes, "outage", per_s=5)
        assert statuses == [200] * 200, f"not all stored: {sorted(set(statuses))}"
        for name, proc in deploy.procs.items():
            assert proc.poll() is None, f"{name} died during the outage\n{deploy.logs()}"
        assert_each_answered_once(recorder, "outage", 200, deploy, timeout=180)
        assert deploy.flagged() == set()  # nothing was killed: every lead answered, none in doubt
    finally:
        deploy.stop()
