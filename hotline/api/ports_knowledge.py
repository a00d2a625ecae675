"""What the API needs from the call takers' knowledge base (知识库), as one small interface.

Why a port of its own: the API must not know whether the articles are searched in memory
(``knowledge.memory.InMemoryKnowledge``, the default and the tests') or in the database's
trigram index (``knowledge.index.SqlKnowledge``, which the controller wires and rebuilds on
``hotline reload``). Both apply the same rules (``knowledge.search``), so the API's answer
does not depend on the backing.

A base that cannot reach its database raises ``ConnectionError`` (the API answers 503
``unavailable``). Nothing here imports an I/O library or FastAPI.
"""
from __future__ import annotations

from datetime import date
from typing import Protocol

from knowledge.articles import Article
from knowledge.search import Hit, SearchQuery

__all__ = ["Article", "Hit", "KnowledgeBase", "SearchQuery"]


class KnowledgeBase(Protocol):
    """Searches the articles; read only (the articles are files, loaded at start-up)."""

    async def search(self, query: SearchQuery) -> list[Hit]:
        """The articles matching ``query``, best first (``knowledge.search`` says how)."""
        ...

    async def article(self, article_id: str) -> Article | None:
        """One article whatever its validity (the API shows its status), or None."""
        ...

    async def suggest(self, category: str, today: date, limit: int = 5) -> list[Hit]:
        """The articles valid on ``today`` for a call of ``category`` (the screen pop), best first."""
        ...
