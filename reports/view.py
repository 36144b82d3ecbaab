"""What the report says about a control beyond its raw findings: the test procedure, the criteria's
points of focus, the exceptions that could not be verified grouped by reason.

Generic over every control in results.json: it reads only the public contract (control metadata,
findings, evidence ids) and the evidence manifest (calls: api, method, scope, identity, times).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from auditor.reports.criteria import describe

SYSTEMS = {
    "sqladmin": "Cloud SQL Admin API", "logging": "Cloud Logging API", "storage": "Cloud Storage JSON API",
    "cloudasset": "Cloud Asset Inventory API", "cloudkms": "Cloud KMS API", "monitoring": "Cloud Monitoring API",
    "github": "GitHub REST API", "git": "the local backup repositories (git)", "local": "the local backup folder",
}


def system_name(api: str) -> str:
    return SYSTEMS.get(api, f"the {api} API")


def _join(words: list[str]) -> str:
    words = [w for w in words if w]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _keys(findings: list[dict[str, Any]], section: str) -> list[str]:
    seen: "OrderedDict[str, None]" = OrderedDict()
    for f in findings:
        for key in (f.get(section) or {}):
            seen.setdefault(key, None)
    return list(seen)


def procedure(control: dict[str, Any], methods: list[dict[str, Any]], results: dict[str, Any], manifest: dict[str, Any]) -> str:
    """The test procedure as an auditor writes it: what was inspected, from which system, which population, as of when."""
    pop = control["population"]
    period = results["period"]
    if methods:
        inspected = _join([f"{m['method']} ({system_name(m['api'])}, {m['calls']} call{'s' if m['calls'] != 1 else ''})" for m in methods])
        scopes = sorted({s for m in methods for s in m["scopes"]})
        scope_text = _join(scopes[:6]) + (f" and {len(scopes) - 6} more scopes" if len(scopes) > 6 else "")
        source = f"Inspected the responses of {inspected}, retrieved read-only for {scope_text}"
    else:
        source = "No API response is referenced by this control's findings; nothing could be inspected"
    identity = manifest.get("identity") or {}
    who = _join([f"{v}" for _, v in sorted(identity.items()) if v]) or "the configured identity"
    in_scope = [f for f in control["findings"] if f["status"] != "not_applicable"]
    observed, expected = _keys(in_scope, "observed"), _keys(in_scope, "expected")
    compare = ""
    if observed:
        compare = (f" For each in-scope resource, compared the observed {_join(observed[:6])}"
                   + (f" with the expected {_join(expected[:6])} set by the policy" if expected else "") + ".")
    days = any(isinstance((f.get("details") or {}).get("days"), dict) for f in control["findings"])
    span = (f"each day of the audit period {period['start']} to {period['end']} ({period['timezone']})" if days
            else f"the configuration as of {results['as_of']}")
    return (f"{source}, as identity {who}, with evidence as of {results['as_of']}. "
            f"Population: {pop['total']} resource{'s' if pop['total'] != 1 else ''} found, {pop['in_scope']} in scope, "
            f"{pop['not_applicable']} not applicable. Tested {span}.{compare} "
            f"Any resource whose evidence could not be read completely is reported inconclusive, not passed.")


def criteria_of(control: dict[str, Any]) -> list[dict[str, Any]]:
    return [describe(c) for c in control["criteria"]]


def unverified_reason(finding: dict[str, Any]) -> str:
    """Why an inconclusive finding could not be verified, as a short label for grouping."""
    observed, details = finding.get("observed") or {}, finding.get("details") or {}
    for entry in details.get("unverified") or []:  # the structured record every inconclusive finding carries
        if isinstance(entry, dict) and entry.get("api") and entry.get("kind"):
            reason = f" ({entry['reason']})" if entry.get("reason") else ""
            return f"{entry['api']} {entry.get('method') or ''}: {entry['kind']}{reason}".replace(" :", ":")
    kind = observed.get("error_kind") or details.get("error_kind")
    reason = observed.get("reason") or details.get("reason")
    what = " ".join(str(x) for x in (observed.get("api"), observed.get("method")) if x)
    if kind or reason:
        label = " ".join(str(x) for x in (kind, f"({reason})" if reason and reason != kind else None) if x)
        return f"{what}: {label}" if what else label
    if details.get("unknown_days"):
        return "days whose evidence could not be read"
    if observed.get("unknown_days"):
        return "days whose evidence could not be read"
    return "other (see each finding's message)"


def unverified_groups(control: dict[str, Any]) -> list[dict[str, Any]]:
    groups: "OrderedDict[str, list[dict[str, Any]]]" = OrderedDict()
    for f in control["findings"]:
        if f["status"] == "inconclusive":
            groups.setdefault(unverified_reason(f), []).append(f)
    return [{"reason": k, "findings": v} for k, v in groups.items()]


def exception_count(control: dict[str, Any]) -> int:
    return sum(1 for f in control["findings"] if f["status"] in ("fail", "inconclusive"))


def coverage_summary(coverage: dict[str, Any]) -> dict[str, int]:
    """Counts for the executive summary: promises tested by a check that ran, only manual, not tested in this run."""
    rows = coverage["promises"]
    tested = [r for r in rows if r["result"] not in ("manual", "not_tested")]
    return {"total": len(rows), "tested": len(tested), "tested_also_manual": sum(1 for r in tested if r.get("manual")),
            "manual_only": sum(1 for r in rows if r["result"] == "manual"),
            "not_tested": sum(1 for r in rows if r["result"] == "not_tested"),
            "failing": sum(1 for r in tested if r["result"] in ("fail", "inconclusive"))}
