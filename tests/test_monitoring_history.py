"""The alerting history's readers and rules, on payloads shaped after the Monitoring v3 and Logging v2 references.

AlertPolicy, NotificationChannel and LogMetric bodies follow the REST references' JSON representations
(optional fields left out where the reference marks them optional or output-only: `enabled` absent,
`mutationRecord` absent, a metric without `createTime`/`updateTime` "for older metrics", a channel without
`verificationStatus`); audit entries follow the LogEntry / AuditLog references, with and without `request`.
Expected values are reasoned from those references by hand.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

from auditor.checks import monitoring_days
from auditor.facts.controls import AlertCondition, AlertPolicy, NotificationChannel
from auditor.facts.model import LogSpan
from auditor.facts.monitoring_history import UNKNOWN, MonitoringHistory
from auditor.facts.sources.alert_policies import alert_policy
from auditor.facts.sources.log_metrics import log_metric
from auditor.facts.sources.monitoring_log import change
from auditor.facts.sources.notification_channels import channel
from auditor.period import Period

UTC = timezone.utc
P = "projects/acme-prod/alertPolicies/1234567890"
CHANNEL = "projects/acme-prod/notificationChannels/555"
METRIC_FILTER = ('resource.type="cloudsql_database" AND protoPayload.methodName="cloudsql.instances.automatedBackup" '
                 'AND protoPayload.metadata.windowStatus="STATUS_FAILED"')


def _policy_body(**extra) -> dict:
    return {
        "name": P, "displayName": "Cloud SQL backup failed",
        "documentation": {"content": "Page the DBA.", "mimeType": "text/markdown"},
        "userLabels": {"team": "dba"},
        "conditions": [
            {"name": f"{P}/conditions/1", "displayName": "failures > 0",
             "conditionThreshold": {"filter": 'metric.type="logging.googleapis.com/user/backup-failures" AND '
                                              'resource.type="cloudsql_database"',
                                    "comparison": "COMPARISON_GT", "thresholdValue": 0, "duration": "0s",
                                    "aggregations": [{"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_COUNT"}],
                                    "trigger": {"count": 1}}},
            {"name": f"{P}/conditions/2", "displayName": "log match",
             "conditionMatchedLog": {"filter": METRIC_FILTER, "labelExtractors": {}}},
            {"name": f"{P}/conditions/3", "displayName": "no data",
             "conditionAbsent": {"filter": 'metric.type="cloudsql.googleapis.com/database/up"', "duration": "300s"}},
            {"name": f"{P}/conditions/4", "displayName": "mql",
             "conditionMonitoringQueryLanguage": {"query": "fetch cloudsql_database", "duration": "60s"}},
        ],
        "combiner": "OR",
        "notificationChannels": [CHANNEL],
        "creationRecord": {"mutateTime": "2025-01-10T10:00:00.123456Z", "mutatedBy": "sre@acme.example"},
        "alertStrategy": {"autoClose": "604800s"},
        "severity": "CRITICAL",
        **extra,
    }


def test_an_alert_policy_without_enabled_is_enabled_and_its_records_are_read():
    policy = alert_policy(_policy_body(), "acme-prod", "item-1")
    assert policy.enabled is True  # BoolValue: "the default interpretation if unset is that the policy is enabled"
    assert [c.kind for c in policy.conditions] == ["threshold", "log_match", "other", "other"]
    assert policy.conditions[0].metric == "backup-failures"
    assert policy.created == datetime(2025, 1, 10, 10, 0, 0, 123456, tzinfo=UTC)
    assert policy.mutated is None  # no mutationRecord given: nothing confirmed
    changed = alert_policy(_policy_body(enabled=False, mutationRecord={"mutateTime": "2026-08-17T10:00:00Z",
                                                                        "mutatedBy": "sre@acme.example"}), "acme-prod", "i")
    assert changed.enabled is False and changed.mutated == datetime(2026, 8, 17, 10, tzinfo=UTC)


def _channel_body(**extra) -> dict:
    return {"type": "email", "name": CHANNEL, "displayName": "DBA on-call", "description": "",
            "labels": {"email_address": "d***@acme.example"}, "userLabels": {}, "enabled": True,
            "creationRecord": {"mutateTime": "2025-01-10T09:00:00Z", "mutatedBy": "sre@acme.example"},
            "mutationRecords": [{"mutateTime": "2025-01-10T09:00:00Z", "mutatedBy": "sre@acme.example"},
                                {"mutateTime": "2025-03-02T12:30:00Z", "mutatedBy": "sre@acme.example"}], **extra}


def test_a_channel_notifies_when_enabled_and_not_waiting_for_verification():
    verified = channel(_channel_body(verificationStatus="VERIFIED"), "acme-prod", "i")
    assert verified.can_notify and verified.verification == "VERIFIED"
    assert verified.mutated == datetime(2025, 3, 2, 12, 30, tzinfo=UTC)  # the newest of mutationRecords
    unverified = channel(_channel_body(verificationStatus="UNVERIFIED"), "acme-prod", "i")
    assert not unverified.can_notify  # "has yet to be verified and requires verification to function"
    absent = channel(_channel_body(), "acme-prod", "i")
    assert absent.verification is None and absent.can_notify  # the sentinel: not applicable to this channel
    assert not channel(_channel_body(enabled=False, verificationStatus="VERIFIED"), "acme-prod", "i").can_notify


def test_a_metric_records_its_update_time_and_an_older_one_has_none():
    body = {"name": "backup-failures", "description": "", "filter": METRIC_FILTER, "version": "V2",
            "metricDescriptor": {"metricKind": "DELTA", "valueType": "INT64", "unit": "1"},
            "createTime": "2025-01-10T08:00:00Z", "updateTime": "2025-02-01T08:00:00Z"}
    metric = log_metric(body, "acme-prod", "i")
    assert metric.filter == METRIC_FILTER and metric.disabled is False
    assert metric.mutated == datetime(2025, 2, 1, 8, tzinfo=UTC)
    older = log_metric({k: v for k, v in body.items() if k not in ("createTime", "updateTime")}, "acme-prod", "i")
    assert older.created is None and older.mutated is None


def _entry(method: str, request: dict | None = None, *, code: int | None = None, resource: str = P,
           service: str = "monitoring.googleapis.com", when: str = "2026-08-03T10:00:00.5Z") -> dict:
    proto = {"@type": "type.googleapis.com/google.cloud.audit.AuditLog",
             "status": {} if code is None else {"code": code, "message": "denied"},
             "authenticationInfo": {"principalEmail": "sre@acme.example"},
             "requestMetadata": {"callerIp": "192.0.2.10"}, "serviceName": service, "methodName": method,
             "authorizationInfo": [{"resource": resource, "permission": "monitoring.alertPolicies.update", "granted": True}],
             "resourceName": resource}
    if request is not None:
        proto["request"] = request
    return {"protoPayload": proto, "insertId": "abc123", "resource": {"type": "audited_resource",
            "labels": {"service": service, "method": method, "project_id": "acme-prod"}},
            "timestamp": when, "severity": "NOTICE", "logName": "projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity",
            "receiveTimestamp": "2026-08-03T10:00:01Z"}


UPDATE = "google.monitoring.v3.AlertPolicyService.UpdateAlertPolicy"


def test_an_update_with_its_body_sets_the_masked_fields_and_one_without_sets_unknowns():
    masked = change(_entry(UPDATE, {"@type": "type.googleapis.com/google.monitoring.v3.UpdateAlertPolicyRequest",
                                    "alertPolicy": {"name": P, "enabled": False}, "updateMask": "enabled"}), "item")
    assert masked.name == "1234567890" and masked.kind == "alert_policy" and masked.key == "log:abc123"
    assert masked.settings == {"enabled": False, "exists": True}
    bare = change(_entry(UPDATE), "item")  # logged without protoPayload.request
    assert bare.settings == {"enabled": None, "conditions": None, "channels": None, "exists": True}
    whole = change(_entry(UPDATE, {"alertPolicy": _policy_body()}), "item")  # no mask: the policy is replaced
    assert whole.settings["enabled"] is True and len(whole.settings["conditions"]) == 4
    assert whole.settings["channels"] == (CHANNEL,)
    nested = change(_entry(UPDATE, {"alertPolicy": _policy_body(), "updateMask": {"paths": ["conditions.0.filter", "enabled"]}}),
                    "item")
    assert nested.settings == {"conditions": None, "enabled": True, "exists": True}


def test_deletions_count_failed_requests_and_other_methods_do_not():
    gone = change(_entry("google.monitoring.v3.AlertPolicyService.DeleteAlertPolicy", {"name": P}), "i")
    assert gone.deleted and gone.settings == {"exists": False}
    assert change(_entry(UPDATE, {"alertPolicy": {"name": P, "enabled": False}}, code=7), "i") is None
    assert change(_entry("google.monitoring.v3.AlertPolicyService.GetAlertPolicy"), "i") is None


def test_channel_and_metric_changes():
    verify = change(_entry("google.monitoring.v3.NotificationChannelService.VerifyNotificationChannel",
                           {"name": CHANNEL, "code": "G-123456"}, resource=CHANNEL), "i")
    assert verify.kind == "notification_channel" and verify.name == "555" and verify.settings == {"verification": "VERIFIED"}
    relabel = change(_entry("google.monitoring.v3.NotificationChannelService.UpdateNotificationChannel",
                            {"notificationChannel": {"name": CHANNEL, "labels": {"email_address": "new@acme.example"}},
                             "updateMask": "labels"}, resource=CHANNEL), "i")
    assert relabel.settings == {"verification": None, "exists": True}  # a new address is verified afresh, or not
    metric = change(_entry("google.logging.v2.MetricsServiceV2.UpdateLogMetric",
                           {"metricName": "projects/acme-prod/metrics/backup-failures",
                            "metric": {"name": "backup-failures", "filter": METRIC_FILTER}},
                           resource="projects/acme-prod/metrics/backup-failures", service="logging.googleapis.com"), "i")
    assert metric.kind == "log_metric" and metric.name == "backup-failures"
    assert metric.settings == {"filter": METRIC_FILTER, "disabled": False, "exists": True}
    created = change(_entry("google.logging.v2.MetricsServiceV2.CreateLogMetric", None, resource="projects/acme-prod",
                            service="logging.googleapis.com"), "i")
    assert created.name is None  # the parent names no metric and no body says which: the project's metrics are unsure


# -- the history and the day-by-day judgement on hand-made facts -----------------------------------------------
PERIOD = Period(date(2026, 8, 1), date(2026, 8, 10), "UTC")
AS_OF = datetime(2026, 8, 11, 6, tzinfo=UTC)
MUTATED = datetime(2025, 1, 10, tzinfo=UTC)
INSTANCE = SimpleNamespace(project="acme-prod", resource="//cloudsql.googleapis.com/projects/acme-prod/instances/db", name="db")
COND = (AlertCondition("log match", "log_match", METRIC_FILTER, None),)


def _fires(text, instance):
    return "STATUS_FAILED" in text, False


def _policy(at: datetime, enabled: bool, mutated: datetime = MUTATED) -> AlertPolicy:
    return AlertPolicy(name=P, project="acme-prod", display_name="Backup failed", enabled=enabled, conditions=COND,
                       channels=(CHANNEL,), evidence=(f"read-{at:%m%d}",), observed_at=at, created=MUTATED, mutated=mutated)


def _channel(at: datetime) -> NotificationChannel:
    return NotificationChannel(name=CHANNEL, project="acme-prod", type="email", display_name="DBA", enabled=True,
                               evidence=(f"ch-{at:%m%d}",), verification="VERIFIED", observed_at=at, created=MUTATED,
                               mutated=MUTATED)


def _listings(at: datetime):
    return [("projects/acme-prod", "alert_policy", at), ("projects/acme-prod", "notification_channel", at)]


def _states(history):
    judge = monitoring_days.Judge(history, ["acme-prod"], [INSTANCE], {}, _fires)
    return monitoring_days.day_states(judge, PERIOD, AS_OF)


def test_daily_reads_joined_by_the_log_show_the_days_off():
    reads, listings = [], []
    off_from, on_again = datetime(2026, 8, 3, 10, tzinfo=UTC), datetime(2026, 8, 6, 10, tzinfo=UTC)
    for n in range(1, 12):
        at = datetime(2026, 8, n, 6, tzinfo=UTC)
        enabled = not (off_from <= at < on_again)
        reads += [_policy(at, enabled, MUTATED if at < off_from else off_from if at < on_again else on_again), _channel(at)]
        listings += _listings(at)
    unlogged = [change(_entry(UPDATE, when=t.strftime("%Y-%m-%dT%H:%M:%SZ")) | {"insertId": f"u{t:%d}"}, "log-page")
                for t in (off_from, on_again)]
    coverage = [LogSpan("projects/acme-prod", datetime(2026, 7, 31, tzinfo=UTC), AS_OF, "c-1")]
    states = _states(MonitoringHistory(reads, unlogged, listings, coverage))
    assert [d.day for d, s in states.items() if s == "broken"] == [3, 4, 5, 6]
    assert set(s for d, s in states.items() if d.day not in (3, 4, 5, 6)) == {"kept"}


def test_one_read_after_unlogged_changes_leaves_the_days_before_the_last_change_unknown():
    off_from, on_again = datetime(2026, 8, 3, 10, tzinfo=UTC), datetime(2026, 8, 6, 10, tzinfo=UTC)
    reads = [_policy(AS_OF, True, on_again), _channel(AS_OF)]
    unlogged = [change(_entry(UPDATE, when=t.strftime("%Y-%m-%dT%H:%M:%SZ")) | {"insertId": f"u{t:%d}"}, "log-page")
                for t in (off_from, on_again)]
    coverage = [LogSpan("projects/acme-prod", datetime(2026, 7, 31, tzinfo=UTC), AS_OF, "c-1")]
    history = MonitoringHistory(reads, unlogged, _listings(AS_OF), coverage)
    states = _states(history)
    assert [d.day for d, s in states.items() if s == "unknown"] == [1, 2, 3, 4, 5, 6]
    assert [d.day for d, s in states.items() if s == "kept"] == [7, 8, 9, 10]
    key = ("alert_policy", "acme-prod", "1234567890")
    assert history.value_at(key, "enabled", datetime(2026, 8, 4, tzinfo=UTC).timestamp()) is UNKNOWN
    assert history.value_at(key, "enabled", datetime(2026, 8, 7, tzinfo=UTC).timestamp()) is True


def test_without_a_log_query_the_read_holds_back_only_to_the_policys_own_last_change():
    on_again = datetime(2026, 8, 6, 10, tzinfo=UTC)
    reads = [_policy(AS_OF, True, on_again), _channel(AS_OF)]
    history = MonitoringHistory(reads, [], _listings(AS_OF), [])
    key = ("alert_policy", "acme-prod", "1234567890")
    assert history.value_at(key, "enabled", datetime(2026, 8, 7, tzinfo=UTC).timestamp()) is True  # its mutationRecord
    assert history.value_at(key, "enabled", datetime(2026, 8, 5, tzinfo=UTC).timestamp()) is UNKNOWN
    channel_key = ("notification_channel", "acme-prod", "555")
    assert history.value_at(channel_key, "enabled", datetime(2026, 8, 1, tzinfo=UTC).timestamp()) is True
    # a channel's verification can change without a mutation record: only a log query carries it
    assert history.value_at(channel_key, "verification", datetime(2026, 8, 7, tzinfo=UTC).timestamp()) is UNKNOWN
    assert set(_states(history).values()) == {"unknown"}


def test_a_policy_known_to_be_off_is_no_exception_where_an_unread_policy_might_have_covered():
    """Read disabled at the end, last changed before the period, but no log query joins the read to the days:
    only the read's own moment is known in full (the listing); before it another policy may have existed."""
    reads = [_policy(AS_OF - timedelta(hours=1), False), _channel(AS_OF - timedelta(hours=1))]
    states = _states(MonitoringHistory(reads, [], _listings(AS_OF - timedelta(hours=1)), []))
    assert set(states.values()) == {"unknown"}
    covered = [LogSpan("projects/acme-prod", datetime(2026, 7, 31, tzinfo=UTC), AS_OF, "c-1")]
    assert set(_states(MonitoringHistory(reads, [], _listings(AS_OF - timedelta(hours=1)), covered)).values()) == {"broken"}


COVERED = [LogSpan("projects/acme-prod", datetime(2026, 7, 31, tzinfo=UTC), AS_OF, "c-1")]


def _threshold_policy(at: datetime) -> AlertPolicy:
    cond = (AlertCondition("failures", "threshold", 'metric.type="logging.googleapis.com/user/backup-failures"',
                           "backup-failures"),)
    return AlertPolicy(name=P, project="acme-prod", display_name="Backup failed", enabled=True, conditions=cond,
                       channels=(CHANNEL,), evidence=("read",), observed_at=at, created=MUTATED, mutated=MUTATED)


def _metric(at: datetime, text: str, updated: datetime = MUTATED):
    from auditor.facts.controls import LogMetric

    return LogMetric(name="backup-failures", project="acme-prod", filter=text, disabled=False, evidence=("m",),
                     observed_at=at, created=MUTATED, mutated=updated)


def test_a_metric_filter_changed_with_its_body_logged_breaks_the_days_it_counted_nothing_useful():
    """UpdateLogMetric on Aug 4 12:00 sets a filter matching successes only (body logged); Aug 8 12:00 puts it back."""
    wrong = METRIC_FILTER.replace("STATUS_FAILED", "STATUS_SUCCEEDED")
    bad, good = datetime(2026, 8, 4, 12, tzinfo=UTC), datetime(2026, 8, 8, 12, tzinfo=UTC)

    def update(when, text):
        entry = _entry("google.logging.v2.MetricsServiceV2.UpdateLogMetric",
                       {"metricName": "projects/acme-prod/metrics/backup-failures",
                        "metric": {"name": "backup-failures", "filter": text}},
                       resource="projects/acme-prod/metrics/backup-failures", service="logging.googleapis.com",
                       when=when.strftime("%Y-%m-%dT%H:%M:%SZ"))
        return change({**entry, "insertId": f"m{when:%d}"}, "log-page")

    def fires(text, instance):
        return "STATUS_FAILED" in text, "STATUS_SUCCEEDED" in text

    reads = [_threshold_policy(AS_OF), _channel(AS_OF), _metric(AS_OF, METRIC_FILTER, good)]
    listings = _listings(AS_OF) + [("projects/acme-prod", "log_metric", AS_OF)]
    history = MonitoringHistory(reads, [update(bad, wrong), update(good, METRIC_FILTER)], listings, COVERED)
    judge = monitoring_days.Judge(history, ["acme-prod"], [INSTANCE], {}, fires)
    states = monitoring_days.day_states(judge, PERIOD, AS_OF)
    assert [d.day for d, s in states.items() if s == "broken"] == [4, 5, 6, 7, 8]
    # before Aug 4 the metric's filter is unknown: the first logged change says what it set, not what was there
    assert [d.day for d, s in states.items() if s == "unknown"] == [1, 2, 3]
    assert [d.day for d, s in states.items() if s == "kept"] == [9, 10]


def test_a_deleted_policy_covers_nothing_from_its_deletion_on():
    gone_at = datetime(2026, 8, 5, 15, tzinfo=UTC)
    reads, listings = [], []
    for n in range(1, 12):
        at = datetime(2026, 8, n, 6, tzinfo=UTC)
        reads.append(_channel(at))
        if at < gone_at:
            reads.append(_policy(at, True))
        listings += _listings(at)
    delete = change({**_entry("google.monitoring.v3.AlertPolicyService.DeleteAlertPolicy", {"name": P},
                              when="2026-08-05T15:00:00Z"), "insertId": "del"}, "log-page")
    states = _states(MonitoringHistory(reads, [delete], listings, COVERED))
    assert [d.day for d, s in states.items() if s == "broken"] == [5, 6, 7, 8, 9, 10]
    assert [d.day for d, s in states.items() if s == "kept"] == [1, 2, 3, 4]


def test_a_change_that_names_no_resource_leaves_the_projects_policies_unsure_until_the_next_listing():
    """A CreateAlertPolicy entry whose resourceName is the parent project and which carries no body: some policy came
    to exist, which one is unknown. The known policy is disabled, but the new one may have covered: unknown, not
    broken, until a complete listing shows the population again."""
    reads, listings = [], []
    for n in (1, 8):
        at = datetime(2026, 8, n, 6, tzinfo=UTC)
        reads += [_policy(at, False), _channel(at)]
        listings += _listings(at)
    created = change({**_entry("google.monitoring.v3.AlertPolicyService.CreateAlertPolicy", resource="projects/acme-prod",
                               when="2026-08-03T12:00:00Z"), "insertId": "new"}, "log-page")
    assert created.name is None
    states = _states(MonitoringHistory(reads, [created], listings, COVERED))
    # Aug 3 before 12:00 and Aug 8 from the 06:00 listing on, the known population covers nothing: broken days
    assert [d.day for d, s in states.items() if s == "unknown"] == [4, 5, 6, 7]
    assert [d.day for d, s in states.items() if s == "broken"] == [1, 2, 3, 8, 9, 10]
