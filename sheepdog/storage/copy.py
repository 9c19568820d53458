"""`sheepdog db copy`: move a deployment's data to another database — typically the demo's SQLite
file to the PostgreSQL of production — every table of the schema, ids kept, so that leads, cards,
threads and the event log carry on where they were.

What it promises: the source is only read (in one snapshot where the database gives one); the
target is migrated, must be empty (or `--force` replaces its rows) and is written in one
transaction, so a failure leaves it as it was; JSON (including the difference between SQL NULL and
JSON null), bytes and aware datetimes arrive unchanged; PostgreSQL's id sequences are moved past
the copied ids; no message ever shows a password.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Engine,
    Table,
    Text,
    bindparam,
    cast,
    delete,
    false,
    func,
    literal,
    null,
    select,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from sheepdog.storage.db import Database, alembic_config, make_engine, mask_url, schema_is_current
from sheepdog.storage.tables import Base

BATCH = 500
"""Rows read and written per round trip: few enough to keep memory flat, many enough to be fast."""


class CopyRefused(Exception):
    """The copy would be wrong or harmful as asked (exit 2); nothing was written."""


class CopyFailed(Exception):
    """The copy broke off (a database error); the target's transaction was rolled back (exit 1)."""


@dataclass
class CopyReport:
    """What was copied, for the summary: masked URLs, rows per table in copy order."""

    source: str
    target: str
    rows: dict[str, int] = field(default_factory=dict)
    replaced: dict[str, int] = field(default_factory=dict)  # rows the target held, deleted by --force
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _scrub(text: str, *urls: str) -> str:
    """A database error's text with every URL masked and every password replaced, since drivers
    may echo the connection string they were given."""
    for url in urls:
        text = text.replace(url, mask_url(url))
        try:
            parsed = make_url(url)
        except ArgumentError:
            continue
        if parsed.password:
            secret = str(parsed.password)
            for form in (secret, quote(secret, safe=""), quote_plus(secret)):
                text = text.replace(form, "***")
    return text


def _reason(exc: BaseException, *urls: str) -> str:
    """The first line of a database error (never the SQL or the row values, which may hold
    customer data), masked."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return _scrub(lines[0] if lines else type(orig).__name__, *urls)


def _parse(url: str, role: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError:
        raise CopyRefused(
            f"the {role} {mask_url(url)} is not a database URL "
            "(e.g. sqlite:///./data/sheepdog.db or postgresql+psycopg://user:pass@host/db)"
        ) from None


def _sqlite_path(url: URL) -> Path | None:
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).resolve()


def _check_urls(source: str, target: str) -> None:
    """Refuse what cannot be meant: an in-memory or missing SQLite source (opening it would
    create an empty file), or the same database on both sides."""
    src, dst = _parse(source, "source"), _parse(target, "target")
    if src.get_backend_name() == "sqlite":
        path = _sqlite_path(src)
        if path is None:
            raise CopyRefused("the source is an in-memory SQLite database: there is nothing to copy")
        if not path.is_file():
            raise CopyRefused(f"the source {mask_url(source)}: no database file at {path}")
    same_file = _sqlite_path(src) is not None and _sqlite_path(src) == _sqlite_path(dst)
    same_server = src.get_backend_name() != "sqlite" and (
        src.set(drivername=src.get_backend_name(), password=None)
        == dst.set(drivername=dst.get_backend_name(), password=None)
    )
    if same_file or same_server:
        raise CopyRefused(f"the source and the target are the same database ({mask_url(target)})")


def _check_source_schema(engine: Engine, source: str) -> None:
    """A source behind (or ahead of) this code's schema would not fit the tables copied."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    if schema_is_current(engine):
        return
    heads = ", ".join(sorted(ScriptDirectory.from_config(alembic_config(engine)).get_heads()))
    with engine.connect() as conn:
        current = ", ".join(sorted(MigrationContext.configure(conn).get_current_heads())) or "none"
    raise CopyRefused(
        f"the source {mask_url(source)} is at schema revision {current}, this Sheepdog expects {heads}: "
        f"run `sheepdog migrate --config …` with storage.url = {mask_url(source)} first, then copy again"
    )


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A read-only view of the source as of one moment, so a copy taken while the demo still
    runs is consistent (no draft without its lead); rolled back at the end, never written."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        elif engine.dialect.name == "sqlite":  # pysqlite starts no transaction for reads by itself
            conn.exec_driver_sql("BEGIN")
        try:
            yield conn
        finally:
            conn.rollback()


def _tables() -> list[Table]:
    """Every table of the schema, parents before children (foreign-key order)."""
    return list(Base.metadata.sorted_tables)


def _counts(conn: Connection) -> dict[str, int]:
    return {t.name: int(conn.scalar(select(func.count()).select_from(t)) or 0) for t in _tables()}


def _json_columns(table: Table) -> set[str]:
    return {c.name for c in table.columns if isinstance(c.type, JSON)}


def _self_references(table: Table) -> list[Column[Any]]:
    """Columns pointing into their own table (contacts.merged_into_id): written in a second pass,
    since a row may point at one with a higher id, not inserted yet."""
    return [c for c in table.columns if any(fk.column.table is table for fk in c.foreign_keys)]


def _source_select(table: Table) -> Any:
    """JSON columns are read as their stored text, so SQL NULL and JSON null stay apart."""
    json_cols = _json_columns(table)
    cols = [cast(c, Text).label(c.name) if c.name in json_cols else c for c in table.columns]
    return select(*cols).order_by(*table.primary_key.columns)


def _target_value(raw: str | None) -> Any:
    if raw is None:
        return null()  # SQL NULL
    value = json.loads(raw)
    return JSON.NULL if value is None else value  # JSON null stays JSON null


def _copy_table(src: Connection, dst: Connection, table: Table, batch: int, advance: Any) -> int:
    """Copy one table in batches; return the rows written."""
    json_cols = _json_columns(table)
    later = _self_references(table)
    pk = list(table.primary_key.columns)
    pending: list[dict[str, Any]] = []
    copied = 0
    result = src.execution_options(yield_per=batch).execute(_source_select(table))
    for part in result.partitions(batch):
        rows = []
        for row in part:
            values = dict(row._mapping)
            for name in json_cols:
                values[name] = _target_value(values[name])
            if later and any(values[c.name] is not None for c in later):
                pending.append({f"b_{c.name}": values[c.name] for c in [*pk, *later]})
                for c in later:
                    values[c.name] = None
            rows.append(values)
        dst.execute(table.insert(), rows)
        copied += len(rows)
        advance(len(rows))
    if pending:
        where = [c == bindparam(f"b_{c.name}") for c in pk]
        stmt = table.update().where(*where).values({c.name: bindparam(f"b_{c.name}") for c in later})
        for start in range(0, len(pending), batch):
            dst.execute(stmt, pending[start : start + batch])
    return copied


def _reset_sequences(dst: Connection) -> None:
    """Move each id sequence past the copied ids (PostgreSQL), so the next row gets max(id) + 1
    instead of colliding with a copied one. SQLite needs nothing: it takes max(rowid) + 1."""
    if dst.dialect.name != "postgresql":
        return
    preparer = dst.dialect.identifier_preparer
    for table in _tables():
        column = table.autoincrement_column
        if column is None:
            continue
        highest = select(func.max(column)).scalar_subquery()
        sequence = func.pg_get_serial_sequence(literal(preparer.format_table(table)), literal(column.name))
        dst.execute(select(func.setval(sequence, func.coalesce(highest, 0) + 1, false())))


def _refusal_for_rows(target: str, held: dict[str, int]) -> CopyRefused:
    listed = ", ".join(f"{name} ({n} row{'s' if n != 1 else ''})" for name, n in held.items())
    return CopyRefused(
        f"the target {mask_url(target)} already holds Sheepdog data: {listed}; nothing was copied. "
        "Copy into an empty database, or add --force to delete those rows and replace them "
        "(in the same transaction as the copy)"
    )


def copy_database(
    source: str,
    target: str,
    *,
    force: bool = False,
    batch: int = BATCH,
    progress_console: Console | None = None,
) -> CopyReport:
    """Copy every table of Sheepdog's schema from `source` to `target` (see the module's
    docstring for what is promised). Raises CopyRefused or CopyFailed, with masked messages."""
    started = time.monotonic()
    _check_urls(source, target)
    report = CopyReport(source=mask_url(source), target=mask_url(target))
    src_engine = make_engine(source)
    try:
        try:
            _check_source_schema(src_engine, source)
        except SQLAlchemyError as exc:
            raise CopyFailed(f"cannot read the source {mask_url(source)}: {_reason(exc, source)}") from None
        try:
            dst_db = Database(target)  # migrates the target to this code's schema
        except Exception as exc:
            raise CopyFailed(
                f"cannot open and migrate the target {mask_url(target)}: {_reason(exc, target)}"
            ) from None
        current: Table | None = None  # the table being written, named if the copy breaks off
        try:
            with dst_db.engine.begin() as dst, _snapshot(src_engine) as src:
                held = {name: n for name, n in _counts(dst).items() if n}
                if held and not force:
                    raise _refusal_for_rows(target, held)
                for old in reversed(_tables()):  # children first
                    if held.get(old.name):
                        dst.execute(delete(old))
                report.replaced = held
                totals = _counts(src)
                progress = Progress(
                    TextColumn("{task.description:<20}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    console=progress_console or Console(stderr=True),
                )
                with progress:
                    for current in _tables():
                        task = progress.add_task(escape(current.name), total=totals[current.name])
                        report.rows[current.name] = _copy_table(
                            src, dst, current, batch, lambda n, task=task: progress.advance(task, n)
                        )
                current = None
                _reset_sequences(dst)
        except SQLAlchemyError as exc:
            where = f" while copying {current.name}" if current is not None else ""
            raise CopyFailed(
                f"copy to {mask_url(target)} failed{where}: {_reason(exc, source, target)}; "
                "the target was rolled back, nothing was written"
            ) from None
        finally:
            dst_db.dispose()
    finally:
        src_engine.dispose()
    report.seconds = time.monotonic() - started
    return report


def summary_table(report: CopyReport) -> RichTable:
    """Rows copied per table, in copy order, with the total."""
    table = RichTable("table", "rows copied", title=escape(f"{report.source} → {report.target}"))
    for name, n in report.rows.items():
        table.add_row(escape(name), str(n))
    table.add_row("[bold]total[/]", f"[bold]{report.total}[/]")
    return table
