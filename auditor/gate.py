"""The CI gate: compare a new results.json with a baseline and name every difference.

Pure: `compare(new, baseline, fail_on)` takes two results documents and returns a `GateReport`;
nothing here reads files, the clock or the environment (`load_results` is the one file reader, for
the CLI). Findings are matched by their stable ids (`check:resource:rule`), resources by their full
resource names.

Kinds of change (also the values `--fail-on` accepts):
  new-failure       a finding that fails now and did not fail in the baseline (or is new and fails)
  new-inconclusive  a finding that is inconclusive now and was not before
  resolved          a finding that failed or was inconclusive and now passes, is not applicable, or is gone
  new-resource      a resource in scope now that no baseline finding named
  resource-gone     a resource the baseline named that no finding names now
  weakened          an `observed` value moved in a weakening direction (auditor.drift), whatever the status
  expired-waiver    a failing or inconclusive finding whose waiver has expired (as of the new results)
  unmatched-waiver  a waiver in the new results that matched no finding
  control-gone      a control the baseline reported that the new results do not (a check removed, a plugin
                    not installed, or `controls: []`): its findings are no longer judged, so it fails by default
  new-control       a control the new results report that the baseline did not

Results the gate cannot trust never reach `compare`: `load_results` rejects a document that breaks
the schema, repeats a finding id, or holds a finding under a control it does not belong to (exit 2).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from auditor import reading
from auditor.drift import drift
from auditor.errors import AuditorError
from auditor.results import (FAIL, INCONCLUSIVE, NOT_APPLICABLE, SCHEMA_FILES, SCHEMA_ID, SCHEMA_V1, UpgradeError,
                             upgrade, validate_results)

KINDS = ("new-failure", "new-inconclusive", "resolved", "new-resource", "resource-gone", "weakened",
         "expired-waiver", "unmatched-waiver", "control-gone", "new-control")
DEFAULT_FAIL_ON = ("new-failure", "new-inconclusive", "expired-waiver", "control-gone")
EXCEPTIONS = (FAIL, INCONCLUSIVE)


class GateError(AuditorError):
    """A results file cannot be read or compared, or --fail-on names an unknown kind (exit 2)."""


@dataclass(frozen=True)
class Change:
    kind: str
    control: str | None
    resource: str
    finding: str | None
    before: Any
    after: Any
    message: str
    key: str | None = None  # the observed key, for `weakened`
    waived: bool = False  # an unexpired waiver covers it: reported, never fails the gate
    failing: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GateReport:
    changes: list[Change]
    fail_on: tuple[str, ...]
    new: dict[str, Any] = field(repr=False)
    baseline: dict[str, Any] | None = field(repr=False)
    notes: list[str] = field(default_factory=list)

    @property
    def failing(self) -> list[Change]:
        return [c for c in self.changes if c.failing]

    @property
    def passed(self) -> bool:
        return not self.failing

    def counts(self) -> dict[str, int]:
        return {kind: sum(1 for c in self.changes if c.kind == kind) for kind in KINDS}

    def as_dict(self) -> dict[str, Any]:
        base = self.baseline or {}
        return {
            "schema": "auditor.gate/v1",
            "passed": self.passed,
            "fail_on": list(self.fail_on),
            "new": {"as_of": self.new.get("as_of"), "lockers": [l.get("id") for l in self.new.get("lockers", [])]},
            "baseline": {"as_of": base.get("as_of"), "lockers": [l.get("id") for l in base.get("lockers", [])]} if self.baseline else None,
            "counts": self.counts(),
            "failing": len(self.failing),
            "notes": self.notes,
            "changes": [c.as_dict() for c in self.changes],
        }


def parse_fail_on(text: str | None) -> tuple[str, ...]:
    """'new-failure,weakened' -> kinds; 'none' -> nothing fails; 'any' -> every kind but resolved."""
    if text is None or not text.strip():
        return DEFAULT_FAIL_ON
    words = [w.strip() for w in text.split(",") if w.strip()]
    if words == ["none"]:
        return ()
    if words == ["any"]:
        return tuple(k for k in KINDS if k != "resolved")
    unknown = [w for w in words if w not in KINDS]
    if unknown:
        raise GateError(f"--fail-on: unknown kind {', '.join(unknown)}; choose from {', '.join(KINDS)}, 'any' or 'none'")
    return tuple(dict.fromkeys(words))


def load_results(path: Path, what: str) -> dict[str, Any]:
    """Read and validate a results.json (v2, or v1 mapped to v2); errors name the file and the reason (exit 2)."""
    return read_results(path, what)[0]


def read_results(path: Path, what: str) -> tuple[dict[str, Any], str]:
    """`load_results`, and the schema the file declared (a v1 file comes back mapped to v2)."""
    _raw, document = reading.read_json(path, "results", error=GateError)
    if not isinstance(document, dict):
        raise GateError(f"{path}: the {what} results are not a JSON object")
    schema_id = document.get("schema")
    if schema_id not in SCHEMA_FILES:
        known = ", ".join(sorted(SCHEMA_FILES))
        raise GateError(f"{path}: the {what} results declare schema {str(schema_id)[:80]!r}; this tool reads {known}")
    try:
        validate_results(document, schema_id)
    except jsonschema.ValidationError as err:
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        raise GateError(f"{path}: the {what} results break schema {schema_id} at {where}: {err.message}") from err
    if schema_id == SCHEMA_V1:
        try:
            document = upgrade(document)
            validate_results(document, SCHEMA_ID)
        except UpgradeError as err:
            raise GateError(f"{path}: the {what} results ({SCHEMA_V1}) cannot be read as {SCHEMA_ID}: {err}") from err
        except jsonschema.ValidationError as err:  # pragma: no cover - v2 is a superset of v1; a guard, not a path
            where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
            raise GateError(f"{path}: the {what} results ({SCHEMA_V1}) mapped to {SCHEMA_ID} break it at {where}: "
                            f"{err.message}") from err
    return document, schema_id


def _findings(document: dict[str, Any] | None) -> dict[str, tuple[str, dict[str, Any]]]:
    """finding id -> (control id, finding)."""
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for control in (document or {}).get("controls", []):
        for finding in control.get("findings", []):
            out[finding["id"]] = (control["id"], finding)
    return out


def _in_scope_resources(findings: dict[str, tuple[str, dict[str, Any]]]) -> dict[str, list[str]]:
    """resource -> the controls that name it with an in-scope status."""
    out: dict[str, list[str]] = {}
    for control, finding in findings.values():
        if finding["status"] != NOT_APPLICABLE:
            out.setdefault(finding["resource"], [])
            if control not in out[finding["resource"]]:
                out[finding["resource"]].append(control)
    return out


def _waiver_active(finding: dict[str, Any]) -> bool:
    waiver = finding.get("waiver")
    return bool(waiver) and not waiver.get("expired", False)


def _short(value: Any) -> str:
    return "absent" if value is None else json.dumps(value) if not isinstance(value, str) else value


def compare(new: dict[str, Any], baseline: dict[str, Any] | None, fail_on: tuple[str, ...] = DEFAULT_FAIL_ON,
            read_as: dict[str, str] | None = None) -> GateReport:
    """Every difference between `baseline` and `new`; without a baseline, everything in `new` is new.
    `read_as` names the schema each side was written in ({"baseline": "auditor.results/v1"}) when it was mapped."""
    old_findings, new_findings = _findings(baseline), _findings(new)
    changes: list[Change] = []
    notes: list[str] = [f"the {side} results are {schema}, read as {SCHEMA_ID} (finding ids unchanged)"
                        for side, schema in sorted((read_as or {}).items()) if schema != SCHEMA_ID]
    if baseline is not None:
        if baseline.get("organization") != new.get("organization"):
            notes.append(f"the baseline is for {baseline.get('organization')!r}, the new results for {new.get('organization')!r}")
        if baseline.get("as_of", "") > new.get("as_of", ""):
            notes.append(f"the baseline (as of {baseline.get('as_of')}) is newer than the new results (as of {new.get('as_of')})")
    else:
        notes.append("no baseline: every finding and resource counts as new")

    for fid in sorted(set(old_findings) | set(new_findings)):
        control, after = new_findings.get(fid, (None, None))
        old_control, before = old_findings.get(fid, (None, None))
        control = control or old_control
        resource = (after or before)["resource"]
        old_status = before["status"] if before else None
        new_status = after["status"] if after else None
        waived = bool(after) and _waiver_active(after)
        if new_status == FAIL and old_status != FAIL:
            changes.append(Change("new-failure", control, resource, fid, old_status, new_status,
                                  f"{control}: {after['message']}", waived=waived))
        elif new_status == INCONCLUSIVE and old_status != INCONCLUSIVE:
            changes.append(Change("new-inconclusive", control, resource, fid, old_status, new_status,
                                  f"{control}: {after['message']}", waived=waived))
        elif old_status in EXCEPTIONS and new_status not in EXCEPTIONS:
            what = f"now {new_status}" if new_status else "no longer reported"
            changes.append(Change("resolved", control, resource, fid, old_status, new_status,
                                  f"{control}: {resource} was {old_status}, {what}."))
        if before and after:
            for rule, was, now in drift(before.get("observed", {}), after.get("observed", {})):
                changes.append(Change("weakened", control, resource, fid, was, now,
                                      f"{control}: {resource}: {rule.meaning} changed from {_short(was)} to {_short(now)}.",
                                      key=rule.key, waived=waived))
        if after and new_status in EXCEPTIONS and after.get("waiver") and after["waiver"].get("expired"):
            w = after["waiver"]
            changes.append(Change("expired-waiver", control, resource, fid, w.get("expires"), new_status,
                                  f"{control}: {resource}: the waiver ({w.get('ticket')}, approved by {w.get('approver')}) "
                                  f"expired on {w.get('expires')}; the finding is {new_status} again."))

    old_controls = {c["id"]: c for c in (baseline or {}).get("controls", [])}
    new_controls = {c["id"]: c for c in new.get("controls", [])}
    if baseline is not None:
        for cid in sorted(set(old_controls) - set(new_controls)):
            was = old_controls[cid]
            changes.append(Change("control-gone", cid, f"control:{cid}", None, was["status"], None,
                                  f"{cid}: the baseline reported this control ({was['status']}, {len(was['findings'])} findings); "
                                  "the new results do not, so none of its findings is judged now."))
        for cid in sorted(set(new_controls) - set(old_controls)):
            changes.append(Change("new-control", cid, f"control:{cid}", None, None, new_controls[cid]["status"],
                                  f"{cid}: a control the baseline did not report (now {new_controls[cid]['status']})."))
    if not new_controls:
        notes.append("the new results report no controls")

    old_resources, new_resources = _in_scope_resources(old_findings), _in_scope_resources(new_findings)
    for resource in sorted(set(new_resources) - set(old_resources)):
        changes.append(Change("new-resource", None, resource, None, None, new_resources[resource],
                              f"{resource} is new in scope (checked by {', '.join(new_resources[resource])})."))
    for resource in sorted(set(old_resources) - set(new_resources)):
        changes.append(Change("resource-gone", None, resource, None, old_resources[resource], None,
                              f"{resource} was in scope in the baseline and is no longer reported by any control."))

    for waiver in (new.get("waivers") or {}).get("entries", []):
        if not waiver.get("matched"):
            changes.append(Change("unmatched-waiver", waiver.get("control"), waiver.get("resource", ""), None, None, None,
                                  f"waiver {waiver.get('ticket')} for {waiver.get('control')} on {waiver.get('resource')} "
                                  "matches no finding; remove it or fix its pattern."))

    changes = [Change(**{**c.as_dict(), "failing": c.kind in fail_on and not c.waived}) for c in changes]
    order = {kind: i for i, kind in enumerate(KINDS)}
    changes.sort(key=lambda c: (not c.failing, order[c.kind], c.resource, c.finding or "", c.key or ""))
    return GateReport(changes=changes, fail_on=tuple(fail_on), new=new, baseline=baseline, notes=notes)
