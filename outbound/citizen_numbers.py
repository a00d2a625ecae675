"""Which citizen numbers the hotline may dial: the rule between a caller ID and a ``Dial``.

A caller ID is whatever the carrier delivered, and a hostile one can be anything a SIP user
part allows: an international or premium-rate number (toll fraud), or ``&`` and ``/`` that
would add a second target to Asterisk's dial string. So every outbound dial of a citizen
goes through ``CitizenNumberPolicy.check``, which answers with a ``Verdict``: either a number
made of ASCII digits only that an ``allow`` rule of ``outbound/citizen_numbers.yaml`` matched
and no ``refuse`` rule did, or a refusal with the reason the caller is told. The dial string
is then built by ``trunk_dial_target``, which accepts nothing but such a number.

Pure: no I/O beyond reading the policy file in ``load_number_policy``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_SEPARATORS = re.compile(r"[\s\-.()]")
_DIGITS = re.compile(r"[0-9]+")
MAX_DIGITS = 20  # E.164 allows 15; anything longer is not a phone number


class NumberPolicyError(ValueError):
    """The policy file is unusable; the message names the file, the entry and the field."""


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    why: str = ""
    prefix: str = ""


@dataclass(frozen=True)
class Verdict:
    """The answer for one caller ID: ``number`` to dial (ASCII digits) or None, the rule
    that decided and, for a refusal, why (told to the caller, logged, stored)."""

    number: str | None
    rule: str
    why: str = ""

    @property
    def allowed(self) -> bool:
        return self.number is not None


@dataclass(frozen=True)
class CitizenNumberPolicy:
    country_code: str
    refuse: tuple[Rule, ...]
    allow: tuple[Rule, ...]

    def normalise(self, caller_id: str) -> str | None:
        """The caller ID as ASCII digits, in national form when it carries our country code;
        None when it is not a phone number at all."""
        raw = _SEPARATORS.sub("", caller_id)
        if raw.startswith("+"):
            raw = "00" + raw[1:]
        if not _DIGITS.fullmatch(raw) or len(raw) > MAX_DIGITS:
            return None
        for lead in (f"00{self.country_code}", self.country_code):
            if self.country_code and raw.startswith(lead):
                national = _national(raw[len(lead):])
                if national is not None:
                    return national
        return raw

    def check(self, caller_id: str) -> Verdict:
        """May this caller ID be dialled back, and as which number?"""
        number = self.normalise(caller_id)
        if number is None:
            return Verdict(None, "not a number", "not a phone number we can dial")
        for rule in self.refuse:
            if rule.pattern.fullmatch(number):
                return Verdict(None, rule.name, rule.why or rule.name)
        for rule in self.allow:
            if rule.pattern.fullmatch(number):
                return Verdict(rule.prefix + number, rule.name)
        return Verdict(None, "no allow rule", "a number outside the numbers we call back")


def _national(rest: str) -> str | None:
    """What follows a country code, in national form: a mobile number as it is, a landline
    (area code without its trunk zero, then the subscriber) with the zero put back."""
    if re.fullmatch(r"1[3-9][0-9]{9}", rest):
        return rest
    if re.fullmatch(r"[1-9][0-9]{8,10}", rest):
        return "0" + rest
    return None


def trunk_dial_target(number: str, endpoint: str) -> str:
    """The ``Dial`` target for ``number`` over the PJSIP ``endpoint``. Raises ValueError for
    anything but ASCII digits, so no character can add a target (``&``), pick another
    endpoint (``/``, ``@``) or change Dial's options (``,``): the last guard before Asterisk."""
    if not _DIGITS.fullmatch(number) or len(number) > MAX_DIGITS + 8:
        raise ValueError(f"refusing to dial {number!r}: not a checked number")
    return f"PJSIP/{number}@{endpoint}"


def load_number_policy(path: Path) -> CitizenNumberPolicy:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise NumberPolicyError(f"{path}: cannot read the number policy: {exc}") from exc
    return parse_number_policy(data, str(path))


def parse_number_policy(data: Any, where: str) -> CitizenNumberPolicy:
    """Validate the policy's data; every error names the file, the entry and the field."""
    if not isinstance(data, dict):
        raise NumberPolicyError(f"{where}: expected a mapping with 'allow' and 'refuse' lists")
    unknown = sorted(set(data) - {"country_code", "allow", "refuse"})
    if unknown:
        raise NumberPolicyError(f"{where}: unknown key(s) {', '.join(unknown)}")
    country = str(data.get("country_code", ""))
    if country and not _DIGITS.fullmatch(country):
        raise NumberPolicyError(f"{where}: country_code {country!r} must be digits")
    allow = _rules(data.get("allow"), f"{where}: allow", prefix_ok=True)
    if not allow:
        raise NumberPolicyError(f"{where}: allow: at least one rule is needed (else nobody can be called back)")
    return CitizenNumberPolicy(country, _rules(data.get("refuse") or [], f"{where}: refuse", prefix_ok=False), allow)


def _rules(raw: Any, where: str, prefix_ok: bool) -> tuple[Rule, ...]:
    if not isinstance(raw, list):
        raise NumberPolicyError(f"{where}: expected a list of rules")
    return tuple(_rule(item, f"{where}[{i}]", prefix_ok) for i, item in enumerate(raw))


def _rule(item: Any, where: str, prefix_ok: bool) -> Rule:
    fields = {"name", "pattern", "why"} | ({"prefix"} if prefix_ok else set())
    if not isinstance(item, dict):
        raise NumberPolicyError(f"{where}: expected a mapping with name and pattern")
    name, pattern, prefix = str(item.get("name", "")), item.get("pattern"), str(item.get("prefix", ""))
    where = f"{where} ({name or 'unnamed'})"
    unknown = sorted(map(str, set(item) - fields))
    if unknown:
        raise NumberPolicyError(f"{where}: unknown field(s) {', '.join(unknown)} (allowed: {', '.join(sorted(fields))})")
    if not name:
        raise NumberPolicyError(f"{where}: field 'name' is required")
    if not isinstance(pattern, str) or not pattern:
        raise NumberPolicyError(f"{where}: field 'pattern' must be a regular expression")
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise NumberPolicyError(f"{where}: field 'pattern' {pattern!r} is not a regular expression: {exc}") from exc
    if prefix and not _DIGITS.fullmatch(prefix):
        raise NumberPolicyError(f"{where}: field 'prefix' {prefix!r} must be digits")
    return Rule(name, compiled, str(item.get("why", "")), prefix)
