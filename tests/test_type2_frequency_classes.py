"""backup-frequency judged under the classification in force each day (checks.class_days): facts built by hand, a single
run against the simulator, and its 92-daily-locker form under `make type2` (TYPE2_DAILY=full).

The period is 2026 Q3 (Jul 1 .. Sep 30 UTC), the evidence date Sep 30 12:00 UTC. The policy: `public` backed up
every 7d, `confidential` and `restricted` every 24h, backup_window 4h (so the limits are 172h and 28h), label key
`data-classification`, no default. Instance `db` starts its backup window at 03:00; each success below finishes
at 03:30 (tests/test_backup_frequency.attempt). The audit log is read, complete, from Jun 30 00:00 to the evidence
date. Every expected day is written by hand from the times set in each test (see each docstring).

The rule under test (checks/backup_frequency.py's docstring): a 24h day needs a success in its own window; a 7d day
needs none of its own, only a last success no older than 7d + 4h at every moment of it (`within`: kept); from the
first day of a new class its own rule applies, so a 7d stretch's last backup fills no 24h day after the change; a day
the class changed during is kept only if kept under both classes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from test_backup_frequency import attempt, facts_for, instance
from testkit import days_between

from auditor.checks import backup_frequency
from auditor.checks_api import CheckContext
from auditor.config import Config
from auditor.day_evidence import attach
from auditor.facts.inventory_days import MapHistory
from auditor.facts.model import sql_resource
from auditor.facts.stores import MapVersion
from auditor.facts.timeline import Event, Timeline
from auditor.inventory import parse_inventory
from auditor.period import Period

UTC = dt.timezone.utc
DB = sql_resource("p", "db")
AS_OF = dt.datetime(2026, 9, 30, 12, tzinfo=UTC)
PERIOD = Period(dt.date(2026, 7, 1), dt.date(2026, 9, 30))
D = dt.date.fromisoformat


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def labels(value: str) -> tuple:
    return (("data-classification", value),)


def config(inventory: Path | None = None) -> Config:
    return Config.model_validate({
        "organization": "T", "period": {"start": "2026-07-01", "end": "2026-09-30"},
        "gcp": {"projects": ["p"], "credentials": "anonymous"},
        **({"inventory": str(inventory)} if inventory else {}),
        "policy": {"backup_window": "4h", "classifications": {
            "public": {"backup_interval": "7d"}, "confidential": {"backup_interval": "24h"},
            "restricted": {"backup_interval": "24h"}}}})


class History:
    """The two parts of auditor.facts.inventory_days.InventoryDays that class_days reads."""

    def __init__(self, maps: MapHistory, timelines: dict[str, Timeline]) -> None:
        self.maps = maps
        self._timelines = timelines

    def labels(self, resource: str) -> Timeline:
        return self._timelines.get(resource) or Timeline(resource, "labels", (), ())


class WithHistory:
    """Hand-built facts with a label and data-map history beside them."""

    def __init__(self, facts, history: History) -> None:
        self._facts = facts
        self.inventory_days = history

    def __getattr__(self, name: str):
        return getattr(self._facts, name)


def empty_map():
    return parse_inventory("reviewed: 2026-06-01\nstores: []\n", Path("inventory.yaml"))


def declaring(classification: str):
    return parse_inventory(f"reviewed: 2026-06-01\nstores:\n  - resource: {DB}\n    classification: {classification}\n"
                           "    owner: team\n", Path("inventory.yaml"))


def every(first: str, last: str, step: int = 1) -> list[dt.date]:
    return [D(d) for d in days_between(first, last)][::step]


def expect(*spans: tuple[str, str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for first, last, state in spans:
        out.update({d: state for d in days_between(first, last)})
    return out


def judge(backups: list[dt.date], timeline: Timeline, label_now: str, maps=None, current=None, conf=None, prior=()):
    """The finding for `db` (labels now: `label_now`); `prior`: retained runs before the period."""
    current = current if current is not None else empty_map()
    maps = maps if maps is not None else MapHistory([MapVersion(AS_OF, "locker", current, None, "sha")], "not in git")
    attempts = [attempt(d) for d in backups] + [attempt(d, source="backup-run") for d in prior]
    facts = WithHistory(facts_for(instance(labels=dict(labels(label_now))), attempts, as_of=AS_OF), History(maps, {DB: timeline}))
    conf = conf or config()
    ctx = CheckContext(config=conf, period=PERIOD, as_of=AS_OF, inventory=current)
    (finding,) = backup_frequency.evaluate(facts, ctx)
    return finding, facts, ctx


def relabelled(before: str, after: str, when: str = "2026-08-12T09:00:00", body: bool = True) -> Timeline:
    """Read `before` on Jun 30, relabelled `after` at `when` by an update (its body logged, or not), read `after` at
    the evidence date; the audit log covers Jun 30 .. the evidence date when the body is logged (none otherwise)."""
    return Timeline(DB, "labels", [
        Event(at("2026-06-30T00:00:00"), labels(before), "observation", ("item:old",)),
        Event(at(when), labels(after) if body else None, "change", ("log:relabel",)),
        Event(AS_OF, labels(after), "observation", ("item:read",))],
        [(at("2026-06-30T00:00:00"), AS_OF)] if body else [])


# weekly backups from Jun 26 (a retained run before the period) : Jul 3, 10, 17, 24, 31, Aug 7
WEEKLY = every("2026-07-03", "2026-08-07", 7)


def test_seven_days_then_daily_the_seven_day_window_spanning_the_change_fills_no_daily_day():
    """public (7d) until Aug 12 09:00, then confidential (24h), the update's body logged. Backups weekly (Jun 26 as a
    retained run, then Jul 3 .. Aug 7), none Aug 8 .. Aug 14, daily from Aug 15.
    Jul 1, 2: no backup of their own, Jun 26 03:30 + 172h = Jul 3 07:30 is after their end: kept (within). Each
    weekly day kept, the days between within (7 days apart < 172h). Aug 8 .. 11: within (Aug 7 03:30 + 172h =
    Aug 14 07:30). Aug 12 held public then confidential: no backup, within under public, missed under confidential:
    unknown. Aug 13, 14: confidential's own windows are empty: broken, although Aug 7's backup would still have
    been within 7d for them. Aug 15 .. Sep 30: a backup each day: kept."""
    backups = [*WEEKLY, *every("2026-08-15", "2026-09-30")]
    finding, _, _ = judge(backups, relabelled("public", "confidential"), "confidential", prior=[D("2026-06-26")])
    assert finding.details["days"] == expect(("2026-07-01", "2026-08-11", "kept"), ("2026-08-12", "2026-08-12", "unknown"),
                                             ("2026-08-13", "2026-08-14", "broken"), ("2026-08-15", "2026-09-30", "kept"))
    assert finding.status == "fail", finding.message
    assert finding.details["exception_days"] == ["2026-08-13", "2026-08-14"]
    assert "2 of " in finding.message and "2026-08-13..2026-08-14" in finding.message
    assert "2026-08-12 could not be judged: its classification changed during the day" in finding.message
    assert "public on 2026-07-01 .. 2026-08-11" in finding.message and "confidential on 2026-08-13 .. 2026-09-30" in finding.message
    assert "policy.classifications.public.backup_interval 168h on 2026-07-01..2026-08-11" in finding.message
    assert "policy.classifications.confidential.backup_interval 24h on 2026-08-12..2026-09-30" in finding.message
    assert [(t["key"], t["value"], t["from"]) for t in finding.details["thresholds"]] == [
        ("policy.classifications.public.backup_interval", 168.0, "2026-07-01"),
        ("policy.classifications.confidential.backup_interval", 24.0, "2026-08-12")]
    spans = [(c["from"], c["to"], c["classifications"]) for c in finding.details["classifications"]]
    assert spans == [("2026-07-01", "2026-08-11", ["public"]), ("2026-08-12", "2026-08-12", ["public", "confidential"]),
                     ("2026-08-13", "2026-09-30", ["confidential"])]
    assert finding.expected["classification"] == "confidential"


def test_the_change_day_with_its_own_backup_is_kept_under_both_classes_and_the_finding_passes():
    """As above, but daily backups from Aug 12 (its 03:00 backup, before the 09:00 relabel): Aug 12 is kept under
    public and under confidential, so kept; every day is kept and the finding passes, naming the classes."""
    backups = [*WEEKLY, *every("2026-08-12", "2026-09-30")]
    finding, _, _ = judge(backups, relabelled("public", "confidential"), "confidential", prior=[D("2026-06-26")])
    assert finding.details["days"] == expect(("2026-07-01", "2026-09-30", "kept"))
    assert finding.status == "pass", finding.message
    within = [d for d in days_between("2026-07-01", "2026-08-11") if D(d) not in WEEKLY]
    assert finding.details["coverage"]["within"] == len(within) == 36
    assert "the last one was no older than the interval in force plus the backup window" in finding.message


def test_a_day_kept_under_the_newest_class_is_broken_under_the_class_in_force_that_day():
    """The other way: confidential (24h) until Aug 12 09:00, then public (7d), the newest read says public. Weekly
    backups all quarter (Jul 3 + 7k .. Sep 25, Jun 26 retained). Under the newest class every day would be kept; under
    the class in force, Jul 1 .. Aug 11's days without a backup are broken (Jul 3, 10, ... Aug 7 kept). Aug 12 held
    confidential then public with no backup: missed under 24h, within under 7d (Aug 7 + 172h): unknown. Aug 13 ..
    Sep 30: public, every 7 days: kept."""
    backups = every("2026-07-03", "2026-09-30", 7)
    finding, _, _ = judge(backups, relabelled("confidential", "public"), "public", prior=[D("2026-06-26")])
    days = finding.details["days"]
    broken = [d for d in days_between("2026-07-01", "2026-08-11") if D(d) not in backups]
    assert {d for d, s in days.items() if s == "broken"} == set(broken)
    assert {d for d, s in days.items() if s == "unknown"} == {"2026-08-12"}
    assert {days[d] for d in days_between("2026-08-13", "2026-09-30")} == {"kept"}
    assert finding.status == "fail", finding.message
    assert finding.expected["classification"] == "public" and finding.expected["interval_hours"] == 168.0


def test_before_the_first_relabel_nothing_shows_the_class_so_those_days_are_unknown():
    """confidential (24h) in truth until Aug 12 09:00, then public (7d) by an update that logged its body; nothing read
    the labels before it (no earlier read, no earlier update). Weekly backups (Jun 26 retained, Jul 3 + 7k): under the
    newest class every day would be kept, but the update shows only the labels it set, so Jul 1 .. Aug 11 are
    unknown (never judged under public), and so is Aug 12 (its class before 09:00 is unknown); Aug 13 .. Sep 30
    public: kept."""
    timeline = Timeline(DB, "labels", [Event(at("2026-08-12T09:00:00"), labels("public"), "change", ("log:relabel",)),
                                       Event(AS_OF, labels("public"), "observation", ("item:read",))],
                        [(at("2026-06-30T00:00:00"), AS_OF)])
    finding, _, _ = judge(every("2026-07-03", "2026-09-30", 7), timeline, "public", prior=[D("2026-06-26")])
    assert finding.details["days"] == expect(("2026-07-01", "2026-08-12", "unknown"), ("2026-08-13", "2026-09-30", "kept"))
    assert finding.status == "inconclusive", finding.message
    assert "no read before it shows its labels (an update says what it set, not what it replaced)" in finding.message


def test_a_label_change_logged_without_its_body_leaves_the_days_between_the_reads_unknown():
    """Read public Jul 1 00:00 and confidential at the evidence date; the Aug 12 09:00 update logged no body and no
    query covers the labels' history. Daily backups all quarter (kept under either class). Jul 1: its own read
    (public), its backup: kept; Jul 2 .. Aug 11: the Jul 1 read carried up to the update (checks.class_days: the
    earlier event holds when the later one is an update): public, kept. Aug 12 .. Sep 29: after an update whose body
    is unknown, before the next read: unknown, never judged by a neighbour's class. Sep 30: its own read
    (confidential), its backup: kept. Inconclusive, the reason named."""
    timeline = Timeline(DB, "labels", [Event(at("2026-07-01T00:00:00"), labels("public"), "observation"),
                                       Event(at("2026-08-12T09:00:00"), None, "change"),
                                       Event(AS_OF, labels("confidential"), "observation")], [])
    finding, _, _ = judge(every("2026-07-01", "2026-09-30"), timeline, "confidential")
    assert finding.details["days"] == expect(("2026-07-01", "2026-08-11", "kept"), ("2026-08-12", "2026-09-29", "unknown"),
                                             ("2026-09-30", "2026-09-30", "kept"))
    assert finding.status == "inconclusive", finding.message
    assert "its classification is unknown" in finding.message and "logged without its request body" in finding.message
    assert finding.details["exception_days"] == []


def test_the_declared_class_follows_the_data_map_in_force_each_day(tmp_path):
    """Map versions stored by lockers of Jul 10 (declares public) and Aug 20 (declares confidential) and at the
    evidence date (confidential); the label says public throughout. Jul 1 .. Aug 19: public (the days before the
    first version take it); Aug 20 .. Sep 30: confidential, from the day's start (no day held both). Weekly backups
    Jul 3 .. Aug 14 (Jun 26 retained), none until Aug 22, daily from Aug 22: Jul 1 .. Aug 19 kept (Aug 15 .. 19
    within Aug 14 03:30 + 172h); Aug 20, 21 broken, their own windows empty under confidential, although Aug 14's
    backup is within 7d of them; Aug 22 .. Sep 30 kept."""
    (tmp_path / "inventory.yaml").write_text("reviewed: 2026-06-01\nstores: []\n")
    public, confidential = declaring("public"), declaring("confidential")
    maps = MapHistory([MapVersion(at("2026-07-10T06:00:00"), "locker", public, None, "a"),
                       MapVersion(at("2026-08-20T06:00:00"), "locker", confidential, None, "b"),
                       MapVersion(AS_OF, "locker", confidential, None, "c")], "not in git")
    timeline = Timeline(DB, "labels", [Event(AS_OF, labels("public"), "observation")], [])
    backups = [*every("2026-07-03", "2026-08-14", 7), *every("2026-08-22", "2026-09-30")]
    finding, _, _ = judge(backups, timeline, "public", maps=maps, current=confidential, conf=config(tmp_path / "inventory.yaml"),
                          prior=[D("2026-06-26")])
    assert finding.details["days"] == expect(("2026-07-01", "2026-08-19", "kept"), ("2026-08-20", "2026-08-21", "broken"),
                                             ("2026-08-22", "2026-09-30", "kept"))
    assert finding.status == "fail", finding.message
    assert [(c["from"], c["to"], c["classification"], c["basis"]) for c in finding.details["classifications"]] == [
        ("2026-07-01", "2026-08-19", "public", "declared"), ("2026-08-20", "2026-09-30", "confidential", "declared")]


def test_without_a_backup_before_the_period_the_first_seven_day_days_are_unknown_not_kept():
    """public all quarter, one read (no history), weekly backups Jul 3 .. Sep 25 and nothing retained from before
    the period: Jul 1, 2 have no backup of their own and the evidence shows none in the 172h before them: unknown,
    never kept on the period's start alone. With Jun 26's run retained they are kept (within)."""
    timeline = Timeline(DB, "labels", [Event(AS_OF, labels("public"), "observation")], [])
    backups = every("2026-07-03", "2026-09-30", 7)
    finding, _, _ = judge(backups, timeline, "public")
    assert {d for d, s in finding.details["days"].items() if s != "kept"} == {"2026-07-01", "2026-07-02"}
    assert finding.details["days"]["2026-07-01"] == "unknown"
    assert finding.status == "inconclusive", finding.message
    assert "no successful backup before 2026-07-03 03:30 UTC is in the evidence" in finding.message
    kept, _, _ = judge(backups, timeline, "public", prior=[D("2026-06-26")])
    assert set(kept.details["days"].values()) == {"kept"} and kept.status == "pass", kept.message


def test_a_within_days_evidence_is_the_backup_that_keeps_it():
    """Sampling: a 7d day kept without a backup of its own names the success that keeps it, in day_evidence and (after
    auditor.day_evidence.attach, as the runner does) in day_entries: Jul 1 and Jul 2 are kept by Jun 26's retained
    run, Jul 4 .. Jul 9 by Jul 3's window; Jul 3 names its own."""
    timeline = Timeline(DB, "labels", [Event(AS_OF, labels("public"), "observation")], [])
    finding, facts, ctx = judge(every("2026-07-03", "2026-09-30", 7), timeline, "public", prior=[D("2026-06-26")])
    attach([finding], facts, ctx.period)
    entries = finding.details["day_entries"]
    assert entries["2026-07-01"] == entries["2026-07-02"] == ["backup-run:2026-06-26:succeeded"]
    assert {tuple(entries[d]) for d in days_between("2026-07-04", "2026-07-09")} == {("audit-log:2026-07-03:succeeded",)}
    assert entries["2026-07-03"] == ["audit-log:2026-07-03:succeeded"]
    assert set(finding.details["day_evidence"]) >= set(days_between("2026-07-01", "2026-09-30"))
    assert "day_evidence_joins" not in finding.details


def test_one_class_all_quarter_gives_the_findings_it_gave_before():
    """confidential every day (one read, no change): no classification words, no thresholds, days as the 24h rule
    gives them: a missing Aug 5 backup is broken."""
    timeline = Timeline(DB, "labels", [Event(AS_OF, labels("confidential"), "observation")], [])
    backups = [d for d in every("2026-07-01", "2026-09-30") if d != D("2026-08-05")]
    finding, _, _ = judge(backups, timeline, "confidential")
    assert finding.details["exception_days"] == ["2026-08-05"]
    assert "classifications" not in finding.details and "thresholds" not in finding.details
    assert "Its classification was" not in finding.message


def test_a_deleted_instance_is_judged_under_its_class_each_day():
    """crm-mysql (tests/test_deleted_instance: deleted Jul 6 12:00, its FINAL backup's snapshot labelled restricted),
    period Jul 1 .. 10. Its label history: public (7d) until Jul 3 09:00, then restricted (24h), the body logged.
    Backups Jul 1, 5 and 6 (03:00, done 03:20). Jul 1 kept; Jul 2 within (public); Jul 3 held public then restricted
    with no backup: within under one, missed under the other: unknown; Jul 4 restricted, no backup: broken; Jul 5, 6
    kept; Jul 7 .. 10 after the deletion not applicable."""
    import test_deleted_instance as gone

    resource = gone.DB
    timeline = Timeline(resource, "labels", [
        Event(at("2026-06-30T00:00:00"), labels("public"), "observation"),
        Event(at("2026-07-03T09:00:00"), labels("restricted"), "change", ("log:relabel",)),
        Event(gone.DELETED, labels("restricted"), "observation")], [(at("2026-06-30T00:00:00"), gone.DELETED)])
    facts = WithHistory(gone.facts_for(windows=[gone.window(d) for d in (1, 5, 6)]),
                        History(MapHistory([], "not in git"), {resource: timeline}))
    conf = Config.model_validate({"organization": "T", "period": {"start": "2026-07-01", "end": "2026-07-10"},
                                  "gcp": {"projects": ["p"], "credentials": "anonymous"},
                                  "policy": {"classifications": {"public": {"backup_interval": "7d"},
                                                                 "restricted": {"backup_interval": "24h"}}}})
    ctx = CheckContext(config=conf, period=gone.PERIOD, as_of=gone.AS_OF)
    (finding,) = [f for f in backup_frequency.evaluate(facts, ctx) if f.resource == resource]
    assert finding.details["days"] == {**gone.days(1, 2, "kept"), **gone.days(3, 3, "unknown"), **gone.days(4, 4, "broken"),
                                       **gone.days(5, 6, "kept"), **gone.days(7, 10, "not_applicable")}
    assert finding.status == "fail", finding.message
    assert "deleted on 2026-07-06 12:00 UTC" in finding.message


# -- one quarter-end run against the simulator (real clients over HTTP on 127.0.0.1), and its 92-daily-locker form
#    under `make type2`: the same days from either ------------------------------------------------------------------

# Both instances' labels are set by an update of Jun 30 01:00 (inside the audit log's query, which starts a day before
# the period) and set again mid-quarter, both updates logging their body: the log shows each day's class.
SIM_SQL = "//cloudsql.googleapis.com/projects/frq-prod/instances"


def _weekly_days() -> dict[str, str]:
    """weekly-pg's backups: Jul 1, 8, 15, 22, 29 and Aug 5 succeed, no window at all on the days between and on
    Aug 6 .. Aug 13; the simulator's daily success from Aug 14."""
    out, day = {}, D("2026-06-25")
    while day <= D("2026-08-13"):
        if day < D("2026-07-01") or day > D("2026-08-05") or (day - D("2026-07-01")).days % 7:
            out[day.isoformat()] = "none"
        day += dt.timedelta(days=1)
    out["2026-06-24"] = "success"  # a retained run before the period is not needed: Jul 1 has its own
    return out


SIM_SCENARIO = {
    "name": "frequency-classes", "now": "2026-09-30T06:00:00Z", "history_start": "2026-06-25",
    "organization": {"id": "995", "display_name": "frequency.example"},
    "projects": [{"id": "frq-prod", "number": "339", "sql_instances": [
        {"name": "weekly-pg", "region": "us-east1", "database_version": "POSTGRES_16",
         "labels": {"data-classification": "confidential"},
         "label_changes": [{"from": "2026-06-30T01:00:00Z", "to": "2026-08-12T09:00:00Z",
                            "labels": {"data-classification": "public"}, "body_logged": True}],
         "backup": {"enabled": True, "start_time": "03:00", "location": "us-west1"}, "days": _weekly_days()},
        {"name": "vault-pg", "region": "us-east1", "database_version": "POSTGRES_16",
         "labels": {"data-classification": "public"},
         "label_changes": [{"from": "2026-06-30T01:00:00Z", "to": "2026-09-20T09:00:00Z",
                            "labels": {"data-classification": "confidential"}, "body_logged": True}],
         "backup": {"enabled": True, "tier": "ENHANCED"},
         "backupdr": {"plan": "projects/frq-vault/locations/us-east1/backupPlans/daily", "failed_from": "2026-09-15"}}]},
        {"id": "frq-vault", "number": "340",
         "backup_vaults": [{"id": "v", "location": "us-east1", "min_retention_days": 7}],
         "backup_plans": [{"id": "daily", "location": "us-east1", "vault": "v",
                           "rules": [{"id": "daily", "retention_days": 100}]}]}],
}


SIM_CONFIG = {"organization": "Frequency Ltd", "period": {"quarter": "2026-Q3"},
              "gcp": {"projects": ["frq-prod", "frq-vault"], "credentials": "anonymous"},
              "policy": {"backup_window": "4h", "classifications": {"public": {"backup_interval": "7d"},
                                                                     "confidential": {"backup_interval": "24h"}}}}


def _frequency(results) -> dict:
    (control,) = [c for c in results["controls"] if c["id"] == "backup-frequency"]
    return {f["resource"]: f for f in control["findings"]}


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    from testkit import scenario_setup

    from auditor.runner import collect, evaluate
    from auditor.simulator import Simulator
    from auditor.simulator.quota import Quota

    folder, scenario, loaded = scenario_setup(tmp_path_factory.mktemp("frq-classes"), SIM_CONFIG, SIM_SCENARIO)
    with Simulator(scenario, port=0, now=at("2026-09-30T06:00:00"), quota=Quota(limits=[])) as sim:
        run = collect(loaded.with_endpoints(sim.url), folder / "evidence")
    return _frequency(evaluate([run.evidence_dir]))


@pytest.fixture(scope="module")
def daily(tmp_path_factory):
    """The `make type2` form: 92 daily lockers at 06:00 (TYPE2_DAILY=full), each reading the labels of its day."""
    from testkit import daily_lockers, scenario_setup

    return _frequency(daily_lockers(scenario_setup(tmp_path_factory.mktemp("frq-daily"), SIM_CONFIG, SIM_SCENARIO)))


@pytest.fixture(params=["simulated", "daily"])
def runs(request):
    return request.getfixturevalue(request.param)


def test_a_listed_instance_relabelled_from_weekly_to_daily(runs):
    """weekly-pg: public (7d) from the Jun 30 01:00 update until the Aug 12 09:00 one, confidential (24h) after. Jul 1 .. Aug 5
    weekly backups, the days between within 7d + 4h: kept; Aug 6 .. 11 within Aug 5's backup: kept. Aug 12 held
    public then confidential, no backup: under public Aug 5's backup passed 172h at about 07:00 that day, under
    confidential its window is empty: broken under both, broken. Aug 13: confidential, no backup: broken. Aug 14 ..
    Sep 30: daily backups: kept."""
    finding = runs[f"{SIM_SQL}/weekly-pg"]
    assert finding["details"]["days"] == expect(("2026-07-01", "2026-08-11", "kept"), ("2026-08-12", "2026-08-13", "broken"),
                                                ("2026-08-14", "2026-09-30", "kept")), finding["message"]
    assert finding["status"] == "fail"
    assert "public then confidential on 2026-08-12" in finding["message"]
    assert [c["classifications"] for c in finding["details"]["classifications"]] == [["public"], ["public", "confidential"],
                                                                                      ["confidential"]]


def test_an_enhanced_instance_is_broken_under_the_class_in_force_not_the_newest(runs):
    """vault-pg (ENHANCED, judged from its Backup and DR backups, daily at 02:08..02:40, window 02:00-06:00, kept 100
    days): confidential (24h) from the Jun 30 01:00 update until the Sep 20 09:00 one, public (7d) after; every backup fails from Sep 15. Jul 1 ..
    Sep 14 kept. Sep 15 .. 19: confidential, no backup: broken (under the newest class, public, they would be within
    Sep 14's backup: kept). Sep 20 held confidential then public: missed under 24h, within under 7d (Sep 14 + 172h is
    Sep 21 06:08..06:40): unknown. Sep 21 .. 30: public, and 172h since Sep 14's backup passed on Sep 21: broken."""
    finding = runs[f"{SIM_SQL}/vault-pg"]
    assert finding["details"]["days"] == expect(("2026-07-01", "2026-09-14", "kept"), ("2026-09-15", "2026-09-19", "broken"),
                                                ("2026-09-20", "2026-09-20", "unknown"),
                                                ("2026-09-21", "2026-09-30", "broken")), finding["message"]
    assert finding["status"] == "fail"
    assert finding["expected"]["classification"] == "public"
    assert "policy.classifications.confidential.backup_interval 24h on 2026-07-01..2026-09-19" in finding["message"]
