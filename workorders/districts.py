"""The districts a work order may name (``districts.yaml``).

Why a list and not free text: the wallboard and the reports count cases per district, and
a name typed three ways counts as three districts. Loaded strictly at start-up: every error
names the file, the entry and the field. Pure: no I/O beyond reading the file.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_ID = re.compile(r"[a-z][a-z0-9_]{1,39}")


class DistrictsError(ValueError):
    """The districts file is unusable; the message names the file, the entry and the field."""


@dataclass(frozen=True)
class District:
    district_id: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class Districts:
    """The city (names) and its districts, in the file's order."""

    city_zh: str
    city_en: str
    districts: tuple[District, ...]

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(d.district_id for d in self.districts)

    def get(self, district_id: str) -> District | None:
        return next((d for d in self.districts if d.district_id == district_id), None)


def load_districts(path: Path) -> Districts:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DistrictsError(f"{path}: cannot read the districts: {exc}") from exc
    return parse_districts(data, str(path))


def parse_districts(data: Any, where: str) -> Districts:
    if not isinstance(data, dict) or set(data) != {"city", "districts"}:
        raise DistrictsError(f"{where}: expected a mapping with the keys 'city' and 'districts'")
    city = _names(data["city"], f"{where}: city")
    if not isinstance(data["districts"], list) or not data["districts"]:
        raise DistrictsError(f"{where}: field 'districts' must list at least one district")
    out: list[District] = []
    for i, raw in enumerate(data["districts"]):
        entry = f"{where}: districts[{i}]"
        if not isinstance(raw, dict):
            raise DistrictsError(f"{entry}: expected a mapping {{id, name}}")
        district_id = raw.get("id")
        if not isinstance(district_id, str) or not _ID.fullmatch(district_id):
            raise DistrictsError(f"{entry}: field 'id' {district_id!r} must be 2-40 lower-case letters, digits or _")
        entry = f"{where}: district {district_id} (districts[{i}])"
        unknown = sorted(map(str, set(raw) - {"id", "name"}))
        if unknown:
            raise DistrictsError(f"{entry}: unknown field(s) {', '.join(unknown)} (allowed: id, name)")
        if any(d.district_id == district_id for d in out):
            raise DistrictsError(f"{entry}: field 'id': listed twice")
        name_zh, name_en = _names(raw.get("name"), entry)
        out.append(District(district_id, name_zh, name_en))
    return Districts(city[0], city[1], tuple(out))


def _names(raw: Any, entry: str) -> tuple[str, str]:
    if not isinstance(raw, dict) or set(raw) - {"zh", "en"}:
        raise DistrictsError(f"{entry}: field 'name' must be {{zh: ..., en: ...}}")
    names = []
    for language in ("zh", "en"):
        value = raw.get(language)
        if not isinstance(value, str) or not value.strip():
            raise DistrictsError(f"{entry}: field 'name': {language} must be a non-empty text")
        names.append(value.strip())
    return names[0], names[1]
