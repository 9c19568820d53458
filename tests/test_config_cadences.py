"""Cadences are data: the five ship in config.example.toml and in the built-in defaults, and a
wrong definition stops start-up naming the cadence, the step and why."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from sheepdog.config import FollowUpConfig, example_config_text, load_settings
from sheepdog.errors import ConfigError

FIVE = {"speed_to_lead", "fourteen_day", "abandoned_cart", "post_quote", "post_service"}


def test_the_five_cadences_are_in_the_example_and_the_built_in_defaults() -> None:
    example = tomllib.loads(example_config_text())["followup"]
    assert set(example["cadences"]) == FIVE
    assert set(FollowUpConfig().cadences) == FIVE
    assert example["stages"] == FollowUpConfig().stages
    for name, conf in FollowUpConfig().cadences.items():  # the example says what the code does
        shipped = load_settings().followup.cadences[name]
        assert [s.model_dump() for s in shipped.steps] == [s.model_dump() for s in conf.steps], name


def test_a_config_naming_one_cadence_keeps_the_others() -> None:
    only = {
        "followup": {"cadences": {"speed_to_lead": {"steps": [{"after_h": 0, "template": "first_reply"}]}}}
    }
    settings = load_settings(None, environ={}, overrides=only)
    assert set(settings.followup.cadences) == FIVE
    assert len(settings.followup.cadences["speed_to_lead"].steps) == 1


def cadence(**changes: Any) -> dict[str, Any]:
    steps = [{"after_d": 2, "template": "quote_follow_up"}, {"after_d": 5, "template": "quote_follow_up"}]
    return {"label": "post-quote", "steps": steps, **changes}


@pytest.mark.parametrize(
    ("definition", "words"),
    [
        (
            cadence(steps=[{"after_d": 2, "template": "quote_folow_up"}]),
            "step 1: unknown template 'quote_folow_up'",
        ),
        (
            cadence(steps=[{"after_d": 2, "after_h": 4, "template": "check_in"}]),
            "step 1: give exactly one of",
        ),
        (cadence(steps=[{"template": "check_in"}]), "step 1: give exactly one of"),
        (
            cadence(steps=[{"after_d": 5, "template": "check_in"}, {"after_d": 2, "template": "check_in"}]),
            "step 2: comes before the step above it",
        ),
        (cadence(steps=[{"after_d": 1}]), "step 1: needs a template or a brief"),
        (cadence(steps=[{"after_d": 1, "template": "check_in", "channel": "fax"}]), "step 1: channel 'fax'"),
        (
            cadence(steps=[{"after_d": 1, "template": "check_in", "stop_on": ["rain"]}]),
            "step 1: unknown stop event 'rain'",
        ),
        (cadence(stop_on=["reply", "weather"]), "unknown event 'weather'"),
        (cadence(switch_on={"booking": "nowhere"}), "switch_on.booking = 'nowhere' is not another cadence"),
        (cadence(repeat={"after_d": 30, "template": "nurture"}), "repeat: needs repeat_limit"),
        (cadence(repeat_limit=3), "repeat_limit without a repeat step"),
        (cadence(steps=[]), "has no steps"),
        (
            cadence(steps=[{"after_d": 2, "brief": "Ask if they are still interested in the quote."}]),
            "never asks 'still interested?'",
        ),
        (
            cadence(
                steps=[{"after_d": 1, "template": "check_in"}, {"after_d": 2, "template": "first_reply"}]
            ),
            "step 2: first_reply can only be the first step",
        ),
    ],
)
def test_a_wrong_cadence_stops_start_up_naming_the_cadence_the_step_and_why(
    definition: dict[str, Any], words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, environ={}, overrides={"followup": {"cadences": {"post_quote": definition}}})
    message = str(caught.value)
    assert "cadence 'post_quote'" in message and words in message, message


def test_a_stage_must_map_to_a_cadence_none_or_keep() -> None:
    with pytest.raises(ConfigError, match=r"followup.stages.quoted = 'post_qoute': no such cadence"):
        load_settings(None, environ={}, overrides={"followup": {"stages": {"quoted": "post_qoute"}}})
    with pytest.raises(ConfigError, match=r"'negotiating' is not a stage"):
        load_settings(None, environ={}, overrides={"followup": {"stages": {"negotiating": "none"}}})
    ok = load_settings(None, environ={}, overrides={"followup": {"stages": {"lost": "fourteen_day"}}})
    assert ok.followup.stages["lost"] == "fourteen_day"
