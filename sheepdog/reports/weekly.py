"""The weekly report: last week's key metrics against the week before, and a chart (PNG).

Built from the event log (reports.data), drawn with matplotlib on the Agg backend (no display),
posted every Monday 08:00 in the business's zone by the `weekly_report` job to Slack (files
upload v2), Telegram (sendPhoto) and the console, and on demand by `sheepdog report --week`.
The posting functions take the platform's SDK client, so any surface module can call them.
"""

from __future__ import annotations

import base64
import html
import io
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sheepdog.domain import metrics as rules
from sheepdog.domain.metrics import Period
from sheepdog.reports import data
from sheepdog.storage.db import Database

CHART_SIZE_PX = (1200, 675)
"""Width × height of the chart: Slack and Telegram previews show 16:9 without cropping."""
CHART_DPI = 100
REPORT_WEEKDAY = 0  # Monday
REPORT_TIME = time(8, 0)
TELEGRAM_CAPTION_MAX = 1024  # Bot API limit of a photo caption, in characters


@dataclass(frozen=True)
class WeeklyReport:
    period: Period
    comparison: data.Comparison
    daily: list[tuple[str, int, int]]  # (weekday, leads this week, leads the week before)
    text: str
    png: bytes

    @property
    def key(self) -> str:
        """One report per week: the Monday the week started, in the business's zone."""
        return self.period.label.removeprefix("week of ")


REPORT_LATE_WINDOW = timedelta(days=1)
"""A report missed at Monday 08:00 (the bot was down) still goes out until this much later."""


def due(now: datetime, tz: str) -> tuple[datetime, Period]:
    """The latest Monday 08:00 (local) at or before `now`, and the week whose report is due then:
    the Monday-to-Monday week that ended that morning."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    monday = local.date() - timedelta(days=(local.weekday() - REPORT_WEEKDAY) % 7)
    run_at = datetime.combine(monday, REPORT_TIME, zone)
    if local < run_at:
        run_at -= timedelta(days=7)
    return run_at.astimezone(ZoneInfo("UTC")), rules.week_before(run_at, tz)


def _daily(events: list[rules.EventRow], period: Period, tz: str) -> list[tuple[str, int, int]]:
    zone = ZoneInfo(tz)
    before = period.previous()
    counts: Counter[tuple[str, int]] = Counter()
    for e in events:
        if e.kind != "lead_created":
            continue
        which = "now" if period.holds(e.at) else "before" if before.holds(e.at) else None
        if which:
            counts[(which, e.at.astimezone(zone).weekday())] += 1
    names = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    return [(names[d], counts[("now", d)], counts[("before", d)]) for d in range(7)]


def build(db: Database, now: datetime, tz: str, currency: str, period: Period | None = None) -> WeeklyReport:
    period = period or rules.week_before(now, tz)
    before = period.previous()
    events = data.load_events(db, before.start, period.end)
    comparison = data.Comparison(period, rules.compute(events, period), rules.compute(events, before))
    daily = _daily(events, period, tz)
    text = "*Weekly report*\n" + data.metrics_text(comparison, currency)
    return WeeklyReport(period, comparison, daily, text, chart(comparison, daily))


def _pyplot() -> Any:
    """matplotlib, imported when a chart is drawn: it costs ~50 MB and ~0.3 s, which every bot and
    worker would otherwise pay at start for a chart drawn once a week."""
    import matplotlib

    matplotlib.use("Agg")  # before pyplot: no display on a server
    from matplotlib import pyplot

    return pyplot


def chart(c: data.Comparison, daily: list[tuple[str, int, int]]) -> bytes:
    """Leads per day against the week before, and the key rates against the week before."""
    plt = _pyplot()
    w, h = CHART_SIZE_PX
    fig, (left, right) = plt.subplots(1, 2, figsize=(w / CHART_DPI, h / CHART_DPI), dpi=CHART_DPI)
    try:
        days = [d for d, _, _ in daily]
        xs = range(len(days))
        left.bar(
            [x - 0.2 for x in xs], [b for _, _, b in daily], width=0.4, color="#c7ccd6", label="week before"
        )
        left.bar(
            [x + 0.2 for x in xs], [n for _, n, _ in daily], width=0.4, color="#2f6fde", label="this week"
        )
        left.set_xticks(list(xs), days)
        left.set_title(f"New leads: {c.now.leads} (week before {c.before.leads})")
        left.yaxis.get_major_locator().set_params(integer=True)
        left.legend(loc="upper right", frameon=False)
        rates = [
            ("reply", c.now.reply_rate, c.before.reply_rate),
            ("qualified", c.now.qualification_rate, c.before.qualification_rate),
            ("handoff", c.now.handoff_rate, c.before.handoff_rate),
            ("won", c.now.conversion, c.before.conversion),
            ("support solved", c.now.support_resolved_rate, c.before.support_resolved_rate),
            ("needed owner", c.now.owner_share, c.before.owner_share),
        ]
        ys = range(len(rates))
        right.barh([y + 0.2 for y in ys], [(b or 0) * 100 for _, _, b in rates], height=0.4, color="#c7ccd6")
        right.barh([y - 0.2 for y in ys], [(n or 0) * 100 for _, n, _ in rates], height=0.4, color="#2f6fde")
        right.set_yticks(list(ys), [name for name, _, _ in rates])
        right.invert_yaxis()
        right.set_xlim(0, 100)
        right.set_xlabel("% (blue this week, grey the week before)")
        first = rules.duration(c.now.first_auto_p50_s)
        human = rules.duration(c.now.first_human_p50_s)
        right.set_title(f"First reply p50: auto {first}, human {human}")
        fig.suptitle(f"Sheepdog weekly report: {c.period.label}", fontsize=14)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=CHART_DPI)
        return buf.getvalue()
    finally:
        plt.close(fig)


def to_html(report: WeeklyReport) -> str:
    """A page that stands alone (the chart inline): for `sheepdog report --week --out FILE.html`."""
    image = base64.b64encode(report.png).decode()
    lines = "".join(f"<li>{html.escape(line.lstrip('• '))}</li>" for line in report.text.splitlines()[2:])
    title = html.escape(report.text.splitlines()[1].replace("*", ""))
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Sheepdog weekly report</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:1240px;margin:2em auto;color:#222}"
        "img{max-width:100%}li{margin:.3em 0}</style></head><body>"
        f"<h1>Weekly report</h1><p>{title}</p>"
        f"<img alt='chart of the week' src='data:image/png;base64,{image}'><ul>{lines}</ul></body></html>"
    )


def plain(text: str) -> str:
    """Chat markdown (*bold*, _italic_) to plain text, for platforms posted to without a parse mode."""
    return text.replace("*", "").replace("_", " ").replace("  ", " ")


def post_to_slack(client: Any, channel: str, report: WeeklyReport) -> dict[str, Any]:
    """Upload the chart with the figures as its comment (slack_sdk WebClient.files_upload_v2:
    files.getUploadURLExternal, the upload, files.completeUploadExternal)."""
    resp = client.files_upload_v2(
        channel=channel,
        file=report.png,
        filename=f"sheepdog-week-{report.key}.png",
        title=f"Weekly report, {report.period.label}",
        initial_comment=report.text,
    )
    return dict(resp.data) if hasattr(resp, "data") else dict(resp)


async def post_to_telegram(bot: Any, chat_id: int | str, report: WeeklyReport) -> None:
    """sendPhoto with the figures as the caption; past the caption limit, the figures follow as a
    message of their own (python-telegram-bot Bot, base_url pointing at any Bot API server)."""
    text = plain(report.text)
    async with bot:
        if len(text) <= TELEGRAM_CAPTION_MAX:
            await bot.send_photo(chat_id=chat_id, photo=report.png, caption=text)
            return
        await bot.send_photo(
            chat_id=chat_id, photo=report.png, caption=f"Weekly report, {report.period.label}"
        )
        await bot.send_message(chat_id=chat_id, text=text[:4096])
