"""The quality-check form (质检评分表) and the scoring of a reviewed call, as pure rules.

Why the score is computed here and never taken from the client: a check is part of a call
taker's monthly assessment, so the total must follow the form (each criterion at most its
points, a veto sets the total to 0) whatever a page sends. The form is data
(``quality_form.yaml``), loaded strictly at start-up: every error names the file, the entry
and the field. A stored check keeps the form id and the points it was given, so a later
change of the form never rewrites an old score.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

SHIPPED_FORM = Path(__file__).resolve().parent / "quality_form.yaml"
_ID = re.compile(r"[a-z][a-z0-9_]{1,39}")
REMARKS_MAX = 2000


class FormError(ValueError):
    """The form file is unusable; the message names the file, the entry and the field."""


@dataclass(frozen=True)
class Criterion:
    id: str
    points: int
    name_zh: str
    name_en: str
    guide_zh: str = ""
    guide_en: str = ""


@dataclass(frozen=True)
class Veto:
    id: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class QualityForm:
    form: str
    name_zh: str
    name_en: str
    pass_score: int
    criteria: tuple[Criterion, ...]
    vetoes: tuple[Veto, ...] = ()

    def criterion(self, criterion_id: str) -> Criterion | None:
        return next((c for c in self.criteria if c.id == criterion_id), None)


@dataclass(frozen=True)
class ItemError:
    """What is wrong with one part of a check (``field``: e.g. ``scores.greeting``)."""

    field: str
    message: str


@dataclass(frozen=True)
class QualityCheck:
    """One supervisor's check of one call; ``id`` is given by the store. ``items`` holds the
    form id, the points per criterion and the vetoes found (see ``score_check``)."""

    call_id: str
    agent_id: str
    reviewer: str
    score: int
    items: Mapping[str, Any]
    remarks: str
    keep: bool
    at: datetime
    id: int | None = None


@dataclass(frozen=True)
class CheckQuery:
    """Filters of the supervisors' list of checks (None: any); newest first."""

    agent_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None   # exclusive
    limit: int = 200
    offset: int = 0


@dataclass(frozen=True)
class Scored:
    """A check's total and what is stored with it."""

    score: int
    items: dict[str, Any] = field(default_factory=dict)


# -- the form -------------------------------------------------------------------------------

def load_form(path: Path = SHIPPED_FORM) -> QualityForm:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise FormError(f"{path}: cannot read the quality form: {exc}") from exc
    return parse_form(data, str(path))


def _text(entry: Mapping[str, Any], key: str, where: str, required: bool = True) -> str:
    value = entry.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise FormError(f"{where}: field {key!r} must be a non-empty text")
    return value.strip()


def _id(entry: Mapping[str, Any], where: str, seen: set[str]) -> str:
    value = entry.get("id")
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise FormError(f"{where}: field 'id' must be 2-40 lower-case letters, digits or _ (got {value!r})")
    if value in seen:
        raise FormError(f"{where}: id {value!r} is used twice")
    seen.add(value)
    return value


def parse_form(data: Any, where: str) -> QualityForm:
    """The form from its YAML value; FormError naming the place of the first problem."""
    known = {"form", "name_zh", "name_en", "pass_score", "criteria", "vetoes"}
    if not isinstance(data, dict) or not {"form", "criteria", "pass_score"} <= set(data) or set(data) - known:
        raise FormError(f"{where}: expected a mapping with 'form', 'pass_score', 'criteria' (and optionally "
                        f"'name_zh', 'name_en', 'vetoes'), and no other key")
    form_id = _text(data, "form", where)
    pass_score = data["pass_score"]
    if not isinstance(pass_score, int) or isinstance(pass_score, bool) or not 0 <= pass_score <= 100:
        raise FormError(f"{where}: field 'pass_score' must be a whole number from 0 to 100")
    raw_criteria = data["criteria"]
    if not isinstance(raw_criteria, list) or not raw_criteria:
        raise FormError(f"{where}: field 'criteria' must list at least one criterion")
    seen: set[str] = set()
    criteria = []
    for i, entry in enumerate(raw_criteria):
        at = f"{where}: criteria[{i}]"
        if not isinstance(entry, dict):
            raise FormError(f"{at}: expected a mapping")
        unknown = set(entry) - {"id", "points", "name_zh", "name_en", "guide_zh", "guide_en"}
        if unknown:
            raise FormError(f"{at}: unknown field(s) {', '.join(sorted(unknown))}")
        criterion_id = _id(entry, at, seen)
        points = entry.get("points")
        if not isinstance(points, int) or isinstance(points, bool) or not 1 <= points <= 100:
            raise FormError(f"{at} ({criterion_id}): field 'points' must be a whole number from 1 to 100")
        criteria.append(Criterion(criterion_id, points, _text(entry, "name_zh", at), _text(entry, "name_en", at),
                                  _text(entry, "guide_zh", at, False), _text(entry, "guide_en", at, False)))
    total = sum(c.points for c in criteria)
    if total != 100:
        raise FormError(f"{where}: the criteria's points add up to {total}, not 100")
    vetoes = []
    raw_vetoes = data.get("vetoes") or []
    if not isinstance(raw_vetoes, list):
        raise FormError(f"{where}: field 'vetoes' must be a list")
    for i, entry in enumerate(raw_vetoes):
        at = f"{where}: vetoes[{i}]"
        if not isinstance(entry, dict) or set(entry) - {"id", "name_zh", "name_en"}:
            raise FormError(f"{at}: expected a mapping of id, name_zh, name_en")
        vetoes.append(Veto(_id(entry, at, seen), _text(entry, "name_zh", at), _text(entry, "name_en", at)))
    return QualityForm(form_id, _text(data, "name_zh", where, False), _text(data, "name_en", where, False),
                       pass_score, tuple(criteria), tuple(vetoes))


# -- a check --------------------------------------------------------------------------------

def score_check(form: QualityForm, scores: Mapping[str, Any], vetoes: Sequence[str] = ()) -> Scored | list[ItemError]:
    """The total of a check, or every problem with it: each criterion of the form scored
    exactly once, with a whole number from 0 to its points; no unknown criterion or veto.
    The total is the sum of the points, or 0 when a veto was found."""
    errors: list[ItemError] = []
    for criterion in form.criteria:
        value = scores.get(criterion.id)
        if value is None:
            errors.append(ItemError(f"scores.{criterion.id}", "missing: every criterion of the form is scored"))
        elif not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= criterion.points:
            errors.append(ItemError(f"scores.{criterion.id}", f"a whole number from 0 to {criterion.points}"))
    for key in scores:
        if form.criterion(key) is None:
            errors.append(ItemError(f"scores.{key}", f"not a criterion of form {form.form}"))
    veto_ids = {v.id for v in form.vetoes}
    for i, veto in enumerate(vetoes):
        if veto not in veto_ids:
            errors.append(ItemError(f"vetoes.{i}", f"not a veto of form {form.form}"))
    if len(set(vetoes)) != len(vetoes):
        errors.append(ItemError("vetoes", "a veto is named twice"))
    if errors:
        return errors
    points = {c.id: int(scores[c.id]) for c in form.criteria}
    total = 0 if vetoes else sum(points.values())
    return Scored(total, {"form": form.form, "scores": points, "vetoes": list(vetoes),
                          "passed": total >= form.pass_score})
