"""``GET /health``: whether the API's backing services answer. Public: a load balancer or a
monitoring probe asks it without an account. Always 200; ``ok`` says whether all answer."""
from __future__ import annotations

import asyncio
from typing import Annotated, Awaitable, Callable

from fastapi import APIRouter, Depends

from hotline.api.config import ApiConfig
from hotline.api.deps import ApiRuntime, runtime
from hotline.api.models import HealthOut

PROBE_TIMEOUT = 2.0


async def _answers(probe: Callable[[], Awaitable[bool]]) -> bool:
    try:
        return bool(await asyncio.wait_for(probe(), PROBE_TIMEOUT))
    except Exception:  # a probe that fails or hangs means "does not answer"
        return False


def router(_config: ApiConfig) -> APIRouter:
    r = APIRouter(tags=["health"])

    @r.get("/health", response_model=HealthOut)
    async def health(api: Annotated[ApiRuntime, Depends(runtime)]) -> HealthOut:
        """No login needed. ``redis``: the live state answers; ``db``: the database does."""
        redis_ok, db_ok = await asyncio.gather(
            _answers(api.deps.agents.ping), _answers(lambda: asyncio.to_thread(api.deps.users.ping)))
        return HealthOut(ok=redis_ok and db_ok, redis=redis_ok, db=db_ok)

    return r
