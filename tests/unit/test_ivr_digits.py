"""Caller input sanitising: what a menu sees of whatever the channel reported."""

from __future__ import annotations

import pytest

from ivr.digits import for_record, is_dtmf, menu_entry


@pytest.mark.parametrize(
    ("raw", "max_digits", "terminator", "entry"),
    [
        ("9", 1, None, "9"),
        ("91", 1, None, "9"),  # only the first max_digits count
        ("*#*#9999", 1, None, "*"),
        ("abcd", 4, None, "ABCD"),  # lower-case DTMF letters
        ("12#34", 4, "#", "12"),  # terminator ends the entry
        ("#", 4, "#", ""),  # only the terminator: no entry
        ("1234567", 4, "#", "1234"),
        ("x9", 1, None, "x"),  # garbage first: invalid, not skipped
        ("", 3, None, ""),
        ("９", 1, None, "９"),  # full-width digit is not DTMF
    ],
)
def test_menu_entry(raw: str, max_digits: int, terminator: str | None, entry: str) -> None:
    assert menu_entry(raw, max_digits, terminator) == entry


@pytest.mark.parametrize(("text", "dtmf"), [("0123456789", True), ("*#ABCD", True), ("", False), ("1x", False), ("a", False)])
def test_is_dtmf(text: str, dtmf: bool) -> None:
    assert is_dtmf(text) is dtmf


def test_for_record_cuts_long_input_only() -> None:
    assert for_record("123") == "123"
    assert for_record("1" * 65) == "1" * 64 + "..."
