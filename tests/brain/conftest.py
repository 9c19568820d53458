"""Brain fixtures: the demo business, one shared offline brain, a local Messages API server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sheepdog.brain.offline import OfflineBrain
from sheepdog.config import load_settings
from sheepdog.domain.models import Business
from tests.brain.messages_server import MessagesServer


@pytest.fixture(scope="session")
def business() -> Business:
    return load_settings(environ={}).business.to_domain()


@pytest.fixture(scope="session")
def brain() -> OfflineBrain:
    return OfflineBrain()


@pytest.fixture
def api() -> Iterator[MessagesServer]:
    with MessagesServer() as server:
        yield server
