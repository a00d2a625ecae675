"""hotline.logs: every line logged while a call is handled carries its id, in tasks and threads
started there too, and two calls handled at once never swap ids; JSON lines parse and hold
the fields; HOTLINE_LOG_FORMAT is validated with its name."""
from __future__ import annotations

import asyncio
import io
import json
import logging
from typing import Iterator

import pytest

from hotline.logs import (CallIdFilter, JsonFormatter, call_context, configure, current_call_id,
                          log_format_from_env)
from hotline.settings import SettingsError
from hotline.tasks import TaskOwner


class Lines:
    """A handler's output, as JSON objects."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def all(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]


@pytest.fixture
def json_lines() -> Iterator[Lines]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(CallIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("hotline.test_logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield Lines(stream)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


log = logging.getLogger("hotline.test_logs")


def test_lines_inside_a_call_carry_its_id_and_others_do_not(json_lines: Lines) -> None:
    log.info("before")
    with call_context("1700000000.1"):
        assert current_call_id() == "1700000000.1"
        log.info("inside %s", "the call")
        with call_context("1700000000.2"):
            log.info("nested")
        log.info("back")
    log.info("after")
    assert current_call_id() is None
    lines = json_lines.all()
    assert [(line["message"], line.get("call_id")) for line in lines] == [
        ("before", None), ("inside the call", "1700000000.1"), ("nested", "1700000000.2"),
        ("back", "1700000000.1"), ("after", None)]
    assert all(line["logger"] == "hotline.test_logs" and line["level"] == "INFO" for line in lines)
    assert str(lines[0]["time"]).endswith("+00:00")


async def test_two_calls_at_once_keep_their_own_ids_in_tasks_and_threads(json_lines: Lines) -> None:
    owner = TaskOwner("test")

    async def session(call_id: str) -> None:
        with call_context(call_id):
            for step in range(3):
                log.info("step %d", step)
                await asyncio.sleep(0)
            done = asyncio.Event()

            async def spawned() -> None:
                log.info("in a task")
                done.set()

            owner.spawn(spawned(), f"child-{call_id}")  # created inside the context: inherits it
            await asyncio.to_thread(log.info, "in a thread")
            await done.wait()

    await asyncio.gather(session("A"), session("B"))
    await owner.close()
    lines = json_lines.all()
    assert len(lines) == 10
    for line in lines:
        assert line["call_id"] in ("A", "B")
    by_call = {c: [line["message"] for line in lines if line["call_id"] == c] for c in ("A", "B")}
    for messages in by_call.values():
        assert sorted(messages) == sorted(["step 0", "step 1", "step 2", "in a task", "in a thread"])


def test_json_lines_hold_the_exception_and_extra_fields(json_lines: Lines) -> None:
    with call_context("c9"):
        try:
            raise ValueError("bad value")
        except ValueError:
            log.exception("failed", extra={"agent_id": "1001", "waited": 3.5})
    (line,) = json_lines.all()
    assert line["message"] == "failed" and line["level"] == "ERROR" and line["call_id"] == "c9"
    assert "ValueError: bad value" in str(line["exc"])
    assert (line["agent_id"], line["waited"]) == ("1001", 3.5)


def test_text_format_names_the_call_and_configure_replaces_the_handlers() -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    try:
        handler = configure("text", logging.INFO, stream)
        assert root.handlers == [handler]
        logging.getLogger("any.module").info("no call")
        with call_context("1700000000.5"):
            logging.getLogger("other.module").warning("a call's line")
        logging.getLogger("any.module").debug("below the level")
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in saved_handlers:
            root.addHandler(h)
        root.setLevel(saved_level)
    first, second = stream.getvalue().splitlines()
    assert first.endswith("INFO any.module [-]: no call")
    assert second.endswith("WARNING other.module [1700000000.5]: a call's line")


def test_configure_json_writes_json() -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    try:
        configure("json", logging.INFO, stream)
        with call_context("x1"):
            logging.getLogger("m").info("中文 message")
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in saved_handlers:
            root.addHandler(h)
        root.setLevel(saved_level)
    line = json.loads(stream.getvalue())
    assert (line["message"], line["call_id"], line["logger"]) == ("中文 message", "x1", "m")


@pytest.mark.parametrize("value, expected", [("", "text"), ("text", "text"), ("json", "json"), ("JSON", "json")])
def test_the_log_format_setting(value: str, expected: str) -> None:
    assert log_format_from_env({"HOTLINE_LOG_FORMAT": value}) == expected
    assert log_format_from_env({}) == "text"


def test_an_unknown_log_format_is_refused_with_its_name() -> None:
    with pytest.raises(SettingsError, match="HOTLINE_LOG_FORMAT"):
        log_format_from_env({"HOTLINE_LOG_FORMAT": "xml"})
