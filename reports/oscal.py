"""OSCAL assessment plan and assessment results (NIST OSCAL JSON), written as plain documents.

Two files in the pack, each valid against NIST's published OSCAL JSON schema on its own:

``oscal-assessment-plan.json``
    What was to be assessed and how: the reviewed SOC 2 criteria; the subjects (every resource the
    checks judged, as inventory items defined in the plan itself); one task per check; the
    providers as components with the reliance placed on them and the complementary controls, in
    the terms and conditions. There is no system security plan in the pack, so ``import-ssp``
    points at a back-matter resource that says so.
``oscal-assessment-results.json``
    ``import-ap`` resolves to the plan above. One result for the audit period; its
    local definitions repeat the subjects, so every observation's subject is defined in the
    document; one observation per finding, whose relevant evidence points at back-matter
    resources: one per evidence item, with its path in the pack and its SHA-256; one finding per
    control (``satisfied`` only when the control passed).

A run marked SIMULATED says so in both titles and in a metadata property. UUIDs are name-based
(uuid5), so a re-rendered pack gets the same identifiers.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from auditor.errors import ReportError

OSCAL_VERSION = "1.2.3"  # the newest NIST release whose published JSON schema the tests validate against
NS = "https://github.com/soc2-backup-auditor/ns/oscal"
AP_FILE = "oscal-assessment-plan.json"
AR_FILE = "oscal-assessment-results.json"
_BASE = uuid.UUID("6f0d2a7e-4d55-4c8e-9a53-0b5f3c2a9e11")
STATE = {"pass": "satisfied"}
REASON = {"pass": "pass", "fail": "fail"}


def _uuid(*parts: Any) -> str:
    return str(uuid.uuid5(_BASE, "|".join(str(p) for p in parts)))


def _ts(value: str) -> str:
    """OSCAL date-time with an explicit offset (the results' UTC 'Z' form is accepted as is)."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.isoformat().replace("+00:00", "Z")


def _prop(name: str, value: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "value": str(value), "ns": NS, **extra}


def _token(text: str) -> str:
    """An OSCAL token (NCName-like): letters, digits, '-', '_', '.'; never starting with a digit."""
    out = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in text)
    return out if out[:1].isalpha() or out[:1] == "_" else "x-" + out


def _key(results: dict[str, Any]) -> tuple[Any, ...]:
    period = results["period"]
    return (results["organization"], period["start"], period["end"], results["as_of"],
            ",".join(locker["manifest_sha256"] for locker in results["lockers"]))


def _title(results: dict[str, Any], what: str) -> str:
    period = results["period"]
    simulated = "SIMULATED — " if (results.get("provenance") or {}).get("simulated") else ""
    return f"{simulated}SOC 2 backup {what} — {results['organization']} — {period['start']} to {period['end']}"


def _metadata(results: dict[str, Any], what: str) -> dict[str, Any]:
    prov = results.get("provenance") or {}
    props = [_prop("tool", results["tool"]["name"]), _prop("simulated", "true" if prov.get("simulated") else "false")]
    principal = prov.get("principal") or {}
    for system, who in sorted(principal.items()):
        if who:
            props.append(_prop(f"principal-{_token(system)}", who))
    parties = [{"uuid": _uuid("party", "organization", results["organization"]), "type": "organization", "name": results["organization"]}]
    for provider in (results.get("reliance") or {}).get("providers", []):
        parties.append({"uuid": _uuid("party", provider["id"]), "type": "organization", "name": provider["name"],
                        "remarks": "Subservice organisation: " + "; ".join(provider["relied_on"])})
    return {"title": _title(results, what), "last-modified": _ts(results["generated_at"]), "version": results["tool"]["version"],
            "oscal-version": OSCAL_VERSION, "props": props, "parties": parties}


def _subjects(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Every resource judged, as an inventory item defined in the document (subjects point at these)."""
    described = results.get("resources") or {}
    resources = sorted({f["resource"] for c in results["controls"] for f in c["findings"]})
    items = []
    for resource in resources:
        info = described.get(resource) or {}
        props = [_prop("resource-name", resource)] + [_prop(_token(k.replace("_", "-")), v) for k, v in sorted(info.items()) if v]
        items.append({"uuid": _uuid("resource", resource), "description": f"{info.get('store_type') or 'resource'} {resource}",
                      "props": props})
    return items


def _components(results: dict[str, Any]) -> list[dict[str, Any]]:
    components = []
    reliance = results.get("reliance") or {}
    for provider in reliance.get("providers", []):
        evidence = ", ".join(f"{e['system']} ({e['calls']} calls)" for e in provider["evidence_generated"])
        components.append({
            "uuid": _uuid("component", provider["id"]), "type": "service", "title": provider["name"],
            "description": f"Subservice organisation whose systems produced this evidence: {evidence}.",
            "purpose": "Hosts the data stores and backups assessed; its API answers and audit logs are the evidence.",
            "props": [_prop("reliance", "subservice-organization")] + [_prop("to-obtain", t) for t in provider["to_obtain"]],
            "status": {"state": "operational"},
            "remarks": "Relied on: " + "; ".join(provider["relied_on"]) + ". Obtained by the auditor: not recorded by the tool.",
        })
    return components


def _terms(results: dict[str, Any]) -> dict[str, Any]:
    reliance = results.get("reliance") or {}
    parts = [{"name": "assumptions", "title": "Reliance on subservice organisations",
              "prose": reliance.get("note") or "No provider was called in this run."}]
    for i, text in enumerate(reliance.get("complementary_user_entity_controls", []), start=1):
        parts.append({"name": "assumptions", "uuid": _uuid("cuec", i, text), "title": f"Complementary user entity control {i}", "prose": text})
    prov = results.get("provenance") or {}
    if prov.get("simulated"):
        parts.append({"name": "disclosures", "title": "SIMULATED", "prose": "The evidence was collected from a simulator, not a real "
                      f"organisation: {prov.get('simulated_reason')}."})
    return {"parts": parts}


def _reviewed(results: dict[str, Any]) -> dict[str, Any]:
    criteria = sorted({c for control in results["controls"] for c in control["criteria"]})
    return {"description": "SOC 2 trust services criteria supported by the checks",
            "control-selections": [{"include-controls": [{"control-id": _token(c.lower())} for c in criteria]}]
            if criteria else [{"include-all": {}}]}


def build_assessment_plan(results: dict[str, Any]) -> dict[str, Any]:
    key = _key(results)
    ssp_resource = _uuid(*key, "no-ssp")
    subjects = _subjects(results)
    tasks = [{"uuid": _uuid(*key, "task", c["id"]), "type": "action", "title": f"{c['id']}: {c['title']}",
              "description": (c.get("description") or c["title"]) + (f" Policy: {c['policy_clause']}" if c.get("policy_quote") else
                                                                      " No clause of the written policy is quoted for this check."),
              "props": [_prop("check", c["id"])] + [_prop("criterion", x) for x in c["criteria"]]}
             for c in results["controls"]]
    plan = {
        "uuid": _uuid(*key, "assessment-plan"),
        "metadata": _metadata(results, "assessment plan"),
        "import-ssp": {"href": f"#{ssp_resource}",
                       "remarks": "No OSCAL system security plan is part of this pack; the subjects are defined in this plan."},
        "local-definitions": {"components": _components(results), "inventory-items": subjects} if _components(results)
        else {"inventory-items": subjects},
        "terms-and-conditions": _terms(results),
        "reviewed-controls": _reviewed(results),
        "assessment-subjects": [{"type": "inventory-item", "description": "Every resource the checks judged.",
                                 "include-subjects": [{"subject-uuid": s["uuid"], "type": "inventory-item"} for s in subjects]}]
        if subjects else [{"type": "inventory-item", "include-all": {}}],
        "tasks": tasks,
        "back-matter": {"resources": [{"uuid": ssp_resource, "title": "System security plan: not part of this pack",
                                       "description": "The assessment was planned from the auditor's configuration stored in the "
                                                      "evidence locker (evidence/manifest.json, config)."}]},
    }
    if not tasks:
        plan.pop("tasks")
    return {"assessment-plan": plan}


def build_assessment_results(results: dict[str, Any], manifest: dict[str, Any]) -> dict[str, Any]:
    period = results["period"]
    tz = ZoneInfo(period["timezone"])
    start = datetime.combine(datetime.fromisoformat(period["start"]).date(), time(0, 0), tzinfo=tz)
    as_of = datetime.fromisoformat(results["as_of"].replace("Z", "+00:00"))
    end = min(datetime.combine(datetime.fromisoformat(period["end"]).date(), time(23, 59, 59), tzinfo=tz), as_of)
    items = {i["id"]: i for i in manifest["items"]}
    calls = {c["id"]: c for c in manifest["calls"]}
    key = _key(results)
    resources: dict[str, dict[str, Any]] = {}

    def evidence_resource(eid: str) -> str | None:
        item = items.get(eid)
        if item is None:
            return None
        if eid not in resources:
            call = calls.get(item["call_id"]) or {}
            resources[eid] = {
                "uuid": _uuid("evidence", eid, item["sha256"]),
                "title": f"Evidence item {eid}",
                "description": f"{call.get('api')} {call.get('method')} for {call.get('scope')}, page {item.get('page')}"
                               f" (HTTP {item.get('http_status')}), received {item.get('received_at')}",
                "props": [_prop("evidence-id", eid), _prop("call-id", item["call_id"])],
                "rlinks": [{"href": f"evidence/{item['path']}", "media-type": "application/json",
                            "hashes": [{"algorithm": "SHA-256", "value": item["sha256"]}]}],
            }
        return resources[eid]["uuid"]

    observations, findings = [], []
    register = {e["finding"]: e for e in (results.get("exceptions") or {}).get("entries", [])}
    for control in results["controls"]:
        related = []
        for f in control["findings"]:
            obs_uuid = _uuid(*key, "observation", f["id"])
            evidence = []
            for eid in list(f["evidence"]) + [e for e in (register.get(f["id"]) or {}).get("evidence", []) if e not in f["evidence"]]:
                ref = evidence_resource(eid)
                if ref:
                    evidence.append({"href": f"#{ref}", "description": f"Evidence item {eid} (SHA-256 {items[eid]['sha256']})"})
            props = [_prop("finding-id", f["id"]), _prop("status", f["status"]), _prop("check", control["id"])]
            entry = register.get(f["id"])
            if entry and entry.get("owner"):
                props.append(_prop("owner", entry["owner"]))
            if entry and entry.get("first_seen"):
                props.append(_prop("first-seen", entry["first_seen"]))
            observation = {"uuid": obs_uuid, "title": f"{control['id']}: {f['resource']}", "description": f["message"],
                           "props": props, "methods": ["TEST"], "types": ["control-objective"],
                           "subjects": [{"subject-uuid": _uuid("resource", f["resource"]), "type": "inventory-item", "title": f["resource"]}],
                           "collected": _ts(results["as_of"])}
            if evidence:
                observation["relevant-evidence"] = evidence
            observations.append(observation)
            related.append({"observation-uuid": obs_uuid})
        status = control["status"]
        finding = {
            "uuid": _uuid(*key, "finding", control["id"]), "title": control["title"],
            "description": f"{control['title']}: {status} ({control['population']['in_scope']} in scope). Policy: {control['policy_clause']}",
            "props": [_prop("check", control["id"]), _prop("effective-status", control["effective_status"])]
                     + [_prop("criterion", c) for c in control["criteria"]],
            "target": {"type": "objective-id", "target-id": _token(control["id"]), "title": control["title"],
                       "status": {"state": STATE.get(status, "not-satisfied"), "reason": REASON.get(status, "other"),
                                  **({} if status in REASON else {"remarks": f"status: {status}"})}},
        }
        if related:
            finding["related-observations"] = related
        findings.append(finding)
    result = {
        "uuid": _uuid(*key, "result"), "title": f"SOC 2 backup controls, {period['start']} to {period['end']}",
        "description": f"Automated tests of {results['organization']}'s Backup Policy over the audit period, from evidence collected "
                       f"read-only (as of {results['as_of']}).",
        "start": start.isoformat(), "end": end.isoformat(),
        "props": [_prop("results-schema", results["schema"])]
                 + [_prop("evidence-manifest-sha256", locker["manifest_sha256"]) for locker in results["lockers"]],
        "local-definitions": {key: value for key, value in (("components", _components(results)),
                                                            ("inventory-items", _subjects(results))) if value},
        "reviewed-controls": _reviewed(results),
    }
    if not result["local-definitions"]:
        result.pop("local-definitions")
    if observations:
        result["observations"] = observations
    if findings:
        result["findings"] = findings
    document = {
        "uuid": _uuid(*key, "assessment-results"), "metadata": _metadata(results, "evidence (assessment results)"),
        "import-ap": {"href": AP_FILE, "remarks": "The assessment plan of this pack, beside this file."},
        "results": [result],
    }
    if resources:
        document["back-matter"] = {"resources": list(resources.values())}
    return {"assessment-results": document}


def render_oscal(results: dict[str, Any], manifest: dict[str, Any]) -> bytes:
    """``{"assessment-results": ...}`` as JSON bytes."""
    try:
        return (json.dumps(build_assessment_results(results, manifest), indent=2, ensure_ascii=False) + "\n").encode()
    except (KeyError, ValueError, TypeError) as exc:
        raise ReportError(f"OSCAL assessment results could not be built: {exc}") from exc


def render_oscal_plan(results: dict[str, Any]) -> bytes:
    """``{"assessment-plan": ...}`` as JSON bytes (the file ``import-ap`` of the results points at)."""
    try:
        return (json.dumps(build_assessment_plan(results), indent=2, ensure_ascii=False) + "\n").encode()
    except (KeyError, ValueError, TypeError) as exc:
        raise ReportError(f"OSCAL assessment plan could not be built: {exc}") from exc
