"""cases/rules.yaml and its validation (cases/rules.py): the shipped file is what the modules'
defaults say, every section and field may be left out, and every mistake stops the
start-up with a message naming the file, the section and the field."""
from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from cases import FOLDER
from cases.followup import DEFAULT_FOLLOW_UP, DEFAULT_PACING, QuietPeriod
from cases.lifecycle import DEFAULT_DEADLINES
from cases.ranking import DEFAULT_RANKING
from cases.rules import CaseRules, RulesError, load_rules, parse_rules
from cases.supervision import DEFAULT_SUPERVISION, RepeatRule

WHERE = "cases/rules.yaml"


def test_the_shipped_file_says_what_the_defaults_say() -> None:
    rules = load_rules()
    assert rules.source == str(FOLDER / "rules.yaml")
    assert (rules.deadlines, rules.supervision, rules.follow_up, rules.pacing) == (
        DEFAULT_DEADLINES, DEFAULT_SUPERVISION, DEFAULT_FOLLOW_UP, DEFAULT_PACING)
    assert dict(rules.ranking.weights) == dict(DEFAULT_RANKING.weights)
    assert rules.ranking.min_cases == DEFAULT_RANKING.min_cases


def test_an_empty_file_and_left_out_fields_take_the_defaults() -> None:
    assert parse_rules(None, WHERE) == CaseRules(source=WHERE)
    rules = parse_rules({"deadlines": {"handle_working_days": 15}, "supervision": {"repeat_caller": None}}, WHERE)
    assert (rules.deadlines.handle_working_days, rules.deadlines.transfer_working_days) == (15, 2)
    assert rules.supervision.repeat_caller is None and rules.supervision.repeat_place == RepeatRule(5, 7)
    assert parse_rules({"follow_up": {"quiet": []}}, WHERE).follow_up.quiet == ()


def test_quiet_hours_and_repeat_rules_are_read() -> None:
    rules = parse_rules({"follow_up": {"quiet": [{"from": "22:00", "to": "07:00"}]},
                         "supervision": {"repeat_place": {"count": 4, "window_days": 3.5}, "place_level": "subclass"}},
                        WHERE)
    assert rules.follow_up.quiet == (QuietPeriod(time(22, 0), time(7, 0)),)
    assert (rules.supervision.repeat_place, rules.supervision.place_level) == (RepeatRule(4, 3.5), "subclass")


@pytest.mark.parametrize(("data", "message"), [
    ([], "expected a mapping of sections"),
    ({"deadline": {}}, "unknown section(s) deadline (allowed: deadlines, supervision"),
    ({"deadlines": []}, "section 'deadlines' must be a mapping"),
    ({"deadlines": {"handle_days": 5}}, "section 'deadlines': unknown field(s) handle_days (allowed: "),
    ({"deadlines": {"handle_working_days": 0}}, "section 'deadlines', field 'handle_working_days': must be a whole "
                                                "number from 1 to 120, not 0"),
    ({"deadlines": {"transfer_working_days": 2.5}}, "field 'transfer_working_days': must be a whole number"),
    ({"deadlines": {"reopen_on_unhappy": "yes"}}, "field 'reopen_on_unhappy': must be true or false, not 'yes'"),
    ({"supervision": {"repeat_caller": {"count": 1, "window_days": 30}}}, "field 'repeat_caller': count must be"),
    ({"supervision": {"repeat_caller": {"count": 3}}}, "field 'repeat_caller': must be {count: N, window_days: D}"),
    ({"supervision": {"repeat_place": {"count": 3, "window_days": 0}}}, "window_days must be a number of days"),
    ({"supervision": {"place_level": "leaf"}}, "field 'place_level': must be one of item, subclass, class"),
    ({"follow_up": {"direct_sample_percent": 120}}, "field 'direct_sample_percent': must be a number from 0 to 100"),
    ({"follow_up": {"quiet": [{"from": 1260, "to": "08:30"}]}}, "entry 0 from: a time \"HH:MM\" (quote it"),
    ({"follow_up": {"quiet": [{"from": "21:00"}]}}, "field 'quiet', entry 0: must be {from: \"HH:MM\", to:"),
    ({"follow_up": {"quiet": [{"from": "09:00", "to": "09:00"}]}}, "an empty period, or the whole day?"),
    ({"follow_up": {"quiet": [{"from": "08:00", "to": "20:00"}, {"from": "20:00", "to": "08:00"}]}},
     "field 'quiet': covers the whole day: no follow-up could ever ring"),
    ({"follow_up": {"attempts": 0}}, "field 'attempts': must be a whole number from 1 to 20"),
    ({"pacing": {"max_wait_seconds": -1}}, "field 'max_wait_seconds': must be a number from 0 to 3600"),
    ({"ranking": {"weights": {"speed": 1.0}}}, "field 'weights': unknown metric(s) speed"),
    ({"ranking": {"weights": {"completion": 0.5, "satisfaction": 0.6}}}, "must add up to 1 (they add up to 1.1)"),
    ({"ranking": {"weights": {"completion": 1.5}}}, "metric 'completion': a number from 0 to 1, not 1.5"),
    ({"ranking": {"min_cases": 0}}, "field 'min_cases': must be a whole number from 1"),
])
def test_every_mistake_names_the_file_section_and_field(data: Any, message: str) -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules(data, WHERE)
    assert str(caught.value).startswith(f"{WHERE}: ")
    assert message in str(caught.value)


def test_an_unquoted_time_is_caught_as_yaml_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("follow_up:\n  quiet:\n    - {from: 21:00, to: \"08:30\"}\n", encoding="utf-8")
    assert yaml.safe_load(path.read_text())["follow_up"]["quiet"][0]["from"] == 1260  # YAML 1.1 sexagesimal
    with pytest.raises(RulesError, match=r"rules.yaml: section 'follow_up', field 'quiet', entry 0 from: .*quote it"):
        load_rules(path)


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="missing.yaml: cannot read the case rules"):
        load_rules(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("deadlines: [\n", encoding="utf-8")
    with pytest.raises(RulesError, match="bad.yaml: cannot read the case rules"):
        load_rules(bad)
