"""Evidence of time: each daily locker in the Cloud Storage bucket the packs are kept in, written on its
day and held under a locked retention policy. Read-only (buckets.get, objects.list, objects.get).

A chain of lockers proves order, not time: a quarter of "daily" lockers can be made on its last day.
A bucket can prove time. Cloud Storage sets an object's `timeCreated` when the object (that
generation) is written, and nobody can set it; under a *locked* retention policy an object can be
neither deleted nor replaced until `retentionExpirationTime`, and the policy itself can be neither
removed nor shortened. So a locker manifest whose object was created within a day after its `as_of`,
under a locked policy in force since before it was written (`effectiveTime` not after `timeCreated`),
existed on that day and has not been replaced since.

`auditor verify PACK --bucket gs://BUCKET/PREFIX` reads every object under PREFIX named
`.../manifest.json`, keeps those that are evidence manifests, and checks for each: written on its
day, held by a locked policy, not yet released; then that the bucket's lockers form one unbroken
chain (auditor.chain), and that the pack's own lockers (results.json `lockers[]`) are among them.
Anything that cannot be read is a failure of this step, never a pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from auditor.chain import check_heads, head_from_bytes
from auditor.errors import AuditorError, EvidenceError
from auditor.reading import parse_json

PROVES = ("each locker in the bucket was written within a day of its as_of (timeCreated) and is held under "
          "a locked retention policy; the bucket's lockers form one chain that holds the pack's")
ON_ITS_DAY = timedelta(days=1)
_GS = re.compile(r"^gs://([a-z0-9][a-z0-9._-]{1,220}[a-z0-9])(?:/(.*))?$")


class BucketUsageError(AuditorError):
    """--bucket is not a gs:// URL (usage error)."""

    exit_code = 2


def parse_gs(url: str) -> tuple[str, str]:
    match = _GS.match(url)
    if not match:
        raise BucketUsageError(f"--bucket {url!r}: expected gs://BUCKET or gs://BUCKET/PREFIX")
    return match.group(1), match.group(2) or ""


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@dataclass
class BucketReport:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def evaluate(bucket: str, policy: dict[str, Any] | None, objects: list[tuple[dict[str, Any], bytes]],
             pack_lockers: set[str], now: datetime) -> BucketReport:
    """Judge a bucket from what the API returned: its `retentionPolicy` (None when it has none) and
    each manifest object's metadata with its bytes. Pure: no network (tests feed documented shapes)."""
    report = BucketReport()
    locked = bool(policy and policy.get("isLocked") is True)
    effective = _time(policy.get("effectiveTime")) if policy else None
    if not policy:
        report.problems.append(f"gs://{bucket} has no retention policy: its objects can be deleted or replaced at any time")
    elif not locked:
        report.problems.append(f"gs://{bucket}'s retention policy ({policy.get('retentionPeriod')} s) is not locked: "
                               "it can be removed, and then every object replaced")
    else:
        report.notes.append(f"gs://{bucket}: locked retention policy of {policy.get('retentionPeriod')} s, "
                            f"in force since {policy.get('effectiveTime')}")
    heads = []
    for meta, data in objects:
        name = f"gs://{bucket}/{meta.get('name')}"
        try:
            head = head_from_bytes(data, name, name)
        except EvidenceError:
            continue  # a manifest.json that is not an evidence manifest (another tool's file)
        heads.append(head)
        as_of, created = _time(head.as_of), _time(meta.get("timeCreated"))
        if as_of is None or created is None:
            report.problems.append(f"{name}: no readable as_of or timeCreated ({head.as_of!r}, {meta.get('timeCreated')!r})")
            continue
        if created < as_of:
            report.problems.append(f"{name}: timeCreated {meta['timeCreated']} is before the locker's as_of {head.as_of}: "
                                   "its clock was not the servers'")
        elif created - as_of >= ON_ITS_DAY:
            report.problems.append(f"{name}: locker {head.locker_id} (as of {head.as_of}) was written at {meta['timeCreated']}, "
                                   f"{(created - as_of).days} day(s) later: not on its day (made or replaced later)")
        else:
            report.notes.append(f"{name}: locker {head.locker_id} as of {head.as_of}, written {meta['timeCreated']}")
        if locked and effective is not None and created < effective:
            report.problems.append(f"{name}: written at {meta['timeCreated']}, before the retention policy took effect "
                                   f"({policy['effectiveTime']}): it could have been replaced before then")
        expires = _time(meta.get("retentionExpirationTime"))
        if policy and expires is None:
            report.problems.append(f"{name}: no retentionExpirationTime, so the retention policy does not hold it")
        elif expires is not None and expires <= now:
            report.problems.append(f"{name}: retention expired at {meta['retentionExpirationTime']}; it is no longer held")
    if not heads:
        report.problems.append(f"gs://{bucket}: no evidence manifest under the prefix, so nothing in it vouches for the pack")
        return report
    chain = check_heads(heads)
    report.problems += [f"bucket chain: {b}" for b in chain.breaks]
    held = {h.sha256 for h in heads}
    for digest in sorted(pack_lockers - held):
        report.problems.append(f"the pack's locker with manifest SHA-256 {digest[:16]}… is not in gs://{bucket}")
    report.notes.append(f"{len(heads)} locker(s) in the bucket" + (", one unbroken chain" if chain.unbroken else ""))
    return report


def storage_client(config: Any) -> Any:
    """The Storage JSON API's discovery client, read-only, with the config's credentials and endpoint
    (no capture layer: verify writes no evidence)."""
    import google_auth_httplib2
    import httplib2
    from googleapiclient.discovery import build

    from auditor.collectors.google import load_credentials

    setting = config.gcp.credentials if config is not None else "application-default"
    credentials, _identity = load_credentials(setting)
    root = config.gcp.endpoints.storage if config is not None else None
    options = {"api_endpoint": root.rstrip("/") + "/storage/v1/"} if root else None
    http = google_auth_httplib2.AuthorizedHttp(credentials, http=httplib2.Http(timeout=60))
    return build("storage", "v1", http=http, static_discovery=True, cache_discovery=False, client_options=options)


def read_bucket(client: Any, bucket: str, prefix: str) -> tuple[dict[str, Any] | None, list[tuple[dict[str, Any], bytes]]]:
    policy = client.buckets().get(bucket=bucket, fields="name,retentionPolicy").execute().get("retentionPolicy")
    objects: list[tuple[dict[str, Any], bytes]] = []
    request = client.objects().list(bucket=bucket, prefix=prefix or None, maxResults=1000)
    while request is not None:
        page = request.execute()
        for meta in page.get("items", []):
            name = meta.get("name", "")
            if name == "manifest.json" or name.endswith("/manifest.json"):
                data = client.objects().get_media(bucket=bucket, object=name).execute()
                objects.append((meta, data if isinstance(data, bytes) else str(data).encode()))
        request = client.objects().list_next(request, page)
    return policy, objects


def _pack_lockers(pack: Path) -> set[str]:
    try:
        results = parse_json((pack / "results.json").read_bytes(), "results.json", error=ValueError)
        return {l["manifest_sha256"] for l in results["lockers"]}
    except (OSError, ValueError, KeyError, TypeError):
        return set()  # an unreadable results.json is already a failure of verify's own steps


def check_bucket(pack: Path, url: str, config: Any, outcome: Any, *, client: Any = None,
                 now: datetime | None = None) -> BucketReport:
    """Read the bucket and fold the result into `outcome` (an auditor.verify.Verification) as one step."""
    from googleapiclient.errors import HttpError
    import httplib2

    bucket, prefix = parse_gs(url)
    try:
        client = client or storage_client(config)
        policy, objects = read_bucket(client, bucket, prefix)
    except HttpError as err:
        report = BucketReport([f"gs://{bucket} could not be read (HTTP {err.resp.status}: {err._get_reason()}): "
                               "nothing about time is verified"])
    except (OSError, httplib2.HttpLib2Error) as err:
        report = BucketReport([f"gs://{bucket} could not be read ({type(err).__name__}: {err}): nothing about time is verified"])
    else:
        report = evaluate(bucket, policy, objects, _pack_lockers(Path(pack)), now or datetime.now(timezone.utc))
    outcome.add_step("bucket", PROVES, report.problems, report.notes)
    return report
