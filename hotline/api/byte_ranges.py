"""HTTP ``Range: bytes=...`` requests (RFC 9110, section 14), as a pure function.

Why our own: a browser's ``<audio>`` element seeks with range requests, and the recordings
route must answer errors in the API's JSON shape (``range_not_satisfiable``), which a ready
file response does not. One range is served (206); a header that is malformed or asks for
several ranges is ignored and the whole file is served (200), as the RFC allows.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_ONE = re.compile(r"bytes=(\d*)-(\d*)")


class Unsatisfiable(ValueError):
    """The range lies wholly outside the file (HTTP 416 with ``Content-Range: bytes */size``)."""


@dataclass(frozen=True)
class ByteRange:
    """Bytes ``start`` to ``end`` inclusive of a file of ``size`` bytes."""

    start: int
    end: int
    size: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    @property
    def content_range(self) -> str:
        return f"bytes {self.start}-{self.end}/{self.size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one range to serve of a file of ``size`` bytes, or None to serve it whole.
    Raises Unsatisfiable when the range starts past the end (or asks for the last 0 bytes)."""
    if header is None:
        return None
    match = _ONE.fullmatch(header.strip().replace(" ", ""))
    if match is None:
        return None  # malformed, another unit, or several ranges: ignored
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # bytes=-N: the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise Unsatisfiable(f"the last {suffix} bytes of a file of {size}")
        return ByteRange(max(0, size - suffix), size - 1, size)
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None  # invalid: ignored
    if start >= size:
        raise Unsatisfiable(f"byte {start} is past the end of a file of {size}")
    return ByteRange(start, min(end, size - 1), size)
