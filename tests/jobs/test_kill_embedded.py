"""kill -9 of the embedded `sheepdog run` (SQLite, in-process queue) in the middle of a send:
after a restart every lead is answered exactly once, except the one whose send was cut off,
which is flagged "may not have gone out — check" on its card and never sent again blindly.

Deterministic: the SMTP server holds the DATA of one chosen lead, the test kills the process
while it is held, and counts at the server (bench/killnine.py runs the random-moment version
over 200 replies)."""

from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import free_port
from tests.jobs.deployment import Deployment, wait_for
from tests.jobs.test_engine_production import HoldingSmtp, assert_each_answered_once

pytestmark = pytest.mark.slow


class Embedded(Deployment):
    """`sheepdog run` alone, as `make run` starts it: SQLite and the in-process queue."""

    def queue_section(self) -> str:
        return ""  # the in-process queue, inside `sheepdog run`

    def workers_alive(self) -> int:
        return 0  # no workers: the queue runs inside `sheepdog run`


def test_embedded_run_killed_mid_send_answers_each_lead_once_or_flags_it(
    tmp_path: Path, redis_url: str
) -> None:
    held = "embedded-7@example.com"
    recorder = HoldingSmtp(held)
    smtp_port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    deploy = Embedded(tmp_path, f"sqlite:///{tmp_path}/sheepdog.db", redis_url, smtp_port, free_port())
    deploy.write_config()
    try:
        deploy.start_bot()
        deploy.wait_ready(workers=0)
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(deploy.post_leads, range(0, 8), "embedded", per_s=10)
            wait_for(recorder.holding.is_set, 60, f"the send to {held} to reach the SMTP server")
            deploy.kill("bot", signal.SIGKILL)  # mid-send, with leads still arriving
            statuses = first.result()
        deploy.start_bot()  # the process manager restarts it
        deploy.wait_ready(workers=0)
        statuses += deploy.post_leads(range(8, 12), "embedded", per_s=10)
        stored = [i for i, status in enumerate(statuses) if status == 200]
        # a post that reached the dead process got no answer: the web form's sender would retry
        for i in (i for i, status in enumerate(statuses) if status != 200):
            assert deploy.post_lead(i, "embedded") == 200
        assert len(stored) + statuses.count(0) + sum(1 for s in statuses if s not in (0, 200)) == 12
        assert_each_answered_once(recorder, "embedded", 12, deploy, timeout=120, flagged={held})
    finally:
        deploy.stop()
        controller.stop()
