"""The knowledge base's articles: one Markdown file each, with YAML front matter, loaded
strictly at start-up and by ``hotline reload``.

Why strict: a call taker reads an article out to a citizen as the city's answer. An article
with a misspelt agency, a validity the loader would guess, or a missing English title is a
wrong answer waiting to happen, so the whole folder is refused and every error names the
file, the article and the field (like ``outbound/agencies.yaml``). The running base stays
in force until a folder loads cleanly.

A file::

    ---
    id: shebao-card-reissue              # 3-64 of a-z 0-9 -, a letter first; unique
    title: {zh: 社保卡挂失与补办, en: Lost social security card}
    categories: ["02.01.06"]             # workorders/taxonomy.yaml codes (any level), quoted; the first is the main one
    agencies: [social_insurance]         # ids of outbound/agencies.yaml (may be empty)
    valid_from: 2024-01-01               # in force from this day ...
    valid_to: 2026-12-31                 # ... to this day, inclusive (optional: open-ended)
    keywords: [社保卡, 补办, 挂失]         # what call takers type; at least one
    ---
    The answer, in Markdown.

Pure: no I/O beyond reading the folder in ``load_articles``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Collection

import yaml

from outbound.agencies import Directory

ARTICLE_ID = re.compile(r"[a-z][a-z0-9-]{2,63}")
RESERVED_IDS = frozenset({"suggest"})  # a path segment of the API (GET /knowledge/suggest)
_CATEGORY = re.compile(r"[\w.\-]{1,40}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BODY_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_REQUIRED = ("id", "title", "categories", "agencies", "valid_from", "keywords")
_FIELDS = frozenset(_REQUIRED) | {"valid_to"}
MAX_BODY = 20_000
VALID, EXPIRED, NOT_YET_VALID = "valid", "expired", "not_yet_valid"


class ArticleError(ValueError):
    """The folder is unusable; the message names the file, the article and the field."""


@dataclass(frozen=True)
class Article:
    """One article as written. ``categories[0]`` is its main category; ``valid_to`` is the
    last day it is in force (None: no end)."""

    article_id: str
    title_zh: str
    title_en: str
    categories: tuple[str, ...]
    agencies: tuple[str, ...]
    valid_from: date
    valid_to: date | None
    keywords: tuple[str, ...]
    body: str
    source: str = ""  # the file's name, for messages

    def status(self, today: date) -> str:
        """``valid`` on ``today``, else ``expired`` or ``not_yet_valid``."""
        if today < self.valid_from:
            return NOT_YET_VALID
        if self.valid_to is not None and today > self.valid_to:
            return EXPIRED
        return VALID

    @property
    def plain_body(self) -> str:
        """The body as text to read and search: Markdown marks dropped, one line."""
        return plain_text(self.body)


_MARKS = (
    (re.compile(r"\[([^\]]*)\]\([^)]*\)"), r"\1"),       # [text](target) -> text
    (re.compile(r"^\s{0,3}#{1,6}\s*", re.M), ""),        # headings
    (re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+", re.M), ""),  # list items
    (re.compile(r"^\s*>\s?", re.M), ""),                 # quotes
    (re.compile(r"(\*\*|__|`)"), ""),                    # bold, code
    (re.compile(r"^\s*\|?[-:| ]+\|[-:| ]*$", re.M), ""),  # table rules
    (re.compile(r"\s*\|\s*"), " "),                      # table cells
    (re.compile(r"\s+"), " "),
)


def plain_text(markdown: str) -> str:
    """What a reader sees of ``markdown``, on one line (for snippets and search)."""
    text = markdown
    for pattern, replacement in _MARKS:
        text = pattern.sub(replacement, text)
    return text.strip()


# -- loading ------------------------------------------------------------------------------

def load_articles(folder: Path, directory: Directory,
                  known_categories: Collection[str] | None = None) -> tuple[Article, ...]:
    """Every ``*.md`` file of ``folder`` (not its subfolders), by id. Raises ArticleError
    for the first problem: an unreadable file, a bad field, an agency not in ``directory``,
    a category not in ``known_categories`` (when given: the work-order taxonomy), two
    articles with one id, or a folder with no article at all."""
    if not folder.is_dir():
        raise ArticleError(f"{folder}: the knowledge base folder does not exist")
    paths = sorted(p for p in folder.iterdir() if p.suffix == ".md" and p.is_file())
    if not paths:
        raise ArticleError(f"{folder}: no article (*.md) in the knowledge base folder")
    agencies = directory.ids
    categories = frozenset(known_categories) if known_categories is not None else None
    seen: dict[str, str] = {}
    articles = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise ArticleError(f"{path}: cannot read the article: {exc}") from exc
        article = parse_article(text, str(path), agencies, categories)
        if article.article_id in seen:
            raise ArticleError(f"{path}: article {article.article_id}: field 'id' is also the id of "
                               f"{seen[article.article_id]}")
        seen[article.article_id] = str(path)
        articles.append(article)
    return tuple(sorted(articles, key=lambda a: a.article_id))


def parse_article(text: str, where: str, agency_ids: Collection[str],
                  known_categories: Collection[str] | None = None) -> Article:
    """One article from its file's text; ``where`` names the file in messages."""
    source = Path(where).name
    meta, body = _split(text, where)
    article_id = meta.get("id")
    if not isinstance(article_id, str) or not ARTICLE_ID.fullmatch(article_id):
        raise ArticleError(f"{where}: field 'id' {article_id!r} must be 3-64 lower-case letters, digits "
                           "or '-', a letter first")
    if article_id in RESERVED_IDS:
        raise ArticleError(f"{where}: field 'id' {article_id!r} is reserved (an API path)")
    where = f"{where}: article {article_id}"
    unknown = sorted(map(str, set(meta) - _FIELDS))
    if unknown:
        raise ArticleError(f"{where}: unknown field(s) {', '.join(unknown)} (allowed: {', '.join(sorted(_FIELDS))})")
    missing = [name for name in _REQUIRED if meta.get(name) is None]
    if missing:
        raise ArticleError(f"{where}: missing field(s) {', '.join(missing)}")
    title_zh, title_en = _title(meta["title"], where)
    categories = _words(meta["categories"], f"{where}: field 'categories'", minimum=1)
    for category in categories:
        if not _CATEGORY.fullmatch(category):
            raise ArticleError(f"{where}: field 'categories': {category!r} is not a category code or word "
                               "(letters, digits, '_', '.', '-'; at most 40)")
        if known_categories is not None and category not in known_categories:
            raise ArticleError(f"{where}: field 'categories': {category!r} is not in the taxonomy")
    agencies = _words(meta["agencies"], f"{where}: field 'agencies'", minimum=0)
    strangers = [a for a in agencies if a not in agency_ids]
    if strangers:
        raise ArticleError(f"{where}: field 'agencies': {', '.join(strangers)} not in the agency directory")
    valid_from = _day(meta["valid_from"], f"{where}: field 'valid_from'")
    valid_to = None if meta.get("valid_to") is None else _day(meta["valid_to"], f"{where}: field 'valid_to'")
    if valid_to is not None and valid_to < valid_from:
        raise ArticleError(f"{where}: field 'valid_to' {valid_to} is before valid_from {valid_from}")
    keywords = _words(meta["keywords"], f"{where}: field 'keywords'", minimum=1)
    if not body.strip():
        raise ArticleError(f"{where}: the body (after the front matter) is empty")
    if _BODY_CONTROL.search(body):
        raise ArticleError(f"{where}: the body holds a control character (only tabs and new lines may be there)")
    if len(body) > MAX_BODY:
        raise ArticleError(f"{where}: the body has {len(body)} characters (at most {MAX_BODY})")
    return Article(article_id, title_zh, title_en, categories, agencies, valid_from, valid_to, keywords,
                   body.strip() + "\n", source)


def _split(text: str, where: str) -> tuple[dict[str, Any], str]:
    lines = text.replace("\r\n", "\n").split("\n")
    if not lines or lines[0].strip() != "---":
        raise ArticleError(f"{where}: an article starts with a front matter: a line '---', YAML, a line '---'")
    end = next((i for i, line in enumerate(lines[1:], 1) if line.strip() == "---"), None)
    if end is None:
        raise ArticleError(f"{where}: the front matter has no closing '---' line")
    try:
        meta = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError as exc:
        raise ArticleError(f"{where}: the front matter is not YAML: {exc}") from exc
    if not isinstance(meta, dict):
        raise ArticleError(f"{where}: the front matter must be a mapping of fields")
    return meta, "\n".join(lines[end + 1:])


def _line(value: Any, where: str, limit: int) -> str:
    if isinstance(value, (int, float, date)):  # YAML read 2026 as a number: the text was meant
        raise ArticleError(f"{where} is {value!r}, not a text: quote it (\"{value}\")")
    if not isinstance(value, str) or not value.strip():
        raise ArticleError(f"{where} must be a non-empty text")
    if _CONTROL.search(value) or len(value) > limit:
        raise ArticleError(f"{where} must be one line of at most {limit} characters")
    return value.strip()


def _title(raw: Any, where: str) -> tuple[str, str]:
    if not isinstance(raw, dict) or set(raw) != {"zh", "en"}:
        raise ArticleError(f"{where}: field 'title' must be {{zh: ..., en: ...}}, both and nothing else")
    return _line(raw["zh"], f"{where}: field 'title.zh'", 120), _line(raw["en"], f"{where}: field 'title.en'", 200)


def _words(raw: Any, where: str, minimum: int) -> tuple[str, ...]:
    if not isinstance(raw, list):
        raise ArticleError(f"{where} must be a list")
    words = tuple(_line(item, f"{where}[{i}]", 40) for i, item in enumerate(raw))
    if len(words) < minimum:
        raise ArticleError(f"{where} must list at least {minimum}")
    if len(set(words)) != len(words):
        raise ArticleError(f"{where} lists an entry twice")
    return words


def _day(raw: Any, where: str) -> date:
    if isinstance(raw, datetime):  # YAML reads "2025-01-01 08:00" as a time: a day is wanted
        raise ArticleError(f"{where}: {raw} is a time; give a day, YYYY-MM-DD")
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw.strip())
        except ValueError:
            pass
    raise ArticleError(f"{where}: {raw!r} is not a day (YYYY-MM-DD)")
