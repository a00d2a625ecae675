"""Request and answer bodies of the work-order routes (pydantic), and their conversions from
the pure values of ``workorders``. Same conventions as ``hotline.api.models``: every request
model has an example (the OpenAPI document shows it, the access tests send it), strings are
bounded, times are ISO 8601 with their offset.

The body checks shapes only (types, lengths, patterns); whether a category, district or
agency exists is the filing rules' business (``workorders.model.validate``), answered as 422
with the field named, like a shape error.
"""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hotline.api.models import AGENCY_ID, Text
from workorders.districts import Districts
from workorders.history import CategoryRef, OrderSummary, PastCall
from workorders.model import NOTES_MAX, REQUEST_MAX, WorkOrder, status_of
from workorders.taxonomy import Node, Taxonomy

CATEGORY = r"^[0-9]{2}\.[0-9]{2}\.[0-9]{2}$"
CATEGORY_PREFIX = r"^[0-9]{2}(\.[0-9]{2}){0,2}$"
DISTRICT = r"^[a-z][a-z0-9_]{1,39}$"
CASE_NUMBER = r"^[0-9]{8}-[0-9]{4,6}$"
CALL_ID = r"^[A-Za-z0-9._-]{1,64}$"
# A typed paragraph: line breaks and tabs, no other control character (a NUL is refused by
# PostgreSQL; the others hide text from the person reading it).
PARAGRAPH = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"

Urgency = Literal["normal", "urgent", "emergency"]
Handling = Literal["direct", "transferred"]
Satisfaction = Literal["satisfied", "basically_satisfied", "unsatisfied", "no_answer"]
Status = Literal["resolved", "transferred", "overdue", "supervision"]


# -- taxonomy -----------------------------------------------------------------------------

class ItemOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    agencies: list[str] = Field(description="directory ids that usually handle it, in order")
    emergency: bool


class SubclassOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    items: list[ItemOut]


class ClassOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    domains: list[str] = Field(default_factory=list, description="the IVR's business domains this class covers")
    subclasses: list[SubclassOut]


class DistrictOut(BaseModel):
    district_id: str
    name_zh: str
    name_en: str


class TaxonomyOut(BaseModel):
    classes: list[ClassOut] = Field(description="class > subclass > item; a case is filed under an item")
    districts: list[DistrictOut] = Field(description="where a case may be")

    @classmethod
    def of(cls, taxonomy: Taxonomy, districts: Districts, leaves: set[str] | None = None) -> "TaxonomyOut":
        """The tree; with ``leaves``, only those items and the classes above them."""
        def item(node: Node) -> ItemOut:
            return ItemOut(code=node.code, name_zh=node.name_zh, name_en=node.name_en,
                           agencies=list(node.agencies), emergency=node.emergency)

        classes = []
        for klass in taxonomy.classes:
            subclasses = []
            for sub in taxonomy.children(klass.code):
                items = [item(n) for n in taxonomy.children(sub.code) if leaves is None or n.code in leaves]
                if items:
                    subclasses.append(SubclassOut(code=sub.code, name_zh=sub.name_zh, name_en=sub.name_en,
                                                  items=items))
            if subclasses:
                classes.append(ClassOut(code=klass.code, name_zh=klass.name_zh, name_en=klass.name_en,
                                        domains=list(klass.domains), subclasses=subclasses))
        return cls(classes=classes, districts=[DistrictOut(district_id=d.district_id, name_zh=d.name_zh,
                                                           name_en=d.name_en) for d in districts.districts])


# -- work orders --------------------------------------------------------------------------

class CategoryOut(BaseModel):
    code: str
    path_zh: list[str] = Field(description="class, subclass, item (empty for a code no longer in the taxonomy)")
    path_en: list[str]
    emergency: bool

    @classmethod
    def of(cls, ref: CategoryRef) -> "CategoryOut":
        return cls(code=ref.code, path_zh=list(ref.path_zh), path_en=list(ref.path_en), emergency=ref.emergency)


class WorkOrderBody(BaseModel):
    """What the call taker files for a call (PUT creates or replaces these fields). The
    caller, the call taker, the satisfaction and the times come from the call, not from here."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "category": "04.03.01", "request": "市民反映楼道内有燃气味，已提醒开窗、勿开关电器并撤离。",
        "district": "lixia", "handling": "transferred", "agency_id": "gas", "urgency": "emergency",
        "notes": "三方连线燃气集团，已派抢修。"}]})
    category: str = Field(pattern=CATEGORY, description="a taxonomy item's code (GET /taxonomy)")
    request: Text = Field(min_length=1, max_length=REQUEST_MAX, pattern=PARAGRAPH,
                          description="what the citizen asks, in the call taker's words")
    district: str = Field(pattern=DISTRICT, description="one of GET /taxonomy's districts")
    handling: Handling = Field(description="direct (直办: answered on the call) or transferred (转办)")
    agency_id: str | None = Field(default=None, pattern=AGENCY_ID,
                                  description="required when transferred: the directory id it goes to")
    urgency: Urgency | None = Field(default=None, description="default: emergency for an emergency item, "
                                                              "else normal")
    three_party: bool | None = Field(default=None, description="default: true when the call had an agency leg")
    notes: Text = Field(default="", max_length=NOTES_MAX, pattern=PARAGRAPH)

    def fields(self) -> dict[str, object]:
        """The fields given, for the filing rules (left-out optional ones are defaults)."""
        return self.model_dump(exclude_none=True)


class WorkOrderOut(BaseModel):
    case_number: str = Field(description="YYYYMMDD-NNNN: read it out to the citizen")
    call_id: str
    caller: str
    agent_id: str
    category: str
    category_path: CategoryOut
    request: str
    district: str
    urgency: Urgency
    handling: Handling
    agency_id: str | None
    due_at: datetime | None = Field(description="transferred: 2 working days after it was transferred")
    three_party: bool
    satisfaction: Satisfaction | None
    notes: str
    status: Status
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, order: WorkOrder, category: CategoryRef, now: datetime) -> "WorkOrderOut":
        return cls.model_validate({
            "case_number": order.case_number or "", "call_id": order.call_id, "caller": order.caller,
            "agent_id": order.agent_id, "category": order.category, "category_path": CategoryOut.of(category),
            "request": order.request, "district": order.district, "urgency": order.urgency,
            "handling": order.handling, "agency_id": order.agency_id, "due_at": order.due_at,
            "three_party": order.three_party, "satisfaction": order.satisfaction, "notes": order.notes,
            "status": status_of(order, now), "created_at": order.created_at, "updated_at": order.updated_at})


# -- history ------------------------------------------------------------------------------

class PastOrderOut(BaseModel):
    case_number: str
    category: CategoryOut
    status: Status
    request: str
    notes: str
    handling: Handling
    agency_id: str | None
    due_at: datetime | None
    urgency: Urgency

    @classmethod
    def of(cls, summary: OrderSummary) -> "PastOrderOut":
        return cls.model_validate({
            "case_number": summary.case_number, "category": CategoryOut.of(summary.category),
            "status": summary.status, "request": summary.request, "notes": summary.notes,
            "handling": summary.handling, "agency_id": summary.agency_id, "due_at": summary.due_at,
            "urgency": summary.urgency})


class PastCallOut(BaseModel):
    call_id: str
    arrived_at: datetime
    agent_id: str
    queue: str
    outcome: str
    satisfaction: str | None
    work_order: PastOrderOut | None

    @classmethod
    def of(cls, call: PastCall) -> "PastCallOut":
        return cls(call_id=call.call_id, arrived_at=call.arrived_at, agent_id=call.agent_id, queue=call.queue,
                   outcome=call.outcome, satisfaction=call.satisfaction,
                   work_order=PastOrderOut.of(call.work_order) if call.work_order else None)


class HistoryOut(BaseModel):
    call_id: str = Field(description="the call whose caller this is")
    caller: str
    days: int
    since: datetime
    calls: list[PastCallOut] = Field(description="the caller's stored calls since `since`, newest first (none "
                                                 "for a withheld number)")
