"""ret3: backup-retention of ENHANCED-tier instances (Backup and DR-managed backups), day by day, against the simulator.

A day's retention is what the evidence of that day shows: the backups taken that day that some read lists (each
kept expireTime - consistencyTime), and, on the newest read's day, the plan's rule as read. A backup is listed only
until it expires and the plan's past retention is not recorded, so a single run shows only the days whose backups
are still retained; the others are unknown with that reason, and lockers collected during the quarter show theirs.
The vault's lock is permanent: a vault read locked since T was unlocked before T (a confirmed history source).

Backups run daily at 02:00 (+ 8..40 min); a locker is collected at 06:00. A backup kept R days is listed by a locker
of day L when it was taken on L - R + 1 .. L. The policy: internal and sealed keep at least 14 days; sealed is
`immutable`. Expected days are written by hand from that.

- `kept-pg` (internal): plan keeps 20 days, vault locked since Jan 1.
- `short-pg` (internal): plan keeps 10 days (< 14), same vault.
- `sealed-pg` (sealed): plan keeps 100 days, in a vault locked only from Aug 15 00:00.
"""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from testkit import days_between

from auditor.config import load_config
from auditor.runner import collect, evaluate
from auditor.simulator import Simulator
from auditor.simulator.scenario import parse_scenario

UTC = dt.timezone.utc
SQL = "//cloudsql.googleapis.com/projects/bdr-prod/instances/"
KEPT, SHORT, SEALED = SQL + "kept-pg", SQL + "short-pg", SQL + "sealed-pg"
LOCKERS = (dt.date(2026, 7, 25), dt.date(2026, 8, 30), dt.date(2026, 9, 30))


def _instance(name, classification, plan):
    return {"name": name, "region": "us-east1", "database_version": "POSTGRES_16", "create_time": "2026-01-01T00:00:00Z",
            "labels": {"data-classification": classification},
            "backup": {"enabled": True, "start_time": "03:00", "location": "us-west1", "retained_backups": 7,
                       "tier": "ENHANCED"},
            "backupdr": {"plan": f"projects/bdr-vault/locations/us-west1/backupPlans/{plan}"}}


SCENARIO = {
    "name": "enhanced-days", "now": "2026-09-30T06:00:00Z", "history_start": "2026-06-25",
    "organization": {"id": "996", "display_name": "enhanced.example"},
    "projects": [{"id": "bdr-prod", "number": "336", "sql_instances": [
        _instance("kept-pg", "internal", "p20"), _instance("short-pg", "internal", "p10"),
        _instance("sealed-pg", "sealed", "p100")]},
        {"id": "bdr-vault", "number": "339",
         "backup_vaults": [{"id": "v", "location": "us-west1", "min_retention_days": 7, "locked_from": "2026-01-01T00:00:00Z"},
                           {"id": "late", "location": "us-west1", "min_retention_days": 7, "locked_from": "2026-08-15T00:00:00Z"}],
         "backup_plans": [{"id": "p20", "location": "us-west1", "vault": "v", "rules": [{"id": "daily", "retention_days": 20}]},
                          {"id": "p10", "location": "us-west1", "vault": "v", "rules": [{"id": "daily", "retention_days": 10}]},
                          {"id": "p100", "location": "us-west1", "vault": "late",
                           "rules": [{"id": "daily", "retention_days": 100}]}]}],
}
CONFIG = {"organization": "Enhanced Ltd", "period": {"quarter": "2026-Q3"},
          "gcp": {"projects": ["bdr-prod"], "credentials": "anonymous"},
          "policy": {"country": "US", "classifications": {
              "internal": {"backup_interval": "24h", "retention_min_days": 14},
              "sealed": {"backup_interval": "24h", "retention_min_days": 14, "immutable": True}}}}


def _collect(root, days):
    (root / "auditor.yaml").write_text(yaml.safe_dump(CONFIG))
    config = load_config(root / "auditor.yaml").model_copy(update={"github": None})
    dirs = []
    with Simulator(parse_scenario(SCENARIO), port=0, now=dt.datetime.combine(days[0], dt.time(6), tzinfo=UTC)) as sim:
        for day in days:
            sim.set_clock(dt.datetime.combine(day, dt.time(6), tzinfo=UTC))
            dirs.append(collect(config.with_endpoints(sim.url), root / f"day-{day}" / "evidence").evidence_dir)
    return dirs


def _judged(dirs):
    (control,) = [c for c in evaluate(dirs)["controls"] if c["id"] == "backup-retention"]
    return {f["resource"]: f for f in control["findings"]}


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """The three lockers (the last, at the evidence date, is also the single quarter-end run)."""
    return _collect(tmp_path_factory.mktemp("bdr-lockers"), list(LOCKERS))


@pytest.fixture(scope="module")
def single(collected):
    return _judged(collected[-1:])


@pytest.fixture(scope="module")
def lockers(collected):
    return _judged(collected)


def _days(finding, state):
    return sorted(d for d, s in finding["details"]["days"].items() if s == state)


def test_one_run_shows_only_the_days_whose_backups_are_still_retained_and_says_why(single):
    """kept-pg from the Sep 30 run: the backups of Sep 11 .. Sep 30 are listed (each kept 20 >= 14 days): kept;
    Jul 1 .. Sep 10 unknown (their backups expired before the read). Inconclusive, never a pass."""
    finding = single[KEPT]
    assert finding["status"] == "inconclusive", finding["message"]
    assert _days(finding, "kept") == days_between("2026-09-11", "2026-09-30")
    assert finding["details"]["unknown_days"] == days_between("2026-07-01", "2026-09-10")
    assert "a backup is listed only until it expires" in finding["message"]


def test_each_locker_shows_the_days_whose_backups_it_listed(lockers):
    """kept-pg from lockers of Jul 25, Aug 30 and Sep 30: the backups listed are those of Jul 6 .. Jul 25,
    Aug 11 .. Aug 30 and Sep 11 .. Sep 30: kept; Jul 1 .. Jul 5, Jul 26 .. Aug 10, Aug 31 .. Sep 10 unknown."""
    finding = lockers[KEPT]
    assert finding["status"] == "inconclusive", finding["message"]
    assert _days(finding, "kept") == (days_between("2026-07-06", "2026-07-25") + days_between("2026-08-11", "2026-08-30")
                                      + days_between("2026-09-11", "2026-09-30"))
    assert finding["details"]["unknown_days"] == (days_between("2026-07-01", "2026-07-05")
                                                  + days_between("2026-07-26", "2026-08-10")
                                                  + days_between("2026-08-31", "2026-09-10"))


def test_a_backup_kept_below_the_minimum_breaks_the_day_it_was_taken(single):
    """short-pg: its listed backups (Sep 21 .. Sep 30) are each kept 10 < 14 days: broken; the days before: unknown."""
    finding = single[SHORT]
    assert finding["status"] == "fail", finding["message"]
    assert finding["details"]["exception_days"] == days_between("2026-09-21", "2026-09-30")
    assert finding["details"]["unknown_days"] == days_between("2026-07-01", "2026-09-20")


def test_a_vault_locked_mid_quarter_breaks_the_days_before_its_lock_from_one_run(single):
    """sealed-pg: every day's backup is listed (kept 100 days >= 14), and the class is immutable: the vault is locked
    from Aug 15 00:00 (effectiveTime; permanent), so Jul 1 .. Aug 14 are broken and Aug 15 .. Sep 30 kept. As of the
    read it is locked and within the policy: only the day-by-day judgment fails it."""
    finding = single[SEALED]
    assert finding["status"] == "fail", finding["message"]
    assert finding["details"]["exception_days"] == days_between("2026-07-01", "2026-08-14")
    assert _days(finding, "kept") == days_between("2026-08-15", "2026-09-30")
    assert "immutable" in finding["message"] and "2026-07-01..2026-08-14" in finding["message"]


@pytest.fixture(scope="module")
def daily(tmp_path_factory):
    """92 lockers, one a day Jul 1 .. Sep 30 at 06:00 (`make type2`)."""
    import os

    if os.environ.get("TYPE2_DAILY") != "full":
        pytest.skip("92 daily lockers take over a minute; run with `make type2` (TYPE2_DAILY=full)")
    return _judged(_collect(tmp_path_factory.mktemp("bdr-daily"),
                            [dt.date(2026, 7, 1) + dt.timedelta(days=n) for n in range(92)]))


def test_daily_lockers_list_every_days_backup(daily):
    """Each day's locker lists that day's backup (taken at 02:xx, read at 06:00): kept-pg kept every day (pass),
    short-pg broken every day (10 < 14), sealed-pg broken Jul 1 .. Aug 14 (its vault not yet locked), kept after."""
    assert daily[KEPT]["status"] == "pass", daily[KEPT]["message"]
    assert _days(daily[KEPT], "kept") == days_between("2026-07-01", "2026-09-30")
    assert daily[SHORT]["details"]["exception_days"] == days_between("2026-07-01", "2026-09-30")
    assert daily[SEALED]["details"]["exception_days"] == days_between("2026-07-01", "2026-08-14")
    assert _days(daily[SEALED], "kept") == days_between("2026-08-15", "2026-09-30")
