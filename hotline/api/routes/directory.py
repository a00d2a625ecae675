"""The agency directory, for a call taker looking for whom to bring into a call (any
logged-in user). Read from the configuration in force (``hotline reload`` swaps it)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from hotline.api.auth import Allow, Principal
from hotline.api.config import ApiConfig
from hotline.api.deps import ApiRuntime, runtime
from hotline.api.errors import error_responses
from hotline.api.models import AGENCY_ID, AgencyOut
from hotline.api.ports import NotFound

Api = Annotated[ApiRuntime, Depends(runtime)]
AnyUser = Annotated[Principal, Depends(Allow())]


def router(_config: ApiConfig) -> APIRouter:
    r = APIRouter(prefix="/directory", tags=["directory"])

    @r.get("", response_model=list[AgencyOut], responses=error_responses(401, 422, 503))
    async def search(
        _who: AnyUser, api: Api,
        q: Annotated[str, Query(max_length=100, description="words, all in the agency's names, domains or "
                                                              "categories (case-insensitive)")] = "",
        domain: Annotated[str, Query(max_length=40, description="a business domain, e.g. utilities")] = "",
        category: Annotated[str, Query(max_length=100, description="one of an agency's categories, exactly")] = "",
    ) -> list[AgencyOut]:
        """Agencies matching every word of ``q`` and, if given, the domain and category."""
        now = api.deps.local_now()
        found = api.deps.directory().search(q, domain)
        return [AgencyOut.of(a, now) for a in found if not category or category in a.categories]

    @r.get("/{agency_id}", response_model=AgencyOut, responses=error_responses(401, 404, 422, 503))
    async def agency(_who: AnyUser, api: Api,
                     agency_id: Annotated[str, Path(pattern=AGENCY_ID)]) -> AgencyOut:
        """One agency, with the numbers that would be dialled now."""
        found = api.deps.directory().get(agency_id)
        if found is None:
            raise NotFound(f"no agency {agency_id!r} in the directory")
        return AgencyOut.of(found, api.deps.local_now())

    return r
