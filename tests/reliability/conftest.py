"""Reliability fixtures: the storage tests here run on SQLite and on PostgreSQL (which, unlike
SQLite, enforces VARCHAR sizes and refuses NUL bytes: the bugs issue 18 found live there)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/sheepdog.db"
    return str(request.getfixturevalue("pg_url"))
