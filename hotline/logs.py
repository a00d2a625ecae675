"""Structured logs: the call id on every line logged while a call is handled, and an optional
JSON format (one object per line) for a log shipper.

Why a context variable: a call's work crosses many modules (session, router, AMI handlers,
the record writer); passing the call id to each ``log.info`` is noisy and gets forgotten. The
session enters ``call_context(call_id)`` once; every line logged inside it, by any logger,
carries the id. asyncio copies the context into the tasks created inside it (``TaskOwner.spawn``
too) and ``asyncio.to_thread`` into its thread, so their lines carry it as well; two calls'
contexts never mix.

``configure(fmt)`` installs one handler on the root logger with ``CallIdFilter`` and the
chosen formatter; ``log_format_from_env`` reads ``HOTLINE_LOG_FORMAT`` (``text``, the default,
or ``json``) and names the variable when its value cannot be used. Nothing happens at import.
"""
from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any, Iterator, Literal, Mapping, TextIO

from hotline.settings import SettingsError

LogFormat = Literal["text", "json"]
FORMATS: tuple[LogFormat, ...] = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(call_id)s]: %(message)s"
NO_CALL = "-"

_call_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("hotline_call_id", default=None)

# The attributes every LogRecord has: what is left in a record's __dict__ came from ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "call_id"}


def current_call_id() -> str | None:
    """The call being handled in this context, if any."""
    return _call_id.get()


@contextlib.contextmanager
def call_context(call_id: str) -> Iterator[None]:
    """Every line logged inside (here and in the tasks and threads started here) names ``call_id``."""
    token = _call_id.set(call_id)
    try:
        yield
    finally:
        _call_id.reset(token)


class CallIdFilter(logging.Filter):
    """Adds ``record.call_id`` (the context's call, or ``-``); never drops a line. Put it on the
    handler, so it sees the lines of every logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "call_id", None):
            record.call_id = _call_id.get() or NO_CALL
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, call_id when a
    call is handled, the exception's traceback, and any ``extra=`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        call_id = getattr(record, "call_id", None) or _call_id.get()
        if call_id and call_id != NO_CALL:
            out["call_id"] = call_id
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in out:
                out[key] = value
        return json.dumps(out, ensure_ascii=False, default=str)


def formatter(fmt: LogFormat) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)


def log_format_from_env(env: Mapping[str, str]) -> LogFormat:
    """``HOTLINE_LOG_FORMAT``: text (default) or json; SettingsError naming it otherwise."""
    raw = env.get("HOTLINE_LOG_FORMAT", "").strip().lower()
    if not raw:
        return "text"
    if raw not in FORMATS:
        raise SettingsError(f"HOTLINE_LOG_FORMAT={raw!r}: use text or json")
    return raw  # type: ignore[return-value]


def configure(fmt: LogFormat = "text", level: int = logging.INFO, stream: TextIO | None = None) -> logging.Handler:
    """Log everything at ``level`` and above to ``stream`` (stderr) in ``fmt``, with the call
    id; replaces the root logger's handlers. The handler, for a test to remove."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(CallIdFilter())
    handler.setFormatter(formatter(fmt))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
