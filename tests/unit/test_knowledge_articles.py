"""knowledge.articles (the folder, loaded strictly) and knowledge.search (the pure rules):
the shipped articles load; every kind of bad file is refused with a message naming the
file, the article and the field; validity, matching, ranking, snippets and suggestions."""
from __future__ import annotations

import re
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from hotline.settings import PROJECT_ROOT
from knowledge.articles import (EXPIRED, NOT_YET_VALID, VALID, Article, ArticleError, load_articles,
                                plain_text)
from knowledge.search import SearchQuery, fold, search, snippet, suggest, terms
from workorders.taxonomy import load_taxonomy
from tests.fakes_knowledge import (DIRECTORY, SHIPPED, TODAY, article_text, sample_folder, shipped_articles,
                                   write_article)

CJK = re.compile(r"[\u4e00-\u9fff]")


# -- the shipped folder -------------------------------------------------------------------

def test_the_shipped_articles_load_and_cover_the_hotlines_topics() -> None:
    articles = shipped_articles()
    assert len(articles) >= 36
    assert len({a.article_id for a in articles}) == len(articles)
    for a in articles:
        assert CJK.search(a.title_zh) and CJK.search(a.body), a.article_id
        assert a.title_en.isascii() and a.title_en, a.article_id
        assert set(a.agencies) <= DIRECTORY.ids, a.article_id
        assert a.source == f"{a.article_id}.md"
    statuses = Counter(a.status(TODAY) for a in articles)
    assert statuses[VALID] >= 36 and statuses[EXPIRED] >= 2 and statuses[NOT_YET_VALID] >= 2, statuses
    titles = " ".join(a.title_zh for a in articles)
    for topic in ("社会保障卡", "公积金", "供暖不热", "燃气泄漏", "交通违法", "营商环境", "欠薪", "义务教育",
                  "异地就医", "物业", "噪音"):
        assert topic in titles, topic
    taxonomy = load_taxonomy(PROJECT_ROOT / "workorders" / "taxonomy.yaml", DIRECTORY)
    codes = {node.code for node in taxonomy.nodes}
    assert load_articles(SHIPPED, DIRECTORY, codes) == articles  # every category is a taxonomy code
    classes = {c.split(".")[0] for a in articles for c in a.categories}
    assert len(classes) >= 12, classes  # traffic, social insurance, public security, utilities, ...


def test_the_shipped_articles_hold_no_phone_number_but_the_emergency_ones() -> None:
    for a in shipped_articles():
        for number in re.findall(r"\d{3,}", a.body):
            if len(number) >= 5 and number not in ("12345",):
                assert not re.fullmatch(r"1[3-9]\d{9}|0\d{9,11}|\d{7,8}", number), (a.article_id, number)


# -- refusing bad files -------------------------------------------------------------------

BAD: list[tuple[str, dict[str, Any], str]] = [
    ("missing title", {"title": None}, r"article x-1: missing field\(s\) title"),
    ("missing valid_from", {"valid_from": None}, r"article x-1: missing field\(s\) valid_from"),
    ("unknown field", {"owner": "bob"}, r"article x-1: unknown field\(s\) owner"),
    ("bad id", {"id": "X 1"}, r"field 'id' 'X 1'"),
    ("reserved id", {"id": "suggest"}, r"field 'id' 'suggest' is reserved"),
    ("no en title", {"title": {"zh": "标题"}}, r"article x-1: field 'title' must be"),
    ("two-line title", {"title": {"zh": "标\n题", "en": "t"}}, r"field 'title.zh' must be one line"),
    ("unknown agency", {"agencies": ["heating", "mars_base"]}, r"article x-1: field 'agencies': mars_base not in"),
    ("no category", {"categories": []}, r"article x-1: field 'categories' must list at least 1"),
    ("odd category", {"categories": ["a b"]}, r"field 'categories': 'a b' is not a category"),
    ("category twice", {"categories": ["traffic", "traffic"]}, r"field 'categories' lists an entry twice"),
    ("no keyword", {"keywords": []}, r"field 'keywords' must list at least 1"),
    ("number keyword", {"keywords": [2026]}, r"field 'keywords'\[0\] is 2026, not a text: quote it"),
    ("bad day", {"valid_from": "2025-02-30"}, r"field 'valid_from': '2025-02-30' is not a day"),
    ("a time", {"valid_to": "2025-02-01 08:00:00"}, r"field 'valid_to': 2025-02-01 08:00:00 is a time"),
    ("ends first", {"valid_from": date(2025, 1, 2), "valid_to": date(2025, 1, 1)},
     r"field 'valid_to' 2025-01-01 is before valid_from 2025-01-02"),
]


@pytest.mark.parametrize(("fields", "message"), [pytest.param(f, m, id=i) for i, f, m in BAD])
def test_a_bad_field_is_refused_naming_file_article_and_field(tmp_path: Path, fields: dict[str, Any],
                                                              message: str) -> None:
    write_article(tmp_path, "ok-article")
    path = tmp_path / "x-1.md"
    text = article_text("x-1", **fields)
    if "valid_to" in fields and isinstance(fields["valid_to"], str):  # YAML must read it as a time, unquoted
        text = text.replace(f"'{fields['valid_to']}'", fields["valid_to"])
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ArticleError, match=message) as caught:
        load_articles(tmp_path, DIRECTORY)
    assert str(caught.value).startswith(str(path) + ": ")


@pytest.mark.parametrize(("text", "message"), [
    ("no front matter\n", "starts with a front matter"),
    ("---\nid: x-1\n", "no closing '---'"),
    ("---\nid: [x\n---\nbody\n", "not YAML"),
    ("---\n- a list\n---\nbody\n", "must be a mapping"),
    (article_text("x-1", body="   "), "article x-1: the body (after the front matter) is empty"),
    (article_text("x-1", body="bell \x07 in the body"), "article x-1: the body holds a control character"),
])
def test_a_malformed_file_is_refused(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "x-1.md").write_text(text, encoding="utf-8")
    with pytest.raises(ArticleError, match=re.escape(message)):
        load_articles(tmp_path, DIRECTORY)


def test_two_files_with_one_id_are_refused_naming_both(tmp_path: Path) -> None:
    write_article(tmp_path, "same-id")
    (tmp_path / "copy.md").write_text(article_text("same-id"), encoding="utf-8")
    with pytest.raises(ArticleError, match=r"same-id\.md: article same-id: field 'id' is also the id of .*copy\.md"):
        load_articles(tmp_path, DIRECTORY)


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x-1.md").write_bytes(article_text("x-1").encode("gb18030"))
    with pytest.raises(ArticleError, match=r"x-1\.md: cannot read the article"):
        load_articles(tmp_path, DIRECTORY)


def test_an_empty_or_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ArticleError, match="no article"):
        load_articles(tmp_path, DIRECTORY)
    with pytest.raises(ArticleError, match="does not exist"):
        load_articles(tmp_path / "nowhere", DIRECTORY)


def test_with_a_taxonomy_only_its_codes_are_categories(tmp_path: Path) -> None:
    write_article(tmp_path, "x-1", categories=["03.02.05"])
    assert load_articles(tmp_path, DIRECTORY, {"03.02.05"})[0].categories == ("03.02.05",)
    with pytest.raises(ArticleError, match=r"article x-1: field 'categories': '03.02.05' is not in the taxonomy"):
        load_articles(tmp_path, DIRECTORY, {"03.02.06"})


def test_days_may_be_written_as_quoted_text_and_other_files_are_ignored(tmp_path: Path) -> None:
    write_article(tmp_path, "x-1", valid_from="2025-01-01", valid_to="2025-12-31", agencies=[])
    (tmp_path / "notes.txt").write_text("not an article")
    (tmp_path / "drafts").mkdir()
    (tmp_path / "drafts" / "y.md").write_text("not read")
    [article] = load_articles(tmp_path, DIRECTORY)
    assert (article.valid_from, article.valid_to, article.agencies) == (date(2025, 1, 1), date(2025, 12, 31), ())


# -- validity -----------------------------------------------------------------------------

def _article(**kw: Any) -> Article:
    base: dict[str, Any] = dict(article_id="a-1", title_zh="标题", title_en="Title", categories=("utilities",),
                                agencies=(), valid_from=date(2025, 1, 1), valid_to=date(2025, 12, 31),
                                keywords=("词",), body="正文")
    base.update(kw)
    return Article(**base)


@pytest.mark.parametrize(("day", "status"), [
    (date(2024, 12, 31), NOT_YET_VALID), (date(2025, 1, 1), VALID), (date(2025, 12, 31), VALID),
    (date(2026, 1, 1), EXPIRED)])
def test_validity_includes_both_ends(day: date, status: str) -> None:
    assert _article().status(day) == status
    assert _article(valid_to=None).status(date(2099, 1, 1)) == VALID


# -- the pure rules -----------------------------------------------------------------------

def test_plain_text_drops_markdown_marks() -> None:
    assert plain_text("## 答复口径\n\n1. **挂失**：见[说明](x.md)\n- `a` | b |\n") == "答复口径 挂失：见说明 a b"


def test_folding_and_terms() -> None:
    assert fold("ＧＡＳ　Leak") == "gas leak"
    assert terms("  社保  Gas\x00LEAK 社保 ") == ("社保", "gas", "leak")
    assert terms("") == ()


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Article, ...]:
    return load_articles(sample_folder(tmp_path_factory.mktemp("kb")), DIRECTORY)


def ids(hits: Any) -> list[str]:
    return [h.article.article_id for h in hits]


def test_a_two_character_word_finds_its_article_and_title_hits_come_first(sample: tuple[Article, ...]) -> None:
    assert ids(search(sample, SearchQuery(TODAY, "供暖"))) == ["heating-repair", "heating-history"]
    assert ids(search(sample, SearchQuery(TODAY, "社保"))) == ["shebao-card"]
    assert ids(search(sample, SearchQuery(TODAY, "供暖不热"))) == ["heating-repair"]
    assert ids(search(sample, SearchQuery(TODAY, "供暖 历史"))) == ["heating-history"]  # every term


def test_expired_and_future_articles_only_on_request_after_the_valid_ones(sample: tuple[Article, ...]) -> None:
    hits = search(sample, SearchQuery(TODAY, "社保", include_expired=True))
    assert [(h.article.article_id, h.status) for h in hits] == [
        ("shebao-card", VALID), ("shebao-next", NOT_YET_VALID), ("shebao-old", EXPIRED)]
    assert ids(search(sample, SearchQuery(date(2027, 1, 1), "社保"))) == ["shebao-card", "shebao-next"]


def test_filters_by_category_code_and_agency(sample: tuple[Article, ...]) -> None:
    assert ids(search(sample, SearchQuery(TODAY, category="03"))) == ["gas-general", "gas-leak", "gas-sector"]
    assert ids(search(sample, SearchQuery(TODAY, category="03.02"))) == ["gas-general", "gas-leak"]
    assert ids(search(sample, SearchQuery(TODAY, category="03.0"))) == []  # a code, not a text prefix
    assert ids(search(sample, SearchQuery(TODAY, agency="gas"))) == ["gas-general", "gas-leak"]
    assert ids(search(sample, SearchQuery(TODAY, "燃气", agency="heating"))) == []


def test_matched_in_and_the_snippet_around_the_hit(sample: tuple[Article, ...]) -> None:
    [hit] = search(sample, SearchQuery(TODAY, "windows"))
    assert hit.matched_in == ("body",)
    assert hit.snippet.startswith("Open the WINDOWS")  # the original case, not the folded one
    [hit] = search(sample, SearchQuery(TODAY, "gas 煤气味"))
    assert hit.matched_in == ("title", "keywords", "body")
    long = _article(body="甲" * 200 + "燃气泄漏" + "乙" * 200)
    cut = snippet(long, ("燃气泄漏",))
    assert cut.startswith("…" + "甲" * 30 + "燃气泄漏") and cut.endswith("乙" * 70 + "…")
    assert snippet(long, ()) == "甲" * 100 + "…"


def test_the_limit_keeps_the_best(sample: tuple[Article, ...]) -> None:
    assert ids(search(sample, SearchQuery(TODAY, "供暖", limit=1))) == ["heating-repair"]
    assert len(search(sample, SearchQuery(TODAY, limit=0))) == 1  # at least one


def test_suggest_exact_category_then_above_then_below_newest_first(sample: tuple[Article, ...]) -> None:
    assert ids(suggest(sample, "03.02.05", TODAY)) == ["gas-leak", "gas-general", "gas-sector"]
    assert ids(suggest(sample, "03.02", TODAY)) == ["gas-general", "gas-sector", "gas-leak"]
    # utilities: main category first (heating-*), gas-general lists it second
    assert ids(suggest(sample, "utilities", TODAY)) == ["heating-history", "heating-repair", "gas-general"]
    assert ids(suggest(sample, "social_insurance", TODAY)) == ["shebao-card"]  # valid ones only
    assert ids(suggest(sample, "utilities", TODAY, limit=1)) == ["heating-history"]
    assert suggest(sample, "nothing", TODAY) == []


def test_the_shipped_knowledge_answers_the_call_takers_words() -> None:
    articles = shipped_articles()
    assert ids(search(articles, SearchQuery(TODAY, "供暖不热")))[0] == "heating-not-warm"
    assert ids(search(articles, SearchQuery(TODAY, "欠薪")))[0] == "wage-arrears-complaint"
    assert ids(search(articles, SearchQuery(TODAY, "燃气泄漏")))[0] == "gas-leak-emergency"
    enrolment = search(articles, SearchQuery(TODAY, "义务教育", include_expired=True))
    assert {(h.article.article_id, h.status) for h in enrolment} >= {
        ("school-enrolment-2026", EXPIRED), ("school-enrolment-2027", NOT_YET_VALID)}
    assert ids(search(articles, SearchQuery(TODAY, "义务教育"))) == []  # neither is in force today
