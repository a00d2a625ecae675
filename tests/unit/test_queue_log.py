"""hotline.queue_log: folding Asterisk 22 queue_log lines of the fallback queue into records."""
from __future__ import annotations

import pytest

from hotline.queue_log import FALLBACK_QUEUE, QueueLogLine, fold, parse_line

Q = "hotline-fallback"
ANSWERED = [  # what Asterisk 22 writes for a call answered by member 2003 after 3 s, 25 s talk
    f"1700000000|hotline-itest-1700000000.5|{Q}|NONE|ENTERQUEUE|12345|13800000001|1",
    f"1700000003|hotline-itest-1700000000.5|{Q}|2003|CONNECT|3|hotline-itest-1700000003.6|1",
    f"1700000028|hotline-itest-1700000000.5|{Q}|2003|COMPLETECALLER|3|25|1",
]
ABANDONED = [
    f"1700000100|hotline-itest-1700000100.9|{Q}|NONE|ENTERQUEUE|12345|13900000002|2",
    f"1700000102|hotline-itest-1700000100.9|{Q}|2001|RINGNOANSWER|15000",
    f"1700000108|hotline-itest-1700000100.9|{Q}|NONE|ABANDON|1|2|8",
]
IN_PROGRESS = [
    f"1700000200|hotline-itest-1700000200.11|{Q}|NONE|ENTERQUEUE|12345|13700000003|1",
    f"1700000204|hotline-itest-1700000200.11|{Q}|2002|CONNECT|4|hotline-itest-1700000204.12|2",
]
HOUSEKEEPING = [
    "1700000000|NONE|NONE|NONE|QUEUESTART|",
    f"1700000001|NONE|{Q}|NONE|CONFIGRELOAD|",
    f"1700000001||{Q}|NONE|ENTERQUEUE|12345|1|1",
]


def test_answered_call() -> None:
    records = fold(ANSWERED)
    assert list(records) == ["hotline-itest-1700000000.5"]
    rec = records["hotline-itest-1700000000.5"]
    assert (rec.caller, rec.dnis, rec.source, rec.queue) == ("13800000001", "12345", "fallback", "main")
    assert (rec.arrived_at, rec.queued_at, rec.answered_at, rec.ended_at) == (1700000000, 1700000000, 1700000003, 1700000028)
    assert rec.agent_id == "2003"
    assert rec.outcome == "answered"
    assert rec.wait_seconds == 3 and rec.talk_seconds == 25


def test_completeagent_also_finishes() -> None:
    lines = ANSWERED[:2] + [f"1700000030|hotline-itest-1700000000.5|{Q}|2003|COMPLETEAGENT|3|27|1"]
    rec = fold(lines)["hotline-itest-1700000000.5"]
    assert rec.outcome == "answered" and rec.ended_at == 1700000030 and rec.talk_seconds == 27


def test_abandoned_call() -> None:
    rec = fold(ABANDONED)["hotline-itest-1700000100.9"]
    assert rec.outcome == "abandoned"
    assert rec.answered_at is None and rec.agent_id == ""
    assert rec.wait_seconds == 8 and rec.talk_seconds is None
    assert rec.caller == "13900000002"


@pytest.mark.parametrize("event", ["EXITWITHTIMEOUT", "EXITEMPTY", "EXITWITHKEY"])
def test_other_exits_count_as_abandoned(event: str) -> None:
    lines = [ABANDONED[0], f"1700000160|hotline-itest-1700000100.9|{Q}|NONE|{event}|1|1|60"]
    rec = fold(lines)["hotline-itest-1700000100.9"]
    assert rec.outcome == "abandoned" and rec.ended_at == 1700000160


def test_in_progress_calls_are_left_out() -> None:
    assert fold(IN_PROGRESS) == {}
    assert fold(IN_PROGRESS[:1]) == {}


def test_mixed_log_keeps_finished_calls_only() -> None:
    interleaved = [ANSWERED[0], ABANDONED[0], IN_PROGRESS[0], ANSWERED[1], ABANDONED[1],
                   IN_PROGRESS[1], ABANDONED[2], ANSWERED[2]] + HOUSEKEEPING
    records = fold(interleaved)
    assert sorted(records) == ["hotline-itest-1700000000.5", "hotline-itest-1700000100.9"]
    assert records["hotline-itest-1700000000.5"].outcome == "answered"
    assert records["hotline-itest-1700000100.9"].outcome == "abandoned"


def test_other_queue_is_ignored() -> None:
    other = [line.replace(f"|{Q}|", "|some-other-queue|") for line in ANSWERED]
    assert fold(other) == {}
    assert list(fold(other, queue="some-other-queue")) == ["hotline-itest-1700000000.5"]
    assert FALLBACK_QUEUE == Q


def test_lines_without_enterqueue_are_ignored() -> None:
    assert fold(ANSWERED[1:]) == {}


def test_caller_defaults_to_unknown() -> None:
    lines = [f"1700000000|c1|{Q}|NONE|ENTERQUEUE|12345||1", f"1700000005|c1|{Q}|NONE|ABANDON|1|1|5"]
    assert fold(lines)["c1"].caller == "unknown"


@pytest.mark.parametrize("line", [
    "",
    "\n",
    "garbage",
    "1700000000|c1|hotline-fallback|NONE",  # too few fields
    "yesterday|c1|hotline-fallback|NONE|ENTERQUEUE|12345|1|1",  # bad time
    "1700000000|NONE|hotline-fallback|NONE|CONFIGRELOAD|",
    "1700000000||hotline-fallback|NONE|ENTERQUEUE|12345|1|1",
])
def test_parse_line_rejects(line: str) -> None:
    assert parse_line(line) is None


def test_parse_line_fields() -> None:
    assert parse_line(ANSWERED[1] + "\n") == QueueLogLine(
        1700000003.0, "hotline-itest-1700000000.5", Q, "2003", "CONNECT",
        ("3", "hotline-itest-1700000003.6", "1"))


def test_malformed_lines_inside_a_log_are_skipped() -> None:
    lines = [ANSWERED[0], "garbage", "not|a|number|x|CONNECT", "x" * 500, ANSWERED[1],
             f"nan-ish|hotline-itest-1700000000.5|{Q}|2003|ABANDON|1|1|1", ANSWERED[2]]
    rec = fold(lines)["hotline-itest-1700000000.5"]
    assert rec.outcome == "answered" and rec.talk_seconds == 25


def test_answered_fallback_call_points_at_the_dialplans_recording() -> None:
    records = fold(ANSWERED + ABANDONED, recording_of=lambda cid: f"/inst/recordings/{cid}.wav")
    assert records["hotline-itest-1700000000.5"].recording == "/inst/recordings/hotline-itest-1700000000.5.wav"
    assert records["hotline-itest-1700000100.9"].recording == ""  # nobody answered: nothing recorded
