"""Issue 12's cases: a failed or unread input never becomes a pass, by construction.

Each test here fails on the code before the Known/Unknown facts (3150c05): the parity check passed
instances whose backup listing had failed ("its 0 retained backups are encrypted ..."), carried a
configuration read back over days no log query covered, passed a CMEK instance with no encryption
status and no backups, and passed instances with backups disabled.
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone

import pytest

from auditor.checks import BUILTIN, backup_enabled, backup_encryption_parity
from auditor.checks_api import Check, CheckContext
from auditor.config import Config, load_config
from auditor.facts.build import DERIVED_FROM, Reading, assemble
from auditor.facts.controls import KmsKey, KmsKeyVersion
from auditor.facts.known import CallGap, Known, Unknown
from auditor.facts.model import LogSpan, SqlInstance, UndeclaredFact, sql_resource
from auditor.facts.sources import FACTS
from auditor.facts.sources.audit_log import query_span
from auditor.facts.timeline import Event, Timeline
from auditor.period import Period

UTC = timezone.utc
KEY = "projects/p/locations/us-east1/keyRings/sql/cryptoKeys/k"
PERIOD = Period(date(2026, 7, 1), date(2026, 9, 30))


def config(**classes) -> Config:
    return Config.model_validate({
        "organization": "T", "period": {"quarter": "2026-Q3"}, "gcp": {"projects": ["p"], "credentials": "anonymous"},
        "policy": {"classifications": classes or {"restricted": {"encryption": "cmek"}, "internal": {}}}})


def instance(name="db", labels=None, **kw) -> SqlInstance:
    base = dict(resource=sql_resource("p", name), project="p", name=name, region="us-east1", database_version="POSTGRES_16",
                state="RUNNABLE", instance_type="CLOUD_SQL_INSTANCE", activation_policy="ALWAYS",
                labels=labels or {"data-classification": "internal"}, create_time=datetime(2025, 1, 1, tzinfo=UTC),
                backup_enabled=True, backup_start_time=time(3, 0, tzinfo=UTC), backup_location="us-west1",
                pitr_enabled=True, log_retention_days=7, retained_backups=7, backup_tier=None, kms_key=None, master=None,
                evidence=("e-i",), observed_at=datetime(2026, 9, 30, 2, tzinfo=UTC))
    base.update(kw)
    return SqlInstance(**base)


def ctx_for(facts, cfg=None) -> CheckContext:
    cfg = cfg or config()
    return CheckContext(config=cfg, period=Period.from_config(cfg.period), as_of=facts.as_of)


def parity(facts, cfg=None):
    found = backup_encryption_parity.evaluate(facts.view(backup_encryption_parity.CHECK.needs), ctx_for(facts, cfg))
    return {f.resource: f for f in found}


READ = [("sqladmin", "instances.list", "projects/p"), ("sqladmin", "backupRuns.list", "projects/p"),
        ("sqladmin", "Backups.list", "projects/p"), ("storage", "buckets.list", "projects/p")]


# --- (1) backupRuns.list failing with 500 for one project, through the simulator -------------------------

@pytest.fixture(scope="module")
def platform_runs(sample_dir, tmp_path_factory):
    """bks-platform collected twice: as the sample has it, and with backupRuns.list answering 500 every time."""
    from auditor.runner import collect, evaluate
    from auditor.simulator import Simulator, load_scenario
    from auditor.simulator.faults import Fault
    from testkit import fast_policy, freeze_clock

    base = load_config(sample_dir / "auditor.yaml")
    gcp = base.gcp.model_copy(update={"organization": None, "projects": ["bks-platform"], "monitoring_project": None})
    cfg = base.model_copy(update={"github": None, "gcp": gcp})
    scenario = load_scenario(sample_dir / "scenario.yaml")
    fault = Fault(kind="status", status=500, api="sqladmin", route="/v1/projects/{project}/instances/{instance}/backupRuns",
                  project="bks-platform")
    out = {}
    with fast_policy():
        for name, faults in (("clean", []), ("faulted", [fault])):
            with Simulator(scenario.model_copy(update={"faults": faults, "github": None}), port=0) as sim:
                freeze_clock(sim)
                collection = collect(cfg.with_endpoints(sim.url), tmp_path_factory.mktemp(name) / "evidence")
            out[name] = (collection, evaluate([collection.evidence_dir]))
    return out


def _parity_findings(results):
    (control,) = [c for c in results["controls"] if c["id"] == "backup-encryption-parity"]
    return {f["resource"]: f for f in control["findings"]}


def test_a_failed_backup_listing_never_passes_parity(platform_runs):
    clean, faulted = _parity_findings(platform_runs["clean"][1]), _parity_findings(platform_runs["faulted"][1])
    failed = [c for c in platform_runs["faulted"][0].failed_calls if c["method"] == "backupRuns.list"]
    assert failed and failed[0]["error"]["http_status"] == 500
    for name in ("ledger-pg", "orders-pg"):
        resource = sql_resource("bks-platform", name)
        assert clean[resource]["status"] == "fail"  # retained backups on a destroyed / disabled key version
        assert faulted[resource]["status"] == "inconclusive", faulted[resource]["message"]
        assert "retained backups could not be listed" in faulted[resource]["message"]
        assert "0 retained backups" not in faulted[resource]["message"]
        assert faulted[resource]["details"]["unverified"][0]["method"] == "backupRuns.list"
    clean_passing = {r for r, f in clean.items() if f["status"] == "pass"}
    assert {r for r, f in faulted.items() if f["status"] == "pass"} <= clean_passing


# --- (3) a configuration read after the period, carried back only over covered time ----------------------

def _timeline(read_at: datetime, covered: list[tuple[datetime, datetime]]) -> Timeline:
    return Timeline("//i", "backup_enabled", [Event(read_at, True, "observation", ("e-read",))], covered)


def test_a_read_after_the_period_says_nothing_about_days_no_query_covered():
    read_at = datetime(2026, 10, 20, tzinfo=UTC)
    period = PERIOD
    as_of = read_at.timestamp()
    uncovered = _timeline(read_at, [(datetime(2026, 6, 30, tzinfo=UTC), datetime(2026, 10, 2, tzinfo=UTC))])
    states = uncovered.day_states(period.day_stamps, period.days(), as_of, weak=False)
    assert set(states.values()) == {"unknown"}  # Oct 2 .. Oct 20 unlogged: a change there would be invisible
    covered = _timeline(read_at, [(datetime(2026, 6, 30, tzinfo=UTC), read_at)])
    assert set(covered.day_states(period.day_stamps, period.days(), as_of, weak=False).values()) == {"kept"}


def test_covered_spans_join_and_a_gap_between_them_is_unknown():
    read_at = datetime(2026, 9, 30, 2, tzinfo=UTC)
    spans = [(datetime(2026, 6, 30, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC)),
             (datetime(2026, 8, 3, tzinfo=UTC), read_at)]
    states = _timeline(read_at, spans).day_states(PERIOD.day_stamps, PERIOD.days(), read_at.timestamp(), weak=False)
    assert {d for d, s in states.items() if s == "unknown"} == {date(2026, 7, d) for d in range(1, 32)} | {
        date(2026, 8, 1), date(2026, 8, 2)}
    assert states[date(2026, 8, 3)] == "kept" and states[date(2026, 9, 30)] == "kept"
    timeline = _timeline(read_at, spans)
    (span,) = [s for s in timeline.spans() if s.basis == "logged"]
    assert span.start == datetime(2026, 8, 3, tzinfo=UTC) and span.evidence == ("e-read",)


def test_a_query_covers_what_its_call_record_says():
    manifest = {"as_of": "2026-11-20T09:00:05+00:00", "calls": [{"server_date": "2026-11-20T09:00:00+00:00"}]}
    call = {"params": {"filter": 'timestamp>="2026-06-30T00:00:00Z" AND (x AND timestamp<"2026-10-02T00:00:00Z")'},
            "covered": {"from": "2026-06-30T00:00:00Z", "to": "2026-11-20T09:00:00Z"}}
    assert query_span(call, manifest) == (datetime(2026, 6, 30, tzinfo=UTC), datetime(2026, 11, 20, 9, 0, 5, tzinfo=UTC))
    early = {**call, "covered": {"from": "2026-06-30T00:00:00Z", "to": "2026-10-02T00:00:00Z"}}
    assert query_span(early, manifest)[1] == datetime(2026, 10, 2, tzinfo=UTC)


def test_a_query_covers_up_to_its_run_not_past_it():
    manifest = {"as_of": "2026-10-20T06:00:00+00:00", "calls": [{"server_date": "2026-10-20T05:59:00+00:00"}]}
    late = {"params": {"filter": 'timestamp>="2026-06-30T00:00:00Z" AND timestamp<"2026-10-02T00:00:00Z"'},
            "server_date": "2026-10-20T06:00:00+00:00"}
    assert query_span(late, manifest) == (datetime(2026, 6, 30, tzinfo=UTC), datetime(2026, 10, 2, tzinfo=UTC))
    to_the_read = {"params": {"filter": 'timestamp>="2026-06-30T00:00:00Z" AND timestamp<"2026-10-20T05:59:30Z"'},
                   "server_date": "2026-10-20T06:00:00+00:00"}
    assert query_span(to_the_read, manifest)[1] == datetime(2026, 10, 20, 6, tzinfo=UTC)  # one snapshot with its reads
    planned = {"params": {"filter": 'timestamp>="2026-06-30T00:00:00Z" AND timestamp<"2026-10-20T05:58:00Z"'},
               "server_date": "2026-10-20T06:00:00+00:00"}  # the bound taken when the run was planned
    assert query_span(planned, manifest)[1] == datetime(2026, 10, 20, 6, tzinfo=UTC)


def test_backup_enabled_is_inconclusive_when_the_read_is_carried_over_unlogged_days():
    read_at = datetime(2026, 10, 20, tzinfo=UTC)
    facts = assemble(read_at, ["p"], items={"sql_instances": [instance(observed_at=read_at)],
                                            "log_coverage": [LogSpan("projects/p", datetime(2026, 6, 30, tzinfo=UTC),
                                                                     datetime(2026, 10, 2, tzinfo=UTC), "c-log")]},
                     answered=READ + [("logging", "entries.list", "projects/p")])
    (finding,) = backup_enabled.evaluate(facts.view(backup_enabled.CHECK.needs), ctx_for(facts))
    assert finding.status == "inconclusive" and len(finding.details["unknown_days"]) == 92


# --- (4) and (5): nothing to compare is never a pass --------------------------------------------------------

def _key_facts(inst, runs=(), versions=("ENABLED",)):
    return assemble(datetime(2026, 9, 30, 2, tzinfo=UTC), ["p"],
                    items={"sql_instances": [inst], "backup_runs": list(runs),
                           "kms_keys": [KmsKey(KEY, "us-east1", "ENCRYPT_DECRYPT", f"{KEY}/cryptoKeyVersions/1")],
                           "kms_key_versions": [KmsKeyVersion(f"{KEY}/cryptoKeyVersions/{n + 1}", KEY, s, None)
                                                for n, s in enumerate(versions)]},
                    answered=READ + [("cloudkms", "cryptoKeys.get", KEY), ("cloudkms", "cryptoKeyVersions.list", KEY)])


def test_cmek_without_encryption_status_or_backups_is_inconclusive():
    inst = instance(kms_key=KEY, kms_key_version=None, labels={"data-classification": "restricted"})
    finding = parity(_key_facts(inst))[inst.resource]
    assert finding.status == "inconclusive", finding.message
    assert "key version is not reported" in finding.message


def test_backups_disabled_with_nothing_retained_is_not_applicable_and_points_at_backup_enabled():
    inst = instance(backup_enabled=False)
    finding = parity(assemble(datetime(2026, 9, 30, 2, tzinfo=UTC), ["p"], items={"sql_instances": [inst]},
                              answered=READ))[inst.resource]
    assert finding.status == "not_applicable", finding.message
    assert finding.details["see"] == "backup-enabled" and "disabled" in finding.message


def test_backups_enabled_but_none_retained_is_inconclusive_not_a_pass():
    inst = instance()
    finding = parity(assemble(datetime(2026, 9, 30, 2, tzinfo=UTC), ["p"], items={"sql_instances": [inst]},
                              answered=READ))[inst.resource]
    assert finding.status == "inconclusive" and "nothing to compare" in finding.message


def test_backups_disabled_but_required_cmek_missing_still_fails_on_the_live_data():
    inst = instance(backup_enabled=False, labels={"data-classification": "restricted"})
    finding = parity(assemble(datetime(2026, 9, 30, 2, tzinfo=UTC), ["p"], items={"sql_instances": [inst]},
                              answered=READ))[inst.resource]
    assert finding.status == "fail"


# --- the facts a check may read -----------------------------------------------------------------------------

def test_every_check_needs_only_facts_that_exist():
    names = assemble(datetime(2026, 9, 30, tzinfo=UTC), ["p"]).names()
    assert set(FACTS) | set(DERIVED_FROM) | {"coverage"} == set(names)
    for check in BUILTIN:
        assert check.needs and set(check.needs) <= names, (check.id, set(check.needs) - names)


def test_a_check_reading_an_undeclared_fact_fails():
    def sneaky(facts, ctx):
        facts.sql_instances.at("projects/p")
        facts.backup_runs.at("projects/p")  # not in needs
        return []

    check = Check("sneaky", "t", ("CC9.1",), "c", "d", needs=("sql_instances",), evaluate=sneaky)
    facts = assemble(datetime(2026, 9, 30, tzinfo=UTC), ["p"], answered=READ)
    with pytest.raises(UndeclaredFact, match="backup_runs"):
        check.evaluate(facts.view(check.needs), ctx_for(facts))
    with pytest.raises(UndeclaredFact, match="do not exist"):
        facts.view(("backup_attempts",))


def test_the_runner_hands_each_check_only_its_declared_view(sample_pack, monkeypatch):
    """Re-performing the sample: every built-in check gets facts.view(its needs), and none reads past it."""
    from auditor.facts.model import Facts
    from auditor.runner import evaluate

    seen: list[frozenset] = []
    real_view = Facts.view

    def recording_view(self, needs):
        seen.append(frozenset(needs))
        return real_view(self, needs)

    monkeypatch.setattr(Facts, "view", recording_view)
    results = evaluate([sample_pack.out / "evidence"])
    assert sorted(seen, key=sorted) == sorted((frozenset(c.needs) for c in BUILTIN), key=sorted)
    assert {c["id"] for c in results["controls"]} == {c.id for c in BUILTIN}


def test_an_unknown_collection_cannot_be_iterated_or_counted():
    facts = assemble(datetime(2026, 9, 30, tzinfo=UTC), ["p"],
                     gaps=[CallGap("sqladmin", "backupRuns.list", "projects/p", "http", None, "boom", 500, "c-1")])
    with pytest.raises(TypeError):
        list(facts.backup_runs)
    with pytest.raises(TypeError):
        len(facts.backup_runs)
    read = facts.backup_runs.at("projects/p")
    assert isinstance(read, Unknown) and not hasattr(read, "items")
    assert isinstance(facts.backup_runs.of(sql_resource("p", "db")), Unknown)
    assert isinstance(facts.sql_instances.at("projects/p"), Unknown)  # never listed: not collected, not empty
    with pytest.raises(AttributeError):
        facts.backup_runs = None


# --- a 200 that says it is partial ---------------------------------------------------------------------------

class _Locker:
    """The little a build step reads from a locker: its manifest, pages and bodies."""

    def __init__(self, call, bodies):
        self.manifest = {"as_of": "2026-09-30T02:00:00+00:00", "calls": [call], "locker_id": "L",
                         "config": {"gcp": {"projects": ["p"]}}}
        self._bodies = bodies

    def pages(self, call):
        for n, _ in enumerate(self._bodies):
            yield f"i-{n}", {}, 200

    def body(self, item_id):
        return self._bodies[int(item_id.split("-")[1])]


@pytest.mark.parametrize("body", [
    b'{"items": [{"name": "db", "project": "p"}], "warnings": [{"code": "REGION_UNREACHABLE", "message": "us-east1"}]}',
    b'{"items": [{"name": "db", "project": "p"}], "unreachable": ["us-east1"]}',
])
def test_a_partial_answer_makes_its_scope_unknown(body):
    call = {"id": "c-1", "api": "sqladmin", "method": "instances.list", "params": {"project": "p"}, "scope": "projects/p",
            "outcome": "ok", "items": ["i-0"], "server_date": "2026-09-30T02:00:00+00:00"}
    build = Reading()
    build.read_call(_Locker(call, [body]), call, 0)
    read = build.builders["sql_instances"].freeze().at("projects/p")
    assert isinstance(read, Unknown) and read.first.kind == "partial"


def test_a_call_recorded_as_partial_makes_its_scope_unknown():
    call = {"id": "c-1", "api": "sqladmin", "method": "backupRuns.list", "params": {"project": "p"}, "scope": "projects/p",
            "outcome": "partial", "items": ["i-0"], "server_date": "2026-09-30T02:00:00+00:00",
            "error": {"kind": "partial", "message": "unreachable: us-east1"}}
    build = Reading()
    build.read_call(_Locker(call, [b'{"items": []}']), call, 0)
    assert isinstance(build.builders["backup_runs"].freeze().at("projects/p"), Unknown)
    assert not isinstance(build.builders["backup_runs"].freeze().at("projects/p"), Known)



def test_every_call_the_collectors_make_has_a_declared_source(sample_pack):
    """A new collector call without a source module would be read by nothing: this fails first."""
    from auditor.evidence.locker import Locker
    from auditor.facts.sources import REGISTRY

    calls = Locker(sample_pack.out / "evidence").manifest["calls"]
    missing = sorted({(c["api"], c["method"]) for c in calls if REGISTRY.source(c["api"], c["method"]) is None})
    assert calls and not missing


def test_each_source_declares_its_scope_permissions_and_cost():
    from auditor.facts.sources import SOURCES, permissions
    from auditor.permissions import PERMISSIONS_FREE

    for source in SOURCES:
        assert source.scope and source.fills and (source.read or source.read_call), source.key
        if source.api not in ("inventory", "git") and not source.legacy and source.key not in PERMISSIONS_FREE:
            assert source.permissions, source.key
        if source.api not in ("inventory", "git", "github") and not source.legacy:
            assert source.cost is not None, source.key
    assert permissions()["cloudsql.backupRuns.list"] == ("sqladmin backupRuns.list",)


def test_partial_marks_in_each_documented_form():
    from auditor.facts.access import partial_marks

    # Cloud SQL Admin instances.list: warnings[] of ApiWarning {code, message, region}
    assert partial_marks({"items": [], "warnings": [{"code": "REGION_UNREACHABLE", "message": "us-east1 unreachable",
                                                     "region": "us-east1"}]})
    # newer list APIs: unreachable[] locations
    assert partial_marks({"backupPlans": [], "unreachable": ["projects/p/locations/us-east1"]})
    # Compute aggregated lists: a per-scope warning; NO_RESULTS_ON_PAGE is an empty zone, not a gap
    marks = partial_marks({"items": {"zones/us-east1-b": {"warning": {"code": "UNREACHABLE", "message": "zone down"}},
                                     "zones/us-east1-c": {"warning": {"code": "NO_RESULTS_ON_PAGE"}}}})
    assert len(marks) == 1 and "zone down" in marks[0]
    assert partial_marks({"items": [{"name": "db"}]}) == [] and partial_marks({"unreachable": []}) == []
    assert partial_marks({"items": {"zones/a": {"warning": {"code": "NO_RESULTS_ON_PAGE"}}}}) == []


def test_a_plugin_check_needing_a_fact_that_does_not_exist_is_refused(monkeypatch):
    import auditor.checks_api as api
    from auditor.errors import ConfigError

    plugin = Check("plugin", "t", ("CC9.1",), "c", "d", needs=("backup_attempts",), evaluate=lambda f, c: [],
                   frequency="daily")

    class Entry:
        name = "plugin"

        def load(self):
            return plugin

    monkeypatch.setattr(api, "entry_points", lambda group: [Entry()])
    with pytest.raises(ConfigError, match="backup_attempts"):
        api.discover_checks()


def test_the_facts_package_has_no_import_cycles_and_no_private_imports():
    import ast
    from importlib import resources

    root = resources.files("auditor.facts")
    modules: dict[str, set[str]] = {}

    def walk(folder, prefix):
        for entry in folder.iterdir():
            if entry.name.endswith(".py"):
                name = prefix if entry.name == "__init__.py" else f"{prefix}.{entry.name[:-3]}"
                tree = ast.parse(entry.read_text())
                deps = set()
                for node in ast.walk(tree):
                    if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("auditor.facts"):
                        deps.add(node.module)
                        private = [a.name for a in node.names if a.name.startswith("_")]
                        assert not private, f"{name} imports private {private} from {node.module}"
                modules[name] = deps
            elif entry.is_dir() and (entry / "__init__.py").is_file():
                walk(entry, f"{prefix}.{entry.name}")

    walk(root, "auditor.facts")
    state: dict[str, int] = {}

    def visit(name, path):
        if state.get(name) == 1:
            raise AssertionError(f"import cycle: {' -> '.join(path + [name])}")
        if state.get(name) == 2 or name not in modules:
            return
        state[name] = 1
        for dep in modules[name]:
            visit(dep, path + [name])
        state[name] = 2

    for name in modules:
        visit(name, [])
    assert "auditor.facts.sources.backup_runs" in modules


VACANT = {
    "name": "vacant", "now": "2026-09-30T06:00:00Z", "history_start": "2026-06-25",
    "organization": {"id": "998", "display_name": "vacant.example"},
    "projects": [{"id": "vac-prod", "number": "444", "sql_instances": [
        # automated backups never switched on: no window, no retained backup
        {"name": "off-pg", "region": "us-east1", "database_version": "POSTGRES_16", "labels": {"data-classification": "internal"},
         "backup": {"enabled": False, "start_time": "03:00", "location": "us-west1"}},
        {"name": "on-pg", "region": "us-east1", "database_version": "POSTGRES_16", "labels": {"data-classification": "internal"},
         "backup": {"enabled": True, "start_time": "03:00", "location": "us-west1"}},
    ]}],
}


def test_backups_disabled_is_not_a_vacuous_parity_pass_through_the_simulator(tmp_path):
    import yaml

    from auditor.runner import collect, evaluate
    from auditor.simulator import Simulator
    from auditor.simulator.scenario import parse_scenario

    (tmp_path / "auditor.yaml").write_text(yaml.safe_dump({
        "organization": "Vacant Ltd", "period": {"quarter": "2026-Q3"},
        "gcp": {"projects": ["vac-prod"], "credentials": "anonymous"},
        "policy": {"country": "US", "classifications": {"internal": {"backup_interval": "24h", "retention_min_days": 7}}}}))
    cfg = load_config(tmp_path / "auditor.yaml").model_copy(update={"github": None})
    with Simulator(parse_scenario(VACANT), port=0) as sim:
        results = evaluate([collect(cfg.with_endpoints(sim.url), tmp_path / "evidence").evidence_dir])
    found = _parity_findings(results)
    off, on = found[sql_resource("vac-prod", "off-pg")], found[sql_resource("vac-prod", "on-pg")]
    assert off["status"] == "not_applicable" and off["details"]["see"] == "backup-enabled", off["message"]
    assert on["status"] == "pass" and on["observed"]["backups_checked"] > 0
    (enabled,) = [c for c in results["controls"] if c["id"] == "backup-enabled"]
    assert {f["resource"]: f["status"] for f in enabled["findings"]}[sql_resource("vac-prod", "off-pg")] == "fail"


def test_an_unread_data_map_makes_classification_unknown_not_the_label():
    """Issue 12 case 2, facts side: the configured map unread, a label must not stand in for the declaration."""
    inst = instance(labels={"data-classification": "internal"})  # internal allows Google-managed keys
    facts = assemble(datetime(2026, 9, 30, 2, tzinfo=UTC), ["p"], items={"sql_instances": [inst]}, answered=READ)
    cfg = config()
    unread = CheckContext(config=cfg, period=Period.from_config(cfg.period), as_of=facts.as_of,
                          inventory_problem="evidence item e-1 holds no inventory text")
    assert unread.classification_of(inst.labels, resource=inst.resource) == (None, None)
    found = {f.resource: f for f in backup_encryption_parity.evaluate(facts.view(backup_encryption_parity.CHECK.needs), unread)}
    assert found[inst.resource].status == "inconclusive"
    assert ctx_for(facts).classification_of(inst.labels, resource=inst.resource)[0] == "internal"  # no map configured


def test_a_store_whose_own_listing_failed_is_not_judged_as_a_store_of_its_own():
    from auditor.checks import inventory_classification
    from auditor.facts.stores import Asset

    replica = Asset(sql_resource("p", "db-replica"), "sqladmin.googleapis.com/Instance", "7", "us-east1",
                    {"data-classification": "internal"}, datetime(2025, 1, 1, tzinfo=UTC), "projects/p", ("e-a",))
    facts = assemble(datetime(2026, 9, 30, 2, tzinfo=UTC), ["p"], items={"assets": [replica]},
                     answered=[("cloudasset", "searchAllResources", "projects/p")], project_numbers={"7": "p"},
                     gaps=[CallGap("sqladmin", "instances.list", "projects/p", "permission_denied", "IAM_PERMISSION_DENIED",
                                   "no", 403, "c-1")])
    found = {f.resource: f for f in inventory_classification.evaluate(facts.view(inventory_classification.CHECK.needs),
                                                                      ctx_for(facts))}
    assert found[replica.resource].status == "inconclusive" and "replica" in found[replica.resource].message


def _collector_call_sites():
    """(file:line, api, method) of every `Call(...)` in auditor/collectors, read from the source (not from one run)."""
    import ast
    from pathlib import Path

    import auditor.collectors as collectors

    import importlib

    sites = []
    for path in sorted(Path(collectors.__file__).parent.glob("*.py")):
        module = importlib.import_module(f"auditor.collectors.{path.stem}") if path.stem != "__init__" else collectors

        def spelled(arg):  # a literal, or a module-level string constant (API = "backupdr", an imported method name)
            if isinstance(arg, ast.Constant):
                return arg.value
            value = getattr(module, arg.id, None) if isinstance(arg, ast.Name) else None
            return value if isinstance(value, str) else None

        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Call":
                api, method = (spelled(a) for a in node.args[:2])
                sites.append((f"{path.name}:{node.lineno}", api, method))
    return sites


def test_every_collector_call_site_names_a_declared_source_and_every_source_is_collected():
    """Each collector's `Call(api, method, ...)` is one declaration of auditor.facts.sources (a typo, or a call
    with no source module, would be read by nothing); and each current declaration has its collector call."""
    from auditor.facts.sources import SOURCES

    declared = {s.key: s for s in SOURCES if s.method != "*"}
    sites = _collector_call_sites()
    assert len(sites) >= 20
    dynamic = [site for site, api, method in sites if api is None or method is None]
    assert not dynamic, f"spell the api and method as literals or module constants (matched with a declaration): {dynamic}"
    undeclared = [(site, api, method) for site, api, method in sites if (api, method) not in declared]
    assert not undeclared, f"declare a Source for each in auditor/facts/sources: {undeclared}"
    assert not [site for site, api, method in sites if declared[(api, method)].legacy]
    called = {(api, method) for _site, api, method in sites}
    never = sorted(key for key, source in declared.items() if not source.legacy and key not in called)
    assert not never, f"declared but no collector calls it: {never}"


def test_the_github_token_owner_is_a_fact_of_its_own(sample_pack):
    """GET /user (read for the provenance) has its declaration like every other call: its read is Known, the owner's
    login or the status that said no user is behind the token."""
    from auditor.evidence.locker import Locker
    from auditor.facts import build_facts

    locker = Locker(sample_pack.out / "evidence")
    (call,) = [c for c in locker.manifest["calls"] if c["method"] == "users.get_authenticated"]
    read = build_facts([locker]).github_token_owner.at(call["scope"])
    assert read.known and len(read.items) == 1
    owner = read.items[0]
    assert (owner.login is not None and owner.status == 200) or (owner.login is None and owner.status in (401, 403))
