from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from tests.integration.harness import Hotline


@pytest.fixture(scope="session")
def hotline() -> Iterator[Hotline]:
    """One real hotline for the whole integration session.

    Its folder is made with mkdtemp, not pytest's tmp_path_factory: pytest deletes all but
    the last three numbered temp folders when another pytest starts, which would pull the
    database and logs from under a run going on beside it (e.g. CI next to a developer)."""
    base = Path(tempfile.mkdtemp(prefix="hotline-itest-"))
    h = Hotline(base)
    h.start()
    try:
        yield h
    finally:
        h.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def fresh(hotline: Hotline) -> Iterator[Hotline]:
    """The hotline with no call, every agent logged out and no SIPp peer left from earlier
    tests (calls are ended before the live state is reset: see Hotline.end_calls)."""
    hotline.end_calls()
    hotline.reset_agents()
    yield hotline
    for peer in hotline.peers:
        peer.stop()
    hotline.peers.clear()
    hotline.end_calls()
