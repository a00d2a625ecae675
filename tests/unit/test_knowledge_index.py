"""knowledge.index on a real SQLite file (FTS5 trigram, and the plain-table fallback of an
old SQLite) and a real PostgreSQL database (pg_trgm; a throw-away database per module):
Chinese found by a two-character word and by a longer phrase, ranking, validity, filters,
suggestions, a rebuild after an article changed or went, and the same answers as the
in-memory base for the shipped articles."""
from __future__ import annotations

import shutil
import sqlite3
import threading
from datetime import date
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import Engine, inspect, text

from hotline.store.calls import make_engine
from knowledge.articles import EXPIRED, NOT_YET_VALID, VALID, ArticleError
from knowledge.index import SHAPE, KnowledgeIndex, KnowledgeUnavailable, SqlKnowledge
from knowledge.memory import InMemoryKnowledge
from knowledge.search import Hit, SearchQuery, search, suggest
from tests.fakes_knowledge import DIRECTORY, SHIPPED, TODAY, sample_folder, shipped_articles, write_article
from tests.unit.test_records_store import PG_DOWN, fresh_pg_database

BACKENDS = ["sqlite", "sqlite-no-trigram", "postgresql"]


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with fresh_pg_database() as url:
        yield url


def _engine(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Engine, bool | None]:
    if request.param == "postgresql":
        engine = make_engine(request.getfixturevalue("pg_url"))
        with engine.begin() as conn:  # the module's tests share the database: start from no index
            for table in ("kb_tags", "kb_articles", "kb_fts"):
                conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
        return engine, None
    engine = make_engine(f"sqlite:///{tmp_path / 'db' / 'hotline.sqlite3'}")
    return engine, (False if request.param == "sqlite-no-trigram" else None)


@pytest.fixture(params=BACKENDS)
def kb(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlKnowledge]:
    """A SqlKnowledge over a copy of the sample folder, rebuilt once."""
    engine, trigram = _engine(request, tmp_path)
    knowledge = SqlKnowledge(engine, sample_folder(tmp_path / "articles"), DIRECTORY, trigram=trigram)
    assert knowledge.rebuild() == 8
    try:
        yield knowledge
    finally:
        engine.dispose()


def ids(hits: list[Hit]) -> list[str]:
    return [h.article.article_id for h in hits]


def find(kb: SqlKnowledge, words: str = "", **kw: Any) -> list[str]:
    return ids(kb.index.search(SearchQuery(kw.pop("today", TODAY), words, **kw)))


# -- Chinese, short and long --------------------------------------------------------------

def test_a_two_character_word_finds_its_article(kb: SqlKnowledge) -> None:
    assert find(kb, "社保") == ["shebao-card"]
    assert find(kb, "供暖") == ["heating-repair", "heating-history"]  # title hit first
    assert find(kb, "补办") == ["shebao-card"]
    assert find(kb, "燃") == ["gas-general", "gas-leak"]  # even one character


def test_a_longer_phrase_finds_its_article(kb: SqlKnowledge) -> None:
    assert find(kb, "供暖不热") == ["heating-repair"]
    assert find(kb, "社保卡补办") == ["shebao-card"]
    assert find(kb, "供暖不冷") == []
    assert find(kb, "热力集团 供暖不热") == ["heating-repair"]  # every term, long ones and short ones
    assert find(kb, "热力集团 历史") == ["heating-history"]


def test_english_is_found_whatever_its_case_or_width(kb: SqlKnowledge) -> None:
    assert find(kb, "GAS LEAK") == ["gas-leak"]
    assert find(kb, "ｗｉｎｄｏｗｓ") == ["gas-leak"]
    assert find(kb, "windows switches") == ["gas-leak"]


def test_sqlite_uses_the_trigram_index_where_it_can(kb: SqlKnowledge, request: pytest.FixtureRequest) -> None:
    expected = {"sqlite": sqlite3.sqlite_version_info >= (3, 34), "sqlite-no-trigram": False, "postgresql": False}
    assert kb.index.uses_fts() is expected[request.node.callspec.params["kb"]]


# -- validity, filters, snippets ----------------------------------------------------------

def test_expired_and_future_articles_are_hidden_unless_asked(kb: SqlKnowledge) -> None:
    hits = kb.index.search(SearchQuery(TODAY, "缴费基数"))
    assert hits == []
    hits = kb.index.search(SearchQuery(TODAY, "缴费基数", include_expired=True))
    assert [(h.article.article_id, h.status) for h in hits] == [("shebao-next", NOT_YET_VALID),
                                                                ("shebao-old", EXPIRED)]
    assert find(kb, "缴费基数", today=date(2025, 12, 31)) == ["shebao-old"]  # its last day
    assert find(kb, "缴费基数", today=date(2027, 1, 1)) == ["shebao-next"]


def test_filters_by_category_and_agency(kb: SqlKnowledge) -> None:
    assert find(kb, category="03") == ["gas-general", "gas-leak", "gas-sector"]
    assert find(kb, category="03.02") == ["gas-general", "gas-leak"]
    assert find(kb, category="03.0") == []
    assert find(kb, "燃气", agency="gas") == ["gas-general", "gas-leak"]
    assert find(kb, "燃气", agency="heating") == []
    assert find(kb, "社保", agency="social_insurance", include_expired=True) == ["shebao-card", "shebao-next",
                                                                                "shebao-old"]


def test_a_hit_carries_the_snippet_and_where_it_matched(kb: SqlKnowledge) -> None:
    [hit] = kb.index.search(SearchQuery(TODAY, "热"))[:1]
    assert hit.article.article_id == "heating-repair" and hit.matched_in == ("title", "body")
    assert "供暖不热" in hit.snippet and "**" not in hit.snippet
    whole = kb.index.article("heating-repair")
    assert whole is not None and whole.body.startswith("## 答复口径") and whole.title_en == "Radiator not warm"
    assert kb.index.article("nothing-here") is None


def test_odd_characters_in_a_query_are_only_text(kb: SqlKnowledge) -> None:
    for words in ('%', '_', '"', "'", "\\", "*", "社保%", 'a"b', "NEAR(a b)", "AND(", "- ^", "%_%", "供暖'--"):
        assert find(kb, words) == [], words
    write_article(kb.folder, "odd-chars", "折扣100%_真实，引号\"与'单引号'以及\\反斜杠。")
    kb.rebuild()
    for words in ("100%_", '引号"与', "'单引号'", "\\反斜杠", "%"):
        assert find(kb, words) == ["odd-chars"], words


def test_suggest_for_a_calls_category(kb: SqlKnowledge) -> None:
    assert ids(kb.index.suggest("03.02.05", TODAY)) == ["gas-leak", "gas-general", "gas-sector"]
    assert ids(kb.index.suggest("03.02", TODAY)) == ["gas-general", "gas-sector", "gas-leak"]
    assert ids(kb.index.suggest("utilities", TODAY)) == ["heating-history", "heating-repair", "gas-general"]
    assert ids(kb.index.suggest("social_insurance", TODAY)) == ["shebao-card"]
    assert ids(kb.index.suggest("social_insurance", date(2027, 2, 1))) == ["shebao-next", "shebao-card"]
    assert ids(kb.index.suggest("03_02", TODAY)) == []


# -- rebuild ------------------------------------------------------------------------------

def test_a_rebuild_follows_a_changed_a_removed_and_a_new_article(kb: SqlKnowledge) -> None:
    write_article(kb.folder, "heating-repair", "室温不达标请报修。", title={"zh": "暖气报修", "en": "Radiator repair"},
                  keywords=["暖气"])
    (kb.folder / "shebao-card.md").unlink()
    write_article(kb.folder, "noise-at-night", "夜间噪音扰民请拨打110。", title={"zh": "噪音扰民", "en": "Noise"},
                  categories=["public_security"], agencies=["public_security"])
    assert kb.rebuild() == 8
    assert find(kb, "供暖不热") == []
    assert find(kb, "暖气报修") == ["heating-repair"]
    assert find(kb, "社保") == []
    assert kb.index.article("shebao-card") is None
    assert find(kb, "噪音") == ["noise-at-night"]
    assert ids(kb.index.suggest("public_security", TODAY)) == ["noise-at-night"]


def test_an_invalid_folder_leaves_the_index_as_it_was(kb: SqlKnowledge) -> None:
    write_article(kb.folder, "broken", agencies=["mars_base"])
    (kb.folder / "shebao-card.md").unlink()
    with pytest.raises(ArticleError, match="broken.md: article broken: field 'agencies'"):
        kb.rebuild()
    assert find(kb, "社保") == ["shebao-card"]
    assert kb.index.count() == 8


def test_the_directory_in_force_is_asked_at_each_rebuild(tmp_path: Path) -> None:
    from outbound.agencies import Directory
    directory = [DIRECTORY]
    engine = make_engine(f"sqlite:///{tmp_path / 'kb.sqlite3'}")
    knowledge = SqlKnowledge(engine, sample_folder(tmp_path / "a"), lambda: directory[0])
    assert knowledge.rebuild() == 8
    directory[0] = Directory(tuple(a for a in DIRECTORY.agencies if a.agency_id != "gas"))
    with pytest.raises(ArticleError, match="field 'agencies': gas not in the agency directory"):
        knowledge.rebuild()
    engine.dispose()


# -- the tables ---------------------------------------------------------------------------

def test_the_index_makes_its_own_kb_tables_idempotently(kb: SqlKnowledge) -> None:
    kb.index.create()
    kb.index.create()
    tables = set(inspect(kb.index.engine).get_table_names())
    assert {"kb_articles", "kb_tags"} <= tables
    assert kb.rebuild() == 8
    assert kb.index.count() == 8
    with kb.index.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM kb_tags WHERE kind = 'agency'")).scalar_one() == 7
        if kb.index.postgres:
            indexes = conn.execute(text("SELECT indexdef FROM pg_indexes WHERE tablename = 'kb_articles'")).scalars()
            assert any("gin_trgm_ops" in d for d in indexes)
        else:
            assert conn.execute(text("SELECT count(*) FROM kb_fts")).scalar_one() == 8


def test_tables_of_another_shape_are_made_anew(kb: SqlKnowledge) -> None:
    with kb.index.engine.begin() as conn:  # as an older version of the index left them
        conn.execute(text("UPDATE kb_meta SET value = 'older' WHERE name = 'shape'"))
        conn.execute(text("DROP TABLE kb_tags"))
        conn.execute(text("CREATE TABLE kb_tags (article_id TEXT, tag TEXT)"))
    again = SqlKnowledge(kb.index.engine, kb.folder, DIRECTORY)
    assert again.rebuild() == 8
    assert ids(again.index.search(SearchQuery(TODAY, "燃气", agency="gas"))) == ["gas-general", "gas-leak"]
    with kb.index.engine.connect() as conn:
        assert conn.execute(text("SELECT value FROM kb_meta WHERE name = 'shape'")).scalar_one() == SHAPE


def test_reads_before_any_rebuild_answer_nothing(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    index = KnowledgeIndex(engine)
    assert index.search(SearchQuery(TODAY, "社保")) == [] and index.suggest("utilities", TODAY) == []
    engine.dispose()


def test_a_database_that_does_not_answer_is_unavailable() -> None:
    engine = make_engine(PG_DOWN)
    with pytest.raises(KnowledgeUnavailable) as caught:
        KnowledgeIndex(engine).search(SearchQuery(TODAY, "社保"))
    assert isinstance(caught.value, ConnectionError)  # the API answers 503 for it
    engine.dispose()


def test_two_controllers_rebuilding_one_postgresql_index_at_once(pg_url: str, tmp_path: Path) -> None:
    folder = sample_folder(tmp_path / "articles")
    engines = [make_engine(pg_url) for _ in range(3)]
    with engines[0].begin() as conn:
        for table in ("kb_tags", "kb_articles"):
            conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
    errors: list[BaseException] = []

    def run(engine: Engine) -> None:
        try:
            for _ in range(3):
                SqlKnowledge(engine, folder, DIRECTORY).rebuild()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert KnowledgeIndex(engines[0]).count() == 8
    for engine in engines:
        engine.dispose()


# -- the same answers as the in-memory base ----------------------------------------------

QUERIES = ["", "社保", "社保卡", "供暖", "供暖不热", "公积金 提取", "医保", "欠薪", "燃气", "gas", "GAS LEAK", "12345",
           "噪音", "入学", "营商环境", "的", "市民", "转办 热力集团", "%", "App", "2027"]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shipped(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlKnowledge]:
    if request.param == "postgresql":
        with fresh_pg_database() as url:
            engine = make_engine(url)
            knowledge = SqlKnowledge(engine, SHIPPED, DIRECTORY)
            knowledge.rebuild()
            yield knowledge
            engine.dispose()
    else:
        engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('shipped') / 'kb.sqlite3'}")
        knowledge = SqlKnowledge(engine, SHIPPED, DIRECTORY)
        knowledge.rebuild()
        yield knowledge
        engine.dispose()


def _view(hits: list[Hit]) -> list[tuple[str, str, str, tuple[str, ...]]]:
    return [(h.article.article_id, h.status, h.snippet, h.matched_in) for h in hits]


@pytest.mark.parametrize("include_expired", [False, True])
def test_the_index_answers_what_the_in_memory_base_answers(shipped: SqlKnowledge, include_expired: bool) -> None:
    articles = shipped_articles()
    answered = 0
    for words in QUERIES:
        for category, agency in (("", ""), ("04", ""), ("", "social_insurance"), ("02.01.02", "social_insurance")):
            query = SearchQuery(TODAY, words, category=category, agency=agency, include_expired=include_expired,
                                limit=50)
            expected = _view(search(articles, query))
            assert _view(shipped.index.search(query)) == expected, (words, category, agency)
            answered += len(expected)
    for category in ("04", "04.04.01", "02", "02.03.01", "11.01.01", "12", "05.01.01", "03.01", "x"):
        expected = _view(suggest(articles, category, TODAY, 20))
        assert _view(shipped.index.suggest(category, TODAY, 20)) == expected, category
        answered += len(expected)
    assert answered > 300  # the comparison is about real answers, not empty lists
    assert shipped.index.article("gas-leak-emergency") == next(
        a for a in articles if a.article_id == "gas-leak-emergency")


async def test_the_async_port_methods_run_the_index(shipped: SqlKnowledge) -> None:
    memory = InMemoryKnowledge.from_folder(SHIPPED, DIRECTORY)
    query = SearchQuery(TODAY, "供暖")
    assert _view(await shipped.search(query)) == _view(await memory.search(query))
    assert await shipped.article("heating-not-warm") == await memory.article("heating-not-warm")
    assert _view(await shipped.suggest("02.03", TODAY)) == _view(await memory.suggest("02.03", TODAY))
    assert ids(await shipped.search(query))[0] == "heating-not-warm"


def test_a_copy_of_the_shipped_folder_rebuilds_to_the_same_count(tmp_path: Path) -> None:
    shutil.copytree(SHIPPED, tmp_path / "articles")
    engine = make_engine(f"sqlite:///{tmp_path / 'kb.sqlite3'}")
    assert SqlKnowledge(engine, tmp_path / "articles", DIRECTORY).rebuild() == len(shipped_articles())
    engine.dispose()
