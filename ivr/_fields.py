"""Typed reading of one mapping of a flow file, reporting problems as it goes.

The parser never stops at the first mistake: each reader reports what is
wrong (file, node, line, field) to a `Report` and returns a harmless default,
so an author sees every problem of a file at once. `Report.raise_if_any()`
then turns the collected problems into one `FlowError`.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from ivr._yaml import SourceMap
from ivr.conditions import Condition, Test
from ivr.schema import FlowError

NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
"""Node ids, prompt names, attribute names, skills, queues, agencies, flows."""

PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]{0,63})\}")
"""`{attr}` inside a prompt name, filled from call attributes at run time."""

_INTEGER = re.compile(r"^-?[0-9]{1,9}$")
_NUMBER = re.compile(r"^[0-9]{1,6}(\.[0-9]{1,6})?$")


class Report:
    """Collects errors and warnings for one flow file."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.errors: list[FlowError] = []
        self.warnings: list[str] = []

    def error(self, node: str | None, problem: str, line: int | None = None) -> None:
        self.errors.append(FlowError(self.file, node, problem, line=line))

    def warn(self, node: str | None, problem: str, line: int | None = None) -> None:
        self.warnings.append(FlowError(self.file, node, problem, line=line).describe())

    def raise_if_any(self) -> None:
        """Raise one FlowError carrying every problem found so far."""
        if self.errors:
            first, *more = self.errors
            raise FlowError(
                first.file, first.node, first.problem, line=first.line, more=tuple(more)
            )


class Fields:
    """Reader for one mapping (the flow header, a node, a case...).

    Unknown keys are reported at construction: a typo such as `timout:`
    must not silently fall back to a default.
    """

    def __init__(
        self,
        raw: SourceMap,
        node: str | None,
        report: Report,
        allowed: Collection[str],
        where: str = "",
    ) -> None:
        self.raw = raw
        self.node = node
        self.report = report
        self.where = where
        for key in raw:
            if key not in allowed:
                expected = ", ".join(sorted(allowed))
                self.error(key, f"unknown field (expected one of: {expected})")

    def line(self, key: str | None = None) -> int:
        """Line of `key` if given and present, else of the mapping."""
        return self.raw.lines.get(key, self.raw.line) if key else self.raw.line

    def error(self, key: str | None, problem: str) -> None:
        label = f"{self.where}{key}: " if key else self.where
        self.report.error(self.node, f"{label}{problem}", self.line(key))

    def has(self, key: str) -> bool:
        return self.raw.get(key) is not None

    def text(self, key: str, *, required: bool = False, default: str = "") -> str:
        """A non-empty string field."""
        value = self.raw.get(key)
        if value is None:
            if required:
                self.error(key, "is required")
            return default
        if not isinstance(value, str) or not value.strip():
            self.error(key, "must be a non-empty text")
            return default
        return value.strip()

    def name(self, key: str, *, required: bool = False, default: str = "") -> str:
        """A lower-case identifier such as a node id or a queue name."""
        value = self.text(key, required=required, default="")
        if value and not NAME.match(value):
            self.error(key, f"'{value}' is not a valid name (lower-case letters, digits, _)")
            return default
        return value or default

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        """An integer within [low, high]."""
        value = self.raw.get(key)
        if value is None:
            return default
        if not isinstance(value, str) or not _INTEGER.match(value) or not low <= int(value) <= high:
            self.error(key, f"must be a whole number from {low} to {high}, got {value!r}")
            return default
        return int(value)

    def number(self, key: str, default: float, low: float, high: float) -> float:
        """A decimal number within [low, high] (e.g. seconds)."""
        value = self.raw.get(key)
        if value is None:
            return default
        if not isinstance(value, str) or not _NUMBER.match(value) or not low <= float(value) <= high:
            self.error(key, f"must be a number from {low:g} to {high:g}, got {value!r}")
            return default
        return float(value)

    def mapping(self, key: str, *, required: bool = False) -> SourceMap:
        """A nested mapping (empty when absent or wrong)."""
        value = self.raw.get(key)
        if isinstance(value, SourceMap):
            return value
        if value is not None or required:
            self.error(key, "must be a mapping" if value is not None else "is required")
        return SourceMap(self.line(key))

    def items(self, key: str, *, required: bool = False) -> list[Any]:
        """A list field; a single scalar counts as a one-item list."""
        value = self.raw.get(key)
        if value is None:
            if required:
                self.error(key, "is required")
            return []
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list):
            self.error(key, "must be a list")
            return []
        return value

    def names(self, key: str, *, required: bool = False) -> tuple[str, ...]:
        """A list of identifiers; bad entries are reported and dropped."""
        result = []
        for item in self.items(key, required=required):
            if isinstance(item, str) and NAME.match(item):
                result.append(item)
            else:
                self.error(key, f"{item!r} is not a valid name")
        return tuple(result)

    def prompt_names(self, key: str, *, required: bool = False) -> tuple[str, ...]:
        """A list of prompt names; `{attr}` placeholders are allowed."""
        result = []
        for item in self.items(key, required=required):
            if isinstance(item, str) and NAME.match(PLACEHOLDER.sub("x", item)):
                result.append(item)
            else:
                self.error(key, f"{item!r} is not a valid prompt name")
        if required and not result and self.has(key):
            self.error(key, "must name at least one prompt")
        return tuple(result)

    def condition(self, key: str) -> Condition | None:
        """A `when:` condition (see ivr.conditions for the forms)."""
        value = self.raw.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            value = {"attr": value}
        if not isinstance(value, dict):
            self.error(key, "must be an attribute name or a mapping with 'attr'")
            return None
        return _condition(value, self, key)


def _condition(raw: dict[str, Any], fields: Fields, key: str) -> Condition | None:
    """Build a Condition from `{attr: x, <test>: operand}`."""
    attr = raw.get("attr")
    tests = [t for t in Test if t.value in raw]
    unknown = set(raw) - {"attr"} - {t.value for t in Test}
    if not isinstance(attr, str) or not NAME.match(attr) or unknown or len(tests) > 1:
        expected = ", ".join(t.value for t in Test)
        fields.error(key, f"needs 'attr: <name>' and at most one of: {expected}")
        return None
    if not tests:
        return Condition(attr)
    test = tests[0]
    operand = _operand(test, raw[test.value], fields, key)
    return Condition(attr, test, operand) if operand is not _BAD else None


_BAD = object()


def _operand(test: Test, value: Any, fields: Fields, key: str) -> Any:
    """Check and convert the operand of one condition test."""
    if test in (Test.PRESENT, Test.ABSENT):
        if value not in ("true", "yes"):
            fields.error(key, f"'{test.value}' takes 'true'")
            return _BAD
        return None
    if test is Test.IN:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            fields.error(key, "'in' takes a list of values")
            return _BAD
        return tuple(value)
    if test is Test.AT_LEAST:
        if not isinstance(value, str) or not (_INTEGER.match(value) or _NUMBER.match(value)):
            fields.error(key, f"'at_least' takes a number, got {value!r}")
            return _BAD
        return float(value)
    if not isinstance(value, str):
        fields.error(key, "'equals' takes a single value")
        return _BAD
    return value
