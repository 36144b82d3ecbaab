"""Large synthetic organisations for the benchmark and the scale tests, with a config and a data map.

`synthetic_scenario(Shape())` builds a Scenario in memory (no YAML): by default 200 projects,
2,000 Cloud SQL instances (every tenth a read replica) with a quarter of daily backup history,
5,000 buckets (each primary's export bucket, declared as its backup bucket, plus data buckets),
one CMEK key per project, restore-test operations, log-based metrics, alert policies and
notification channels (and a central monitoring project), and a few stores only the asset index
sees. `write_synthetic(shape, folder, url)` also writes the matching auditor.yaml (the sample
company's policy, the organisation scope, endpoints at `url`) and inventory.yaml (every store
declared or excluded, a handful left out on purpose), so the whole pipeline runs on it.

Everything is a pure function of the shape and its seed (a `random.Random(seed)` per project), so
two runs see the same organisation. A small, seeded share of resources is unhealthy (missed
backup days, backups switched off, a disabled key version, no restore test, a project with no
alert policy, an undeclared bucket), so the reports have exceptions to show. A synthetic scenario
has no `expect:` block: its verdicts are not written by hand, so it measures scale and compares
runs with each other, never judges correctness.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from auditor.config import GCP_APIS
from auditor.simulator.scenario import Scenario, parse_scenario

REGIONS = ("us-east1", "us-central1", "us-west1", "us-east4", "us-west2")
CLASSES = ("restricted", "confidential", "internal")
RETAINED = {"restricted": 30, "confidential": 14, "internal": 7}
START_TIMES = ("01:00", "03:00", "05:00", "09:00", "23:00")
OTHER_TYPES = ("bigquery.googleapis.com/Dataset", "spanner.googleapis.com/Instance", "compute.googleapis.com/Disk")
LABEL = "data-classification"
FAILED_BACKUP = ('resource.type="cloudsql_database" AND protoPayload.methodName="cloudsql.instances.automatedBackup" '
                 'AND protoPayload.metadata.windowStatus="STATUS_FAILED"')
ORG_ID = "900000000000"
OPS_PROJECT = "synth-ops"


@dataclass(frozen=True)
class Shape:
    """The organisation's shape (what the design minimum of API calls is a function of) and its seed."""

    projects: int = 200
    instances: int = 2000
    buckets: int = 5000
    replicas_every: int = 10  # every Nth instance of a project is a read replica of the one before it
    other_stores_every: int = 4  # one asset-only store (BigQuery, Spanner, disk) per N projects
    seed: int = 7
    now: str = "2026-09-30T02:00:00Z"
    history_start: str = "2026-06-20"
    quarter: str = "2026-Q3"

    def spread(self, total: int, p: int) -> int:
        """How many of `total` resources project p holds (as even as possible, earlier projects first)."""
        return total // self.projects + (1 if p < total % self.projects else 0)


def project_id(index: int) -> str:
    return f"synth-{index:04d}"


def project_number(index: int) -> str:
    return str(500000000000 + index)


def _key(p: int) -> str:
    return f"projects/{project_id(p)}/locations/{REGIONS[p % len(REGIONS)]}/keyRings/sql/cryptoKeys/cmek"


def _other_region(region: str, rng: random.Random) -> str:
    return rng.choice([r for r in REGIONS if r != region])


def _instances(shape: Shape, p: int, rng: random.Random) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(shape.spread(shape.instances, p)):
        name, region = f"db-{i:03d}", REGIONS[(p + i) % len(REGIONS)]
        cls = CLASSES[(p + i) % len(CLASSES)]
        if shape.replicas_every and i % shape.replicas_every == shape.replicas_every - 1 and out:
            out.append({"name": name, "type": "READ_REPLICA_INSTANCE", "master": out[-1]["name"], "region": region,
                        "database_version": "POSTGRES_16", "labels": {LABEL: cls}})
            continue
        backup: dict[str, Any] = {"enabled": True, "start_time": rng.choice(START_TIMES),
                                  "location": _other_region(region, rng), "retained_backups": RETAINED[cls],
                                  "pitr": cls == "restricted"}
        inst: dict[str, Any] = {"name": name, "region": region, "database_version": "POSTGRES_16",
                                "labels": {LABEL: cls}, "create_time": "2025-01-01T00:00:00Z", "backup": backup}
        if cls == "restricted":
            inst["kms_key"] = _key(p)
        roll = rng.random()
        if roll < 0.01:
            backup.update(enabled=False, disabled_since="2026-09-10")
        elif roll < 0.04:
            inst["days"] = {"2026-08-11..2026-08-12": "none", "2026-09-02": "failed"}
        elif roll < 0.06:
            inst["days"] = {"2026-07-20": "attempt_failed_then_success"}
        if rng.random() < 0.9:  # restore tests: a clone every ~75 days, else none (a finding)
            inst["operations"] = [{"type": "CLONE", "time": f"2026-{m:02d}-{rng.randint(1, 28):02d}T10:00:00Z"}
                                  for m in (5, 7, 9)]
        out.append(inst)
    return out


def _buckets(shape: Shape, p: int, instances: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    """Each primary's export bucket first (its declared backup bucket), then data buckets up to the count."""
    pid, count, out = project_id(p), shape.spread(shape.buckets, p), []
    for inst in instances:
        if len(out) >= count or inst.get("type") == "READ_REPLICA_INSTANCE":
            continue
        cls = inst["labels"][LABEL]
        bucket = {"name": f"{pid}-{inst['name']}-exports", "location": inst["backup"]["location"].upper(),
                  "labels": {LABEL: cls}, "retention_days": 35 if cls == "restricted" else 21, "versioning": True,
                  "lifecycle_delete_age_days": 365 if cls != "internal" else 60}
        if cls == "restricted" and rng.random() < 0.97:
            bucket["kms_key"] = inst["kms_key"]
        out.append(bucket)
    while len(out) < count:
        n = len(out)
        out.append({"name": f"{pid}-data-{n:04d}", "location": rng.choice(("US", "US-EAST1", "US-WEST1", "NAM4")),
                    "labels": {LABEL: rng.choice(CLASSES)}, "soft_delete_days": 7, "versioning": rng.random() < 0.5})
    return out


def _monitoring(p: int, rng: random.Random) -> dict[str, Any]:
    """A threshold alert on a log-based metric in most projects; some rely on the central project; a few have none."""
    roll = rng.random()
    if roll < 0.05:
        return {}
    if roll < 0.25:  # covered centrally by synth-ops's log-match policy
        return {}
    return {"log_metrics": [{"name": "cloudsql-backup-failures", "filter": FAILED_BACKUP}],
            "notification_channels": [{"id": "dba-oncall", "display_name": "DBA on-call", "type": "email"}],
            "alert_policies": [{"id": "backup-failed", "display_name": "Cloud SQL backup failed",
                                "metric_threshold": "cloudsql-backup-failures", "channels": ["dba-oncall"]}]}


def _project(shape: Shape, p: int) -> dict[str, Any]:
    rng = random.Random(f"{shape.seed}:{p}")
    instances = _instances(shape, p, rng)
    key_region = REGIONS[p % len(REGIONS)]
    versions = ["DISABLED", "ENABLED"] if rng.random() < 0.03 else ["ENABLED"]
    project: dict[str, Any] = {
        "id": project_id(p), "number": project_number(p), "folder": str(700000 + p % 10),
        "sql_instances": instances, "buckets": _buckets(shape, p, instances, rng),
        "kms_keys": [{"key_ring": "sql", "name": "cmek", "location": key_region, "versions": versions}],
        **_monitoring(p, rng),
    }
    if shape.other_stores_every and p % shape.other_stores_every == 0:
        kind = OTHER_TYPES[(p // shape.other_stores_every) % len(OTHER_TYPES)]
        host, what = kind.split("/")[0], {"Dataset": "datasets", "Instance": "instances", "Disk": "disks"}[kind.split("/")[1]]
        name = f"//{host}/projects/{project_id(p)}/{what}/store-{p:04d}"
        project["other_stores"] = [{"asset_type": kind, "name": name, "location": key_region}]
    return project


def _ops_project(shape: Shape) -> dict[str, Any]:
    """The central monitoring project: one log-match policy on failed backups anywhere in the organisation."""
    return {"id": OPS_PROJECT, "number": str(500000000000 + 99999), "folder": "700000",
            "notification_channels": [{"id": "sre-pager", "display_name": "SRE pager", "type": "pagerduty"}],
            "alert_policies": [{"id": "org-backup-failed", "display_name": "Any Cloud SQL backup failed",
                                "log_filter": FAILED_BACKUP, "channels": ["sre-pager"]}]}


def scenario_data(shape: Shape) -> dict[str, Any]:
    return {
        "name": f"synthetic-{shape.projects}p-{shape.instances}i-{shape.buckets}b",
        "now": shape.now,
        "history_start": shape.history_start,
        "organization": {"id": ORG_ID, "display_name": "synthetic.example"},
        "projects": [_project(shape, p) for p in range(shape.projects)] + [_ops_project(shape)],
    }


def synthetic_scenario(shape: Shape) -> Scenario:
    return parse_scenario(scenario_data(shape), f"<synthetic {shape}>")


def inventory_data(scenario: Scenario, shape: Shape) -> dict[str, Any]:
    """Every store declared (instances with their backup, buckets) or excluded, except a seeded few."""
    rng = random.Random(f"{shape.seed}:inventory")
    stores: list[dict[str, Any]] = []
    exclusions: list[dict[str, Any]] = []
    for project in scenario.projects:
        for inst in project.sql_instances:
            if inst.type != "CLOUD_SQL_INSTANCE":
                continue  # a replica is covered by its primary's entry
            backup: list[Any] = ["cloudsql-automated"]
            export = f"{project.id}-{inst.name}-exports"
            if any(b.name == export for b in project.buckets):
                backup.append({"backup-bucket": f"//storage.googleapis.com/{export}"})
            stores.append({"resource": f"//cloudsql.googleapis.com/projects/{project.id}/instances/{inst.name}",
                           "classification": inst.labels[LABEL], "owner": "data-platform", "backup": backup})
        for bucket in project.buckets:
            if rng.random() < 0.002:
                continue  # an unregistered bucket: inventory-completeness names it
            resource = f"//storage.googleapis.com/{bucket.name}"
            if bucket.name.endswith("-exports"):
                stores.append({"resource": resource, "classification": bucket.labels[LABEL], "owner": "data-platform"})
            elif rng.random() < 0.5:
                exclusions.append({"resource": resource, "reason": "scratch data, re-creatable from source"})
            else:
                stores.append({"resource": resource, "classification": bucket.labels[LABEL], "owner": "analytics",
                               "backup": "none"})
        for store in project.other_stores:
            stores.append({"resource": store.name, "classification": "internal", "owner": "analytics",
                           "backup": "managed-by-service"})
    return {"reviewed": "2026-03-31", "owner": "platform-team@synthetic.example", "stores": stores, "exclusions": exclusions}


def config_data(shape: Shape, url: str, inventory: str = "inventory.yaml") -> dict[str, Any]:
    """The sample company's policy, pointed at the synthetic organisation (discovered through the asset index)."""
    sample = Path(str(resources.files("auditor.samples") / "bangkok-solutions" / "auditor.yaml"))
    data = yaml.safe_load(sample.read_text(encoding="utf-8"))
    data.pop("github", None)  # GitHub at scale: benchmarks/github_scale.py
    data["organization"] = "Synthetic Organisation"
    data["period"] = {"quarter": shape.quarter, "timezone": "UTC"}
    data["gcp"] = {"organization": ORG_ID, "projects": [], "monitoring_project": OPS_PROJECT, "credentials": "anonymous",
                   "endpoints": {api: url for api in GCP_APIS}}
    data["inventory"] = inventory
    data["policy"]["promises"] = [p for p in data["policy"].get("promises", []) if not p.get("section") == "Source Code"]
    data["policy"].pop("source_code", None)
    return data


def write_synthetic(shape: Shape, folder: Path, url: str) -> tuple[Scenario, Path]:
    """Build the scenario and write auditor.yaml and inventory.yaml for it into `folder`; returns (scenario, config path)."""
    folder.mkdir(parents=True, exist_ok=True)
    scenario = synthetic_scenario(shape)
    (folder / "inventory.yaml").write_text(yaml.safe_dump(inventory_data(scenario, shape), sort_keys=False), encoding="utf-8")
    config = folder / "auditor.yaml"
    config.write_text(yaml.safe_dump(config_data(shape, url), sort_keys=False, allow_unicode=True), encoding="utf-8")
    return scenario, config
