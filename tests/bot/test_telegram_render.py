"""Telegram rendering: customer text escaped for HTML, long cards split at 4,096 characters
without cutting a tag or an entity, callback data within 64 bytes."""

from __future__ import annotations

from datetime import UTC, datetime

from sheepdog.bot import telegram_render as render
from sheepdog.bot.cards import Button, Card


def card(text: str) -> Card:
    return Card(
        key="message:1", kind="inbound", lead_id=12, title="Customer · SMS", text=text, at=datetime.now(UTC)
    )


def test_customer_text_is_escaped() -> None:
    html = render.card_html(card('<b>hi</b> & <a href="x">'))
    assert '&lt;b&gt;hi&lt;/b&gt; &amp; &lt;a href="x"&gt;' in html


def test_a_long_card_is_split_at_the_limit_with_tags_closed_and_reopened() -> None:
    body = ("word & <more> " * 800).strip()  # ~11,000 characters once escaped
    parts = render.split(render.card_html(card(body)))
    assert len(parts) >= 3 and all(len(p) <= render.MAX_MESSAGE for p in parts)
    for part in parts:
        assert part.count("<blockquote>") == part.count("</blockquote>")
        assert "&am" not in part.replace("&amp;", "")  # no entity cut in two
    joined = "".join(p.replace("<blockquote>", "").replace("</blockquote>", "") for p in parts)
    assert joined.count("&amp;") == 800


def test_callback_data_and_topic_names_fit_telegrams_limits() -> None:
    data = render.callback("visit_scheduled", 2**62)
    assert len(data.encode()) <= 64 and render.parse_callback(data) == ("visit_scheduled", 2**62)
    assert render.parse_callback("other:bot:data") is None and render.parse_callback("sd:approve:x") is None
    assert len(render.topic_name(12, "J" * 300, "heat pump")) == render.MAX_TOPIC_NAME
    markup = render.keyboard(
        Card(
            key="brief:1",
            kind="brief",
            lead_id=1,
            title="t",
            text="",
            at=datetime.now(UTC),
            stage_buttons=(Button("won", "Won…", "1"),),
        )
    )
    assert markup is not None and markup.inline_keyboard[0][0].callback_data == "sd:won:1"
