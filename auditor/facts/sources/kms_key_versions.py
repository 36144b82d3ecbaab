"""Cloud KMS cryptoKeyVersions.list, one per key: each version's state decides whether what it encrypts can be read."""

from __future__ import annotations

from typing import Any

from auditor.facts.access import get, items, text, timestamp
from auditor.facts.controls import KmsKeyVersion, key_of_version
from auditor.facts.declare import Cost, Fact, Source, key_scope


def read(call: dict[str, Any], body: Any, item_id: str, emit) -> None:
    for data in items(body, "cryptoKeyVersions") or []:
        name = text(data, "name")
        if name:
            emit("kms_key_versions", KmsKeyVersion(name=name, key=key_of_version(name), state=text(data, "state"),
                                                   destroy_time=timestamp(get(data, "destroyTime")), evidence=(item_id,)))


def _by_name(values: list[Any]) -> list[Any]:
    return list({v.name: v for v in values}.values())


FACTS = (Fact("kms_key_versions", "key", key=lambda v: v.key, scope_of=key_scope, dedupe=_by_name,
              doc="the versions of a Cloud KMS key and their states"),)
SOURCES = (
    Source("cloudkms", "cryptoKeyVersions.list", "key", fills=("kms_key_versions",),
           permissions=("cloudkms.cryptoKeyVersions.list",), field="cryptoKeyVersions", read=read,
           cost=Cost(page_cap=1000, per="key", shape="key_versions")),
)
