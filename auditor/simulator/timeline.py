"""The backup timeline: what happened in each daily window of each instance.

Both the Cloud SQL backupRuns and the Cloud Logging audit entries are views of this one
timeline, so the two sources can never disagree with each other. Everything is derived
deterministically from (project, instance, day), so a scenario always yields the same bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from auditor.simulator.scenario import Project, Scenario, SqlInstance

WINDOW = dt.timedelta(hours=4)


@dataclass(frozen=True)
class Attempt:
    """One audit-log-visible outcome inside a backup window."""

    project: str
    instance: str
    region: str
    day: dt.date  # the day the window STARTED on
    window_start: dt.datetime
    status: str  # STATUS_SUCCEEDED | STATUS_ATTEMPT_FAILED | STATUS_FAILED | STATUS_SKIPPED
    timestamp: dt.datetime  # when the log entry is written
    backup_start: dt.datetime | None
    backup_end: dt.datetime | None
    seq: int  # 0, or 1 for the retry after an ATTEMPT_FAILED

    @property
    def window_end(self) -> dt.datetime:
        return self.window_start + WINDOW


def jitter(*parts: object, lo: int, hi: int) -> int:
    """A deterministic integer in [lo, hi] from the given parts."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return lo + int.from_bytes(digest[:4], "big") % (hi - lo + 1)


def window_start(inst: SqlInstance, day: dt.date) -> dt.datetime:
    hh, mm = (int(x) for x in inst.backup.start_time.split(":"))
    return dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=dt.timezone.utc)


def instance_attempts(scenario: Scenario, project: Project, inst: SqlInstance) -> list[Attempt]:
    """All attempts of one instance whose window started at or before the scenario clock, oldest first."""
    if inst.backup is None or inst.type != "CLOUD_SQL_INSTANCE":
        return []
    if inst.backup.tier == "ENHANCED":  # managed by Backup and DR: invisible to backupRuns and this audit log
        return []
    out: list[Attempt] = []
    day = max(scenario.history_start, inst.create_time.date())
    while day <= scenario.now.date():
        ws = window_start(inst, day)
        if inst.exists_at(ws) and ws <= scenario.now and inst.backup.enabled_at(ws) and not inst.stopped_at(ws):
            out.extend(_day_attempts(project, inst, day, ws))
        day += dt.timedelta(days=1)
    return out


def _day_attempts(project: Project, inst: SqlInstance, day: dt.date, ws: dt.datetime) -> list[Attempt]:
    outcome = inst.day_outcome(day)
    if outcome == "none":
        return []
    key = (project.id, inst.name, day.isoformat())
    start = ws + dt.timedelta(minutes=jitter(*key, "start", lo=20, hi=40), seconds=jitter(*key, "s", lo=0, hi=59))
    took = dt.timedelta(minutes=jitter(*key, "took", lo=3, hi=12), seconds=jitter(*key, "ts", lo=0, hi=59))

    def make(status: str, ts: dt.datetime, b_start=None, b_end=None, seq=0) -> Attempt:
        return Attempt(project.id, inst.name, inst.region, day, ws, status, ts, b_start, b_end, seq)

    if outcome == "success":
        return [make("STATUS_SUCCEEDED", start + took + dt.timedelta(seconds=2), start, start + took)]
    if outcome == "skipped":
        return [make("STATUS_SKIPPED", start)]
    if outcome == "failed":
        return [make("STATUS_FAILED", ws + WINDOW - dt.timedelta(minutes=1), start)]
    # attempt_failed_then_success: a first try fails, the retry in the same window succeeds.
    retry = start + dt.timedelta(minutes=45)
    return [
        make("STATUS_ATTEMPT_FAILED", start + dt.timedelta(minutes=2), start),
        make("STATUS_SUCCEEDED", retry + took + dt.timedelta(seconds=2), retry, retry + took, seq=1),
    ]


def all_attempts(scenario: Scenario, project: Project) -> list[Attempt]:
    attempts = project_attempts(scenario, project)
    return [a for inst in project.sql_instances for a in attempts[inst.name]]


def project_attempts(scenario: Scenario, project: Project) -> dict[str, list[Attempt]]:
    """Every instance's attempts, computed once per scenario and project (auditor.simulator.memo)."""
    from auditor.simulator.memo import memo

    return memo(scenario).get(("attempts", project.id), lambda: {
        inst.name: instance_attempts(scenario, project, inst) for inst in project.sql_instances})
