"""queues.yaml: the shipped file's content, and clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from acd import RelaxStep
from queues import QueueConfigError, default_queues_path, load_queues, parse_queues

GOOD = """\
version: 1
defaults:
  wrapup_seconds: 20
queues:
  main:
    relaxation:
      - {after: 0, min_level: 3}
      - {after: 5, min_level: 1}
      - {after: 10, min_level: 0}
"""


@pytest.fixture(scope="module")
def shipped() -> dict:
    return load_queues(default_queues_path())


class TestShippedQueues:
    def test_lines_of_the_hotline(self, shipped: dict) -> None:
        assert set(shipped) == {"main", "province", "business"}

    def test_province_and_business_lines_outrank_main(self, shipped: dict) -> None:
        assert shipped["province"].priority > shipped["main"].priority
        assert shipped["business"].priority > shipped["main"].priority

    def test_unanswered_callbacks_are_tried_three_times_five_minutes_apart(self, shipped: dict) -> None:
        for policy in shipped.values():
            assert (policy.callback_attempts, policy.callback_retry_after) == (3, 300)

    def test_foreign_languages_are_served_by_the_main_queue(self, shipped: dict) -> None:
        assert shipped["main"].languages == {"zh", "en", "ja", "ko", "ru", "fr", "de"}

    def test_main_domains_are_the_top_topics(self, shipped: dict) -> None:
        assert shipped["main"].domains == {"traffic", "social_insurance", "public_security", "utilities", "education", "housing"}

    def test_business_line_starts_on_special_seats_and_widens(self, shipped: dict) -> None:
        business = shipped["business"]
        assert business.line_skills == {"business_env"}
        assert [s.keep_line_skills for s in business.relaxation] == [True, False]

    @pytest.mark.parametrize("name", ["main", "province", "business"])
    def test_every_line_can_meet_the_15_second_target(self, shipped: dict, name: str) -> None:
        policy = shipped[name]
        last = policy.relaxation[-1]
        assert policy.sl_target == 15
        assert last.min_level == 0
        assert not (last.keep_line_skills and policy.line_skills)
        assert last.after < policy.sl_target
        assert policy.ring_timeout < policy.sl_target
        assert policy.max_misses_before_pause == 3

    def test_wrap_up_differs_per_line(self, shipped: dict) -> None:
        assert (shipped["main"].wrapup_seconds, shipped["province"].wrapup_seconds) == (20, 30)

    def test_every_shipped_line_takes_multilingual_seats_last(self, shipped: dict) -> None:
        assert all(policy.multilingual_last for policy in shipped.values())


class TestLoading:
    def test_defaults_merge_under_each_queue(self, tmp_path: Path) -> None:
        path = tmp_path / "q.yaml"
        path.write_text(GOOD)
        queues = load_queues(path)
        assert queues["main"].wrapup_seconds == 20
        assert queues["main"].relaxation == (RelaxStep(0, 3), RelaxStep(5, 1), RelaxStep(10, 0))

    def test_multilingual_last_is_off_unless_the_file_says_so(self, tmp_path: Path) -> None:
        path = tmp_path / "q.yaml"
        path.write_text(GOOD + "  province:\n    multilingual_last: true\n")
        queues = load_queues(path)
        assert (queues["main"].multilingual_last, queues["province"].multilingual_last) == (False, True)

    def test_missing_file_is_named(self, tmp_path: Path) -> None:
        with pytest.raises(QueueConfigError, match=r"nowhere\.yaml: cannot read queue file"):
            load_queues(tmp_path / "nowhere.yaml")

    def test_broken_yaml_is_named(self, tmp_path: Path) -> None:
        path = tmp_path / "broken.yaml"
        path.write_text("version: 1\nqueues: {main: [\n")
        with pytest.raises(QueueConfigError, match=r"broken\.yaml: not valid YAML"):
            load_queues(path)


BAD_QUEUES = [
    ("main:\n  wrapup_second: 60", "queue 'main': unknown key(s) wrapup_second"),
    ("main:\n  sl_target: fast", "queue 'main': sl_target: expected a number, got 'fast'"),
    ("main:\n  sl_target: true", "queue 'main': sl_target: expected a number"),
    ("main:\n  priority: 1.5", "queue 'main': priority: expected an integer"),
    ("main:\n  max_misses_before_pause: 0", "queue 'main': max_misses_before_pause must be an integer >= 1"),
    ("main:\n  callback_max_share: 2", "queue 'main': callback_max_share must be within 0..1"),
    ("main:\n  callback_attempts: 0", "queue 'main': callback_attempts must be an integer >= 1"),
    ("main:\n  callback_retry_after: soon", "queue 'main': callback_retry_after: expected a number"),
    ("main:\n  relaxation: [{after: 2, min_level: 3}]", "queue 'main': the first relaxation step must start at after=0"),
    ("main:\n  relaxation: [{after: 0, min_level: 3}, {after: 0, min_level: 1}]", "queue 'main': relaxation steps must strictly grow"),
    ("main:\n  relaxation: [{after: 0, min_level: 7}]", "queue 'main': relaxation: step 0: min_level must be an integer 0..5"),
    ("main:\n  relaxation: [{after: 0}]", "queue 'main': relaxation: step 0: needs 'after' and 'min_level'"),
    ("main:\n  relaxation: [{after: 0, min_level: 0, keep_line_skills: maybe}]", "step 0: keep_line_skills must be true or false"),
    ("main:\n  relaxation: []", "queue 'main': relaxation: expected a non-empty list"),
    ("main:\n  relaxation: [{after: 0, min_level: 0, overflow_to: [nowhere]}]",
     "queue 'main': relaxation: step 0: overflow_to names unknown queue(s) nowhere"),
    ("main:\n  relaxation: [{after: 0, min_level: 0, overflow_to: main}]",
     "queue 'main': relaxation: step 0: expected a list of lower-case names"),
    ("main:\n  languages: [zh, english]", "queue 'main': languages: languages must be two-letter ISO 639-1 codes, got english"),
    ("main:\n  line_skills: [Business Env]", "queue 'main': line_skills: expected a list of lower-case names"),
    ("main:\n  domains: [traffic, traffic]", "queue 'main': domains: duplicate names"),
    ("main:\n  multilingual_last: yes please", "queue 'main': multilingual_last: expected true or false, got 'yes please'"),
    ("main:\n  multilingual_last: 1", "queue 'main': multilingual_last: expected true or false, got 1"),
    ("Main: {}", "queue 'Main': name must be lower-case"),
    ("main: [1, 2]", "queue 'main': settings must be a mapping"),
]


@pytest.mark.parametrize(("queues_yaml", "message"), BAD_QUEUES, ids=[m for _, m in BAD_QUEUES])
def test_bad_queue_is_reported_with_file_queue_and_problem(tmp_path: Path, queues_yaml: str, message: str) -> None:
    path = tmp_path / "queues.yaml"
    body = "\n".join("  " + line for line in queues_yaml.splitlines())
    path.write_text(f"version: 1\nqueues:\n{body}\n")
    with pytest.raises(QueueConfigError) as caught:
        load_queues(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "expected a mapping with 'version' and 'queues'"),
        ({"version": 2, "queues": {"main": {}}}, "'version' must be 1, got 2"),
        ({"version": 1, "queues": {}}, "'queues' must be a non-empty mapping"),
        ({"version": 1, "queues": {"main": {}}, "extra": 1}, "top level: unknown key(s) extra"),
        ({"version": 1, "defaults": {"wrapup": 3}, "queues": {"main": {}}}, "defaults: unknown key(s) wrapup"),
        ({"version": 1, "defaults": [], "queues": {"main": {}}}, "'defaults' must be a mapping"),
        ({"version": 1, "defaults": {"ring_timeout": -1}, "queues": {"main": {}}}, "queue 'main': ring_timeout must be"),
        ({"version": 1, "defaults": {"multilingual_last": "on"}, "queues": {"main": {}}},
         "queue 'main': multilingual_last: expected true or false, got 'on'"),
    ],
)
def test_bad_file_structure(data: object, message: str) -> None:
    with pytest.raises(QueueConfigError) as caught:
        parse_queues(data, "conf/queues.yaml")
    assert str(caught.value).startswith("conf/queues.yaml: ")
    assert message in str(caught.value)


def test_queue_without_settings_takes_all_defaults() -> None:
    assert parse_queues({"version": 1, "queues": {"legal_aid": None}})["legal_aid"].sl_target == 15
