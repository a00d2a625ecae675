"""The agency directory: who the hotline may bring into a call, and on which numbers.

A call taker's three-party call (三方连线) or transfer dials an agency from this directory and
from nowhere else: the dialplan's agency context is rendered from it (``numbers``), and an API
call names an agency by id, never a number. Loaded strictly at start-up and by ``hotline
reload`` (every error names the file, the agency and the field); searched by name, domain or
category; ``numbers_to_try`` gives the numbers in the order to dial them at a given time (the
office lines during office hours, the duty lines always).

Pure: no I/O beyond reading the file in ``load_directory``; times are passed in.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any, Iterable

import yaml

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ID = re.compile(r"[a-z][a-z0-9_]{1,39}")
_NUMBER = re.compile(r"[0-9]{3,20}")
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
_FIELDS = {"id", "name", "department", "domains", "categories", "numbers", "office_hours", "notes"}


class DirectoryError(ValueError):
    """The directory file is unusable; the message names the file, the agency and the field."""


@dataclass(frozen=True)
class OfficeHours:
    days: frozenset[str] = frozenset(DAYS[:5])
    start: time = time(9, 0)
    end: time = time(17, 0)

    def open_at(self, when: datetime) -> bool:
        return DAYS[when.weekday()] in self.days and self.start <= when.time() < self.end


@dataclass(frozen=True)
class AgencyNumber:
    number: str
    always: bool  # a 24x7 duty line; else only during office hours


@dataclass(frozen=True)
class Agency:
    agency_id: str
    name_zh: str
    name_en: str
    department: str
    domains: frozenset[str]
    categories: tuple[str, ...]
    numbers: tuple[AgencyNumber, ...]
    office_hours: OfficeHours = OfficeHours()
    notes: str = ""

    def numbers_to_try(self, when: datetime) -> tuple[str, ...]:
        """The numbers to dial at ``when`` (local time), in the directory's order: office lines
        while the office is open, duty lines always. Empty: out of hours, nobody to reach."""
        open_now = self.office_hours.open_at(when)
        return tuple(n.number for n in self.numbers if n.always or open_now)

    def matches(self, words: str) -> bool:
        """Whether every word of ``words`` is in the agency's names, id, department,
        domains or categories (case-insensitive)."""
        text = " ".join((self.agency_id, self.name_zh, self.name_en, self.department, *self.domains,
                         *self.categories)).lower()
        return all(word in text for word in words.lower().split())


@dataclass(frozen=True)
class Directory:
    agencies: tuple[Agency, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {a.agency_id: a for a in self.agencies})

    def get(self, agency_id: str) -> Agency | None:
        return self._by_id.get(agency_id)  # type: ignore[attr-defined, no-any-return]

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(a.agency_id for a in self.agencies)

    @property
    def numbers(self) -> tuple[str, ...]:
        """Every number the hotline may dial for an agency (the agency context's extensions)."""
        return tuple(sorted({n.number for a in self.agencies for n in a.numbers}))

    def search(self, words: str = "", domain: str = "") -> tuple[Agency, ...]:
        """Agencies whose text holds every word and, if given, that handle ``domain``."""
        return tuple(a for a in self.agencies if (not domain or domain in a.domains) and a.matches(words))


def load_directory(path: Path, known_domains: Iterable[str] | None = None) -> Directory:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise DirectoryError(f"{path}: cannot read the agency directory: {exc}") from exc
    return parse_directory(data, str(path), known_domains)


def parse_directory(data: Any, where: str, known_domains: Iterable[str] | None = None) -> Directory:
    """Validate the directory. ``known_domains`` (the skills of queues.yaml and the roster)
    catches a misspelt domain; a number listed by two agencies is an error too (a call
    would not know whom it reached)."""
    if not isinstance(data, dict) or not isinstance(data.get("agencies"), list) or set(data) != {"agencies"}:
        raise DirectoryError(f"{where}: expected a mapping with one key, 'agencies', holding a list")
    domains = frozenset(known_domains) if known_domains is not None else None
    agencies = tuple(_agency(item, f"{where}: agencies[{i}]", domains) for i, item in enumerate(data["agencies"]))
    seen_ids: dict[str, str] = {}
    seen_numbers: dict[str, str] = {}
    for agency in agencies:
        if agency.agency_id in seen_ids:
            raise DirectoryError(f"{where}: agency {agency.agency_id}: listed twice")
        seen_ids[agency.agency_id] = agency.agency_id
        for n in agency.numbers:
            other = seen_numbers.setdefault(n.number, agency.agency_id)
            if other != agency.agency_id:
                raise DirectoryError(f"{where}: agency {agency.agency_id}: number {n.number} is also {other}'s")
    return Directory(agencies)


def _agency(raw: Any, where: str, domains: frozenset[str] | None) -> Agency:
    if not isinstance(raw, dict):
        raise DirectoryError(f"{where}: expected a mapping")
    agency_id = str(raw.get("id", ""))
    if not _ID.fullmatch(agency_id):
        raise DirectoryError(f"{where}: field 'id' {agency_id!r} must be 2-40 lower-case letters, digits or _")
    where = f"{where.rsplit(': ', 1)[0]}: agency {agency_id}"
    unknown = sorted(map(str, set(raw) - _FIELDS))
    if unknown:
        raise DirectoryError(f"{where}: unknown field(s) {', '.join(unknown)} (allowed: {', '.join(sorted(_FIELDS))})")
    name = raw.get("name")
    if not isinstance(name, dict) or not all(isinstance(name.get(k), str) and name.get(k) for k in ("zh", "en")):
        raise DirectoryError(f"{where}: field 'name' needs both zh and en")
    found = frozenset(_strings(raw.get("domains"), f"{where}: field 'domains'"))
    if domains is not None and not found <= domains:
        raise DirectoryError(f"{where}: field 'domains': unknown {', '.join(sorted(found - domains))} "
                             f"(known: {', '.join(sorted(domains))})")
    return Agency(agency_id, name["zh"], name["en"], str(raw.get("department", "")), found,
                  tuple(_strings(raw.get("categories", []), f"{where}: field 'categories'")),
                  _numbers(raw.get("numbers"), where), _hours(raw.get("office_hours"), where),
                  str(raw.get("notes", "")))


def _strings(raw: Any, where: str) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
        raise DirectoryError(f"{where} must be a list of names")
    return list(raw)


def _numbers(raw: Any, where: str) -> tuple[AgencyNumber, ...]:
    if not isinstance(raw, list) or not raw:
        raise DirectoryError(f"{where}: field 'numbers' must list at least one number")
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or set(item) - {"number", "hours"}:
            raise DirectoryError(f"{where}: numbers[{i}] must be {{number, hours}}")
        number, hours = str(item.get("number", "")), item.get("hours", "office")
        if not _NUMBER.fullmatch(number):
            raise DirectoryError(f"{where}: numbers[{i}]: {number!r} is not a number (ASCII digits only)")
        if hours not in ("office", "24x7"):
            raise DirectoryError(f"{where}: numbers[{i}]: hours must be office or 24x7, not {hours!r}")
        out.append(AgencyNumber(number, hours == "24x7"))
    return tuple(out)


def _hours(raw: Any, where: str) -> OfficeHours:
    if raw is None:
        return OfficeHours()
    if not isinstance(raw, dict) or set(raw) - {"days", "from", "to"}:
        raise DirectoryError(f"{where}: field 'office_hours' must be {{days, from, to}}")
    days = raw.get("days", list(DAYS[:5]))
    if not isinstance(days, list) or not days or not set(days) <= set(DAYS):
        raise DirectoryError(f"{where}: office_hours: days must be a list of {', '.join(DAYS)}")
    clocks = []
    for key, default in (("from", "09:00"), ("to", "17:00")):
        value = str(raw.get(key, default))
        if not _CLOCK.fullmatch(value):
            raise DirectoryError(f"{where}: office_hours: {key} {value!r} must be HH:MM")
        clocks.append(time(int(value[:2]), int(value[3:])))
    if clocks[0] >= clocks[1]:
        raise DirectoryError(f"{where}: office_hours: from must be before to")
    return OfficeHours(frozenset(days), clocks[0], clocks[1])
