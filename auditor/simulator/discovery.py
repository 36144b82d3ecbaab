"""The simulator's Google answers checked against Google's own discovery documents.

google-api-python-client ships the discovery document of each API it supports
(`googleapiclient/discovery_cache/documents/<api>.<version>.json`). A discovery schema is turned
into a JSON Schema with unknown properties rejected (`additionalProperties: false` on every object
that lists its properties; maps keep their value schema) and enums enforced, so an answer carrying a
field or a value the real API does not define fails. Used by the tests, and by anyone who extends
the simulator, to prove a route is shaped like the API it imitates.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import unquote

import jsonschema

#: The simulator's API names that differ from the discovery document's name.
DOC_NAMES = {"sql": "sqladmin", "kms": "cloudkms"}


@dataclass(frozen=True)
class Method:
    api: str  # discovery name, e.g. "sqladmin"
    version: str
    id: str  # e.g. "sql.instances.list"
    http_method: str
    path: str  # flatPath (or path), relative to the service path
    parameters: frozenset[str]
    response: str | None  # the response schema's id
    pattern: re.Pattern


@lru_cache(maxsize=None)
def document(api: str, version: str) -> dict[str, Any]:
    name = f"{DOC_NAMES.get(api, api)}.{version}.json"
    folder = resources.files("googleapiclient") / "discovery_cache" / "documents"
    try:
        return json.loads((folder / name).read_text("utf-8"))
    except FileNotFoundError as err:
        raise LookupError(f"google-api-python-client ships no discovery document {name}") from err


def _methods(node: dict[str, Any]):
    yield from (node.get("methods") or {}).values()
    for child in (node.get("resources") or {}).values():
        yield from _methods(child)


def _pattern(path: str) -> re.Pattern:
    out, pos = "", 0
    for match in re.finditer(r"\{(\+?)([^}]+)\}", path):
        out += re.escape(path[pos:match.start()]) + (".+" if match.group(1) else "[^/]+")
        pos = match.end()
    return re.compile("^" + out + re.escape(path[pos:]) + "$")


@lru_cache(maxsize=None)
def methods(api: str, version: str) -> tuple[Method, ...]:
    doc = document(api, version)
    found = []
    for raw in _methods(doc):
        path = raw.get("flatPath") or raw["path"]  # flatPath spells `{+name}` out segment by segment
        found.append(Method(DOC_NAMES.get(api, api), version, raw["id"], raw["httpMethod"], path,
                            frozenset(raw.get("parameters") or {}), (raw.get("response") or {}).get("$ref"),
                            _pattern(path)))
    return tuple(found)


def version_of(path: str) -> str:
    match = re.search(r"/(v\d+(?:beta\d*|alpha\d*|p\d+beta\d*)?)/", path + "/")
    if match is None:
        raise LookupError(f"no API version in {path!r}")
    return match.group(1)


def find_method(api: str, http_method: str, path: str) -> Method:
    """The discovery method a request path (as served, e.g. `/v1/projects/p/instances`) belongs to."""
    version = version_of(path)
    service = document(api, version)["servicePath"]
    relative = unquote(path.lstrip("/"))
    if not relative.startswith(service):
        raise LookupError(f"{path} is outside {api} {version}'s service path {service!r}")
    relative = relative[len(service):]
    encoded = path.lstrip("/")[len(service):]  # a Cloud Storage object name keeps its slashes encoded (%2F) in one segment
    candidates = [m for m in methods(api, version) if m.http_method == http_method
                  and (m.pattern.match(relative) or m.pattern.match(encoded))]
    if not candidates:
        raise LookupError(f"{http_method} {path} is no method of {api} {version}")
    return min(candidates, key=lambda m: (m.path.count("{+"), m.path.count("{"), -len(m.path)))  # the most literal match


def _convert(schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return {"$ref": f"#/definitions/{schema['$ref']}"}
    kind = schema.get("type")
    out: dict[str, Any] = {}
    if kind == "object" or "properties" in schema or "additionalProperties" in schema:
        out["type"] = "object"
        out["properties"] = {name: _convert(sub) for name, sub in (schema.get("properties") or {}).items()}
        extra = schema.get("additionalProperties")
        out["additionalProperties"] = _convert(extra) if isinstance(extra, dict) else False
    elif kind == "array":
        out["type"] = "array"
        out["items"] = _convert(schema.get("items") or {})
    elif kind in ("string", "boolean", "integer", "number"):
        out["type"] = kind  # int64 and uint64 are "string" in the document, as they travel in JSON
        if "enum" in schema:
            out["enum"] = list(schema["enum"])
    # "any" and untyped schemas accept anything, as in the document
    return out


@lru_cache(maxsize=None)
def json_schema(api: str, version: str, schema_id: str) -> dict[str, Any]:
    doc = document(api, version)
    return {"$schema": "http://json-schema.org/draft-07/schema#",
            "definitions": {name: _convert(body) for name, body in doc["schemas"].items()},
            "$ref": f"#/definitions/{schema_id}"}


def problems(api: str, http_method: str, path: str, body: Any) -> list[str]:
    """Every way `body` differs from the response schema of the method serving `path` (empty when it conforms)."""
    method = find_method(api, http_method, path)
    if method.response is None:
        return [] if body in ({}, None) else [f"{method.id} declares no response body"]
    validator = jsonschema.Draft7Validator(json_schema(method.api, method.version, method.response))
    return [f"{method.id}: {'/'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message[:300]}"
            for error in validator.iter_errors(body)]
