"""Production mode: jobs on a real Redis, run by a real RQ worker process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select

from sheepdog.app import build_services
from sheepdog.config import load_settings
from sheepdog.handlers.inbound import receive
from sheepdog.storage.tables import Outbox
from tests.jobs.test_outbox_and_cadence import lead_message


def test_rq_worker_sends_the_first_reply(tmp_path: Path, redis_url: str, smtp: Any) -> None:
    recorder, port = smtp
    config = tmp_path / "sheepdog.toml"
    config.write_text(
        f"""
[storage]
url = "sqlite:///{tmp_path}/rq.db"
[queue]
backend = "rq"
redis_url = "{redis_url}"
queue_name = "sheepdog-test"
[channels.email.smtp]
host = "127.0.0.1"
port = {port}
[demo]
smtp_sink = false
""",
        encoding="utf-8",
    )
    settings = load_settings(config, environ={})
    svc = build_services(settings)
    result = receive(svc, lead_message())
    assert svc.queue.queue.count >= 1  # the send is waiting on Redis, not done in-process
    assert recorder.messages == []

    env = {**os.environ, "SHEEPDOG_CONFIG": str(config)}
    done = subprocess.run(
        [sys.executable, "-m", "sheepdog.cli", "worker", "--config", str(config), "--burst"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(recorder.messages) == 1
    with svc.db.session() as s:
        row = s.scalars(select(Outbox).where(Outbox.lead_id == result.lead_id)).one()
        assert row.state == "sent"
    svc.db.dispose()
