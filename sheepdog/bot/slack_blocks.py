"""Render surface-neutral cards (sheepdog.bot.cards) as Slack Block Kit. Rendering only: no I/O.

Slack limits that shape this module: a section holds at most 10 fields and 3,000 characters of
text, a message at most 50 blocks; every message also needs a plain `text` fallback for
notifications and screen readers.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, time
from typing import Any

from sheepdog.bot.cards import Button, Card

ACTION_PREFIX = "sheepdog_"  # action_id of every button: sheepdog_approve, sheepdog_edit …
EDIT_CALLBACK = "sheepdog_edit"  # callback_id of the edit modal
EDIT_BLOCK, EDIT_ACTION = "draft", "text"  # where the modal's text input lives in view.state
OUTCOME_CALLBACK = "sheepdog_outcome"  # callback_id of the Won (amount) / Lost (reason) modal
OUTCOME_BLOCK, OUTCOME_ACTION = "outcome", "text"
VISIT_CALLBACK = "sheepdog_visit"  # callback_id of the Visit scheduled modal (a date and a time)
VISIT_DATE_BLOCK, VISIT_DATE_ACTION = "visit_date", "date"
VISIT_TIME_BLOCK, VISIT_TIME_ACTION = "visit_time", "time"
MAX_TEXT = 2900  # under Slack's 3,000-character section limit, room for a suffix
MAX_FIELDS = 10
MAX_INPUT = 3000  # a plain_text_input's max_length (and so its initial_value) in Slack

KIND_ICONS = {
    "inbound": ":speech_balloon:",
    "outbound": ":outbox_tray:",
    "note": ":memo:",
    "draft": ":pencil:",
    "alert": ":rotating_light:",
}


def _clip(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape(text: str) -> str:
    """Slack mrkdwn treats &, < and > as control characters; customer text must not ping @channel."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")
"""A user mention in Slack's markup: <@U024BE7LH> or <@U024BE7LH|dana>."""
_SLACK_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")


def plain_text(text: str, names: dict[str, str] | None = None) -> str:
    """What a team member typed in Slack, as the customer should read it: Slack's escaping
    (&amp; &lt; &gt;) undone, links unwrapped ("label (url)"), mentions turned into names."""
    names = names or {}

    def link(m: re.Match[str]) -> str:
        target, label = m.group(1), m.group(2)
        if target.startswith("@"):
            return f"@{names.get(target[1:], label or 'someone')}"
        if target.startswith("#"):
            return f"#{label or target[1:]}"
        if target.startswith("!"):
            return label or ""  # <!here>, <!channel>: meaningless to a customer
        if target.startswith("mailto:"):
            return label or target.removeprefix("mailto:")
        if not label or label == target or target.endswith("//" + label) or target.endswith("/" + label):
            return target
        return f"{label} ({target})"

    text = _SLACK_LINK.sub(link, text)
    # Slack escapes exactly these three; &amp; last, so a typed "&lt;" stays as typed.
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _button(b: Button) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "button",
        "action_id": ACTION_PREFIX + b.action,
        "text": {"type": "plain_text", "text": b.label},
        "value": b.value,
    }
    if b.style in ("primary", "danger"):
        out["style"] = b.style
    return out


def _quote(text: str) -> str:
    return "\n".join("> " + line for line in escape(text).splitlines() or [""])


def card_blocks(card: Card) -> list[dict[str, Any]]:
    """Blocks for one card: title and body, fields, flags, status line, buttons."""
    blocks: list[dict[str, Any]] = []
    if card.kind == "brief":
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": _clip(card.title, 150)}})
        blocks.append({"type": "context", "elements": [_mrkdwn(f"Lead #{card.lead_id}")]})
        if card.text:
            blocks.append({"type": "section", "text": _mrkdwn(_clip(escape(card.text)))})
    elif card.kind == "alert":
        # Built by the Slack surface (its escalations), already mrkdwn: its mentions must notify.
        head = f"{KIND_ICONS['alert']} *{escape(card.title)}*"
        blocks.append({"type": "section", "text": _mrkdwn(_clip(f"{head}\n{card.text}"))})
    else:
        icon = KIND_ICONS.get(card.kind, "")
        head = f"{icon} *{escape(card.title)}*".strip()
        blocks.append({"type": "section", "text": _mrkdwn(_clip(f"{head}\n{_quote(card.text)}"))})
    # The brief's facts, or what a customer filled in besides their message.
    fields = [_mrkdwn(_clip(f"*{escape(name)}*\n{escape(value)}", 2000)) for name, value in card.fields]
    for i in range(0, len(fields), MAX_FIELDS):
        blocks.append({"type": "section", "fields": fields[i : i + MAX_FIELDS]})
    if card.flags:
        flags = " · ".join(escape(f) for f in card.flags)
        blocks.append({"type": "context", "elements": [_mrkdwn(f":warning: {_clip(flags, 1900)}")]})
    if card.status:
        blocks.append({"type": "context", "elements": [_mrkdwn(_clip(escape(card.status), 1900))]})
    if card.buttons:
        blocks.append(
            {"type": "actions", "block_id": f"{card.key}", "elements": [_button(b) for b in card.buttons]}
        )
    if card.stage_buttons:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"stage:{card.lead_id}",
                "elements": [_button(b) for b in card.stage_buttons],
            }
        )
    return blocks[:50]


def card_text(card: Card) -> str:
    """The plain fallback Slack shows in notifications: title, then status (an alert: its text,
    so the notification carries the mention)."""
    if card.kind == "alert":
        return _clip(f"{card.title}: {card.text}", 1000)
    parts = [card.title]
    if card.status:
        parts.append(card.status)
    return _clip(escape(" — ".join(parts)), 1000)  # mrkdwn too: a customer's "<!channel>" stays text


def content_hash(blocks: list[dict[str, Any]], text: str) -> str:
    """What was last posted, so an unchanged card is never updated again."""
    raw = json.dumps({"b": blocks, "t": text}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


def _modal(
    callback_id: str, metadata: dict[str, Any], title: str, submit: str, blocks: list[dict[str, Any]]
) -> dict[str, Any]:
    """The shell every Sheepdog modal shares: its callback, metadata, title and Submit / Cancel."""
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": json.dumps(metadata),
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def _lead_header(lead_id: int, title: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(_clip(escape(f"Lead #{lead_id}: {title}"), 2000))}


def edit_modal(draft_id: int, body: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """The Edit modal: the draft's text, editable; private_metadata says which draft and card.

    Slack's text input holds at most 3,000 characters: a longer draft is shown cut, and the hint
    says so (what is sent is what the modal holds; Approve on the card sends the whole draft)."""
    if len(body) > MAX_INPUT:
        hint = (
            f"This draft is {len(body):,} characters and Slack's editor holds {MAX_INPUT:,}: only the "
            f"first {MAX_INPUT:,} are shown, and Send sends what is here. To send the whole draft, "
            "close this and press Approve."
        )
    else:
        hint = f"Sent to the customer as written. Up to {MAX_INPUT:,} characters (Slack's limit)."
    return _modal(
        EDIT_CALLBACK,
        {"draft_id": draft_id, **metadata},
        "Edit the reply",
        "Send",
        [
            {
                "type": "input",
                "block_id": EDIT_BLOCK,
                "label": {"type": "plain_text", "text": "Message to the customer"},
                "hint": {"type": "plain_text", "text": hint},
                "element": {
                    "type": "plain_text_input",
                    "action_id": EDIT_ACTION,
                    "multiline": True,
                    "max_length": MAX_INPUT,
                    "initial_value": body[:MAX_INPUT],
                },
            }
        ],
    )


def outcome_modal(kind: str, lead_id: int, title: str, currency: str) -> dict[str, Any]:
    """Won asks for the amount (optional: a lead can be won before the price is known), Lost for
    the reason (required: it is what the weekly report learns from)."""
    won = kind == "won"
    label = f"Amount ({currency}), optional" if won else "Why was it lost?"
    hint = "e.g. 4500 or 4,500.00; leave empty if not known yet" if won else "e.g. went with a competitor"
    return _modal(
        OUTCOME_CALLBACK,
        {"kind": kind, "lead_id": lead_id},
        "Won" if won else "Lost",
        "Save",
        [
            _lead_header(lead_id, title),
            {
                "type": "input",
                "block_id": OUTCOME_BLOCK,
                "optional": won,
                "label": {"type": "plain_text", "text": label},
                "hint": {"type": "plain_text", "text": hint},
                "element": {"type": "plain_text_input", "action_id": OUTCOME_ACTION, "max_length": 500},
            },
        ],
    )


def visit_modal(
    lead_id: int,
    title: str,
    tz: str,
    day: date | None = None,
    at: time | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    """Visit scheduled asks when: a date picker and a time picker (native pickers on a phone),
    both required, read in the business's zone `tz` (the time picker is told so). `day` / `at`
    prefill them: `source` "booked" (the visit being moved) or "asked" (what the customer asked for)."""
    day_picker: dict[str, Any] = {
        "type": "datepicker",
        "action_id": VISIT_DATE_ACTION,
        "placeholder": {"type": "plain_text", "text": "Pick a day"},
    }
    time_picker: dict[str, Any] = {
        "type": "timepicker",
        "action_id": VISIT_TIME_ACTION,
        "timezone": tz,
        "placeholder": {"type": "plain_text", "text": "Pick a time"},
    }
    if day is not None:
        day_picker["initial_date"] = day.isoformat()
    if at is not None:
        time_picker["initial_time"] = f"{at:%H:%M}"
    context = f"Times are {tz}. The customer is reminded before the visit."
    if source == "asked" and day is not None:
        context = f"Prefilled with what the customer asked for. {context}"
    elif source == "booked":
        context = f"The visit is booked then: pick the new time to move it. {context}"
    return _modal(
        VISIT_CALLBACK,
        {"lead_id": lead_id},
        "Visit scheduled",
        "Save",
        [
            _lead_header(lead_id, title),
            {
                "type": "input",
                "block_id": VISIT_DATE_BLOCK,
                "label": {"type": "plain_text", "text": "Day of the visit"},
                "element": day_picker,
            },
            {
                "type": "input",
                "block_id": VISIT_TIME_BLOCK,
                "label": {"type": "plain_text", "text": "Time"},
                "element": time_picker,
            },
            {"type": "context", "elements": [_mrkdwn(escape(context))]},
        ],
    )
