"""Daily collection that does not grow with the period: `--since` a previous locker (auditor.log_chain).

Seven daily lockers from the simulator, its clock frozen at 06:00 UTC on Sep 1..7 (one Cloud SQL
instance, backups at 03:00, two retained, nothing changes). Day 1 is collected plainly; each later day `--since` the
day before. Day 6's Logging query is refused (403), so its locker holds no log; day 7 continues day 6.
What each locker's query must cover, and what each merge must say, is written by hand below.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil

import orjson
import pytest
import yaml
from typer.testing import CliRunner

from auditor.cli import app
from auditor.config import Config
from auditor.errors import EvidenceError, TamperedError
from auditor.evidence.locker import Locker
from auditor.runner import collect, evaluate
from auditor.simulator import Simulator
from auditor.simulator.faults import Fault
from auditor.simulator.scenario import parse_scenario
from testkit import days_between, fast_policy, freeze_clock

UTC = dt.timezone.utc
PROJECT = "chain-prod"
PG = f"//cloudsql.googleapis.com/projects/{PROJECT}/instances/pg"
SCENARIO = {
    "name": "log-chain", "now": "2026-09-01T06:00:00Z", "history_start": "2026-08-25",
    "organization": {"id": "78", "display_name": "logchain.example"},
    "projects": [{"id": PROJECT, "number": "778", "sql_instances": [
        {"name": "pg", "region": "us-east1", "database_version": "POSTGRES_16", "labels": {"data-classification": "internal"},
         "backup": {"enabled": True, "start_time": "03:00", "location": "us-west1", "retained_backups": 2}}]}],
}
CONFIG = {"organization": "Log Chain Ltd", "period": {"start": "2026-09-01", "end": "2026-09-30"},
          "gcp": {"projects": [PROJECT], "credentials": "anonymous"},
          "policy": {"country": "US", "classifications": {"internal": {"backup_interval": "24h", "retention_min_days": 1}}}}
DENIED = Fault(kind="status", api="logging", status=403, reason="IAM_PERMISSION_DENIED", message="no logging.logEntries.list")


def at(day: int) -> dt.datetime:
    return dt.datetime(2026, 9, day, 6, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """(root, simulator, config, {day: evidence folder}) for days 1..7."""
    root = tmp_path_factory.mktemp("logchain")
    with Simulator(parse_scenario(SCENARIO), port=0) as sim, fast_policy():
        freeze_clock(sim)
        config = Config.model_validate(CONFIG).with_endpoints(sim.url)
        days: dict[int, object] = {}
        for day in range(1, 8):
            sim.set_clock(at(day))
            if day == 6:
                sim.faults.add(DENIED)
            days[day] = collect(config, root / f"day-{day}" / "evidence", since=days.get(day - 1)).evidence_dir
            sim.faults.clear()
        yield root, sim, config, days


def _log_call(folder):
    (call,) = list(Locker(folder).calls("logging", "entries.list"))
    return call


def _entries(folder):
    locker = Locker(folder)
    call = _log_call(folder)
    return [e for item in call["items"] for e in orjson.loads(locker.body(item)).get("entries", [])]


def _finding(results, check, resource=PG):
    (control,) = [c for c in results["controls"] if c["id"] == check]
    return {f["resource"]: f for f in control["findings"]}[resource]


def test_each_days_query_starts_where_the_previous_lockers_coverage_ended(world):
    _root, _sim, _config, days = world
    assert _log_call(days[1])["covered"] == {"from": "2026-08-31T00:00:00Z", "to": "2026-09-01T06:00:00Z"}  # period start less a day
    # day 2 from day 1's read (06:00) less the hour's overlap, to its own read
    assert _log_call(days[2])["covered"] == {"from": "2026-09-01T05:00:00Z", "to": "2026-09-02T06:00:00Z"}
    assert 'timestamp>="2026-09-01T05:00:00Z"' in _log_call(days[2])["params"]["filter"]
    assert _log_call(days[5])["covered"] == {"from": "2026-09-04T05:00:00Z", "to": "2026-09-05T06:00:00Z"}


def test_the_manifest_records_the_locker_it_chains_to_and_where_each_query_started(world):
    _root, _sim, _config, days = world
    previous = Locker(days[3]).manifest["previous"]
    day2 = days[2] / "manifest.json"
    assert previous["manifest_sha256"] == hashlib.sha256(day2.read_bytes()).hexdigest()
    assert previous["locker_id"] == json.loads(day2.read_text())["locker_id"]
    assert previous["found"] == "--since"
    assert previous["log_from"] == {f"projects/{PROJECT}": "2026-09-02T05:00:00Z"}
    assert Locker(days[1]).manifest["previous"] is None  # the first of its chain


def test_a_daily_lockers_log_does_not_grow_with_the_period(world):
    _root, _sim, _config, days = world
    windows = {day: sorted(e["protoPayload"]["metadata"]["windowStartTime"] for e in _entries(days[day])) for day in (2, 3, 4, 5)}
    # each holds only its own day's backup window: Sep 2 .. Sep 5, 03:00
    assert windows == {day: [f"2026-09-0{day}T03:00:00.000Z"] for day in (2, 3, 4, 5)}


def test_the_chained_lockers_together_cover_every_day(world):
    _root, _sim, _config, days = world
    results = evaluate([days[d] for d in range(1, 6)])
    frequency = _finding(results, "backup-frequency")
    assert frequency["status"] == "pass", frequency["message"]
    assert {d: s for d, s in frequency["details"]["days"].items() if s != "not_due"} == {
        d: "kept" for d in days_between("2026-09-01", "2026-09-05")}
    enabled = _finding(results, "backup-enabled")
    assert enabled["status"] == "pass", enabled["message"]
    assert enabled["details"]["unknown_days"] == []


def test_one_chained_locker_alone_leaves_the_days_before_its_query_unknown_and_names_the_break(world):
    _root, _sim, _config, days = world
    results = evaluate([days[5]])
    frequency = _finding(results, "backup-frequency")
    # never "missed": no query of this locker covers the windows of Sep 1..4 (Sep 4's opened 03:00, before 05:00);
    # the two retained backup runs (Sep 4 and 5) prove those days' successes
    assert frequency["status"] == "inconclusive"
    assert frequency["details"]["missed_days"] == []
    assert frequency["details"]["unknown_days"] == days_between("2026-09-01", "2026-09-03")
    assert frequency["details"]["days"]["2026-09-04"] == frequency["details"]["days"]["2026-09-05"] == "kept"
    assert f"no complete audit-log query of projects/{PROJECT} covers 2026-09-01 00:00 .. 2026-09-04 05:00 UTC" \
        in frequency["message"]
    enabled = _finding(results, "backup-enabled")
    assert enabled["status"] == "inconclusive"
    assert enabled["details"]["unknown_days"] == days_between("2026-09-01", "2026-09-03")  # Sep 4: its retained run
    assert "2026-09-01 00:00 .. 2026-09-04 05:00 UTC" in enabled["message"]


def test_a_refused_query_is_a_break_named_until_the_next_locker_reads_it_again(world):
    _root, _sim, _config, days = world
    assert _log_call(days[6])["outcome"] == "error"
    through_six = evaluate([days[d] for d in range(1, 7)])
    refused = _finding(through_six, "backup-frequency", f"//cloudresourcemanager.googleapis.com/projects/{PROJECT}")
    assert refused["status"] == "inconclusive"  # the newest query of the project was refused: named
    assert f"logging entries.list for projects/{PROJECT}: permission was denied" in refused["message"]
    retention = _finding(through_six, "backup-retention")
    # Sep 6's read at 06:00 is not joined to Sep 5's (the log between them was not read): Sep 6 is unknown
    assert retention["status"] == "inconclusive", retention["message"]
    assert retention["details"]["unknown_days"] == ["2026-09-06"]
    assert "2026-09-05 06:00 .. 2026-09-06 06:00 UTC" in retention["message"]
    # day 7 continues day 6, whose query failed: it reads again from where day 6's started
    assert _log_call(days[7])["covered"] == {"from": "2026-09-05T05:00:00Z", "to": "2026-09-07T06:00:00Z"}
    assert Locker(days[7]).manifest["previous"]["log_from"] == {f"projects/{PROJECT}": "2026-09-05T05:00:00Z"}
    healed = evaluate([days[d] for d in range(1, 8)])
    assert _finding(healed, "backup-retention")["details"]["unknown_days"] == []
    frequency = _finding(healed, "backup-frequency")
    assert frequency["status"] == "pass", frequency["message"]
    assert frequency["details"]["days"]["2026-09-06"] == "kept"


def test_a_locker_missing_from_the_merge_is_a_named_break(world):
    """Day 4 left out (`check` refuses such a chain before evaluating; the library merge shows what it costs):
    day 5's query starts at Sep 4 05:00, day 3's ended at its read, Sep 3 06:00."""
    _root, _sim, _config, days = world
    results = evaluate([days[1], days[2], days[3], days[5]])
    retention = _finding(results, "backup-retention")
    assert retention["status"] == "inconclusive"
    # Sep 3 has its own read (06:00); Sep 4 has none, and its first five hours lie in the break; Sep 5 ends at the
    # evidence's as-of, its read's moment (06:00): day 5's complete query covers Sep 4 05:00 .. Sep 5 06:00, so that
    # read holds back over all of Sep 5 (auditor.facts.timeline: a read is carried back over a complete query that
    # reaches it, whichever event it is). Only Sep 4 is unknown.
    assert retention["details"]["unknown_days"] == ["2026-09-04"]
    assert "2026-09-03 06:00 .. 2026-09-04 05:00 UTC" in retention["message"]


def _copy(folder, to):
    shutil.copytree(folder, to)
    return to


def test_a_previous_locker_that_does_not_verify_is_an_error_naming_it(world, tmp_path):
    root, _sim, config, days = world
    altered = _copy(days[2], tmp_path / "altered")
    item = next((altered / "items").iterdir())
    item.write_bytes(item.read_bytes() + b" ")
    with pytest.raises(TamperedError, match="does not verify") as caught:
        collect(config, tmp_path / "next" / "evidence", since=altered)
    assert str(altered) in str(caught.value)
    assert not (tmp_path / "next" / "evidence" / "manifest.json").exists()  # nothing collected from it
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(config.model_dump(mode="json", exclude={"source"})))
    result = CliRunner().invoke(app, ["collect", "--config", str(tmp_path / "cfg.yaml"), "--out", str(tmp_path / "cli"),
                                      "--since", str(altered)])
    assert result.exit_code == 1, result.output  # tampering
    assert "does not verify" in result.output and "altered" in result.output


def test_the_cli_collects_since_a_previous_locker(world, tmp_path):
    _root, sim, config, days = world
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(config.model_dump(mode="json", exclude={"source"})))
    sim.set_clock(at(8))
    result = CliRunner().invoke(app, ["collect", "--config", str(tmp_path / "cfg.yaml"), "--out", str(tmp_path / "day-8"),
                                      "--since", str(days[7])])
    assert result.exit_code == 0, result.output
    day8 = tmp_path / "day-8" / "evidence"
    assert Locker(day8).manifest["previous"]["log_from"] == {f"projects/{PROJECT}": "2026-09-07T05:00:00Z"}
    assert _log_call(day8)["covered"] == {"from": "2026-09-07T05:00:00Z", "to": "2026-09-08T06:00:00Z"}


def test_a_pack_whose_sums_no_longer_match_its_locker_is_refused(world, tmp_path):
    _root, _sim, config, days = world
    pack = tmp_path / "pack"
    _copy(days[2], pack / "evidence")
    (pack / "SHA256SUMS").write_text(f"{'0' * 64}  evidence/manifest.json\n")
    with pytest.raises(TamperedError, match="SHA256SUMS"):
        collect(config, tmp_path / "next" / "evidence", since=pack)
    digest = hashlib.sha256((pack / "evidence" / "manifest.json").read_bytes()).hexdigest()
    (pack / "SHA256SUMS").write_text(f"{digest}  evidence/manifest.json\n")
    from auditor.log_chain import continue_from

    assert continue_from(pack, config.organization).link["manifest_sha256"] == digest  # a pack folder is accepted


def test_a_locker_of_another_organisation_or_no_locker_is_refused(world, tmp_path):
    _root, _sim, config, days = world
    from auditor.log_chain import continue_from

    other = _copy(days[2], tmp_path / "other")
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["config"]["organization"] = "Someone Else"
    (other / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(EvidenceError, match="organisation 'Someone Else'"):
        continue_from(other, config.organization)
    with pytest.raises(EvidenceError, match="nothing-here"):
        continue_from(tmp_path / "nothing-here", config.organization)


# -- A quarter of daily lockers, each --since the day before (`make type2`: TYPE2_DAILY=full) -------------

@pytest.fixture(scope="module")
def quarter_chain(tmp_path_factory):
    """test_type2_retention's scenario, one locker a day at 06:00 Jul 1 .. Sep 30, each continuing the day before
    (about 70 s on 2 cores), merged; and the log entries each locker holds."""
    import os

    if os.environ.get("TYPE2_DAILY") != "full":
        pytest.skip("92 chained daily lockers take about 70 s; run with `make type2` (TYPE2_DAILY=full)")
    from test_type2_retention import CONFIG as RETENTION_CONFIG, SCENARIO as RETENTION_SCENARIO
    from testkit import scenario_setup

    from auditor.simulator.quota import Quota

    root, scenario, config = scenario_setup(tmp_path_factory.mktemp("quarter-chain"), RETENTION_CONFIG, RETENTION_SCENARIO)
    dirs, day = [], dt.date(2026, 7, 1)
    # no Logging read quota: 92 "days" collected within a minute or two would exhaust a quota meant per real minute
    # (a refused query is its own named break: test_a_refused_query_is_a_break_named_until_the_next_locker_reads_it_again)
    with Simulator(scenario, port=0, quota=Quota(limits=[])) as sim:
        freeze_clock(sim)
        while day <= dt.date(2026, 9, 30):
            sim.set_clock(dt.datetime(day.year, day.month, day.day, 6, 0, tzinfo=UTC))
            dirs.append(collect(config.with_endpoints(sim.url), root / f"daily-{day}" / "evidence",
                                since=dirs[-1] if dirs else None).evidence_dir)
            day += dt.timedelta(days=1)
    return dirs, evaluate(dirs)


def test_a_quarter_of_chained_lockers_shows_the_cut_on_exactly_its_days(quarter_chain):
    dirs, results = quarter_chain
    logged, unlogged = (f"//cloudsql.googleapis.com/projects/ret-prod/instances/{n}" for n in ("logged-pg", "unlogged-pg"))
    for resource in (logged, unlogged):
        finding = _finding(results, "backup-retention", resource)
        # as tests/test_type2_retention.py's unchained daily lockers: Aug 10 (09:00) .. Sep 5 (09:00), nothing unknown
        assert finding["details"]["exception_days"] == days_between("2026-08-10", "2026-09-05"), resource
        assert finding["details"]["unknown_days"] == [], resource
    moved = _finding(results, "backup-cross-region", "//cloudsql.googleapis.com/projects/ret-prod/instances/moved-pg")
    assert moved["details"]["exception_days"] == days_between("2026-08-15", "2026-08-25")
    assert moved["details"]["unknown_days"] == []


def test_a_quarter_of_chained_lockers_each_reads_one_day_of_log(quarter_chain):
    dirs, _results = quarter_chain
    for folder in dirs[1:]:
        covered = _log_call(folder)["covered"]
        start, end = (dt.datetime.fromisoformat(covered[k].replace("Z", "+00:00")) for k in ("from", "to"))
        assert end - start == dt.timedelta(hours=25), folder  # a day and the hour's overlap, whatever the date
        # three instances, one automated-backup window a day each, and at most the day's updates
        assert len(_entries(folder)) <= 3 + 2, folder


def test_a_keys_own_history_query_continues_the_chain_too():
    """The per-key Cloud KMS query (auditor.collectors.kms) starts where the previous locker's query of that key
    ended, like the project's; a key the previous locker never read starts at the period's start less a day."""
    from types import SimpleNamespace

    from auditor.collectors.kms import key_history_call
    from auditor.log_chain import LogChain

    key = "projects/p/locations/us-east1/keyRings/r/cryptoKeys/k"
    other = "projects/p/locations/us-east1/keyRings/r/cryptoKeys/other"
    period = SimpleNamespace(starts_at=dt.datetime(2026, 7, 1, tzinfo=dt.timezone.utc))
    chain = LogChain({"locker_id": "x"}, {key: dt.datetime(2026, 9, 3, 5, tzinfo=dt.timezone.utc)})
    ctx = SimpleNamespace(google=None, period=period, log_chain=chain)
    assert 'timestamp>="2026-09-03T05:00:00Z"' in key_history_call(ctx, key).params["filter"]
    assert 'timestamp>="2026-06-30T00:00:00Z"' in key_history_call(ctx, other).params["filter"]
    assert 'timestamp>="2026-06-30T00:00:00Z"' in key_history_call(SimpleNamespace(google=None, period=period), key).params["filter"]
