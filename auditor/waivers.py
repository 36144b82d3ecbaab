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
        approved: 2026-08-01         # the waiver covers exception days from this day on
        expires: 2026-10-31          # the waiver holds through this day

A waiver is the policy in force from its approval: it excuses only the exception days (the failing
or unknown days of a finding judged day by day) from `approved` through `expires`. A finding with
exception days outside that span keeps them as `uncovered_days` on its waiver and does not count as
passing, so a waiver written at quarter end does not excuse July. A finding judged at one moment is
covered when that moment (the evidence date) falls inside the span.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from auditor.config import format_validation_error
from auditor import reading
from auditor.errors import ConfigError
from auditor.results import EXCEPTION_DAYS, FAIL, INCONCLUSIVE, Finding

#: day states (results v2 `day_state`) that are exceptions a waiver would have to cover
EXCEPTION_STATES = frozenset(EXCEPTION_DAYS)


class Waiver(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    control: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    resource: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    approver: str = Field(min_length=1)
    ticket: str = Field(min_length=1)
    approved: date
    expires: date

    @model_validator(mode="after")
    def _approved_first(self) -> "Waiver":
        if self.approved > self.expires:
            raise ValueError(f"approved ({self.approved}) is after expires ({self.expires})")
        return self

    def matches(self, control: str, finding: Finding) -> bool:
        return control == self.control and fnmatchcase(finding.resource, self.resource)

    def attachment(self, as_of_day: date, finding: Finding | None = None) -> dict[str, Any]:
        out = {"reason": self.reason, "approver": self.approver, "ticket": self.ticket,
               "approved": self.approved.isoformat(), "expires": self.expires.isoformat(), "expired": as_of_day > self.expires}
        if finding is not None:
            out["uncovered_days"] = self.uncovered(finding, as_of_day)
        return out

    def uncovered(self, finding: Finding, as_of_day: date) -> list[str]:
        """The finding's exception days this waiver was not in force on (before approval or after expiry)."""
        first, last = self.approved.isoformat(), self.expires.isoformat()
        days = finding.details.get("days") if isinstance(finding.details, dict) else None
        if isinstance(days, dict) and days:
            exceptions = sorted(d for d, s in days.items() if s in EXCEPTION_STATES)
        else:
            exceptions = [as_of_day.isoformat()]  # judged at one moment: the evidence date
        return [d for d in exceptions if not first <= d <= last]


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
            finding.waiver = waivers.entries[chosen].attachment(as_of_day, finding)
            waived[chosen].append(finding.id)
    entries = []
    for i, waiver in enumerate(waivers.entries):
        entries.append({"control": waiver.control, "resource": waiver.resource, **waiver.attachment(as_of_day),
                        "matched": len(matched[i]), "waived_findings": sorted(waived[i])})
    return {"source": waivers.source, "sha256": waivers.sha256, "entries": entries,
            "unmatched": sum(1 for e in entries if not e["matched"])}
