"""Entry point for RQ workers: builds the services once per worker process from the config."""

from __future__ import annotations

import os
from typing import Any

_services: Any = None


def services() -> Any:
    global _services
    if _services is None:
        from sheepdog.app import build_services
        from sheepdog.config import load_settings

        settings = load_settings(os.environ.get("SHEEPDOG_CONFIG") or None)
        _services = build_services(settings)
    return _services


def run(job: str, *args: Any) -> Any:
    """What RQ calls: one job by name, with the worker's services."""
    from sheepdog.jobs import tasks

    return tasks.run_job(services(), job, *args)
