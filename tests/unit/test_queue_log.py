"""calls.queue_log: folding Asterisk 22 queue_log lines of the fallback queue into records."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import String

from calls.queue_log import (
    FALLBACK_QUEUE,
    FIELD_WIDTHS,
    MalformedLine,
    QueueLogLine,
    fold,
    parse_line,
    read_line,
)
from calls.records import CallEvent, CallRecord
from hotline.sessions.fallback import FallbackReconciler
from hotline.settings import Settings
from hotline.store.calls import CallStore, RecordWriter, make_engine, migrate
from recordings import recording_path
from sql.schema import calls

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


@pytest.mark.parametrize("epoch", [
    "nan", "NaN", "inf", "-inf", "Infinity", "1e309", "1e9", "-1", "+1700000000", " 1700000000",
    "1_700_000_000", "１７００００００００", "1700000000.", "253402300800", "9" * 13, "0x10",
])
def test_epochs_no_record_can_hold_are_malformed(epoch: str, caplog: pytest.LogCaptureFixture) -> None:
    """float() takes all of these; as a record's time each made the store raise, and the
    reconciliation stopped at that line on every pass."""
    line = f"{epoch}|c1|{Q}|NONE|ENTERQUEUE|12345|13800000001|1"
    with pytest.raises(MalformedLine, match="not an epoch"):
        read_line(line)
    with caplog.at_level(logging.WARNING, logger="calls.queue_log"):
        assert parse_line(line) is None
    assert "queue_log line skipped" in caplog.text and "not an epoch" in caplog.text


@pytest.mark.parametrize("line", [
    f"1700000000|c\x001|{Q}|NONE|ENTERQUEUE|12345|13800000001|1",
    f"1700000000|c1|{Q}|NONE|ENTERQUEUE|12345|138\x1b[2J|1",
    f"1700000000|c1|{Q}|NONE|ENTERQUEUE|12345|\ud800|1",
])
def test_control_characters_are_malformed(line: str) -> None:
    with pytest.raises(MalformedLine, match="control character"):
        read_line(line)


@pytest.mark.parametrize("line, expected", [
    ("", None),
    ("  \r\n", None),
    (f"1700000000|NONE|{Q}|NONE|CONFIGRELOAD|", None),
    ("253402300799|c1|q|a|E", QueueLogLine(253402300799.0, "c1", "q", "a", "E", ())),
    ("0.5|c1|q|a|E|x\r\n", QueueLogLine(0.5, "c1", "q", "a", "E", ("x",))),
])
def test_read_line_accepts(line: str, expected: QueueLogLine | None) -> None:
    assert read_line(line) == expected


def test_field_widths_are_the_stores_columns() -> None:
    for name, width in FIELD_WIDTHS.items():
        column_type = calls.c[name].type
        assert isinstance(column_type, String) and column_type.length == width, name


def test_fold_skips_the_lines_the_store_could_not_take(caplog: pytest.LogCaptureFixture) -> None:
    """Each of these made a record that the store refused (or made fold raise): the line
    is skipped, the calls around it still come out, and one warning counts the skips."""
    bad = [
        f"1e309|bad-epoch|{Q}|NONE|ENTERQUEUE|12345|13800000009|1",
        f"nan|{ANSWERED[0].split('|')[1]}|{Q}|2003|COMPLETECALLER|3|25|1",
        f"1700000000|{'x' * 65}|{Q}|NONE|ENTERQUEUE|12345|13800000009|1",
        f"1700000000|wide-caller|{Q}|NONE|ENTERQUEUE|12345|{'9' * 65}|1",
        f"1700000000|wide-dnis|{Q}|NONE|ENTERQUEUE|{'1' * 33}|13800000009|1",
    ]
    finish = [f"1700000009|{cid}|{Q}|NONE|ABANDON|1|1|9" for cid in ("bad-epoch", "wide-caller", "wide-dnis")]
    with caplog.at_level(logging.WARNING, logger="calls.queue_log"):
        records = fold(ANSWERED[:2] + bad + ANSWERED[2:] + ABANDONED + finish)
    assert sorted(records) == ["hotline-itest-1700000000.5", "hotline-itest-1700000100.9"]
    assert records["hotline-itest-1700000000.5"].ended_at == 1700000028
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "5 malformed line(s) skipped" in warnings[0].getMessage()


def test_fold_skips_an_agent_wider_than_the_store_keeps() -> None:
    lines = [ANSWERED[0], ANSWERED[1].replace("|2003|", f"|{'a' * 17}|"), ANSWERED[2]]
    rec = fold(lines)["hotline-itest-1700000000.5"]
    assert rec.agent_id == "2003" and rec.answered_at is None  # the CONNECT line was skipped


def test_fold_skips_a_call_id_that_names_no_recording_file() -> None:
    """recording_path refuses a call id with '/' (ValueError): that was raised out of fold,
    so no fallback call at all was reconciled on any pass. Now only the CONNECT line (the
    one that names the recording) is skipped."""
    odd = [line.replace("hotline-itest-1700000000.5", "../x/1.5") for line in ANSWERED]
    records = fold(odd + ABANDONED, recording_of=lambda cid: recording_path("/srv/hotline/main", cid))
    assert sorted(records) == ["../x/1.5", "hotline-itest-1700000100.9"]
    assert (records["../x/1.5"].recording, records["../x/1.5"].outcome) == ("", "answered")


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


# -- reconciliation: the controller stores what fold made ------------------------------

def reconciling_controller(tmp_path: Path, lines: list[str], writer: Any = None) -> tuple[FallbackReconciler, CallStore]:
    settings = Settings(instance="t", var_dir=tmp_path, asterisk_root=tmp_path / "root")
    settings.queue_log.parent.mkdir(parents=True)
    settings.queue_log.write_text("".join(line + "\n" for line in lines))
    engine = make_engine(f"sqlite:///{tmp_path / 'calls.sqlite3'}")
    migrate(engine)
    store = CallStore(engine)
    reconciler = FallbackReconciler(settings.queue_log, store, writer or RecordWriter(store, tmp_path / "spool.jsonl"),
                                    lambda cid: recording_path(settings.instance_dir_in_root, cid))
    return reconciler, store


def a_call(call_id: str, epoch: str = "1700000300") -> list[str]:
    return [f"{epoch}|{call_id}|{Q}|NONE|ENTERQUEUE|12345|13800000001|1",
            f"1700000310|{call_id}|{Q}|NONE|ABANDON|1|1|10"]


async def test_reconciliation_stores_the_calls_after_an_unstorable_line(tmp_path: Path) -> None:
    """A fallback call entered at "1e309" (infinity) made the store raise OverflowError, and
    every pass stopped there: the calls after it were never stored."""
    controller, store = reconciling_controller(tmp_path, a_call("before") + a_call("inf", "1e309") + a_call("after"))
    assert await controller.reconcile() == 2
    assert store.known_ids(["before", "inf", "after"]) == {"before", "after"}
    assert await controller.reconcile() == 0  # the next pass finds nothing new


class WriterFailingOn:
    """A RecordWriter stand-in that raises for one call id and records the rest."""

    def __init__(self, failing: str) -> None:
        self.failing = failing
        self.written: list[str] = []

    async def write(self, record: CallRecord, events: list[CallEvent]) -> bool:
        if record.call_id == self.failing:
            raise OverflowError("timestamp out of range for platform time_t")
        self.written.append(record.call_id)
        return True


async def test_reconciliation_logs_and_skips_a_record_the_writer_raises_on(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    writer = WriterFailingOn("second")
    controller, _ = reconciling_controller(tmp_path, a_call("first") + a_call("second") + a_call("third"), writer)
    with caplog.at_level(logging.ERROR, logger="hotline.sessions.fallback"):
        await controller.reconcile()
    assert writer.written == ["first", "third"]
    assert "fallback call second could not be stored" in caplog.text


def test_a_call_queued_again_is_over_only_at_its_last_exit() -> None:
    """A caller put back into the queue by the dialplan has the same call id: the first
    exit must not make the call "finished" while its second stay is still in progress."""
    first_stay = [ABANDONED[0], f"1700000160|hotline-itest-1700000100.9|{Q}|NONE|EXITWITHTIMEOUT|1|1|60"]
    again = f"1700000161|hotline-itest-1700000100.9|{Q}|NONE|ENTERQUEUE|12345|13900000002|1"
    assert fold(first_stay + [again]) == {}
    rec = fold(first_stay + [again, f"1700000170|hotline-itest-1700000100.9|{Q}|NONE|ABANDON|1|1|9"])[
        "hotline-itest-1700000100.9"]
    assert (rec.outcome, rec.queued_at, rec.ended_at) == ("abandoned", 1700000161, 1700000170)


def test_served_lines_give_the_agent_channel_the_talk_and_the_end() -> None:
    """The dialplan's own line for a call an agent answered with no session holding it."""
    from calls.queue_log import Served, served

    lines = ["1800000100|1799999990.7|hotline-served|PJSIP/2003-0000001a|SERVED|25500|31",
             "1800000101|1799999990.8|hotline-fallback|NONE|ENTERQUEUE||13800000001|1",
             "1800000102|1799999990.9|hotline-served|PJSIP/2004-0000001b|SERVED|not-a-number|3",
             "garbage", ""]
    assert served(lines) == {"1799999990.7": Served("1799999990.7", 1800000100.0, 25.5, "PJSIP/2003-0000001a")}
    assert served(lines)["1799999990.7"].answered_at == 1800000100.0 - 25.5


def test_a_caller_taken_back_from_the_fallback_queue_is_not_stored_as_a_fallback_call() -> None:
    """RESUMED (the dialplan's hotline-resume) drops the call: its resumed session stores it."""
    lines = ["1800000000|c1|hotline-fallback|NONE|ENTERQUEUE||13800000001|1",
             "1800000010|c1|hotline-fallback|NONE|ABANDON|1|1|10",
             "1800000010|c1|hotline-fallback|NONE|RESUMED|",
             "1800000000|c2|hotline-fallback|NONE|ENTERQUEUE||13800000002|1",
             "1800000012|c2|hotline-fallback|NONE|ABANDON|1|1|12"]
    assert set(fold(lines)) == {"c2"}


def test_a_fallback_call_that_just_ended_waits_for_the_next_pass() -> None:
    """Its RESUMED line may still be on the way: only calls settled before the bound are stored."""
    lines = ["1800000000|c1|hotline-fallback|NONE|ENTERQUEUE||13800000001|1",
             "1800000010|c1|hotline-fallback|NONE|ABANDON|1|1|10"]
    assert fold(lines, settled_before=1800000009) == {}
    assert set(fold(lines, settled_before=1800000010)) == {"c1"}
