"""Waivers: an approved, time-limited acceptance of an exception, applied to findings by control and resource.

A waiver never changes a finding's status (the auditor sees the exception as it is); it is attached
to the finding and makes it count as passing in `effective_status` until it expires. Expiry is
compared with the evidence's as-of day, never the wall clock, so re-performance is exact. A waiver
that matches no finding is reported, because a stale waiver with a broad pattern would otherwise
wait silently to hide the next exception.

The file (`waivers: PATH` in auditor.yaml) is validated strictly; its text is stored in the
evidence locker (manifest `inputs.waivers`) so `auditor check --evidence` applies exactly the same
waivers.

    waivers:
      - control: backup-frequency
        resource: "//cloudsql.googleapis.com/projects/bks-prod/instances/billing-*"   # glob
        reason: Migration to the new backup tier; backups taken by Backup and DR meanwhile.
        approver: ciso@example.com
        ticket: SEC-142
        expires: 2026-10-31          # the waiver holds through this day
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from auditor.config import format_validation_error
from auditor import reading
from auditor.errors import ConfigError
from auditor.results import FAIL, INCONCLUSIVE, Finding


class Waiver(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    control: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    resource: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    approver: str = Field(min_length=1)
    ticket: str = Field(min_length=1)
    expires: date

    def matches(self, control: str, finding: Finding) -> bool:
        return control == self.control and fnmatchcase(finding.resource, self.resource)

    def attachment(self, as_of_day: date) -> dict[str, Any]:
        return {"reason": self.reason, "approver": self.approver, "ticket": self.ticket,
                "expires": self.expires.isoformat(), "expired": as_of_day > self.expires}


class WaiverFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    waivers: list[Waiver]


@dataclass(frozen=True)
class Waivers:
    entries: tuple[Waiver, ...]
    source: str
    sha256: str


def parse_waivers(text: str, source: str) -> Waivers:
    """Validate waiver YAML text; errors name the file, line and key (exit 2)."""
    data = reading.parse_yaml(text, source, error=ConfigError)
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping with a 'waivers:' list at the top level")
    try:
        parsed = WaiverFile.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(Path(source), text, err).replace("invalid configuration", "invalid waivers")) from err
    return Waivers(tuple(parsed.waivers), source, hashlib.sha256(text.encode()).hexdigest())


def load_waivers(path: Path) -> tuple[str, Waivers]:
    text = reading.read_text(path, "waivers", error=ConfigError)
    return text, parse_waivers(text, str(path))


def snapshot(path: Path) -> dict[str, Any]:
    """What a locker stores: the file's text (validated first), its name and SHA-256."""
    text, waivers = load_waivers(path)
    return {"source": str(path), "sha256": waivers.sha256, "text": text}


def from_snapshot(stored: dict[str, Any]) -> Waivers:
    return parse_waivers(stored["text"], f"evidence/manifest.json#inputs.waivers ({stored.get('source')})")


def apply(waivers: Waivers, findings_by_control: dict[str, list[Finding]], as_of_day: date) -> dict[str, Any]:
    """Attach waivers to failing/inconclusive findings in place; return the results' `waivers` summary."""
    matched: dict[int, list[str]] = {i: [] for i in range(len(waivers.entries))}
    waived: dict[int, list[str]] = {i: [] for i in range(len(waivers.entries))}
    for control, findings in findings_by_control.items():
        for finding in findings:
            candidates = [i for i, w in enumerate(waivers.entries) if w.matches(control, finding)]
            for i in candidates:
                matched[i].append(finding.id)
            if not candidates or finding.status not in (FAIL, INCONCLUSIVE):
                continue
            active = [i for i in candidates if not waivers.entries[i].attachment(as_of_day)["expired"]]
            chosen = (active or candidates)[0]
            finding.waiver = waivers.entries[chosen].attachment(as_of_day)
            waived[chosen].append(finding.id)
    entries = []
    for i, waiver in enumerate(waivers.entries):
        entries.append({"control": waiver.control, "resource": waiver.resource, **waiver.attachment(as_of_day),
                        "matched": len(matched[i]), "waived_findings": sorted(waived[i])})
    return {"source": waivers.source, "sha256": waivers.sha256, "entries": entries,
            "unmatched": sum(1 for e in entries if not e["matched"])}
