"""Which evidence a results document drew on: each locker, its as-of time, and the audit-log queries in it.

A quarter assembled from daily lockers must say which lockers (and so which days' collections) and
which log queries it rests on, so an auditor can see that no day was left out without evidence.
"""

from __future__ import annotations

import re
from typing import Any

from auditor.evidence.locker import Locker

_BOUND = re.compile(r'timestamp(>=|<)"([^"]+)"')


def log_queries(locker: Locker) -> list[dict[str, Any]]:
    """Each Cloud Logging query of a locker: scope, the time span its filter covered, outcome and pages."""
    out = []
    for call in locker.calls("logging", "entries.list"):
        bounds = dict(_BOUND.findall(str(call["params"].get("filter", ""))))
        covered = call.get("covered") if isinstance(call.get("covered"), dict) else {}
        # a query with no upper bound (a key's history, read up to the read) ran to what it covered
        entry = {"scope": call["scope"], "from": bounds.get(">="), "to": bounds.get("<") or covered.get("to"),
                 "outcome": call["outcome"], "pages": len(call["items"])}
        if call.get("covered"):  # configuration changes are read up to the read, not only to `to`
            entry["covered_to"] = call["covered"]["to"]
        out.append(entry)
    return sorted(out, key=lambda q: q["scope"])


def locker_entry(locker: Locker) -> dict[str, Any]:
    return {"id": locker.manifest["locker_id"], "manifest_sha256": locker.manifest_sha256,
            "as_of": locker.manifest["as_of"], "logs": log_queries(locker)}
