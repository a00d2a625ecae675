"""Supervisors' phones, from ``agents/supervisors.yaml``: where a listen, whisper or barge
rings (issue 16). A supervisor's phone is a PJSIP endpoint like a call taker's (its own SIP
password, ``hotline agent sip-password <id>``; or a fixed contact) but is never offered a
citizen's call: it is not in the roster, so no queue and no router ever sees it.

Validated at start-up like the roster: the file, the entry and the field are named.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Collection

import yaml

_ID = re.compile(r"^[0-9]{3,8}$")
_CONTACT = re.compile(r"^sip:[^@\s]+@[^:\s]+(:[0-9]{1,5})?$")
_FIELDS = frozenset({"id", "name", "contact"})


class SupervisorPhoneError(ValueError):
    """The supervisors' file is unusable; the message names the file, the entry and the field."""


@dataclass(frozen=True)
class SupervisorPhone:
    agent_id: str           # the endpoint's name (the template calls every phone's id so)
    name: str
    contact: str | None = None


def load_supervisor_phones(path: Path, agent_ids: Collection[str] = ()) -> tuple[SupervisorPhone, ...]:
    """The phones in ``path`` (none when the file does not exist); ids must not be agents'."""
    if not path.exists():
        return ()
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise SupervisorPhoneError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("phones", []), list):
        raise SupervisorPhoneError(f"{path}: expected a mapping with a list under 'phones'")
    phones = tuple(_phone(path, i, raw) for i, raw in enumerate(data.get("phones") or []))
    seen: set[str] = set()
    for phone in phones:
        if phone.agent_id in seen:
            raise SupervisorPhoneError(f"{path}: phone {phone.agent_id}: id used twice")
        if phone.agent_id in agent_ids:
            raise SupervisorPhoneError(f"{path}: phone {phone.agent_id}: id is an agent's (agents/roster.yaml)")
        seen.add(phone.agent_id)
    return phones


def _phone(path: Path, index: int, raw: Any) -> SupervisorPhone:
    where = f"{path}: phones[{index}]"
    if not isinstance(raw, dict):
        raise SupervisorPhoneError(f"{where}: expected a mapping")
    phone_id = str(raw.get("id", ""))
    if not _ID.match(phone_id):
        raise SupervisorPhoneError(f"{where}: id {phone_id!r} must be 3 to 8 digits")
    where = f"{path}: phone {phone_id}"
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        raise SupervisorPhoneError(f"{where}: unknown key(s) {', '.join(map(str, unknown))} "
                                   f"(allowed: {', '.join(sorted(_FIELDS))})")
    contact = raw.get("contact")
    if contact is not None and (not isinstance(contact, str) or not _CONTACT.match(contact)):
        raise SupervisorPhoneError(f"{where}: contact {contact!r} is not a sip:user@host[:port] URI")
    return SupervisorPhone(phone_id, str(raw.get("name") or phone_id), contact)
