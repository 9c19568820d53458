"""The local web console: the embedded chat surface. Same cards, same actions as Slack.

Bound to localhost and guarded by a login token printed at start-up (`/?token=…` sets a cookie;
scripts send `Authorization: Bearer …`). Live updates come over Server-Sent Events read from the
event log, so a card changes in place whichever process (web or worker) changed it.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Awaitable, Callable
from email import message_from_bytes, policy
from importlib import resources
from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from sheepdog import safejson
from sheepdog.bot.cards import lead_cards
from sheepdog.bot.console import numbers
from sheepdog.bot.console.listing import HELD_AS_SPAM, lead_rows
from sheepdog.bot.posts import open_problems
from sheepdog.bot.web import SERVICES, json_error, read_body
from sheepdog.domain.clock import shown_time
from sheepdog.domain.models import Category, Stage
from sheepdog.errors import BadInputError, ForbiddenError, NotFoundError
from sheepdog.handlers import actions, commands, privacy
from sheepdog.handlers.context import Services
from sheepdog.handlers.team_actions import TeamAction, dispatch, visit_prefill
from sheepdog.storage.tables import Event, SinkMail

COOKIE = "sheepdog_token"
COOKIE_MAX_AGE_S = 180 * 24 * 3600  # a phone stays logged in for half a year
TOKEN: web.AppKey[str] = web.AppKey("console_token", str)
STATIC = resources.files("sheepdog.bot.console").joinpath("static")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _authorised(request: web.Request) -> bool:
    token = request.app[TOKEN]
    given = request.cookies.get(COOKIE, "")
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        given = auth[7:]
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())


@web.middleware
async def console_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    path = request.path
    if not (path == "/" or path.startswith(("/api/", "/static/"))):
        return await handler(request)
    if path == "/" and "token" in request.query:
        if not hmac.compare_digest(request.query["token"].encode(), request.app[TOKEN].encode()):
            return web.Response(
                status=401, text="Wrong login token. Use the link printed when Sheepdog started."
            )
        resp = web.HTTPFound("/")
        # A lasting cookie: the token is stable (console.token, or the demo's saved one), so a
        # restart of Sheepdog or of the browser keeps the owner logged in.
        resp.set_cookie(
            COOKIE, request.query["token"], httponly=True, samesite="Strict", max_age=COOKIE_MAX_AGE_S
        )
        raise resp
    if not _authorised(request):
        if path.startswith("/api/"):
            return json_error(
                401, "log in with the console link printed at start-up (or send a Bearer token)"
            )
        return web.Response(
            status=401,
            text="Sheepdog console: open the login link printed when Sheepdog started (http://127.0.0.1:8080/?token=…).",
        )
    if request.method == "POST" and not request.headers.get("Authorization") and not _same_origin(request):
        # A cookie rides along with any request the browser makes; only our own page may act with it.
        return json_error(403, "console actions must come from the console page (JSON, same origin)")
    return await handler(request)


def _same_origin(request: web.Request) -> bool:
    """JSON bodies need a CORS preflight we never grant, and the browser says where a request came from."""
    if request.content_type != "application/json":
        return False
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    return origin is None or origin == f"{request.scheme}://{request.host}"


def _actor(request: web.Request, body: dict[str, Any]) -> str:
    services: Services = request.app[SERVICES]
    name = str(body.get("actor") or request.headers.get("X-Sheepdog-Actor") or "").strip()
    return name[:100] or services.business.owner_name


async def _json(request: web.Request) -> dict[str, Any]:
    raw = await read_body(request)
    if not raw.strip():
        return {}
    data = safejson.loads(raw)
    if not isinstance(data, dict):
        raise BadInputError("JSON body must be an object")
    return data


async def _run(fn: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.to_thread(fn, *args)


async def index(request: web.Request) -> web.Response:
    return web.Response(
        text=STATIC.joinpath("index.html").read_text(encoding="utf-8"), content_type="text/html"
    )


async def static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in ("app.js", "numbers.js", "contacts.js", "style.css"):
        raise web.HTTPNotFound()
    ctype = "application/javascript" if name.endswith(".js") else "text/css"
    return web.Response(text=STATIC.joinpath(name).read_text(encoding="utf-8"), content_type=ctype)


async def list_leads(request: web.Request) -> web.Response:
    """Leads, most urgent first, each with its reason in plain words (see listing.py)."""
    services: Services = request.app[SERVICES]

    def load() -> list[dict[str, Any]]:
        with services.db.session() as s:
            return lead_rows(
                s, services.business.timezone, services.now(), services.settings.policy.pricing_handoff_s
            )

    leads = await _run(load)
    return web.json_response({"stages": [*(s.value for s in Stage), HELD_AS_SPAM], "leads": leads})


async def get_lead(request: web.Request) -> web.Response:
    services: Services = request.app[SERVICES]
    lead_id = _int(request, "lead_id")

    def load() -> dict[str, Any] | None:
        tz, pricing_s = services.business.timezone, services.settings.policy.pricing_handoff_s
        with services.db.session() as s:
            rows = lead_rows(s, tz, services.now(), pricing_s, only=lead_id)
            if not rows:
                return None
            cards = lead_cards(s, lead_id, tz, services.settings)
        pre = visit_prefill(services, lead_id)
        local = f"{pre.day:%Y-%m-%d}T{pre.at:%H:%M}" if pre.day and pre.at else None
        # The Visit scheduled input opens on the booked visit or the customer's asked time.
        visit = {
            "prefill": local,
            "day": f"{pre.day:%Y-%m-%d}" if pre.day else None,
            "source": pre.source,
            "tz": tz,
        }
        return {"lead": rows[0], "cards": [c.as_json() for c in cards], "visit": visit}

    data = await _run(load)
    if data is None:
        return json_error(404, f"no lead {lead_id}")
    return web.json_response(data)


def _int(request: web.Request, key: str) -> int:
    try:
        value = int(request.match_info[key])
    except ValueError:
        raise BadInputError(f"{key} must be a number") from None
    if not 0 < value < 2**63:
        raise NotFoundError(f"no such {key.removesuffix('_id')} {value}")
    return value


DRAFT_ACTIONS = ("approve", "edit", "skip")
"""What the console's draft buttons may ask of handlers.team_actions (the target is the draft)."""
LEAD_ACTIONS = {
    # console action → (team action kind, the JSON key its text comes from)
    "refund": ("refund", None),
    "went_out": ("went_out", None),
    "send_again": ("send_again", None),
    "pause": ("pause", None),
    "resume": ("resume", None),
    "claim": ("claim", None),
    "unclaim": ("unclaim", None),
    "reply": ("reply", "text"),
    "note": ("note", "text"),
    "stage": ("stage", "stage"),
    "visit": ("visit_scheduled", "at"),  # {"at": "2026-12-03T09:00"}: the business's zone
    "won": ("won", "amount"),
    "lost": ("lost", "reason"),
}


async def draft_action(request: web.Request) -> web.Response:
    services: Services = request.app[SERVICES]
    draft_id, name = _int(request, "draft_id"), request.match_info["action"]
    body = await _json(request)
    if name not in DRAFT_ACTIONS:
        return json_error(404, f"unknown draft action {name!r} (approve, edit, skip)")
    action = TeamAction(name, draft_id, _actor(request, body), str(body.get("text", "")), "console")
    return _result(await _run(dispatch, services, action))


async def lead_action(request: web.Request) -> web.Response:
    services: Services = request.app[SERVICES]
    lead_id, name = _int(request, "lead_id"), request.match_info["action"]
    body = await _json(request)
    if name not in LEAD_ACTIONS:
        return json_error(404, f"unknown lead action {name!r}")
    kind, key = LEAD_ACTIONS[name]
    value = body.get(key) if key else None
    text = "" if value is None else str(value)
    if name == "stage" and text not in {s.value for s in Stage}:
        return json_error(400, f"stage must be one of {', '.join(s.value for s in Stage)}")
    if name == "visit" and not text.strip():  # the button books a time; the stage alone is "stage"
        return json_error(400, "say when the visit is: at, e.g. 2026-12-03T09:00 (the business's time zone)")
    action = TeamAction(kind, lead_id, _actor(request, body), text, "console")
    return _result(await _run(dispatch, services, action))


async def command(request: web.Request) -> web.Response:
    """POST /api/command {"text": "autonomy first_reply L5"}: the chat commands from the console,
    whose token holder is the owner (who may change policy)."""
    services: Services = request.app[SERVICES]
    body = await _json(request)
    try:
        answer = await asyncio.to_thread(
            commands.run,
            services,
            str(body.get("text", "")),
            _actor(request, body),
            "/sheepdog",
            is_owner=True,
        )
    except ForbiddenError as exc:
        return json_error(403, str(exc))
    return web.json_response({"ok": True, "text": answer})


async def correct_triage(request: web.Request) -> web.Response:
    services: Services = request.app[SERVICES]
    body = await _json(request)
    try:
        category = Category(str(body.get("category", "")))
    except ValueError:
        return json_error(400, f"category must be one of {', '.join(c.value for c in Category)}")
    action = TeamAction("was", _int(request, "message_id"), _actor(request, body), category.value, "console")
    return _result(await _run(dispatch, services, action))


def _result(result: actions.ActionResult) -> web.Response:
    return web.json_response(
        {"ok": result.ok, "message": result.message, "lead_id": result.lead_id},
        status=200 if result.ok else 409,
    )


async def events_stream(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: one line per new event-log row; the page re-reads what changed."""
    services: Services = request.app[SERVICES]
    after = request.query.get("after", "0") or "0"
    if not after.isdigit():
        return json_error(400, "after must be an event id (a whole number)")
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await resp.prepare(request)

    def latest(after: int) -> list[tuple[int, int | None, str]]:
        with services.db.session() as s:
            rows = s.execute(
                select(Event.id, Event.lead_id, Event.kind)
                .where(Event.id > after)
                .order_by(Event.id)
                .limit(200)
            ).all()
            return [tuple(r) for r in rows]  # type: ignore[misc]

    def max_id() -> int:
        with services.db.session() as s:
            return s.scalar(select(func.max(Event.id))) or 0

    last = int(after) or await _run(max_id)
    await resp.write(f"event: hello\ndata: {json.dumps({'after': last})}\n\n".encode())
    try:
        idle = 0.0
        while True:
            rows = await _run(latest, last)
            for event_id, lead_id, kind in rows:
                last = event_id
                payload = json.dumps({"id": event_id, "lead_id": lead_id, "kind": kind})
                await resp.write(f"id: {event_id}\ndata: {payload}\n\n".encode())
            idle = 0.0 if rows else idle + 0.4
            if idle >= 15:
                await resp.write(b": keep-alive\n\n")
                idle = 0.0
            await asyncio.sleep(0.4)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return resp


async def sink_mail(request: web.Request) -> web.Response:
    """Mail caught by the demo's SMTP sink: what the lead would have received."""
    services: Services = request.app[SERVICES]
    tz, now = services.business.timezone, services.now()

    def load() -> list[dict[str, Any]]:
        with services.db.session() as s:
            rows = s.scalars(select(SinkMail).order_by(SinkMail.id.desc()).limit(100)).all()
            out = []
            for row in rows:
                msg = message_from_bytes(row.data, policy=policy.default)
                body = msg.get_body(preferencelist=("plain", "html"))
                out.append(
                    {
                        "id": row.id,
                        "at": row.at.isoformat(),
                        "when": shown_time(row.at, tz, now),
                        "from": str(msg["From"]),
                        "to": str(msg["To"]),
                        "subject": str(msg["Subject"]),
                        "message_id": str(msg["Message-ID"]),
                        "in_reply_to": str(msg.get("In-Reply-To") or ""),
                        "body": body.get_content() if body is not None else "",
                    }
                )
            return out

    return web.json_response({"mail": await _run(load)})


def _job_health(services: Services) -> dict[str, Any]:
    health = services.queue.health()  # type: ignore[attr-defined]
    if not health.reachable:
        problem = f"the job queue is unreachable ({health.error}): replies wait until it is back"
    elif health.workers == 0:
        problem = "no worker is running: replies are stored and wait. Start one: sheepdog worker"
    else:
        problem = None
    if surfaces := open_problems(services):  # e.g. the Telegram bot removed from the team group
        problem = "; ".join([*([problem] if problem else []), *surfaces])
    return {
        "backend": health.backend,
        "reachable": health.reachable,
        "queued": health.queued,
        "scheduled": health.scheduled,
        "running": health.running,
        "failed": health.failed,
        "workers": health.workers,
        "problem": problem,
    }


async def jobs(request: web.Request) -> web.Response:
    """The queue at a glance and every failed job with its error (Retry / Drop in the console)."""
    services: Services = request.app[SERVICES]

    def load() -> dict[str, Any]:
        health = _job_health(services)
        failed = services.queue.failed() if health["reachable"] else []  # type: ignore[attr-defined]
        return {
            "health": health,
            "failed": [
                {
                    "id": f.id,
                    "job": f.job,
                    "args": [str(a) for a in f.args],
                    "failed_at": f.failed_at.isoformat() if f.failed_at else None,
                    "failed_when": shown_time(f.failed_at, services.business.timezone, services.now()),
                    "error": f.last_line,
                    "detail": f.error[-4000:],
                }
                for f in failed
            ],
        }

    return web.json_response(await _run(load))


async def job_action(request: web.Request) -> web.Response:
    services: Services = request.app[SERVICES]
    job_id, name = request.match_info["job_id"], request.match_info["action"]
    queue: Any = services.queue
    if name not in ("retry", "drop"):
        return json_error(404, f"unknown job action {name!r}: retry or drop")
    done = await _run(queue.retry_failed if name == "retry" else queue.drop_failed, job_id)
    if not done:
        return json_error(404, f"no failed job {job_id}")
    said = "queued again" if name == "retry" else "dropped"
    return web.json_response({"ok": True, "message": f"job {job_id} {said}"})


async def whoami(request: web.Request) -> web.Response:
    services: Services = request.app[SERVICES]
    return web.json_response(
        {
            "business": services.business.name,
            "owner": services.business.owner_name,
            "categories": [c.value for c in Category],
            "stages": [s.value for s in Stage],
            "demo_mail": services.settings.demo.smtp_sink,
            "timezone": services.business.timezone,
        }
    )


async def contact_rights(request: web.Request) -> web.Response:
    """POST /api/contacts/export {"who": EMAIL|PHONE}: everything held, as JSON;
    POST /api/contacts/erase {"who": …, "confirm": true}: every row removed, a tombstone kept.
    The console's login is the owner's, so these are the owner's (like `sheepdog contact …`)."""
    services: Services = request.app[SERVICES]
    body = await _json(request)
    who = body.get("who")
    if not isinstance(who, str) or not who.strip():
        raise BadInputError('send {"who": "<email or phone>"}', 422)
    region = services.business.country
    try:
        if request.match_info["action"] == "export":
            return web.json_response(await _run(privacy.export, services.db, region, who), dumps=_dumps)
        if request.match_info["action"] != "erase":
            raise NotFoundError("contact actions are export and erase")
        if body.get("confirm") is not True:
            raise BadInputError('erasing cannot be undone: send "confirm": true', 422)
        done = await _run(privacy.erase, services.db, region, who, _actor(request, body))
    except ValueError as exc:
        raise BadInputError(str(exc), 422) from exc
    for lead_id in done.lead_ids:
        services.lead_changed(lead_id)
    return web.json_response({"erased": done.counts, "leads": done.lead_ids})


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


@web.middleware
async def not_found_as_404(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except NotFoundError as exc:
        return json_error(404, str(exc))


def add_console(token: str) -> Callable[[web.Application], None]:
    """Install the console's routes and guard on the bot's web application."""

    def install(app: web.Application) -> None:
        app[TOKEN] = token
        app.middlewares.append(console_auth)
        app.middlewares.append(not_found_as_404)
        app.router.add_get("/", index)
        app.router.add_get("/static/{name}", static)
        app.router.add_get("/api/me", whoami)
        app.router.add_get("/api/leads", list_leads)
        app.router.add_get("/api/leads/{lead_id}", get_lead)
        app.router.add_post("/api/leads/{lead_id}/{action}", lead_action)
        app.router.add_post("/api/drafts/{draft_id}/{action}", draft_action)
        app.router.add_post("/api/messages/{message_id}/triage", correct_triage)
        app.router.add_post("/api/command", command)
        app.router.add_get("/api/stream", events_stream)
        app.router.add_get("/api/mail", sink_mail)
        app.router.add_get("/api/jobs", jobs)
        app.router.add_post("/api/jobs/{job_id}/{action}", job_action)
        numbers.install(app)
        app.router.add_post("/api/contacts/{action}", contact_rights)

    return install
