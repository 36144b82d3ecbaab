"""Auditor sampling: the same seed always draws the same sample; sizes follow the control's declared frequency;
every control with a non-empty population is sampled; each sampled day names that day's evidence."""

import copy
import io
import json
import random
from pathlib import Path

import openpyxl
import pytest

from auditor.checks_api import FREQUENCIES, Check, declared_frequency, discover_checks
from auditor.errors import ConfigError
from auditor.sampling import DEFAULT_SIZES, default_seed, draw, frequency_of, population

FIXTURES = Path(__file__).parent / "fixtures"
DECLARED = {"backup-frequency": "daily", "backup-enabled": "daily", "backup-cross-region": "daily",
            "backup-encryption-parity": "quarterly", "source-backup-freshness": "daily"}


@pytest.fixture()
def results():
    document = json.loads((FIXTURES / "results_sample.json").read_text())
    for control in document["controls"]:  # the fixture predates declared frequencies: declare them as the checks do
        control["frequency"] = {"declared": DECLARED[control["id"]], "source": None}
    document["as_of"] = "2026-09-30T02:00:00Z"
    return document


def _control(results, cid):
    return next(c for c in results["controls"] if c["id"] == cid)


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


def test_every_control_with_a_population_is_sampled_by_its_declared_frequency(results):
    sample = draw(results, "s")
    by_control = {c["control"]: c for c in sample["controls"]}
    in_scope = {c["id"] for c in results["controls"] if any(f["status"] != "not_applicable" for f in c["findings"])}
    assert set(by_control) == in_scope and len(in_scope) == 5
    assert by_control["backup-frequency"]["size"] == DEFAULT_SIZES["daily"] == 25
    assert by_control["backup-encryption-parity"]["frequency"] == "quarterly"
    assert by_control["backup-encryption-parity"]["size"] == 1
    assert by_control["backup-cross-region"]["point_in_time"] is True  # no day states: judged at one moment, and said so
    items = by_control["backup-frequency"]["items"]
    assert len({(i["resource"], i["date"]) for i in items}) == 25  # without replacement
    assert [i["date"] for i in items] == sorted(i["date"] for i in items)


def test_frequency_is_read_from_the_declaration_never_guessed(results):
    control = _control(results, "backup-frequency")
    for f in control["findings"]:
        f["expected"]["interval_hours"] = 168  # a weekly-looking expectation changes nothing
    assert frequency_of(control) == "daily"
    control["frequency"] = {"declared": "weekly"}
    assert frequency_of(control) == "weekly"
    assert frequency_of({"frequency": {"declared": "annually"}}) == "annual"  # results.v2's word for it
    del control["frequency"]
    assert frequency_of(control) is None
    sample = draw(results, "s")
    assert "backup-frequency" not in {c["control"] for c in sample["controls"]}
    assert {"control": "backup-frequency", "reason": "the results declare no frequency for this control"} in sample["not_sampled"]


def test_configured_sizes(results):
    _control(results, "backup-frequency")["frequency"] = {"declared": "weekly"}
    sample = draw(results, "s", {"weekly": 3})
    (entry,) = [c for c in sample["controls"] if c["control"] == "backup-frequency"]
    assert entry["size"] == 3 and sample["sizes"]["weekly"] == 3 and sample["sizes"]["daily"] == 25


def test_population_holds_every_due_day_in_any_state_word(results):
    """A baseline written before the day vocabulary was shared says enabled/disabled: those are due days too."""
    control = _control(results, "backup-enabled")
    finding = next(f for f in control["findings"] if f["status"] != "not_applicable")
    finding["details"]["days"] = {"2026-07-01": "enabled", "2026-07-02": "disabled", "2026-07-03": "unknown",
                                  "2026-07-04": "not_applicable", "2026-07-05": "stopped", "2026-10-01": "enabled",
                                  "2026-09-30": "not_due"}
    units = [u for u in population(control, results) if u.finding == finding["id"]]
    assert [(u.day, u.state) for u in units] == [("2026-07-01", "enabled"), ("2026-07-02", "disabled"),
                                                 ("2026-07-03", "unknown")]


def test_small_population_is_taken_whole(results):
    control = _control(results, "backup-frequency")
    keep = control["findings"][0]
    keep["details"]["days"] = {"2026-07-01": "kept", "2026-07-02": "broken", "2026-07-03": "not_due"}
    control["findings"] = [keep]
    (entry,) = [c for c in draw(results, "x")["controls"] if c["control"] == "backup-frequency"]
    assert entry["size"] == entry["population"] == 2


def test_a_sampled_day_names_its_own_entries_then_its_locker_then_the_resource(results):
    control = _control(results, "backup-frequency")
    finding = next(f for f in control["findings"] if "days" in f["details"])
    finding["details"]["days"] = {"2026-07-01": "kept", "2026-07-02": "broken", "2026-07-03": "broken"}
    finding["details"]["day_evidence"] = {"2026-07-01": ["e-page-3"]}
    finding["details"]["day_entries"] = {"2026-07-01": ["log:abc"]}
    results["lockers"] = [{"id": "L-0702", "manifest_sha256": "0" * 64, "as_of": "2026-07-02T02:00:00Z"}]
    units = {u.day: u for u in population(control, results) if u.finding == finding["id"]}
    assert (units["2026-07-01"].evidence, units["2026-07-01"].entries, units["2026-07-01"].evidence_scope) == (
        ("e-page-3",), ("log:abc",), "day")
    assert units["2026-07-02"].evidence_scope == "locker" and units["2026-07-02"].lockers == ("L-0702",)
    assert units["2026-07-03"].evidence_scope == "resource" and units["2026-07-03"].evidence == tuple(finding["evidence"])


def test_without_a_seed_the_seed_comes_from_the_evidence_digest(results):
    sample = draw(results)
    assert sample["seed"] == default_seed(results) and sample["seed"].startswith("evidence-")
    assert "no --seed" in sample["seed_source"]
    assert draw(results) == sample


def test_every_builtin_check_declares_a_frequency_and_an_undeclared_one_is_refused():
    checks = discover_checks()
    assert all(c.frequency in FREQUENCIES for c in checks)
    assert {c.id: c.frequency for c in checks}["restore-testing"] == "quarterly"
    plugin = Check("plugin", "t", ("CC9.1",), "c", "d", needs=(), evaluate=lambda facts, ctx: [])
    with pytest.raises(ConfigError, match="'plugin' declares frequency None"):
        declared_frequency(plugin)


def test_the_population_sheet_lets_an_auditor_redraw_the_sample_without_the_tool(results):
    """Only the sheets' rows, the seed and the documented method: the same items come out."""
    from datetime import date, timedelta

    from auditor.reports.workbook import render_workbook

    sample = draw(results, "redraw-me")
    book = openpyxl.load_workbook(io.BytesIO(render_workbook(results, {"calls": [], "items": []}, sample)), read_only=True)
    rows, header = [], None
    for name in [n for n in book.sheetnames if n.startswith("Population ")]:
        found = list(book[name].iter_rows(values_only=True))
        header = found[0]
        rows += [tuple(r) + (None,) * (len(header) - len(r)) for r in found[1:]]  # read-only mode drops trailing empty cells
    col = {name: i for i, name in enumerate(header)}
    listed = {r[0]: r for r in list(book["Population"].iter_rows(values_only=True))[1:]}
    assert set(listed) == {c["control"] for c in sample["controls"]}
    for drawn in sample["controls"]:
        mine = sorted((r for r in rows if r[col["control"]] == drawn["control"]), key=lambda r: r[col["index_from"]])
        assert mine[0][col["index_from"]] == 0 and mine[-1][col["index_to"]] == drawn["population"] - 1
        assert all(a[col["index_to"]] + 1 == b[col["index_from"]] for a, b in zip(mine, mine[1:]))  # no gap, no overlap

        def unit(i):  # position i -> (date, resource, finding), by the sheet alone
            row = next(r for r in mine if r[col["index_from"]] <= i <= r[col["index_to"]])
            day = date.fromisoformat(row[col["date_from"]]) + timedelta(days=i - row[col["index_from"]])
            return day.isoformat(), row[col["resource"]], row[col["finding_id"]]

        picks = random.Random(f"{sample['seed']}|{drawn['control']}").sample(range(drawn["population"]), drawn["size"])
        assert sorted(unit(i) for i in picks) == sorted((i["date"], i["resource"], i["finding"]) for i in drawn["items"])
        numbers = [n for r in mine if r[col["sampled"]] for n in str(r[col["sampled"]]).split()]
        assert len(numbers) == drawn["size"]


def test_a_population_longer_than_a_sheet_continues_on_the_next(results):
    from openpyxl import Workbook

    from auditor.reports.population import add_population_sheet

    sample = draw(results, "s")
    wb = Workbook(write_only=True)
    add_population_sheet(wb, results, sample, max_rows=2)
    out = io.BytesIO()
    wb.save(out)
    book = openpyxl.load_workbook(io.BytesIO(out.getvalue()), read_only=True)
    sizes = [sum(1 for _ in book[n].iter_rows()) - 1 for n in book.sheetnames if n.startswith("Population ")]
    assert max(sizes) == 2 and len(sizes) > len(sample["controls"])
