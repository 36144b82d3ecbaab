"""JSON accessors: read a field of an API answer without trusting its shape.

A field that is missing or of the wrong type reads as None (unknown), never as a healthy default.
Every reader uses these; none reaches into a page with `[...]`.
"""

from __future__ import annotations

import functools
from datetime import datetime, time, timezone
from typing import Any

_fromisoformat = datetime.fromisoformat


def get(data: Any, *path: str) -> Any:
    for key in path:
        if data.__class__ is not dict and not isinstance(data, dict):  # the first test is the fast one (JSON dicts)
            return None
        data = data.get(key)
    return data


def text(data: Any, *path: str) -> str | None:
    value = get(data, *path)
    return value if isinstance(value, str) and value else None


def text_of(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def boolean(data: Any, *path: str) -> bool | None:
    value = get(data, *path)
    return value if isinstance(value, bool) else None


def enabled(data: Any) -> bool:
    """Monitoring's `enabled` is a BoolValue that defaults to true when absent."""
    value = boolean(data, "enabled")
    return True if value is None else value


#: Google's integers are int64 (sent as strings); a value outside that range is no valid answer.
_INT64 = (-(1 << 63), (1 << 63) - 1)


def integer(data: Any, *path: str) -> int | None:
    """An int64 field (a JSON number or, as Google sends int64, a string of digits); None when absent,
    malformed or beyond 64 bits (a 5,000-digit string never reaches int(), which would refuse it)."""
    value = get(data, *path)
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        digits = value.strip()
        if not digits.lstrip("-").isdigit() or len(digits) > 20:
            return None
        value = int(digits)
    if isinstance(value, int) and _INT64[0] <= value <= _INT64[1]:
        return value
    return None


def timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    if value[-1] == "Z":  # the APIs' usual form, which Python 3.11 reads as UTC directly (~600k a quarter)
        try:
            return _fromisoformat(value)
        except ValueError:
            pass  # the general path below decides
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


_window_stamps = functools.lru_cache(maxsize=16384)(lambda value: timestamp(value))


def window_stamp(value: Any) -> datetime | None:
    """timestamp(), remembered (a few thousand distinct backup-window starts a quarter, ~165,000 uses)."""
    return _window_stamps(value) if isinstance(value, str) else timestamp(value)


def clock(value: Any) -> time | None:
    """Backup start times are 'HH:MM' in UTC."""
    if not isinstance(value, str):
        return None
    try:
        hours, minutes = value.split(":")[:2]
        return time(int(hours), int(minutes), tzinfo=timezone.utc)
    except ValueError:
        return None


def string_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items() if isinstance(v, (str, int, float, bool))}


def items(body: Any, field: str) -> list[dict[str, Any]] | None:
    """The list under `field` of a page, [] when absent (an empty page), None when malformed."""
    if not isinstance(body, dict):
        return None
    value = body.get(field, [])
    if not isinstance(value, list):
        return None
    return [item for item in value if isinstance(item, dict)]


def partial_marks(body: Any) -> list[str]:
    """What a 200 answer says it left out (auditor.evidence.partial: `unreachable[]`, Cloud SQL's
    REGION_UNREACHABLE, Compute's scope warnings), in words. The capture layer already marks such a
    call `partial`; reading the page again keeps lockers written before it did fail closed too."""
    from auditor.evidence.partial import partial_signals

    return [f"{s['code']}: {s['message']}" for s in partial_signals(body)]
