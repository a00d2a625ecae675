"""Turning whatever the channel reported as DTMF into a menu entry.

Callers mash keys, fax tones decode as garbage, and a buggy shell may hand us
letters or megabytes. The rules, in order, so that no input can crash or
stall a run:

1. lower-case a-d become the DTMF letters A-D;
2. everything from the terminator on is dropped (the terminator is not data);
3. only the first `max_digits` characters count (the caller's first keys
   decide, extra keys are noise);
4. an entry containing anything that is not a DTMF symbol is returned as is
   and simply matches no choice, so it is handled as an invalid entry.

An empty result (nothing before the terminator) means "no entry" and is
handled like a timeout.
"""

from __future__ import annotations

DTMF_SYMBOLS = frozenset("0123456789*#ABCD")
"""The sixteen DTMF symbols; menu choices may only use these."""

RECORDED_DIGITS_MAX = 64
"""Raw input longer than this is cut in the path so a run's record stays small."""


def menu_entry(raw: str, max_digits: int, terminator: str | None) -> str:
    """The part of `raw` that a menu with these settings considers (rules above)."""
    text = raw.translate(_LOWER_DTMF_LETTERS)
    if terminator:
        text = text.split(terminator, 1)[0]
    return text[:max_digits]


def is_dtmf(text: str) -> bool:
    """True if `text` is non-empty and made only of DTMF symbols."""
    return bool(text) and all(symbol in DTMF_SYMBOLS for symbol in text)


def for_record(raw: str) -> str:
    """`raw` shortened for the path, marking that it was cut."""
    if len(raw) <= RECORDED_DIGITS_MAX:
        return raw
    return raw[:RECORDED_DIGITS_MAX] + "..."


_LOWER_DTMF_LETTERS = str.maketrans("abcd", "ABCD")
