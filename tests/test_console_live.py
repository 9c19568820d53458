"""The console's live updates: a burst of events for several leads still refreshes the open
thread (the page used to keep only the last event's lead). Playwright drives Chromium."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sheepdog.app import build_runtime, build_services
from sheepdog.handlers import actions
from sheepdog.jobs.queue import InProcessQueue
from tests.conftest import TOKEN, fixture_bytes
from tests.test_console_browser import LAUNCH_ARGS


async def test_the_open_thread_refreshes_when_a_burst_ends_with_another_lead(
    chromium: str, make_settings: Any, smtp: Any, aiohttp_server: Any
) -> None:
    from playwright.async_api import async_playwright, expect

    settings = make_settings(policy={"first_reply": {"autonomy": "L3"}})
    runtime = build_runtime(settings, services=build_services(settings, queue=InProcessQueue(periodic=False)))
    services = runtime.services
    server = await aiohttp_server(runtime.app)
    base = f"http://127.0.0.1:{server.port}"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, headless=True, args=LAUNCH_ARGS)
        page = await browser.new_page()
        await page.goto(f"{base}/?token={TOKEN}")
        jordan = json.loads(fixture_bytes("loop", "webform__lead.json"))
        maria = {"name": "Maria Lopez", "email": "maria@example.com", "message": "Furnace tune-up?"}
        for form in (jordan, maria):
            assert (await page.request.post(f"{base}/hooks/form", data=form)).status == 200
        await asyncio.to_thread(services.queue.wait_idle)
        leads = {
            lead["name"]: lead["id"]
            for lead in (await (await page.request.get(f"{base}/api/leads")).json())["leads"]
        }

        await page.locator(".lead", has_text="Jordan Ellis").click()
        await expect(page.locator("article.card.brief")).to_have_count(1)
        await page.wait_for_timeout(1000)  # the arrivals' events have been seen and handled

        for i in range(3):  # notes on Jordan's (open) thread, each followed by one on Maria's
            for who, text in (
                (leads["Jordan Ellis"], "Called Jordan"),
                (leads["Maria Lopez"], "Emailed Maria"),
            ):
                await asyncio.to_thread(actions.note, services, who, "Ali", text)
            await expect(page.locator("article.card.note", has_text="Called Jordan")).to_have_count(
                i + 1, timeout=5_000
            )
        await expect(page.locator("article.card.note", has_text="Emailed Maria")).to_have_count(0)
        await browser.close()
    await server.close()
    services.db.dispose()
