"""The flows shipped in ivr/flows/, branch by branch (table-driven)."""

from __future__ import annotations

import pytest

from ivr import (
    CallerHungUp,
    Collect,
    Finished,
    Flow,
    IvrRun,
    Play,
    PlayAndHangup,
    Queue,
    StepKind,
    flow_for_dnis,
    load_flows,
)
from tests.unit.ivr_fixtures import H, P, T, drive

GREETING = ("welcome", "press_9_english", "press_8_japanese", "press_6_other_languages")


@pytest.fixture(scope="module")
def flows() -> dict[str, Flow]:
    return load_flows(strict=True)


def person(language: str = "zh", skills: frozenset[str] = frozenset(), queue: str = "main", priority: int = 0) -> Finished:
    return Finished(Queue(queue, skills, language, priority, survey="survey"))


def test_shipped_flows_load_strictly_without_warnings(flows: dict[str, Flow]) -> None:
    assert sorted(flows) == ["business", "compliant", "follow_up", "main", "province", "survey", "waiting"]
    assert all(flow.warnings == () for flow in flows.values())


@pytest.mark.parametrize(
    ("dnis", "flow"),
    [("12345", "main"), ("12346", "province"), ("12347", "business"), ("12349", "compliant"),
     (" 12346 ", "province"), ("99999", "main"), ("", "main")],
)
def test_flow_for_dnis(flows: dict[str, Flow], dnis: str, flow: str) -> None:
    assert flow_for_dnis(flows, dnis).name == flow


def test_main_greeting_offers_languages_inside_the_first_prompt(flows: dict[str, Flow]) -> None:
    """No separate language menu: barge-in digits during the greeting, 2 s timeout."""
    assert IvrRun(flows["main"]).start() == Collect(GREETING, "zh", max_digits=1, timeout=2.0, terminator=None)


# Each script is what the caller does after the greeting starts; the last
# instruction must be the expected end. "P" acknowledges the short
# confirmation played in the chosen language.
MAIN_BRANCHES = {
    "no digit -> person in Mandarin": ([T], person()),
    "1 -> person (demo path)": (["1"], person()),
    "9 -> English": (["9", P], person("en")),
    "8 -> Japanese": (["8", P], person("ja")),
    "7 -> Korean": (["7", P], person("ko")),
    "6 1 -> Russian": (["6", "1", P], person("ru")),
    "6 2 -> French": (["6", "2", P], person("fr")),
    "6 3 -> German": (["6", "3", P], person("de")),
    "6 * -> back, then nothing": (["6", "*", T], person()),
    "6 then nothing -> person": (["6", T], person()),
    "0 1 -> social insurance": (["0", "1"], person(skills=frozenset({"social_insurance"}))),
    "0 2 -> traffic": (["0", "2"], person(skills=frozenset({"traffic"}))),
    "0 3 -> public security": (["0", "3"], person(skills=frozenset({"public_security"}))),
    "0 4 -> utilities": (["0", "4"], person(skills=frozenset({"utilities"}))),
    "0 5 -> education": (["0", "5"], person(skills=frozenset({"education"}))),
    "0 6 -> housing": (["0", "6"], person(skills=frozenset({"housing"}))),
    "0 7 -> business environment": (["0", "7"], person(skills=frozenset({"business_env"}))),
    "0 * 9 -> back, then English": (["0", "*", "9", P], person("en")),
    "0 then nothing -> person": (["0", T], person()),
    "0 then invalid twice -> person": (["0", "9", "9"], person()),
    "invalid twice -> person": (["5", "5"], person()),
    "invalid then 9 -> English": (["5", "9", P], person("en")),
    "invalid then nothing -> person": (["5", T], person()),
    "garbage then valid": (["*#*#9999", "9abc", P], person("en")),
    "two keys at once: the first counts": (["91", P], person("en")),
    "letters only -> invalid twice": (["ABCD", "xyz"], person()),
    "hang-up in the greeting": ([H], Finished(CallerHungUp())),
    "hang-up in a sub-menu": (["0", H], Finished(CallerHungUp())),
    "hang-up during the confirmation": (["9", H], Finished(CallerHungUp())),
}


@pytest.mark.parametrize("branch", MAIN_BRANCHES, ids=list(MAIN_BRANCHES))
def test_main_branches(flows: dict[str, Flow], branch: str) -> None:
    script, expected = MAIN_BRANCHES[branch]
    run = IvrRun(flows["main"], {"dnis": "12345"})
    assert drive(run, *script) == expected
    assert run.path[-1].kind is StepKind.END


def test_first_invalid_entry_reprompts_with_an_apology(flows: dict[str, Flow]) -> None:
    run = IvrRun(flows["main"])
    instruction = drive(run, "5")
    assert isinstance(instruction, Collect)
    assert instruction.prompts == ("invalid_entry", "press_9_english", "press_8_japanese", "press_7_korean",
                                   "press_6_other_languages", "press_0_service_guide")
    assert [s.kind for s in run.path if s.kind is StepKind.INVALID] == [StepKind.INVALID]


def test_language_choice_confirms_in_the_chosen_language(flows: dict[str, Flow]) -> None:
    run = IvrRun(flows["main"])
    assert drive(run, "6", "2") == Play(("connecting",), "fr")
    assert run.attrs["language"] == "fr"
    assert [(s.kind, s.value) for s in run.path if s.kind is StepKind.LANGUAGE] == [(StepKind.LANGUAGE, "fr")]


def test_hang_up_mid_menu_keeps_the_whole_path(flows: dict[str, Flow]) -> None:
    run = IvrRun(flows["main"], {"dnis": "12345"})
    drive(run, "0", H)
    kinds = [(s.kind.value, s.node, s.value) for s in run.path]
    assert kinds == [
        ("start", None, "12345"),
        ("node", "repeat_caller", None),
        ("skipped", "repeat_caller", "not repeat_calls at_least 3"),
        ("node", "emergency_notice", None),
        ("skipped", "emergency_notice", "not notice present"),
        ("node", "greeting", None),
        ("digits", "greeting", "0"),
        ("node", "service_guide", None),
        ("hangup", "service_guide", None),
        ("end", "service_guide", "CallerHungUp"),
    ]


@pytest.mark.parametrize(
    ("notice", "prompt"),
    [("flood_warning", "notice_flood_warning"), ("heavy_snow", "notice_heavy_snow"), ("martians", "notice_generic")],
)
def test_emergency_notice_plays_before_the_greeting(flows: dict[str, Flow], notice: str, prompt: str) -> None:
    run = IvrRun(flows["main"], {"notice": notice})
    assert run.start() == Play((prompt,), "zh")
    assert drive(IvrRun(flows["main"], {"notice": notice}), P, T) == person()


def test_unknown_notice_is_recorded_in_the_path(flows: dict[str, Flow]) -> None:
    run = IvrRun(flows["main"], {"notice": "martians"})
    run.start()
    assert [(s.kind, s.value) for s in run.path if s.kind is StepKind.PROMPT_MISSING] == [
        (StepKind.PROMPT_MISSING, "notice_martians")
    ]


@pytest.mark.parametrize(("repeat_calls", "priority"), [("3", 5), ("12", 5), ("2", 0), ("", 0), ("lots", 0)])
def test_repeat_callers_are_served_first(flows: dict[str, Flow], repeat_calls: str, priority: int) -> None:
    run = IvrRun(flows["main"], {"repeat_calls": repeat_calls})
    assert drive(run, T) == person(priority=priority)


def test_preset_priority_from_the_shell_is_used_and_clamped(flows: dict[str, Flow]) -> None:
    assert drive(IvrRun(flows["main"], {"priority": "7"}), T) == person(priority=7)
    assert drive(IvrRun(flows["main"], {"priority": "9999"}), T) == person(priority=100)


@pytest.mark.parametrize(
    ("flow", "script", "expected"),
    [
        ("province", [T], person(queue="province")),
        ("province", ["9", P], person("en", queue="province")),
        ("province", ["6", "3", P], person("de", queue="province")),
        ("province", ["0", "0"], person(queue="province")),
        ("business", [T], person(queue="business")),
        ("business", ["7", P], person("ko", queue="business")),
        ("business", ["6", "*", "8", P], person("ja", queue="business")),
        ("compliant", [P], person()),
    ],
)
def test_other_lines(flows: dict[str, Flow], flow: str, script: list[object], expected: Finished) -> None:
    run = IvrRun(flows[flow])
    assert drive(run, *script) == expected
    assert run.attrs["line"] == flows[flow].line


def test_compliant_profile_has_no_menu(flows: dict[str, Flow]) -> None:
    run = IvrRun(flows["compliant"], {"notice": "typhoon_warning"})
    assert run.start() == Play(("notice_typhoon_warning",), "zh")
    assert run.feed(P) == Play(("welcome",), "zh")
    assert run.feed(P) == person()
    assert not any(s.kind is StepKind.DIGITS for s in run.path)


@pytest.mark.parametrize(
    ("script", "prompt", "attrs"),
    [
        (["1"], "survey_thanks", {"satisfaction": "satisfied"}),
        (["2"], "survey_thanks", {"satisfaction": "basically_satisfied"}),
        (["3"], "survey_sorry", {"satisfaction": "unsatisfied", "follow_up": "supervision"}),
        ([T], "goodbye", {"satisfaction": "no_answer"}),
        (["0", "#"], "goodbye", {"satisfaction": "no_answer"}),
        (["4", "1"], "survey_thanks", {"satisfaction": "satisfied"}),
    ],
)
def test_survey(flows: dict[str, Flow], script: list[object], prompt: str, attrs: dict[str, str]) -> None:
    run = IvrRun(flows["survey"], {"language": "en"})
    assert drive(run, *script) == Finished(PlayAndHangup((prompt,), "en"))
    assert attrs.items() <= run.attrs.items()


def test_survey_question_follows_the_callers_language(flows: dict[str, Flow]) -> None:
    run = IvrRun(flows["survey"], {"language": "ja"})
    instruction = run.start()
    assert isinstance(instruction, Collect)
    assert (instruction.prompts, instruction.language) == (("survey_question",), "ja")


@pytest.mark.parametrize(
    ("offer", "script", "prompts"),
    [
        ("no", [P], [("ahead_2", "wait_1")]),
        ("refused", [P, P], [("ahead_2", "wait_1"), ("callback_unavailable",)]),
        ("yes", [P, T], [("ahead_2", "wait_1"), ("callback_offer",)]),
    ],
)
def test_waiting_caller_whose_number_cannot_be_called_back_hears_why_and_keeps_waiting(
        flows: dict[str, Flow], offer: str, script: list[object], prompts: list[tuple[str, ...]]) -> None:
    run = IvrRun(flows["waiting"], {"language": "en", "position": "2", "wait": "1", "offer_callback": offer})
    played = [run.start()]
    for step in script:
        played.append(run.feed(P if step is P else T))
    assert [i.prompts for i in played[:-1]] == prompts
    assert isinstance(played[-1], Finished) and isinstance(played[-1].action, Queue)
    assert run.attrs.get("callback") != "yes"
