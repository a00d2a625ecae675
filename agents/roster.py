"""The roster: who the call takers are, what they speak and know, from ``agents/roster.yaml``.

Validated at start-up so a typo in a skill level or a duplicate login is reported with the
file and the entry, instead of surfacing as a call that never reaches anyone.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ivr.schema import LANGUAGES as IVR_LANGUAGES

LANGUAGES = frozenset(IVR_LANGUAGES)  # one list: the languages the IVR greets callers in
_AGENT_ID = re.compile(r"^[0-9]{3,8}$")
_FIELDS = frozenset({"id", "name", "languages", "skills", "contact", "login", "queues"})
_CONTACT = re.compile(r"^sip:[^@\s]+@[^:\s]+(:[0-9]{1,5})?$")


class RosterError(ValueError):
    """The roster file is unusable; the message names the file, the entry and the problem."""


@dataclass(frozen=True)
class RosterAgent:
    agent_id: str
    name: str
    languages: frozenset[str]
    skills: tuple[tuple[str, int], ...]
    contact: str | None = None
    login: bool = False
    queues: frozenset[str] = frozenset()  # the lines this seat takes; empty = every line

    @property
    def endpoint(self) -> str:
        return f"PJSIP/{self.agent_id}"


def load_roster(path: Path) -> tuple[RosterAgent, ...]:
    """Read and validate the roster; raise RosterError on the first problem."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise RosterError(f"{path}: cannot read roster: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("agents"), list):
        raise RosterError(f"{path}: expected a mapping with a list under 'agents'")
    agents = tuple(_parse_agent(path, i, raw) for i, raw in enumerate(data["agents"]))
    _check_unique(path, agents)
    return agents


def _parse_agent(path: Path, index: int, raw: Any) -> RosterAgent:
    where = f"{path}: agents[{index}]"
    if not isinstance(raw, dict):
        raise RosterError(f"{where}: expected a mapping")
    agent_id = str(raw.get("id", ""))
    if not _AGENT_ID.match(agent_id):
        raise RosterError(f"{where}: id {agent_id!r} must be 3 to 8 digits")
    where = f"{path}: agent {agent_id}"
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:  # a typo (`skils:`) must not silently mean "no skills"
        raise RosterError(f"{where}: unknown key(s) {', '.join(map(str, unknown))} "
                          f"(allowed: {', '.join(sorted(_FIELDS))})")
    languages = frozenset(raw.get("languages") or ())
    if not languages or not languages <= LANGUAGES:
        raise RosterError(f"{where}: languages {sorted(languages)} must be a non-empty subset of {sorted(LANGUAGES)}")
    return RosterAgent(
        agent_id=agent_id,
        name=str(raw.get("name") or agent_id),
        languages=languages,
        skills=_parse_skills(where, raw.get("skills") or {}),
        contact=_parse_contact(where, raw.get("contact")),
        login=bool(raw.get("login", False)),
        queues=_parse_queues(where, raw.get("queues")),
    )


def _parse_queues(where: str, raw: Any) -> frozenset[str]:
    """The seat's lines (checked against queues.yaml when both are loaded); none = all."""
    if raw is None:
        return frozenset()
    if not isinstance(raw, list) or not raw or not all(isinstance(q, str) and q for q in raw):
        raise RosterError(f"{where}: queues must be a non-empty list of queue names, got {raw!r}")
    return frozenset(raw)


def _parse_skills(where: str, raw: Any) -> tuple[tuple[str, int], ...]:
    if not isinstance(raw, dict):
        raise RosterError(f"{where}: skills must map a skill name to a level 1..5")
    for skill, level in raw.items():
        if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= 5:
            raise RosterError(f"{where}: skill {skill!r} has level {level!r}, expected 1..5")
    return tuple(sorted((str(k), int(v)) for k, v in raw.items()))


def _parse_contact(where: str, raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not _CONTACT.match(raw):
        raise RosterError(f"{where}: contact {raw!r} is not a sip:user@host[:port] URI")
    return raw


def _check_unique(path: Path, agents: tuple[RosterAgent, ...]) -> None:
    seen: set[str] = set()
    for agent in agents:
        if agent.agent_id in seen:
            raise RosterError(f"{path}: agent {agent.agent_id} is listed twice")
        seen.add(agent.agent_id)
