"""Inline SVG pictures: the coverage calendar and the regions view read results tolerantly and escape every value."""

import re

from auditor.reports.charts import coverage_calendar, placements, regions_view, short_name


def cross_region_control():
    return {"id": "backup-cross-region", "findings": [
        {"id": "a", "resource": "//cloudsql.googleapis.com/projects/p/instances/billing", "status": "pass",
         "observed": {}, "expected": {}, "evidence": [],
         "details": {"primary_location": "us-east1", "backup_locations": ["us-west1"]}},
        {"id": "b", "resource": "//cloudsql.googleapis.com/projects/p/instances/eu-db", "status": "fail",
         "observed": {"region": "us-central1", "backup_location": "EU"}, "expected": {}, "details": {}, "evidence": []},
        {"id": "c", "resource": "//cloudsql.googleapis.com/projects/p/instances/nothing-known", "status": "inconclusive",
         "observed": {}, "expected": {}, "details": {}, "evidence": []},
    ]}


def test_placements_read_details_then_observed_keys():
    rows = {short_name(p["resource"]): p for p in placements([cross_region_control()])}
    assert set(rows) == {"p/billing", "p/eu-db"}  # nothing is guessed for a store without locations
    assert rows["p/billing"]["primary"] == "us-east1" and rows["p/billing"]["backups"] == ["us-west1"]
    assert rows["p/eu-db"]["primary"] == "us-central1" and rows["p/eu-db"]["backups"] == ["eu"]


def test_regions_view_groups_locations_by_country():
    svg = str(regions_view([cross_region_control()]))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    for text in ("us-east1", "us-west1", "us-central1", "eu", "US", "several countries", "p/billing"):
        assert f">{text}<" in svg, text
    assert svg.count(">P<") == 2 and svg.count(">B<") == 2


def test_calendar_and_regions_escape_hostile_names():
    hostile = "//storage.googleapis.com/<script>alert(1)</script>"
    finding = {"id": "x", "resource": hostile, "status": "fail", "observed": {}, "expected": {}, "evidence": [],
               "details": {"days": {"2026-07-01": "missed"}, "primary_location": "<b>", "backup_locations": ["x&y"]}}
    for svg in (str(coverage_calendar([finding])), str(regions_view([{"id": "k", "findings": [finding]}]))):
        assert "<script>" not in svg and "&lt;script&gt;" in svg
        assert "<b>" not in svg


def test_no_day_records_and_no_locations_draw_nothing():
    finding = {"id": "x", "resource": "r", "status": "pass", "observed": {}, "expected": {}, "details": {}, "evidence": []}
    assert str(coverage_calendar([finding])) == "" and str(regions_view([{"id": "k", "findings": [finding]}])) == ""


def test_calendar_of_enabled_days_draws_runs_and_names_only_drawn_states():
    days = {f"2026-07-{d:02d}": ("broken" if 10 <= d <= 12 else "kept") for d in range(1, 32)}
    svg = str(coverage_calendar([{"id": "x", "resource": "//cloudsql.googleapis.com/projects/p/instances/db",
                                  "status": "fail", "details": {"days": days}}]))
    runs = re.findall(r"<title>([^<]+)</title>", svg)
    assert runs == ["2026-07-01 to 2026-07-09: within the policy", "2026-07-10 to 2026-07-12: outside the policy (exception)",
                    "2026-07-13 to 2026-07-31: within the policy"]
    assert 'fill="#d64545"' in svg and "3 exception<" in svg  # exception days are red and counted
    assert "within the policy</text>" in svg and "not due yet</text>" not in svg  # legend: only what is drawn


def test_a_row_with_exceptions_and_unknown_days_counts_both_in_words_that_fit_the_margin():
    """Read on page 61 of the demo PDF: "92 outside the policy/unknown" ran past the page's edge."""
    days = {f"2026-07-{d:02d}": ("broken" if d <= 20 else "unknown") for d in range(1, 32)}
    svg = str(coverage_calendar([{"id": "x", "resource": "//cloudsql.googleapis.com/projects/p/instances/db",
                                  "status": "fail", "details": {"days": days}}]))
    assert ">31 exception/unknown</text>" in svg
