"""The knowledge base's search index in the database: SQLite (FTS5, trigram tokenizer) or
PostgreSQL (pg_trgm).

Derived data, not records: the ``kb_*`` tables hold nothing but what the article files say,
and are emptied and refilled from them at start-up and on every ``hotline reload``
(``SqlKnowledge.rebuild``). That is why this module creates them itself (``IF NOT
EXISTS``) instead of an Alembic migration: dropping them loses nothing, and a change of
their shape needs no migration: ``SHAPE`` (kept in ``kb_meta``) changes with it, and the
next start-up drops and remakes the tables. Nothing here is ever backed up or migrated.

Tables (both databases): ``kb_meta`` (the tables' shape), ``kb_articles`` (one row per article, as written, with
``search_text``: titles, keywords and body folded by ``knowledge.search.fold``) and
``kb_tags`` (an article's categories and agencies, for the filters). SQLite adds the FTS5
table ``kb_fts(article_id, search_text)`` with ``tokenize='trigram'``; PostgreSQL a GIN
``gin_trgm_ops`` index on ``kb_articles.search_text``.

How a term is looked up. Chinese words are often two characters (社保, 供暖), and a trigram
index cannot serve a pattern shorter than three:

- SQLite: a term of 3+ characters is an FTS5 phrase (``kb_fts MATCH '"供暖不热"'``,
  served by the trigram index); a shorter one is a substring scan, ``instr(search_text,
  term)``. Not ``LIKE``: with SQLite 3.40's trigram tokenizer, a plain ``LIKE '%社保%'`` on
  the FTS table answers *nothing* (the index takes the pattern's 6 bytes for 3 characters
  and finds no trigram), a trap the two-character tests of this module catch; ``instr``
  has no index to fool and no wildcard to escape. A SQLite older than 3.34 (no trigram
  tokenizer) gets a plain ``kb_fts`` table and the scan for every term.
- PostgreSQL: ``search_text LIKE '%term%'`` (wildcards escaped), which the GIN trigram index
  serves for 3+ characters and PostgreSQL answers by a scan below that.

The database only narrows: the candidates it returns are judged and ordered by the pure
rules of ``knowledge.search``, exactly as the in-memory base does, so the two backings give
one answer (title hits before body hits, validity, filters, snippets). A knowledge base of
a few thousand articles makes the candidate set small enough for that.
"""
from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
from datetime import date
from pathlib import Path
from typing import Any, Callable, Collection, Iterable, Sequence, TypeVar

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from knowledge.articles import Article, load_articles
from knowledge.search import (Hit, SearchQuery, fold, related_categories, search, suggest)
from outbound.agencies import Directory

log = logging.getLogger(__name__)
T = TypeVar("T")

TRIGRAM_SQLITE = (3, 34, 0)   # the first SQLite with FTS5's trigram tokenizer
_LOCK_KEY = 0x6B62_1234       # pg_advisory_xact_lock: one rebuild at a time across controllers
MIN_TRIGRAM = 3
# The shape of the kb_* tables. Change it with any change of their DDL: the next start-up
# finds another shape in kb_meta, drops the kb_* tables and makes them anew (they are a cache).
SHAPE = "1"
_TABLES = ("kb_fts", "kb_tags", "kb_articles")

_SQLITE_TABLES = (
    """CREATE TABLE IF NOT EXISTS kb_articles (
        article_id TEXT PRIMARY KEY, title_zh TEXT NOT NULL, title_en TEXT NOT NULL,
        categories TEXT NOT NULL, agencies TEXT NOT NULL, keywords TEXT NOT NULL,
        valid_from TEXT NOT NULL, valid_to TEXT, body TEXT NOT NULL, source TEXT NOT NULL,
        search_text TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS kb_tags (
        kind TEXT NOT NULL, value TEXT NOT NULL, article_id TEXT NOT NULL,
        PRIMARY KEY (kind, value, article_id))""",
)
_SQLITE_FTS = "CREATE VIRTUAL TABLE IF NOT EXISTS kb_fts USING fts5(article_id UNINDEXED, search_text, tokenize='trigram')"
_SQLITE_PLAIN = "CREATE TABLE IF NOT EXISTS kb_fts (article_id TEXT PRIMARY KEY, search_text TEXT NOT NULL)"
_PG_TABLES = (
    """CREATE TABLE IF NOT EXISTS kb_articles (
        article_id TEXT PRIMARY KEY, title_zh TEXT NOT NULL, title_en TEXT NOT NULL,
        categories TEXT NOT NULL, agencies TEXT NOT NULL, keywords TEXT NOT NULL,
        valid_from DATE NOT NULL, valid_to DATE, body TEXT NOT NULL, source TEXT NOT NULL,
        search_text TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS kb_tags (
        kind TEXT NOT NULL, value TEXT NOT NULL, article_id TEXT NOT NULL,
        PRIMARY KEY (kind, value, article_id))""",
)
_PG_TRGM = "CREATE INDEX IF NOT EXISTS kb_articles_search_trgm ON kb_articles USING gin (search_text gin_trgm_ops)"


class KnowledgeUnavailable(ConnectionError):
    """The database does not answer (the API answers 503 ``unavailable``)."""


def search_text(article: Article) -> str:
    """What the index searches: titles, keywords and body, folded, one field a line (a
    term holds no white space, so it never spans two fields)."""
    return fold("\n".join((article.title_zh, article.title_en, " ".join(article.keywords), article.plain_body)))


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


class KnowledgeIndex:
    """The ``kb_*`` tables of one database: create, rebuild, and narrow a search.

    Synchronous (like ``hotline.store.calls``); ``SqlKnowledge`` runs it in a thread."""

    def __init__(self, engine: Engine, *, trigram: bool | None = None) -> None:
        """``trigram``: force SQLite's FTS5 trigram table on or off (default: by version)."""
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        if not self.postgres and engine.dialect.name != "sqlite":
            raise ValueError(f"the knowledge index runs on SQLite or PostgreSQL, not {engine.dialect.name}")
        self._trigram = trigram
        self._fts: bool | None = None
        self._ready = False
        self._ready_lock = threading.Lock()

    # -- tables ---------------------------------------------------------------------------

    def _db(self, work: Callable[[], T]) -> T:
        try:
            return work()
        except (OperationalError, InterfaceError) as exc:
            raise KnowledgeUnavailable(f"the knowledge index's database does not answer: {type(exc).__name__}") \
                from exc

    def _create(self, conn: Connection) -> None:
        if self.postgres:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        conn.execute(text("CREATE TABLE IF NOT EXISTS kb_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)"))
        if conn.execute(text("SELECT value FROM kb_meta WHERE name = 'shape'")).scalar() != SHAPE:
            for table in _TABLES:
                conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
            conn.execute(text("DELETE FROM kb_meta WHERE name = 'shape'"))
            conn.execute(text("INSERT INTO kb_meta (name, value) VALUES ('shape', :shape)"), {"shape": SHAPE})
            self._fts = None
        if self.postgres:
            for ddl in _PG_TABLES:
                conn.execute(text(ddl))
            try:
                with conn.begin_nested():
                    conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
                    conn.execute(text(_PG_TRGM))
            except DBAPIError as exc:  # no right to create it: searches still work, by scans
                log.warning("knowledge index without pg_trgm (searches scan the table): %s", exc.orig)
            return
        for ddl in _SQLITE_TABLES:
            conn.execute(text(ddl))
        existing = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'kb_fts'")).scalar()
        if existing is None:
            trigram = self._trigram if self._trigram is not None else sqlite3.sqlite_version_info >= TRIGRAM_SQLITE
            conn.execute(text(_SQLITE_FTS if trigram else _SQLITE_PLAIN))

    def create(self) -> None:
        """Create the tables if they are missing (idempotent; safe with two controllers)."""
        def work() -> None:
            with self.engine.begin() as conn:
                self._create(conn)
        self._db(work)
        self._ready = True

    def _ensure(self) -> None:
        if not self._ready:
            with self._ready_lock:
                if not self._ready:
                    self.create()

    def uses_fts(self) -> bool:
        """Whether SQLite's trigram FTS5 table serves 3+ character terms (False on PostgreSQL)."""
        if self.postgres:
            return False
        if self._fts is None:
            def work() -> str:
                self._ensure()
                with self.engine.connect() as conn:
                    return str(conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'kb_fts'")).scalar() or "")
            self._fts = "fts5" in self._db(work).lower()
        return self._fts

    # -- rebuild --------------------------------------------------------------------------

    def _day(self, day: date | None) -> Any:
        return day if self.postgres or day is None else day.isoformat()

    def rebuild(self, articles: Iterable[Article]) -> int:
        """Replace the whole index by ``articles`` in one transaction (readers see the old
        index or the new one); how many articles it holds."""
        articles = tuple(articles)
        rows = [{"article_id": a.article_id, "title_zh": a.title_zh, "title_en": a.title_en,
                 "categories": json.dumps(a.categories, ensure_ascii=False),
                 "agencies": json.dumps(a.agencies, ensure_ascii=False),
                 "keywords": json.dumps(a.keywords, ensure_ascii=False),
                 "valid_from": self._day(a.valid_from), "valid_to": self._day(a.valid_to), "body": a.body,
                 "source": a.source, "search_text": search_text(a)} for a in articles]
        tags = [{"kind": kind, "value": value, "article_id": a.article_id}
                for a in articles for kind, values in (("category", a.categories), ("agency", a.agencies))
                for value in values]

        def work() -> int:
            with self.engine.begin() as conn:
                self._create(conn)
                for table in ("kb_tags", "kb_articles") + (() if self.postgres else ("kb_fts",)):
                    conn.execute(text(f"DELETE FROM {table}"))
                if rows:
                    conn.execute(text(
                        "INSERT INTO kb_articles (article_id, title_zh, title_en, categories, agencies, keywords, "
                        "valid_from, valid_to, body, source, search_text) VALUES (:article_id, :title_zh, "
                        ":title_en, :categories, :agencies, :keywords, :valid_from, :valid_to, :body, :source, "
                        ":search_text)"), rows)
                    if not self.postgres:
                        conn.execute(text("INSERT INTO kb_fts (article_id, search_text) "
                                          "VALUES (:article_id, :search_text)"), rows)
                if tags:
                    conn.execute(text("INSERT INTO kb_tags (kind, value, article_id) VALUES (:kind, :value, :article_id)"),
                                 tags)
            return len(rows)
        count = self._db(work)
        self._ready = True
        return count

    # -- reading --------------------------------------------------------------------------

    def _select(self, where: Sequence[str], params: dict[str, Any], join_text: bool) -> list[Article]:
        source = ("kb_articles a JOIN kb_fts ON kb_fts.article_id = a.article_id" if join_text and not self.postgres
                  else "kb_articles a")
        sql = ("SELECT a.article_id, a.title_zh, a.title_en, a.categories, a.agencies, a.keywords, a.valid_from, "
               f"a.valid_to, a.body, a.source FROM {source}"
               + (" WHERE " + " AND ".join(where) if where else ""))

        def work() -> list[Article]:
            self._ensure()
            with self.engine.connect() as conn:
                return [_article(row) for row in conn.execute(text(sql), params)]
        return self._db(work)

    def _valid_on(self, today: date, params: dict[str, Any]) -> str:
        params["today"] = self._day(today)
        return "a.valid_from <= :today AND (a.valid_to IS NULL OR a.valid_to >= :today)"

    def candidates(self, query: SearchQuery) -> list[Article]:
        """The articles that may answer ``query`` (a superset of its hits, before ranking)."""
        where: list[str] = []
        params: dict[str, Any] = {}
        if not query.include_expired:
            where.append(self._valid_on(query.today, params))
        if query.category:
            params.update(category=query.category, below=query.category + ".", below_len=len(query.category) + 1)
            where.append("EXISTS (SELECT 1 FROM kb_tags t WHERE t.article_id = a.article_id AND t.kind = 'category' "
                         "AND (t.value = :category OR substr(t.value, 1, CAST(:below_len AS INTEGER)) = :below))")
        if query.agency:
            params["agency"] = query.agency
            where.append("EXISTS (SELECT 1 FROM kb_tags t WHERE t.article_id = a.article_id AND t.kind = 'agency' "
                         "AND t.value = :agency)")
        terms = query.terms
        fts = bool(terms) and not self.postgres and self.uses_fts()
        long_terms = [t for t in terms if fts and len(t) >= MIN_TRIGRAM]
        if long_terms:
            params["phrases"] = " AND ".join(_phrase(t) for t in long_terms)
            where.append("kb_fts MATCH :phrases")
        for i, term in enumerate(t for t in terms if t not in long_terms):
            if self.postgres:
                params[f"t{i}"] = _like(term)
                where.append(f"a.search_text LIKE :t{i} ESCAPE '\\'")
            else:
                params[f"t{i}"] = term
                where.append(f"instr(kb_fts.search_text, :t{i}) > 0")
        return self._select(where, params, join_text=bool(terms))

    def search(self, query: SearchQuery) -> list[Hit]:
        """The hits of ``query``, best first (``knowledge.search.search`` over the candidates)."""
        return search(self.candidates(query), query)

    def article(self, article_id: str) -> Article | None:
        found = self._select(["a.article_id = :id"], {"id": article_id}, join_text=False)
        return found[0] if found else None

    def suggest(self, category: str, today: date, limit: int = 5) -> list[Hit]:
        """The valid articles for a call of ``category``, best first (``knowledge.search.suggest``)."""
        above, below = related_categories(category)
        params: dict[str, Any] = {f"c{i}": c for i, c in enumerate(above)}
        params.update(below=below, below_len=len(below))
        names = ", ".join(f":c{i}" for i in range(len(above)))
        where = [self._valid_on(today, params),
                 "EXISTS (SELECT 1 FROM kb_tags t WHERE t.article_id = a.article_id AND t.kind = 'category' "
                 f"AND (t.value IN ({names}) OR substr(t.value, 1, CAST(:below_len AS INTEGER)) = :below))"]
        return suggest(self._select(where, params, join_text=False), category, today, limit)

    def count(self) -> int:
        def work() -> int:
            self._ensure()
            with self.engine.connect() as conn:
                return int(conn.execute(text("SELECT count(*) FROM kb_articles")).scalar_one())
        return self._db(work)


def _day_of(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _article(row: Any) -> Article:
    r = row._mapping
    valid_from = _day_of(r["valid_from"])
    assert valid_from is not None
    return Article(r["article_id"], r["title_zh"], r["title_en"], tuple(json.loads(r["categories"])),
                   tuple(json.loads(r["agencies"])), valid_from, _day_of(r["valid_to"]),
                   tuple(json.loads(r["keywords"])), r["body"], r["source"])


class SqlKnowledge:
    """The knowledge base the controller serves: the articles of ``folder``, checked against
    the agency directory, searched in the database's index. Implements
    ``hotline.api.ports_knowledge.KnowledgeBase`` (each question in a worker thread).

    ``rebuild()`` (at start-up and on ``hotline reload``) reads and checks the folder, then
    replaces the index; an invalid folder raises ``ArticleError`` and leaves the index as it
    was. ``directory`` may be a callable giving the one in force (a reload swaps it)."""

    def __init__(self, engine: Engine, folder: Path, directory: Directory | Callable[[], Directory],
                 known_categories: Collection[str] | Callable[[], Collection[str] | None] | None = None,
                 *, trigram: bool | None = None) -> None:
        self.folder = folder
        self.index = KnowledgeIndex(engine, trigram=trigram)
        self._directory = directory
        self._categories = known_categories

    def rebuild(self) -> int:
        """Load and check the folder, then replace the index; how many articles it holds."""
        directory = self._directory() if callable(self._directory) else self._directory
        categories = self._categories() if callable(self._categories) else self._categories
        articles = load_articles(self.folder, directory, categories)
        count = self.index.rebuild(articles)
        log.info("knowledge base rebuilt: %d articles from %s", count, self.folder)
        return count

    async def search(self, query: SearchQuery) -> list[Hit]:
        return await asyncio.to_thread(self.index.search, query)

    async def article(self, article_id: str) -> Article | None:
        return await asyncio.to_thread(self.index.article, article_id)

    async def suggest(self, category: str, today: date, limit: int = 5) -> list[Hit]:
        return await asyncio.to_thread(self.index.suggest, category, today, limit)
