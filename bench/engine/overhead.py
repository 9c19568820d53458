"""What a job costs beyond its work: a worker (Sheepdog's, SimpleWorker, services kept) runs N
no-op `ping` jobs from a real Redis; each job's time from one dequeue to the next is its overhead
(RQ's dequeue and bookkeeping, our wrapper). Prints one JSON line.

    python -m bench.engine.overhead [--jobs 500] [--redis redis://127.0.0.1:6379/7]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import tempfile
import time
from typing import Any

from redis import Redis

from sheepdog.app import build_services
from sheepdog.config import load_settings
from sheepdog.jobs import worker as sheepdog_worker
from sheepdog.jobs.queue import RqQueue


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.engine.overhead")
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/7")
    args = parser.parse_args(argv)
    Redis.from_url(args.redis).flushdb()
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            None,
            environ={},
            overrides={
                "storage": {"url": f"sqlite:///{tmp}/overhead.db"},
                "queue": {"backend": "rq", "redis_url": args.redis, "queue_name": "overhead"},
            },
        )
        services = build_services(settings)
        sheepdog_worker._services = services  # what `sheepdog worker` does before its first job
        queue = services.queue
        assert isinstance(queue, RqQueue)
        for i in range(args.jobs):
            queue.enqueue("ping", key=f"ping-{i}")
        marks: list[float] = []
        base = sheepdog_worker._worker_class()

        class Timed(base):  # type: ignore[misc, valid-type]
            def execute_job(self, job: Any, q: Any) -> None:
                marks.append(time.perf_counter())
                super().execute_job(job, q)

        worker = Timed([queue.queue], connection=Redis.from_url(args.redis), name="overhead-bench")
        cpu = time.process_time()
        started = time.perf_counter()
        worker.work(burst=True, logging_level="WARNING")
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu
        gaps = [(b - a) * 1000 for a, b in itertools.pairwise(marks)]
        gaps.sort()
        print(
            json.dumps(
                {
                    "jobs": len(marks),
                    "job_overhead_p50_ms": round(statistics.median(gaps), 2),
                    "job_overhead_p90_ms": round(gaps[int(len(gaps) * 0.9)], 2),
                    "job_overhead_mean_ms": round(wall / max(1, len(marks)) * 1000, 2),
                    "cpu_per_job_ms": round(cpu / max(1, len(marks)) * 1000, 2),
                }
            )
        )
        services.db.dispose()
    Redis.from_url(args.redis).flushdb()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
