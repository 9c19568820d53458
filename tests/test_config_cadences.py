"""Cadences are data: the six ship in config.example.toml and in the built-in defaults, and a
wrong definition stops start-up naming the cadence, the step and why (visit reminders too)."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from sheepdog.config import FollowUpConfig, example_config_text, load_settings
from sheepdog.errors import ConfigError

SIX = {"speed_to_lead", "fourteen_day", "abandoned_cart", "post_quote", "post_service", "visit_reminder"}


def test_the_six_cadences_are_in_the_example_and_the_built_in_defaults() -> None:
    example = tomllib.loads(example_config_text())["followup"]
    assert set(example["cadences"]) == SIX
    assert set(FollowUpConfig().cadences) == SIX
    assert example["stages"] == FollowUpConfig().stages
    assert example["stages"]["visit_scheduled"] == "visit_reminder"
    for name, conf in FollowUpConfig().cadences.items():  # the example says what the code does
        shipped = load_settings().followup.cadences[name]
        assert [s.model_dump() for s in shipped.steps] == [s.model_dump() for s in conf.steps], name


def test_a_config_naming_one_cadence_keeps_the_others() -> None:
    only = {
        "followup": {"cadences": {"speed_to_lead": {"steps": [{"after_h": 0, "template": "first_reply"}]}}}
    }
    settings = load_settings(None, environ={}, overrides=only)
    assert set(settings.followup.cadences) == SIX
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


def reminder(*steps: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {"label": "visit reminder", "steps": list(steps), **changes}


DAY_BEFORE = {"before_visit_d": 1, "at": "18:00", "template": "visit_reminder"}
TWO_HOURS = {"before_visit_h": 2, "template": "visit_reminder"}


@pytest.mark.parametrize(
    ("definition", "words"),
    [
        (reminder({"before_visit_d": 1, "template": "visit_reminder"}), "step 1: before_visit_d needs at"),
        (reminder({**DAY_BEFORE, "at": "6pm"}), 'step 1: before_visit_d needs at = "HH:MM"'),
        (reminder(DAY_BEFORE, {**TWO_HOURS, "at": "07:00"}), "step 2: at goes with before_visit_d only"),
        (
            reminder({"before_visit_h": 0, "template": "visit_reminder"}),
            "step 1: before_visit_h must be more than 0",
        ),
        (
            reminder(DAY_BEFORE, {**TWO_HOURS, "before_visit_d": 1}),
            "step 2: give exactly one of before_visit_h",
        ),
        (reminder(TWO_HOURS, DAY_BEFORE), "step 2: comes before the step above it"),
        (reminder(TWO_HOURS, {"before_visit_h": 4, "template": "visit_reminder"}), "step 2: comes before"),
        (
            reminder(DAY_BEFORE, {"after_h": 1, "template": "check_in"}),
            "step 2: after_h / after_d count from",
        ),
        (reminder({**DAY_BEFORE, "template": "visit_remind"}), "step 1: unknown template 'visit_remind'"),
        (reminder(DAY_BEFORE, repeat=TWO_HOURS, repeat_limit=2), "repeat: a visit reminder cannot repeat"),
        (reminder({**DAY_BEFORE, "incentive": True}), "step 1: a visit reminder makes no offer"),
    ],
)
def test_a_wrong_visit_reminder_stops_start_up_naming_the_cadence_the_step_and_why(
    definition: dict[str, Any], words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, environ={}, overrides={"followup": {"cadences": {"visit_reminder": definition}}})
    message = str(caught.value)
    assert "cadence 'visit_reminder'" in message and words in message, message


def test_a_visit_reminder_belongs_to_visit_scheduled_only() -> None:
    with pytest.raises(ConfigError, match=r"followup.stages.quoted = 'visit_reminder': a visit reminder is"):
        load_settings(None, environ={}, overrides={"followup": {"stages": {"quoted": "visit_reminder"}}})
    with pytest.raises(ConfigError, match=r"new_lead_cadence 'visit_reminder' is a visit reminder"):
        load_settings(None, environ={}, overrides={"followup": {"new_lead_cadence": "visit_reminder"}})
    switching = {
        "post_quote": {
            "steps": [{"after_d": 2, "template": "quote_follow_up"}],
            "switch_on": {"booking": "visit_reminder"},
        }
    }
    with pytest.raises(ConfigError, match=r"switch_on.booking = 'visit_reminder' is a visit reminder"):
        load_settings(None, environ={}, overrides={"followup": {"cadences": switching}})
    off = load_settings(None, environ={}, overrides={"followup": {"stages": {"visit_scheduled": "none"}}})
    assert off.followup.stages["visit_scheduled"] == "none"
    one = reminder({"before_visit_d": 1, "at": "17:30", "template": "visit_reminder", "channel": "sms"})
    settings = load_settings(None, environ={}, overrides={"followup": {"cadences": {"visit_reminder": one}}})
    step = settings.followup.to_domain()["visit_reminder"].steps[0]
    assert (step.before_d, step.at.isoformat(), step.channel, step.to_visit) == (1, "17:30:00", "sms", True)
