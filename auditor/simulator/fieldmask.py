"""The standard ``fields`` query parameter (partial response), applied server-side.

Grammar (the subset Google documents): ``a,b/c,items(name,settings/tier)``.
"""

from __future__ import annotations

from typing import Any

from auditor.simulator.apierror import invalid_argument

Mask = dict[str, "Mask | None"]  # None = take the whole value


def parse_fields(text: str) -> Mask:
    mask, pos = _parse_list(text, 0)
    if pos != len(text):
        raise invalid_argument(f"Invalid field selection {text!r}")
    return mask


def _parse_list(text: str, pos: int) -> tuple[Mask, int]:
    mask: Mask = {}
    while True:
        path = []
        while True:
            start = pos
            while pos < len(text) and (text[pos].isalnum() or text[pos] in "_@$.-"):
                pos += 1
            if pos == start:
                raise invalid_argument(f"Invalid field selection {text!r}")
            path.append(text[start:pos])
            if pos < len(text) and text[pos] == "/":
                pos += 1
                continue
            break
        sub: Mask | None = None
        if pos < len(text) and text[pos] == "(":
            sub, pos = _parse_list(text, pos + 1)
            if pos >= len(text) or text[pos] != ")":
                raise invalid_argument(f"Invalid field selection {text!r}")
            pos += 1
        node = mask
        for name in path[:-1]:
            existing = node.get(name, {})
            if existing is None:
                break
            node[name] = existing
            node = existing
        else:
            _merge(node, path[-1], sub)
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        return mask, pos


def _merge(node: Mask, name: str, sub: Mask | None) -> None:
    if sub is None or node.get(name, {}) is None:
        node[name] = None
    else:
        node.setdefault(name, {}).update(sub)  # type: ignore[union-attr]


def apply_mask(value: Any, mask: Mask | None) -> Any:
    if mask is None:
        return value
    if isinstance(value, list):
        return [apply_mask(v, mask) for v in value]
    if isinstance(value, dict):
        return {k: apply_mask(value[k], sub) for k, sub in mask.items() if k in value}
    return value
