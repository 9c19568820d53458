"""Open-loop load: every post leaves at its scheduled time whatever the server is doing, so a slow
server shows up as latency instead of quietly slowing the sender down (no coordinated omission)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from bench.engine.smtp import MailRecorder

NAMES = ("Jordan Ellis", "Sam Rivera", "Priya Shah", "Alex Morgan", "Chris Nolan", "Taylor Brooks")
# Plain new sales inquiries: at the demo's default autonomy (L4) the first reply to each goes out on its
# own. Not "a quote" or "how much": a price question is handed to a human and would never be answered.
MESSAGES = (
    "Do you install heat pumps? Our furnace is 20 years old.",
    "Hi, I'm interested in a heat pump installation for our home. Can someone get in touch?",
    "Looking for duct cleaning for our house, do you do that?",
    "Do you install heat pumps? Our furnace is 15 years old and we'd like to replace it.",
)


@dataclass
class Lead:
    index: int
    email: str
    scheduled: float  # monotonic offset from the start of posting
    sent_at: float | None = None  # time.monotonic() when the request left
    ack_ms: float | None = None
    status: int | None = None  # HTTP status; None while in flight
    error: str | None = None  # connection error or timeout instead of a status


def make_leads(run_id: str, n: int, interval_s: float) -> list[Lead]:
    return [Lead(i, f"bench-{run_id}-{i}@example.com", i * interval_s) for i in range(n)]


def payload(lead: Lead) -> dict[str, str]:
    return {
        "name": NAMES[lead.index % len(NAMES)],
        "email": lead.email,
        "message": MESSAGES[lead.index % len(MESSAGES)],
        "source": "bench",
    }


async def _post(session: aiohttp.ClientSession, url: str, lead: Lead, on_done: Callable[[], None]) -> None:
    lead.sent_at = time.monotonic()
    try:
        async with session.post(url, json=payload(lead)) as resp:
            await resp.read()
            lead.status = resp.status
    except (TimeoutError, aiohttp.ClientError) as exc:
        lead.error = f"{type(exc).__name__}: {exc}"[:200]
    lead.ack_ms = (time.monotonic() - lead.sent_at) * 1000
    on_done()


async def post_all(base_url: str, leads: list[Lead], timeout_s: float, on_done: Callable[[], None]) -> float:
    """Start one task per lead at its scheduled time; returns the monotonic time of the first post."""
    url = f"{base_url}/hooks/form"
    connector = aiohttp.TCPConnector(limit=0, force_close=False)  # no client-side queue: open loop
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        t0 = time.monotonic()
        tasks: list[asyncio.Task[None]] = []
        for lead in leads:
            delay = t0 + lead.scheduled - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(_post(session, url, lead, on_done)))
        await asyncio.gather(*tasks)
    return t0


def answered(recorder: MailRecorder, emails: set[str]) -> int:
    return len({m.rcpt for m in recorder.mails()} & emails)


async def drain(
    recorder: MailRecorder,
    leads: list[Lead],
    timeout_s: float,
    settle_s: float,
    on_tick: Callable[[int], None],
) -> bool:
    """Wait until every lead the server acknowledged has mail (then settle_s more, for doubles).

    Returns whether that happened before timeout_s. A lead whose post failed may still be answered
    (the payload is kept and retried server-side), but it cannot hold the bench up."""
    everyone = {lead.email for lead in leads}
    acked = {lead.email for lead in leads if lead.status is not None and 200 <= lead.status < 300}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = {m.rcpt for m in recorder.mails()}
        on_tick(len(got & everyone))
        if acked <= got:
            await asyncio.sleep(settle_s)
            on_tick(answered(recorder, everyone))
            return True
        await asyncio.sleep(0.1)
    return False
