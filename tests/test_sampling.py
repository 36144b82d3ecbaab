"""Auditor sampling: the same seed always draws the same sample; sizes follow the control's frequency."""

import copy
import json
from pathlib import Path

import pytest

from auditor.sampling import DEFAULT_SIZES, default_seed, draw, frequency_of, population

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture()
def results():
    return json.loads((FIXTURES / "results_sample.json").read_text())


def test_same_seed_same_sample_and_another_seed_another(results):
    first, again = draw(results, "auditor-42"), draw(copy.deepcopy(results), "auditor-42")
    assert first == again
    other = draw(results, "auditor-43")
    assert [c["items"] for c in first["controls"]] != [c["items"] for c in other["controls"]]
    assert first["seed"] == "auditor-42" and first["seed_source"] == "auditor"


def test_sample_is_independent_of_finding_order(results):
    shuffled = copy.deepcopy(results)
    for control in shuffled["controls"]:
        control["findings"].reverse()
    assert draw(results, "7") == draw(shuffled, "7")


def test_daily_controls_get_25_and_only_scheduled_controls_are_sampled(results):
    sample = draw(results, "s")
    by_control = {c["control"]: c for c in sample["controls"]}
    assert set(by_control) == {"backup-frequency", "source-backup-freshness"}  # the controls with day records
    assert by_control["backup-frequency"]["frequency"] == "daily"
    assert by_control["backup-frequency"]["size"] == DEFAULT_SIZES["daily"] == 25
    items = by_control["backup-frequency"]["items"]
    assert len({(i["resource"], i["date"]) for i in items}) == 25  # without replacement
    assert [i["date"] for i in items] == sorted(i["date"] for i in items)


def test_population_holds_only_due_days(results):
    control = next(c for c in results["controls"] if c["id"] == "backup-frequency")
    units = population(control)
    assert units and {u.state for u in units} <= {"succeeded", "missed", "unknown"}
    expected = sum(1 for f in control["findings"] for s in (f["details"].get("days") or {}).values()
                   if s in ("succeeded", "missed", "unknown"))
    assert len(units) == expected


def test_configured_sizes_and_weekly_frequency(results):
    control = next(c for c in results["controls"] if c["id"] == "backup-frequency")
    for f in control["findings"]:
        f["expected"]["interval_hours"] = 168
    assert frequency_of(control) == "weekly"
    sample = draw(results, "s", {"weekly": 3})
    (entry,) = [c for c in sample["controls"] if c["control"] == "backup-frequency"]
    assert entry["size"] == 3 and sample["sizes"]["weekly"] == 3


def test_small_population_is_taken_whole(results):
    control = next(c for c in results["controls"] if c["id"] == "backup-frequency")
    keep = control["findings"][0]
    keep["details"]["days"] = {"2026-07-01": "succeeded", "2026-07-02": "missed", "2026-07-03": "not_due"}
    control["findings"] = [keep]
    (entry,) = [c for c in draw(results, "x")["controls"] if c["control"] == "backup-frequency"]
    assert entry["size"] == entry["population"] == 2


def test_a_days_own_evidence_is_listed_when_the_check_provides_it(results):
    control = next(c for c in results["controls"] if c["id"] == "backup-frequency")
    for f in control["findings"]:
        if "days" in f["details"]:
            f["details"]["day_evidence"] = {day: [f"e-day-{day}"] for day in f["details"]["days"]}
    for item in next(c for c in draw(results, "x")["controls"] if c["control"] == "backup-frequency")["items"]:
        assert item["evidence"] == [f"e-day-{item['date']}"] and item["evidence_scope"] == "day"


def test_without_a_seed_the_seed_comes_from_the_evidence_digest(results):
    sample = draw(results)
    assert sample["seed"] == default_seed(results) and sample["seed"].startswith("evidence-")
    assert "no --seed" in sample["seed_source"]
    assert draw(results) == sample
