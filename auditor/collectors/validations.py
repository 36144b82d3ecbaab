"""The restore validation records (`restore_validations: PATH`), read into the evidence locker like the data map.

Validated before any API call (a malformed file is a configuration error, exit 2), then stored as
evidence with its SHA-256 by a call of api "inventory", so `auditor check` re-performs without it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Iterator

from auditor.evidence.capture import record_local
from auditor.restore_validations import load_validations
from auditor.scheduler import Call


def scope_calls(ctx) -> Iterator[Call]:
    path = ctx.config.restore_validations
    if path is None:
        return
    load_validations(path)  # raises ConfigError naming file, line and key

    def read() -> None:
        text, _records = load_validations(path)
        data = text.encode("utf-8")
        body = {"documents": [{"path": str(path), "sha256": hashlib.sha256(data).hexdigest(), "text": text}]}
        record_local(path.resolve().as_uri(), json.dumps(body, indent=1).encode())

    yield Call("inventory", "restore_validations.read", {"path": str(path)}, "inventory:restore-validations", read)
