"""Render surface-neutral cards (sheepdog.bot.cards) as Telegram messages. Rendering only: no I/O.

HTML parse mode, with every customer string escaped (Telegram's HTML knows only &lt; &gt; &amp;
&quot; as entities). A message holds at most 4,096 characters: a longer card is split, the first
part being the card (edited in place, with its keyboard) and the rest follow-ups. A button's
callback_data is at most 64 bytes: "sd:<kind>:<id>".
"""

from __future__ import annotations

import hashlib
import html
import json
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from sheepdog.bot.cards import Button, Card

MAX_MESSAGE = 4096
"""Telegram's limit on a message's text, in characters after entity parsing."""
MAX_TOPIC_NAME = 128
"""Telegram's limit on a forum topic's name."""
CALLBACK_PREFIX = "sd"
KIND_ICONS = {"inbound": "💬", "outbound": "📤", "note": "📝", "draft": "✏️", "alert": "🚨", "brief": "🐑"}
DRAFT_STAGES = ("quoted", "won", "lost")
"""The stage buttons under a waiting draft (the brief carries all of them)."""


def esc(text: str) -> str:
    return html.escape(text, quote=False)


def mention(user_id: int, name: str) -> str:
    """A text mention that notifies the member even without a username."""
    return f'<a href="tg://user?id={int(user_id)}">{esc(name)}</a>'


def callback(kind: str, target: int | str) -> str:
    return f"{CALLBACK_PREFIX}:{kind}:{target}"


def parse_callback(data: str) -> tuple[str, int] | None:
    """'sd:approve:40' → ('approve', 40); anything else None."""
    parts = data.split(":")
    if len(parts) != 3 or parts[0] != CALLBACK_PREFIX or not parts[2].lstrip("-").isdigit():
        return None
    return parts[1], int(parts[2])


def topic_name(lead_id: int, title: str, service: str | None) -> str:
    """'#12 Jordan Ellis · heat pump', cut to Telegram's 128 characters."""
    name = f"#{lead_id} {title}" + (f" · {service}" if service else "")
    return name if len(name) <= MAX_TOPIC_NAME else name[: MAX_TOPIC_NAME - 1] + "…"


def card_html(card: Card, header: str | None = None) -> str:
    """The card as HTML: title, text, fields, flags, status. An alert's text is already HTML."""
    icon = KIND_ICONS.get(card.kind, "")
    lines: list[str] = []
    if header:
        lines.append(f"<b>{esc(header)}</b>")
    lines.append(f"{icon} <b>{esc(card.title)}</b>".strip())
    if card.kind == "brief":
        lines.append(f"Lead #{card.lead_id}")
        if card.text:
            lines.append(esc(card.text))
    elif card.kind == "alert":
        lines.append(card.text)
    else:
        lines.append(f"<blockquote>{esc(card.text)}</blockquote>")
    for name, value in card.fields:
        lines.append(f"<b>{esc(name)}:</b> {esc(value)}")
    if card.flags:
        lines.append("⚠️ " + esc(" · ".join(card.flags)))
    if card.status:
        lines.append(f"<i>{esc(card.status)}</i>")
    return "\n".join(lines)


def split(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Cut at line ends where possible, never inside an HTML tag or entity; each part ≤ limit.
    Tags opened in a part are closed at its end and reopened in the next."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit - 40)
        if cut < limit // 2:
            cut = limit - 40
        # never inside a tag or an entity
        lt, gt = rest.rfind("<", 0, cut), rest.rfind(">", 0, cut)
        if lt > gt:
            cut = lt
        amp, semi = rest.rfind("&", 0, cut), rest.rfind(";", 0, cut)
        if amp > semi and cut - amp < 10:
            cut = amp
        head, rest = rest[:cut], rest[cut:].lstrip("\n")
        open_tags = _open_tags(head)
        parts.append(head + "".join(f"</{t}>" for t in reversed(open_tags)))
        rest = "".join(f"<{t}>" for t in open_tags) + rest
    parts.append(rest)
    return parts


def _open_tags(fragment: str) -> list[str]:
    stack: list[str] = []
    i = 0
    while (i := fragment.find("<", i)) != -1:
        j = fragment.find(">", i)
        if j == -1:
            break
        tag = fragment[i + 1 : j].split()[0] if fragment[i + 1 : j].strip() else ""
        if tag.startswith("/"):
            if stack and stack[-1] == tag[1:]:
                stack.pop()
        elif tag in ("b", "i", "blockquote", "code", "pre", "s", "u"):
            stack.append(tag)
        i = j + 1
    return stack


def _button(b: Button) -> InlineKeyboardButton:
    return InlineKeyboardButton(b.label, callback_data=callback(b.action, b.value))


def keyboard(card: Card, stages: tuple[Button, ...] = ()) -> InlineKeyboardMarkup | None:
    """A waiting draft: Approve / Edit / Pause / Skip, then Quoted / Won / Lost (from the brief's
    stage buttons); the brief: Pause or Resume, then its stage buttons. None: no keyboard."""
    rows: list[list[InlineKeyboardButton]] = []
    if card.buttons:
        rows.append([_button(b) for b in card.buttons])
    extra = card.stage_buttons or tuple(
        s for s in stages if card.kind == "draft" and s.action in DRAFT_STAGES
    )
    if (card.buttons or card.kind == "brief") and extra:
        rows.append([_button(b) for b in extra])
    return InlineKeyboardMarkup(rows) if rows else None


def digest(text: str, markup: InlineKeyboardMarkup | None) -> str:
    """What was last posted, so an unchanged card is never edited again."""
    raw = json.dumps(
        {"t": text, "k": markup.to_dict() if markup else None}, sort_keys=True, ensure_ascii=False
    )
    return hashlib.sha256(raw.encode()).hexdigest()


def plain(text: Any) -> str:
    return text if isinstance(text, str) else ""
