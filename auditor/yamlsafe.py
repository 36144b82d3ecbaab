"""YAML loading for every file the auditor reads: safe (no tags run) and strict (no duplicate keys).

PyYAML's safe loader silently keeps the last of two equal keys, so a pasted block can quietly
replace a whole section of a config, a data map or a scenario's hand-written expectations.
"""

from __future__ import annotations

from typing import Any

import yaml

# libyaml's parser when PyYAML was built with it (the usual wheels are): the pure-Python parser reads
# a data map of thousands of stores ~10x slower. The constructor (and so every check below) is the same.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StrictSafeLoader(_SafeLoader):  # type: ignore[misc, valid-type]
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError:  # `? [a, b]` is valid YAML, but no mapping the auditor reads has such keys
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"found a {type(key).__name__} as a key (keys must be plain values)", key_node.start_mark) from None
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"found duplicate key {key!r} (first at line {seen[key].line + 1})", key_node.start_mark)
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


    def construct_yaml_timestamp(self, node: yaml.ScalarNode, values: Any = None) -> Any:
        """An impossible date (2026-02-30) is a YAML error at its own line, not a bare ValueError."""
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as err:
            raise yaml.constructor.ConstructorError(None, None, f"{node.value!r} is not a valid date ({err})",
                                                    node.start_mark) from None


StrictSafeLoader.add_constructor("tag:yaml.org,2002:timestamp", StrictSafeLoader.construct_yaml_timestamp)


class StrictTextDatesLoader(StrictSafeLoader):
    """Leaves dates as text, so pydantic validates them and a bad date's error keeps its file and line."""


StrictTextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in StrictSafeLoader.yaml_implicit_resolvers.items()
}


def load(text: str, *, dates_as_text: bool = False) -> Any:
    loader = (StrictTextDatesLoader if dates_as_text else StrictSafeLoader)(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
