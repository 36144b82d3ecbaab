"""Encryption parity against the requirement in force each day (branch enc2, issue 13).

The classification's `encryption` comes from each day's stored configuration (the newest locker made by that
day: checks.days.by_config), not from the newest configuration. The lockers below are collected from the
simulator at 06:00 UTC; their configuration says `internal: encryption: any` until Sep 10 and
`encryption: cmek` from the locker of Sep 11 on.

- `plain-gm` (internal, Google-managed keys: no diskEncryptionConfiguration; an instance's key is chosen at
  creation, so the newest read says what it was all along): under `any` each day is kept; under `cmek` each day
  is an exception. Expected: Jul 1 .. Sep 10 kept (the days before the first locker take the first locker's
  configuration), Sep 11 .. Sep 30 broken (20 days; the clock is 06:00 on Sep 30, so Sep 30 is judged).
- `vaulted-pg` (internal, Google-managed live data, backupTier ENHANCED: its backups are Backup and DR's, in a
  vault without a customer-managed key): the same days as `plain-gm`, on the Backup and DR route.
- `keyed-pg` (internal, CMEK key `steady`, one ENABLED version, no key history): CMEK meets either
  requirement, so the switch changes no day: every day kept; the finding still names the change.

Every expected day below is written by hand from those facts.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
import yaml
from testkit import days_between

from auditor.config import load_config
from auditor.runner import collect, evaluate
from auditor.simulator import Simulator
from auditor.simulator.scenario import parse_scenario

UTC = dt.timezone.utc
PLAIN = "//cloudsql.googleapis.com/projects/cfg-prod/instances/plain-gm"
KEYED = "//cloudsql.googleapis.com/projects/cfg-prod/instances/keyed-pg"
SWITCHED = dt.date(2026, 9, 11)
KEY_NAME = "policy.classifications.internal.encryption"
STEADY = "projects/cfg-prod/locations/us-east1/keyRings/sql/cryptoKeys/steady"
VAULTED = "//cloudsql.googleapis.com/projects/cfg-prod/instances/vaulted-pg"


def _instance(name, **more):
    return {"name": name, "region": "us-east1", "database_version": "POSTGRES_16",
            "labels": {"data-classification": "internal"},
            "backup": {"enabled": True, "start_time": "03:00", "location": "us-west1", "retained_backups": 7}, **more}


SCENARIO = {
    "name": "encryption-config", "now": "2026-09-30T06:00:00Z", "history_start": "2026-06-25",
    "organization": {"id": "998", "display_name": "config.example"},
    "projects": [{
        "id": "cfg-prod", "number": "336",
        "kms_keys": [{"key_ring": "sql", "name": "steady", "location": "us-east1", "versions": ["ENABLED"]}],
        # a vault without a customer-managed key: its Backup and DR backups carry no kmsKeyVersions
        "backup_vaults": [{"id": "plain-vault", "location": "us-west1", "min_retention_days": 30}],
        "backup_plans": [{"id": "sql-daily", "location": "us-west1", "vault": "plain-vault", "log_retention_days": 7,
                          "rules": [{"id": "daily", "recurrence": "DAILY", "window_start_hour": 2, "window_end_hour": 6,
                                     "retention_days": 100}]}],
        "sql_instances": [_instance("plain-gm"),
                          _instance("keyed-pg", kms_key=STEADY),
                          {**_instance("vaulted-pg"),
                           "backup": {"enabled": True, "start_time": "03:00", "location": "us-west1", "retained_backups": 7,
                                      "tier": "ENHANCED"},
                           "backupdr": {"plan": "projects/cfg-prod/locations/us-west1/backupPlans/sql-daily"}}],
    }],
}


def _config(root, encryption):
    folder = root / f"config-{encryption}"
    folder.mkdir(exist_ok=True)
    (folder / "auditor.yaml").write_text(yaml.safe_dump({
        "organization": "Config Ltd", "period": {"quarter": "2026-Q3"},
        "gcp": {"projects": ["cfg-prod"], "credentials": "anonymous"},
        "policy": {"country": "US", "classifications": {"internal": {"backup_interval": "24h", "retention_min_days": 7,
                                                                     "encryption": encryption}}},
    }))
    return load_config(folder / "auditor.yaml").model_copy(update={"github": None})


def _collect_on(days, root):
    """One locker a day at 06:00 UTC; from Sep 11 each locker's configuration requires CMEK."""
    loose, strict = _config(root, "any"), _config(root, "cmek")
    dirs, ids = [], {}
    with Simulator(parse_scenario(SCENARIO), port=0, now=dt.datetime.combine(days[0], dt.time(6), tzinfo=UTC)) as sim:
        for day in days:
            sim.set_clock(dt.datetime.combine(day, dt.time(6), tzinfo=UTC))
            config = (strict if day >= SWITCHED else loose).with_endpoints(sim.url)
            run = collect(config, root / f"daily-{day}" / "evidence")
            dirs.append(run.evidence_dir)
            ids[day.isoformat()] = run.manifest["locker_id"]
    return evaluate(dirs), ids


def _encryption(results):
    (control,) = [c for c in results["controls"] if c["id"] == "backup-encryption-parity"]
    return {f["resource"]: f for f in control["findings"]}


@pytest.fixture(scope="module")
def few(tmp_path_factory):
    """Three lockers: Aug 12 (any), Sep 11 (the first cmek one), Sep 30 (cmek)."""
    return _collect_on([dt.date(2026, 8, 12), SWITCHED, dt.date(2026, 9, 30)], tmp_path_factory.mktemp("enc-config-few"))


@pytest.fixture(scope="module")
def daily(tmp_path_factory):
    if os.environ.get("TYPE2_DAILY") != "full":
        pytest.skip("92 daily lockers take about a minute; run with `make type2` (TYPE2_DAILY=full)")
    days = [dt.date(2026, 7, 1) + dt.timedelta(days=n) for n in range(92)]
    return _collect_on(days, tmp_path_factory.mktemp("enc-config-daily"))


EXCEPTIONS = days_between("2026-09-11", "2026-09-30")


def _assert_switch(results, ids):
    for resource in (PLAIN, VAULTED):
        _assert_switched(_encryption(results)[resource], ids)
    keyed = _encryption(results)[KEYED]
    assert keyed["status"] == "pass", keyed["message"]
    assert set(keyed["details"]["days"].values()) == {"kept"} and len(keyed["details"]["days"]) == 92
    # CMEK meets both; the finding still says which requirement each day was held to
    assert [t["expected"]["encryption"] for t in keyed["details"]["thresholds"]] == ["any", "cmek"]
    assert f"{KEY_NAME} was any until 2026-09-10" in keyed["message"]


def _assert_switched(plain, ids):
    assert plain["status"] == "fail", plain["message"]
    assert plain["details"]["exception_days"] == EXCEPTIONS
    assert plain["details"]["unknown_days"] == []
    assert {d: s for d, s in plain["details"]["days"].items() if d < "2026-09-11"} == {
        d: "kept" for d in days_between("2026-07-01", "2026-09-10")}
    assert [(t["from"], t["locker"], t["expected"]["encryption"]) for t in plain["details"]["thresholds"]] == [
        ("2026-07-01", ids[min(ids)], "any"),  # the first locker's configuration stands for the days before it
        ("2026-09-11", ids["2026-09-11"], "cmek")]
    assert plain["details"]["thresholds"][1]["config_keys"] == {"encryption": KEY_NAME}
    message = plain["message"]
    assert f"{KEY_NAME} was any until 2026-09-10, cmek from 2026-09-11 (the configuration stored in locker " \
           f"{ids['2026-09-11']})" in message
    assert "required on 20 days, 2026-09-11..2026-09-30" in message


def test_a_few_lockers_judge_each_day_by_the_requirement_its_configuration_stored(few):
    _assert_switch(*few)


def test_daily_lockers_show_the_same_days(daily):
    _assert_switch(*daily)


def test_one_configuration_for_the_whole_period_names_no_threshold(tmp_path):
    """A single quarter-end run under `any`: the Google-managed instance is kept on every day, as before."""
    with Simulator(parse_scenario(SCENARIO), port=0, now=dt.datetime(2026, 9, 30, 6, 0, tzinfo=UTC)) as sim:
        results = evaluate([collect(_config(tmp_path, "any").with_endpoints(sim.url), tmp_path / "single" / "evidence").evidence_dir])
    plain = _encryption(results)[PLAIN]
    assert plain["status"] == "pass", plain["message"]
    assert set(plain["details"]["days"].values()) == {"kept"}
    assert "thresholds" not in plain["details"] and "was any" not in plain["message"]
