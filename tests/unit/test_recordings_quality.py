"""recordings.quality: the shipped form is valid and adds up to 100; a broken form is refused
naming the file, the entry and the field; a check is scored by the form (a veto gives 0) and
every problem with it is named."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from recordings.quality import SHIPPED_FORM, FormError, ItemError, Scored, load_form, parse_form, score_check

FORM = load_form()
FULL = {c.id: c.points for c in FORM.criteria}


def test_the_shipped_form() -> None:
    assert FORM.form == "qc-12345-v1" and FORM.pass_score == 80
    assert sum(c.points for c in FORM.criteria) == 100
    assert [c.id for c in FORM.criteria][:2] == ["greeting", "listening"]
    assert {"privacy_breach", "quarrel"} <= {v.id for v in FORM.vetoes}


def _broken(change: Any) -> dict[str, Any]:
    data = yaml.safe_load(SHIPPED_FORM.read_text(encoding="utf-8"))
    change(data)
    return data


@pytest.mark.parametrize("change, message", [
    (lambda d: d["criteria"][0].update(points=6), "add up to 101"),
    (lambda d: d["criteria"][1].update(id="greeting"), r"criteria\[1\].*used twice"),
    (lambda d: d["criteria"][2].pop("name_zh"), r"criteria\[2\].*name_zh"),
    (lambda d: d["criteria"][3].update(points="ten"), r"criteria\[3\] \(policy_accuracy\).*points"),
    (lambda d: d["criteria"][0].update(colour="red"), r"criteria\[0\].*colour"),
    (lambda d: d.update(pass_score=101), "pass_score"),
    (lambda d: d.update(extra=1), "no other key"),
    (lambda d: d["vetoes"].append({"id": "Bad Id", "name_zh": "x", "name_en": "x"}), r"vetoes\[4\].*'id'"),
])
def test_a_broken_form_is_refused_naming_the_place(change: Any, message: str) -> None:
    with pytest.raises(FormError, match=message):
        parse_form(_broken(change), "form.yaml")


def test_an_unreadable_form_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "form.yaml"
    path.write_text("criteria: [")
    with pytest.raises(FormError, match="form.yaml"):
        load_form(path)


def test_scoring() -> None:
    full = score_check(FORM, FULL)
    assert isinstance(full, Scored) and full.score == 100 and full.items["passed"] is True
    partial = score_check(FORM, {**FULL, "policy_accuracy": 5})
    assert isinstance(partial, Scored) and partial.score == 85 and partial.items["scores"]["policy_accuracy"] == 5
    failed = score_check(FORM, {**FULL, "policy_accuracy": 0, "listening": 5})
    assert isinstance(failed, Scored) and failed.score == 70 and failed.items["passed"] is False
    vetoed = score_check(FORM, FULL, ["hung_up_on_caller"])
    assert isinstance(vetoed, Scored) and vetoed.score == 0 and vetoed.items["vetoes"] == ["hung_up_on_caller"]


def test_every_problem_is_named() -> None:
    errors = score_check(FORM, {**{k: v for k, v in FULL.items() if k != "closing"}, "greeting": 9, "charm": 1,
                                "courtesy": True}, ["late", "quarrel", "quarrel"])
    assert isinstance(errors, list)
    assert {e.field for e in errors} == {"scores.closing", "scores.greeting", "scores.charm", "scores.courtesy",
                                         "vetoes.0", "vetoes"}
    assert ItemError("scores.greeting", "a whole number from 0 to 5") in errors
