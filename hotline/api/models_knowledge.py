"""The knowledge base's answer bodies (pydantic), and their conversions from the port's
values (``knowledge.articles.Article``, ``knowledge.search.Hit``).

Why a module of their own: the knowledge routes are read-only and share nothing with the
call and agent bodies of ``hotline.api.models`` but the patterns below. Days are ISO dates
(``2026-11-30``): an article is in force for whole days, local to the city.
"""
from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from knowledge.articles import Article
from knowledge.search import Hit

ARTICLE_ID = r"^[a-z][a-z0-9-]{2,63}$"
Status = Literal["valid", "expired", "not_yet_valid"]
Where = Literal["title", "keywords", "body"]


class ArticleSummaryOut(BaseModel):
    article_id: str
    title_zh: str
    title_en: str
    categories: list[str] = Field(description="the first is the article's main category")
    agencies: list[str] = Field(description="agency ids of the directory (GET /api/v1/directory/{agency_id})")
    keywords: list[str]
    valid_from: date
    valid_to: date | None = Field(description="the last day in force; null: no end")
    status: Status = Field(description="on the server's local day")


class KnowledgeHitOut(ArticleSummaryOut):
    snippet: str = Field(description="the body around the first term found in it (its start when none is)")
    matched_in: list[Where] = Field(description="where the query's terms were found; empty without a query")

    @classmethod
    def of(cls, hit: Hit) -> "KnowledgeHitOut":
        return cls(**_summary(hit.article, hit.status), snippet=hit.snippet, matched_in=list(hit.matched_in))


class ArticleOut(ArticleSummaryOut):
    body: str = Field(description="the answer to read out, in Markdown")

    @classmethod
    def of(cls, article: Article, today: date) -> "ArticleOut":
        return cls(**_summary(article, article.status(today)), body=article.body)


def _summary(article: Article, status: str) -> dict[str, object]:
    return {"article_id": article.article_id, "title_zh": article.title_zh, "title_en": article.title_en,
            "categories": list(article.categories), "agencies": list(article.agencies),
            "keywords": list(article.keywords), "valid_from": article.valid_from, "valid_to": article.valid_to,
            "status": status}
