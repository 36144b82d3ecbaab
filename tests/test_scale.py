"""Scale machinery over real HTTP, no timings: a run's requests equal the design formula per (API, method);
parallel collection gives the facts and results of a serial one; the Logging quota's 429 is waited
out as Retry-After says, losing nothing; the formula's latency bound; the synthetic organisation."""

from collections import Counter
from pathlib import Path

import pytest

from auditor.collectors import logging as logging_collector
from auditor.config import load_config
from auditor.cost import GOOGLE_APIS, OrgShape, ProjectShape, design_minimum, latency_bound, requests_by_method
from auditor.evidence.locker import Locker
from auditor.facts import build_facts
from auditor.facts.known import Unknown, known_items
from auditor.runner import collect, evaluate
from auditor.simulator import Simulator
from auditor.simulator.quota import Quota
from auditor.simulator.scenario import parse_scenario
from auditor.simulator.shape import org_shape
from synthetic import Shape, config_data, inventory_data, scenario_data, synthetic_scenario
from testkit import fast_policy, freeze_clock, spine_config, spine_scenario

SMALL = Shape(projects=3, instances=30, buckets=60)


def small_scenario():
    """The small synthetic organisation, with one project's Logging API disabled and another's Storage denied,
    so the formula's error terms (one request, no follow-ups) are exercised too."""
    data = scenario_data(SMALL)
    data["projects"][1]["apis_disabled"] = ["logging"]
    data["projects"][2]["permission_denied"] = ["storage"]
    return parse_scenario(data, "<small synthetic>")


def write_config(tmp: Path, scenario, url: str) -> Path:
    import yaml

    (tmp / "inventory.yaml").write_text(yaml.safe_dump(inventory_data(scenario, SMALL)))
    (tmp / "auditor.yaml").write_text(yaml.safe_dump(config_data(SMALL, url)))
    return tmp / "auditor.yaml"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The small organisation collected in parallel and serially from one simulator serving a frozen clock."""
    scenario = small_scenario()
    out = tmp_path_factory.mktemp("scale")
    with Simulator(scenario, port=0) as sim:
        freeze_clock(sim)  # both runs see the same server clock, so any difference comes from the scheduling
        config = load_config(write_config(out, scenario, sim.url))
        parallel = collect(config, out / "parallel" / "evidence")
        stats = Counter({key: n for key, n in sim.stats.items()})
        serial = collect(config, out / "serial" / "evidence", serial=True)
    return scenario, config, parallel, stats, serial


def test_requests_equal_the_design_formula_per_api_and_method(runs):
    scenario, config, parallel, stats, _serial = runs
    minimum = design_minimum(org_shape(scenario, config))
    made = requests_by_method(parallel.manifest["calls"], GOOGLE_APIS)
    assert made == minimum.by_method
    # The organisation is built so that the formula is more than "one request per call": listings span
    # pages, follow-ups exist for every kind, and the error terms count one request each.
    assert minimum.by_method[("sqladmin", "backupRuns.list")] > 3
    # one page per project listed (the three and the monitoring project; one of them denied: one error page)
    listings = [c for c in parallel.manifest["calls"] if c["method"] == "buckets.list"]
    assert minimum.by_method[("storage", "buckets.list")] == len(listings) == 4
    assert ("storage", "buckets.testIamPermissions") not in made  # no per-bucket call: the listing has it all
    assert minimum.by_method[("sqladmin", "operations.list")] == 27  # 9 primaries in each of 3 projects
    assert minimum.by_method[("cloudkms", "cryptoKeys.get")] == 3
    assert minimum.by_method[("cloudasset", "searchAllResources")] == 1
    assert parallel.manifest["counts"]["retries"] == 0
    # What the server answered is what the locker holds: nothing sent twice, nothing sent unrecorded.
    assert sum(stats.values()) == sum(made.values())
    failed = {(c["api"], c["method"], c["scope"]) for c in parallel.manifest["calls"] if c["outcome"] != "ok"}
    # synth-0001's Logging API is disabled: its project query, its metrics and its key's own history query fail
    key = "projects/synth-0001/locations/us-central1/keyRings/sql/cryptoKeys/cmek"
    assert failed == {("logging", "entries.list", "projects/synth-0001"), ("logging", "metrics.list", "projects/synth-0001"),
                      ("logging", "entries.list", key), ("storage", "buckets.list", "projects/synth-0002")}


def test_parallel_collection_gives_the_facts_and_results_of_a_serial_one(runs):
    _scenario, _config, parallel, _stats, serial = runs
    facts_p, facts_s = build_facts([Locker(parallel.evidence_dir)]), build_facts([Locker(serial.evidence_dir)])
    def reads(facts, name):  # every scope's read, as Known (items and calls) or Unknown (gaps)
        collection = getattr(facts, name)
        return [(scope, repr(read) if isinstance(read, Unknown) else (sorted(map(repr, read.items)), sorted(read.calls)))
                for scope, read in zip(collection.scopes(), collection.over(collection.scopes()))]

    for name in ("sql_instances", "backup_windows", "backup_runs", "config_changes", "kms_key_versions", "sql_operations",
                 "buckets", "kms_version_changes", "kms_version_observations"):
        assert reads(facts_p, name) == reads(facts_s, name), name
    windows, unknown = known_items(facts_p.backup_windows.over(facts_p.backup_windows.scopes()))
    # its Logging API is disabled (the key's history query there fails too, so the key's scope is unknown as well)
    assert len(windows) > 1500 and [u.scope for u in unknown] == [
        "projects/synth-0001", "projects/synth-0001/locations/us-central1/keyRings/sql/cryptoKeys/cmek"]
    calls = lambda c: sorted((x["id"], x["outcome"], x["requests"], tuple(x["items"])) for x in c.manifest["calls"])
    assert calls(parallel) == calls(serial)  # same requests, same pages (item ids hash the bodies)
    results_p, results_s = evaluate([parallel.evidence_dir]), evaluate([serial.evidence_dir])
    assert results_p["controls"] == results_s["controls"]


class FakeClock:
    """One clock for the client's sleeps and the server's quota window: a minute passes when the client waits."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_a_logging_quota_429_is_waited_out_as_retry_after_says_and_nothing_is_lost(sample_dir, tmp_path, monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(logging_collector, "PAGE_SIZE", 40)  # several pages in one project's query
    scenario = spine_scenario(sample_dir)
    config = spine_config(sample_dir).model_copy(update={"gcp": spine_config(sample_dir).gcp.model_copy(update={"projects": ["bks-prod"]})})
    with fast_policy(sleep=clock.sleep, retries=3, max_wait=120), \
            Simulator(scenario, port=0, quota=Quota.google_defaults(logging_per_minute=2)) as sim:
        sim.quota.clock = clock
        collection = collect(config.with_endpoints(sim.url), tmp_path / "evidence")
        served = sim.count("logging", "POST", "/v2/entries:list")
        rejected = sim.quota.rejected
    (call,) = [c for c in collection.manifest["calls"]
               if (c["api"], c["method"], c["scope"]) == ("logging", "entries.list", "projects/bks-prod")]
    locker = Locker(collection.evidence_dir)
    statuses = [status for _id, _item, status in locker.pages(call)]
    pages = statuses.count(200)
    assert call["outcome"] == "ok" and pages >= 4
    # Two requests a minute per project: each 429 is followed by the same page, sent once the window
    # has passed, after exactly the wait Retry-After gave (the fake clock makes the minute pass).
    for before, after in zip(statuses, statuses[1:]):
        assert not (before == 429 and after == 429)
    project_rejections = statuses.count(429)
    assert project_rejections >= 1 and call["requests"] == pages + project_rejections
    assert served == sum(c["requests"] for c in collection.manifest["calls"] if c["method"] == "entries.list")
    assert len(clock.sleeps) == rejected and all(0 < wait <= 60 for wait in clock.sleeps)
    assert collection.manifest["counts"]["retries"] == rejected
    body = locker.body(next(item_id for item_id, _item, status in locker.pages(call) if status == 429))
    assert b"RESOURCE_EXHAUSTED" in body and b"RATE_LIMIT_EXCEEDED" in body
    # Nothing lost: the facts hold every entry the simulator has for the period, and the log counts as read.
    facts = build_facts([locker])
    assert facts.coverage.was_read("logging", "entries.list", "projects/bks-prod")
    wanted = org_shape(scenario, config).projects[0].audit_entries
    assert sum(len(_entries(locker, item_id)) for item_id, _i, s in locker.pages(call) if s == 200) == wanted


def _entries(locker, item_id):
    import json

    return json.loads(locker.body(item_id)).get("entries", [])


def test_the_latency_bound_counts_chains_parallelism_and_the_logging_quota():
    shape = OrgShape((ProjectShape("p1", instances=600, buckets=10, operations=(1,) * 5),
                      ProjectShape("p2", audit_entries=30_000)), asset_results=(1200,))
    minimum = design_minimum(shape)
    # 3 asset pages, then the longest per-project chain: p2's 30 pages of entries (p1: 2 instance pages, then operations)
    assert minimum.longest_chain == 3 + 30 and minimum.logging_quota_seconds == 0
    assert latency_bound({"storage": 160}, minimum, {"default": 8, "storage": 16}, 0.05) == pytest.approx(33 * 0.05)
    assert latency_bound({"storage": 16_000}, minimum, {"default": 8, "storage": 16}, 0.05) == pytest.approx(50.0)
    assert latency_bound({"github": 100}, minimum, {"default": 8, "github": 4}, 1.0) == pytest.approx(100.0)  # serially
    quota = design_minimum(OrgShape((ProjectShape("p", audit_entries=130_000),)))  # 130 pages at 60 a minute
    assert quota.logging_quota_seconds == 120.0
    assert latency_bound({"logging": 130}, quota, {"default": 8}, 0.05) == pytest.approx(120.0)


def test_the_synthetic_organisation_is_deterministic_and_has_the_asked_shape():
    first, second = synthetic_scenario(SMALL), synthetic_scenario(SMALL)
    assert first == second
    assert sum(len(p.sql_instances) for p in first.projects) == SMALL.instances
    assert sum(len(p.buckets) for p in first.projects) == SMALL.buckets
    replicas = [i for p in first.projects for i in p.sql_instances if i.type == "READ_REPLICA_INSTANCE"]
    assert len(replicas) == SMALL.instances // SMALL.replicas_every
    big = Shape()
    assert (big.projects, big.instances, big.buckets) == (200, 2000, 5000)
