"""The declared inventory, read into the evidence locker like any API page.

The data map is the company's own record, but the checks must re-perform from the locker alone,
so its exact text is stored as evidence (with the file's SHA-256) by a call of api "inventory".
The file is validated before any API call is made: a malformed map is a configuration error
(exit 2), not an inconclusive control.
"""

from __future__ import annotations

import hashlib
import json
from typing import Iterator

from auditor.evidence.capture import record_local
from auditor.inventory import load_inventory
from auditor.scheduler import Call


def scope_calls(ctx) -> Iterator[Call]:
    path = ctx.config.inventory
    if path is None:
        return
    load_inventory(path)  # raises ConfigError naming file, line and key

    def read() -> None:
        text, _inventory = load_inventory(path)
        data = text.encode("utf-8")
        body = {"documents": [{"path": str(path), "sha256": hashlib.sha256(data).hexdigest(), "text": text}]}
        record_local(path.resolve().as_uri(), json.dumps(body, indent=1).encode())

    yield Call("inventory", "read", {"path": str(path)}, "inventory", read)
