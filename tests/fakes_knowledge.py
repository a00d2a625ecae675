"""Article files for the knowledge-base tests, written into a test's own folder.

Why files and not ``Article`` objects: the bases under test load folders (that is what the
controller does at start-up and on reload), so a test writes the folder, changes or
removes a file, and rebuilds, like an editor of the knowledge base would.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import yaml

from hotline.settings import PROJECT_ROOT
from knowledge.articles import Article, load_articles
from outbound.agencies import load_directory

DIRECTORY = load_directory(PROJECT_ROOT / "outbound" / "agencies.yaml")
SHIPPED = PROJECT_ROOT / "knowledge" / "articles"
TODAY = date(2026, 11, 30)  # the day the shipped articles' validity is judged on in the tests


def front_matter(article_id: str, **fields: Any) -> dict[str, Any]:
    """A valid front matter for ``article_id``; ``fields`` replace (None: remove) entries."""
    meta: dict[str, Any] = {
        "id": article_id, "title": {"zh": f"测试条目{article_id}", "en": f"Test article {article_id}"},
        "categories": ["utilities"], "agencies": ["heating"], "valid_from": date(2024, 1, 1),
        "keywords": ["测试"],
    }
    for key, value in fields.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    return meta


def article_text(article_id: str, body: str = "正文。", **fields: Any) -> str:
    dumped = yaml.safe_dump(front_matter(article_id, **fields), allow_unicode=True, sort_keys=False)
    return f"---\n{dumped}---\n{body}\n"


def write_article(folder: Path, article_id: str, body: str = "正文。", **fields: Any) -> Path:
    """Write ``<folder>/<article_id>.md`` (the folder is made if missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{article_id}.md"
    path.write_text(article_text(article_id, body, **fields), encoding="utf-8")
    return path


def shipped_articles() -> tuple[Article, ...]:
    return load_articles(SHIPPED, DIRECTORY)


def sample_folder(folder: Path) -> Path:
    """A small knowledge base whose answers the index tests know by heart:

    - ``heating-repair``: 供暖 in the title, 供暖不热 in the body (valid);
    - ``heating-history``: 供暖 only in the body (valid) -> ranked after the title hit;
    - ``shebao-card``: 社保卡补办, agency social_insurance (valid);
    - ``shebao-old``: 社保 policy that expired on 2025-12-31;
    - ``shebao-next``: 社保 policy valid from 2027-01-01;
    - ``gas-leak``: English words in mixed case, category ``03.02.05``;
    - ``gas-general``: category ``03.02``; ``gas-sector``: category ``03``.
    """
    write_article(folder, "heating-repair", "## 答复口径\n\n室温低于18℃属于**供暖不热**，请记录地址后转热力集团。",
                  title={"zh": "供暖不热报修", "en": "Radiator not warm"}, keywords=["暖气"])
    write_article(folder, "heating-history", "本市集中供暖始于上世纪八十年代，现由热力集团负责。",
                  title={"zh": "城市热力发展简史", "en": "A short history of district heat"}, keywords=["历史"])
    write_article(folder, "shebao-card", "社保卡丢失后先挂失，再到银行网点补办。",
                  title={"zh": "社保卡补办", "en": "Replacing a social security card"},
                  categories=["social_insurance"], agencies=["social_insurance"], keywords=["补卡"])
    write_article(folder, "shebao-old", "旧政策：社保缴费基数按2024年标准执行。",
                  title={"zh": "社保缴费基数（旧）", "en": "Old contribution base"},
                  categories=["social_insurance"], agencies=["social_insurance"], keywords=["缴费"],
                  valid_from=date(2024, 1, 1), valid_to=date(2025, 12, 31))
    write_article(folder, "shebao-next", "新政策：社保缴费基数按2027年标准执行。",
                  title={"zh": "社保缴费基数（新）", "en": "New contribution base"},
                  categories=["social_insurance"], agencies=["social_insurance"], keywords=["缴费"],
                  valid_from=date(2027, 1, 1))
    write_article(folder, "gas-leak", "Open the WINDOWS, do not touch switches; then call the Gas Group.",
                  title={"zh": "燃气泄漏", "en": "Gas Leak"}, categories=["03.02.05"], agencies=["gas"],
                  keywords=["煤气味"])
    write_article(folder, "gas-general", "燃气服务总则。", title={"zh": "燃气服务", "en": "Gas service"},
                  categories=["03.02", "utilities"], agencies=["gas"], valid_from=date(2025, 6, 1))
    write_article(folder, "gas-sector", "公用事业总则。", title={"zh": "公用事业", "en": "Utilities"},
                  categories=["03"], agencies=[])
    return folder
