"""Conditions on call attributes, used by `when:` and by branch nodes.

The shell sets attributes from live state at call time (an emergency notice a
supervisor switched on, the caller's number of recent calls, ...), so flows
react without a restart. A condition is data, never code: one attribute and
one comparison, chosen from a closed set so a flow file cannot execute
anything.

YAML forms::

    when: notice                                  # present and non-empty
    when: {attr: notice}                          # same
    when: {attr: line, equals: province}
    when: {attr: language, in: [en, ja]}
    when: {attr: repeat_calls, at_least: 3}       # numeric; non-numbers are false
    when: {attr: notice, absent: true}            # missing or empty
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Test(StrEnum):
    """The comparisons a condition may make (the YAML key that selects each)."""

    PRESENT = "present"
    ABSENT = "absent"
    EQUALS = "equals"
    IN = "in"
    AT_LEAST = "at_least"


@dataclass(frozen=True, slots=True)
class Condition:
    """`attr` compared by `test` with `operand` (a string, tuple or float)."""

    attr: str
    test: Test = Test.PRESENT
    operand: str | float | tuple[str, ...] | None = None

    def holds(self, attrs: Mapping[str, str]) -> bool:
        """Evaluate against the call attributes; never raises on odd values."""
        value = attrs.get(self.attr, "")
        return _TESTS[self.test](value, self.operand)

    def describe(self) -> str:
        """A short human form for the path and error messages."""
        if self.test in (Test.PRESENT, Test.ABSENT):
            return f"{self.attr} {self.test.value}"
        operand = f"{self.operand:g}" if isinstance(self.operand, float) else self.operand
        return f"{self.attr} {self.test.value} {operand}"


def _at_least(value: str, operand: object) -> bool:
    """Numeric comparison; a non-numeric attribute never satisfies it."""
    try:
        return float(value) >= float(operand)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return False


_TESTS = {
    Test.PRESENT: lambda value, _: value != "",
    Test.ABSENT: lambda value, _: value == "",
    Test.EQUALS: lambda value, operand: value == operand,
    Test.IN: lambda value, operand: value in (operand or ()),
    Test.AT_LEAST: _at_least,
}
