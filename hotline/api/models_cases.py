"""Request and answer bodies of the case routes (pydantic), and their conversions from the pure
values of ``cases``. Same conventions as ``hotline.api.models`` and
``hotline.api.models_work_orders``: every request model has an example (the OpenAPI
document shows it, the access tests send it), strings are bounded, times are ISO 8601 with
their offset (the calendar's zone).

A text an event needs (a reason, a reply, a note) must hold more than spaces: 422 otherwise,
like a body of the wrong shape.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from cases.followup import FollowUp
from cases.lifecycle import Case, CaseState, allowed, overdue
from cases.query import CaseEntry, SupervisionEntry
from cases.ranking import AgencyScore
from hotline.api.models import AGENCY_ID
from hotline.api.models_work_orders import PARAGRAPH

TEXT_MAX = 2000
State = Literal["open", "handled_directly", "transferred", "accepted", "extension_requested", "extended", "replied",
                "followed_up", "closed", "reopened"]
assert set(State.__args__) == {s.value for s in CaseState}  # type: ignore[attr-defined]


def _examples(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": [example]})


def _said(text: str) -> str:
    """Strip, refuse an empty text, and refuse lone surrogates (no store could encode them)."""
    text = text.strip()
    if not text:
        raise ValueError("must hold more than spaces")
    text.encode("utf-8")
    return text


def _encodable(text: str) -> str:
    text.encode("utf-8")
    return text.strip()


Said = Annotated[str, Field(min_length=1, max_length=TEXT_MAX, pattern=PARAGRAPH), AfterValidator(_said)]
Note = Annotated[str, Field(max_length=TEXT_MAX, pattern=PARAGRAPH), AfterValidator(_encodable)]


# -- requests -------------------------------------------------------------------------------

class ExtendBody(BaseModel):
    model_config = _examples({"reason": "需要更换主管道，材料周三到货", "days": 3})
    reason: Said
    days: int = Field(ge=1, le=120, description="working days asked for (at most the rules' limit)")


class ReplyBody(BaseModel):
    model_config = _examples({"result": "已于11月24日更换阀门，恢复供水。"})
    result: Said


class ReasonBody(BaseModel):
    model_config = _examples({"reason": "市民反映问题仍未解决"})
    reason: Said


class FollowUpResultBody(BaseModel):
    """A follow-up made by a person: the call taker a citizen asked for during the automated
    follow-up call, or a manual follow-up call (人工回访)."""

    model_config = _examples({"outcome": "answered", "satisfied": True, "solved": True})
    outcome: Literal["answered", "no_answer", "busy", "failed"] = "answered"
    satisfied: bool | None = Field(default=None, description="answered: the citizen's rating (None: no rating)")
    solved: bool | None = None


class NoteBody(BaseModel):
    model_config = _examples({"note": "请分管领导督办，三日内回复"})
    note: Note = ""


class TransferBody(BaseModel):
    model_config = _examples({"agency_id": "water"})
    agency_id: str = Field(pattern=AGENCY_ID)


class ExtensionDecisionBody(BaseModel):
    model_config = _examples({"grant": True, "note": "同意延期"})
    grant: bool
    note: Note = ""


# -- answers --------------------------------------------------------------------------------

class CaseOut(BaseModel):
    case_number: str
    call_id: str
    state: State
    agency_id: str | None
    caller: str
    category: str
    district: str
    address: str
    request: str
    emergency: bool
    opened_at: datetime
    updated_at: datetime
    accept_due: datetime | None = Field(description="transfer (open) or acceptance due before this time")
    reply_due: datetime | None = Field(description="the agency's reply due before this time")
    handled_at: datetime | None
    transferred_at: datetime | None
    accepted_at: datetime | None
    extension_requested_at: datetime | None
    extended_at: datetime | None
    replied_at: datetime | None
    followed_up_at: datetime | None
    closed_at: datetime | None
    reopened_at: datetime | None
    supervised_at: datetime | None
    accepted_late: bool
    replied_late: bool
    extension_count: int
    extension_days: int
    pending_extension_days: int | None
    pending_extension_reason: str
    result: str
    follow_up_result: Literal["satisfied", "unsatisfied", "unreachable"] | None
    satisfied: bool | None
    solved: bool | None
    reopen_count: int
    close_reason: str
    supervision: list[str] = Field(description="why it is supervised (督办); empty: it is not")
    overdue: list[Literal["transfer", "accept", "reply"]] = Field(description="deadlines missed now")
    allowed: list[str] = Field(description="the events legal now (Accept, AskForMoreTime, Reply...)")

    @classmethod
    def of(cls, case: Case, now: datetime, rules: Any) -> "CaseOut":
        values: dict[str, Any] = {name: getattr(case, name) for name in cls.model_fields
                                  if name not in ("state", "supervision", "overdue", "allowed")}
        return cls(**values, state=case.state.value, supervision=list(case.supervision),  # type: ignore[arg-type]
                   overdue=list(overdue(case, now)), allowed=list(allowed(case, now, rules)))  # type: ignore[arg-type]


class CaseEventOut(BaseModel):
    at: datetime
    kind: str = Field(description="open, or an event: transfer, accept, ask_for_more_time, reply, flag...")
    actor: str = Field(description="a user name, system or follow_up")
    state: State = Field(description="the case's state after it")
    data: dict[str, Any]

    @classmethod
    def of(cls, entry: CaseEntry) -> "CaseEventOut":
        return cls(at=entry.at, kind=entry.kind, actor=entry.actor, state=entry.state,  # type: ignore[arg-type]
                   data=dict(entry.data))


class FollowUpOut(BaseModel):
    reason: Literal["reply", "direct_sample"]
    state: Literal["scheduled", "done", "unreachable", "cancelled"]
    ready_at: datetime
    due_by: datetime
    next_attempt_at: datetime | None
    attempts: int
    last_attempt_at: datetime | None
    last_outcome: str | None
    result: str | None
    satisfied: bool | None
    solved: bool | None

    @classmethod
    def of(cls, f: FollowUp) -> "FollowUpOut":
        return cls(**{name: getattr(f, name) for name in cls.model_fields})


class CaseDetailOut(CaseOut):
    events: list[CaseEventOut]
    follow_ups: list[FollowUpOut]


class SupervisionEntryOut(BaseModel):
    case: CaseOut
    notes: list[CaseEventOut] = Field(description="the escalation notes since it was flagged")

    @classmethod
    def of(cls, entry: SupervisionEntry, now: datetime, rules: Any) -> "SupervisionEntryOut":
        return cls(case=CaseOut.of(entry.case, now, rules), notes=[CaseEventOut.of(n) for n in entry.notes])


class AgencyMeOut(BaseModel):
    username: str
    agency_id: str
    name_zh: str
    name_en: str
    expires_at: datetime


class AgencyScoreOut(BaseModel):
    rank: int | None = Field(description="competition rank (1, 2, 2, 4); none: too few cases")
    agency_id: str
    name_zh: str
    name_en: str
    received: int
    accepted_on_time: int
    accepted_late: int
    replied_on_time: int
    replied_late: int
    completed: int
    follow_ups: int
    satisfied: int
    reopened: int
    accepted_on_time_rate: float | None
    replied_on_time_rate: float | None
    completion_rate: float | None
    satisfaction_rate: float | None
    reopen_rate: float | None
    score: float | None = Field(description="0-100, the weighted mean of the rates")


class RankingOut(BaseModel):
    start: datetime
    end: datetime
    as_of: datetime
    weights: dict[str, float]
    min_cases: int
    agencies: list[AgencyScoreOut]


def score_out(agency: AgencyScore, names: tuple[str, str]) -> AgencyScoreOut:
    rates = agency.rates
    return AgencyScoreOut(
        rank=agency.rank, agency_id=agency.agency_id, name_zh=names[0], name_en=names[1], received=agency.received,
        accepted_on_time=agency.accepted_on_time, accepted_late=agency.accepted_late,
        replied_on_time=agency.replied_on_time, replied_late=agency.replied_late, completed=agency.completed,
        follow_ups=agency.follow_ups, satisfied=agency.satisfied, reopened=agency.reopened,
        accepted_on_time_rate=rates["accepted_on_time"], replied_on_time_rate=rates["replied_on_time"],
        completion_rate=rates["completion"], satisfaction_rate=rates["satisfaction"],
        reopen_rate=agency.reopen_rate, score=agency.score)
