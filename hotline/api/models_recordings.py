"""Request and answer bodies of the recordings and quality-check routes (pydantic), and their
conversions from the values of ``recordings``. Same conventions as ``hotline.api.models``:
every request model has an example (the OpenAPI document shows it, the access tests send it),
strings are bounded, times are ISO 8601 with their offset.

The body checks shapes only; whether the points fit the form (every criterion once, each at
most its points, known vetoes) is ``recordings.quality.score_check``'s business, answered as
422 with the field named, like a shape error.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hotline.api.models import Text
from hotline.api.models_work_orders import PARAGRAPH
from hotline.api.ports_recordings import RecordedCall
from recordings.model import AccessEntry, RecordingPart
from recordings.quality import REMARKS_MAX, QualityCheck, QualityForm

Part = Literal["call", "conference"]
ItemId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
Points = Annotated[int, Field(ge=0, le=100)]


class RecordingPartOut(BaseModel):
    call_id: str
    part: Part = Field(description="call: the call taker's conversation; conference: the three-party room")
    format: Literal["wav", "opus", "mp3"]
    media_type: str
    bytes: int
    seconds: float | None = Field(description="its length (measured when it was compressed)")
    created_at: datetime = Field(description="when the call ended; the retention policy counts from here")
    compressed_at: datetime | None
    purged_at: datetime | None = Field(description="when the retention policy removed the file")
    available: bool = Field(description="false once purged: nothing to play")
    url: str | None = Field(description="where to play it (HTTP Range supported); none once purged")

    @classmethod
    def of(cls, part: RecordingPart, url: str) -> "RecordingPartOut":
        return cls(call_id=part.call_id, part=part.part, format=part.format, media_type=part.media_type,
                   bytes=part.bytes, seconds=part.seconds, created_at=part.created_at,
                   compressed_at=part.compressed_at, purged_at=part.purged_at, available=part.available,
                   url=url if part.available else None)


def mask_caller(number: str) -> str:
    """The caller's number with every character but the last 4 replaced by ``*``
    (13812345678 -> *******5678); a number of 4 characters or fewer is masked whole. A
    reviewer tells calls apart by it without reading the citizen's number."""
    if len(number) <= 4:
        return "*" * len(number)
    return "*" * (len(number) - 4) + number[-4:]


class CheckSummaryOut(BaseModel):
    id: int | None
    reviewer: str
    score: int
    passed: bool
    at: datetime

    @classmethod
    def of(cls, check: QualityCheck) -> "CheckSummaryOut":
        return cls(id=check.id, reviewer=check.reviewer, score=check.score,
                   passed=bool(dict(check.items).get("passed", False)), at=check.at)


class RecordedCallOut(BaseModel):
    call_id: str
    caller: str = Field(description="the caller's number masked but its last 4 digits (privacy)")
    dnis: str = Field(description="the number dialled")
    line: str = Field(description="the line (the record's queue)")
    language: str
    agent_id: str = Field(description="the call taker; empty when nobody answered")
    outcome: str
    arrived_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    wait_seconds: float | None
    talk_seconds: float | None
    parts: list[RecordingPartOut] = Field(description="the recorded parts, purged ones too (no url)")
    checked: bool = Field(description="whether the call has a quality check")
    checks: list[CheckSummaryOut] = Field(description="its quality checks, oldest first")

    @classmethod
    def of(cls, call: RecordedCall, urls: dict[str, str]) -> "RecordedCallOut":
        """``urls``: part name -> where to play it."""
        return cls(call_id=call.call_id, caller=mask_caller(call.caller), dnis=call.dnis, line=call.line,
                   language=call.language, agent_id=call.agent_id, outcome=call.outcome, arrived_at=call.arrived_at,
                   answered_at=call.answered_at, ended_at=call.ended_at, wait_seconds=call.wait_seconds,
                   talk_seconds=call.talk_seconds, parts=[RecordingPartOut.of(p, urls[p.part]) for p in call.parts],
                   checked=bool(call.checks), checks=[CheckSummaryOut.of(c) for c in call.checks])


class AccessEntryOut(BaseModel):
    id: int | None
    call_id: str
    part: str
    username: str
    role: str
    action: Literal["play", "download", "purge"]
    allowed: bool = Field(description="false: the attempt was refused (403)")
    at: datetime
    client: str = Field(description="the client's address (the retention purge: empty)")

    @classmethod
    def of(cls, entry: AccessEntry) -> "AccessEntryOut":
        return cls(id=entry.id, call_id=entry.call_id, part=entry.part, username=entry.username, role=entry.role,
                   action=entry.action, allowed=entry.allowed, at=entry.at, client=entry.client)


# -- the quality-check form -------------------------------------------------------------------

class CriterionOut(BaseModel):
    id: str
    points: int = Field(description="the most a call can earn for it; the criteria add up to 100")
    name_zh: str
    name_en: str
    guide_zh: str
    guide_en: str


class VetoOut(BaseModel):
    id: str
    name_zh: str
    name_en: str


class QualityFormOut(BaseModel):
    form: str = Field(description="the form's id, stored with each check")
    name_zh: str
    name_en: str
    pass_score: int
    criteria: list[CriterionOut]
    vetoes: list[VetoOut] = Field(description="一票否决: any one found sets the score to 0")

    @classmethod
    def of(cls, form: QualityForm) -> "QualityFormOut":
        return cls(form=form.form, name_zh=form.name_zh, name_en=form.name_en, pass_score=form.pass_score,
                   criteria=[CriterionOut(id=c.id, points=c.points, name_zh=c.name_zh, name_en=c.name_en,
                                          guide_zh=c.guide_zh, guide_en=c.guide_en) for c in form.criteria],
                   vetoes=[VetoOut(id=v.id, name_zh=v.name_zh, name_en=v.name_en) for v in form.vetoes])


# -- checks ---------------------------------------------------------------------------------------

class QualityCheckBody(BaseModel):
    """A supervisor's check of a call: points per criterion of the form (GET /quality/form),
    the vetoes found, remarks, and whether the call's recordings are kept past the retention
    policy. The score is computed from these, never sent."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "scores": {"greeting": 5, "listening": 13, "information": 9, "policy_accuracy": 18, "handling": 15,
                   "courtesy": 14, "work_order_quality": 12, "closing": 4},
        "vetoes": [], "remarks": "燃气泄漏诉求三方转接及时；工单未写明楼栋号。", "keep": False}]})
    scores: dict[ItemId, Points] = Field(max_length=50, description="criterion id -> points given")
    vetoes: list[ItemId] = Field(default_factory=list, max_length=20, description="veto ids found in the call")
    remarks: Text = Field(default="", max_length=REMARKS_MAX, pattern=PARAGRAPH)
    keep: bool = Field(default=False, description="keep the call's recordings past the retention policy")


class QualityCheckOut(BaseModel):
    id: int | None
    call_id: str
    agent_id: str
    reviewer: str
    score: int = Field(description="0-100: the points given, or 0 when a veto was found")
    passed: bool
    form: str
    scores: dict[str, int]
    vetoes: list[str]
    remarks: str
    keep: bool
    at: datetime

    @classmethod
    def of(cls, check: QualityCheck) -> "QualityCheckOut":
        items: dict[str, Any] = dict(check.items)
        return cls(id=check.id, call_id=check.call_id, agent_id=check.agent_id, reviewer=check.reviewer,
                   score=check.score, passed=bool(items.get("passed", False)), form=str(items.get("form", "")),
                   scores={str(k): int(v) for k, v in dict(items.get("scores") or {}).items()},
                   vetoes=[str(v) for v in items.get("vetoes") or []], remarks=check.remarks, keep=check.keep,
                   at=check.at)
