"""The taxonomy of work orders: class > subclass > item, each with a stable code.

Why a file and strict validation: the codes are stored in every work order and counted by
the reports, so a typo (a code under the wrong parent, one code given twice, an agency id
the directory does not know) must stop the start-up with a message that names the file,
the entry and the field, never file cases under a topic nobody can find again.

``Taxonomy`` is immutable: look a node up by code, list the leaves, give a node's path
(breadcrumbs in Chinese or English), search by words. Pure: no I/O beyond reading the file
in ``load_taxonomy``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterable, Mapping

import yaml

from outbound.agencies import Directory

LEVELS = ("class", "subclass", "item")
_CHILDREN = {0: "subclasses", 1: "items", 2: None}  # the key holding each level's children
_FIELDS = ({"code", "name", "subclasses", "domains"}, {"code", "name", "items"}, {"code", "name", "agencies", "emergency"})
_SEGMENT = re.compile(r"[0-9]{2}")
CODE = re.compile(r"[0-9]{2}(\.[0-9]{2}){0,2}")


class TaxonomyError(ValueError):
    """The taxonomy file is unusable; the message names the file, the entry and the field."""


@dataclass(frozen=True)
class Node:
    """One class, subclass or item. ``agencies`` and ``emergency`` are set on items only."""

    code: str
    name_zh: str
    name_en: str
    level: int                       # 0 class, 1 subclass, 2 item
    parent: str | None
    children: tuple[str, ...] = ()   # codes, in the file's order
    agencies: tuple[str, ...] = ()   # directory ids that usually handle it, in order
    emergency: bool = False
    domains: tuple[str, ...] = ()    # classes only: the IVR's business domains it covers (the desk's
                                     # suggestions for a call before its work order has a category)

    @property
    def is_leaf(self) -> bool:
        return self.level == len(LEVELS) - 1


@dataclass(frozen=True)
class Taxonomy:
    """The nodes in the file's order (each class, then its subclasses and their items)."""

    nodes: tuple[Node, ...]
    source: str = ""
    _by_code: Mapping[str, Node] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_code", MappingProxyType({n.code: n for n in self.nodes}))

    def get(self, code: str) -> Node | None:
        return self._by_code.get(code)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    @property
    def classes(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.level == 0)

    def children(self, code: str) -> tuple[Node, ...]:
        node = self._by_code.get(code)
        return tuple(self._by_code[c] for c in node.children) if node else ()

    def leaves(self) -> tuple[Node, ...]:
        """Every item a case may be filed under, in the file's order."""
        return tuple(n for n in self.nodes if n.is_leaf)

    def path(self, code: str) -> tuple[Node, ...]:
        """The nodes from the class down to ``code``; empty for an unknown code."""
        out: list[Node] = []
        node = self._by_code.get(code)
        while node is not None:
            out.append(node)
            node = self._by_code.get(node.parent) if node.parent else None
        return tuple(reversed(out))

    def breadcrumbs(self, code: str, language: str = "zh") -> tuple[str, ...]:
        """The names along ``path(code)`` in ``zh`` or ``en``."""
        return tuple(n.name_en if language == "en" else n.name_zh for n in self.path(code))

    def search(self, words: str) -> tuple[Node, ...]:
        """Leaves matching every word: a code (``04.03``) matches the leaves under it; any
        other word is looked for in the names of the leaf and its parents (case-insensitive;
        a Chinese word matches inside a name: 燃气 finds 燃气泄漏). No words: every leaf."""
        wanted = words.lower().split()
        codes = [w for w in wanted if CODE.fullmatch(w)]
        names = [w for w in wanted if not CODE.fullmatch(w)]
        found = []
        for leaf in self.leaves():
            text = " ".join(f"{n.name_zh} {n.name_en}" for n in self.path(leaf.code)).lower()
            if all(leaf.code == c or leaf.code.startswith(c + ".") for c in codes) and all(w in text for w in names):
                found.append(leaf)
        return tuple(found)


def load_taxonomy(path: Path, directory: Directory | None = None) -> Taxonomy:
    """Read and validate the file; with ``directory``, every agency id must be in it."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TaxonomyError(f"{path}: cannot read the taxonomy: {exc}") from exc
    return parse_taxonomy(data, str(path), directory.ids if directory is not None else None)


def parse_taxonomy(data: Any, where: str, agency_ids: Iterable[str] | None = None) -> Taxonomy:
    """Validate a parsed file. ``where`` is the file's name, for the messages."""
    if not isinstance(data, dict) or set(data) != {"classes"} or not isinstance(data["classes"], list):
        raise TaxonomyError(f"{where}: expected a mapping with one key, 'classes', holding a list")
    if not data["classes"]:
        raise TaxonomyError(f"{where}: field 'classes' is empty: a call could not be filed")
    known = frozenset(agency_ids) if agency_ids is not None else None
    nodes: list[Node] = []
    seen: dict[str, str] = {}
    for i, raw in enumerate(data["classes"]):
        _walk(raw, 0, None, f"classes[{i}]", where, known, nodes, seen)
    return Taxonomy(tuple(nodes), where)


def _walk(raw: Any, level: int, parent: str | None, index: str, where: str, known: frozenset[str] | None,
          out: list[Node], seen: dict[str, str]) -> str:
    kind = LEVELS[level]
    if not isinstance(raw, dict):
        raise TaxonomyError(f"{where}: {kind} {index}: expected a mapping with code and name")
    code = _code(raw.get("code"), level, parent, f"{where}: {kind} {index}")
    entry = f"{where}: {kind} {code} ({index})"
    if code in seen:
        raise TaxonomyError(f"{entry}: field 'code': {code} is also {seen[code]}")
    seen[code] = index
    unknown = sorted(map(str, set(raw) - _FIELDS[level]))
    if unknown:
        raise TaxonomyError(f"{entry}: unknown field(s) {', '.join(unknown)} "
                            f"(allowed: {', '.join(sorted(_FIELDS[level]))})")
    name_zh, name_en = _names(raw.get("name"), entry)
    position = len(out)
    out.append(Node(code, name_zh, name_en, level, parent))  # placeholder: children filled below
    children_key = _CHILDREN[level]
    if children_key is None:
        out[position] = Node(code, name_zh, name_en, level, parent,
                             agencies=_agencies(raw.get("agencies", []), entry, known),
                             emergency=_flag(raw.get("emergency", False), entry))
        return code
    children = raw.get(children_key)
    if not isinstance(children, list) or not children:
        raise TaxonomyError(f"{entry}: field '{children_key}' must list at least one {LEVELS[level + 1]}")
    codes = tuple(_walk(child, level + 1, code, f"{index}.{children_key}[{i}]", where, known, out, seen)
                  for i, child in enumerate(children))
    domains = raw.get("domains", [])
    if not isinstance(domains, list) or not all(isinstance(d, str) and d for d in domains):
        raise TaxonomyError(f"{entry}: field 'domains' must be a list of business domain names")
    out[position] = Node(code, name_zh, name_en, level, parent, children=codes, domains=tuple(domains))
    return code


def _code(raw: Any, level: int, parent: str | None, entry: str) -> str:
    if not isinstance(raw, str):
        hint = " (quote it: YAML reads 04 as a number)" if isinstance(raw, (int, float)) else ""
        raise TaxonomyError(f"{entry}: field 'code' must be a string such as \"04.03.01\"{hint}, not {raw!r}")
    segments = raw.split(".")
    if len(segments) != level + 1 or not all(_SEGMENT.fullmatch(s) for s in segments):
        example = ".".join(["04", "03", "01"][: level + 1])
        raise TaxonomyError(f"{entry}: field 'code' {raw!r} must be {level + 1} pair(s) of digits, like {example!r}")
    if parent is not None and raw.rpartition(".")[0] != parent:
        raise TaxonomyError(f"{entry}: field 'code' {raw!r} must start with its parent's code {parent!r}")
    return raw


def _names(raw: Any, entry: str) -> tuple[str, str]:
    if not isinstance(raw, dict) or set(raw) - {"zh", "en"}:
        raise TaxonomyError(f"{entry}: field 'name' must be {{zh: ..., en: ...}}")
    names = []
    for language in ("zh", "en"):
        value = raw.get(language)
        if not isinstance(value, str) or not value.strip():
            raise TaxonomyError(f"{entry}: field 'name': {language} must be a non-empty text")
        names.append(value.strip())
    return names[0], names[1]


def _agencies(raw: Any, entry: str, known: frozenset[str] | None) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(a, str) and a for a in raw):
        raise TaxonomyError(f"{entry}: field 'agencies' must be a list of agency ids")
    if len(set(raw)) != len(raw):
        raise TaxonomyError(f"{entry}: field 'agencies' names an agency twice")
    if known is not None:
        missing = [a for a in raw if a not in known]
        if missing:
            raise TaxonomyError(f"{entry}: field 'agencies': {', '.join(missing)} not in the agency directory "
                                f"(known: {', '.join(sorted(known))})")
    return tuple(raw)


def _flag(raw: Any, entry: str) -> bool:
    if not isinstance(raw, bool):
        raise TaxonomyError(f"{entry}: field 'emergency' must be true or false, not {raw!r}")
    return raw
