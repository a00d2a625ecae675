"""Each call taker's own SIP password, for the softphone that registers as their seat.

Why not the roster: the roster is configuration under version control; a password is a
secret. The file (``<var>/sip-credentials.json``, mode 0600) keeps only each agent's digest
hash (``md5_cred``: MD5 of ``agent:realm:password``, what PJSIP checks a digest response
against), so neither the file nor the rendered ``pjsip.conf`` holds a password. It is set by
``hotline agent sip-password <id>``, which prints a generated password once (or takes one
from ``HOTLINE_NEW_PASSWORD``).

A seat with no password set cannot register: its auth section gets a password derived from
the instance's secret that nobody is told (an HMAC), so a seat never falls back to a shared
secret. Seats with a fixed contact (SIPp demo phones) are rung without registering.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from pathlib import Path
from typing import Mapping

REALM = "hotline"
FILE_NAME = "sip-credentials.json"
_MD5 = re.compile(r"[0-9a-f]{32}")


class CredentialError(ValueError):
    """The credentials file or a password cannot be used (the message names which)."""


def md5_cred(agent_id: str, password: str, realm: str = REALM) -> str:
    """PJSIP's ``md5_cred`` for this agent and password."""
    return hashlib.md5(f"{agent_id}:{realm}:{password}".encode()).hexdigest()


def locked_password(agent_id: str, instance_secret: str) -> str:
    """The password of a seat with none set: derived, never shown, so nobody registers."""
    return hmac.new(instance_secret.encode(), f"locked-seat:{agent_id}".encode(), hashlib.sha256).hexdigest()


def new_password() -> str:
    """A random password a softphone's settings page accepts (letters and digits, 20)."""
    return secrets.token_urlsafe(15).replace("-", "x").replace("_", "y")


def load(path: Path) -> dict[str, str]:
    """agent id -> md5_cred; {} when there is no file yet."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CredentialError(f"{path}: unreadable ({exc})") from exc
    if not isinstance(data, dict):
        raise CredentialError(f"{path}: expected an object of agent id -> md5_cred")
    for agent_id, cred in data.items():
        if not isinstance(cred, str) or not _MD5.fullmatch(cred):
            raise CredentialError(f"{path}: agent {agent_id!r}: md5_cred must be 32 hex digits")
    return dict(data)


def store(path: Path, agent_id: str, password: str) -> None:
    """Set ``agent_id``'s password (its hash only), atomically, the file readable by its owner."""
    if len(password) < 8 or any(c in password for c in "\r\n\"'; "):
        raise CredentialError("a SIP password needs at least 8 characters and no quotes, spaces, ';' or newlines")
    creds = load(path)
    creds[agent_id] = md5_cred(agent_id, password)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(creds, fh, indent=1, sort_keys=True)
    os.replace(tmp, path)


def auth_lines(agent_id: str, creds: Mapping[str, str], instance_secret: str) -> dict[str, str]:
    """The PJSIP auth section's fields for this seat."""
    if agent_id in creds:
        return {"auth_type": "md5", "realm": REALM, "md5_cred": creds[agent_id]}
    return {"auth_type": "userpass", "realm": REALM, "password": locked_password(agent_id, instance_secret)}
