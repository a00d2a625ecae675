"""The work-order taxonomy: the shipped file is valid against the shipped agency directory
and covers the hotline's topics; the look-ups; and every kind of mistake in the file stops
the load with a message naming the file, the entry and the field."""
from __future__ import annotations

import copy
import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from hotline.settings import PROJECT_ROOT
from outbound.agencies import load_directory
from workorders import FOLDER
from workorders.taxonomy import Taxonomy, TaxonomyError, load_taxonomy

DIRECTORY = load_directory(PROJECT_ROOT / "outbound" / "agencies.yaml")
SHIPPED = load_taxonomy(FOLDER / "taxonomy.yaml", DIRECTORY)


# -- the shipped file ---------------------------------------------------------------------

def test_the_shipped_taxonomy_has_about_a_hundred_items_three_levels_deep() -> None:
    leaves = SHIPPED.leaves()
    assert 90 <= len(leaves) <= 130
    assert {n.level for n in leaves} == {2}
    assert len({n.code for n in SHIPPED.nodes}) == len(SHIPPED.nodes)
    for node in SHIPPED.nodes:
        assert node.name_zh.strip() and node.name_en.strip(), node
        if node.parent is not None:
            assert node.code.rpartition(".")[0] == node.parent
            assert node.code in SHIPPED.get(node.parent).children  # type: ignore[union-attr]
        assert node.is_leaf == (not node.children)
        assert set(node.agencies) <= DIRECTORY.ids


@pytest.mark.parametrize(("words", "expected"), [
    ("交通事故", "01.01.01"), ("养老保险", "02.01.01"), ("噪音扰民", "03.01.01"), ("停水", "04.01.01"),
    ("停电", "04.02.01"), ("燃气泄漏", "04.03.01"), ("供暖不热", "04.04.01"), ("义务教育", "05.01.01"),
    ("物业服务", "06.01.01"), ("预付卡", "07.01.02"), ("占道经营", "08.01.01"), ("餐饮油烟", "09.01.02"),
    ("医疗纠纷", "10.01.02"), ("拖欠工资", "11.01.01"), ("企业开办", "12.01.01"), ("最低生活保障", "13.01.01"),
    ("wage arrears", "11.01.01"), ("LOST property", "03.01.04"),
])
def test_the_shipped_taxonomy_covers_the_hotlines_topics(words: str, expected: str) -> None:
    assert expected in [n.code for n in SHIPPED.search(words)]


def test_emergencies_are_flagged_and_name_the_agency_to_reach() -> None:
    emergencies = {n.code: n for n in SHIPPED.leaves() if n.emergency}
    assert {"04.03.01", "04.01.04", "01.01.01", "06.01.04"} <= set(emergencies)
    assert emergencies["04.03.01"].agencies == ("gas",)
    assert not SHIPPED.get("04.03.03").emergency  # type: ignore[union-attr]  # a gas bill is not


def test_every_agency_in_the_directory_handles_some_item() -> None:
    named = {a for n in SHIPPED.leaves() for a in n.agencies}
    assert named == DIRECTORY.ids


# -- look-ups -----------------------------------------------------------------------------

def test_path_and_breadcrumbs() -> None:
    assert [n.code for n in SHIPPED.path("04.03.01")] == ["04", "04.03", "04.03.01"]
    assert SHIPPED.breadcrumbs("04.03.01") == ("城市公用事业", "燃气", "燃气泄漏")
    assert SHIPPED.breadcrumbs("04.03.01", "en") == ("Utilities", "Gas", "Gas leak")
    assert SHIPPED.breadcrumbs("04.03") == ("城市公用事业", "燃气")
    assert SHIPPED.path("99.99.99") == () and SHIPPED.breadcrumbs("nonsense") == ()
    assert SHIPPED.get("99") is None and "04.03.01" in SHIPPED and "99" not in SHIPPED


def test_children_and_classes_keep_the_files_order() -> None:
    assert [c.code for c in SHIPPED.classes][:3] == ["01", "02", "03"]
    assert [n.code for n in SHIPPED.children("04.03")] == ["04.03.01", "04.03.02", "04.03.03"]
    assert SHIPPED.children("04.03.01") == () and SHIPPED.children("nope") == ()


def test_search_matches_every_word_in_the_item_or_its_parents() -> None:
    gas = [n.code for n in SHIPPED.search("燃气")]
    assert gas == ["04.03.01", "04.03.02", "04.03.03"]  # "燃气" is the subclass: all its items
    assert [n.code for n in SHIPPED.search("utilities leak")] == ["04.03.01", "04.04.02"]  # gas, radiator
    assert [n.code for n in SHIPPED.search("Utilities GAS leak")] == ["04.03.01"]
    assert [n.code for n in SHIPPED.search("04.03")] == gas  # a code: the items under it (not 04.04.03)
    assert [n.code for n in SHIPPED.search("04.03.02")] == ["04.03.02"]
    assert [n.code for n in SHIPPED.search("04 leak")] == ["04.03.01", "04.04.02"]
    assert SHIPPED.search("燃气 education") == ()
    assert len(SHIPPED.search("")) == len(SHIPPED.leaves())


def test_the_taxonomy_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SHIPPED.nodes = ()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        SHIPPED.leaves()[0].agencies = ("water",)  # type: ignore[misc]
    with pytest.raises(TypeError):
        SHIPPED._by_code["01"] = SHIPPED.leaves()[0]  # type: ignore[index]


def test_the_package_imports_with_io_libraries_blocked() -> None:
    """workorders is pure: no database, network or event loop library behind it."""
    program = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'sqlalchemy', 'alembic', 'psycopg', 'redis', 'asyncio', 'socket', 'fastapi',
                                  'pydantic', 'httpx', 'panoramisk', 'hotline'}:
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
import workorders.taxonomy, workorders.calendar, workorders.districts, workorders.model, workorders.history
import workorders.filing, workorders.config
print('ok')
"""
    done = subprocess.run([sys.executable, "-c", program], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]


# -- validation: every message names the file, the entry and the field --------------------

MINIMAL: dict[str, Any] = {"classes": [
    {"code": "01", "name": {"zh": "交通出行", "en": "Traffic"}, "subclasses": [
        {"code": "01.01", "name": {"zh": "道路交通", "en": "Road traffic"}, "items": [
            {"code": "01.01.01", "name": {"zh": "交通事故", "en": "Accident"}, "agencies": ["traffic_police"],
             "emergency": True},
            {"code": "01.01.02", "name": {"zh": "违章停车", "en": "Parking"}}]}]},
    {"code": "02", "name": {"zh": "社会保障", "en": "Social insurance"}, "subclasses": [
        {"code": "02.01", "name": {"zh": "社会保险", "en": "Insurance"}, "items": [
            {"code": "02.01.01", "name": {"zh": "养老保险", "en": "Pension"}}]}]},
]}


def _item(doc: dict[str, Any], c: int = 0, s: int = 0, i: int = 0) -> dict[str, Any]:
    return doc["classes"][c]["subclasses"][s]["items"][i]  # type: ignore[no-any-return]


def _load(tmp_path: Path, doc: Any) -> Taxonomy:
    path = tmp_path / "taxonomy.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True) if not isinstance(doc, str) else doc)
    return load_taxonomy(path, DIRECTORY)


def test_the_minimal_file_loads(tmp_path: Path) -> None:
    taxonomy = _load(tmp_path, MINIMAL)
    assert [n.code for n in taxonomy.leaves()] == ["01.01.01", "01.01.02", "02.01.01"]
    assert taxonomy.get("01.01.01").agencies == ("traffic_police",)  # type: ignore[union-attr]


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


def _delete(path: tuple[Any, ...]) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        target = doc
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return change


ITEM = ("classes", 0, "subclasses", 0, "items", 1)


@pytest.mark.parametrize(("change", "entry", "field", "why"), [
    (_set(ITEM + ("code",), "01.01.01"), "item 01.01.01", "'code'", "is also"),
    (_set(ITEM + ("code",), "01.02.02"), "item classes[0].subclasses[0].items[1]", "'code'",
     "parent's code '01.01'"),
    (_set(("classes", 1, "code"), 2), "class classes[1]", "'code'", "quote it"),
    (_set(ITEM + ("code",), "01.01.2"), "item classes[0].subclasses[0].items[1]", "'code'", "pair(s) of digits"),
    (_set(ITEM + ("code",), "01.01"), "item classes[0].subclasses[0].items[1]", "'code'", "3 pair(s)"),
    (_set(ITEM + ("name",), {"zh": " ", "en": "Parking"}), "item 01.01.02", "'name'", "zh must be a non-empty"),
    (_set(ITEM + ("name",), {"zh": "违章停车"}), "item 01.01.02", "'name'", "en must be a non-empty"),
    (_set(ITEM + ("name",), "违章停车"), "item 01.01.02", "'name'", "{zh: ..., en: ...}"),
    (_set(ITEM + ("agencies",), ["traffic_police", "fire_brigade"]), "item 01.01.02", "'agencies'",
     "fire_brigade not in the agency directory"),
    (_set(ITEM + ("agencies",), "traffic_police"), "item 01.01.02", "'agencies'", "list of agency ids"),
    (_set(ITEM + ("agencies",), ["gas", "gas"]), "item 01.01.02", "'agencies'", "twice"),
    (_set(ITEM + ("emergency",), "yes"), "item 01.01.02", "'emergency'", "true or false"),
    (_set(ITEM + ("colour",), "red"), "item 01.01.02", "colour", "unknown field"),
    (_set(("classes", 0, "subclasses", 0, "items"), []), "subclass 01.01", "'items'", "at least one item"),
    (_delete(("classes", 1, "subclasses")), "class 02", "'subclasses'", "at least one subclass"),
    (_set(("classes", 1, "items"), []), "class 02", "items", "unknown field"),
])
def test_a_mistake_names_the_file_the_entry_and_the_field(tmp_path: Path, change: Callable[[dict[str, Any]], None],
                                                         entry: str, field: str, why: str) -> None:
    doc = copy.deepcopy(MINIMAL)
    change(doc)
    with pytest.raises(TaxonomyError) as caught:
        _load(tmp_path, doc)
    message = str(caught.value)
    assert message.startswith(str(tmp_path / "taxonomy.yaml") + ": "), message
    assert entry in message and field in message and why in message, message


@pytest.mark.parametrize("doc", ["classes: [", {"items": []}, {"classes": []}, {"classes": {"01": {}}}, [1, 2]])
def test_a_file_of_the_wrong_shape_is_refused_with_its_name(tmp_path: Path, doc: Any) -> None:
    with pytest.raises(TaxonomyError, match=str(tmp_path / "taxonomy.yaml")):
        _load(tmp_path, doc)


def test_agencies_are_checked_only_when_a_directory_is_given(tmp_path: Path) -> None:
    doc = copy.deepcopy(MINIMAL)
    _item(doc)["agencies"] = ["fire_brigade"]
    path = tmp_path / "taxonomy.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    assert load_taxonomy(path).get("01.01.01").agencies == ("fire_brigade",)  # type: ignore[union-attr]
    with pytest.raises(TaxonomyError, match="fire_brigade not in the agency directory"):
        load_taxonomy(path, DIRECTORY)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(TaxonomyError, match="nowhere.yaml: cannot read"):
        load_taxonomy(tmp_path / "nowhere.yaml")
