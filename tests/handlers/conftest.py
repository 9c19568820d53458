"""Handler fixtures: the real services on the demo business, jobs running in-process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sheepdog.app import build_services
from sheepdog.jobs.queue import InProcessQueue


@pytest.fixture
def svc(make_settings: Any, smtp: Any) -> Iterator[Any]:
    services = build_services(make_settings(), queue=InProcessQueue(periodic=False))
    services.queue.start()
    yield services
    services.queue.stop()
    services.db.dispose()
