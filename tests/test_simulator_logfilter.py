"""Unit tests of the Logging query-language subset the simulator applies server-side."""

import os

os.environ["NO_GCE_CHECK"] = "True"

import pytest

from auditor.logfilter import LogFilterError, compile_filter

ENTRY = {
    "logName": "projects/p/logs/cloudaudit.googleapis.com%2Fsystem_event",
    "protoPayload": {
        "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
        "methodName": "cloudsql.instances.automatedBackup",
        "metadata": {"windowStatus": "STATUS_FAILED", "windowStartTime": "2026-09-02T23:00:00.000Z"},
    },
    "resource": {"type": "cloudsql_database", "labels": {"database_id": "p:billing-pg"}},
    "timestamp": "2026-09-03T02:59:00.000Z",
    "severity": "ERROR",
}


@pytest.mark.parametrize("text, expected", [
    ("", True),
    ('protoPayload.methodName="cloudsql.instances.automatedBackup"', True),
    ('protoPayload.methodName="cloudsql.instances.update"', False),
    ("protoPayload.methodName=cloudsql.instances.automatedBackup", True),  # bare word value
    ('protoPayload.methodName!="cloudsql.instances.update"', True),
    ('logName:"system_event"', True),
    ("logName:activity", False),
    ('resource.type="cloudsql_database" resource.labels.database_id="p:billing-pg"', True),  # implicit AND
    ('resource.type="cloudsql_database"\nresource.labels.database_id="p:other"', False),
    ('resource.type="gce_instance" OR protoPayload.metadata.windowStatus="STATUS_FAILED"', True),
    ('resource.type="gce_instance" OR protoPayload.metadata.windowStatus="STATUS_SKIPPED"', False),
    ('NOT protoPayload.metadata.windowStatus="STATUS_SUCCEEDED"', True),
    ('-protoPayload.metadata.windowStatus="STATUS_FAILED"', False),
    ('protoPayload.metadata.windowStatus=("STATUS_FAILED" OR "STATUS_SKIPPED")', True),
    ('protoPayload.metadata.windowStatus=(STATUS_SUCCEEDED OR STATUS_SKIPPED)', False),
    ('(resource.type="x" OR severity>=ERROR) AND logName:system_event', True),
    ("severity>=WARNING", True),
    ("severity<ERROR", False),
    ('timestamp>="2026-09-03T00:00:00Z" AND timestamp<"2026-09-04T00:00:00Z"', True),
    ("timestamp>=2026-09-03T03:00:00Z", False),  # bare timestamp with colons
    ('timestamp>="2026-09-03T04:59:00+02:00"', True),  # offsets compare as instants, not strings
    ('timestamp<"2026-09-03"', False),
    ('protoPayload.metadata.windowStartTime<"2026-09-03T00:00:00Z"', True),
    ("protoPayload.metadata.backupEndTime:*", False),
    ("protoPayload.metadata.windowStartTime:*", True),
    ('protoPayload.metadata.backupEndTime!="x"', True),  # absent field: != holds
    ('protoPayload.metadata.backupEndTime="x"', False),
    ('"billing-pg"', True),  # quoted global search
    ('"no-such-thing"', False),
    ("protoPayload.methodName:automatedbackup", True),  # has is case-insensitive
])
def test_filter_semantics(text, expected):
    assert compile_filter(text)(ENTRY) is expected


@pytest.mark.parametrize("text", [
    'protoPayload.methodName="x" AND',
    "(resource.type=x",
    "resource.type=x)",
    "resource.type=",
    "justaword",
    'timestamp>="yesterday"',
    "AND resource.type=x",
    "resource..type=x",
    'SEARCH("x")',
    "resource.type=(a OR)",
])
def test_unparsable_filters_raise(text):
    with pytest.raises(LogFilterError):
        compile_filter(text)
