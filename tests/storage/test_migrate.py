"""On a shared database, `run` and `worker` refuse a schema behind the code and say to run
`sheepdog migrate`, which brings it forward keeping every row; the embedded SQLite file of
`sheepdog run` migrates itself, and a worker never migrates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import func, select

from sheepdog.app import build_services
from sheepdog.cli import main
from sheepdog.config import load_settings
from sheepdog.handlers.inbound import receive
from sheepdog.jobs.queue import InProcessQueue
from sheepdog.storage.db import Database, alembic_config, schema_is_current
from sheepdog.storage.tables import Lead, Message
from tests.jobs.test_outbox_and_cadence import lead_message


def config(tmp_path: Path, url: str, redis_url: str) -> Path:
    path = tmp_path / "sheepdog.toml"
    path.write_text(
        f"""
[storage]
url = "{url}"
[queue]
backend = "rq"
redis_url = "{redis_url}"
queue_name = "sheepdog-migrate"
[demo]
smtp_sink = false
""",
        encoding="utf-8",
    )
    return path


def test_an_old_schema_refuses_to_start_and_migrate_keeps_the_rows(
    tmp_path: Path, pg_url: str, redis_url: str, smtp: Any, capsys: Any
) -> None:
    cfg = config(tmp_path, pg_url, redis_url)
    settings = load_settings(cfg, environ={})
    svc = build_services(settings, queue=InProcessQueue(periodic=False))
    lead_id = receive(svc, lead_message()).lead_id
    command.downgrade(alembic_config(svc.db.engine), "0002")  # as an install of the previous version left it
    svc.db.dispose()

    for role in ("run", "worker"):
        assert main([role, "--config", str(cfg)]) == 2
        out = capsys.readouterr().out
        assert "is behind this version of Sheepdog" in out and "sheepdog migrate" in out, out

    assert main(["migrate", "--config", str(cfg)]) == 0
    head = ScriptDirectory.from_config(alembic_config(svc.db.engine)).get_current_head()
    assert f"migrated 0002 → {head}" in capsys.readouterr().out
    assert main(["migrate", "--config", str(cfg)]) == 0  # again: nothing to do
    assert "schema is current" in capsys.readouterr().out
    db = Database(pg_url, run_migrations=False)
    assert schema_is_current(db.engine)
    with db.session() as s:
        assert s.get(Lead, lead_id) is not None
        (message,) = s.scalars(select(Message).where(Message.direction == "inbound")).all()
        assert message.understood_at is not None  # read before the upgrade: not read again
        assert s.scalar(select(func.count()).select_from(Lead)) == 1
    db.dispose()


def test_the_embedded_file_migrates_itself_but_a_worker_never_does(
    tmp_path: Path, redis_url: str, capsys: Any
) -> None:
    from sheepdog.errors import ConfigError
    from sheepdog.storage.db import open_database

    url = f"sqlite:///{tmp_path}/new.db"
    try:
        open_database(url, role="worker")
        raise AssertionError("a worker opened an empty database")
    except ConfigError as exc:
        assert "sheepdog migrate" in str(exc)
    db = open_database(url, role="run")  # the embedded default's first start
    assert schema_is_current(db.engine)
    db.dispose()
    open_database(url, role="worker").dispose()  # now current: the worker starts
