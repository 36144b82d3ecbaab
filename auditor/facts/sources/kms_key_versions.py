"""Cloud KMS cryptoKeyVersions.list, one per key: each version's state decides whether what it encrypts can be read.

`kms_key_versions` is each version at its latest read; `kms_version_observations` keeps every read
(one per version per locker, with the time it was answered), so daily lockers show each version's
state day by day (auditor.facts.kms_history). A version's own timestamps are history too: createTime,
destroyTime (when destruction is or was scheduled to happen) and destroyEventTime (when it happened).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from auditor.facts.access import get, items, text, timestamp
from auditor.facts.controls import KmsKeyVersion, key_of_version
from auditor.facts.declare import Cost, Fact, Source, key_scope


def key_version(data: Any, evidence: str, observed_at: datetime | None = None) -> KmsKeyVersion | None:
    """One CryptoKeyVersion object; None without a name."""
    name = text(data, "name")
    if not name or "/cryptoKeyVersions/" not in name:
        return None
    return KmsKeyVersion(name=name, key=key_of_version(name), state=text(data, "state"),
                         destroy_time=timestamp(get(data, "destroyTime")), evidence=(evidence,),
                         create_time=timestamp(get(data, "createTime")),
                         destroy_event_time=timestamp(get(data, "destroyEventTime")), observed_at=observed_at)


def read(call: dict[str, Any], body: Any, item_id: str, emit) -> None:
    observed_at = timestamp(call.get("server_date"))
    for data in items(body, "cryptoKeyVersions") or []:
        version = key_version(data, item_id, observed_at)
        if version:
            emit("kms_key_versions", version)
            emit("kms_version_observations", version)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _every(values: list[Any]) -> list[Any]:
    return sorted({(v.name, v.observed_at): v for v in values}.values(), key=lambda v: (v.name, v.observed_at or _EPOCH))


def _by_name(values: list[Any]) -> list[Any]:
    return list({v.name: v for v in _every(values)}.values())


FACTS = (Fact("kms_key_versions", "key", key=lambda v: v.key, scope_of=key_scope, dedupe=_by_name,
              doc="the versions of a Cloud KMS key and their states"),
         Fact("kms_version_observations", "key", key=lambda v: v.key, scope_of=key_scope, dedupe=_every,
              doc="every read of every version of a Cloud KMS key, oldest first"))
SOURCES = (
    Source("cloudkms", "cryptoKeyVersions.list", "key", fills=("kms_key_versions", "kms_version_observations"),
           permissions=("cloudkms.cryptoKeyVersions.list",), field="cryptoKeyVersions", read=read,
           cost=Cost(page_cap=1000, per="key", shape="key_versions")),
)
