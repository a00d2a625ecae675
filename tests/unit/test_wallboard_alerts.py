"""The wallboard's alert rules (``hotline/wallboard/alerts.yaml``, validated like queues.yaml)
and the pure checks that turn figures into alerts."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hotline.wallboard.alerts import (AlertConfigError, AlertRules, ConnectRateRule, HotTopicRule, LongWaitRule,
                                      ServiceLevelRule, connect_rate_alert, default_alerts_path, hot_topic_alert,
                                      load_alert_rules, long_wait_alert, ordered, parse_alert_rules,
                                      service_level_alert)


# -- the file ------------------------------------------------------------------------------------

def test_the_shipped_file_holds_the_documented_defaults() -> None:
    rules = load_alert_rules()
    assert rules == AlertRules()
    assert rules.service_level.goal == 0.80 and rules.connect_rate.goal == 0.95
    assert (rules.hot_topic.ratio, rules.hot_topic.min_calls, rules.hot_topic.days) == (3.0, 10, 7)
    assert default_alerts_path().name == "alerts.yaml"


def test_an_empty_file_and_missing_sections_take_the_defaults() -> None:
    assert parse_alert_rules(None) == AlertRules()
    assert parse_alert_rules({"version": 1}) == AlertRules()
    rules = parse_alert_rules({"version": 1, "hot_topic": {"min_calls": 3, "level": "item"},
                               "service_level": {"lines": {"province": 0.9}}, "long_wait": {"enabled": False}})
    assert rules.hot_topic == HotTopicRule(min_calls=3, level="item")
    assert rules.service_level.goal_of("province") == 0.9 and rules.service_level.goal_of("main") == 0.8
    assert rules.long_wait.enabled is False
    assert rules.unknown_lines(["main", "business"]) == ["province"]
    assert rules.unknown_lines(["main", "province"]) == []


@pytest.mark.parametrize(("data", "message"), [
    ([1, 2], "expected a mapping at the top level"),
    ({"version": 2}, "version must be 1"),
    ({"verison": 1}, "unknown key(s) verison"),
    ({"service_level": {"goal": 0.8, "min_answerd": 1}}, "service_level: unknown key(s) min_answerd"),
    ({"service_level": [0.8]}, "service_level: expected a mapping"),
    ({"service_level": {"goal": "high"}}, "service_level: goal: expected a number"),
    ({"service_level": {"goal": 80}}, "service_level: goal: expected a share above 0 and at most 1"),
    ({"service_level": {"goal": 0}}, "service_level: goal: expected a share"),
    ({"service_level": {"goal": True}}, "service_level: goal: expected a number"),
    ({"service_level": {"min_answered": 0}}, "service_level: min_answered: expected a whole number of at least 1"),
    ({"service_level": {"min_answered": 2.5}}, "min_answered: expected a whole number"),
    ({"service_level": {"lines": {"Main Line": 0.8}}}, "lines: 'Main Line' is not a line name"),
    ({"service_level": {"lines": {"main": 1.2}}}, "lines: main: expected a share"),
    ({"service_level": {"lines": [0.8]}}, "lines: expected a mapping of line to goal"),
    ({"connect_rate": {"goal": ".95"}}, "connect_rate: goal: expected a number"),
    ({"connect_rate": {"enabled": "yes"}}, "connect_rate: enabled: expected true or false"),
    ({"hot_topic": {"ratio": 0.5}}, "hot_topic: ratio: expected a factor of at least 1"),
    ({"hot_topic": {"ratio": float("inf")}}, "hot_topic: ratio: expected a finite number"),
    ({"hot_topic": {"days": 30}}, "hot_topic: days: expected at most 28 days"),
    ({"hot_topic": {"min_calls": True}}, "hot_topic: min_calls: expected a whole number"),
    ({"hot_topic": {"level": "group"}}, "hot_topic: level: expected one of class, subclass, item"),
    ({"long_wait": {"seconds": 0}}, "long_wait: seconds: expected seconds above 0"),
])
def test_a_bad_file_is_refused_with_the_section_and_the_key(data: object, message: str) -> None:
    with pytest.raises(AlertConfigError) as caught:
        parse_alert_rules(data, "alerts.yaml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("alerts.yaml")


def test_loading_names_the_file_when_it_is_missing_or_not_yaml(tmp_path: Path) -> None:
    with pytest.raises(AlertConfigError, match="cannot read the alert file"):
        load_alert_rules(tmp_path / "nothing.yaml")
    broken = tmp_path / "alerts.yaml"
    broken.write_text("service_level: [unclosed\n")
    with pytest.raises(AlertConfigError, match="not valid YAML"):
        load_alert_rules(broken)
    good = tmp_path / "ok.yaml"
    good.write_text(yaml.safe_dump({"version": 1, "connect_rate": {"goal": 0.9, "min_offered": 1}}))
    assert load_alert_rules(good).connect_rate == ConnectRateRule(goal=0.9, min_offered=1)


# -- the checks ----------------------------------------------------------------------------------

def test_a_service_level_below_the_lines_goal_fires_and_one_at_the_goal_does_not() -> None:
    rule = ServiceLevelRule(goal=0.8, min_answered=2, lines={"province": 0.9})
    fired = service_level_alert("main", 0.5, 4, rule)
    assert fired is not None and fired.to_dict() == {
        "kind": "service_level", "severity": "warning", "line": "main", "category": None, "value": 0.5,
        "threshold": 0.8, "details": {"answered": 4}}
    assert service_level_alert("main", 0.8, 4, rule) is None          # at the goal: met
    assert service_level_alert("province", 0.85, 4, rule) is not None  # the line's own goal
    assert service_level_alert("main", 0.0, 1, rule) is None          # too few answered to judge
    assert service_level_alert("main", None, 0, rule) is None         # nothing answered: no value
    assert service_level_alert("main", 0.1, 9, ServiceLevelRule(enabled=False)) is None


def test_the_rolling_connect_rate_below_95_percent_fires_a_critical_alert() -> None:
    rule = ConnectRateRule(goal=0.95, min_offered=10)
    fired = connect_rate_alert(0.9, 20, 18, rule)
    assert fired is not None and (fired.kind, fired.severity, fired.value, fired.threshold) == (
        "connect_rate", "critical", 0.9, 0.95)
    assert fired.details == {"offered": 20, "answered": 18}
    assert connect_rate_alert(0.95, 20, 19, rule) is None
    assert connect_rate_alert(0.5, 9, 4, rule) is None   # too few calls yet
    assert connect_rate_alert(None, 0, 0, rule) is None
    assert connect_rate_alert(0.5, 20, 10, ConnectRateRule(enabled=False)) is None


@pytest.mark.parametrize(("last_hour", "usual", "fires", "threshold"), [
    (12, 2.0, True, 10.0),    # 6x the usual rate, over the minimum
    (9, 2.0, False, 10.0),    # 4.5x, but fewer than min_calls
    (14, 5.0, False, 15.0),   # over the minimum, under 3x
    (15, 5.0, True, 15.0),    # exactly 3x
    (10, 0.0, True, 10.0),    # never seen before: the minimum decides
])
def test_a_hot_topic_needs_both_the_ratio_and_the_minimum(last_hour: int, usual: float, fires: bool,
                                                          threshold: float) -> None:
    rule = HotTopicRule(ratio=3.0, min_calls=10)
    fired = hot_topic_alert("04.01", last_hour, usual, rule, ("供水", "Water supply"))
    assert (fired is not None) is fires
    if fired is not None:
        assert (fired.kind, fired.category, fired.value, fired.threshold) == ("hot_topic", "04.01", last_hour,
                                                                              threshold)
        assert fired.details["name_zh"] == "供水" and fired.details["usual"] == usual
        assert fired.details["ratio"] == (last_hour / usual if usual else None)


def test_a_long_wait_fires_past_the_rule_and_alerts_are_ordered_by_severity() -> None:
    rule = LongWaitRule(seconds=60)
    assert long_wait_alert("main", 60.0, 1, rule) is None
    wait = long_wait_alert("main", 61.0, 3, rule)
    assert wait is not None and wait.details == {"waiting": 3}
    assert long_wait_alert("main", None, 0, rule) is None
    connect = connect_rate_alert(0.5, 20, 10, ConnectRateRule())
    level = service_level_alert("province", 0.2, 5, ServiceLevelRule())
    level_main = service_level_alert("main", 0.2, 5, ServiceLevelRule())
    hot = hot_topic_alert("01", 40, 1.0, HotTopicRule())
    got = ordered([hot, None, wait, level, connect, level_main])
    assert [(a.kind, a.line) for a in got] == [("connect_rate", None), ("service_level", "main"),
                                               ("service_level", "province"), ("long_wait", "main"),
                                               ("hot_topic", None)]
