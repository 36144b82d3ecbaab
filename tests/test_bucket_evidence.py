"""`auditor verify --bucket`: the bucket the daily packs are kept in, as the evidence of time.

The bucket is served by the simulator's Storage JSON API (buckets.get, objects.list, objects.get with
alt=media) over real HTTP on 127.0.0.1, read with the discovery client and explicit (anonymous)
credentials from the config. Its objects are the real manifests: the sample pack's locker and two
later daily lockers written by the locker writer, chained to it. The judgement itself is also tried
on Object and Bucket resources transcribed from the Storage JSON API reference.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from auditor.bucket_evidence import evaluate
from auditor.chain import link, read_head
from auditor.cli import app
from auditor.evidence.locker import LockerWriter
from auditor.simulator import Simulator
from auditor.simulator.scenario import parse_scenario

UTC = dt.timezone.utc
BUCKET = "bks-evidence-packs"


@pytest.fixture(scope="module")
def lockers(sample_pack, tmp_path_factory):
    """[(folder, as_of)] for the sample pack's locker and two daily lockers that continue it."""
    root = tmp_path_factory.mktemp("daily")
    first = read_head(sample_pack.out / "evidence")
    out = [(sample_pack.out / "evidence", first)]
    for days in (1, 2):
        when = dt.datetime.fromisoformat(first.as_of.replace("Z", "+00:00")) + dt.timedelta(days=days)
        writer = LockerWriter(root / f"d{days}" / "evidence", config_snapshot={"organization": first.organization},
                              identity={"gcp": "anonymous"}, previous=link(out[-1][1], "evidence root"))
        recorder = writer.begin_call("storage", "buckets.list", {"project": "p"}, "p")
        recorder.page("http://127.0.0.1/storage/v1/b", 200, b"{}", email.utils.format_datetime(when, usegmt=True))
        recorder.finish()
        writer.close()
        out.append((root / f"d{days}" / "evidence", read_head(root / f"d{days}" / "evidence")))
    return out


def as_of(head) -> dt.datetime:
    return dt.datetime.fromisoformat(head.as_of.replace("Z", "+00:00"))


def objects(lockers, *, late: int | None = None, skip: int | None = None) -> list[dict]:
    """The bucket's objects: each locker's manifest (written ten minutes after its as_of, or `late`
    days later for locker number `late`), plus files that are not evidence manifests."""
    found = []
    for n, (folder, head) in enumerate(lockers):
        if n == skip:
            continue
        written = as_of(head) + (dt.timedelta(days=3) if n == late else dt.timedelta(minutes=10))
        day = head.as_of[:10]
        found.append({"name": f"packs/{day}/evidence/manifest.json", "time_created": written.isoformat(),
                      "content": (folder / "manifest.json").read_text()})
        found.append({"name": f"packs/{day}/pack-manifest.json", "time_created": written.isoformat(), "content": "{}"})
        found.append({"name": f"packs/{day}/notes/manifest.json", "time_created": written.isoformat(), "content": "[]"})
    return found


def scenario(lockers, *, locked: bool = True, denied: bool = False, **kwargs):
    bucket = {"name": BUCKET, "location": "ASIA-SOUTHEAST1", "retention_days": 3650, "retention_locked": locked,
              "create_time": "2026-01-01T00:00:00Z", "retention_effective_time": "2026-01-02T00:00:00Z",
              "objects": objects(lockers, **kwargs)}
    return parse_scenario({"name": "bucket", "now": "2026-10-10T00:00:00Z", "history_start": "2026-09-20",
                           "organization": {"id": "42", "display_name": "t.example"},
                           "projects": [{"id": "bks-evidence", "number": "404", "buckets": [bucket],
                                         "permission_denied": ["storage"] if denied else []}]})


def verify(pack: Path, sim, tmp_path: Path, prefix: str = "packs/"):
    config = {"organization": "Bangkok Solutions", "period": {"start": "2026-07-01", "end": "2026-09-30"},
              "gcp": {"projects": ["bks-evidence"], "credentials": "anonymous", "endpoints": {"storage": sim.url}},
              "policy": {"country": "TH", "classifications": {"internal": {"backup_interval": "24h"}}}}
    (tmp_path / "auditor.yaml").write_text(yaml.safe_dump(config))
    return CliRunner().invoke(app, ["verify", str(pack), "--bucket", f"gs://{BUCKET}/{prefix}", "--config", str(tmp_path / "auditor.yaml")])


def test_lockers_written_on_their_day_under_a_locked_policy_verify(sample_pack, lockers, tmp_path):
    with Simulator(scenario(lockers)) as sim:
        result = verify(sample_pack.out, sim, tmp_path)
    assert result.exit_code == 0, result.output
    assert "bucket     ok" in result.output
    assert "3 locker(s) in the bucket, one unbroken chain" in result.output
    assert "locked retention policy of 315360000 s" in result.output


def test_an_unlocked_retention_policy_fails(sample_pack, lockers, tmp_path):
    with Simulator(scenario(lockers, locked=False)) as sim:
        result = verify(sample_pack.out, sim, tmp_path)
    assert result.exit_code == 1 and "is not locked" in result.output


def test_a_locker_written_days_after_its_as_of_is_named(sample_pack, lockers, tmp_path):
    with Simulator(scenario(lockers, late=2)) as sim:
        result = verify(sample_pack.out, sim, tmp_path)
    assert result.exit_code == 1
    assert f"locker {lockers[2][1].locker_id}" in result.output and "3 day(s) later: not on its day" in result.output


def test_a_locker_missing_from_the_middle_of_the_bucket_is_a_gap(sample_pack, lockers, tmp_path):
    with Simulator(scenario(lockers, skip=1)) as sim:
        result = verify(sample_pack.out, sim, tmp_path)
    assert result.exit_code == 1
    assert f"bucket chain: gap: {lockers[2][1].locker_id}" in result.output


def test_a_pack_whose_locker_is_not_in_the_bucket_fails(sample_pack, lockers, tmp_path):
    with Simulator(scenario(lockers, skip=0)) as sim:
        result = verify(sample_pack.out, sim, tmp_path)
    assert result.exit_code == 1
    assert f"the pack's locker with manifest SHA-256 {lockers[0][1].sha256[:16]}" in result.output


def test_a_bucket_that_cannot_be_read_fails_closed(sample_pack, lockers, tmp_path):
    with Simulator(scenario(lockers, denied=True)) as sim:
        result = verify(sample_pack.out, sim, tmp_path)
    assert result.exit_code == 1 and "could not be read (HTTP 403" in result.output


def test_an_empty_prefix_vouches_for_nothing(sample_pack, lockers, tmp_path):
    with Simulator(scenario(lockers)) as sim:
        result = verify(sample_pack.out, sim, tmp_path, prefix="elsewhere/")
    assert result.exit_code == 1 and "no evidence manifest under the prefix" in result.output


def test_a_bad_bucket_url_is_a_usage_error(sample_pack):
    result = CliRunner().invoke(app, ["verify", str(sample_pack.out), "--bucket", "s3://x"])
    assert result.exit_code == 2 and "gs://BUCKET" in result.output


# ----------------------------------------------------- on the API reference's shapes (no simulator)

def _documented_object(name: str, created: str, expires: str | None) -> dict:
    """An Object resource as the Storage JSON API reference lists its fields (retentionExpirationTime
    only when the bucket has a retention policy)."""
    body = {"kind": "storage#object", "id": f"{BUCKET}/{name}/1727661600000000", "name": name, "bucket": BUCKET,
            "generation": "1727661600000000", "metageneration": "1", "contentType": "application/json",
            "timeCreated": created, "updated": created, "storageClass": "STANDARD", "size": "1024",
            "md5Hash": "1B2M2Y8AsgTpgAmY7PhCfg==", "crc32c": "AAAAAA==", "etag": "CKih16GjycICEAE="}
    if expires:
        body["retentionExpirationTime"] = expires
    return body


def test_documented_shapes_locked_and_unlocked(lockers):
    (folder, head), = lockers[:1]
    data = (folder / "manifest.json").read_bytes()
    written = (as_of(head) + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    item = (_documented_object("d/manifest.json", written, "2030-01-01T00:00:00.000Z"), data)
    now = dt.datetime(2026, 10, 5, tzinfo=UTC)
    locked = {"retentionPeriod": "3155760000", "effectiveTime": "2026-01-02T00:00:00.000Z", "isLocked": True}
    assert evaluate(BUCKET, locked, [item], {head.sha256}, now).problems == []
    # an unlocked policy's answer may leave isLocked out altogether
    unlocked = {"retentionPeriod": "3155760000", "effectiveTime": "2026-01-02T00:00:00.000Z"}
    assert any("not locked" in p for p in evaluate(BUCKET, unlocked, [item], {head.sha256}, now).problems)
    assert any("no retention policy" in p for p in evaluate(BUCKET, None, [(item[0], data)], {head.sha256}, now).problems)
    late_policy = {**locked, "effectiveTime": "2026-12-01T00:00:00.000Z"}
    assert any("before the retention policy took effect" in p
               for p in evaluate(BUCKET, late_policy, [item], {head.sha256}, now).problems)
    expired = (_documented_object("d/manifest.json", written, "2026-10-01T00:00:00Z"), data)
    assert any("no longer held" in p for p in evaluate(BUCKET, locked, [expired], {head.sha256}, now).problems)
    unheld = (_documented_object("d/manifest.json", written, None), data)
    assert any("does not hold it" in p for p in evaluate(BUCKET, locked, [unheld], {head.sha256}, now).problems)
