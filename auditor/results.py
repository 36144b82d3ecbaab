"""Findings, controls and the results.json document (public contract: schemas/results.v2.json).

The tool writes `auditor.results/v2`. A v1 document (an older baseline) is read by `upgrade`, which
maps it to v2 without changing any finding id, or says exactly why it cannot.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Callable

import jsonschema

SCHEMA_ID = "auditor.results/v2"
SCHEMA_V1 = "auditor.results/v1"
SCHEMA_FILES = {SCHEMA_ID: "schemas/results.v2.json", SCHEMA_V1: "schemas/results.v1.json"}
PASS, FAIL, INCONCLUSIVE, NOT_APPLICABLE = "pass", "fail", "inconclusive", "not_applicable"
STATUS_ORDER = {FAIL: 3, INCONCLUSIVE: 2, PASS: 1, NOT_APPLICABLE: 0}
#: The one vocabulary of `details.days`, shared by every control judged day by day: a day is kept (within the
#: policy throughout), broken (outside it at some moment: an exception), unknown (no evidence covers it: an
#: exception too, never a pass), or outside the population: stopped (an instance stopped, so no backup was due),
#: not_due (after the read) or not_applicable (the resource did not exist, or is out of scope, that day).
DAY_STATES = ("kept", "broken", "unknown", "stopped", "not_due", "not_applicable")
EXCEPTION_DAYS = ("broken", "unknown")


@dataclass
class Finding:
    check: str
    resource: str
    rule: str
    status: str
    message: str
    observed: dict[str, Any] = field(default_factory=dict)
    expected: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    evidence: list[str] = field(default_factory=list)
    waiver: dict[str, Any] | None = None
    #: why a not_applicable finding is out of scope; given by the check, else the check's details, else its message
    not_applicable_reason: str | None = None

    @property
    def id(self) -> str:
        """Stable across runs: check, resource and rule."""
        return f"{self.check}:{self.resource.removeprefix('//')}:{self.rule}"

    def as_dict(self) -> dict[str, Any]:
        out = {
            "id": self.id, "rule": self.rule, "resource": self.resource, "status": self.status, "message": self.message,
            "observed": self.observed, "expected": self.expected, "details": self.details,
            "evidence": sorted(set(self.evidence)), "waiver": self.waiver,
        }
        if self.status == NOT_APPLICABLE:
            out["not_applicable_reason"] = self.reason_not_applicable()
        return out

    def reason_not_applicable(self) -> str:
        """Why this finding is out of scope: never empty, so a not_applicable always says why (schema v2)."""
        given = self.not_applicable_reason or self.details.get("not_applicable_reason")
        return str(given) if given else self.message


def worst(statuses: list[str]) -> str | None:
    return max(statuses, key=STATUS_ORDER.__getitem__) if statuses else None


def control_status(findings: list[Finding], *, population_declared_empty: bool = False) -> str:
    """Worst of the findings; no in-scope finding is inconclusive unless the population is declared empty."""
    in_scope = [f.status for f in findings if f.status != NOT_APPLICABLE]
    if not in_scope:
        return NOT_APPLICABLE if population_declared_empty else INCONCLUSIVE
    return worst(in_scope) or INCONCLUSIVE


def effective_status(findings: list[Finding], status: str) -> str:
    """Waived findings count as passing (waivers are applied, with expiry, before this is called)."""
    effective = [PASS if f.waiver and not f.waiver.get("expired") and not f.waiver.get("uncovered_days")
                 and f.status in (FAIL, INCONCLUSIVE) else f.status
                 for f in findings]
    in_scope = [s for s in effective if s != NOT_APPLICABLE]
    return (worst(in_scope) or status) if in_scope else status


def load_schema(schema_id: str = SCHEMA_ID) -> dict[str, Any]:
    return json.loads(resources.files("auditor").joinpath(SCHEMA_FILES[schema_id]).read_text())


@functools.lru_cache(maxsize=2)
def _fast_validator(schema_id: str = SCHEMA_ID) -> Callable[[Any], Any] | None:
    """A fast yes/no on the schema; `jsonschema` stays the reference and names any error.

    jsonschema-rs (compiled, draft 2020-12): at scale (200 projects, 34,880 findings, two million day
    states) it validates in under a second, where fastjsonschema's generated code took most of the checks
    stage (it formats every `$ref`'s name from ``locals()``, millions of times). fastjsonschema (draft 7,
    whose meaning of every keyword the results schemas use is the same) when jsonschema-rs is missing.
    Either raises ValueError on a document it does not accept, or on one it cannot read (an integer past
    64 bits): the reference validator then decides."""
    try:
        import jsonschema_rs
    except ImportError:
        jsonschema_rs = None
    if jsonschema_rs is not None:
        validator = jsonschema_rs.validator_for(load_schema(schema_id))

        def check(document: Any) -> None:
            try:
                valid = validator.is_valid(document)
            except Exception as err:  # noqa: BLE001 - whatever it cannot read, the reference reads
                raise ValueError(f"jsonschema-rs could not read the document: {err}") from err
            if not valid:
                raise ValueError("not valid by jsonschema-rs")

        return check
    try:
        import fastjsonschema
    except ImportError:
        return None
    return fastjsonschema.compile(load_schema(schema_id))


def _error(message: str, *path: Any) -> jsonschema.ValidationError:
    from collections import deque

    return jsonschema.ValidationError(message, path=deque(path))


def check_semantics(document: dict[str, Any]) -> None:
    """What a schema cannot say: control ids and finding ids are unique (a duplicate would let the last
    one win in any comparison), and each finding belongs to the control that holds it (its id begins
    with that control's id). Raises jsonschema.ValidationError, like the schema, naming the place."""
    controls = document.get("controls", [])
    declared: dict[str, int] = {}
    for ci, control in enumerate(controls):
        if control["id"] in declared:
            raise _error(f"control id {control['id']!r} is declared twice (controls {declared[control['id']]} and {ci})",
                         "controls", ci, "id")
        declared[control["id"]] = ci
    seen: dict[str, tuple[int, int]] = {}
    for ci, control in enumerate(controls):
        for fi, finding in enumerate(control.get("findings", [])):
            fid = finding["id"]
            if fid in seen:
                a, b = seen[fid]
                raise _error(f"finding id {fid!r} appears twice (controls/{a}/findings/{b} and here); "
                             "finding ids must be unique", "controls", ci, "findings", fi, "id")
            seen[fid] = (ci, fi)
            if not fid.startswith(control["id"] + ":"):
                named = fid.split(":", 1)[0]
                where = ("which the results do not declare" if named not in declared
                         else f"which is declared separately (controls/{declared[named]})")
                raise _error(f"finding id {fid!r} in control {control['id']!r} names control {named!r}, {where}",
                             "controls", ci, "findings", fi, "id")
    for ei, entry in enumerate((document.get("exceptions") or {}).get("entries", [])):
        if entry["control"] not in declared:
            raise _error(f"exception for control {entry['control']!r}, which the results do not declare",
                         "exceptions", "entries", ei, "control")
        if entry["finding"] not in seen:
            raise _error(f"exception for finding {entry['finding']!r}, which the results do not contain",
                         "exceptions", "entries", ei, "finding")


def validate_results(document: dict[str, Any], schema_id: str = SCHEMA_ID) -> None:
    """Raise jsonschema.ValidationError when a document breaks the public contract (`schema_id`'s schema
    and the rules of `check_semantics`)."""
    fast = _fast_validator(schema_id)
    valid = False
    if fast is not None:
        try:
            fast(document)
            valid = True
        except ValueError:  # fastjsonschema.JsonSchemaException: let the reference validator say why
            pass
    if not valid:
        jsonschema.validate(document, load_schema(schema_id), cls=jsonschema.Draft202012Validator)
    check_semantics(document)


class UpgradeError(ValueError):
    """A v1 document that cannot be mapped to v2; the message says exactly why."""


def upgrade(document: dict[str, Any]) -> dict[str, Any]:
    """A v1 results document as v2 (a copy): the schema id, and each finding's `rule`, which v1 carried
    only inside the id (`check:resource-without-//:rule`). Finding ids are kept as they are, so a gate
    against a v1 baseline compares like with like. v1 had no other field that v2 reads differently."""
    out = json.loads(json.dumps(document))
    out["schema"] = SCHEMA_ID
    for ci, control in enumerate(out.get("controls", [])):
        for fi, finding in enumerate(control.get("findings", [])):
            prefixes = [f"{control['id']}:{finding['resource'].removeprefix('//')}:", f"{control['id']}:{finding['resource']}:"]
            prefix = next((p for p in prefixes if finding["id"].startswith(p) and len(finding["id"]) > len(p)), None)
            if prefix is None:
                raise UpgradeError(
                    f"controls/{ci}/findings/{fi}: finding id {finding['id']!r} is not "
                    f"'{control['id']}:<resource>:<rule>' for resource {finding['resource']!r}, so its rule cannot be "
                    "recovered for auditor.results/v2")
            finding["rule"] = finding["id"][len(prefix):]
            out["controls"][ci]["findings"][fi] = {"id": finding.pop("id"), "rule": finding.pop("rule"), **finding}
    return out
