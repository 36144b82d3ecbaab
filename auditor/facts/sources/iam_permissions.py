"""testIamPermissions, on projects (Cloud Resource Manager) and Cloud KMS keys: which of the permissions the run needs
the identity holds.

Asked once per project in scope during `collect` (auditor/collectors/iam.py), with every read
permission the declared sources need plus a few write probes (auditor.permissions.probe). The answer
is the subset held, `{"permissions": [...]}`, or `{}` when none is (the response omits an empty list).
It is provenance, not a control's input: no check needs `permission_tests`, so a failed test makes no
control inconclusive; the pack says "not tested" with the reason instead (auditor.iam).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auditor.facts.declare import Cost, Fact, Source, same_scope


@dataclass(frozen=True)
class PermissionTest:
    scope: str  # projects/P
    asked: tuple[str, ...]
    held: tuple[str, ...]
    evidence: tuple[str, ...]

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(p for p in self.asked if p not in self.held)


def held_of(body: Any) -> list[str] | None:
    """The permissions a TestIamPermissionsResponse grants; None for a body that is not one."""
    if not isinstance(body, dict):
        return None
    granted = body.get("permissions", [])
    if not isinstance(granted, list) or not all(isinstance(p, str) for p in granted):
        return None
    return list(granted)


def read(call: dict[str, Any], body: Any, item_id: str, emit) -> None:
    """An answer whose `permissions` is not a list of names yields no test: the provenance then says
    "not tested" (auditor.iam reads the same page with the same rule)."""
    held = held_of(body)
    if held is None:
        return
    asked = tuple(str(p) for p in call["params"].get("permissions") or ())
    emit("permission_tests", PermissionTest(call["scope"], asked, tuple(p for p in asked if p in held), (item_id,)))


def read_key(call: dict[str, Any], body: Any, item_id: str, emit) -> None:
    held = held_of(body)
    if held is None:
        return
    asked = tuple(str(p) for p in call["params"].get("permissions") or ())
    emit("key_permission_tests", PermissionTest(call["scope"], asked, tuple(p for p in asked if p in held), (item_id,)))


def _latest(values: list[Any]) -> list[Any]:
    return list({t.scope: t for t in values}.values())


FACTS = (Fact("permission_tests", "project", key=lambda t: t.scope, scope_of=same_scope, snapshot=True, dedupe=_latest,
              doc="the permissions the identity holds on a project (testIamPermissions), for the pack's provenance"),
         Fact("key_permission_tests", "key", key=lambda t: t.scope, scope_of=same_scope, snapshot=True, dedupe=_latest,
              doc="the permissions the identity holds on a Cloud KMS key (its own testIamPermissions)"))
SOURCES = (
    Source("cloudresourcemanager", "projects.testIamPermissions", "project", fills=("permission_tests",), permissions=(),
           field="", read=read, cost=Cost(page_cap=1, per="project"),
           doc="needs no permission of its own; answers the subset of the asked permissions the caller holds"),
    Source("cloudkms", "cryptoKeys.testIamPermissions", "key", fills=("key_permission_tests",), permissions=(),
           field="", read=read_key, cost=Cost(page_cap=1, per="key"),
           doc="the IAM mixin on a key: needs no permission; a key that does not exist answers the empty set"),
)
