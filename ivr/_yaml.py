"""A strict YAML reader for flow files.

Plain PyYAML is too forgiving for menus: it silently keeps the last of two
identical keys (so a duplicated digit `"9"` would lose a branch without a
word), and YAML 1.1 turns `010` into 8, `no` into False and `1:30` into 90.
This reader therefore

* keeps every scalar as the string the author wrote (only `null`/`~` and an
  empty value become None, and `<<` still merges anchors); the flow parser converts numbers itself and
  names the field when it cannot;
* records the line of every mapping key and every duplicated key, so the
  validator can report "duplicate digit '9' (lines 12 and 14)".
"""

from __future__ import annotations

from typing import Any

import yaml


class SourceMap(dict[str, Any]):
    """A dict that remembers where its keys were written.

    `lines[key]`: 1-based line of the (last) occurrence of `key`;
    `duplicates`: `(key, first_line, repeated_line)` for each repeated key.
    `line`: line where the mapping itself starts.
    """

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.lines: dict[str, int] = {}
        self.duplicates: list[tuple[str, int, int]] = []


_KEPT_TAGS = frozenset({"tag:yaml.org,2002:null", "tag:yaml.org,2002:merge"})


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader with strings-only scalars and key bookkeeping."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag in _KEPT_TAGS]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> SourceMap:  # type: ignore[override]
        self.flatten_mapping(node)
        mapping = SourceMap(node.start_mark.line + 1)
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                raise yaml.constructor.ConstructorError(
                    None, None, f"mapping keys must be plain names, got {key!r}", key_node.start_mark
                )
            if key in mapping.lines:
                mapping.duplicates.append((key, mapping.lines[key], line))
            mapping[key] = self.construct_object(value_node, deep=deep)
            mapping.lines[key] = line
        return mapping


_StrictLoader.add_constructor("tag:yaml.org,2002:map", _StrictLoader.construct_mapping)


def read_yaml(text: str) -> Any:
    """Parse `text` strictly (see module doc); raises yaml.YAMLError."""
    loader = _StrictLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
