"""The aiohttp application: every HTTP route of the bot process.

Inbound hooks are thin: request → RawRequest → channel parser → handlers.inbound.receive →
the platform's expected reply. Bad input gets a 4xx with a clear message and its raw payload is
kept in rejected_payloads; nothing here answers 500.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sheepdog import defaults
from sheepdog.bot.health import add_health_routes
from sheepdog.channels.base import InboundParser
from sheepdog.channels.registry import inbound_routes, status_routes
from sheepdog.channels.webform import FormLimits, embeddable_form
from sheepdog.config import Settings
from sheepdog.domain.models import Channel, InboundMessage, RawRequest
from sheepdog.errors import BadInputError, PayloadTooLargeError
from sheepdog.handlers import delivery, unsubscribe
from sheepdog.handlers.context import Services
from sheepdog.handlers.inbound import ReceiveResult, accept
from sheepdog.storage.tables import RejectedPayload

log = logging.getLogger(__name__)

SERVICES: web.AppKey[Services] = web.AppKey("services", Services)
FORM_LIMITS: web.AppKey[FormLimits] = web.AppKey("form_limits", FormLimits)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB"


def _too_large(message: str, head: bytes) -> PayloadTooLargeError:
    err = PayloadTooLargeError(message)
    err.kept = head[: defaults.KEPT_REJECTED_BYTES]  # type: ignore[attr-defined]
    return err


async def read_body(request: web.Request, limit: int = defaults.MAX_BODY_BYTES) -> bytes:
    """The whole body, read to EOF; PayloadTooLargeError (carrying the first bytes, so they can be
    kept) as soon as it is known to be over `limit`.

    `request.content.read(n)` returns only what is already buffered, so the body is read in a loop;
    a declared Content-Length over the limit is refused before reading the rest. Reading the stream
    directly is not governed by the app's client_max_size (only request.read()/post() are)."""
    declared = request.content_length
    if declared is not None and declared > limit:
        head = bytearray()
        while len(head) < defaults.KEPT_REJECTED_BYTES:
            chunk = await request.content.read(defaults.KEPT_REJECTED_BYTES - len(head))
            if not chunk:
                break
            head += chunk
        raise _too_large(
            f"body too large: {declared:,} bytes; {request.path} accepts at most {_mb(limit)} ({limit:,} bytes)",
            bytes(head),
        )
    body = bytearray()
    while True:
        chunk = await request.content.readany()
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > limit:
            raise _too_large(
                f"body too large: more than {limit:,} bytes; {request.path} accepts at most {_mb(limit)}",
                bytes(body[: defaults.KEPT_REJECTED_BYTES]),
            )


def body_limit(settings: Settings, path: str) -> int:
    """Largest body an inbound hook takes: mail carries photos and PDFs, the JSON/form hooks don't."""
    if path == "/hooks/email":
        return int(settings.channels.email.max_inbound_mb * 1024 * 1024)
    return defaults.MAX_BODY_BYTES


def raw_request(request: web.Request, body: bytes, public_url: str) -> RawRequest:
    return RawRequest(
        method=request.method,
        url=public_url.rstrip("/") + request.path_qs,
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
        query=dict(request.query),
        path_params=dict(request.match_info),
        content_type=request.content_type,
    )


HEADERS_KEPT = frozenset(
    {
        "content-type",
        "content-length",
        "content-encoding",
        "user-agent",
        "accept",
        "origin",
        "referer",
        "x-forwarded-for",
        "x-real-ip",
        "x-slack-request-timestamp",
        "x-slack-retry-num",
        "x-slack-retry-reason",
        "x-sheepdog-timestamp",
        "x-twilio-email-event-webhook-timestamp",
        "i-twilio-idempotency-token",
    }
)
"""Headers a refused request is stored with: enough to see who sent what and why it failed. Any
other header (Authorization, cookies, X-Telegram-Bot-Api-Secret-Token, X-Sheepdog-Token,
signatures) is dropped: an allowlist, so a platform's next secret header is never stored."""


def kept_headers(headers: dict[str, str] | None) -> dict[str, str]:
    return {k.lower(): v[:500] for k, v in (headers or {}).items() if k.lower() in HEADERS_KEPT}


async def keep_payload(
    services: Services,
    endpoint: str,
    body: bytes,
    status: int,
    reason: str,
    *,
    headers: dict[str, str] | None = None,
    truncated: bool = False,
) -> None:
    """Nothing is dropped silently: a refused or unusable payload is stored for inspection."""
    row = RejectedPayload(
        endpoint=endpoint,
        status=status,
        reason=reason[:2000],
        headers=kept_headers(headers),
        body=body[: defaults.KEPT_REJECTED_BYTES],
        truncated=truncated or len(body) > defaults.KEPT_REJECTED_BYTES,
    )

    def store() -> None:
        with services.db.session() as s:
            s.add(row)

    try:
        await asyncio.to_thread(store)
    except Exception:
        log.exception("could not keep the payload refused at %s", endpoint)
    log.warning("refused %s: %s (%s)", endpoint, status, reason)


async def keep_rejected(
    services: Services,
    request: web.Request,
    body: bytes,
    status: int,
    reason: str,
    *,
    truncated: bool = False,
) -> None:
    await keep_payload(
        services, request.path, body, status, reason, headers=dict(request.headers), truncated=truncated
    )


def hook_handler(parser: InboundParser, limit: int = defaults.MAX_BODY_BYTES) -> Handler:
    """One handler shape for every channel webhook; bodies over `limit` bytes get 413."""

    async def handle(request: web.Request) -> web.StreamResponse:
        services = request.app[SERVICES]
        body = b""
        limits = request.app[FORM_LIMITS] if parser.channel == Channel.WEBFORM and _remote(request) else None
        if limits is not None and (wait := limits.ip_retry_after(client_ip(request))) is not None:
            # Not stored: a flood must not become rows; the log line says who and how often.
            log.warning("refused %s: 429 (too many form posts from %s)", request.path, client_ip(request))
            return web.json_response(
                {"error": f"too many form posts from your address; try again in {wait} seconds"},
                status=429,
                headers={"Retry-After": str(wait)},
            )
        try:
            body = await read_body(request, limit)
            raw = raw_request(request, body, services.settings.console.public_url)
            messages = parser.parse(raw)
            if limits is not None:
                messages = [_relay_check(limits, m) for m in messages]
        except BadInputError as exc:
            kept = getattr(exc, "kept", None)
            await keep_rejected(
                services,
                request,
                body if kept is None else kept,
                exc.status,
                str(exc),
                truncated=kept is not None,
            )
            return json_error(exc.status, str(exc))
        except Exception as exc:  # a parser bug must not become a 500 or lose the payload
            log.exception("parser %s failed", type(parser).__name__)
            await keep_rejected(services, request, body, 400, f"unparsable: {exc!r}")
            return json_error(400, "could not parse this payload; it was kept for inspection")
        try:
            results = await process(services, messages)
        except Exception as exc:  # storage down: keep the payload, ask the platform to retry
            log.exception("processing %s failed", request.path)
            await keep_rejected(services, request, body, 503, f"processing failed: {exc!r}")
            return unavailable("could not store this message right now; it was kept and can be retried")
        instant = next((r.instant_reply for r in results if r.instant_reply), None)
        reply = parser.reply(instant)
        if _wants_html(request):
            return web.Response(text=_thanks_page(services), content_type="text/html")
        return web.Response(status=reply.status, text=reply.body, content_type=reply.content_type)

    return handle


def status_handler(parser: Any) -> Handler:
    """A platform's delivery report (Twilio status callback): signed, applied, 200; refused
    payloads are kept like any hook's."""

    async def handle(request: web.Request) -> web.StreamResponse:
        services = request.app[SERVICES]
        body = b""
        try:
            body = await read_body(request)
            report = parser.parse(raw_request(request, body, services.settings.console.public_url))
        except BadInputError as exc:
            await keep_rejected(services, request, body, exc.status, str(exc))
            return json_error(exc.status, str(exc))
        matched = await asyncio.to_thread(delivery.record, services, report)
        return web.json_response({"ok": True, "matched": matched})

    return handle


UNSUBSCRIBE_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width,initial-scale=1"></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem">
<h1 style="font-size:1.3rem">{title}</h1><p>{text}</p>{form}</body></html>"""


async def unsubscribe_page(request: web.Request) -> web.Response:
    """GET /unsubscribe/{token}: a page with one button; following the link alone (a mail
    scanner does) unsubscribes nobody."""
    services = request.app[SERVICES]
    token = request.match_info["token"]
    try:
        await asyncio.to_thread(unsubscribe.read_token, services, token)
    except BadInputError as exc:
        return _page(exc.status, "Link not valid", html.escape(str(exc)), "")
    name = html.escape(services.business.name)
    form = (
        f'<form method="post" action="/unsubscribe/{html.escape(token)}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>'
    )
    return _page(200, f"Unsubscribe from {name}", f"Stop receiving emails from {name}?", form)


async def unsubscribe_post(request: web.Request) -> web.Response:
    """POST /unsubscribe/{token}: RFC 8058 one-click (List-Unsubscribe=One-Click) or the page's button."""
    services = request.app[SERVICES]
    body = await read_body(request, 4096)
    try:
        name = await asyncio.to_thread(
            unsubscribe.unsubscribe, services, request.match_info["token"], "unsubscribe link"
        )
    except BadInputError as exc:
        await keep_rejected(services, request, body, exc.status, str(exc))
        return _page(exc.status, "Link not valid", html.escape(str(exc)), "")
    return _page(200, "You are unsubscribed", f"{html.escape(name)} will not email you again.", "")


def _page(status: int, title: str, text: str, form: str) -> web.Response:
    return web.Response(
        status=status,
        text=UNSUBSCRIBE_PAGE.format(title=title, text=text, form=form),
        content_type="text/html",
    )


def client_ip(request: web.Request) -> str:
    """Who posted: the peer address, or behind a reverse proxy on this host (nginx, Caddy) the
    first X-Forwarded-For entry it set. A remote peer's X-Forwarded-For is not believed."""
    peer = request.remote or "?"
    forwarded = request.headers.get("X-Forwarded-For", "")
    if forwarded and peer in ("127.0.0.1", "::1"):
        return forwarded.split(",")[0].strip()[:64] or peer
    return peer


def _remote(request: web.Request) -> bool:
    """A post from another machine (directly or through a local proxy). A script on this host
    posting straight to the port (the demo, the tests, a cron import) is not rate limited."""
    return request.remote not in ("127.0.0.1", "::1") or "X-Forwarded-For" in request.headers


def _relay_check(limits: FormLimits, msg: InboundMessage) -> InboundMessage:
    """A form naming the same address again and again is someone using it to mail a stranger:
    stored for the team, but no automatic reply (policy holds spam_reason messages back)."""
    address = msg.sender_email or msg.sender_phone
    if address and limits.address_over(address) and not msg.spam_reason:
        msg.spam_reason = (
            f"the form named this address more than {limits.per_address} times today: "
            "no automatic reply (the form must not mail strangers)"
        )
    return msg


async def process(services: Services, messages: list[InboundMessage]) -> list[ReceiveResult]:
    """Store every message (off the event loop), then hand them to the queue to be read: the
    platform is answered as soon as the messages are stored, whatever the brain's backlog, so a
    slow brain never makes a platform retry. Reading happens in a job (a worker's, or a thread of
    the embedded queue); if the queue cannot take it, the straggler sweep reads it later."""
    accepted = await asyncio.to_thread(_accept_all, services, messages)
    fresh = [stored.message_id for _, stored in accepted if stored.duplicate is None]
    if fresh:
        # In order, one job: a conversation's messages are read one by one.
        await asyncio.to_thread(services.try_enqueue, "understand", *fresh)
    return [
        stored.duplicate
        or ReceiveResult(
            stored.message_id, stored.lead_id, stored.conversation_id, instant_reply=msg.auto_reply
        )
        for msg, stored in accepted
    ]


def _accept_all(services: Services, messages: list[InboundMessage]) -> list[tuple[InboundMessage, Any]]:
    return [accept(services, m) for m in messages]


def _wants_html(request: web.Request) -> bool:
    return (
        request.path == "/hooks/form"
        and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data")
        and "text/html" in request.headers.get("Accept", "")
    )


def _thanks_page(services: Services) -> str:
    name = services.business.name
    return (
        f"<!doctype html><meta charset=utf-8><title>Thank you</title>"
        f"<body style='font:16px system-ui;max-width:32rem;margin:3rem auto'>"
        f"<h1>Thank you!</h1><p>{name} has your message and will be in touch shortly.</p></body>"
    )


async def form_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    page = embeddable_form(
        "/hooks/form", services.business.name, services.settings.channels.webform.honeypot_field
    )
    return web.Response(text=page, content_type="text/html")


@web.middleware
async def never_500(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Last line of defence: an unexpected error is logged and answered as a clear 4xx/503."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except BadInputError as exc:
        return json_error(exc.status, str(exc))
    except Exception as exc:
        log.exception("unhandled error on %s %s", request.method, request.path)
        services = request.app.get(SERVICES)
        if services is None or not await asyncio.to_thread(services.db.answers):
            return unavailable("storage is unavailable; try again shortly")
        # Storage answers, so retrying the same bytes would fail the same way: a 4xx, body kept.
        body = request._read_bytes or b""  # what a handler already read, if anything
        await keep_rejected(services, request, body, 400, f"could not handle: {exc!r}")
        return json_error(400, "Sheepdog could not handle this request; it was kept for inspection")


def unavailable(message: str) -> web.Response:
    """503 with Retry-After: the platform (or script) is asked to send the same request again."""
    return web.json_response(
        {"error": message}, status=503, headers={"Retry-After": str(defaults.RETRY_AFTER_S)}
    )


def cors_for(services: Services) -> Callable[[web.Request, web.StreamResponse], Awaitable[None]]:
    origins = set(services.settings.channels.webform.allowed_origins)

    async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
        origin = request.headers.get("Origin")
        if origin and origin in origins and request.path == "/hooks/form":
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"

    return on_prepare


async def form_preflight(request: web.Request) -> web.Response:
    return web.Response(
        status=204,
        headers={"Access-Control-Allow-Methods": "POST", "Access-Control-Allow-Headers": "Content-Type"},
    )


def build_web_app(
    services: Services, extra: list[Callable[[web.Application], Any]] | None = None
) -> web.Application:
    """Routes: /hooks/* (channels), /form, /healthz, /readyz, /metrics, then whatever surfaces add
    (console, Slack)."""
    # client_max_size caps request.read()/post() (the Slack adapter's route); the hooks and the
    # console stream their bodies through read_body with their own limits, which it does not cut.
    from sheepdog.bot.guard import input_guard  # guard builds on this module's helpers

    app = web.Application(middlewares=[never_500, input_guard], client_max_size=defaults.MAX_BODY_BYTES * 4)
    app[SERVICES] = services
    app[FORM_LIMITS] = FormLimits()
    for path, parser in inbound_routes(services.settings):
        app.router.add_post(path, hook_handler(parser, body_limit(services.settings, path)))
    for path, status_parser in status_routes(services.settings):
        app.router.add_post(path, status_handler(status_parser))
    app.router.add_get("/unsubscribe/{token}", unsubscribe_page)
    app.router.add_post("/unsubscribe/{token}", unsubscribe_post)
    app.router.add_route("OPTIONS", "/hooks/form", form_preflight)
    app.router.add_get("/form", form_page)
    add_health_routes(app)
    app.on_response_prepare.append(cors_for(services))
    for add in extra or []:
        add(app)
    return app


def dumps(value: Any) -> str:
    return json.dumps(value, default=str)
