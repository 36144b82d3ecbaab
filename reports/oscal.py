"""OSCAL assessment results (NIST OSCAL, JSON), built and validated with compliance-trestle's models.

Mapping (generic over any control in results.json):
  one result        the audit period (start .. min(end, as_of)); reviewed controls are the SOC 2
                    criteria the checks support, selected by id (e.g. ``A1.2``)
  one observation   per finding: its message, status, the resource as subject, and each evidence
                    item as relevant evidence (``evidence/items/ID.json`` inside the pack)
  one finding       per control: target ``objective-id`` = the check id; state ``satisfied`` only when
                    the control passed; inconclusive is ``not-satisfied`` with reason ``other``
There is no OSCAL assessment plan: ``import-ap`` points at the evidence manifest, which stores the
configuration the assessment ran with. UUIDs are name-based (uuid5), so a re-rendered pack gets the
same identifiers.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from trestle.oscal import OSCAL_VERSION
from trestle.oscal import assessment_results as ar
from trestle.oscal import common

from auditor.errors import ReportError

NS = "https://github.com/soc2-backup-auditor/ns/oscal"
_BASE = uuid.UUID("6f0d2a7e-4d55-4c8e-9a53-0b5f3c2a9e11")
STATE = {"pass": "satisfied", "not_applicable": "satisfied"}
REASON = {"pass": "pass", "fail": "fail"}


def _uuid(*parts: Any) -> str:
    return str(uuid.uuid5(_BASE, "|".join(str(p) for p in parts)))


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _prop(name: str, value: Any) -> common.Property:
    return common.Property(name=name, value=str(value), ns=NS)


def build_assessment_results(results: dict[str, Any], manifest: dict[str, Any]) -> ar.AssessmentResults:
    period = results["period"]
    tz = ZoneInfo(period["timezone"])
    start = datetime.combine(datetime.fromisoformat(period["start"]).date(), time(0, 0), tzinfo=tz)
    as_of = _ts(results["as_of"])
    end_of_period = datetime.combine(datetime.fromisoformat(period["end"]).date(), time(23, 59, 59), tzinfo=tz)
    end = min(end_of_period, as_of)
    items = {i["id"]: i for i in manifest["items"]}
    calls = {c["id"]: c for c in manifest["calls"]}
    key = (results["organization"], period["start"], period["end"], results["as_of"],
           ",".join(l["manifest_sha256"] for l in results["lockers"]))

    observations, findings = [], []
    for control in results["controls"]:
        related = []
        for f in control["findings"]:
            obs_uuid = _uuid(*key, "observation", f["id"])
            evidence = []
            for eid in f["evidence"]:
                item = items.get(eid)
                call = calls.get(item["call_id"]) if item else None
                what = f"{call['api']} {call['method']} {call['scope']}" if call else "evidence item"
                evidence.append(common.RelevantEvidence(
                    href=f"evidence/{item['path']}" if item and item.get("path") else f"evidence/items/{eid}.json",
                    description=f"API response page {eid}: {what}",
                    props=[_prop("sha256", item["sha256"])] if item else None))
            observations.append(common.Observation(
                uuid=obs_uuid, title=f"{control['id']}: {f['resource']}", description=f["message"],
                methods=["TEST"], types=["control-objective"], collected=as_of,
                subjects=[common.SubjectReference(subject_uuid=_uuid("resource", f["resource"]), type="resource", title=f["resource"])],
                props=[_prop("finding-id", f["id"]), _prop("status", f["status"]), _prop("check", control["id"])],
                relevant_evidence=evidence or None,
            ))
            related.append(ar.RelatedObservation(observation_uuid=obs_uuid))
        status = control["status"]
        findings.append(common.Finding(
            uuid=_uuid(*key, "finding", control["id"]), title=control["title"],
            description=f"{control['title']}: {status} ({control['population']['in_scope']} in scope). Policy: {control['policy_clause']}",
            props=[_prop("check", control["id"]), _prop("effective-status", control["effective_status"])]
                  + [_prop("criterion", c) for c in control["criteria"]],
            target=common.FindingTarget(
                type="objective-id", target_id=control["id"], title=control["title"],
                status=common.ObjectiveStatus(state=STATE.get(status, "not-satisfied"), reason=REASON.get(status, "other"),
                                              remarks=None if status in REASON else f"status: {status}")),
            related_observations=related or None,
        ))

    criteria = sorted({c for control in results["controls"] for c in control["criteria"]})
    reviewed = common.ReviewedControls(
        description="SOC 2 trust services criteria supported by the checks",
        control_selections=[common.ControlSelections(include_controls=[common.SelectControlById(control_id=c) for c in criteria])]
        if criteria else [common.ControlSelectionsAll(include_all=common.IncludeAll())],
    )
    result = ar.Result(
        uuid=_uuid(*key, "result"), title=f"SOC 2 backup controls, {period['start']} to {period['end']}",
        description=f"Automated tests of {results['organization']}'s Backup Policy over the audit period, from evidence collected read-only "
                    f"(as of {results['as_of']}).",
        start=start, end=end, reviewed_controls=reviewed,
        observations=observations or None, findings=findings or None,
        props=[_prop("results-schema", results["schema"])] + [_prop("evidence-manifest-sha256", l["manifest_sha256"]) for l in results["lockers"]],
    )
    metadata = common.Metadata(
        title=f"SOC 2 backup evidence — {results['organization']} — {period['start']} to {period['end']}",
        last_modified=_ts(results["generated_at"]), version=results["tool"]["version"], oscal_version=OSCAL_VERSION,
        props=[_prop("tool", results["tool"]["name"])],
    )
    return ar.AssessmentResults(
        uuid=_uuid(*key, "assessment-results"), metadata=metadata,
        import_ap=ar.ImportAp(href="evidence/manifest.json",
                              remarks="No OSCAL assessment plan exists; the evidence manifest stores the configuration the assessment ran with."),
        results=[result],
    )


def render_oscal(results: dict[str, Any], manifest: dict[str, Any]) -> bytes:
    """``{"assessment-results": ...}`` as JSON bytes; raises ReportError when the models reject the content."""
    try:
        model = build_assessment_results(results, manifest)
        return model.oscal_serialize_json_bytes(pretty=True) + b"\n"
    except (KeyError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        raise ReportError(f"OSCAL assessment results could not be built: {exc}") from exc
