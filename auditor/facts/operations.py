"""Long-running operations in the audit log: only the last entry's result and time apply.

A method that runs as a long-running operation (a Cloud SQL instance update, a stop or start) logs
more than one entry: the first when the operation starts, the last when it ends, sharing
`LogEntry.operation.id` and `.producer` (`first: true` on one, `last: true` on the other; an entry of
a short call has both, or no `operation` at all). What a change did, and when it took effect, is the
last entry's: its `protoPayload.status.code` 0 means it succeeded at that entry's timestamp; any
other code means it changed nothing. The request body may be logged on either entry, so the values
are the last entry's when it carries them, else the first's.

An operation whose first entry was read but whose last was not (still running at the read, or ended
after the query) has not been seen to take effect: it is kept as a change of unknown value at its
first entry's time, so the days after it are unknown until a read the log joins to it, never
assumed unchanged. Entries are paired across pages and lockers, at the build's merge (they may
straddle two days' queries).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Iterable, TypeVar

from auditor.facts.access import get

T = TypeVar("T")
ONLY, FIRST, LAST, MIDDLE = "only", "first", "last", "middle"


def phase(entry: dict[str, Any]) -> tuple[str | None, str]:
    """(operation key, phase) of an entry: ONLY for a call logged once (no operation, or first and last)."""
    operation = entry.get("operation") if isinstance(entry, dict) else None
    if not isinstance(operation, dict):
        return None, ONLY
    ident = operation.get("id")
    if not isinstance(ident, str) or not ident:
        return None, ONLY
    key = f"{operation.get('producer') or ''}/{ident}"
    first, last = operation.get("first") is True, operation.get("last") is True
    if first and last:
        return key, ONLY
    return key, FIRST if first else LAST if last else MIDDLE


def succeeded(entry: dict[str, Any]) -> bool:
    """status.code 0 (or no status: the entry of a call that returned normally)."""
    code = get(entry, "protoPayload", "status", "code")
    return code in (None, 0)


def settle(values: Iterable[T], unknown: Callable[[T], T], fill: Callable[[T, T], T]) -> list[T]:
    """One change per operation: its last entry (`fill(last, first)` takes the first's values when the
    last carries none), nothing when the last failed, and `unknown(first)` when no last was read.
    Values need `operation`, `phase` and `failed` attributes; calls logged once pass through."""
    out: list[T] = []
    groups: dict[str, dict[str, list[T]]] = {}
    for value in values:
        op = getattr(value, "operation", None)
        kind = getattr(value, "phase", ONLY)
        if op is None or kind == ONLY:
            if not getattr(value, "failed", False):
                out.append(value)
            continue
        groups.setdefault(op, {}).setdefault(kind, []).append(value)
    for parts in groups.values():
        lasts, firsts = parts.get(LAST, []), parts.get(FIRST, [])
        if lasts:
            last = max(lasts, key=lambda v: v.time)
            if getattr(last, "failed", False):
                continue  # the operation failed: it changed nothing
            out.append(fill(last, min(firsts, key=lambda v: v.time)) if firsts else last)
        elif firsts:
            out.append(unknown(min(firsts, key=lambda v: v.time)))
    return out


def with_evidence(value: Any, *others: Any) -> Any:
    """The value with the evidence of the entries it was settled from."""
    evidence = tuple(dict.fromkeys(e for v in (value, *others) for e in v.evidence))
    return replace(value, evidence=evidence)
