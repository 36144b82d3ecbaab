"""Controls with no history source, judged day by day from each day's own locker.

A local git mirror keeps no record of its past: FETCH_HEAD holds only the last fetch, a bare mirror
writes no reflog, and GitHub's refs of an earlier day are not served. So the source-code controls
can say what a day looked like only from a locker collected on that day. For such a check
(`Check.days_from == "lockers"`) the runner evaluates the check once per locker, on that locker's
facts alone, with that locker's own stored configuration (the thresholds in force that day), and
combines the verdicts per finding:

  a day with a locker   the worst state of its lockers' findings (pass kept, fail broken,
                        inconclusive unknown, not_applicable not_applicable; a resource missing from
                        a day's findings is unknown when its organisation was not listed in full
                        that day, else not applicable: it did not exist or was out of scope);
  a day without one     unknown, and the message says why: a later run cannot show it;
  after the evidence    not_due.

A finding fails when any day is broken, is inconclusive when any day is unknown, passes only when
every day in scope was kept. So a single quarter-end run can never pass a day it did not see, and is
never more favourable than the daily lockers. Each day's evidence ids are that day's finding's own
(the locker items that showed it), and a threshold that changed during the period is named with its
configuration key and the locker whose configuration set it.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Iterable

from auditor.period import Period, day_ranges
from auditor.results import FAIL, INCONCLUSIVE, NOT_APPLICABLE, PASS, Finding
from auditor.thresholds import config_keys
from auditor.unverified import incomplete_data

DAILY = "lockers"
STATE = {PASS: "kept", FAIL: "broken", INCONCLUSIVE: "unknown", NOT_APPLICABLE: "not_applicable"}
_RANK = {"broken": 4, "unknown": 3, "kept": 2, "not_applicable": 1}
NO_LOCKER = ("no evidence locker was collected on those days, and a later run cannot show them: a mirror keeps only "
             "its last fetch (FETCH_HEAD) and no reflog, and GitHub serves only its current refs")
DAY_UNKNOWN = "that day's own locker could not establish it (see the reasons in that day's evidence)"


class LockerDay:
    """One locker's verdicts: when it was collected, its id, and the check's findings from it alone."""

    __slots__ = ("as_of", "locker_id", "findings")

    def __init__(self, as_of: Any, locker_id: str, findings: Iterable[Finding]) -> None:
        self.as_of, self.locker_id = as_of, locker_id
        self.findings = {f.id: f for f in findings}

    def state_of(self, finding_id: str, resource: str) -> tuple[str, Finding | None]:
        found = self.findings.get(finding_id)
        if found is not None:
            return STATE.get(found.status, "unknown"), found
        # not judged that day: unknown when its organisation (a scope the resource lies under) was not listed in full
        unlisted = any(f.status == INCONCLUSIVE and resource.startswith(f.resource.rstrip("/") + "/")
                       for f in self.findings.values())
        return ("unknown" if unlisted else "not_applicable"), None


def judge(newest: list[Finding], days: list[LockerDay], period: Period, as_of: Any) -> list[Finding]:
    """The newest locker's findings (and those of resources seen only on earlier days), each judged day by day."""
    by_day: dict[date, list[LockerDay]] = {}
    for locker_day in days:
        by_day.setdefault(period.day_of(locker_day.as_of), []).append(locker_day)
    last_due = period.day_of(as_of)
    known = {f.id for f in newest}
    out: list[Finding] = []
    seen_earlier: dict[str, Finding] = {}
    for locker_day in sorted(days, key=lambda d: d.as_of):
        for finding_id, finding in locker_day.findings.items():
            if finding_id not in known:
                seen_earlier[finding_id] = finding  # the latest day's finding about a resource gone since
    for finding in [*newest, *seen_earlier.values()]:
        if finding.status == NOT_APPLICABLE and not any(
                d.findings.get(finding.id) is not None and d.findings[finding.id].status != NOT_APPLICABLE for d in days):
            out.append(finding)  # out of scope on every day it was seen: nothing to judge day by day
            continue
        out.append(_judged(finding, by_day, period, last_due))
    return out


def _judged(finding: Finding, by_day: dict[date, list[LockerDay]], period: Period, last_due: date) -> Finding:
    states: dict[str, str] = {}
    evidence: dict[str, list[str]] = {}
    lockers: dict[str, list[str]] = {}
    no_locker: list[date] = []
    thresholds: list[tuple[date, str, dict[str, Any], dict[str, str]]] = []
    for day in period.days():
        iso = day.isoformat()
        if day > last_due:
            states[iso] = "not_due"
            continue
        held = by_day.get(day)
        if not held:
            states[iso] = "unknown"
            no_locker.append(day)
            continue
        worst, items = "not_applicable", []
        for locker_day in held:
            state, seen = locker_day.state_of(finding.id, finding.resource)
            if _RANK[state] > _RANK[worst]:
                worst = state
            if seen is not None:
                items += [e for e in seen.evidence if e not in items]
                expected = dict(seen.expected)
                if expected and (not thresholds or thresholds[-1][2] != expected):
                    thresholds.append((day, locker_day.locker_id, expected, config_keys(seen.as_dict())))
        states[iso] = worst
        lockers[iso] = [d.locker_id for d in held]
        if items:
            evidence[iso] = sorted(items)
    broken = [date.fromisoformat(d) for d, s in states.items() if s == "broken"]
    unknown = [date.fromisoformat(d) for d, s in states.items() if s == "unknown"]
    kept = [d for d, s in states.items() if s == "kept"]
    if broken:
        status = FAIL
    elif unknown:
        status = INCONCLUSIVE
    elif kept:
        status = PASS
    else:
        status = NOT_APPLICABLE
    unseen = [d for d in unknown if d in set(no_locker)]
    failed_days = [d for d in unknown if d not in set(no_locker)]
    words = []  # short: the why is said once per reason in `unverified` (the report groups it)
    if broken:
        words.append(f"outside the policy on {len(broken)} day{'s' if len(broken) != 1 else ''} ({day_ranges(broken)})")
    if unseen:
        words.append(f"unknown on {len(unseen)} day{'s' if len(unseen) != 1 else ''} ({day_ranges(unseen)}), "
                     "which had no locker")
    if failed_days:
        words.append(f"unknown on {len(failed_days)} day{'s' if len(failed_days) != 1 else ''} "
                     f"({day_ranges(failed_days)}), whose locker could not establish it")
    if not words:
        words.append(f"within the policy on each of the {len(kept)} days in scope")
    changed = _threshold_words(thresholds)
    message = (f"{finding.message} Day by day, each from its own locker: " + "; ".join(words) + "."
               + (f" {changed}" if changed else ""))
    details = {**finding.details, "days": states, "exception_days": [d.isoformat() for d in broken],
               "unknown_days": [d.isoformat() for d in unknown], "day_evidence": evidence, "day_lockers": lockers,
               "days_from": "each day's own locker"}
    if len(thresholds) > 1:
        details["thresholds"] = [{"from": day.isoformat(), "locker": locker, "expected": expected, "config_keys": keys}
                                 for day, locker, expected, keys in thresholds]
    if status == INCONCLUSIVE:
        # one sentence per reason, without the day ranges (they differ per finding): the report groups findings by it
        reasons = ([incomplete_data(f"Days without an evidence locker: {NO_LOCKER}")] if unseen else [])
        reasons += ([incomplete_data(f"Days whose locker could not establish it: {DAY_UNKNOWN}")] if failed_days else [])
        details["unverified"] = list(finding.details.get("unverified") or []) + reasons
    reason = finding.not_applicable_reason
    if status == NOT_APPLICABLE and not reason:
        reason = "not in scope on any day a locker was collected"
    return Finding(finding.check, finding.resource, finding.rule, status, message, observed=finding.observed,
                   expected=finding.expected, details=details, evidence=list(finding.evidence),
                   not_applicable_reason=reason if status == NOT_APPLICABLE else None)


def _threshold_words(thresholds: list[tuple[date, str, dict[str, Any], dict[str, str]]]) -> str:
    """'window_hours (policy.source_code.backup_interval) was 24 until 2026-08-03; 48 from 2026-08-04 (locker X).'"""
    if len(thresholds) < 2:
        return ""
    parts = []
    for (day, locker, expected, keys), (before_day, _, before, _) in zip(thresholds[1:], thresholds):
        changed = [k for k in expected if expected.get(k) != before.get(k)]
        named = ", ".join(f"{k} ({keys[k]})" if k in keys else k for k in changed)
        values = ", ".join(f"{before.get(k)!r} -> {expected.get(k)!r}" for k in changed)
        parts.append(f"from {day.isoformat()} the configuration stored in locker {locker} set {named}: {values}")
    return "Thresholds changed during the period: " + "; ".join(parts) + "."
