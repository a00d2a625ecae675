"""The call takers' knowledge base (知识库): search the policy answers, read one, and the
articles for a call's category (the screen pop). Any logged-in user; read only.

"Today" is the server's local day (``ApiDeps.local_now``): an article is answered only on
the days it is in force, unless the search asks for the expired ones too.
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from hotline.api.auth import Allow, Principal
from hotline.api.config import ApiConfig
from hotline.api.deps import ApiRuntime, runtime
from hotline.api.errors import error_responses
from hotline.api.models import AGENCY_ID, LINE
from hotline.api.models_knowledge import ARTICLE_ID, ArticleOut, KnowledgeHitOut
from hotline.api.ports import NotFound
from hotline.api.ports_knowledge import SearchQuery

Api = Annotated[ApiRuntime, Depends(runtime)]
AnyUser = Annotated[Principal, Depends(Allow())]
CATEGORY = r"^[\w.\-]*$"  # a taxonomy code (03.02.05) or a domain word (utilities)


def router(_config: ApiConfig) -> APIRouter:
    r = APIRouter(prefix="/knowledge", tags=["knowledge"])

    @r.get("", response_model=list[KnowledgeHitOut], responses=error_responses(401, 422, 503))
    async def search(
        _who: AnyUser, api: Api,
        q: Annotated[str, Query(max_length=100, pattern=LINE,
                                description="words, all in the article's titles, keywords or body (substrings: "
                                            "a two-character word such as 社保 is enough)")] = "",
        category: Annotated[str, Query(max_length=40, pattern=CATEGORY,
                                       description="a category; a code keeps the codes below it too")] = "",
        agency: Annotated[str | None, Query(pattern=AGENCY_ID, description="an agency id of the directory")] = None,
        include_expired: Annotated[bool, Query(description="also articles out of force today (expired or "
                                                           "not yet valid), after the valid ones")] = False,
        limit: Annotated[int, Query(ge=1, le=50)] = 20,
    ) -> list[KnowledgeHitOut]:
        """Articles matching every word of ``q``, best first: title hits before keyword and
        body hits; each with a snippet of its body around the first word found."""
        query = SearchQuery(today=api.deps.local_now().date(), text=q, category=category, agency=agency or "",
                            include_expired=include_expired, limit=limit)
        return [KnowledgeHitOut.of(hit) for hit in await api.deps.knowledge.search(query)]

    @r.get("/suggest", response_model=list[KnowledgeHitOut], responses=error_responses(401, 422, 503))
    async def suggest(
        _who: AnyUser, api: Api,
        category: Annotated[str, Query(min_length=1, max_length=40, pattern=CATEGORY,
                                       description="the call's category")],
        limit: Annotated[int, Query(ge=1, le=20)] = 5,
    ) -> list[KnowledgeHitOut]:
        """The articles in force for a call of ``category`` (the screen pop), best first:
        filed under it exactly, then under a code above it, then below it."""
        found = await api.deps.knowledge.suggest(category, api.deps.local_now().date(), limit)
        return [KnowledgeHitOut.of(hit) for hit in found]

    @r.get("/{article_id}", response_model=ArticleOut, responses=error_responses(401, 404, 422, 503))
    async def article(_who: AnyUser, api: Api,
                      article_id: Annotated[str, Path(pattern=ARTICLE_ID)]) -> ArticleOut:
        """One article, in force or not (its ``status`` says), with its whole body."""
        found = await api.deps.knowledge.article(article_id)
        if found is None:
            raise NotFound(f"no article {article_id!r} in the knowledge base")
        return ArticleOut.of(found, api.deps.local_now().date())

    return r
