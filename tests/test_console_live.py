"""The console's live updates: a burst of events for several leads still refreshes the open
thread (the page used to keep only the last event's lead). Playwright drives Chromium."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sheepdog.handlers import actions
from tests.conftest import TOKEN, fixture_bytes
from tests.test_console_browser import launch, serve


async def test_the_open_thread_refreshes_when_a_burst_ends_with_another_lead(
    chromium: str, make_settings: Any, smtp: Any, aiohttp_server: Any
) -> None:
    from playwright.async_api import async_playwright, expect

    settings = make_settings(policy={"first_reply": {"autonomy": "L3"}})
    runtime, base = await serve(settings, aiohttp_server)
    services = runtime.services
    async with async_playwright() as pw:
        browser = await launch(pw, chromium)
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
    services.db.dispose()
