"""A 200 that says it is partial: which pages of a listing admit that they left something out.

Google's list methods answer HTTP 200 with what they could reach and say, in the body, what they
could not. Read as a complete answer, such a page makes "no backups in us-east1" out of "us-east1
did not answer". The forms, from the discovery documents and the APIs' reference pages:

  unreachable[]   Backup and DR, Spanner, Firestore, AlloyDB, Filestore, GKE Backup, Cloud Storage
                  `buckets.list`, Logging and Monitoring lists: the locations that did not answer
  unreachables[]  Compute Engine aggregated lists: the scopes that did not answer
  warnings[]      Cloud SQL Admin `ApiWarning`: `REGION_UNREACHABLE` (with `region`) and
                  `MAX_RESULTS_EXCEEDS_LIMIT`, both "the returned result set may be incomplete"
  warning         Compute Engine, at the top of a list or per scope of an aggregated list's `items`:
                  `UNREACHABLE` or `PARTIAL_SUCCESS` (`NO_RESULTS_ON_PAGE` only says a scope is empty)

The capture layer runs `partial_signals` on every 200 page as it arrives, so every collector (the
discovery clients, the Cloud Asset client, anything added later) marks its call `partial` without
remembering to; the call record keeps the scopes each page named.
"""

from __future__ import annotations

import json
from typing import Any

SQL_PARTIAL_CODES = {"REGION_UNREACHABLE", "MAX_RESULTS_EXCEEDS_LIMIT"}
COMPUTE_PARTIAL_CODES = {"UNREACHABLE", "PARTIAL_SUCCESS"}
# only bodies that contain one of these are parsed a second time (the pages of a quarter are mostly logs)
_NEEDLES = (b'"unreachable', b'"warning')


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _compute_scopes(warning: dict[str, Any]) -> list[str]:
    """Compute's warning `data[]` may name the scope (`{"key": "scope", "value": "zones/..."}`)."""
    data = warning.get("data")
    return [str(d.get("value")) for d in data if isinstance(d, dict) and d.get("key") == "scope"] if isinstance(data, list) else []


def partial_signals(body: Any) -> list[dict[str, Any]]:
    """Each way a page says it is incomplete: `{"field", "code", "scopes", "message"}`; [] for a complete page."""
    if not isinstance(body, dict):
        return []
    out: list[dict[str, Any]] = []
    for name in ("unreachable", "unreachables"):
        scopes = _strings(body.get(name))
        if scopes:
            out.append({"field": name, "code": "UNREACHABLE", "scopes": scopes,
                        "message": f"the answer lists {len(scopes)} unreachable location(s): {', '.join(scopes)}"})
        elif name in body and body[name] not in (None, []):
            out.append({"field": name, "code": "UNREACHABLE", "scopes": [],
                        "message": f"`{name}` is not a list of locations: {str(body[name])[:80]}"})
    warnings = body.get("warnings")
    for warning in warnings if isinstance(warnings, list) else []:
        code = warning.get("code") if isinstance(warning, dict) else None
        if code in SQL_PARTIAL_CODES:
            region = warning.get("region")
            out.append({"field": "warnings", "code": code, "scopes": [str(region)] if region else [],
                        "message": str(warning.get("message") or code)})
    top = body.get("warning")
    if isinstance(top, dict) and top.get("code") in COMPUTE_PARTIAL_CODES:
        out.append({"field": "warning", "code": top["code"], "scopes": _compute_scopes(top),
                    "message": str(top.get("message") or top["code"])})
    items = body.get("items")
    if isinstance(items, dict):  # an aggregated list: scope -> scoped list
        for scope, scoped in sorted(items.items()):
            warning = scoped.get("warning") if isinstance(scoped, dict) else None
            if isinstance(warning, dict) and warning.get("code") in COMPUTE_PARTIAL_CODES:
                out.append({"field": f"items.{scope}.warning", "code": warning["code"], "scopes": [str(scope)],
                            "message": str(warning.get("message") or warning["code"])})
    return out


def page_signals(body: bytes) -> list[dict[str, Any]]:
    """`partial_signals` of a raw page; cheap for pages that cannot carry a signal (no parse)."""
    if not any(needle in body for needle in _NEEDLES):
        return []
    try:
        return partial_signals(json.loads(body))
    except (ValueError, UnicodeDecodeError):
        return []  # not JSON: the collector's own parse says malformed
