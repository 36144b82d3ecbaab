"""Daily lockers chained day to day, and the quarter's merge that checks the chain.

Five daily lockers are collected from the simulator with its clock set to each day in turn, each into
its own folder of one evidence root (`root/day-N/evidence`), so each finds the one before it the way
a daily job's does. The breaks are made the way they happen: a folder deleted, a day collected again
later, a manifest edited. What each break must be called is written by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest
from typer.testing import CliRunner

from auditor.chain import check_chain, read_head
from auditor.cli import app
from auditor.config import Config
from auditor.evidence.locker import LockerWriter
from auditor.runner import collect
from auditor.simulator import Simulator
from auditor.simulator.scenario import parse_scenario

UTC = dt.timezone.utc
SCENARIO = {
    "name": "chain", "now": "2026-09-05T06:00:00Z", "history_start": "2026-08-25",
    "organization": {"id": "77", "display_name": "chain.example"},
    "projects": [{"id": "chain-prod", "number": "777", "sql_instances": [
        {"name": "pg", "region": "us-east1", "database_version": "POSTGRES_16", "labels": {"data-classification": "internal"},
         "backup": {"enabled": True, "start_time": "03:00", "location": "us-west1"}}]}],
}
CONFIG = {"organization": "Chain Ltd", "period": {"start": "2026-09-01", "end": "2026-09-30"},
          "gcp": {"projects": ["chain-prod"], "credentials": "anonymous"},
          "policy": {"country": "US", "classifications": {"internal": {"backup_interval": "24h", "retention_min_days": 7}}}}


def at(day: int) -> dt.datetime:
    return dt.datetime(2026, 9, day, 6, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """(root, simulator, config, [day-1 .. day-5 evidence folders])."""
    root = tmp_path_factory.mktemp("chain")
    config = Config.model_validate(CONFIG)
    with Simulator(parse_scenario(SCENARIO), port=0, now=at(1)) as sim:
        config = config.with_endpoints(sim.url)
        days = []
        for day in range(1, 6):
            sim.set_clock(at(day))
            days.append(collect(config, root / f"day-{day}" / "evidence").evidence_dir)
        yield root, sim, config, days


def test_each_daily_locker_records_the_one_before_it(world):
    _root, _sim, _config, days = world
    heads = [read_head(d) for d in days]
    assert heads[0].previous is None  # the first of its chain
    for before, after in zip(heads, heads[1:]):
        assert after.previous == {"locker_id": before.locker_id, "manifest_sha256": before.sha256,
                                  "as_of": before.as_of, "found": "evidence root"}


def test_a_quarter_merged_from_daily_lockers_checks_an_unbroken_chain(world, tmp_path):
    _root, _sim, _config, days = world
    assert check_chain(days).unbroken
    args = ["check", "--out", str(tmp_path / "q")] + [a for d in days for a in ("--evidence", str(d))]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "chain: 5 lockers, unbroken" in result.output
    assert (tmp_path / "q" / "results.json").is_file()


def test_a_locker_removed_from_the_middle_is_named(world, tmp_path):
    _root, _sim, _config, days = world
    kept = days[:2] + days[3:]  # day 3's folder deleted
    args = ["check", "--out", str(tmp_path / "q")] + [a for d in kept for a in ("--evidence", str(d))]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    day2, day3, day4 = (read_head(d) for d in days[1:4])
    assert f"gap: {day4.locker_id}" in result.output
    assert f"continues {day3.locker_id}" in result.output
    assert f"a locker is missing between {day2.locker_id}" in result.output
    assert not (tmp_path / "q" / "results.json").exists()  # nothing evaluated from a broken chain


def test_a_locker_re_made_later_is_named(world, tmp_path):
    root, sim, config, days = world
    sim.set_clock(at(9))  # day 3 collected again on day 9, continuing day 2, and put in day 3's place
    remade = collect(config, tmp_path / "remade" / "evidence", since=days[1]).evidence_dir
    sim.set_clock(at(5))
    merged = days[:2] + [remade] + days[3:]
    report = check_chain(merged)
    text = "\n".join(report.breaks)
    day2, day3, day4, day5 = (read_head(d) for d in days[1:])
    again = read_head(remade)
    assert f"gap: {day4.locker_id}" in text and f"continues {day3.locker_id}" in text  # day 4 continues the original
    assert f"out of order: {again.locker_id}" in text and f"continues {day2.locker_id}" in text
    assert f"not {day5.locker_id}" in text


def test_a_locker_re_made_for_its_own_day_is_named(world, tmp_path):
    root, sim, config, days = world
    sim.set_clock(at(3))  # the same day's clock (a forger's simulator can fake it): same as_of, other digest
    remade = collect(config, tmp_path / "remade" / "evidence", since=days[1]).evidence_dir
    sim.set_clock(at(5))
    report = check_chain(days[:2] + [remade] + days[3:])
    day4 = read_head(days[3])
    assert len(report.breaks) == 1, report.breaks
    assert report.breaks[0].startswith(f"re-made: {day4.locker_id}")
    assert read_head(remade).locker_id in report.breaks[0]


def test_an_edited_manifest_in_the_middle_is_named(world, tmp_path):
    _root, _sim, _config, days = world
    copies = []
    for n, day in enumerate(days):
        shutil.copytree(day, tmp_path / f"d{n}")
        copies.append(tmp_path / f"d{n}")
    manifest = json.loads((copies[2] / "manifest.json").read_text())
    manifest["identity"]["gcp"] = "someone-else"
    (copies[2] / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    report = check_chain(copies)
    assert len(report.breaks) == 1 and report.breaks[0].startswith(f"re-made: {read_head(copies[3]).locker_id}")


def test_two_lockers_continuing_one_are_a_fork(world, tmp_path):
    _root, _sim, _config, days = world
    head = read_head(days[0])
    writer = LockerWriter(tmp_path / "fork", config_snapshot={"organization": "Chain Ltd"}, identity={},
                          previous={"locker_id": head.locker_id, "manifest_sha256": head.sha256, "as_of": head.as_of, "found": "--since"})
    writer.begin_call("sqladmin", "instances.list", {}, "p").page("u", 200, b"{}", "Fri, 04 Sep 2026 07:00:00 GMT")
    writer.close()
    report = check_chain(days + [tmp_path / "fork"])
    assert any(b.startswith(f"fork: {head.locker_id}") for b in report.breaks), report.breaks


def test_an_unchained_locker_in_the_middle_is_named(world, tmp_path):
    _root, _sim, _config, days = world
    copies = []
    for n, day in enumerate(days):
        shutil.copytree(day, tmp_path / f"d{n}")
        copies.append(tmp_path / f"d{n}")
    manifest = json.loads((copies[3] / "manifest.json").read_text())
    del manifest["previous"]  # as a locker made before chaining
    (copies[3] / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    report = check_chain(copies)
    assert any(b.startswith("unchained:") for b in report.breaks)


def test_since_must_be_a_locker(world, tmp_path):
    root, _sim, _config, _days = world
    result = CliRunner().invoke(app, ["collect", "--config", str(root / "nope.yaml"), "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    (tmp_path / "cfg.yaml").write_text(json.dumps(CONFIG))
    result = CliRunner().invoke(app, ["collect", "--config", str(tmp_path / "cfg.yaml"), "--out", str(tmp_path / "x"),
                                      "--since", str(tmp_path / "not-a-locker")])
    assert result.exit_code == 2 and "not-a-locker" in result.output


def test_the_daily_job_signs_each_pack_and_chains_it_to_the_day_before(tmp_path):
    """`auditor run --sign-key` two days running, as a daily job does: both packs verify with the public
    key, and the second day's locker continues the first's, found beside it."""
    import yaml

    from auditor.signing import load_public_key
    from auditor.verify import verify_pack

    assert CliRunner().invoke(app, ["keygen", "--out", str(tmp_path / "key")]).exit_code == 0
    with Simulator(parse_scenario(SCENARIO), port=0, now=at(1)) as sim:
        config = {**CONFIG, "gcp": {**CONFIG["gcp"], "endpoints": {"sqladmin": sim.url, "logging": sim.url,
                                                                   "cloudkms": sim.url, "monitoring": sim.url,
                                                                   "storage": sim.url, "cloudasset": sim.url}}}
        (tmp_path / "auditor.yaml").write_text(yaml.safe_dump(config))
        for day in (1, 2):
            sim.set_clock(at(day))
            result = CliRunner().invoke(app, ["run", "--config", str(tmp_path / "auditor.yaml"), "--out",
                                              str(tmp_path / "packs" / f"day-{day}"), "--sign-key", str(tmp_path / "key")])
            assert result.exit_code in (0, 3), result.output
            assert "signed:" in result.output
    public = load_public_key(tmp_path / "key.pub")
    for day in (1, 2):
        outcome = verify_pack(tmp_path / "packs" / f"day-{day}", public)
        assert outcome.intact, outcome.lines()
    first = read_head(tmp_path / "packs" / "day-1")
    assert read_head(tmp_path / "packs" / "day-2").previous["manifest_sha256"] == first.sha256


def test_a_locker_given_twice_is_named(world):
    _root, _sim, _config, days = world
    report = check_chain(days + [days[2]])
    assert any(b.startswith("given twice:") for b in report.breaks)
