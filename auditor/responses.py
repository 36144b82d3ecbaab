"""Management responses to exceptions (`responses: PATH` in auditor.yaml), validated strictly like waivers.

An exceptions register an auditor signs off names, for each exception, what management says and
will do: the response, who owns the remediation, by when, and when management approved it. A
response never changes a finding or its status (that is what a waiver is for); it is attached to
the register's entries whose finding id matches its pattern. A response that matches nothing is
reported, so a stale one cannot wait to be read as covering a new exception.

The file's text is stored in the evidence locker (manifest `inputs.responses`), so `auditor check
--evidence` attaches exactly the same responses.

    responses:
      - finding: "backup-frequency://cloudsql.googleapis.com/projects/bks-analytics/instances/reports-pg*"  # glob over finding ids
        response: Backups were switched off during a migration; re-enabled and an alert added.
        owner: data-platform-lead@example.com
        due: 2026-10-31          # remediation due date
        approved: 2026-10-03     # when management approved this response
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from auditor import reading
from auditor.config import format_validation_error
from auditor.errors import ConfigError


class Response(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    finding: str = Field(min_length=1)  # glob over finding ids (control:resource:rule)
    response: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    due: date
    approved: date

    @model_validator(mode="after")
    def _approved_before_due(self) -> "Response":
        if self.due < self.approved:
            raise ValueError(f"due {self.due} is before approved {self.approved}")
        return self

    def matches(self, finding_id: str) -> bool:
        return fnmatchcase(finding_id, self.finding)

    def attachment(self, as_of_day: date) -> dict[str, Any]:
        return {"response": self.response, "owner": self.owner, "due": self.due.isoformat(),
                "approved": self.approved.isoformat(), "overdue": as_of_day > self.due, "pattern": self.finding}


class ResponseFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    responses: list[Response]


@dataclass(frozen=True)
class Responses:
    entries: tuple[Response, ...]
    source: str
    sha256: str


def parse_responses(text: str, source: str) -> Responses:
    """Validate responses YAML text; errors name the file, line and key (exit 2)."""
    data = reading.parse_yaml(text, source, error=ConfigError)  # the one reading path: depth, numbers, lines
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping with a 'responses:' list at the top level")
    try:
        parsed = ResponseFile.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(Path(source), text, err).replace("invalid configuration", "invalid responses")) from err
    return Responses(tuple(parsed.responses), source, hashlib.sha256(text.encode()).hexdigest())


def snapshot(path: Path) -> dict[str, Any]:
    """What a locker stores: the file's text (validated first), its name and SHA-256."""
    text = reading.read_text(path, "responses", error=ConfigError)  # the one reading path (size, encoding limits)
    parsed = parse_responses(text, str(path))
    return {"source": str(path), "sha256": parsed.sha256, "text": text}


def from_snapshot(stored: dict[str, Any]) -> Responses:
    return parse_responses(stored["text"], f"evidence/manifest.json#inputs.responses ({stored.get('source')})")


def attach(responses: Responses, entries: list[dict[str, Any]], as_of_day: date) -> dict[str, Any]:
    """Set each register entry's `response` (the first matching one); return results' `responses` summary."""
    matched: dict[int, list[str]] = {i: [] for i in range(len(responses.entries))}
    for entry in entries:
        for i, response in enumerate(responses.entries):
            if response.matches(entry["finding"]):
                matched[i].append(entry["finding"])
                if entry.get("response") is None:
                    entry["response"] = response.attachment(as_of_day)
    summary = [{**r.attachment(as_of_day), "matched": len(matched[i]), "findings": sorted(matched[i])}
               for i, r in enumerate(responses.entries)]
    return {"source": responses.source, "sha256": responses.sha256, "entries": summary,
            "unmatched": sum(1 for s in summary if not s["matched"])}
