"""Page sizes and page tokens.

Tokens are opaque to clients but bound to the query that produced them: reusing one with a
different filter, order or scope is a client bug the real APIs reject with 400, and a collector
that does it would silently stitch unrelated pages together.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any, Sequence

from auditor.simulator.apierror import invalid_argument


def query_key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def page_size(raw: Any, *, name: str, default: int, cap: int) -> int:
    """Parse a page size; absent or 0 -> default, above cap -> cap, invalid -> 400."""
    if raw is None or raw == "":
        return default
    try:
        size = int(raw)
    except (TypeError, ValueError):
        raise invalid_argument(f"Invalid value for {name}: {raw!r}") from None
    if size < 0:
        raise invalid_argument(f"{name} must be non-negative, got {size}")
    return default if size == 0 else min(size, cap)


def _encode(key: str, offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"q": key, "o": offset}).encode()).decode().rstrip("=")


def _decode(token: str, key: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset, bound = int(data["o"]), data["q"]
    except Exception:
        raise invalid_argument("Invalid page token.") from None
    if bound != key:
        raise invalid_argument("The page token does not match the request: the query changed between pages.")
    return offset


def paginate(items: Sequence[Any], token: str | None, size: int, key: str) -> tuple[list[Any], str | None]:
    """Slice one page; return it with the next token (None on the last page)."""
    offset = _decode(token, key) if token else 0
    page = list(items[offset:offset + size])
    nxt = _encode(key, offset + size) if offset + size < len(items) else None
    return page, nxt
