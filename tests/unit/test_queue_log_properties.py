"""Property-based: calls.queue_log reads any queue_log text without a stray exception
(a line, None, or MalformedLine), every record fold makes is one the store can take, junk
lines never change the records of the calls around them, and well-formed calls fold back
to the values they were written with."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from calls.queue_log import (
    FALLBACK_QUEUE,
    FIELD_WIDTHS,
    MAX_EPOCH,
    MalformedLine,
    QueueLogLine,
    fold,
    read_line,
)
from calls.records import CallRecord, utc
from recordings import recording_path

QLOG = settings(max_examples=200, deadline=None)
Q = FALLBACK_QUEUE
EVENTS = ["ENTERQUEUE", "CONNECT", "COMPLETEAGENT", "COMPLETECALLER", "ABANDON", "EXITWITHTIMEOUT",
          "EXITEMPTY", "EXITWITHKEY", "RINGNOANSWER", "QUEUESTART"]

field = st.one_of(st.text(max_size=12), st.sampled_from(["", "NONE", "c1", "2003", "nan", "1e309", "a" * 70]))
epoch = st.one_of(st.integers(0, MAX_EPOCH + 10).map(str), st.floats(allow_nan=True).map(repr),
                  st.sampled_from(["nan", "inf", "-inf", "1e309", "1e18", "-1", "１７", " 1", "1.", ""]),
                  st.text(max_size=8))
# Lines shaped like queue_log lines of a few calls of the fallback queue, with any field odd
# (a call id no recording can be named after, a field wider than its column, ...).
call = st.sampled_from(["c1", "c2", "a/b", ".x", "", "NONE", "x" * 65]) | st.text(max_size=8)
shaped = st.tuples(epoch, call, st.sampled_from([Q, Q, "other", "NONE"]) | field, field,
                   st.sampled_from(EVENTS) | field, st.lists(field, max_size=4)).map(
    lambda p: "|".join([*p[:5], *p[5]]))
any_line = st.one_of(shaped, shaped, st.text(max_size=60),
                     st.binary(max_size=60).map(lambda b: b.decode("utf-8", "replace")))


def storable(record: CallRecord) -> bool:
    times = [record.arrived_at, record.queued_at, record.answered_at, record.ended_at]
    for at in (t for t in times if t is not None):
        assert math.isfinite(at)
        utc(at)  # what the store does with it; raises if no timestamp column can hold it
    widths = {"call_id": record.call_id, "dnis": record.dnis, "caller": record.caller, "agent_id": record.agent_id}
    assert "\x00" not in "".join(widths.values())  # PostgreSQL refuses NUL in text
    return all(len(widths[name]) <= width for name, width in FIELD_WIDTHS.items())


@QLOG
@given(line=any_line)
def test_any_line_is_read_skipped_or_malformed(line: str) -> None:
    try:
        parsed = read_line(line)
    except MalformedLine:
        return
    assert parsed is None or (isinstance(parsed, QueueLogLine) and 0 <= parsed.at <= MAX_EPOCH)


@st.composite
def odd_calls(draw: st.DrawFn) -> list[str]:
    """The lines of one fallback call from entry to its end, each field possibly odd."""
    cid = draw(call)
    enter, connect, end = (draw(epoch | st.just("1700000000")) for _ in range(3))
    lines = [f"{enter}|{cid}|{Q}|NONE|ENTERQUEUE|{draw(field)}|{draw(field)}|1"]
    if draw(st.booleans()):
        lines.append(f"{connect}|{cid}|{Q}|{draw(field)}|CONNECT|1|x|1")
    return lines + [f"{end}|{cid}|{Q}|{draw(field)}|{draw(st.sampled_from(EVENTS[2:8]))}|1|1|1"]


@QLOG
@given(lines=st.lists(any_line, max_size=30), odd=st.lists(odd_calls(), max_size=3))
def test_fold_of_any_lines_makes_only_storable_records(lines: list[str], odd: list[list[str]]) -> None:
    lines += [line for call_lines in odd for line in call_lines]
    records = fold(lines, recording_of=lambda cid: recording_path("/srv/hotline/main", cid))
    assert all(storable(r) and r.source == "fallback" and r.outcome in ("answered", "abandoned")
               for r in records.values())


@QLOG
@given(raw=st.binary(max_size=400))
def test_fold_of_any_file_read_as_the_controller_does(raw: bytes) -> None:
    fold(raw.decode("utf-8", errors="replace").splitlines())


call_id = st.from_regex(r"[a-z0-9-]{1,20}\.[0-9]{1,6}", fullmatch=True)
digits = st.text(alphabet="0123456789", min_size=1, max_size=15)


@st.composite
def calls(draw: st.DrawFn) -> tuple[CallRecord, list[str]]:
    """One finished fallback call and the lines Asterisk 22 writes for it."""
    cid, caller, dnis = draw(call_id), draw(digits), draw(digits)
    agent = draw(st.from_regex(r"[0-9]{4}", fullmatch=True))
    entered = draw(st.integers(0, MAX_EPOCH - 10**6))
    wait, talk = draw(st.integers(0, 3600)), draw(st.integers(0, 3600))
    answered = draw(st.booleans())
    lines = [f"{entered}|{cid}|{Q}|NONE|ENTERQUEUE|{dnis}|{caller}|1"]
    record = CallRecord(call_id=cid, caller=caller, dnis=dnis, arrived_at=entered, queued_at=entered,
                        source="fallback", queue="main", outcome="abandoned", ended_at=entered + wait)
    if answered:
        done = draw(st.sampled_from(["COMPLETEAGENT", "COMPLETECALLER"]))
        lines += [f"{entered + wait}|{cid}|{Q}|{agent}|CONNECT|{wait}|{cid}x|1",
                  f"{entered + wait + talk}|{cid}|{Q}|{agent}|{done}|{wait}|{talk}|1"]
        record = record.but(answered_at=entered + wait, ended_at=entered + wait + talk, agent_id=agent,
                            outcome="answered", recording=f"/rec/{cid}.wav")
    else:
        done = draw(st.sampled_from(["ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY", "EXITWITHKEY"]))
        lines += [f"{entered + wait}|{cid}|{Q}|NONE|{done}|1|1|{wait}"]
    return record, lines


def not_a_fallback_line(line: str) -> bool:
    """Junk for the interleaving: lines fold must pass over (malformed, or about no call
    of the fallback queue)."""
    try:
        parsed = read_line(line)
    except MalformedLine:
        return True
    return parsed is None or parsed.queue != Q


@QLOG
@given(generated=st.lists(calls(), max_size=5, unique_by=lambda c: c[0].call_id),
       junk=st.lists(any_line.filter(not_a_fallback_line), max_size=20), data=st.data())
def test_well_formed_calls_fold_back_through_any_junk(generated: list[tuple[CallRecord, list[str]]],
                                                      junk: list[str], data: st.DataObject) -> None:
    lines = [line for _, call_lines in generated for line in call_lines]
    for bad in junk:  # each junk line somewhere in the log, the calls' own order kept
        lines.insert(data.draw(st.integers(0, len(lines))), bad)
    records = fold(lines, recording_of=lambda cid: f"/rec/{cid}.wav")
    assert records == {record.call_id: record for record, _ in generated}
    assert all(storable(r) for r in records.values())
