"""Handler fixtures: the real services on the demo business, jobs running in-process.

Every handler test runs on SQLite and on PostgreSQL (SQLite ignores VARCHAR sizes and hid real
bugs): `make_settings` here points storage at PostgreSQL for the second run unless a test names
its own storage.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sheepdog.app import build_services
from sheepdog.jobs.queue import InProcessQueue


@pytest.fixture(params=["sqlite", "postgresql"])
def handler_db(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_settings(make_settings: Any, handler_db: str, request: pytest.FixtureRequest) -> Any:
    pg = request.getfixturevalue("pg_url") if handler_db == "postgresql" else None

    def make(**overrides: Any) -> Any:
        if pg is not None and "storage" not in overrides:
            overrides = {**overrides, "storage": {"url": pg}}
        return make_settings(**overrides)

    return make


@pytest.fixture
def svc(make_settings: Any, smtp: Any) -> Iterator[Any]:
    services = build_services(make_settings(), queue=InProcessQueue(periodic=False))
    services.queue.start()
    yield services
    services.queue.stop()
    services.db.dispose()


@pytest.fixture
def make_services(make_settings: Any) -> Any:
    """Services on the run's database (SQLite, then PostgreSQL), each with a running in-process
    queue without the periodic jobs (the test moves its own clock); stopped at the end."""
    made: list[Any] = []

    def make(**overrides: Any) -> Any:
        svc = build_services(make_settings(**overrides), queue=InProcessQueue(periodic=False))
        svc.queue.start()
        made.append(svc)
        return svc

    yield make
    for svc in made:
        svc.queue.stop()
        svc.db.dispose()
