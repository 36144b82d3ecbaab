"""The evidence locker: every API call and every page it returned, stored raw with its SHA-256.

Bodies are written to disk the moment they arrive (write, rename; all synced to disk before the
manifest is written), so memory stays flat and an interrupted run keeps what it had. Call records are appended to `calls.jsonl` as calls end;
`manifest.json` is written last and is what `auditor check` and `auditor verify` trust.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Iterator

from auditor import TOOL_NAME, __version__
from auditor import reading
from auditor.errors import EvidenceError, OutputError, TamperedError
from auditor.evidence import shape
from auditor.evidence.partial import page_signals

MANIFEST = "manifest.json"
SCHEMA = "auditor.evidence/v1"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    """UTC timestamps in one textual form everywhere: 2026-09-30T02:00:05Z (microseconds kept when present)."""
    text = moment.astimezone(timezone.utc).isoformat()
    return text.replace("+00:00", "Z")


def canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()


def short_hash(*parts: Any) -> str:
    return hashlib.sha256(canonical(parts)).hexdigest()[:16]


def call_id(api: str, method: str, params: dict[str, Any]) -> str:
    """Deterministic: the same query gets the same id in every run, so lockers merge without duplicates."""
    return "c-" + short_hash(api, method, params)


TMP_SUFFIX = ".tmp"


def write_through(handle: Any, data: bytes | str) -> None:
    """The one place the locker's and the pack's bytes reach the disk (every atomic write and every
    calls.jsonl line), so a full disk can be injected here in tests without root or a mount."""
    handle.write(data)
    handle.flush()


def atomic_write(path: Path, data: bytes, *, sync: bool = True) -> None:
    """Write via a temporary file and a rename, so a reader never sees half a file; `sync` also forces
    the bytes to disk first (items skip it: the locker syncs them all at once before its manifest).

    On any failure (a full disk, Ctrl-C) the temporary file is removed; an OSError becomes an
    OutputError naming the file and the reason (exit 2)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}{TMP_SUFFIX}")
    try:
        with open(tmp, "wb") as handle:
            write_through(handle, data)
            if sync:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        if isinstance(err, OSError):
            raise OutputError(f"{path}: cannot write: {err.strerror or err}") from err
        raise


@dataclass
class CallRecord:
    id: str
    api: str
    method: str
    params: dict[str, Any]
    scope: str
    identity: str
    started_at: str
    ended_at: str | None = None
    server_date: str | None = None
    outcome: str = "running"
    error: dict[str, Any] | None = None
    items: list[str] = field(default_factory=list)
    requests: int = 0
    retries: int = 0  # failed requests of this call sent again (each failure is also a page)
    # a 200 that said it is incomplete (auditor.evidence.partial): {"scopes": [...], "signals": [...]}
    partial: dict[str, Any] | None = None
    # what the call's answer covers in time, when that is narrower than its parameters say
    # (an audit-log query read before its period ended): {"from": iso, "to": iso}
    covered: dict[str, Any] | None = None
    # the calls whose answers asked for this one (a project's calls after discovery, a key after the
    # instance listing that named it); absent for calls of the plan itself
    after: list[str] | None = None

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for name in ("partial", "covered", "after"):  # absent unless set, so complete calls keep their old shape
            if not out[name]:
                del out[name]
        if "after" in out:
            out["after"] = sorted(out["after"])  # a copy: the scheduler may still add a parent
        return out


class LockerWriter:
    """Writes one locker. Thread-safe: calls may run on several workers."""

    def __init__(self, root: Path, *, config_snapshot: dict[str, Any], identity: dict[str, str],
                 inputs: dict[str, Any] | None = None, provenance: dict[str, Any] | None = None,
                 previous: dict[str, Any] | None = None) -> None:
        self.root = Path(root)
        if (self.root / MANIFEST).exists():
            raise EvidenceError(f"{self.root}: already holds a locker; choose an empty --out folder")
        (self.root / "items").mkdir(parents=True, exist_ok=True)
        self.locker_id = "L-" + uuid.uuid4().hex[:16]
        self.started_at = utc_now()
        self.config_snapshot = config_snapshot
        self.identity = identity
        self.inputs = inputs  # files the run depended on besides the config (waivers), stored whole
        self.provenance = provenance  # who ran it, from where, simulated or not (auditor.provenance)
        self.previous = previous  # the locker this one continues (auditor.chain); None: the first of a chain
        self._lock = threading.Lock()
        self._calls: list[CallRecord] = []
        self._items: list[dict[str, Any]] = []
        self._open: dict[int, CallRecord] = {}  # calls begun and not yet ended (closed as interrupted)
        self._latest_server_date: datetime | None = None
        self._closed = False  # after close(), a call still in flight (Ctrl-C) adds nothing
        self.write_error: OutputError | None = None  # the first failed write (a full disk) ends the run
        try:  # never appended to: a stale calls.jsonl (a killed run) means the folder is not fresh
            self._calls_log = open(self.root / "calls.jsonl", "x", encoding="utf-8")
        except FileExistsError as err:
            raise EvidenceError(f"{self.root}: holds calls.jsonl from an earlier run that did not finish; "
                                "choose an empty --out folder (or pass --replace)") from err
        except OSError as err:
            raise OutputError(f"{self.root / 'calls.jsonl'}: cannot write: {err.strerror or err}") from err

    def begin_call(self, api: str, method: str, params: dict[str, Any], scope: str,
                   after: list[str] | None = None) -> "CallRecorder":
        record = CallRecord(
            id=call_id(api, method, params), api=api, method=method, params=params, scope=scope,
            identity=self.identity.get(api if api in ("github", "git") else "gcp", "unknown"), started_at=iso(utc_now()),
            after=after,
        )
        with self._lock:
            self._open[id(record)] = record
        return CallRecorder(self, record)

    def _store_page(self, record: CallRecord, url: str, status: int | None, body: bytes, date_header: str | None,
                    headers: dict[str, str] | None = None) -> str:
        if self._closed or self.write_error is not None:
            return ""
        digest = hashlib.sha256(body).hexdigest()
        page = len(record.items)
        item_id = "e-" + short_hash(record.id, page, digest)
        rel = f"items/{item_id}.json"
        # No fsync per page (thousands of them cost seconds): a killed process keeps what it wrote (the
        # kernel has it), and close() syncs every item to disk before the manifest that vouches for them.
        try:
            atomic_write(self.root / rel, body, sync=False)
        except OutputError as err:
            self._failed(err)
            raise
        received = utc_now()
        server_date = _parse_http_date(date_header)
        with self._lock:
            if self._closed:  # the page arrived after Ctrl-C closed the locker: not part of it
                (self.root / rel).unlink(missing_ok=True)
                return ""
            record.items.append(item_id)
            record.requests += 1
            if status == 200:
                signals = page_signals(body)
                if signals:
                    partial = record.partial or {"scopes": [], "signals": []}
                    for signal in signals:
                        partial["signals"].append({"page": page, "item": item_id, **signal})
                        partial["scopes"] = sorted(set(partial["scopes"]) | set(signal["scopes"]))
                    record.partial = partial
            if server_date:
                record.server_date = iso(server_date)
                if self._latest_server_date is None or server_date > self._latest_server_date:
                    self._latest_server_date = server_date
            self._items.append({
                "id": item_id, "call_id": record.id, "page": page, "path": rel, "sha256": digest,
                "bytes": len(body), "url": url, "http_status": status, "received_at": iso(received),
                **({"headers": headers} if headers else {}),
            })
        return item_id

    def _end_call(self, record: CallRecord) -> None:
        with self._lock:
            if self._closed:
                return
            self._open.pop(id(record), None)
            self._calls.append(record)
            if self.write_error is None:
                self._log(record)

    def _log(self, record: CallRecord) -> None:
        try:
            write_through(self._calls_log, json.dumps(record.as_dict(), sort_keys=True) + "\n")
        except OSError as err:
            self._failed(OutputError(f"{self.root / 'calls.jsonl'}: cannot write: {err.strerror or err}"))
            raise self.write_error from err

    def _failed(self, err: OutputError) -> None:
        """The first failed write: nothing more is written, and the run ends with this error."""
        if self.write_error is None:
            self.write_error = err

    def abandon(self) -> None:
        """Stop after a failed write: no manifest is written, so readers reject the locker as unfinished."""
        with self._lock:
            self._closed = True
            try:
                self._calls_log.close()
            except OSError:
                pass

    @property
    def as_of(self) -> datetime:
        """When collection ended, by the servers' clock (the Date headers); the local clock if none came."""
        return self._latest_server_date or utc_now()

    def close(self, *, interrupted: bool = False) -> dict[str, Any]:
        """Write manifest.json last; returns it.

        `interrupted` marks a run stopped before its plan was done (Ctrl-C): calls still open are
        ended with error kind `interrupted`, and the manifest says `"interrupted": true`, so nobody
        mistakes the locker for a complete collection. A run killed outright never reaches this:
        its folder has `calls.jsonl` and `items/` but no manifest, and readers reject it.
        """
        with self._lock:  # one step, so a call still in flight can neither finish twice nor add a page after
            for record in self._open.values():
                record.ended_at, record.outcome = iso(utc_now()), "error"
                record.error = {"http_status": None, "reason": None, "kind": "interrupted",
                                "message": "the run was interrupted before this call finished",
                                "exception": "KeyboardInterrupt"}
                self._calls.append(record)
                if self.write_error is None:
                    self._log(record)
            self._open.clear()
            self._closed = True
            try:
                self._calls_log.close()
            except OSError as err:
                self._failed(OutputError(f"{self.root / 'calls.jsonl'}: cannot write: {err.strerror or err}"))
            if self.write_error is not None:
                raise self.write_error
        calls = sorted((c.as_dict() for c in self._calls), key=lambda c: (c["api"], c["method"], c["scope"], c["id"]))
        ended = utc_now()
        manifest = {
            "schema": SCHEMA,
            "tool": {"name": TOOL_NAME, "version": __version__},
            "locker_id": self.locker_id,
            "started_at": iso(self.started_at),
            "ended_at": iso(ended),
            "as_of": iso(self.as_of.replace(microsecond=0)),
            "identity": self.identity,
            "config": self.config_snapshot,
            "interrupted": interrupted,
            "previous": self.previous,
            "calls": calls,
            "items": sorted(self._items, key=lambda i: (i["call_id"], i["page"])),
            "counts": {
                "calls": len(calls),
                "failed_calls": sum(1 for c in calls if c["outcome"] != "ok"),
                "items": len(self._items),
                "http_requests": sum(c["requests"] for c in calls),
                "by_api": _count_by(calls, "api"),
                "calls_by_api": _calls_by(calls, "api"),
                "retries": sum(c["retries"] for c in calls),
                "wall_seconds": round((ended - self.started_at).total_seconds(), 3),
            },
        }
        if self.inputs:
            manifest["inputs"] = self.inputs
        if self.provenance:
            manifest["provenance"] = self.provenance
        os.sync()  # every item on disk before the manifest that lists them (a power cut leaves no manifest)
        atomic_write(self.root / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
        return manifest


def _count_by(calls: list[dict[str, Any]], key: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for call in calls:
        counts[call[key]] = counts.get(call[key], 0) + call["requests"]
    return dict(sorted(counts.items()))


def _calls_by(calls: list[dict[str, Any]], key: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for call in calls:
        counts[call[key]] = counts.get(call[key], 0) + 1
    return dict(sorted(counts.items()))


def _parse_http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


class CallRecorder:
    """The open record of one logical call (all its pages and retries)."""

    def __init__(self, locker: LockerWriter, record: CallRecord) -> None:
        self.locker = locker
        self.record = record

    def page(self, url: str, status: int | None, body: bytes, date_header: str | None,
             headers: dict[str, str] | None = None) -> str:
        return self.locker._store_page(self.record, url, status, body, date_header, headers)

    def retried(self) -> None:
        """A failed request of this call is about to be sent again (the failure is already a page)."""
        with self.locker._lock:
            self.record.retries += 1

    def cover(self, start: str | None, end: str | None) -> None:
        """Say which span of time the call's answer covers (see CallRecord.covered)."""
        self.record.covered = {"from": start, "to": end}

    def finish(self, error: dict[str, Any] | None = None) -> CallRecord:
        """End the call: `error` when it failed; `partial` when every page came but one said it is incomplete."""
        self.record.ended_at = iso(utc_now())
        partial = self.record.partial
        if error is None and partial:
            named = ", ".join(partial["scopes"]) or "unnamed scopes"
            codes = sorted({s["code"] for s in partial["signals"]})
            error = {"http_status": 200, "reason": codes[0], "kind": "partial", "exception": None,
                     "message": f"the answer says it is incomplete ({', '.join(codes)}): {named} did not answer"}
            self.record.outcome = "partial"
        else:
            self.record.outcome = "error" if error else "ok"
        self.record.error = error
        self.locker._end_call(self.record)
        return self.record


class Locker:
    """A finished locker, read back for facts, checks, reports and verification.

    Read through the one reading path (size, encoding, depth limits) and checked for shape
    (auditor.evidence.shape) before anything trusts it; items are read only from inside the locker.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        path = self.root / MANIFEST
        if not path.exists() and not path.is_symlink():
            if (self.root / "calls.jsonl").exists() or (self.root / "items").is_dir():
                raise EvidenceError(f"{self.root}: an incomplete locker, no evidence manifest: the run that wrote it "
                                    f"did not finish (calls.jsonl and items/ but no {MANIFEST}); collect again")
            raise EvidenceError(f"{path}: no evidence manifest here (No such file or directory)")
        raw, manifest = reading.read_json(path, "manifest", error=EvidenceError)
        if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
            schema = manifest.get("schema") if isinstance(manifest, dict) else None
            raise EvidenceError(f"{path}: not an evidence manifest (schema {str(schema)[:80]!r}, expected {SCHEMA!r})")
        shape.check_manifest(manifest, str(path))
        self.manifest: dict[str, Any] = manifest
        self.manifest_sha256 = hashlib.sha256(raw).hexdigest()
        self.items = {item["id"]: item for item in self.manifest["items"]}

    @property
    def as_of(self) -> datetime:
        moment = shape.timestamp(self.manifest["as_of"])
        assert moment is not None  # checked when the manifest was read
        return moment

    def calls(self, api: str | None = None, method: str | None = None) -> Iterator[dict[str, Any]]:
        for call in self.manifest["calls"]:
            if (api is None or call["api"] == api) and (method is None or call["method"] == method):
                yield call

    def body(self, item_id: str) -> bytes:
        """The stored page, checked against its recorded SHA-256 before anything trusts it."""
        item = self.items[item_id]
        path = shape.confined(self.root, item["path"], item_id)
        if not path.exists():
            raise TamperedError(f"{self.root / item['path']}: evidence item {item_id} is listed in the manifest "
                                "but missing: the locker was altered after it was written")
        data = reading.read_bytes(path, "item", error=EvidenceError)
        if hashlib.sha256(data).hexdigest() != item["sha256"]:
            raise TamperedError(f"{self.root / item['path']}: evidence item {item_id} does not match its recorded "
                                "SHA-256: the locker was altered after it was written")
        return data

    def pages(self, call: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], int]]:
        """(item id, item record, http status) of a call's pages, in order."""
        for item_id in call["items"]:
            yield item_id, self.items[item_id], self.items[item_id]["http_status"]
