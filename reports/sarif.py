"""SARIF 2.1.0 for GitHub code scanning: one result per failing or inconclusive finding.

Code scanning shows a result only where it points at a file of the repository, and a control
finding is about a cloud resource, not code. So each result points at the line of the repository
that brings that resource into the audit: its entry in the declared data map (`inventory:`) when it
has one, else the line of the config that puts it in scope (its project under `gcp.projects`, the
`gcp.organization` it was discovered under, its GitHub organisation), else the config's first line.
The resource itself is the result's logical location; `partialFingerprints` carries the finding's
stable id, so code scanning tracks the same finding across daily runs instead of opening a new alert.

Waived findings are kept, with a SARIF suppression giving the waiver (code scanning shows them as
dismissed). Nothing is dropped silently: past GitHub's cap on results per run, the rest are counted
in a tool notification that names results.json.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
MAX_RESULTS = 25_000  # GitHub code scanning rejects a run with more results than this
LEVEL = {"fail": "error", "inconclusive": "warning"}
_PROJECT = re.compile(r"^//[a-z0-9.-]+\.googleapis\.com/projects/([^/]+)")


@dataclass(frozen=True)
class SourceFile:
    """A file of the repository the results can point at: its path relative to the repository root, and its text."""

    uri: str
    text: str


@dataclass
class _Lines:
    """Where, in one YAML file, each name is written: scalar value -> line (1-based), and key paths -> line."""

    values: dict[tuple[str, str], int] = field(default_factory=dict)  # (key path, value) -> line
    keys: dict[str, int] = field(default_factory=dict)  # dotted key path -> line

    @classmethod
    def of(cls, text: str) -> "_Lines":
        lines = cls()
        try:
            root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError:
            return lines
        lines._walk(root, "")
        return lines

    def _walk(self, node: Any, path: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode):
                    continue
                child = f"{path}.{key.value}" if path else str(key.value)
                self.keys.setdefault(child, key.start_mark.line + 1)
                self._walk(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                self._walk(item, path)
        elif isinstance(node, yaml.ScalarNode):
            self.values.setdefault((path, str(node.value)), node.start_mark.line + 1)


class Locator:
    """Finds the repository line for a finding (see the module docstring for the order)."""

    def __init__(self, config: SourceFile | None, inventory: SourceFile | None) -> None:
        if config is None and inventory is None:
            raise ValueError("SARIF needs the config or the data map to point each result at a line of the repository")
        self.config, self.inventory = config, inventory
        self._config = _Lines.of(config.text) if config else _Lines()
        self._inventory = _Lines.of(inventory.text) if inventory else _Lines()

    def locate(self, finding: dict[str, Any]) -> tuple[str, int]:
        resource = str(finding.get("resource", ""))
        if self.inventory is not None:
            for key in ("stores.resource", "exclusions.resource"):
                line = self._inventory.values.get((key, resource))
                if line:
                    return self.inventory.uri, line
            if resource.startswith("inventory:"):  # a finding about the data map itself
                return self.inventory.uri, self._inventory.keys.get("reviewed", 1)
        if self.config is not None:
            line = self._scope_line(resource, finding)
            return self.config.uri, line or 1
        assert self.inventory is not None
        return self.inventory.uri, 1

    def _scope_line(self, resource: str, finding: dict[str, Any]) -> int | None:
        config = self._config
        project = _project_of(resource, finding)
        if project:
            line = config.values.get(("gcp.projects", project))
            if line:
                return line
        if resource.startswith("//"):
            for key in ("gcp.organization", "gcp.folders", "gcp.projects", "gcp"):
                if key in config.keys:
                    return config.keys[key]
            return None
        parts = resource.split("/")
        if len(parts) >= 2:  # HOST/ORG/REPO: a repository, named by its GitHub host
            line = config.values.get(("github.organizations", parts[1]))
            if line:
                return line
        return config.keys.get("github.organizations") or config.keys.get("github")


def _project_of(resource: str, finding: dict[str, Any]) -> str | None:
    match = _PROJECT.match(resource)
    if match:
        return match.group(1)
    for part in ("details", "observed"):
        value = (finding.get(part) or {}).get("project")
        if isinstance(value, str):
            return value
    return None


def _rule(control: dict[str, Any]) -> dict[str, Any]:
    criteria = list(control.get("criteria") or [])
    clause = control.get("policy_clause") or ""
    help_text = f"SOC 2 criteria: {', '.join(criteria)}." + (f" Policy: {clause}" if clause else "")
    return {
        "id": control["id"],
        "name": "".join(word.capitalize() for word in control["id"].split("-")),
        "shortDescription": {"text": control["title"]},
        "fullDescription": {"text": control.get("description") or control["title"]},
        "help": {"text": help_text},
        "defaultConfiguration": {"level": "error"},
        "properties": {"criteria": criteria, "tags": ["soc2", "backup", *criteria]},
    }


def _result(finding: dict[str, Any], control: dict[str, Any], index: int, locator: Locator) -> dict[str, Any]:
    uri, line = locator.locate(finding)
    result: dict[str, Any] = {
        "ruleId": control["id"],
        "ruleIndex": index,
        "level": LEVEL[finding["status"]],
        "message": {"text": f"{finding['status']}: {finding['resource']}: {finding['message']}"},
        "locations": [{
            "physicalLocation": {"artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"}, "region": {"startLine": line}},
            "logicalLocations": [{"fullyQualifiedName": finding["resource"], "kind": "resource"}],
        }],
        "partialFingerprints": {"findingId/v1": finding["id"]},
        "properties": {"status": finding["status"], "criteria": list(control.get("criteria") or []),
                       "evidence": list(finding.get("evidence") or [])},
    }
    waiver = finding.get("waiver")
    if waiver and not waiver.get("expired"):
        result["suppressions"] = [{"kind": "external", "status": "accepted",
                                   "justification": f"waiver {waiver.get('ticket')}: {waiver.get('reason')} "
                                                    f"(approved by {waiver.get('approver')}, until {waiver.get('expires')})"}]
    return result


def render_sarif(results: dict[str, Any], locator: Locator, *, tool_version: str | None = None,
                 max_results: int = MAX_RESULTS) -> str:
    """The SARIF log of a results document (fail before inconclusive when GitHub's cap is reached)."""
    controls = results["controls"]
    rules = [_rule(control) for control in controls]
    pending = [(0 if f["status"] == "fail" else 1, i, f) for i, control in enumerate(controls)
               for f in control["findings"] if f["status"] in LEVEL]
    pending.sort(key=lambda item: item[0])
    kept = pending[:max_results]
    out = [_result(f, controls[i], i, locator) for _rank, i, f in kept]
    notifications = []
    if len(pending) > len(kept):
        notifications.append({"level": "warning", "message": {
            "text": f"{len(pending) - len(kept)} more failing or inconclusive findings than code scanning accepts "
                    f"in one run ({max_results}); every finding is in results.json"}})
    tool = results.get("tool") or {}
    run: dict[str, Any] = {
        "tool": {"driver": {"name": tool.get("name", "soc2-backup-auditor"),
                            "version": tool_version or tool.get("version", "0"),
                            "rules": rules}},
        "automationDetails": {"id": "soc2-backup-auditor/"},
        "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "the repository that holds the auditor's config"}}},
        "invocations": [{"executionSuccessful": True, "endTimeUtc": results["generated_at"],
                         "toolExecutionNotifications": notifications}],
        "results": out,
        "properties": {"organization": results["organization"], "period": results["period"], "as_of": results["as_of"]},
    }
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=1) + "\n"
