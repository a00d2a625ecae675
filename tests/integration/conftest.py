from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.integration.harness import Hotline


@pytest.fixture(scope="session")
def hotline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hotline]:
    """One real hotline for the whole integration session."""
    h = Hotline(Path(tmp_path_factory.mktemp("hotline")))
    h.start()
    try:
        yield h
    finally:
        h.stop()


@pytest.fixture
def fresh(hotline: Hotline) -> Iterator[Hotline]:
    """The hotline with every agent logged out and no SIPp peer left from earlier tests."""
    hotline.reset_agents()
    yield hotline
    for peer in hotline.peers:
        peer.stop()
    hotline.peers.clear()
