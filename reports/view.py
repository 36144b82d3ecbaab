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
    "inventory": "the declared data map",
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
    principal = (results.get("provenance") or {}).get("principal") or {}
    systems = sorted({"github" if m["api"] == "github" else "git" if m["api"] in ("git", "local") else
                      None if m["api"] == "inventory" else "gcp" for m in methods} - {None})
    names = {"gcp": "Google Cloud", "github": "GitHub", "git": "the backup host"}
    who = _join([f"{principal.get(s) or identity.get(s) or 'an unrecorded identity'} ({names[s]})" for s in systems]) \
        or "the configured identity"
    in_scope = [f for f in control["findings"] if f["status"] != "not_applicable"]
    expected = [plain(k) for k in _keys(in_scope, "expected")]
    expected = list(dict.fromkeys(e for e in expected if e))
    compare = ""
    if in_scope:
        compare = (" For each in-scope resource, compared what the evidence shows with what the configuration requires"
                   + (f" ({_join(expected[:6])})" if expected else "")
                   + "; each exception below names the value found, the value required and the configuration key that set it.")
    days = any(isinstance((f.get("details") or {}).get("days"), dict) for f in control["findings"])
    span = (f"each day of the audit period {period['start']} to {period['end']} ({period['timezone']})" if days
            else f"the configuration as of {results['as_of']}")
    return (f"{source}, as identity {who}, with evidence as of {results['as_of']}. "
            f"Population: {pop['total']} resource{'s' if pop['total'] != 1 else ''} found, {pop['in_scope']} in scope, "
            f"{pop['not_applicable']} not applicable. Tested {span}.{compare} "
            f"Any resource whose evidence could not be read completely is reported inconclusive, not passed.")


#: What an `expected` key means, in the words of an audit test procedure (unknown keys: their words, unjoined).
PLAIN = {
    "retention_min_days": "the minimum retention", "retention_max_days": "the maximum retention",
    "point_in_time_recovery": "point-in-time recovery", "encryption": "the required encryption",
    "classification": "the data's classification", "interval_hours": "the backup interval",
    "tolerance_hours": "the backup window allowed", "restore_test_interval_days": "the restore-test interval",
    "separate_region": "a backup in a separate region", "same_country": "the country backups must stay in",
    "key_country": "the country of the encryption key", "usable_key_states": "usable key states",
    "counts_equal": "the same population from the asset inventory and the Admin API", "readable": "a readable configuration",
    "enabled": "automated backups enabled", "one_of": "a known classification", "label_matches_declaration":
    "a label that matches the data map", "declared_or_excluded": "an entry in the data map", "exists": "a store that still exists",
    "max_age_days": "the data map's review interval", "window_hours": "the backup freshness window", "backup": "a local backup",
    "layout": "the backup layout", "fsck_ok": "a backup git can verify", "restored": "a backup that restores",
    "at_least_as_strong_as_source": "encryption at least as strong as the source", "locked": "a locked retention policy",
    "alert": "an alert on failed backups", "rule": "",
}


def plain(key: str) -> str:
    return PLAIN.get(key, key.replace("_", " "))


def calendar_reconciliation(control: dict[str, Any]) -> str:
    """How the calendar's rows add up to the control's population, so the two can be reconciled."""
    in_scope = [f for f in control["findings"] if f["status"] != "not_applicable"]
    drawn = [f for f in in_scope if isinstance((f.get("details") or {}).get("days"), dict) and f["details"]["days"]]
    rest = [f for f in in_scope if f not in drawn]
    if not rest:
        return f"All {len(in_scope)} in-scope findings of this control are drawn, one row each."
    by_status: dict[str, int] = {}
    for f in rest:
        by_status[f["status"]] = by_status.get(f["status"], 0) + 1
    parts = _join([f"{n} {status.replace('_', ' ')}" for status, n in sorted(by_status.items())])
    return (f"{len(drawn)} of the {len(in_scope)} in-scope findings keep a day-by-day record and are drawn; the other "
            f"{len(rest)} ({parts}) have none to draw: they concern a project, the population or a store whose evidence "
            "could not be read, and are listed in the control's section and the register.")


def register_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The register's entries that are not scope limitations (those are shown once per group), failures first."""
    register = results.get("exceptions") or {}
    return [e for e in register.get("entries", []) if not e.get("scope_limitation")]


def scope_groups(results: dict[str, Any]) -> list[dict[str, Any]]:
    return list((results.get("exceptions") or {}).get("scope_limitations", []))


def register_counts(results: dict[str, Any]) -> dict[str, int]:
    return dict((results.get("exceptions") or {}).get("counts") or {})


def control_scope_limits(results: dict[str, Any], control_id: str) -> list[dict[str, Any]]:
    """The scope limitations that made findings of this control inconclusive, with how many of its findings."""
    out = []
    for group in scope_groups(results):
        ids = [e["finding"] for e in (results.get("exceptions") or {}).get("entries", [])
               if e["control"] == control_id and group["id"] in (e.get("scope_limitations") or [])]
        if ids:
            out.append({**group, "control_findings": ids})
    return out


def exceptions_in_order(control: dict[str, Any], results: dict[str, Any]) -> list[dict[str, Any]]:
    """A control's exceptions, failures first, leaving out those a scope limitation explains (listed once, by group)
    and those unknown only on days that had no evidence locker (listed once under what could not be verified)."""
    limited = {e["finding"] for e in (results.get("exceptions") or {}).get("entries", []) if e.get("scope_limitation")}
    found = [f for f in control["findings"] if f["status"] in ("fail", "inconclusive") and f["id"] not in limited
             and not locker_gap_only(f)]
    return sorted(found, key=lambda f: (0 if f["status"] == "fail" else 1, f["resource"], f["id"]))


#: the reason auditor.locker_days gives for days no locker was collected on
NO_LOCKER_REASON = "Days without an evidence locker"


def locker_gap_only(finding: dict[str, Any]) -> bool:
    """An inconclusive finding judged from each day's own locker whose only gap is days without a locker: every
    day that had one was kept, so a row would say nothing its group does not."""
    details = finding.get("details") or {}
    if finding.get("status") != "inconclusive" or details.get("days_from") != "each day's own locker":
        return False
    reasons = [e.get("message", "") for e in details.get("unverified") or [] if isinstance(e, dict)]
    return bool(reasons) and all(str(r).startswith(NO_LOCKER_REASON) for r in reasons)


def locker_gap_findings(control: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in control["findings"] if locker_gap_only(f)]


def register_entry(results: dict[str, Any], finding_id: str) -> dict[str, Any]:
    for entry in (results.get("exceptions") or {}).get("entries", []):
        if entry["finding"] == finding_id:
            return entry
    return {}


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


# -- perf2: the printed permission table at scale ------------------------------------------------------------------
#: Past this many projects and keys, the printed permission table (Appendix A) keeps a row for each one with something
#: to say (a read permission missing, a write permission held, not tested) and names the rest, which answered alike,
#: in one paragraph per kind: 400 identical rows were 19 pages and a fifth of WeasyPrint's time at 200 projects.
MAX_PERMISSION_ROWS = 25


def _answered_alike(entry: dict[str, Any]) -> bool:
    return bool(entry.get("tested")) and not entry.get("missing") and not entry.get("write_held")


def permission_view(ptest: dict[str, Any], print_form: bool) -> dict[str, Any]:
    """The permission table's rows: every project and key on screen (and in a short printed table); printed past
    MAX_PERMISSION_ROWS, only those with something to say, the others in `alike` groups of the same kind and counts
    ({"kind", "read_asked", "write_asked", "names"}), so each one is still named and nothing is shown as held that
    was not tested."""
    projects, keys = list(ptest.get("projects") or []), list(ptest.get("keys") or [])
    if not print_form or len(projects) + len(keys) <= MAX_PERMISSION_ROWS:
        return {"projects": projects, "keys": keys, "alike": [], "rows": len(projects) + len(keys)}
    groups: "OrderedDict[tuple[str, int, int], list[str]]" = OrderedDict()
    for kind, entries, name in (("project", projects, "project"), ("key", keys, "key")):
        for entry in entries:
            if _answered_alike(entry):
                groups.setdefault((kind, entry.get("read_asked", 0), entry.get("write_asked", 0)), []).append(entry[name])
    return {"projects": [p for p in projects if not _answered_alike(p)], "keys": [k for k in keys if not _answered_alike(k)],
            "alike": [{"kind": kind, "read_asked": reads, "write_asked": writes, "names": names}
                      for (kind, reads, writes), names in groups.items()],
            "rows": len(projects) + len(keys)}
