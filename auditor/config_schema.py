"""A JSON Schema of auditor.yaml, generated from the pydantic models so it cannot drift from them.

Shipped as auditor/schemas/config.v1.json for editors (the YAML language server reads a
`# yaml-language-server: $schema=...` comment); tests/test_validate.py fails when the shipped file
differs from what the models generate. Regenerate with `python -m auditor.config_schema > auditor/schemas/config.v1.json`.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic.json_schema import GenerateJsonSchema

from auditor.config import Config

SCHEMA_ID = "https://github.com/soc2-backup-auditor/schemas/config.v1.json"
_DURATION = r"^\s*\d+(\.\d+)?\s*[hdw]\s*$|^P"


class _Schema(GenerateJsonSchema):
    def timedelta_schema(self, schema: Any) -> dict[str, Any]:
        # the config writes durations as 24h / 30d / 2w (a bare number is hours), not ISO 8601
        return {"anyOf": [{"type": "string", "pattern": _DURATION}, {"type": "number", "minimum": 0}],
                "description": "a duration: 24h, 30d, 2w, or a number of hours"}


def generate() -> dict[str, Any]:
    schema = Config.model_json_schema(schema_generator=_Schema, mode="validation")
    schema["properties"].pop("source", None)  # set by the loader, never written in the file
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": "auditor.yaml (soc2-backup-auditor configuration)", **{k: v for k, v in schema.items() if k != "title"}}


def text() -> str:
    return json.dumps(generate(), indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(text(), end="")
