"""A person's view of the console: Playwright drives Debian's Chromium against the real app."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

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


async def post_a_weekly_report(services: Any) -> None:
    """Run the Monday job as if it were the coming Monday 08:00 in the business's zone."""
    from datetime import timedelta

    from sheepdog.jobs.tasks import run_job
    from sheepdog.reports import weekly

    run_at, _ = weekly.due(services.now() + timedelta(days=7), services.business.timezone)
    real = services.clock
    services.clock = lambda: run_at
    try:
        assert await asyncio.to_thread(run_job, services, "weekly_report") == "posted"
    finally:
        services.clock = real


PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}

WIDER_THAN_THE_VIEWPORT = """() => {
  const w = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll("body *")].filter(n => {
    const r = n.getBoundingClientRect();
    return r.width > 0 && (r.right > w + 0.5 || r.left < -0.5);
  }).map(n => n.tagName.toLowerCase() + (n.id ? "#" + n.id : "") + "." + n.className);
  if (document.documentElement.scrollWidth > w) wide.push(`page ${document.documentElement.scrollWidth}px`);
  return wide;
}"""


async def in_view_without_scrolling(page: Any, locator: Any) -> bool:
    """Inside the window as it is: nothing scrolled, no element scrolled into view."""
    box = await locator.bounding_box()
    size = page.viewport_size
    scrolled = await page.evaluate("() => window.scrollY + document.querySelector('#thread').scrollTop")
    return (
        box is not None
        and scrolled == 0
        and box["y"] >= 0
        and box["y"] + box["height"] <= size["height"]
        and box["x"] + box["width"] <= size["width"]
    )


async def test_console_on_a_phone_and_a_desktop(
    chromium: str, make_settings: Any, smtp: Any, aiohttp_server: Any, tmp_path: Any
) -> None:
    """At 390×844 and 1280×800: nothing wider than the screen, the urgent lead first, Approve in
    sight on opening a lead, and Approve changes the card in place (no page load)."""
    from playwright.async_api import async_playwright, expect

    recorder, _ = smtp
    settings = make_settings(policy={"first_reply": {"autonomy": "L3"}})
    runtime, base = await serve(settings, aiohttp_server)
    shots = Path(os.environ.get("SHEEPDOG_SCREENSHOTS") or tmp_path)

    async with async_playwright() as pw:
        browser = await launch(pw, chromium)
        desk = await (await browser.new_context(viewport=DESKTOP)).new_page()
        await desk.goto(f"{base}/?token={TOKEN}")
        await expect(desk.locator("#business")).to_have_text(settings.business.name)

        # Leads arrive while the console is open: they show up live, without a reload; the
        # complaint, though it came last, is first.
        await desk.evaluate("window.__sameDocument = true")
        for name in ("webform__lead.json", "webform__pricing.json", "webform__complaint.json"):
            resp = await desk.request.post(
                f"{base}/hooks/form",
                data=fixture_bytes("loop", name),
                headers={"Content-Type": "application/json"},
            )
            assert resp.status == 200
        await expect(desk.locator(".lead")).to_have_count(3, timeout=10_000)
        await expect(desk.locator(".lead").first).to_contain_text("Casey Morgan")
        await expect(desk.locator(".lead").first.locator("[data-reason]")).to_contain_text(
            "Urgent: a complaint — answer now"
        )
        await expect(desk.locator(".lead", has_text="Jordan Ellis").locator("[data-reason]")).to_contain_text(
            "Urgent: a hot lead (a new inquiry) — call them now"
        )
        assert await desk.evaluate(WIDER_THAN_THE_VIEWPORT) == []

        await desk.locator(".lead", has_text="Jordan Ellis").click()
        draft = desk.locator("article.card.draft")
        await expect(draft).to_have_count(1)
        await expect(draft.locator("[data-status]")).to_contain_text("Waiting for approval")
        await expect(draft.locator("button[data-action]")).to_have_text(["Approve", "Edit", "Pause", "Skip"])
        approve = draft.locator("button[data-action=approve]")
        assert await in_view_without_scrolling(desk, approve)
        assert await desk.evaluate(WIDER_THAN_THE_VIEWPORT) == []
        await desk.screenshot(path=str(shots / "console.png"))
        await desk.fill("#actor", "Dana")
        await approve.click()
        await expect(draft.locator("[data-status]")).to_contain_text(
            "Approved by Dana · sent", timeout=10_000
        )
        await expect(draft.locator("[data-status]")).to_contain_text("by email")
        await expect(draft.locator("button[data-action]")).to_have_count(0)
        assert await desk.evaluate("window.__sameDocument") is True  # changed in place, no page load

        # The phone: logged in by the same link, the list is one screen, the urgent lead on top.
        phone = await (await browser.new_context(viewport=PHONE, has_touch=True)).new_page()
        await phone.goto(f"{base}/?token={TOKEN}")
        await expect(phone.locator(".lead")).to_have_count(3)
        await expect(phone.locator(".lead").first).to_contain_text("Casey Morgan")
        await expect(phone.locator("#thread")).to_be_hidden()
        assert await phone.evaluate(WIDER_THAN_THE_VIEWPORT) == []
        await phone.screenshot(path=str(shots / "console-phone-list.png"))

        await phone.evaluate("window.__sameDocument = true")
        await phone.locator(".lead").first.tap()
        await expect(phone.locator("article.card.draft.current")).to_have_count(1)
        draft = phone.locator("#thread > article.card.draft").first  # the same card once decided
        await expect(phone.locator("#leads")).to_be_hidden()  # the thread is its own screen
        approve = draft.locator("button[data-action=approve]")
        await expect(approve).to_be_visible()
        assert await in_view_without_scrolling(phone, approve)
        # The draft comes first: its text starts on the first screen, above the brief.
        assert (await draft.bounding_box())["y"] < PHONE["height"] / 2
        assert await phone.evaluate(WIDER_THAN_THE_VIEWPORT) == []
        await phone.screenshot(path=str(shots / "console-phone.png"))

        await phone.fill("#actor", "Ali")
        await approve.tap()
        await expect(draft.locator("[data-status]")).to_contain_text("Approved by Ali · sent", timeout=10_000)
        await expect(draft.locator("button[data-action]")).to_have_count(0)
        assert await phone.evaluate("window.__sameDocument") is True

        # Visit scheduled on the phone: the phone's own date-and-time input, no wider than the
        # screen; a time already gone is said in place and nothing changes; a time ahead books it.
        await phone.locator(".toolbar button[data-action=visit]").tap()
        when = phone.locator("#visit-form input[type=datetime-local]")
        await expect(when).to_be_visible()
        assert await phone.evaluate(WIDER_THAN_THE_VIEWPORT) == []
        await phone.screenshot(path=str(shots / "console-phone-visit.png"))
        today = runtime.services.now().astimezone(ZoneInfo("America/Chicago")).date()
        await when.fill(f"{today - timedelta(days=1):%Y-%m-%d}T10:00")
        await phone.locator("#visit-save").tap()
        await expect(phone.locator("#visit-error")).to_contain_text("has already passed")
        await when.fill(f"{today + timedelta(days=1):%Y-%m-%d}T10:30")
        await phone.locator("#visit-save").tap()
        await expect(phone.locator("#visit-form")).to_have_count(0)
        brief = phone.locator("#thread article.card.brief")
        await expect(brief).to_contain_text("visit scheduled", timeout=10_000)
        await expect(brief).to_contain_text("10:30")
        assert await phone.evaluate("window.__sameDocument") is True
        await phone.locator("button.back").tap()
        await expect(phone.locator("#leads")).to_be_visible()
        await expect(phone.locator(".lead").first.locator("[data-reason]")).to_have_text(
            "Waiting for you: a pricing question — answer within 15 minutes"
        )

        # Numbers on the phone: this Monday's report (posted by the job), the metrics, the
        # pipeline; nothing wider than the screen; a lead in the pipeline opens its thread.
        await post_a_weekly_report(runtime.services)
        await phone.locator("#tab-numbers").tap()
        await expect(phone.locator("#metric-tiles .tile[data-metric=leads] .value")).to_have_text("3")
        await expect(phone.locator("#weekly img.chart")).to_have_count(1)
        await phone.wait_for_function(
            "() => document.querySelector('#weekly img.chart').naturalWidth === 1200"
        )
        await phone.locator("#numbers .chip[data-period=custom]").tap()
        await expect(phone.locator("#range")).to_be_visible()
        await expect(phone.locator(".stage").first).to_be_visible()
        assert await phone.evaluate(WIDER_THAN_THE_VIEWPORT) == []
        await phone.screenshot(path=str(shots / "console-phone-numbers.png"), full_page=True)
        stuck = phone.locator(".stucklist .plead").first
        name = await stuck.locator(".who").text_content()
        await stuck.tap()
        await expect(phone.locator("#thread .head h2")).to_have_text(name or "")
        await expect(phone.locator("#numbers")).to_be_hidden()

        # The owner's data-rights tools on the phone: export downloads what is held as JSON, erase
        # asks first and then removes the person (the lead leaves the list); nothing is wider
        # than the screen.
        who = json.loads(fixture_bytes("loop", "webform__complaint.json"))["email"]
        await phone.locator("button.back").tap()
        await phone.locator("#tab-numbers").tap()
        rights = phone.locator("#contact-rights")
        await rights.scroll_into_view_if_needed()
        await expect(rights.locator("button")).to_have_text(["Export JSON", "Erase…"])
        assert await phone.evaluate(WIDER_THAN_THE_VIEWPORT) == []
        await phone.fill("#rights-who", who)
        async with phone.expect_download() as download_info:
            await rights.locator("button[value=export]").tap()
        exported = json.loads(Path(await (await download_info.value).path()).read_text(encoding="utf-8"))
        assert who.lower() in json.dumps(exported).lower()
        phone.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await rights.locator("button[value=erase]").tap()
        await expect(phone.locator("body")).to_contain_text(f"Erased {who}", timeout=10_000)
        await phone.screenshot(path=str(shots / "console-phone-erase.png"))
        await browser.close()

    assert len(recorder.messages) == 2
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
