"""Scenario validation, and the sample scenario's served history against its hand-written expect: block."""

import os

os.environ["NO_GCE_CHECK"] = "True"

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml
from google.auth.credentials import AnonymousCredentials
from googleapiclient.discovery import build

from auditor.errors import ScenarioError
from auditor.simulator import Simulator, load_scenario

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "bangkok-solutions" / "scenario.yaml"


def _write(tmp_path, mutate):
    data = yaml.safe_load(SAMPLE.read_text())
    mutate(data)
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("mutate, key_path", [
    (lambda d: d["projects"][0]["sql_instances"][0]["backup"].update(start_time="3am"),
     "projects[0].sql_instances[0].backup.start_time"),
    (lambda d: d["projects"][1]["sql_instances"][1].update(colour="blue"), "projects[1].sql_instances[1].colour"),
    (lambda d: d["projects"][0]["sql_instances"][2]["days"].update({"2026-13-01": "none"}),
     "projects[0].sql_instances[2].days"),
    (lambda d: d["projects"][0]["sql_instances"][2]["days"].update({"2026-09-01": "exploded"}),
     "projects[0].sql_instances[2].days.2026-09-01"),
    (lambda d: d["projects"][0].update(apis_disabled=["sqladmn"]), "projects[0].apis_disabled[0]"),
    (lambda d: d["projects"][0]["sql_instances"][1].update(master="ghost"), "projects[0]"),
    (lambda d: d.update(now="2026-09-30T02:00:00"), "now"),
    (lambda d: d["projects"][1]["sql_instances"][1]["stopped"][0].update(to="2026-07-01T00:00:00Z"),
     "projects[1].sql_instances[1].stopped[0]"),
])
def test_validation_errors_name_file_and_key_path(tmp_path, mutate, key_path):
    path = _write(tmp_path, mutate)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    msg = str(info.value)
    found = re.search(rf"{re.escape(str(path))}:(\d+): {re.escape(key_path)}:", msg)
    assert found, msg
    last = re.sub(r"\[\d+\]$", "", key_path).rsplit(".", 1)[-1].split("[")[0]
    if not re.search(r"\[\d+\]$", key_path):  # a key, not a list item: its own line names it
        assert last in path.read_text().splitlines()[int(found.group(1)) - 1], (last, found.group(1))


def test_yaml_and_io_errors_are_scenario_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ScenarioError, match="bad.yaml"):
        load_scenario(bad)
    with pytest.raises(ScenarioError, match="missing.yaml"):
        load_scenario(tmp_path / "missing.yaml")
    unsafe = tmp_path / "unsafe.yaml"
    unsafe.write_text("!!python/object/apply:os.system ['true']\n")
    with pytest.raises(ScenarioError):
        load_scenario(unsafe)


# -- The served history reproduces the hand-written expectations --------------------------------
# A small independent classifier, written from the day rules in docs/simulator.md, reading only
# what the APIs serve. If the simulator drifts from the scenario's intent, this fails.

PERIOD = (dt.date(2026, 7, 1), dt.date(2026, 9, 30))
WINDOW = dt.timedelta(hours=4)


def _parse(ts):
    return dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))


def _classify(instance, entries, now):
    hh, mm = map(int, instance["settings"]["backupConfiguration"]["startTime"].split(":"))
    succeeded = {e["protoPayload"]["metadata"]["windowStartTime"][:10] for e in entries
                 if e["protoPayload"]["methodName"] == "cloudsql.instances.automatedBackup"
                 and e["protoPayload"]["metadata"]["windowStatus"] == "STATUS_SUCCEEDED"}
    # What says whether the instance was running: each update (its activationPolicy; None when it was logged
    # without its body, or when the body set something else), each backup attempt (it ran then), and the
    # read itself at `now`. An update without its body is unknown until the next event, unless that event is
    # an attempt or the read (nothing else was logged in between: it set what they show).
    def policy(e):
        request = e["protoPayload"].get("request", {})
        if "body" not in request:
            return "?"
        return request["body"].get("settings", {}).get("activationPolicy")

    events = [(_parse(e["timestamp"]), policy(e), "update") for e in entries
              if e["protoPayload"]["methodName"] in ("cloudsql.instances.update", "cloudsql.instances.patch")]
    events = [(t, p, k) for t, p, k in events if p is not None]  # a body that did not touch it
    events += [(_parse(e["protoPayload"]["metadata"]["windowStartTime"]), "ALWAYS", "attempt") for e in entries
               if e["protoPayload"]["methodName"] == "cloudsql.instances.automatedBackup"]
    events.append((now, instance["settings"]["activationPolicy"], "read"))
    events.sort(key=lambda ev: (ev[0], ev[2] != "update"))
    settled = []
    for i, (when, value, kind) in enumerate(events):
        if value == "?":
            after = events[i + 1] if i + 1 < len(events) else None
            value = after[1] if after is not None and after[2] != "update" else None
        settled.append((when, value))

    def state(t):
        current = "ALWAYS"
        for when, value in settled:
            if when <= t:
                current = value
        return current

    created = _parse(instance["createTime"])
    out = {}
    day = PERIOD[0]
    while day <= PERIOD[1]:
        start = dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=dt.timezone.utc)
        if start < created:
            out[day] = "not_applicable"  # the window opened before the instance existed (its creation day too)
        elif day.isoformat() in succeeded:
            out[day] = "succeeded"
        elif state(start) == "NEVER":
            out[day] = "stopped"
        elif start + WINDOW > now:
            out[day] = "not_due"
        elif state(start) is None:
            out[day] = "unknown"
        else:
            out[day] = "missed"
        day += dt.timedelta(days=1)
    return out


def test_served_history_matches_expected_backup_frequency():
    scenario = load_scenario(SAMPLE)
    expected = scenario.expect["backup-frequency"]
    with Simulator(scenario) as sim:
        opts = {"static_discovery": True, "credentials": AnonymousCredentials(),
                "client_options": {"api_endpoint": sim.url}}
        sql, logs = build("sqladmin", "v1", **opts), build("logging", "v2", **opts)
        checked = 0
        for project in ("bks-prod", "bks-analytics"):
            for inst in sql.instances().list(project=project).execute()["items"]:
                name = f"//cloudsql.googleapis.com/projects/{project}/instances/{inst['name']}"
                want = expected[name]
                if inst["instanceType"] == "READ_REPLICA_INSTANCE":
                    assert want == "not_applicable"
                    continue
                if inst["settings"]["backupConfiguration"].get("backupTier") == "ENHANCED":
                    continue  # Backup and DR's backups are not in this audit log (tests/test_simulator_backupdr.py)
                body = {"resourceNames": [f"projects/{project}"], "pageSize": 1000,
                        "filter": f'protoPayload.resourceName="projects/{project}/instances/{inst["name"]}"'}
                entries = logs.entries().list(body=body).execute().get("entries", [])  # none for an instance this new
                days = _classify(inst, entries, scenario.now)
                missed = [d for d, s in days.items() if s == "missed"]
                stopped_days = [d for d, s in days.items() if s == "stopped"]
                unknown_days = [d for d, s in days.items() if s == "unknown"]
                assert days[dt.date(2026, 9, 30)] == "not_due", name
                status = "fail" if missed else "inconclusive" if unknown_days else "pass"
                if set(days.values()) <= {"not_applicable", "not_due"} and "not_applicable" in days.values():
                    status = "not_applicable"  # created after its last window opened: nothing was due yet
                if isinstance(want, str):
                    assert (status, missed, stopped_days, unknown_days) == (want, [], [], []), name
                else:
                    assert status == want.status, name
                    assert missed == (want.missed_days or []), name
                    assert stopped_days == (want.stopped_days or []), name
                    assert unknown_days == (want.unknown_days or []), name
                checked += 1
        assert checked == 5
