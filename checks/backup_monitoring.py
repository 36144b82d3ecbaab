"""backup-monitoring: a failed automated backup alerts someone, in every project that holds backups.

Cloud SQL does not alert on a failed backup by itself: an alert policy must exist. A project's
Cloud SQL primary is covered when an ENABLED alert policy, in the project itself or in the
central `gcp.monitoring_project`, has a condition that fires on that instance's failed automated
backup and not on its successful one, and sends to at least one ENABLED notification channel.
A condition "fires" when its log filter (a log-match condition), or the filter of the log-based
metric its threshold counts (logging.googleapis.com/user/NAME), matches a synthetic
`cloudsql.instances.automatedBackup` audit entry with windowStatus STATUS_FAILED, evaluated with
the same Logging query-language evaluator the simulator serves logs with (auditor.logfilter).

Judged day by day (auditor.checks.monitoring_days) from the settings' history: each day is kept only when
that held at every moment of it; a day on which it did not is an exception, and a day the evidence cannot
settle (a change logged without its body, time no log query covers) is unknown and said why.

The population is the project's primaries over time, not as last listed: each instance is in it while it
existed with automated backups on (the instance's history: created mid-period, backups switched on or off,
a replica promoted), including one deleted before the read (its FINAL backup's snapshot), for the days it
existed. One only the Admin Activity log shows, deleted with no read left, makes its days unknown, never
passed. The central project whose policies count is the `gcp.monitoring_project` of each day's stored
configuration (checks.days.by_config); nothing else in the configuration changes what this control demands.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any, Iterable

from auditor.checks import days as daily
from auditor.checks import monitoring_days
from auditor.checks.common import deleted_instances, deleted_unseen, unread_finding
from auditor.checks_api import Check, CheckContext
from auditor.facts.controls import AlertCondition, AlertPolicy
from auditor.facts.known import Unknown, known_items
from auditor.facts.model import SqlInstance, project_resource
from auditor.logfilter import LogFilterError, compile_filter
from auditor.results import FAIL, INCONCLUSIVE, NOT_APPLICABLE, PASS, Finding

ID = "backup-monitoring"
NO_NATIVE_ALERTS = ("Cloud SQL does not alert on failed backups by itself: the policy's promise that backups are "
                    "monitored and alerted holds only if an alert policy like this exists")


def synthetic_entry(instance: SqlInstance, window_status: str) -> dict[str, Any]:
    """A Cloud SQL automated-backup system-event audit entry, shaped as Cloud Logging records it."""
    failed = window_status in ("STATUS_FAILED", "STATUS_ATTEMPT_FAILED")
    return {
        "insertId": f"synthetic-{window_status.lower()}",
        "logName": f"projects/{instance.project}/logs/cloudaudit.googleapis.com%2Fsystem_event",
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "status": {"code": 13, "message": "An internal error occurred during the automated backup."} if failed else {},
            "serviceName": "cloudsql.googleapis.com",
            "methodName": "cloudsql.instances.automatedBackup",
            "resourceName": f"projects/{instance.project}/instances/{instance.name}",
            "metadata": {"windowStatus": window_status, "windowStartTime": "2026-01-01T03:00:00Z",
                         "windowEndTime": "2026-01-01T07:00:00Z", "backupStartTime": "2026-01-01T03:25:00Z",
                         **({} if failed else {"backupEndTime": "2026-01-01T03:31:00Z"})},
        },
        "resource": {"type": "cloudsql_database",
                     "labels": {"project_id": instance.project, "database_id": f"{instance.project}:{instance.name}",
                                "region": instance.region or ""}},
        "timestamp": "2026-01-01T06:59:00Z" if failed else "2026-01-01T03:31:02Z",
        "receiveTimestamp": "2026-01-01T06:59:01Z" if failed else "2026-01-01T03:31:03Z",
        "severity": "ERROR" if failed else "NOTICE",
    }


@dataclass
class Verdict:
    """What one alert policy does for one instance."""

    covers: bool = False
    unsure: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # why it falls short, or whom it notifies when it covers


@functools.lru_cache(maxsize=1024)
def _compiled(filter_text: str):
    """One parse per distinct filter (an organisation's projects share a handful of alert filters)."""
    return compile_filter(filter_text)


def _fires(filter_text: str, instance: SqlInstance) -> tuple[bool, bool]:
    """(fires on a failed backup, fires on a successful one); LogFilterError if it cannot be evaluated."""
    predicate = _compiled(filter_text)
    return predicate(synthetic_entry(instance, "STATUS_FAILED")), predicate(synthetic_entry(instance, "STATUS_SUCCEEDED"))


def _condition(cond: AlertCondition, instance: SqlInstance, facts: Any) -> tuple[str, str | None]:
    """('fires'|'never'|'unsure', reason) for one condition and one instance."""
    what = f"condition {cond.display_name!r}"
    if cond.kind == "log_match":
        text = cond.filter or ""
    elif cond.kind == "threshold" and cond.metric:
        metrics = facts.log_metrics.at(f"projects/{instance.project}")
        if isinstance(metrics, Unknown):
            return "unsure", f"{what} counts log-based metric {cond.metric!r}, whose filter could not be read ({metrics.describe()})"
        metric = next((m for m in metrics.items if m.name == cond.metric), None)
        if metric is None:
            return "never", f"{what} counts log-based metric {cond.metric!r}, which project {instance.project} does not define"
        if metric.disabled:
            return "never", f"{what} counts log-based metric {cond.metric!r}, which is disabled"
        text, what = metric.filter, f"{what} (log-based metric {cond.metric!r})"
    else:
        return "never", f"{what} is not a log-match condition or a threshold on a log-based metric"
    try:
        on_failure, on_success = _fires(text, instance)
    except LogFilterError as err:
        return "unsure", f"{what} has a filter the auditor cannot evaluate ({err})"
    if on_failure and not on_success:
        return "fires", None
    if on_failure:
        return "never", f"{what} matches every automated backup, successful or not, so it does not single out failures"
    if on_success:
        return "never", f"{what} matches only successful backups, never a failed one"
    return "never", f"{what} does not match a failed automated backup in project {instance.project}"


def _channels(policy: AlertPolicy, facts: Any) -> tuple[list[str], str | None, bool]:
    """(enabled channel names, shortfall, unsure)."""
    if not policy.channels:
        return [], "it has no notification channels, so nobody is told", False
    enabled, disabled, unread = [], [], []
    for name in policy.channels:
        project = name.split("/")[1] if name.startswith("projects/") else "?"
        listed = facts.notification_channels.at(f"projects/{project}")
        if isinstance(listed, Unknown):
            unread.append(name)
            continue
        channel = next((c for c in listed.items if c.name == name), None)
        if channel is None:
            disabled.append(name)
        elif channel.can_notify:
            enabled.append(f"{channel.display_name} ({channel.type})")
        elif channel.enabled:
            disabled.append(f"{channel.display_name} ({channel.type}, verificationStatus UNVERIFIED)")
        else:
            disabled.append(f"{channel.display_name} ({channel.type})")
    if enabled:
        return enabled, None, False
    if unread:
        return [], f"its notification channels could not be read ({', '.join(unread)})", True
    return [], (f"its notification channels are disabled, unverified or missing ({', '.join(disabled)}), "
                "so nobody is told"), False


def _policy(policy: AlertPolicy, instance: SqlInstance, facts: Any) -> Verdict:
    verdict = Verdict()
    name = f"alert policy {policy.display_name!r} in project {policy.project}"
    outcomes = [_condition(c, instance, facts) for c in policy.conditions] or [("never", "it has no conditions")]
    fires = any(o == "fires" for o, _ in outcomes)
    if not fires:
        for outcome, reason in outcomes:
            (verdict.unsure if outcome == "unsure" else verdict.notes).append(f"{name}: {reason}")
        return verdict
    if not policy.enabled:
        verdict.notes.append(f"{name}: it would fire on a failed backup but is disabled")
        return verdict
    channels, shortfall, unsure = _channels(policy, facts)
    if shortfall:
        (verdict.unsure if unsure else verdict.notes).append(f"{name}: it fires on a failed backup but {shortfall}")
        return verdict
    verdict.covers = True
    verdict.notes.append(f"{name} notifies {', '.join(channels)}")
    return verdict


def _unread_policies(reads: list[Unknown]) -> list[str]:
    return [f"the alert policies of project {read.scope.removeprefix('projects/')} could not be read: {read.describe()}"
            for read in reads]


def evaluate(facts: Any, ctx: CheckContext) -> list[Finding]:
    findings = []
    central = ctx.config.gcp.monitoring_project
    gone = (deleted_instances(facts), deleted_unseen(facts, ID, ctx, "alerting"))  # every project's, worked out once
    for project in facts.projects:
        listed = facts.sql_instances.at(f"projects/{project}")
        if isinstance(listed, Unknown):
            findings.append(unread_finding(ID, project, listed, "backup alerting"))
            continue
        primaries = sorted((i for i in listed.items if not i.is_replica and i.backup_enabled), key=lambda i: i.resource)
        members = population(facts, project, listed.items, ctx, gone)
        finding = _project_finding(project, primaries, central, facts)
        if members:
            _by_day(finding, project, members, facts, ctx)
        findings.append(finding)
    return findings


def population(facts: Any, project: str, listed: Iterable[SqlInstance], ctx: CheckContext,
               gone: tuple[list[SqlInstance], list[Finding]] | None = None) -> list[monitoring_days.Member]:
    """The project's Cloud SQL instances that may have been primaries with backups on during the period, each with
    its place in the population over time (monitoring_days.Member): those listed (whatever their backup setting
    as last read; a replica only if some read showed it a primary), those deleted before the read that a FINAL backup's snapshot shows
    (checks.common.deleted_instances), and those only the Admin Activity log shows, deleted in the period
    (checks.common.deleted_unseen: unsure for every moment before their deletion). `gone`: those two lists, when
    the caller has them."""
    history = facts.history
    deleted, unread = gone if gone is not None else (deleted_instances(facts), deleted_unseen(facts, ID, ctx, "alerting"))
    since = ctx.period.starts_at
    # a replica as last read is in only if some read showed it a primary (a switchover: its reads as a replica are off)
    members = {i.resource: monitoring_days.Member(i, history, since=since) for i in listed
               if not i.is_replica or any(not o.is_replica for o in history.observations(i.resource))}
    for instance in deleted:
        if instance.project == project and not instance.is_replica and instance.resource not in members:
            members[instance.resource] = monitoring_days.Member(instance, history, since=since)
    for finding in unread:
        when = finding.observed.get("deleted")
        resource = finding.resource
        if resource in members or f"/projects/{project}/" not in resource or not when:
            continue
        unseen = SimpleNamespace(resource=resource, project=project, name=resource.rsplit("/", 1)[-1], create_time=None,
                                 evidence=tuple(finding.evidence))  # its deletion's log entry
        members[resource] = monitoring_days.Member(unseen, unseen_until=datetime.fromisoformat(when).timestamp())
    return [members[r] for r in sorted(members)]


def _by_day(finding: Finding, project: str, members: list[monitoring_days.Member], facts: Any, ctx: CheckContext) -> None:
    """Judge the project day by day from the alerting history and fold the days into the finding (in place). The
    central project whose policies count is the `gcp.monitoring_project` of each day's stored configuration."""
    history = facts.monitoring_history
    instances = [m.instance for m in members]
    by_resource = {m.resource: m for m in members}
    judges: list[monitoring_days.Judge] = []

    def states_for(central: str | None) -> dict:
        sources = [project] + ([central] if central and central != project else [])
        judge = monitoring_days.Judge(history, sources, instances, {}, _fires, members=by_resource)
        judges.append(judge)
        return monitoring_days.day_states(judge, ctx.period, ctx.as_of)

    states, changes = daily.by_config(ctx, lambda config: config.gcp.monitoring_project, states_for)
    broken, unknown = daily.exception_days(states)
    isos = ctx.period.day_isos
    keys, projects = _involved(judges)
    items, entries = monitoring_days.day_evidence(history, keys, projects, ctx.period, states)
    finding.details.update(days=daily.iso_days(states, isos), exception_days=[isos[d] for d in broken],
                           unknown_days=[isos[d] for d in unknown], day_evidence=items, day_entries=entries)
    unseen = [m.resource.rsplit("/", 1)[-1] for m in members if m.unseen_until is not None]
    gone = [(m.resource.rsplit("/", 1)[-1], m.gone) for m in members if m.unseen_until is None and m.gone is not None
            and m.gone < ctx.as_of.timestamp()]
    # the reads that put a deleted instance in the population (its FINAL backup's snapshot, its deletion's entry)
    finding.evidence += [e for m in members if m.unseen_until is not None or m.gone is not None
                         for e in getattr(m.instance, "evidence", ()) if e not in finding.evidence]
    finding.details["population"] = {"instances": [m.resource for m in members],
                                     "deleted": {name: _iso(t) for name, t in gone}, "deleted_unread": unseen}
    thresholds = daily.threshold_words(changes, "gcp.monitoring_project", lambda v: v or "unset (none)")
    if thresholds:
        # the shape auditor.locker_days gives the source-code controls' thresholds
        finding.details["thresholds"] = [{"from": day.isoformat(), "locker": locker, "expected": {"monitoring_project": value},
                                          "config_keys": {"monitoring_project": "gcp.monitoring_project"}}
                                         for day, value, locker in changes]
    names = {key: f"alert policy {o[-1].display_name!r}" if key[0] == "alert_policy" else
             f"log-based metric {key[2]!r}" if key[0] == "log_metric" else f"notification channel {o[-1].display_name!r}"
             for key in keys if (o := history.observations(key))}
    unplaced = sorted((m for m in members if m.unseen_until is None
                       and monitoring_days.unsure_days(m, ctx.period, ctx.as_of) & set(unknown)),
                      key=lambda m: m.resource) if unknown else []
    reasons = []
    if unplaced:
        reasons.append(f"whether {', '.join(m.resource.rsplit('/', 1)[-1] for m in unplaced)} had automated backups on "
                       "then (and so had to be covered) is not known: no read or logged change with its value reaches "
                       "those moments (a change says what it set, not what was there before; one logged without its body "
                       "says neither)" + "".join(f"; for {m.resource.rsplit('/', 1)[-1]}, {m.contradiction}"
                                                for m in unplaced if m.contradiction))
    if unknown and unseen:
        reasons.append(f"{', '.join(unseen)} (deleted in the period, shown only by the Admin Activity log) has no read of "
                       "its configuration or labels left, so whether a policy matched its failed backups is unknown for "
                       "the days it existed")
    if unknown and (monitoring_days.unlogged(history, projects, ctx.period) or not reasons):
        reasons.insert(0, monitoring_days.why_unknown(history, projects, ctx.period, names))  # the alerting's own
    why = "; and ".join(reasons)
    later = f" {len(unknown)} further days are unknown ({daily.day_ranges(unknown)}): {why}." if unknown else ""
    as_read = finding.message.removeprefix(f"Project {project}: ")
    deleted_words = "".join(f" {name} was deleted on {_iso(t)[:16].replace('T', ' ')} UTC; it is judged for the days it "
                            "existed." for name, t in gone)
    tail = deleted_words + (f" {thresholds}" if thresholds else "")
    if broken:
        finding.status = FAIL
        finding.message = (f"Project {project}: on {len(broken)} days a failed automated backup of its Cloud SQL primaries "
                           f"would, for at least part of the day, have alerted nobody: {daily.day_ranges(broken)}.{later} "
                           f"As of the last read: {as_read}{tail}")
    elif unknown and finding.status != FAIL:
        finding.status = INCONCLUSIVE
        finding.message = (f"Project {project}: whether a failed automated backup would have alerted someone could not be "
                           f"established on {len(unknown)} days ({daily.day_ranges(unknown)}): {why}. "
                           f"As of the last read: {as_read}{tail}")
    elif unknown:
        finding.message += later + tail
    elif finding.status == NOT_APPLICABLE and any(s == "kept" for s in states.values()):
        # no primary with backups as last read, but there were some during the period, and each day was covered
        finding.status, finding.not_applicable_reason = PASS, None
        finding.message = (f"Project {project}: on every day of the period on which it held a Cloud SQL primary with "
                           f"automated backups on, a failed backup would have alerted someone. As of the last read: "
                           f"{as_read}{tail}")
    else:
        finding.message += tail
    if finding.status != NOT_APPLICABLE:
        finding.not_applicable_reason = None


def _involved(judges: list[monitoring_days.Judge]) -> tuple[list, list[str]]:
    """The alerting resources and projects any day's judge looked at (one judge per monitoring project in force)."""
    keys: dict = {}
    projects: set[str] = set()
    for judge in judges:
        found, where = judge.involved()
        keys.update(dict.fromkeys(found))
        projects.update(where)
    return list(keys), sorted(projects)


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat()


def _project_finding(project: str, primaries: list[SqlInstance], central: str | None, facts: Any) -> Finding:
    resource = project_resource(project)
    if not primaries:
        return Finding(ID, resource, "alerting", NOT_APPLICABLE,
                       f"Project {project} has no Cloud SQL primary with automated backups, so no backup alert is needed.")
    sources = [project] + ([central] if central and central != project else [])
    policies, unread_reads = known_items(facts.alert_policies.at(f"projects/{p}") for p in sources)
    covered: dict[str, list[str]] = {}
    uncovered: dict[str, list[str]] = {}
    unsure: list[str] = []
    for instance in primaries:
        verdicts = [_policy(p, instance, facts) for p in policies]
        covering = [v for v in verdicts if v.covers]
        if covering:
            covered[instance.name] = [s for v in covering for s in v.notes]
        else:
            uncovered[instance.name] = [s for v in verdicts for s in v.notes]
            unsure += [s for v in verdicts for s in v.unsure]
    unread = _unread_policies(unread_reads)
    own = [p for p in policies if p.project == project]
    evidence = [e for p in policies for e in p.evidence] + [e for i in primaries for e in i.evidence]
    channels, _ = known_items(facts.notification_channels.at(f"projects/{p}") for p in sources)
    metrics, _ = known_items([facts.log_metrics.at(f"projects/{project}")])
    evidence += [e for c in channels for e in c.evidence]
    evidence += [e for m in metrics for e in m.evidence]
    observed = {"alert_policies_in_project": len(own), "alert_policies_in_monitoring_project": len(policies) - len(own),
                "monitoring_project": central, "instances_covered": sorted(covered), "instances_not_covered": sorted(uncovered)}
    details = {"covered_by": covered, "why_not_covered": uncovered, "could_not_verify": unsure + unread,
               "note": NO_NATIVE_ALERTS + ". A policy in the monitoring project sees only the logs and metrics that reach it "
                       "(its metrics scope, or a log sink or log scope for log-match conditions)."}
    if not uncovered:
        status = PASS
        first = next(iter(covered.values()))[0]
        message = (f"Project {project}: a failed automated backup of each of its {len(primaries)} Cloud SQL primaries "
                   f"({', '.join(sorted(covered))}) triggers an alert: {first}.")
    else:
        names = ", ".join(sorted(uncovered))
        reasons = sorted({r for rs in uncovered.values() for r in rs})
        if not own:
            reasons.insert(0, f"project {project} has no alert policies of its own")
        if unsure or unread:
            status = INCONCLUSIVE
            message = (f"Project {project}: no alert on a failed backup could be confirmed for {names}; "
                       + "; ".join(unread + unsure) + ". " + NO_NATIVE_ALERTS + ".")
        else:
            status = FAIL
            found = "; ".join(reasons) if reasons else f"no alert policy in project {project}" + (f" or in monitoring project {central}" if central else "")
            message = (f"Project {project}: a failed automated backup of {names} would alert nobody. {NO_NATIVE_ALERTS}. "
                       f"Found: {found}.")
    return Finding(ID, resource, "alerting", status, message, observed=observed,
                   expected={"alert": "an enabled alert policy, matching failed automated backups only, with an enabled notification channel"},
                   details=details, evidence=evidence)


CHECK = Check(
    id=ID,
    frequency="daily",
    title="A failed automated backup alerts someone",
    criteria=("CC9.1", "A1.2"),
    policy_clause="",  # quoted from the configuration (policy.clauses), never built in
    description="Cloud SQL does not alert on failed backups by itself; an alert policy must exist. For each project holding "
                "Cloud SQL primaries, reads the Cloud Monitoring alert policies (alertPolicies.list) and notification "
                "channels (notificationChannels.list) of the project and of the central monitoring project, and the "
                "log-based metrics (Logging projects.metrics.list) that threshold conditions count; evaluates each "
                "condition's filter against a failed and a successful automated-backup audit entry.",
    needs=("sql_instances", "alert_policies", "notification_channels", "log_metrics", "monitoring_history", "history",
           "final_snapshots", "config_changes"),
    evaluate=evaluate,
)
