"""What a knowledge-base search answers, as pure rules over articles: which articles match,
in which order, and which piece of the body to show.

Why one core for every base: the in-memory base applies these rules to all its articles;
the database index (``knowledge.index``) only narrows the candidates with its trigram
index and then hands them to the same functions. So SQLite, PostgreSQL and the in-memory
base cannot disagree on an answer, and the ranking is tested once, here.

The rules:

- Text is compared folded: NFKC per character (full-width letters and digits, the
  ideographic space) and lower case. A query is split on white space into terms; an
  article matches when *every* term is a substring of its titles (zh and en), its keywords
  or its body. Chinese has no spaces, so a term is matched as a substring, never as a
  word: ``社保`` (two characters) finds ``社保卡补办``.
- Only articles in force on ``today`` are answered, unless ``include_expired`` (then the
  expired and the not-yet-valid too, each with its status, after the valid ones).
- ``category`` keeps the articles filed under it or under a code below it (``03`` keeps
  ``03.02.05``); ``agency`` those naming that agency.
- Order: valid before others, then more terms in the title, more in the keywords, more
  occurrences in the body, then the id (stable).
- ``suggest``: for a call's category, the valid articles filed under it exactly first,
  then under a code above it (nearest first), then below it; within each, the articles
  whose *main* (first) category it is, then the newest policy first.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Iterable

from knowledge.articles import VALID, Article

MAX_TERMS = 8
MAX_TERM = 50
MAX_LIMIT = 50
SNIPPET_BEFORE, SNIPPET_AFTER = 30, 70
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@lru_cache(maxsize=8192)
def _fold_char(char: str) -> str:
    return unicodedata.normalize("NFKC", char).lower()


def fold(text: str) -> str:
    """``text`` as compared: NFKC per character, lower case."""
    return "".join(_fold_char(c) for c in text)


def _fold_with_offsets(text: str) -> tuple[str, list[int]]:
    """``fold(text)`` and, for each of its characters, the index in ``text`` it came from."""
    out: list[str] = []
    offsets: list[int] = []
    for i, char in enumerate(text):
        folded = _fold_char(char)
        out.append(folded)
        offsets.extend([i] * len(folded))
    return "".join(out), offsets


def terms(query: str) -> tuple[str, ...]:
    """The query's terms, folded, each once, in order (at most ``MAX_TERMS``, each cut to
    ``MAX_TERM`` characters). Control characters separate terms."""
    found: list[str] = []
    for term in _CONTROL.sub(" ", fold(query)).split():
        term = term[:MAX_TERM]
        if term not in found:
            found.append(term)
    return tuple(found[:MAX_TERMS])


@dataclass(frozen=True)
class SearchQuery:
    """One search. ``text`` empty: every article the filters admit."""

    today: date
    text: str = ""
    category: str = ""
    agency: str = ""
    include_expired: bool = False
    limit: int = 20

    @property
    def terms(self) -> tuple[str, ...]:
        return terms(self.text)

    @property
    def capped_limit(self) -> int:
        return max(1, min(self.limit, MAX_LIMIT))


@dataclass(frozen=True)
class Hit:
    """An article found: its status on the query's day, the piece of its body to show, and
    where the terms were found (``title``, ``keywords``, ``body``; empty for no terms)."""

    article: Article
    status: str
    snippet: str
    matched_in: tuple[str, ...]


@dataclass(frozen=True)
class _Match:
    title_terms: int
    keyword_terms: int
    body_count: int
    matched_in: tuple[str, ...]


@lru_cache(maxsize=4096)  # articles are immutable values: fold each once, not at every search
def _fields(article: Article) -> tuple[str, str, str]:
    return (fold(f"{article.title_zh}\n{article.title_en}"), fold("\n".join(article.keywords)),
            fold(article.plain_body))


def _match(article: Article, wanted: tuple[str, ...]) -> _Match | None:
    title, keywords, body = _fields(article)
    in_title = in_keywords = body_count = 0
    for term in wanted:
        t, k, b = term in title, term in keywords, body.count(term)
        if not (t or k or b):
            return None
        in_title, in_keywords, body_count = in_title + t, in_keywords + k, body_count + b
    where = tuple(name for name, n in (("title", in_title), ("keywords", in_keywords), ("body", body_count)) if n)
    return _Match(in_title, in_keywords, body_count, where)


def in_category(article: Article, category: str) -> bool:
    """Whether ``article`` is filed under ``category`` or under a code below it."""
    return any(c == category or c.startswith(category + ".") for c in article.categories)


def admitted(article: Article, query: SearchQuery) -> bool:
    """Whether the query's filters (day, category, agency) let ``article`` through."""
    if not query.include_expired and article.status(query.today) != VALID:
        return False
    if query.category and not in_category(article, query.category):
        return False
    return not query.agency or query.agency in article.agencies


def snippet(article: Article, wanted: tuple[str, ...]) -> str:
    """The piece of the body around the first term found in it (its start when none is),
    with ``…`` where it was cut."""
    plain = article.plain_body
    folded, offsets = _fold_with_offsets(plain)
    hits = [(at, term) for term in wanted if (at := folded.find(term)) >= 0]
    if not hits:
        start, end = 0, SNIPPET_BEFORE + SNIPPET_AFTER
    else:
        at, term = min(hits)
        first = offsets[at]
        last = offsets[at + len(term) - 1]
        start, end = max(0, first - SNIPPET_BEFORE), last + 1 + SNIPPET_AFTER
    piece = plain[start:end].strip()
    return ("…" if start > 0 else "") + piece + ("…" if end < len(plain) else "")


def search(articles: Iterable[Article], query: SearchQuery) -> list[Hit]:
    """The hits of ``query`` among ``articles``, best first, at most its limit."""
    wanted = query.terms
    found: list[tuple[tuple[object, ...], Article, str, _Match]] = []
    for article in articles:
        if not admitted(article, query):
            continue
        matched = _match(article, wanted)
        if matched is None:
            continue
        status = article.status(query.today)
        key = (status != VALID, -matched.title_terms, -matched.keyword_terms, -matched.body_count,
               article.article_id)
        found.append((key, article, status, matched))
    found.sort(key=lambda item: item[0])
    return [Hit(article, status, snippet(article, wanted), matched.matched_in)
            for _key, article, status, matched in found[:query.capped_limit]]


def related_categories(category: str) -> tuple[tuple[str, ...], str]:
    """For narrowing a suggestion in SQL: the category and the codes above it
    (``03.02.05`` -> ``03.02.05, 03.02, 03``), and the prefix of the codes below it."""
    parts = category.split(".")
    above = tuple(".".join(parts[:n]) for n in range(len(parts), 0, -1) if all(parts[:n]))
    return above or (category,), category + "."


def _relation(filed: str, wanted: str) -> tuple[int, int] | None:
    """(tier, distance) of an article filed under ``filed`` for a call in ``wanted``."""
    if filed == wanted:
        return 0, 0
    if wanted.startswith(filed + "."):
        return 1, wanted.count(".") - filed.count(".")
    if filed.startswith(wanted + "."):
        return 2, filed.count(".") - wanted.count(".")
    return None


def suggest(articles: Iterable[Article], category: str, today: date, limit: int = 5) -> list[Hit]:
    """The articles for a call filed under ``category`` (the screen pop), best first."""
    ranked: list[tuple[tuple[object, ...], Article]] = []
    for article in articles:
        if article.status(today) != VALID:
            continue
        relations = [(rel, position) for position, filed in enumerate(article.categories)
                     if (rel := _relation(filed, category)) is not None]
        if not relations:
            continue
        (tier, distance), position = min(relations)
        ranked.append(((tier, distance, position != 0, -article.valid_from.toordinal(), article.article_id),
                       article))
    ranked.sort(key=lambda item: item[0])
    return [Hit(article, VALID, snippet(article, ()), ()) for _key, article in ranked[:max(1, min(limit, MAX_LIMIT))]]
