"""Engine, sessions and migrations. SQLite (WAL) by default, PostgreSQL by URL; same code."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, String, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def make_engine(url: str) -> Engine:
    """Create the engine; for a file SQLite URL the parent folder is created first."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = str(parsed.set(drivername="postgresql+psycopg"))
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent; run at every start)."""
    command.upgrade(alembic_config(engine), "head")


def schema_is_current(engine: Engine) -> bool:
    """True when the database is at the newest migration this code knows."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(alembic_config(engine)).get_heads())
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return current == heads


def mask_url(url: str) -> str:
    """A database or Redis URL fit to print: any password shown as ***."""
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return "(unparsable URL)"
    return url if parsed.password is None else parsed.render_as_string(hide_password=True)


def open_database(url: str, *, role: str) -> Database:
    """The database for a long-running process. The embedded default (a SQLite file that
    `sheepdog run` owns) brings its schema up to date itself; a shared database (PostgreSQL) is
    only migrated by `sheepdog migrate`, and workers never migrate, so processes never race to
    migrate and a deploy says when it forgot to: a schema behind this code refuses the start,
    saying what to run."""
    from sqlalchemy.exc import ArgumentError

    from sheepdog.errors import ConfigError

    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        raise ConfigError(
            f"storage.url = {url!r} is not a database URL (e.g. sqlite:///data/sheepdog.db)"
        ) from None
    if backend == "sqlite" and role == "run":
        return Database(url)
    db = Database(url, run_migrations=False)
    try:
        current = schema_is_current(db.engine)
    except Exception as exc:
        db.dispose()
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"storage.url = {mask_url(url)}: cannot read the database ({reason})") from None
    if not current:
        db.dispose()
        raise ConfigError(
            f"the database at {mask_url(url)} is behind this version of Sheepdog: run "
            f"`sheepdog migrate` (with the same config), then start `sheepdog {role}` again"
        )
    return db


class Database:
    """The engine plus a session factory; `with db.session() as s:` commits or rolls back."""

    def __init__(self, url: str, *, run_migrations: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url)
        if run_migrations:
            migrate(self.engine)
        self._factory = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self._factory, "before_flush", fit_to_columns)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Commit on success, roll back on error; then run what waited for the commit
        (`after_commit`), so a job never looks for a row another connection cannot see yet."""
        s = self._factory()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()
        for callback in s.info.pop(AFTER_COMMIT, []):
            callback()

    def answers(self) -> bool:
        """True when the database answers a trivial query. A failure while it answers is a bug on
        that input (a 4xx, flagged); only a database that does not answer earns a 503 and a retry."""
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        self.engine.dispose()


TRUNCATED = "…"


def fit(value: str, length: int | None) -> str:
    """Text every database stores: no NUL byte (PostgreSQL refuses them in text), and at most
    `length` characters, cut on purpose with an ellipsis (the full value stays in the message's
    raw payload; SQLite would keep it all, PostgreSQL would refuse the row)."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    if length is not None and len(value) > length:
        value = value[: length - 1] + TRUNCATED
    return value


def fit_to_columns(session: Session, _context: object, _instances: object) -> None:
    """before_flush: every string bound for a text column is fitted to it (see `fit`), so a web-form
    name of 5,000 characters or an SMTP refusal of 300 never fails the whole write on PostgreSQL."""
    for obj in (*session.new, *session.dirty):
        for prop in inspect(obj).mapper.column_attrs:
            kind = prop.columns[0].type
            if not isinstance(kind, String):
                continue
            value = getattr(obj, prop.key, None)
            if isinstance(value, str):
                fitted = fit(value, kind.length)
                if fitted != value:
                    setattr(obj, prop.key, fitted)


AFTER_COMMIT = "sheepdog_after_commit"


def after_commit(session: Session, callback: Callable[[], object]) -> None:
    """Run `callback` once this session's transaction has committed (never if it rolls back)."""
    session.info.setdefault(AFTER_COMMIT, []).append(callback)
