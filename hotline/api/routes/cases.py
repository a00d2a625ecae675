"""Cases after the call: the agencies' own routes, the supervisors' routes, and the ranking.

Who may do what:

- ``agency`` users (``/agency/...``): list their agency's cases (``state``, ``overdue``),
  read one, accept it, ask for more time (a reason and working days), reply (the result),
  or return it (not their business); a case of any other agency is 403 ``not_your_case``
  (checked in the same transaction as the change). They do not see the supervision notes
  or the follow-up attempts, only the case's state, deadlines and supervision reasons.
  ``/agency/me`` and ``DELETE /agency/session`` are their "who am I" and logout (the
  hotline's own are for hotline users).
- supervisors and admins read every case, a case with its whole history, the supervision
  list (督办, with the escalation notes; not ``/supervision``, which is listen/whisper) and
  the agencies' ranking (JSON, CSV or PNG);
- supervisors act: supervise by hand with a note (or end the supervision), reopen, close,
  transfer (again, after a return), grant or refuse an extension;
- call takers and supervisors record a follow-up made by a person (``/follow-up``). Admins manage accounts,
  not cases: they read only (as for work orders).

An event the case's state or a rule does not allow is 409 ``illegal_in_state`` naming the
events that are legal.
"""
# No ``from __future__ import annotations``: FastAPI must see the annotations as objects.
import asyncio
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from cases.lifecycle import (Accept, AskForMoreTime, Case, CaseState, Close, Event, Flag, GrantMoreTime, Refuse,
                             Reopen, Reply, Return, Transfer, Unflag)
from cases.query import CaseQuery
from cases.ranking import rank, to_csv
from cases.ranking_chart import ranking_chart
from hotline.api.auth import COOKIE, Allow, Principal, log_out
from hotline.api.config import ApiConfig
from hotline.api.deps import ApiRuntime, runtime
from hotline.api.errors import ApiError, error_responses
from hotline.api.models_cases import (AgencyMeOut, CaseDetailOut, CaseEventOut, CaseOut, ExtendBody,
                                      ExtensionDecisionBody, FollowUpOut, FollowUpResultBody, NoteBody, RankingOut,
                                      ReasonBody, ReplyBody, State, SupervisionEntryOut, TransferBody, score_out)
from hotline.api.models_work_orders import CASE_NUMBER
from hotline.api.ports import NotFound, Unavailable
from hotline.api.ports_cases import NotYourCase

Api = Annotated[ApiRuntime, Depends(runtime)]
AgencyUser = Annotated[Principal, Depends(Allow("agency"))]
Staff = Annotated[Principal, Depends(Allow("supervisor", "admin"))]
Supervisor = Annotated[Principal, Depends(Allow("supervisor"))]
CallTaker = Annotated[Principal, Depends(Allow("agent", "supervisor"))]
CaseNumber = Annotated[str, Path(pattern=CASE_NUMBER, description="the case number (YYYYMMDD-NNNN)")]
READ = error_responses(401, 403, 404, 422, 503)
ACT = error_responses(400, 401, 403, 404, 409, 422, 503)
HIDDEN_FROM_AGENCIES = frozenset({"flag", "unflag", "follow_up_attempt"})
MAX_DAYS = 366


def _now(api: ApiRuntime) -> datetime:
    return datetime.fromtimestamp(api.deps.clock(), tz=api.deps.cases.tz())


def _out(api: ApiRuntime, case: Case) -> CaseOut:
    return CaseOut.of(case, _now(api), api.deps.cases.rules().deadlines)


async def _detail(api: ApiRuntime, case: Case, for_agency: bool) -> CaseDetailOut:
    cases = api.deps.cases
    entries = await cases.events(case.case_number)
    if for_agency:
        entries = [e for e in entries if e.kind not in HIDDEN_FROM_AGENCIES]
    follow_ups = [] if for_agency else await cases.follow_ups(case.case_number)
    events = [CaseEventOut.of(e) for e in entries]
    if for_agency:
        events = [e.model_copy(update={"data": {}}) if e.kind == "open" else e for e in events]
    return CaseDetailOut(**_out(api, case).model_dump(), events=events,
                         follow_ups=[FollowUpOut.of(f) for f in follow_ups])


def _agency_of(who: Principal) -> str:
    if not who.agency_id:  # the table's check makes this impossible; never guess an agency
        raise ApiError(403, "forbidden", "this agency account is bound to no agency")
    return who.agency_id


async def _own_case(api: ApiRuntime, who: Principal, number: str) -> Case:
    case = await api.deps.cases.get(number)
    if case is None:
        raise NotFound(f"no case {number}")
    if case.agency_id != _agency_of(who):
        raise NotYourCase(f"case {number} is not with agency {who.agency_id}")
    return case


async def _agency_act(api: ApiRuntime, who: Principal, number: str, event: Event) -> CaseOut:
    case = await api.deps.cases.act(number, event, api.deps.clock(), who.username, agency_id=_agency_of(who))
    return _out(api, case)


async def _staff_act(api: ApiRuntime, who: Principal, number: str, event: Event) -> CaseOut:
    return _out(api, await api.deps.cases.act(number, event, api.deps.clock(), who.username))


def _invalid(message: str) -> ApiError:
    return ApiError(422, "invalid_request", f"invalid request: {message}")


def _day(value: date | None, name: str) -> date | None:
    if value is not None and not 2000 <= value.year <= 2999:
        raise _invalid(f"{name}: a date between 2000 and 2999")
    return value


def _moment(value: datetime, tz: tzinfo, name: str) -> datetime:
    if not 2000 <= value.year <= 2999:
        raise _invalid(f"{name}: a time between the years 2000 and 2999")
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def _period(api: ApiRuntime, start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """``[from, to)``: by default the current local month."""
    tz = api.deps.cases.tz()
    first = _now(api).date().replace(day=1)
    lo = _moment(start, tz, "from") if start is not None else datetime.combine(first, time(0), tzinfo=tz)
    if end is not None:
        hi = _moment(end, tz, "to")
    else:
        month_after = (lo.date().replace(day=1) + timedelta(days=32)).replace(day=1)
        hi = datetime.combine(month_after, time(0), tzinfo=tz)
    if hi <= lo:
        raise _invalid("to must be after from")
    if hi - lo > timedelta(days=MAX_DAYS):
        raise _invalid(f"a period of at most {MAX_DAYS} days")
    return lo, hi


def _agency_routes(r: APIRouter) -> None:
    @r.get("/agency/me", response_model=AgencyMeOut, responses=error_responses(401, 403, 503))
    async def agency_me(who: AgencyUser, api: Api) -> AgencyMeOut:
        """The agency user and their agency (names from the directory)."""
        agency_id = _agency_of(who)
        agency = api.deps.directory().get(agency_id)
        return AgencyMeOut(username=who.username, agency_id=agency_id,
                           name_zh=agency.name_zh if agency else agency_id,
                           name_en=agency.name_en if agency else agency_id,
                           expires_at=datetime.fromtimestamp(who.expires_at, tz=api.deps.cases.tz()))

    @r.delete("/agency/session", status_code=204, responses=error_responses(401, 403, 503))
    async def agency_log_out(who: AgencyUser, api: Api) -> Response:
        """Log out: the token stops working at once."""
        await log_out(api, who)
        response = Response(status_code=204)
        response.delete_cookie(COOKIE, path="/api/", httponly=True, samesite="strict",
                               secure=api.deps.config.secure_cookies)
        return response

    @r.get("/agency/cases", response_model=list[CaseOut], responses=error_responses(401, 403, 422, 503))
    async def agency_cases(
        who: AgencyUser, api: Api,
        state: Annotated[State | None, Query(description="only cases in this state")] = None,
        overdue: Annotated[bool | None, Query(description="only overdue (true) or on-time (false) cases")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    ) -> list[CaseOut]:
        """The agency's own cases, newest first."""
        query = CaseQuery(agency_id=_agency_of(who), state=CaseState(state) if state else None, overdue=overdue,
                          limit=limit, offset=offset)
        return [_out(api, c) for c in await api.deps.cases.list_cases(query, api.deps.clock())]

    @r.get("/agency/cases/{case_number}", response_model=CaseDetailOut, responses=READ)
    async def agency_case(who: AgencyUser, api: Api, case_number: CaseNumber) -> CaseDetailOut:
        """One of the agency's cases with its history (403 ``not_your_case`` for another's)."""
        return await _detail(api, await _own_case(api, who, case_number), for_agency=True)

    @r.post("/agency/cases/{case_number}/accept", response_model=CaseOut, responses=ACT)
    async def accept(who: AgencyUser, api: Api, case_number: CaseNumber) -> CaseOut:
        """Sign for the case (签收): on time before its ``accept_due``."""
        return await _agency_act(api, who, case_number, Accept())

    @r.post("/agency/cases/{case_number}/extend", response_model=CaseOut, responses=ACT)
    async def extend(who: AgencyUser, api: Api, case_number: CaseNumber, body: ExtendBody) -> CaseOut:
        """Ask for more working days (延期), with the reason; a supervisor grants or refuses."""
        return await _agency_act(api, who, case_number, AskForMoreTime(body.reason, body.days))

    @r.post("/agency/cases/{case_number}/reply", response_model=CaseOut, responses=ACT)
    async def reply(who: AgencyUser, api: Api, case_number: CaseNumber, body: ReplyBody) -> CaseOut:
        """Reply with the result (答复): on time before its ``reply_due``; the citizen's
        follow-up call is scheduled."""
        return await _agency_act(api, who, case_number, Reply(body.result))

    @r.post("/agency/cases/{case_number}/return", response_model=CaseOut, responses=ACT)
    async def give_back(who: AgencyUser, api: Api, case_number: CaseNumber, body: ReasonBody) -> CaseOut:
        """Send the case back to the hotline (退回): not this agency's business, with why."""
        return await _agency_act(api, who, case_number, Return(body.reason))


def _staff_routes(r: APIRouter) -> None:
    @r.get("/cases", response_model=list[CaseOut], responses=error_responses(401, 403, 422, 503))
    async def list_cases(
        _who: Staff, api: Api,
        state: Annotated[State | None, Query()] = None,
        agency_id: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{1,39}$")] = None,
        overdue: Annotated[bool | None, Query(description="as of now")] = None,
        supervised: Annotated[bool | None, Query()] = None,
        caller: Annotated[str | None, Query(max_length=64, pattern=r"^\+?[0-9]{1,63}$")] = None,
        since: Annotated[date | None, Query(description="opened on this local day or later")] = None,
        until: Annotated[date | None, Query(description="opened on this local day or earlier")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    ) -> list[CaseOut]:
        """Cases matching every filter given, newest first."""
        tz = api.deps.cases.tz()
        first, last = _day(since, "since"), _day(until, "until")
        query = CaseQuery(agency_id=agency_id, state=CaseState(state) if state else None, overdue=overdue,
                          supervised=supervised, caller=caller,
                          opened_from=datetime.combine(first, time(0), tzinfo=tz) if first else None,
                          opened_to=datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz) if last else None,
                          limit=limit, offset=offset)
        return [_out(api, c) for c in await api.deps.cases.list_cases(query, api.deps.clock())]

    @r.get("/cases/{case_number}", response_model=CaseDetailOut, responses=READ)
    async def get_case(_who: Staff, api: Api, case_number: CaseNumber) -> CaseDetailOut:
        """The case with its whole history (every event, who, when) and its follow-ups."""
        case = await api.deps.cases.get(case_number)
        if case is None:
            raise NotFound(f"no case {case_number}")
        return await _detail(api, case, for_agency=False)

    @r.post("/cases/{case_number}/supervise", response_model=CaseOut, responses=ACT)
    async def supervise(who: Supervisor, api: Api, case_number: CaseNumber, body: NoteBody) -> CaseOut:
        """Supervise the case by hand (督办), with an escalation note."""
        return await _staff_act(api, who, case_number, Flag("manual", body.note))

    @r.post("/cases/{case_number}/unsupervise", response_model=CaseOut, responses=ACT)
    async def unsupervise(who: Supervisor, api: Api, case_number: CaseNumber, body: NoteBody) -> CaseOut:
        """End the case's supervision (every reason), with a note."""
        return await _staff_act(api, who, case_number, Unflag(body.note))

    @r.post("/cases/{case_number}/reopen", response_model=CaseOut, responses=ACT)
    async def reopen(who: Supervisor, api: Api, case_number: CaseNumber, body: ReasonBody) -> CaseOut:
        """Send the case back to its agency (重办): both deadlines start again."""
        return await _staff_act(api, who, case_number, Reopen(body.reason))

    @r.post("/cases/{case_number}/close", response_model=CaseOut, responses=ACT)
    async def close(who: Supervisor, api: Api, case_number: CaseNumber, body: ReasonBody) -> CaseOut:
        """Close the case (an open one, or one replied to or followed up), with why."""
        return await _staff_act(api, who, case_number, Close(body.reason))

    @r.post("/cases/{case_number}/transfer", response_model=CaseOut, responses=ACT)
    async def transfer(who: Supervisor, api: Api, case_number: CaseNumber, body: TransferBody) -> CaseOut:
        """Transfer an open (e.g. returned) case to an agency of the directory (422
        ``unknown_agency`` otherwise)."""
        if api.deps.directory().get(body.agency_id) is None:
            raise ApiError(422, "unknown_agency", f"no agency {body.agency_id!r} in the directory")
        return await _staff_act(api, who, case_number, Transfer(body.agency_id))

    @r.post("/cases/{case_number}/extension", response_model=CaseOut, responses=ACT)
    async def decide_extension(who: Supervisor, api: Api, case_number: CaseNumber,
                               body: ExtensionDecisionBody) -> CaseOut:
        """Grant the extension the agency asked for (the reply deadline moves by the working
        days asked) or refuse it (a refusal needs a note)."""
        if body.grant:
            return await _staff_act(api, who, case_number, GrantMoreTime(body.note))
        if not body.note:
            raise _invalid("note: a refusal needs a note for the agency")
        return await _staff_act(api, who, case_number, Refuse(body.note))

    @r.post("/cases/{case_number}/follow-up", response_model=CaseOut, responses=ACT)
    async def follow_up_by_hand(who: CallTaker, api: Api, case_number: CaseNumber,
                                body: FollowUpResultBody) -> CaseOut:
        """A follow-up made by a person (人工回访): the call taker a citizen asked for in the
        automated follow-up call, or a manual call. Recorded as one try of the case's scheduled
        follow-up, with the same effects (satisfied closes, unhappy reopens and flags, no
        answer is tried again or ends unreachable); 404 when no follow-up is scheduled."""
        if body.outcome != "answered" and (body.satisfied is not None or body.solved is not None):
            raise _invalid("satisfied/solved: only an answered call has a rating")
        _, case = await api.deps.cases.record_attempt(case_number, body.outcome, api.deps.clock(),
                                                      satisfied=body.satisfied, solved=body.solved,
                                                      actor=who.username)
        return _out(api, case)

    @r.get("/supervision-list", response_model=list[SupervisionEntryOut], responses=error_responses(401, 403, 503))
    async def supervision_list(_who: Staff, api: Api) -> list[SupervisionEntryOut]:
        """The supervised cases (督办), longest supervised first, with their escalation notes."""
        now, rules = _now(api), api.deps.cases.rules().deadlines
        return [SupervisionEntryOut.of(e, now, rules) for e in await api.deps.cases.supervision_list()]


def _ranking_route(r: APIRouter) -> None:
    Start = Annotated[datetime | None, Query(alias="from", description="start (local unless an offset is given); "
                                                                        "default: this month's first day")]
    End = Annotated[datetime | None, Query(alias="to", description="end, exclusive; default: a month after from")]
    other_types: dict[int | str, dict[str, Any]] = {200: {"content": {
        "text/csv": {"schema": {"type": "string"}},
        "image/png": {"schema": {"type": "string", "format": "binary"}}}}}

    @r.get("/reports/agency-ranking", response_model=RankingOut,
           responses={**error_responses(401, 403, 422, 503), **other_types})
    async def agency_ranking(
        _who: Staff, api: Api, start: Start = None, end: End = None,
        format: Annotated[Literal["json", "csv", "png"], Query(description="json, csv or png")] = "json",
    ) -> Any:
        """The agencies' evaluation for the cases transferred in ``[from, to)``: received,
        accepted and replied on time, completion, satisfaction, reopenings, the score (the
        weights of ``cases/rules.yaml``) and the rank. Every agency of the directory is
        listed; one with too few cases is not ranked."""
        cases, directory = api.deps.cases, api.deps.directory()
        lo, hi = _period(api, start, end)
        now = _now(api)
        rules = cases.rules().ranking
        found = await cases.transferred_between(lo.timestamp(), hi.timestamp())
        ranking = rank(found, lo, hi, now, rules, agencies=sorted(directory.ids))

        def names(agency_id: str) -> tuple[str, str]:
            agency = directory.get(agency_id)
            return (agency.name_zh, agency.name_en) if agency else (agency_id, agency_id)

        label = f"{lo:%Y%m%d}-{(hi - timedelta(seconds=1)):%Y%m%d}"
        if format == "csv":
            return Response(to_csv(ranking, names).encode("utf-8"), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="agency-ranking-{label}.csv"'})
        if format == "png":
            from hotline.reports.charts import ChartFontMissing, find_cjk_font  # the reports' font finder
            title = f"承办单位考核排名 {lo:%Y-%m-%d} 至 {(hi - timedelta(seconds=1)):%Y-%m-%d}"
            try:
                png = await asyncio.to_thread(lambda: ranking_chart(ranking, names, title, find_cjk_font()))
            except ChartFontMissing as exc:
                raise Unavailable(str(exc)) from exc
            return Response(png, media_type="image/png")
        return RankingOut(start=lo, end=hi, as_of=now, weights=dict(rules.weights), min_cases=rules.min_cases,
                          agencies=[score_out(a, names(a.agency_id)) for a in ranking])


def router(_config: ApiConfig) -> APIRouter:
    r = APIRouter(tags=["cases"])
    _agency_routes(r)
    _staff_routes(r)
    _ranking_route(r)
    return r

