"""Each day's own evidence for a finding judged day by day, so a sampled resource-day names what shows it.

A check says what state a resource was in on each day (`details.days`); an auditor who samples one of
those days must be able to open the evidence of *that* day, not the quarter-long log page every day
shares. Per resource and day this gathers, from the facts:

  entries  the audit-log entries of the day (`log:<insertId>`) and the backup runs (`run:<id>`):
           automated-backup windows, backup runs, configuration changes and deletions;
  items    the locker items (pages) that hold those entries, and the configuration reads made that day.

The locker of the day (a daily locker's own reads) is found by the sampler from the results' lockers.
`attach` fills `details.day_evidence` (items) and `details.day_entries` where the check gave none (backup-monitoring
names its own: a project's alerting reads and changes, auditor.checks.monitoring_days).
"""

from __future__ import annotations

from typing import Any, Iterable

from auditor.facts.known import Known
from auditor.period import Period
from auditor.results import Finding


def _scoped_items(facts: Any, name: str, resource: str) -> tuple[Any, ...]:
    try:
        read = getattr(facts, name).of(resource)
    except (AttributeError, KeyError):
        return ()
    return read.items if isinstance(read, Known) else ()


def _moments(facts: Any, resource: str) -> Iterable[tuple[Any, str | None, tuple[str, ...]]]:
    """(instant, entry key or None, locker item ids) for every dated piece of evidence about `resource`."""
    for attempt in (*_scoped_items(facts, "backup_windows", resource), *_scoped_items(facts, "backup_runs", resource)):
        yield attempt.window_start, attempt.key, tuple(attempt.evidence)
    buckets = getattr(facts, "bucket_history", None)  # a bucket: its reads and its logged updates
    if buckets is not None and resource.startswith("//storage.googleapis.com/"):
        for change in buckets.changes(resource):
            yield change.time, change.key, tuple(change.evidence)
        for seen in buckets.observations(resource):
            if seen.observed_at:
                yield seen.observed_at, None, tuple(seen.evidence)
    history = getattr(facts, "history", None)
    if history is None:
        return
    for change in history.changes(resource):
        yield change.time, change.key, tuple(change.evidence)
    for seen in history.observations(resource):
        if seen.observed_at:
            yield seen.observed_at, None, tuple(seen.evidence)


def by_day(facts: Any, resource: str, period: Period) -> dict[str, tuple[list[str], list[str]]]:
    """{ISO day: (locker item ids, entry keys)} for the period's days that hold evidence about `resource`."""
    moments = list(_moments(facts, resource))
    days = period.days_of([m[0] for m in moments])
    first, last = period.start, period.end
    out: dict[str, tuple[set[str], set[str]]] = {}
    for (_, key, items), day in zip(moments, days):
        if not first <= day <= last:
            continue
        held = out.setdefault(day.isoformat(), (set(), set()))
        held[0].update(items)
        if key:
            held[1].add(key)
    return {day: (sorted(items), sorted(keys)) for day, (items, keys) in sorted(out.items())}


def attach(findings: list[Finding], facts: Any, period: Period,
           cache: dict[str, dict[str, tuple[list[str], list[str]]]] | None = None) -> None:
    """Add each day's own evidence to every finding that carries day states (in place); what a check gave
    itself (the key-version reads and entries of encryption parity) is kept beside it.

    `cache` (resource -> its days' evidence) may be shared by every check of one run over the same facts and
    period: a resource's evidence by day is the same for each control that judges it."""
    cache = {} if cache is None else cache
    for finding in findings:
        days = finding.details.get("days") if isinstance(finding.details, dict) else None
        if not isinstance(days, dict) or not days:
            continue
        found = cache.get(finding.resource)
        if found is None:
            found = cache[finding.resource] = by_day(facts, finding.resource, period)
        own_items, own_keys = (finding.details.get(name) for name in ("day_evidence", "day_entries"))
        # a check that names a day's evidence itself keeps it as named, unless it asks for the resource's own
        # evidence to be joined to it (encryption: the key versions' reads beside the instance's own)
        joins = finding.details.pop("day_evidence_joins", False)
        items = {day: items for day, (items, _) in found.items() if day in days and items}
        keys = {day: keys for day, (_, keys) in found.items() if day in days and keys}
        if not isinstance(own_items, dict):
            finding.details["day_evidence"] = items
        elif joins:
            finding.details["day_evidence"] = _joined(own_items, items)
        if not isinstance(own_keys, dict):
            finding.details["day_entries"] = keys
        elif joins:
            finding.details["day_entries"] = _joined(own_keys, keys)


def _joined(own: dict[str, Any], more: dict[str, list[str]]) -> dict[str, list[str]]:
    out = {day: set(values or ()) for day, values in own.items()}
    for day, values in more.items():
        out.setdefault(day, set()).update(values)
    return {day: sorted(values) for day, values in sorted(out.items()) if values}
