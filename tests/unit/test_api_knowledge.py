"""The knowledge routes: any logged-in user searches, reads and gets suggestions; the
answers' shapes; validation; the default base (the shipped articles, read at first use);
the SQL base behind the same routes (real SQLite), and 503 when its database is gone."""
from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, AsyncIterator

import httpx
import pytest

from hotline.api.app import make_app
from hotline.api.deps import ApiDeps
from hotline.settings import PROJECT_ROOT
from hotline.store.calls import make_engine
from knowledge.articles import ArticleError
from knowledge.index import SqlKnowledge
from knowledge.memory import InMemoryKnowledge, shipped_knowledge
from knowledge.search import SearchQuery
from tests.fakes_api import World, bearer, client, log_in, three_role_world
from tests.fakes_knowledge import DIRECTORY, SHIPPED, TODAY, sample_folder, shipped_articles
from tests.unit.test_architecture import BLOCKED
from tests.unit.test_records_store import PG_DOWN

ROUTES = ["/api/v1/knowledge?q=社保", "/api/v1/knowledge/suggest?category=04.04.01",
          "/api/v1/knowledge/heating-not-warm"]


@pytest.fixture
def world() -> World:
    w = three_role_world()
    assert w.local_now.date() == TODAY
    return w


async def _get(app: Any, path: str, user: str | None = "alice", **params: Any) -> tuple[int, Any]:
    async with client(app) as http:
        headers = bearer(await log_in(http, user)) if user else {}
        answer = await http.get(path, params=params or None, headers=headers)
    return answer.status_code, answer.json()


@pytest.fixture
async def http(world: World) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    async with client(make_app(world.deps())) as c:
        yield c, bearer(await log_in(c, "alice"))


async def get(http: tuple[httpx.AsyncClient, dict[str, str]], path: str, **params: Any) -> tuple[int, Any]:
    c, headers = http
    answer = await c.get(f"/api/v1/knowledge{path}", params=params or None, headers=headers)
    return answer.status_code, answer.json()


# -- who ----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ROUTES)
async def test_every_role_may_read_the_knowledge_base_and_nobody_anonymous(world: World, path: str) -> None:
    app = make_app(world.deps())
    for user in ("alice", "sam", "ada"):
        status, body = await _get(app, path, user)
        assert status == 200 and body, (user, body)
    status, body = await _get(app, path, None)
    assert (status, body["error"]) == (401, "not_authenticated")


def test_the_document_declares_the_routes_for_every_role(world: World) -> None:
    paths = make_app(world.deps()).openapi()["paths"]
    for path in ("/api/v1/knowledge", "/api/v1/knowledge/suggest", "/api/v1/knowledge/{article_id}"):
        access = paths[path]["get"]["x-hotline-access"]
        assert sorted(access["roles"]) == ["admin", "agent", "supervisor"] and not access["own_agent"], path


# -- what ---------------------------------------------------------------------------------

async def test_a_search_answers_hits_best_first_with_snippets(http: Any) -> None:
    status, body = await get(http, "", q="供暖不热")
    assert status == 200
    first = body[0]
    assert first["article_id"] == "heating-not-warm"
    assert set(first) == {"article_id", "title_zh", "title_en", "categories", "agencies", "keywords", "valid_from",
                          "valid_to", "status", "snippet", "matched_in"}
    assert (first["title_zh"], first["status"], first["agencies"]) == ("供暖不热报修", "valid", ["heating"])
    assert first["matched_in"][0] == "title" and first["valid_from"] == "2024-11-01" and first["valid_to"] is None
    status, body = await get(http, "", q="社保")  # two characters
    assert status == 200 and "shebao-card-financial-activation" in [h["article_id"] for h in body]
    assert all("社保" in h["snippet"] or "title" in h["matched_in"] for h in body)


async def test_expired_articles_only_when_asked_with_their_status(http: Any) -> None:
    assert (await get(http, "", q="义务教育"))[1] == []
    status, body = await get(http, "", q="义务教育", include_expired="true")
    assert {(h["article_id"], h["status"]) for h in body} == {("school-enrolment-2026", "expired"),
                                                              ("school-enrolment-2027", "not_yet_valid")}


async def test_filters_and_limit(http: Any) -> None:
    status, body = await get(http, "", q="公积金", agency="housing_fund", limit="2")
    assert status == 200 and len(body) == 2 and all("housing_fund" in h["agencies"] for h in body)
    status, body = await get(http, "", category="11")  # a class keeps its subclasses' and items' articles
    assert status == 200 and len(body) >= 2 and all(any(c.startswith("11.") for c in h["categories"]) for h in body)
    assert (await get(http, "", q="公积金", category="traffic"))[1] == []


async def test_one_article_whole_with_its_status(http: Any, world: World) -> None:
    status, body = await get(http, "/gas-leak-emergency")
    assert status == 200 and body["status"] == "valid" and body["body"].startswith("## 紧急口径")
    assert "不要开关任何电器" in body["body"]
    status, body = await get(http, "/school-enrolment-2027")
    assert (status, body["status"]) == (200, "not_yet_valid")
    world.local_now = datetime(2027, 4, 1, 9, 0)  # the server's day decides
    assert (await get(http, "/school-enrolment-2027"))[1]["status"] == "valid"
    status, body = await get(http, "/no-such-article")
    assert (status, body["error"]) == (404, "not_found")


async def test_suggestions_for_a_calls_category(http: Any) -> None:
    status, body = await get(http, "/suggest", category="04", limit="20")  # utilities
    assert status == 200
    found = [h["article_id"] for h in body]
    assert "heating-not-warm" in found and "gas-leak-emergency" in found
    assert "heating-season-extension-2026" not in found  # expired
    assert all(h["status"] == "valid" and h["matched_in"] == [] for h in body)
    assert len((await get(http, "/suggest", category="04"))[1]) == 5
    status, body = await get(http, "/suggest", category="04.04.01")  # a call filed under 供暖不热
    assert [h["article_id"] for h in body] == ["heating-not-warm"]


@pytest.mark.parametrize(("path", "params"), [
    ("", {"limit": "0"}), ("", {"limit": "51"}), ("", {"q": "社保\n"}), ("", {"q": "x" * 101}),
    ("", {"agency": "Not An Id"}), ("", {"category": "a b"}), ("", {"include_expired": "perhaps"}),
    ("/suggest", {}), ("/suggest", {"category": ""}), ("/Bad_Id", {}),
])
async def test_invalid_requests_are_422(http: Any, path: str, params: dict[str, str]) -> None:
    status, body = await get(http, path, **params)
    assert (status, body["error"]) == (422, "invalid_request"), body


# -- the bases behind the routes ------------------------------------------------------------

def test_building_apideps_reads_nothing_until_the_first_question(tmp_path: Path) -> None:
    deps = World().deps()
    assert isinstance(deps.knowledge, InMemoryKnowledge)
    loads: list[int] = []
    lazy = InMemoryKnowledge(load=lambda: loads.append(1) or shipped_articles())
    assert loads == []
    missing = shipped_knowledge(folder=tmp_path / "nowhere")  # no error yet: nothing read

    async def ask() -> None:
        await lazy.search(SearchQuery(TODAY, "社保"))
        await lazy.suggest("utilities", TODAY)
        with pytest.raises(ArticleError, match="does not exist"):
            await missing.search(SearchQuery(TODAY, "社保"))
    asyncio.run(ask())
    assert loads == [1]


async def test_the_sql_base_answers_the_routes_like_the_default(world: World, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'kb.sqlite3'}")
    sql = SqlKnowledge(engine, SHIPPED, DIRECTORY)
    sql.rebuild()
    default_app = make_app(world.deps())
    sql_app = make_app(dataclasses.replace(world.deps(), knowledge=sql))
    try:
        for path, params in (("/api/v1/knowledge", {"q": "医保"}), ("/api/v1/knowledge", {"q": "供暖 报修"}),
                             ("/api/v1/knowledge", {"q": "入学", "include_expired": "true"}),
                             ("/api/v1/knowledge/suggest", {"category": "02.03"}),
                             ("/api/v1/knowledge/wage-arrears-complaint", {})):
            expected = await _get(default_app, path, **params)
            assert expected[0] == 200 and expected[1]
            assert await _get(sql_app, path, **params) == expected, (path, params)
    finally:
        engine.dispose()


async def test_a_sql_base_whose_database_is_gone_answers_503(world: World, tmp_path: Path) -> None:
    engine = make_engine(PG_DOWN)
    app = make_app(dataclasses.replace(world.deps(), knowledge=SqlKnowledge(engine, sample_folder(tmp_path),
                                                                           DIRECTORY)))
    async with client(app) as http:
        headers = bearer(await log_in(http, "sam"))
        for path in ROUTES:
            answer = await http.get(path, headers=headers)
            assert (answer.status_code, answer.json()["error"]) == (503, "unavailable"), path
            assert answer.headers["retry-after"] == "5"
    engine.dispose()


def test_apideps_built_the_old_way_still_works() -> None:
    w = World()
    deps = ApiDeps(agents=w.agents, calls=w.calls, events=w.events, users=w.users,
                   directory=lambda: DIRECTORY, roster_ids=lambda: ("1001",))
    assert isinstance(deps.knowledge, InMemoryKnowledge)
    assert deps.knowledge is not World().deps().knowledge  # one per ApiDeps: nothing shared


def test_the_port_and_the_pure_modules_import_with_io_and_web_libraries_blocked() -> None:
    blocked = BLOCKED + ["fastapi", "starlette", "pydantic", "uvicorn", "argon2", "httpx"]
    program = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {blocked!r}:
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
import hotline.api.ports_knowledge, knowledge.articles, knowledge.search, knowledge.memory
print('ok')
"""
    done = subprocess.run([sys.executable, "-c", program], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]
