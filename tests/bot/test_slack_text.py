"""Slack's message format back to what a customer should read."""

from __future__ import annotations

import pytest

from sheepdog.bot.slack_blocks import plain_text


@pytest.mark.parametrize(
    ("slack", "plain"),
    [
        ("Tom &amp; Jerry &lt;3", "Tom & Jerry <3"),
        ("Book here: <https://brightside.example/book>", "Book here: https://brightside.example/book"),
        (
            "<https://brightside.example/book|our booking page>",
            "our booking page (https://brightside.example/book)",
        ),
        ("<http://brightside.example|brightside.example>", "http://brightside.example"),
        ("Mail <mailto:dana@brightside.example|dana@brightside.example>", "Mail dana@brightside.example"),
        ("<!here> she wants Tuesday", "she wants Tuesday"),
        ("ask <@U024BE7LH>", "ask @Dana"),
        ("I typed &amp;lt; literally", "I typed &lt; literally"),
    ],
)
def test_slack_text_becomes_plain(slack: str, plain: str) -> None:
    assert plain_text(slack, {"U024BE7LH": "Dana"}) == plain
