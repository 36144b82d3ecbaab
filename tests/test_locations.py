"""The locations table and the "separate region, same country" rule, at its edges."""

import pytest

from auditor.checks.placement import judge
from auditor.locations import lookup, nearest_multi_region


def verdict(source, target, data_locations=None, accept=False):
    return judge(lookup(source), source, lookup(target, data_locations), target, accept)


def test_storage_uppercase_and_sql_lowercase_are_the_same_place():
    assert lookup("US-EAST1") == lookup("us-east1")
    assert lookup("us-east1").single_country == "US"


@pytest.mark.parametrize("source,target,ok", [
    ("us-east1", "us-west1", True),                   # the policy's own example
    ("us-east1", "us-east1", False),                  # the primary's own region
    ("us-east1", "northamerica-northeast1", False),   # Canada: another country
    ("europe-west1", "eu", False),                    # EU spans several countries
    ("asia-northeast1", "asia", False),               # so does ASIA
    ("us-east1", "nam4", False),                      # NAM4 = us-central1 + us-east1: includes the primary
    ("us-west1", "nam4", True),                       # both members in the US, neither is us-west1
    ("europe-west3", "eur4", False),                  # EUR4 = Finland + Netherlands
    ("asia-northeast3", "asia1", False),              # Korea -> Japan dual-region
])
def test_region_rules(source, target, ok):
    assert verdict(source, target).ok is ok, verdict(source, target).reason


def test_configurable_dual_region_in_two_countries_fails():
    result = verdict("us-central1", "us-east1+northamerica-northeast1", ["US-EAST1", "NORTHAMERICA-NORTHEAST1"])
    assert not result.ok and "CA" in result.reason


def test_unknown_locations_never_pass():
    assert not verdict("us-east1", "mars-north1").ok
    assert "not a known" in verdict("us-east1", "mars-north1").reason
    assert not verdict("moon-base1", "us-west1").ok
    assert lookup("us-east1", ["US-EAST1", "MARS-NORTH1"]) is None


def test_us_multi_region_is_decided_by_the_policy_and_named():
    refused, accepted = verdict("us-east1", "us"), verdict("us-east1", "us", accept=True)
    assert not refused.ok and "accept_multi_region: false" in refused.reason and "US" in refused.reason
    assert accepted.ok and "multi-region US" in accepted.reason


def test_nearest_multi_region_when_cloud_sql_location_is_unset():
    assert nearest_multi_region("us-east4") == "us"
    assert nearest_multi_region("europe-west9") == "eu"
    assert nearest_multi_region("asia-southeast3") == "asia"
    assert nearest_multi_region("nowhere1") is None
