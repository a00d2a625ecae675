"""outbound/agencies.py and the dialplan's agency context: the directory is the only way to an
agency's number (issue 14, points 1-2)."""
from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from agents.roster import RosterAgent
from asterisk_conf.render import render_all
from hotline.settings import PROJECT_ROOT, Settings
from outbound.agencies import DirectoryError, load_directory, parse_directory

SHIPPED = load_directory(PROJECT_ROOT / "outbound" / "agencies.yaml")
MONDAY_10, MONDAY_20, SUNDAY_10 = datetime(2026, 11, 30, 10), datetime(2026, 11, 30, 20), datetime(2026, 11, 29, 10)


def test_the_shipped_directory_covers_the_citys_agencies_and_the_queues_domains() -> None:
    from hotline.config import vocabulary
    from queues import load_queues

    ids = SHIPPED.ids
    for needed in ("traffic_police", "social_insurance", "housing_fund", "water", "heating", "gas",
                   "public_security", "education", "market_supervision", "urban_management"):
        assert needed in ids
    queues = load_queues(PROJECT_ROOT / "queues" / "queues.yaml")
    known = vocabulary({}, queues).skills
    load_directory(PROJECT_ROOT / "outbound" / "agencies.yaml", known_domains=known)  # every domain is known
    assert {d for a in SHIPPED.agencies for d in a.domains} >= {"traffic", "utilities", "education", "housing"}
    assert all(re.fullmatch(r"[0-9]+", n) for n in SHIPPED.numbers)


@pytest.mark.parametrize(("words", "domain", "expected"), [
    ("燃气", "", ["gas"]),
    ("gas leak", "", ["gas"]),
    ("公积金", "", ["housing_fund"]),
    ("", "education", ["education"]),
    ("停水", "utilities", ["water"]),
    ("TRAFFIC", "", ["traffic_police", "urban_management"]),
    ("nothing like this", "", []),
])
def test_search_by_name_category_or_domain(words: str, domain: str, expected: list[str]) -> None:
    assert [a.agency_id for a in SHIPPED.search(words, domain)] == expected


def test_numbers_follow_the_office_hours_duty_lines_always() -> None:
    water = SHIPPED.get("water")
    assert water is not None
    assert water.numbers_to_try(MONDAY_10) == ("053186060001", "053186060099")  # office first, then duty
    assert water.numbers_to_try(MONDAY_20) == ("053186060099",)
    assert water.numbers_to_try(SUNDAY_10) == ("053186060099",)
    education = SHIPPED.get("education")
    assert education is not None and education.numbers_to_try(SUNDAY_10) == ()  # out of hours: nobody
    fund = SHIPPED.get("housing_fund")
    assert fund is not None and fund.numbers_to_try(datetime(2026, 12, 5, 9)) == ("053186040001",)  # open Saturdays


GOOD = {"id": "water", "name": {"zh": "水", "en": "Water"}, "domains": ["utilities"],
        "numbers": [{"number": "0531001", "hours": "office"}]}


@pytest.mark.parametrize(("agencies", "problem"), [
    ([{**GOOD, "id": "Water!"}], "agencies[0]: field 'id' 'Water!'"),
    ([{**GOOD, "name": {"zh": "水"}}], "agency water: field 'name' needs both zh and en"),
    ([{**GOOD, "domains": ["utilites"]}], "agency water: field 'domains': unknown utilites"),
    ([{**GOOD, "numbers": []}], "agency water: field 'numbers' must list at least one number"),
    ([{**GOOD, "numbers": [{"number": "0531&PJSIP/2001"}]}], "agency water: numbers[0]: '0531&PJSIP/2001' is not a number"),
    ([{**GOOD, "numbers": [{"number": "０５３１"}]}], "is not a number"),
    ([{**GOOD, "numbers": [{"number": "0531001", "hours": "night"}]}], "hours must be office or 24x7"),
    ([{**GOOD, "office_hours": {"from": "18:00", "to": "09:00"}}], "from must be before to"),
    ([{**GOOD, "office_hours": {"days": ["monday"]}}], "days must be a list of mon"),
    ([{**GOOD, "phone": "1"}], "agency water: unknown field(s) phone"),
    ([GOOD, GOOD], "agency water: listed twice"),
    ([GOOD, {**GOOD, "id": "gas"}], "agency gas: number 0531001 is also water's"),
])
def test_directory_errors_name_the_file_the_agency_and_the_field(agencies: list, problem: str) -> None:
    with pytest.raises(DirectoryError) as info:
        parse_directory({"agencies": agencies}, "outbound/agencies.yaml", known_domains={"utilities"})
    assert str(info.value).startswith("outbound/agencies.yaml: ") and problem in str(info.value)


def dialplan(settings: Settings) -> dict[str, list[str]]:
    text = render_all(settings, [RosterAgent("1001", "a", frozenset({"zh"}), ())], ["12345"],
                      SHIPPED.numbers)["extensions.conf"]
    sections: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        if line.startswith("["):
            current = line.strip("[]")
            sections[current] = []
        elif line.startswith(("exten", " same")) and current:
            sections[current].append(line.strip())
    return sections


def test_the_agency_context_knows_the_directorys_numbers_and_nothing_else(tmp_path: Path) -> None:
    sections = dialplan(Settings(agency_trunk="127.0.0.1:5090", agi_secret="s"))
    agency = sections["hotline-agency"]
    dials = [line for line in agency if line.startswith("exten") and "Dial(" in line]
    assert sorted(line.split(" => ")[1].split(",")[0] for line in dials) == sorted(SHIPPED.numbers)
    assert all("PJSIP/${EXTEN}@agency-trunk" in line for line in dials)
    others = [line for line in agency if "Dial(" not in line and not line.startswith("same")]
    assert others == ["exten => i,1,Hangup(21)", "exten => _X.,1,Hangup(21)", "exten => _[*#+A-Za-z].,1,Hangup(21)"]
    for context in ("from-citizens", "from-agents", "hotline-entry"):
        assert not [line for line in sections[context] if "agency-trunk" in line]  # no way in from there


def test_without_an_agency_trunk_no_agency_number_is_dialled() -> None:
    agency = dialplan(Settings(agi_secret="s"))["hotline-agency"]
    assert not [line for line in agency if "Dial(" in line]
    pjsip = render_all(Settings(agi_secret="s"), [], ["12345"], SHIPPED.numbers)["pjsip.conf"]
    assert "agency-trunk" not in pjsip


def test_the_ivr_may_transfer_only_to_agencies_of_the_directory(tmp_path: Path) -> None:
    import shutil

    from hotline.config import load_config
    from ivr import FlowError

    for folder in ("queues", "agents", "outbound"):
        shutil.copytree(PROJECT_ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("*.py"))
    shutil.copytree(PROJECT_ROOT / "ivr" / "flows", tmp_path / "ivr" / "flows")
    flow = yaml.safe_load((PROJECT_ROOT / "ivr" / "flows" / "compliant.yaml").read_text())
    flow.update(name="transfer_test", dnis=["12340"], start="out", nodes={"out": {"type": "transfer", "agency": "gas_co"}})
    (tmp_path / "ivr" / "flows" / "transfer_test.yaml").write_text(yaml.safe_dump(flow, allow_unicode=True))
    with pytest.raises(FlowError, match="'gas_co' is not in the agency directory"):
        load_config(Settings(config_dir=tmp_path))
    flow["nodes"]["out"]["agency"] = "gas"
    (tmp_path / "ivr" / "flows" / "transfer_test.yaml").write_text(yaml.safe_dump(flow, allow_unicode=True))
    assert load_config(Settings(config_dir=tmp_path)).directory.get("gas") is not None
