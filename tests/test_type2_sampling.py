"""The sample company's pack: every control with a population is sampled, and a sampled day judged from
the audit log names that day's entry (its insertId) and the locker page that holds it."""

from __future__ import annotations

import json

import pytest
from markupsafe import escape


@pytest.fixture(scope="module")
def drawn(sample_pack):
    out = sample_pack.out
    return (json.loads((out / "results.json").read_text()), json.loads((out / "samples.json").read_text()),
            json.loads((out / "evidence/manifest.json").read_text()), out)


def test_every_control_with_a_population_is_sampled(drawn):
    results, samples, _, _ = drawn
    sampled = {c["control"] for c in samples["controls"]}
    in_scope = {c["id"] for c in results["controls"] if any(f["status"] != "not_applicable" for f in c["findings"])}
    assert in_scope <= sampled and len(sampled) == len(results["controls"]) == 12
    (enabled,) = [c for c in samples["controls"] if c["control"] == "backup-enabled"]
    assert enabled["population"] > 0 and enabled["size"] == 25 and not enabled["point_in_time"]
    assert samples["seed_source"] == "auditor"


def test_a_sampled_day_names_its_own_log_entry_in_the_page_that_holds_it(drawn):
    _, samples, manifest, out = drawn
    paths = {i["id"]: i["path"] for i in manifest["items"]}
    checked = 0
    for control in samples["controls"]:
        if control["control"] not in ("backup-enabled", "backup-frequency"):
            continue
        for item in control["items"]:
            if item["evidence_scope"] != "day":
                continue
            assert item["evidence"], item  # a day's own read or log page (a read carries no entry)
            ids = {e.get("insertId") for p in item["evidence"]
                   for e in json.loads((out / "evidence" / paths[p]).read_text()).get("entries", [])}
            for entry in item["entries"]:
                if entry.startswith("log:"):
                    assert entry[4:] in ids, (item, entry)
                    checked += 1
    assert checked >= 25


def test_every_control_says_how_its_period_was_covered(drawn):
    results, _, _, out = drawn
    bases = {c["id"]: c["coverage"]["basis"] for c in results["controls"]}
    # one quarter-end locker: the day-by-day controls come from history, the others say point in time
    assert {bases[c] for c in ("backup-enabled", "backup-frequency", "backup-retention", "backup-cross-region",
                               "backup-monitoring")} == {"audit_log_history"}
    html = (out / "report.html").read_text()
    # every built-in control is judged day by day now: none is "at one point in time only", and the cover says so
    assert "How the period was covered" in html and "day by day from audit-log history" in html
    assert ("at one point in time only" in html) == any(b == "point_in_time" for b in bases.values())
    assert "point_in_time" not in bases.values()
    strips = html[html.index('id="strips"'):]
    for control in results["controls"]:
        assert control["id"] in strips and str(escape(control["coverage"]["statement"])) in html
    assert strips.count("point in time only: no day-by-day record") == sum(1 for b in bases.values() if b == "point_in_time")


def test_the_basis_is_daily_lockers_only_when_every_day_has_its_own():
    from auditor.period_basis import coverage

    period = {"start": "2026-07-01", "end": "2026-07-03", "timezone": "UTC"}
    control = {"findings": [{"details": {"days": {"2026-07-01": "kept", "2026-07-02": "unknown", "2026-07-03": "kept"}}}]}
    every = [{"as_of": f"2026-07-0{d}T06:00:00Z"} for d in (1, 2, 3)]
    assert coverage(control, every, period, "2026-07-03T06:00:00Z")["basis"] == "daily_lockers"
    some = coverage(control, every[1:], period, "2026-07-03T06:00:00Z")
    assert some["basis"] == "audit_log_history" and "2 of 3 days" in some["statement"]
    assert some["days"] == {"kept": 2, "unknown": 1} and some["complete"] is False
    point = coverage({"findings": [{"details": {}}]}, every, period, "2026-07-03T06:00:00Z")
    assert point["basis"] == "point_in_time" and "Point in time" in point["statement"]
