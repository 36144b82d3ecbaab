"""Cloud KMS cryptoKeys.get, one per key an instance or a retained backup names."""

from __future__ import annotations

from typing import Any

from auditor.facts.access import text
from auditor.facts.read_backupdr import duration
from auditor.facts.controls import KmsKey, key_location
from auditor.facts.declare import Cost, Fact, Source, key_scope


def read(call: dict[str, Any], body: Any, item_id: str, emit) -> None:
    name = text(body, "name")
    if name:
        emit("kms_keys", KmsKey(name=name, location=key_location(name), purpose=text(body, "purpose"),
                                primary_version=text(body, "primary", "name"), evidence=(item_id,),
                                destroy_scheduled=duration(body.get("destroyScheduledDuration"))))


def _by_name(values: list[Any]) -> list[Any]:
    return list({v.name: v for v in values}.values())


FACTS = (Fact("kms_keys", "key", key=lambda k: k.name, scope_of=key_scope, dedupe=_by_name, doc="a Cloud KMS key"),)
SOURCES = (
    Source("cloudkms", "cryptoKeys.get", "key", fills=("kms_keys",), permissions=("cloudkms.cryptoKeys.get",),
           field="", read=read, cost=Cost(page_cap=1, per="key")),
)
