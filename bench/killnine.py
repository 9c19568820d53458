"""kill -9 at random moments over >= 200 automatic replies, counted at a local SMTP server.

    .venv/bin/python -m bench.killnine --mode embedded   --leads 200 --kills 8 --seed 13
    .venv/bin/python -m bench.killnine --mode production --leads 200 --kills 8 --seed 13

embedded: one `sheepdog run` (SQLite, in-process queue) is killed with SIGKILL and restarted;
production: `sheepdog run` and two `sheepdog worker` on PostgreSQL/Redis
(SHEEPDOG_TEST_PG_URL, SHEEPDOG_TEST_REDIS_URL), a worker is killed and restarted each time.
Leads are posted at --rate a second; the kills land at random (seeded) moments while they
arrive. Prints one JSON line: leads stored, answered once, doubled, flagged ("may not have gone
out — check"), and unanswered-and-unflagged (must be 0, with doubled 0)."""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller

from tests.conftest import PG_URL, REDIS_URL, SmtpRecorder, free_port
from tests.jobs.deployment import Deployment, replies_by_recipient, wait_for
from tests.jobs.test_kill_embedded import Embedded


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=("embedded", "production"), default="embedded")
    ap.add_argument("--leads", type=int, default=200)
    ap.add_argument("--kills", type=int, default=8)
    ap.add_argument("--rate", type=float, default=4.0)
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    recorder = SmtpRecorder()
    smtp_port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    root = Path(tempfile.mkdtemp(prefix="killnine-"))
    if args.mode == "embedded":
        deploy: Deployment = Embedded(
            root, f"sqlite:///{root}/sheepdog.db", REDIS_URL, smtp_port, free_port()
        )
        victims = ["bot"]
    else:
        from sqlalchemy import create_engine, text

        engine = create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        from redis import Redis

        Redis.from_url(REDIS_URL).flushdb()
        deploy = Deployment(root, PG_URL, REDIS_URL, smtp_port, free_port(), queue_name="killnine")
        victims = ["worker-1", "worker-2"]
    deploy.write_config()
    workers = 0 if args.mode == "embedded" else 2
    tag = "k9"
    statuses: dict[int, int] = {}
    kills = 0
    try:
        if workers:
            deploy.start_all(workers=workers)
        else:
            deploy.start_bot()
            deploy.wait_ready(workers=0)
        duration = args.leads / args.rate
        moments = sorted(rng.uniform(0.5, duration) for _ in range(args.kills))
        start = time.monotonic()

        def killer() -> None:
            nonlocal kills
            for at in moments:
                time.sleep(max(0.0, start + at - time.monotonic()))
                name = rng.choice(victims)
                deploy.kill(name, signal.SIGKILL)
                kills += 1
                (deploy.start_bot if name == "bot" else lambda n=name: deploy.start_worker(n))()
                deploy.wait_ready(workers=workers)

        thread = threading.Thread(target=killer)
        thread.start()
        for i, status in zip(
            range(args.leads), deploy.post_leads(range(args.leads), tag, per_s=args.rate), strict=True
        ):
            statuses[i] = status
        thread.join()
        for i in [
            i for i, st in statuses.items() if st != 200
        ]:  # a post the dead process never answered: retried
            statuses[i] = deploy.post_lead(i, tag)
        stored = {f"{tag}-{i}@example.com" for i, st in statuses.items() if st == 200}
        wait_for(
            lambda: len(set(replies_by_recipient(recorder)) | deploy.flagged()) >= len(stored), 300, "replies"
        )
        wait_for(deploy.outbox_settled, 120, "the outbox to settle")
        time.sleep(3)  # watch for late doubles
        got = replies_by_recipient(recorder)
        flagged = deploy.flagged()
        result = {
            "mode": args.mode,
            "leads": args.leads,
            "kills": kills,
            "stored": len(stored),
            "answered_once": sum(1 for r in stored if got.get(r) == 1),
            "doubled": sum(1 for k in got.values() if k > 1),
            "flagged": len(flagged),
            "unanswered_unflagged": len({r for r in stored if r not in got and r not in flagged}),
        }
        print(json.dumps(result))
        return 0 if result["doubled"] == 0 and result["unanswered_unflagged"] == 0 else 1
    finally:
        deploy.stop()
        controller.stop()
        print(f"logs in {root}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
