"""Input guards in front of the routes whose bodies a third-party library parses (slack-bolt at
/slack/events): the body is read once (aiohttp caches it, so Bolt reads the same bytes), then
refused with a 4xx before any parser sees it when it is empty, too large, not UTF-8, not the
content type Slack sends, or JSON that is malformed, too deep or carries out-of-range numbers.

Signatures stay Bolt's to check (a bad signature is 401 there); this layer only makes sure that
nothing malformed reaches code that would raise on it. The refused payload is kept, with its
headers filtered by the allowlist in web.keep_payload.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.response import BoltResponse

from sheepdog import defaults, safejson
from sheepdog.bot.web import SERVICES, Handler, json_error, keep_payload, keep_rejected, unavailable
from sheepdog.errors import BadInputError
from sheepdog.handlers.context import Services

log = logging.getLogger(__name__)

GUARDED = ("/slack/events",)
FORM = "application/x-www-form-urlencoded"


_STR = (str,)
_OBJ = (dict,)
_STR_OR_OBJ = (str, dict)
_SHAPE: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(
        (
            "type",
            "token",
            "team_id",
            "api_app_id",
            "event_id",
            "enterprise_id",
            "user_id",
            "channel_id",
            "ts",
            "thread_ts",
            "event_ts",
            "subtype",
            "bot_id",
            "channel_type",
            "tab",
            "user_team",
            "callback_id",
            "trigger_id",
            "response_url",
            "action_id",
            "block_id",
            "value",
            "command",
            "private_metadata",
            "reaction",
            "item_user",
            "client_msg_id",
            "challenge",
            "app_installed_team_id",
            "context_team_id",
            "context_enterprise_id",
            "function_execution_id",
            "hash",
            "id",
            "external_id",
        ),
        _STR,
    ),
    **dict.fromkeys(("user", "team", "channel", "enterprise"), _STR_OR_OBJ),
    **dict.fromkeys(
        (
            "event",
            "view",
            "state",
            "message",
            "previous_message",
            "item",
            "container",
            "assistant_thread",
            "workflow_step",
            "values",
        ),
        _OBJ,
    ),
    **dict.fromkeys(("actions", "authorizations", "blocks", "attachments", "files"), (list,)),
    **dict.fromkeys(("is_enterprise_install", "is_ext_shared_channel", "hidden"), (bool,)),
}
"""Types of the envelope fields slack-bolt and the listeners index without checking (a `null`
`actions` or a numeric `type` raises inside Bolt). Null is accepted where Slack sends null."""
_NULLABLE = {k for k, v in _SHAPE.items() if v not in (_OBJ, (list,))}
"""Slack sends null in text fields (context_enterprise_id, thread_ts …), never for an object or list."""
_ENVELOPES = {
    "event",
    "message",
    "previous_message",
    "item",
    "view",
    "container",
    "assistant_thread",
    "user",
    "team",
    "channel",
}
_LISTS_OF_OBJECTS = {"actions", "authorizations"}


def check_slack_shape(doc: dict[str, object], where: str = "body") -> None:
    """Refuse (422) a Slack payload whose envelope fields have the wrong type."""
    for key, value in doc.items():
        allowed = _SHAPE.get(key)
        if allowed is None:
            continue
        if value is None:
            if key in _NULLABLE:
                continue
            raise BadInputError(f"{where}.{key} is null; Slack sends {allowed[0].__name__}", 422)
        if not isinstance(value, allowed):
            names = " or ".join(t.__name__ for t in allowed)
            raise BadInputError(f"{where}.{key} must be {names}, not {type(value).__name__}", 422)
        if key in _ENVELOPES and isinstance(value, dict):
            check_slack_shape(value, f"{where}.{key}")
        if key in _LISTS_OF_OBJECTS:
            if key == "actions" and not value:
                raise BadInputError(f"{where}.actions is empty", 422)
            for i, item in enumerate(value):  # type: ignore[arg-type]
                if not isinstance(item, dict):
                    raise BadInputError(f"{where}.{key}[{i}] must be an object", 422)
                check_slack_shape(item, f"{where}.{key}[{i}]")


def check_slack_body(content_type: str, raw: bytes) -> None:
    """What Slack sends: JSON (Events API) or a form (slash commands; interactivity as a
    `payload` field holding JSON). Raises BadInputError with a message saying what is wrong."""
    if not raw.strip():
        raise BadInputError("empty body: Slack sends a JSON event or a form")
    text = safejson.utf8(raw)
    if "\x00" in text:
        raise BadInputError("NUL byte in the body")
    if content_type == "application/json":
        doc = safejson.loads(raw)
        if not isinstance(doc, dict):
            raise BadInputError("a Slack event is a JSON object", 422)
        check_slack_shape(doc)
    elif content_type == FORM:
        try:
            fields = parse_qsl(text, keep_blank_values=True, strict_parsing=True, errors="strict")
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadInputError(f"malformed form body: {exc}") from exc
        for name, value in fields:
            if "\x00" in value:
                raise BadInputError(f"NUL byte in form field {name!r}")
            if name == "payload":
                doc = safejson.loads(value, "payload field")
                if not isinstance(doc, dict):
                    raise BadInputError("the payload field must hold a JSON object", 422)
                check_slack_shape(doc, "payload")
    else:
        raise BadInputError(
            f"unsupported content type {content_type!r}: Slack sends application/json or {FORM}", 415
        )


_TOKEN_FIELDS = re.compile(rb'("token"\s*:\s*")[^"]*(")|((?:^|&)token=)[^&]*|(%22token%22%3A%22)[^%]*(%22)')


def scrub(raw: bytes) -> bytes:
    """A Slack body fit to keep: the (legacy) verification token Slack puts in every payload is
    a credential, so it is blanked before the body is stored."""
    return _TOKEN_FIELDS.sub(lambda m: b"".join(g for g in m.groups() if g), raw)


def listener_failed(services: Services) -> Callable[..., Awaitable[BoltResponse | None]]:
    """slack-bolt's error handler: a listener that raised on a payload (a shape Slack never sends)
    is a refused payload like any other: kept (token blanked), logged in one line, answered 400;
    503 when it raised because the database is down, so Slack sends it again."""

    async def handle(error: Exception, body: Any, response: BoltResponse | None) -> BoltResponse | None:
        down = not await asyncio.to_thread(services.db.answers)
        reason = f"a Slack listener failed on this payload: {error!r}"[:500]
        if not down:
            raw = json.dumps(body, default=str).encode() if not isinstance(body, bytes) else body
            await keep_payload(services, "/slack/events", scrub(raw), 400, reason)
        else:
            log.warning("Slack payload not handled: the database is unavailable (%r)", error)
        if response is None:
            return None
        status = 503 if down else 400
        return BoltResponse(
            status=status, body=json.dumps({"error": reason}), headers={"Content-Type": "application/json"}
        )

    return handle


@web.middleware
async def input_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method != "POST" or request.path not in GUARDED:
        return await handler(request)
    services = request.app[SERVICES]
    try:
        raw = await request.read()  # cached: Bolt's adapter reads these same bytes again
    except web.HTTPRequestEntityTooLarge:
        message = f"body too large: {request.path} accepts at most {request.client_max_size:,} bytes"
        await keep_rejected(services, request, b"", 413, message, truncated=True)
        return json_error(413, message)
    if len(raw) > defaults.MAX_BODY_BYTES:
        message = f"body too large: {request.path} accepts at most {defaults.MAX_BODY_BYTES:,} bytes"
        await keep_rejected(services, request, scrub(raw[: defaults.KEPT_REJECTED_BYTES]), 413, message)
        return json_error(413, message)
    try:
        check_slack_body(request.content_type, raw)
    except BadInputError as exc:
        await keep_rejected(services, request, scrub(raw), exc.status, str(exc))
        return json_error(exc.status, str(exc))
    response = await handler(request)
    if response.status >= 500:
        # Bolt answers 500 when a listener or its own middleware raised on this payload. With the
        # database up a retry of the same bytes fails the same way: 400, payload kept.
        if not await asyncio.to_thread(services.db.answers):
            return unavailable("storage is unavailable; try again shortly")
        reason = f"Slack payload could not be handled (the handler answered {response.status})"
        await keep_rejected(services, request, scrub(raw), 400, reason)
        return json_error(400, reason + "; it was kept for inspection")
    return response
