"""`sheepdog` command: run, worker, init, triage, leads, doctor, contact export/erase."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sheepdog import logs
from sheepdog.config import Settings, example_config_text, load_settings
from sheepdog.errors import ConfigError
from sheepdog.storage.db import mask_url, migrate

# soft_wrap: rich does not fold long lines itself, so a path or the console URL with its token
# stays one piece to copy. console.print reads [words] as rich markup and drops what it takes for
# a tag ("[business]"), so every value printed (names, paths, URLs, errors) goes through escape().
console = Console(soft_wrap=True)


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, dict[str, object]] = {}
    if getattr(args, "port", None):
        overrides["console"] = {"port": args.port}
    path = args.config or os.environ.get("SHEEPDOG_CONFIG") or None
    settings = load_settings(path, overrides=overrides)
    logs.redact(settings)  # from here on no log line can carry one of its secrets
    if settings.demo.smtp_sink:
        # The demo's mail goes to its own sink, whatever smtp says — for `run` (which serves the
        # sink), its workers and doctor alike, so no process sends real mail while the banner
        # says the sink.
        settings.channels.email.smtp.host = "127.0.0.1"
        settings.channels.email.smtp.port = settings.demo.smtp_sink_port
    return settings


def cmd_run(args: argparse.Namespace) -> int:
    from aiohttp import web

    from sheepdog.app import build_runtime, build_services
    from sheepdog.demo import start_sink
    from sheepdog.storage.db import open_database

    settings = _settings(args)
    db = open_database(settings.storage.url, role="run")
    runtime = build_runtime(settings, services=build_services(settings, db=db))
    sink = None
    if settings.demo.smtp_sink:
        try:
            sink = start_sink(runtime.services.db, "127.0.0.1", settings.demo.smtp_sink_port)
        except OSError as exc:
            raise ConfigError(
                f"demo.smtp_sink_port = {settings.demo.smtp_sink_port}: "
                f"cannot listen there ({exc.strerror}); "
                "pick a free port with SHEEPDOG_DEMO__SMTP_SINK_PORT or set demo.smtp_sink = false"
            ) from None
    host, port = settings.console.host, settings.console.port
    origin = "built-in demo business" if settings.source_path is None else settings.source_path
    console.print(f"[bold]Sheepdog[/] for [cyan]{escape(settings.business.name)}[/] ({escape(str(origin))})")
    console.print(f"  storage  {escape(mask_url(settings.storage.url))}")
    console.print(f"  queue    {escape(settings.queue.backend)}   brain {escape(settings.brain.backend)}")
    if sink:
        console.print(
            f"  mail     local SMTP sink on 127.0.0.1:{settings.demo.smtp_sink_port} (shown in the console)"
        )
    elif settings.channels.email.enabled:
        smtp = settings.channels.email.smtp
        how = " with TLS" if smtp.use_tls else " with STARTTLS" if smtp.starttls else ""
        who = f" as {smtp.username}" if smtp.username else ""
        console.print(escape(f"  mail     sent by SMTP to {smtp.host}:{smtp.port}{how}{who}"))
    if settings.console.token:  # a token of the config's is a secret: not printed
        console.print(
            f"  console  [bold green]{escape(f'http://{host}:{port}/')}[/] (log in with console.token)"
        )
    else:
        console.print(
            f"  console  [bold green]{escape(f'http://{host}:{port}/?token={runtime.console_token}')}[/]"
        )
    console.print(escape(f"  web form http://{host}:{port}/form   (POST /hooks/form)"))
    console.print("[dim]One line per message in (←) and out (→) follows. Stop with Ctrl-C.[/]")
    _print_live_lines(runtime)
    try:
        web.run_app(runtime.app, host=host, port=port, print=None, access_log=None)
    except OSError as exc:
        raise ConfigError(
            f"console.port = {port}: cannot listen on {host}:{port} ({exc.strerror}); use --port N"
        ) from None
    finally:
        if sink:
            sink.stop()
    return 0


def _print_live_lines(runtime: Any) -> None:
    """A line per inbound message and per send, read from the event log while `run` serves."""
    import asyncio

    from aiohttp import web

    from sheepdog.bot.live_lines import follow

    tasks: list[asyncio.Task[None]] = []

    def write(line: str) -> None:
        console.print(escape(line), highlight=False)

    async def start(_: web.Application) -> None:
        tasks.append(asyncio.create_task(follow(runtime.services, write)))

    async def stop(_: web.Application) -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    runtime.app.on_startup.append(start)
    runtime.app.on_cleanup.append(stop)


def cmd_worker(args: argparse.Namespace) -> int:
    from sheepdog.jobs.worker import serve

    settings = _settings(args)
    if settings.queue.backend != "rq":
        console.print(
            "[yellow]queue.backend is 'inprocess': `sheepdog run` does the work; no worker needed.[/]"
        )
        return 1
    return serve(settings, burst=args.burst)  # services built from these settings, once


def _queue(settings: Settings) -> Any:
    """The deployment's queue, for looking at it from the command line (nothing is started)."""
    from sheepdog.app import build_services

    return build_services(settings).queue


def cmd_jobs(args: argparse.Namespace) -> int:
    """List failed jobs, retry one (queued again) or drop one (forgotten)."""
    from sheepdog.domain.clock import shown_time

    settings = _settings(args)
    queue = _queue(settings)
    if args.action == "list":
        health = queue.health()
        console.print(escape(_health_line(health)))
        failed = queue.failed()
        if not failed:
            console.print("no failed jobs")
            return 0
        table = Table("id", "job", "args", "failed at", "error")
        for f in failed:
            when = shown_time(f.failed_at, settings.business.timezone)  # the one clock of every surface
            table.add_row(*(escape(c) for c in (f.id, f.job, ", ".join(map(str, f.args)), when, f.last_line)))
        console.print(table)
        return 0
    if not args.id:
        console.print(f"[red]sheepdog jobs {args.action} needs a job id[/] (see: sheepdog jobs list)")
        return 2
    if args.action == "retry":
        ok = queue.retry_failed(args.id)
        if ok and queue.backend == "inprocess":
            queue.start()  # embedded: run it here and now, then stop
            queue.wait_idle(timeout=120)
            queue.stop()
    else:
        ok = queue.drop_failed(args.id)
    verb = "queued again" if args.action == "retry" else "dropped"
    console.print(escape(f"job {args.id} {verb}") if ok else f"[red]no failed job {escape(args.id)}[/]")
    return 0 if ok else 1


def _health_line(health: Any) -> str:
    if not health.reachable:
        return f"queue ({health.backend}): unreachable: {health.error}"
    workers = "" if health.workers is None else f", {health.workers} worker(s) alive"
    return (
        f"queue ({health.backend}): {health.queued} queued, {health.scheduled} scheduled, "
        f"{health.running} running, {health.failed} failed{workers}"
    )


def cmd_migrate(args: argparse.Namespace) -> int:
    """Bring the database to this version's schema (rows kept); run it before `run` and the
    workers after an install or an upgrade. Safe to run again: it does nothing when current."""
    from alembic.runtime.migration import MigrationContext

    from sheepdog.storage.db import Database, schema_is_current

    settings = _settings(args)
    db = Database(settings.storage.url, run_migrations=False)
    try:
        with db.engine.connect() as conn:
            before = MigrationContext.configure(conn).get_current_revision()
        if schema_is_current(db.engine):
            console.print(escape(f"{mask_url(settings.storage.url)}: schema is current ({before})"))
            return 0
        migrate(db.engine)
        with db.engine.connect() as conn:
            after = MigrationContext.configure(conn).get_current_revision()
        console.print(escape(f"{mask_url(settings.storage.url)}: migrated {before or 'empty'} → {after}"))
        return 0
    except ConfigError:
        raise
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"storage.url = {mask_url(settings.storage.url)}: {reason}") from None
    finally:
        db.dispose()


def cmd_init(args: argparse.Namespace) -> int:
    target = Path(args.path)
    if target.exists() and not args.force:
        console.print(f"[red]{escape(str(target))} exists[/]; use --force to overwrite")
        return 1
    target.write_text(production_config_text(), encoding="utf-8")
    target.chmod(0o600)  # it holds the console token, and soon passwords
    console.print(escape(f"Wrote {target} (readable by you only). Fill in what it marks FILL IN:"))
    for what in (
        "[business]: your name, hours, services, prices and voice",
        "[console] public_url: the https address customers and platforms reach",
        "[channels.email.smtp]: your mail provider (password via SHEEPDOG_CHANNELS__EMAIL__SMTP__PASSWORD)",
        "[storage] url and [queue]: PostgreSQL and Redis for production (the defaults run embedded)",
    ):
        console.print(escape(f"  - {what}"))
    console.print(escape(f"Then: sheepdog migrate --config {target} && sheepdog run --config {target}"))
    return 0


def production_config_text() -> str:
    """The example config made ready for a real business: the demo's mail sink off, a console
    token of its own that survives restarts, and FILL IN where a person must decide."""
    import secrets

    text = example_config_text()
    changes = {
        "smtp_sink = true                      # a local SMTP server on smtp_sink_port; the console shows its mail": "smtp_sink = false                     # the demo's local mail sink: off, mail goes to [channels.email.smtp]",
        '# token = ""                          # login token; generated and printed at start-up when unset': f'token = "{secrets.token_urlsafe(24)}"  # console login: http://HOST:PORT/?token=… (keep it secret)',
        'public_url = "http://127.0.0.1:8080"  # how customers and platforms reach this process (signatures use it)': 'public_url = "http://127.0.0.1:8080"  # FILL IN: the https address customers and platforms reach\n'
        "                                      # (webhook signatures are checked against it)",
        'redis_url = "redis://127.0.0.1:6379/0"': 'redis_url = "redis://127.0.0.1:6379/1"  # production: a Redis database of Sheepdog\'s own',
        "host = \"127.0.0.1\"                    # the demo's local SMTP sink; your provider's host in production": 'host = "127.0.0.1"                    # FILL IN: your mail provider\'s SMTP host',
    }
    for old, new in changes.items():
        if old not in text:
            raise AssertionError(f"config.example.toml changed: update production_config_text ({old[:40]}…)")
        text = text.replace(old, new, 1)
    return text


def cmd_leads(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from sheepdog.storage.db import Database
    from sheepdog.storage.tables import Lead

    settings = _settings(args)
    db = Database(settings.storage.url)
    table = Table("id", "name", "stage", "grade", "channel", "owner", "needs attention")
    with db.session() as s:
        for lead in s.scalars(select(Lead).order_by(Lead.id.desc()).limit(args.limit)):
            c = lead.contact
            table.add_row(
                *(
                    escape(cell)  # table cells are markup too: a name like "Sam [ACME]" stays whole
                    for cell in (
                        str(lead.id),
                        c.name or c.email or c.phone or "?",
                        lead.stage,
                        lead.grade or "",
                        lead.channel,
                        lead.owner or "",
                        lead.needs_attention or "",
                    )
                )
            )
    console.print(table)
    return 0


def cmd_leads_import(args: argparse.Namespace) -> int:
    """`sheepdog leads import FILE.csv [--map col=field …]`: a CRM export as history to learn from."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from sheepdog.app import build_services
    from sheepdog.errors import BadInputError
    from sheepdog.handlers import learning

    path = Path(args.file)
    try:
        maps = learning.parse_maps(args.map or [])
        total = max(0, sum(1 for _ in path.open(encoding="utf-8-sig", errors="replace")) - 1)
    except (BadInputError, OSError) as exc:
        console.print(f"[red]cannot import[/]: {escape(str(getattr(exc, 'strerror', None) or exc))}")
        return 2
    services = build_services(_settings(args))
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=False) as progress:
        reading = progress.add_task("reading", total=total)
        try:
            found = learning.read_csv(
                path,
                maps=maps,
                outcome_column=args.outcome_column,
                progress=lambda n: progress.update(reading, completed=n),
            )
        except BadInputError as exc:
            console.print(f"[red]cannot import[/]: {escape(str(exc))}")
            return 2
        storing = progress.add_task("storing", total=len(found.rows))
        stored = learning.import_csv(services, path, found.rows)
        progress.update(storing, completed=stored)
    for column, target in found.columns.items():
        console.print(escape(f"  {column} → {'signal' if target == 'field' else target}"))
    won = sum(1 for r in found.rows if r["won"])
    console.print(
        escape(f"imported {stored} past leads ({won} won, {stored - won} lost) from {path.name}; ")
        + escape(f"{found.skipped_open} without an outcome left out")
    )
    console.print(escape(f"scorer: {learning.retrain(services, force=True)}"))
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    """`sheepdog score --eval FILE.csv --outcome-column COL`: the scorer checked on your history."""
    from sheepdog.brain import scoring
    from sheepdog.errors import BadInputError
    from sheepdog.handlers import learning

    try:
        found = learning.read_csv(
            Path(args.eval),
            outcome_column=args.outcome_column,
            exclude=[c for group in args.exclude_columns or [] for c in group.split(",") if c.strip()],
        )
        rows = [learning.csv_features(r) for r in found.rows]
        result = scoring.evaluate(rows, [bool(r["won"]) for r in found.rows], folds=args.folds)
    except (BadInputError, ValueError) as exc:
        console.print(f"[red]cannot evaluate[/]: {escape(str(exc))}")
        return 2
    console.print(
        escape(
            f"{result.rows} leads with an outcome ({result.won} won, {found.skipped_open} without an outcome left out)"
        )
    )
    console.print(f"cross-validated ROC AUC ({args.folds} folds): [bold]{result.auc:.3f}[/]")
    console.print(f"top-decile lift: [bold]{result.top_decile_lift:.2f}×[/] the average won rate")
    table = Table("signal", "weight per SD", "effect")
    for name, weight in result.top_signals:
        table.add_row(escape(name), f"{weight:+.2f}", "raises the odds" if weight > 0 else "lowers the odds")
    console.print(table)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """`sheepdog report --week [--out FILE.png|FILE.html]`: last week's report, now."""
    from sheepdog.reports import weekly
    from sheepdog.storage.db import Database

    settings = _settings(args)
    db = Database(settings.storage.url)
    try:
        report = weekly.build(db, datetime.now(UTC), settings.business.timezone, settings.business.currency)
    finally:
        db.dispose()
    console.print(escape(weekly.plain(report.text)))
    if args.out:
        out = Path(args.out)
        if out.suffix.lower() not in (".png", ".html", ".htm"):
            console.print(f"[red]--out {escape(str(out))}[/]: a .png or an .html file")
            return 2
        try:
            if out.suffix.lower() == ".png":
                out.write_bytes(report.png)
            else:
                out.write_text(weekly.to_html(report), encoding="utf-8")
        except OSError as exc:
            console.print(f"[red]cannot write {escape(str(out))}[/]: {escape(exc.strerror or str(exc))}")
            return 1
        console.print(escape(f"wrote {out}"))
    return 0


def cmd_contact(args: argparse.Namespace) -> int:
    """`contact export WHO` prints (or writes) JSON of everything held about one person;
    `contact erase WHO --yes` removes it all, leaving an opt-out tombstone (sheepdog.handlers.privacy)."""
    import json

    from sheepdog.handlers import privacy
    from sheepdog.storage.db import open_database

    settings = _settings(args)
    db = open_database(settings.storage.url, role="run")
    region = settings.business.country
    try:
        if args.contact_command == "export":
            data = json.dumps(privacy.export(db, region, args.who), indent=2, ensure_ascii=False, default=str)
            if args.output:
                Path(args.output).write_text(data + "\n", encoding="utf-8")
                console.print(f"wrote everything held about {escape(args.who)} to {escape(args.output)}")
            else:
                sys.stdout.write(data + "\n")
            return 0
        if not args.yes:
            console.print("[red]erase removes every row about this person for good[/]: add --yes to do it")
            return 2
        done = privacy.erase(db, region, args.who, actor="cli")
        held = sum(done.counts.values())
        console.print(
            f"erased {held} rows about {escape(args.who)} "
            + escape(str({k: v for k, v in done.counts.items() if v}))
            + "; a tombstone keeps them from being messaged again"
        )
        return 0
    except ValueError as exc:
        console.print(f"[red]{escape(str(exc))}[/]")
        return 2
    finally:
        db.dispose()


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check what the config points at, one row each, so a broken install explains itself;
    non-zero when any row is red (sheepdog.doctor holds the checks)."""
    from sheepdog.doctor import doctor

    return doctor(_settings(args), console)


def cmd_db(args: argparse.Namespace) -> int:
    """`sheepdog db copy`: move every table to another database (the demo's SQLite to PostgreSQL),
    ids kept, all or nothing. Exit 2 when refused (with the reason), 1 when the copy broke off."""
    from sheepdog.storage.copy import CopyFailed, CopyRefused, copy_database, summary_table

    try:
        report = copy_database(args.source, args.target, force=args.force)
    except CopyRefused as exc:
        console.print(f"[red]refused[/]: {escape(str(exc))}")
        return 2
    except CopyFailed as exc:
        console.print(f"[red]failed[/]: {escape(str(exc))}")
        return 1
    console.print(summary_table(report))
    replaced = f" (replacing {sum(report.replaced.values())} rows it held)" if report.replaced else ""
    console.print(
        escape(f"copied {report.total} rows to {report.target}{replaced} in {report.seconds:.1f} s; ")
        + "point storage.url at it to run Sheepdog there"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sheepdog", description="No lead and no customer message strays.")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument(
        "--log-format",
        choices=["text", "json"],
        default="text",
        help="json: one object a line, with lead ids",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", help="path to a sheepdog.toml (default: the built-in demo business)")
        return p

    run = with_config(sub.add_parser("run", help="start the bot, webhooks and the local console"))
    run.add_argument("--port", type=int, help="console/webhook port (overrides the config)")
    run.set_defaults(func=cmd_run)
    with_config(sub.add_parser("migrate", help="bring the database schema up to date")).set_defaults(
        func=cmd_migrate
    )
    worker = with_config(sub.add_parser("worker", help="run an RQ worker (queue.backend = 'rq')"))
    worker.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    worker.set_defaults(func=cmd_worker)
    init = sub.add_parser("init", help="write a starter config")
    init.add_argument("path", nargs="?", default="sheepdog.toml")
    init.add_argument("--force", action="store_true")
    init.set_defaults(func=cmd_init)
    leads = with_config(
        sub.add_parser("leads", help="list recent leads; `leads import FILE.csv` brings history")
    )
    leads.add_argument("--limit", type=int, default=30)
    leads.set_defaults(func=cmd_leads)
    leads_sub = leads.add_subparsers(dest="leads_command")
    imp = with_config(
        leads_sub.add_parser(
            "import",
            help="import a CRM export (CSV) with outcomes: the scorer learns from it",
            description="Columns are matched by name (source, channel, category, outcome/status, value/amount …); "
            "--map COLUMN=FIELD says where one goes (FIELD: source, channel, category, signals, "
            "response_minutes, outcome, value, ignore). Every other column becomes a signal.",
        )
    )
    imp.add_argument("file", metavar="FILE.csv")
    imp.add_argument("--map", action="extend", nargs="+", metavar="COL=FIELD", default=[])
    imp.add_argument("--outcome-column", metavar="COL")
    imp.set_defaults(func=cmd_leads_import)
    score = with_config(sub.add_parser("score", help="check the lead scorer on your own history"))
    score.add_argument("--eval", required=True, metavar="FILE.csv")
    score.add_argument("--outcome-column", required=True, metavar="COL")
    score.add_argument("--exclude-columns", action="extend", nargs="+", metavar="COL", default=[])
    score.add_argument("--folds", type=int, default=5, choices=range(2, 11), metavar="N")
    score.set_defaults(func=cmd_score)
    report = with_config(sub.add_parser("report", help="the weekly report, now"))
    report.add_argument(
        "--week", action="store_true", required=True, help="last week against the week before"
    )
    report.add_argument("--out", metavar="FILE.png|FILE.html")
    report.set_defaults(func=cmd_report)
    with_config(sub.add_parser("doctor", help="check the config and what it points at")).set_defaults(
        func=cmd_doctor
    )
    jobs = with_config(sub.add_parser("jobs", help="failed jobs: list, retry ID, drop ID"))
    jobs.add_argument("action", choices=["list", "retry", "drop"], nargs="?", default="list")
    jobs.add_argument("id", nargs="?")
    jobs.set_defaults(func=cmd_jobs)
    contact = sub.add_parser("contact", help="data rights: export or erase everything about one person")
    contact_sub = contact.add_subparsers(dest="contact_command", required=True)
    export = with_config(contact_sub.add_parser("export", help="JSON of everything held about EMAIL|PHONE"))
    export.add_argument("who", metavar="EMAIL|PHONE")
    export.add_argument("-o", "--output", help="write the JSON to this file instead of printing it")
    export.set_defaults(func=cmd_contact)
    erase = with_config(
        contact_sub.add_parser("erase", help="remove every row about EMAIL|PHONE; keep an opt-out tombstone")
    )
    erase.add_argument("who", metavar="EMAIL|PHONE")
    erase.add_argument("--yes", action="store_true", help="really erase (it cannot be undone)")
    erase.set_defaults(func=cmd_contact)
    db_cmd = sub.add_parser("db", help="database tools: copy every table to another database")
    db_sub = db_cmd.add_subparsers(dest="db_command", required=True)
    copy = db_sub.add_parser(
        "copy",
        help="copy every table, ids kept, from one database to another (e.g. SQLite to PostgreSQL)",
        description="Copy all of Sheepdog's tables in one transaction; the target is migrated first "
        "and must be empty unless --force. A PostgreSQL password may be left out of the URL "
        "and given in PGPASSWORD instead.",
    )
    copy.add_argument(
        "--from", dest="source", required=True, metavar="URL", help="e.g. sqlite:///./data/sheepdog.db"
    )
    copy.add_argument(
        "--to",
        dest="target",
        required=True,
        metavar="URL",
        help="e.g. postgresql+psycopg://user:pass@host/db",
    )
    copy.add_argument(
        "--force", action="store_true", help="delete the rows a non-empty target holds, then copy"
    )
    copy.set_defaults(func=cmd_db)
    try:
        from sheepdog.brain.evaluate import add_triage_command

        add_triage_command(sub)
    except ImportError:  # the triage evaluator ships with the brain package
        pass
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.setup(verbose=args.verbose, fmt=args.log_format)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        console.print(f"[red]Configuration error[/]: {escape(str(exc))}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
