"""A person's view of the console: Playwright drives Debian's Chromium against the real app."""

from __future__ import annotations

import json
from typing import Any

from sheepdog.app import build_runtime, build_services
from sheepdog.jobs.queue import InProcessQueue
from tests.conftest import TOKEN, fixture_bytes

LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


async def serve(settings: Any, aiohttp_server: Any) -> tuple[Any, str]:
    """The real app on a local port, jobs in-process: the runtime and its base URL."""
    runtime = build_runtime(settings, services=build_services(settings, queue=InProcessQueue(periodic=False)))
    server = await aiohttp_server(runtime.app)
    return runtime, f"http://127.0.0.1:{server.port}"


def launch(pw: Any, chromium: str) -> Any:
    """Debian's Chromium, headless, with the flags this machine's closed network needs."""
    return pw.chromium.launch(executable_path=chromium, headless=True, args=LAUNCH_ARGS)


async def test_approve_in_the_browser_updates_the_card_in_place(
    chromium: str, make_settings: Any, smtp: Any, aiohttp_server: Any, tmp_path: Any
) -> None:
    from playwright.async_api import async_playwright, expect

    recorder, _ = smtp
    settings = make_settings(policy={"first_reply": {"autonomy": "L3"}})
    runtime, base = await serve(settings, aiohttp_server)

    async with async_playwright() as pw:
        browser = await launch(pw, chromium)
        page = await browser.new_page()
        await page.goto(f"{base}/?token={TOKEN}")
        await expect(page.locator("#business")).to_have_text(settings.business.name)

        # A lead arrives while the console is open: it shows up live, without a reload.
        await page.evaluate("window.__sameDocument = true")
        resp = await page.request.post(
            f"{base}/hooks/form",
            data=fixture_bytes("loop", "webform__lead.json"),
            headers={"Content-Type": "application/json"},
        )
        assert resp.status == 200
        lead_button = page.locator(".lead", has_text="Jordan Ellis")
        await expect(lead_button).to_be_visible(timeout=10_000)
        await lead_button.click()

        draft = page.locator("article.card.draft")
        await expect(draft).to_have_count(1)
        await expect(draft.locator("[data-status]")).to_contain_text("Waiting for approval")
        await expect(draft.locator("button[data-action]")).to_have_text(["Approve", "Edit", "Pause", "Skip"])
        await page.fill("#actor", "Dana")
        await draft.locator("button[data-action=approve]").click()

        await expect(draft.locator("[data-status]")).to_contain_text(
            "Approved by Dana · sent", timeout=10_000
        )
        await expect(draft.locator("[data-status]")).to_contain_text("by email")
        await expect(draft.locator("button[data-action]")).to_have_count(0)
        assert await page.evaluate("window.__sameDocument") is True  # changed in place, no page load
        await page.screenshot(path=str(tmp_path / "console.png"), full_page=True)
        await browser.close()

    assert len(recorder.messages) == 1
    assert json.loads(fixture_bytes("loop", "webform__lead.json"))["email"].lower() in str(
        recorder.messages[0]["To"]
    )
    runtime.services.db.dispose()


async def test_console_requires_the_login_token(client: Any, aiohttp_client: Any, runtime: Any) -> None:
    anon = await aiohttp_client(runtime.app)
    assert (await anon.get("/api/leads")).status == 401
    assert (await anon.get("/")).status == 401
    assert (await anon.get("/?token=wrong", allow_redirects=False)).status == 401
    login = await anon.get(f"/?token={TOKEN}", allow_redirects=False)
    assert login.status == 302 and "sheepdog_token" in login.cookies
    assert (await client.get("/api/leads")).status == 200


async def test_the_embedded_form_answers_a_visitor_in_words(
    chromium: str, make_settings: Any, smtp: Any, aiohttp_server: Any
) -> None:
    """A visitor on the business's site: a typo in both contact fields is explained on the page;
    a good submission says thanks, and the lead is stored with the phone as typed kept aside."""
    from playwright.async_api import async_playwright, expect
    from sqlalchemy import select

    from sheepdog.storage.tables import Contact, Lead, Message

    settings = make_settings()
    runtime, base = await serve(settings, aiohttp_server)
    async with async_playwright() as pw:
        browser = await launch(pw, chromium)
        page = await browser.new_page()
        await page.goto(f"{base}/form")
        await page.fill("#name", "Ana Ruiz")
        await page.fill("#phone", "12")
        await page.fill("#message", "Do you repair mini-splits? 🙏")
        await page.click("button[type=submit]")
        await expect(page.locator("#status")).to_contain_text("not a valid email address or phone number")

        await page.fill("#email", "ana@example.com")
        await page.click("button[type=submit]")
        await expect(page.locator("body")).to_contain_text("Thanks!")
        await browser.close()
    with runtime.services.db.session() as s:
        contact = s.scalar(select(Contact).where(Contact.email == "ana@example.com"))
        assert contact is not None and contact.phone is None
        lead = s.scalar(select(Lead).where(Lead.contact_id == contact.id))
        assert lead is not None
        message = s.scalar(select(Message).where(Message.conversation_id == lead.conversation_id))
        assert message.triage["fields"]["phone (not valid, as typed)"] == "12"
    runtime.services.db.dispose()
