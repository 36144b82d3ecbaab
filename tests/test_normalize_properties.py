"""Property-based: API-shaped JSON with missing, null, wrongly typed and extra fields never crashes the
normalizers, and a needed value that is missing makes the check `inconclusive`, never `pass`."""

from __future__ import annotations

from datetime import datetime, timezone

from hypothesis import HealthCheck, given, settings, strategies as st

from auditor.checks import backup_enabled, backup_frequency
from auditor.checks_api import CheckContext
from auditor.config import load_config
from auditor.facts.access import items as page_items
from auditor.facts.build import assemble
from auditor.facts.sources import SOURCES
from auditor.facts.sources.audit_log import log_entry
from auditor.facts.sources.backup_runs import backup_run
from auditor.facts.sources.sql_instances import sql_instance
from auditor.period import Period
from auditor.results import INCONCLUSIVE, PASS
from auditor.unverified import complete

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def maybe(value_strategy):
    """A field that is well-formed, junk, or absent (the sentinel is removed by `shaped`)."""
    return st.one_of(value_strategy, junk, st.just(...))


def shaped(**fields):
    return st.fixed_dictionaries(fields).map(lambda d: {k: v for k, v in d.items() if v is not ...})


stamps = st.datetimes(min_value=datetime(2026, 6, 1), max_value=datetime(2026, 10, 1)).map(lambda d: d.isoformat() + "Z")
backup_config = shaped(enabled=maybe(st.booleans()), startTime=maybe(st.sampled_from(["03:00", "23:00", "25:99", ""])),
                       location=maybe(st.sampled_from(["us-east1", "US", "eu"])),
                       backupRetentionSettings=maybe(shaped(retainedBackups=maybe(st.integers(-5, 400)))),
                       pointInTimeRecoveryEnabled=maybe(st.booleans()), transactionLogRetentionDays=maybe(st.integers()))
instances = shaped(
    name=maybe(st.sampled_from(["customers-pg", "billing-pg", "x"])), project=maybe(st.just("bks-prod")),
    instanceType=maybe(st.sampled_from(["CLOUD_SQL_INSTANCE", "READ_REPLICA_INSTANCE", "ON_PREMISES_INSTANCE"])),
    masterInstanceName=maybe(st.just("bks-prod:customers-pg")), createTime=maybe(stamps),
    settings=maybe(shaped(backupConfiguration=maybe(backup_config), activationPolicy=maybe(st.sampled_from(["ALWAYS", "NEVER"])),
                          userLabels=maybe(st.dictionaries(st.text(max_size=5), junk, max_size=3)))),
    diskEncryptionConfiguration=maybe(shaped(kmsKeyName=maybe(st.text(max_size=10)))), extra=junk,
)
runs = shaped(id=maybe(st.integers(1, 10**12)), instance=maybe(st.just("customers-pg")),
              status=maybe(st.sampled_from(["SUCCESSFUL", "FAILED", "WEIRD"])), type=maybe(st.sampled_from(["AUTOMATED", "ON_DEMAND"])),
              windowStartTime=maybe(stamps), startTime=maybe(stamps), endTime=maybe(stamps), location=maybe(st.text(max_size=8)))
entries = shaped(insertId=maybe(st.text(min_size=1, max_size=8)), timestamp=maybe(stamps),
                 resource=maybe(shaped(labels=maybe(shaped(database_id=maybe(st.just("bks-prod:customers-pg")))))),
                 protoPayload=maybe(shaped(methodName=maybe(st.sampled_from(["cloudsql.instances.automatedBackup", "cloudsql.instances.update"])),
                                           resourceName=maybe(st.just("projects/bks-prod/instances/customers-pg")),
                                           metadata=maybe(shaped(windowStatus=maybe(st.sampled_from(["STATUS_SUCCEEDED", "STATUS_FAILED"])),
                                                                 windowStartTime=maybe(stamps))),
                                           request=maybe(junk))))


def context(sample_dir):
    config = load_config(sample_dir / "auditor.yaml")
    return CheckContext(config=config, period=Period.from_config(config.period),
                        as_of=datetime(2026, 9, 30, 2, tzinfo=timezone.utc))


@SETTINGS
@given(data=instances)
def test_sql_instance_never_crashes_and_never_passes_unknown_backup_setting(sample_dir, data):
    instance = sql_instance(data, "e-1")
    if instance is None:
        assert not (isinstance(data.get("name"), str) and data["name"] and isinstance(data.get("project"), str) and data["project"])
        return
    facts = assemble(datetime(2026, 9, 30, 2, tzinfo=timezone.utc), [instance.project], items={"sql_instances": [instance]},
                     answered=[("sqladmin", "instances.list", f"projects/{instance.project}")])
    for check in (backup_enabled.CHECK, backup_frequency.CHECK):
        findings = complete(check, check.evaluate(facts.view(check.needs), context(sample_dir)), facts)
        for finding in findings:
            if finding.status == INCONCLUSIVE:
                assert finding.details["unverified"]
    (enabled,) = [f for f in complete(backup_enabled.CHECK, backup_enabled.evaluate(facts.view(backup_enabled.CHECK.needs),
                                                                                    context(sample_dir)), facts)
                  if f.resource == instance.resource]
    backup = (data.get("settings") or {}).get("backupConfiguration") if isinstance(data.get("settings"), dict) else None
    raw = backup.get("enabled") if isinstance(backup, dict) else None
    if not instance.is_replica and not isinstance(raw, bool):
        assert enabled.status == INCONCLUSIVE
    if enabled.status == PASS:
        assert raw is True


@SETTINGS
@given(data=runs)
def test_backup_run_never_crashes(data):
    run = backup_run(data, "bks-prod", "e-1")
    if run is not None:
        assert run.window_start.tzinfo is not None and run.outcome in ("succeeded", "failed", "skipped", "running", "other")
        assert run.outcome != "succeeded" or data.get("status") == "SUCCESSFUL"


@SETTINGS
@given(data=entries)
def test_log_entry_never_crashes(data):
    fact = log_entry(data, "e-1")
    if fact is not None and hasattr(fact, "outcome"):
        assert fact.outcome != "succeeded" or data["protoPayload"]["metadata"]["windowStatus"] == "STATUS_SUCCEEDED"


@SETTINGS
@given(body=junk | st.dictionaries(st.sampled_from(["items", "entries", "nextPageToken", "kind"]), junk, max_size=3))
def test_page_readers_never_crash(body):
    for source in SOURCES:
        if source.read is None:
            continue  # whole-call readers (GitHub, git) are tested with their collector
        api, method, field, read = source.api, source.method, source.field, source.read
        items = page_items(body, field) if field else (body if isinstance(body, dict) else None)
        assert items is None or isinstance(items, dict) or all(isinstance(i, dict) for i in items)
        if items is not None:
            # call parameters are the collector's own (never API content): every key a reader may read
            params = {"project": "bks-prod", "instance": "-", "bucket": "b", "permissions": ["storage.buckets.get"],
                      "name": "projects/bks-prod/locations/us/keyRings/r/cryptoKeys/k"}
            read({"api": api, "method": method, "params": params, "scope": "projects/bks-prod", "id": "c-1"},
                 body, "e-1", lambda fact, item, at=None: None)
