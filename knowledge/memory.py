"""The knowledge base held in memory: the loaded articles and the pure search rules over
them (``knowledge.search``), nothing else.

Why it exists beside the database index: it is the API's default (an ``ApiDeps`` built
without a knowledge base still answers, from the shipped folder) and the tests' base; the
index tests check that SQLite and PostgreSQL answer exactly what this one answers.

``shipped_knowledge()`` loads nothing when called: the folder and the directory are read at
the first question (a few dozen small files, read once), so building ``ApiDeps`` does no
I/O and needs no event loop.
"""
from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import Callable, Iterable

from knowledge.articles import Article, load_articles
from knowledge.search import Hit, SearchQuery, search, suggest
from outbound.agencies import Directory, load_directory

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ARTICLES = PROJECT_ROOT / "knowledge" / "articles"
AGENCIES = PROJECT_ROOT / "outbound" / "agencies.yaml"


class InMemoryKnowledge:
    """A knowledge base over the articles given (or, lazily, over what ``load`` returns at
    the first question). Implements ``hotline.api.ports_knowledge.KnowledgeBase``."""

    def __init__(self, articles: Iterable[Article] = (), *,
                 load: Callable[[], Iterable[Article]] | None = None) -> None:
        self._articles: tuple[Article, ...] | None = None if load else tuple(articles)
        self._load = load
        self._lock = threading.Lock()

    @classmethod
    def from_folder(cls, folder: Path, directory: Directory) -> "InMemoryKnowledge":
        """The articles of ``folder``, loaded now (ArticleError when one is invalid)."""
        return cls(load_articles(folder, directory))

    @property
    def articles(self) -> tuple[Article, ...]:
        if self._articles is None:
            with self._lock:
                if self._articles is None:
                    assert self._load is not None
                    self._articles = tuple(self._load())
        return self._articles

    async def search(self, query: SearchQuery) -> list[Hit]:
        return search(self.articles, query)

    async def article(self, article_id: str) -> Article | None:
        return next((a for a in self.articles if a.article_id == article_id), None)

    async def suggest(self, category: str, today: date, limit: int = 5) -> list[Hit]:
        return suggest(self.articles, category, today, limit)


def shipped_knowledge(folder: Path = ARTICLES, agencies: Path = AGENCIES) -> InMemoryKnowledge:
    """The shipped articles, checked against the shipped directory, read at first use."""
    return InMemoryKnowledge(load=lambda: load_articles(folder, load_directory(agencies)))
