"""Brain fixtures: the demo business, one shared offline brain, a local Messages API server."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from sheepdog.brain.offline import OfflineBrain
from sheepdog.config import load_settings
from sheepdog.domain.models import Business
from tests.brain.messages_server import MessagesServer


def rss_growth_mb(code: str) -> int:
    """How many MB of RSS a fresh Python process (numpy imported) gains running `code`: a model's
    own footprint, not this test worker's, which has other models loaded."""
    script = (
        "import numpy, resource\n"
        "def rss():\n"
        "    return int(open('/proc/self/statm').read().split()[1]) * resource.getpagesize() >> 20\n"
        f"before = rss()\n{code}\nprint(rss() - before)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip())


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
