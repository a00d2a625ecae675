"""The API's request and answer bodies (pydantic), and their conversions from the ports'
values. Each request model has an example: the OpenAPI document shows it, and the tests
that walk the document send it.

Times are ISO 8601 in UTC. Strings from clients are bounded and single-line, so nothing a
client sends can grow a log line or a database row without limit.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model

from agents.state import AgentRecord
from hotline.api.ports import User
from outbound.agencies import DAYS, Agency

AGENCY_ID = r"^[a-z][a-z0-9_]{1,39}$"
NUMBER = r"^[0-9]{3,20}$"
LINE = r"^[^\x00-\x1f\x7f]*$"  # no control characters (newlines included)


def _encodable(text: str) -> str:
    """Refuse lone surrogates (JSON can carry ``"\\ud800"``): no store could encode them."""
    text.encode("utf-8")
    return text


Text = Annotated[str, AfterValidator(_encodable)]


def utc(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz=timezone.utc)


def _examples(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": [example]})


# -- session ------------------------------------------------------------------------------

class LoginBody(BaseModel):
    model_config = _examples({"username": "alice", "password": "correct horse battery"})
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class SessionOut(BaseModel):
    token: str = Field(description="send as 'Authorization: Bearer <token>' (or use the cookie)")
    csrf: str = Field(description="send as X-CSRF-Token on every non-GET request authenticated by the cookie")
    role: Literal["agent", "supervisor", "admin", "agency"]
    agent_id: str | None
    expires_at: datetime


class MeOut(BaseModel):
    username: str
    role: Literal["agent", "supervisor", "admin"]
    agent_id: str | None
    expires_at: datetime


# -- agents -------------------------------------------------------------------------------

class AgentOut(BaseModel):
    agent_id: str
    state: Literal["logged_out", "available", "reserved", "ringing", "on_call", "wrap_up", "paused"]
    since: datetime | None
    pause_reason: str | None = Field(description="while paused; or a pause pending until the call's wrap-up ends")
    call_id: str | None
    queue: str | None
    wrap_until: datetime | None
    calls_taken: int
    misses: int

    @classmethod
    def of(cls, record: AgentRecord) -> "AgentOut":
        return cls(agent_id=record.agent_id, state=record.state.value, since=utc(record.since) if record.since else None,
                   pause_reason=record.pause_reason, call_id=record.call_id, queue=record.queue,
                   wrap_until=utc(record.wrap_until), calls_taken=record.calls_taken, misses=record.misses)


class ForceLogoutBody(BaseModel):
    model_config = _examples({"reason": "call gone after a crash"})
    reason: Text = Field(min_length=1, max_length=200, pattern=LINE)


def pause_body_model(reasons: tuple[str, ...]) -> type[BaseModel]:
    """The pause body for this app's list of reasons (an enum in the OpenAPI document)."""
    return create_model(  # type: ignore[call-overload, no-any-return]
        "PauseBody", __config__=_examples({"reason": reasons[0]}),
        reason=(Literal[reasons], Field(description="one of the configured pause reasons")))


def login_body_model(reasons: tuple[str, ...]) -> type[BaseModel]:
    """The optional body of an agent's login: log in paused, for one of the reasons."""
    return create_model(  # type: ignore[call-overload, no-any-return]
        "AgentLoginBody", __config__=_examples({"paused": reasons[0]}),
        paused=(Literal[reasons] | None, Field(default=None, description="log in paused, for this reason")))


# -- calls --------------------------------------------------------------------------------

class ThreePartyOut(BaseModel):
    state: str
    agency_id: str | None = None
    number: str | None = None
    since: datetime | None = None
    allowed: list[str] = Field(default_factory=list, description="the operations the legs' table allows now")


class CallOut(BaseModel):
    """The call as the call taker's screen pop shows it."""

    call_id: str
    caller: str
    dnis: str = Field(default="", description="the number the citizen dialled (12345, 12346, ...)")
    queue: str = Field(description="the line the call came in on")
    language: str
    skills: list[str] = Field(default_factory=list, description="the business domains the IVR tagged")
    state: str
    since: datetime | None
    arrived_at: datetime | None = None
    queued_at: datetime | None = None
    answered_at: datetime | None = None
    wait_seconds: float | None = Field(default=None, description="in line, from queueing to the answer")
    ivr_path: list[dict[str, Any]] = Field(default_factory=list, description="menus passed and keys pressed")
    repeat_calls: int = Field(default=0, description="the citizen's calls in the last 30 days")
    follow_up_case: str | None = Field(default=None, description="the case whose follow-up call (回访) the citizen "
                                       "left to talk to a call taker: its answer is the call taker's to record")
    allowed: list[str] = Field(default_factory=list, description="three-party operations allowed now")
    three_party: ThreePartyOut | None = None

    @classmethod
    def of(cls, view: dict[str, Any]) -> "CallOut":
        three = view.get("three_party")
        return cls(call_id=str(view["call_id"]), caller=str(view.get("caller", "")), dnis=str(view.get("dnis", "")),
                   queue=str(view.get("queue", "")), language=str(view.get("language", "")),
                   skills=[str(s) for s in view.get("skills") or []], state=str(view.get("state", "")),
                   since=utc(view.get("since")), arrived_at=utc(view.get("arrived_at")),
                   queued_at=utc(view.get("queued_at")), answered_at=utc(view.get("answered_at")),
                   wait_seconds=view.get("wait_seconds"),
                   ivr_path=[dict(step) for step in view.get("ivr_path") or [] if isinstance(step, dict)],
                   repeat_calls=int(view.get("repeat_calls") or 0),
                   follow_up_case=str(view["follow_up_case"]) if view.get("follow_up_case") else None,
                   allowed=[str(a) for a in view.get("allowed") or (three or {}).get("allowed") or []],
                   three_party=None if not three else ThreePartyOut(
                       state=str(three.get("state", "")), agency_id=three.get("agency_id"),
                       number=three.get("number"), since=utc(three.get("since")),
                       allowed=[str(a) for a in three.get("allowed") or []]))


class DialBody(BaseModel):
    """Bring an agency in: by its directory id, optionally on one of its numbers."""

    model_config = _examples({"agency_id": "water"})
    agency_id: str = Field(pattern=AGENCY_ID)
    number: str | None = Field(default=None, pattern=NUMBER,
                               description="one of the agency's directory numbers; default: its numbers now open")


class TransferBody(DialBody):
    model_config = _examples({"agency_id": "water", "mode": "blind"})
    mode: Literal["blind"] = Field(default="blind", description="blind; for attended: consult, then "
                                                                "POST .../call/transfer/complete")


# -- directory ----------------------------------------------------------------------------

class NumberOut(BaseModel):
    number: str
    hours: Literal["office", "24x7"]


class OfficeHoursOut(BaseModel):
    days: list[str]
    from_: str = Field(alias="from")
    to: str
    model_config = ConfigDict(populate_by_name=True)


class AgencyOut(BaseModel):
    agency_id: str
    name_zh: str
    name_en: str
    department: str
    domains: list[str]
    categories: list[str]
    numbers: list[NumberOut]
    office_hours: OfficeHoursOut
    notes: str
    open_now: bool
    numbers_now: list[str] = Field(description="the numbers that would be dialled now, in order")

    @classmethod
    def of(cls, agency: Agency, now: datetime) -> "AgencyOut":
        hours = agency.office_hours
        return cls(
            agency_id=agency.agency_id, name_zh=agency.name_zh, name_en=agency.name_en,
            department=agency.department, domains=sorted(agency.domains), categories=list(agency.categories),
            numbers=[NumberOut(number=n.number, hours="24x7" if n.always else "office") for n in agency.numbers],
            office_hours=OfficeHoursOut(days=[d for d in DAYS if d in hours.days], from_=hours.start.strftime("%H:%M"),
                                        to=hours.end.strftime("%H:%M")),
            notes=agency.notes, open_now=hours.open_at(now), numbers_now=list(agency.numbers_to_try(now)))


# -- users --------------------------------------------------------------------------------

class UserOut(BaseModel):
    username: str
    role: Literal["agent", "supervisor", "admin", "agency"]
    agent_id: str | None
    disabled: bool
    created_at: datetime
    agency_id: str | None = Field(default=None, description="an agency user's agency")

    @classmethod
    def of(cls, user: User) -> "UserOut":
        return cls(username=user.username, role=user.role, agent_id=user.agent_id,  # type: ignore[arg-type]
                   disabled=user.disabled, created_at=utc(user.created_at),  # type: ignore[arg-type]
                   agency_id=user.agency_id)


class NewUserBody(BaseModel):
    model_config = _examples({"username": "bob", "role": "agent", "agent_id": "1002",
                              "password": "a long pass phrase"})
    username: str = Field(min_length=2, max_length=32, pattern=r"^[a-z][a-z0-9._-]{1,31}$")
    role: Literal["agent", "supervisor", "admin"]
    agent_id: str | None = Field(default=None, pattern=r"^[0-9]{3,8}$", description="required for an agent")
    password: str = Field(min_length=8, max_length=1024)


# -- health -------------------------------------------------------------------------------

class HealthOut(BaseModel):
    ok: bool
    redis: bool
    db: bool
