"""The sample company's pack: every control with a population is sampled, and a sampled day judged from
the audit log names that day's entry (its insertId) and the locker page that holds it."""

from __future__ import annotations

import json

import pytest


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
