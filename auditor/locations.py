"""Google Cloud locations and the countries they hold, from the packaged `data/regions.csv`.

"A separate region in the same country" needs to know, for any location a backup may land in (a
region, a multi-region such as `us`, a predefined dual-region such as `nam4`, or a configurable
dual-region given as its two member regions), which regions and countries it spans. Cloud Storage
writes locations in UPPERCASE and Cloud SQL in lowercase: everything is normalised here, once.
A location that is not in the table is unknown, and an unknown location never passes a check.

Cloud KMS names some locations Storage does not (`global`, `europe`, `ca`, the `nam3`..`nam12`
multi-regions); `country_of` knows those too, for judging a key's country against its data's.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

SEVERAL = "several countries"

# Cloud KMS location codes absent from the Storage-oriented table (the nam* KMS multi-regions are
# built from US regions; `ca` from Canadian ones), from Google's Cloud KMS locations page.
_KMS_ONLY = {
    "global": frozenset({SEVERAL}),
    "europe": frozenset({SEVERAL}),
    "ca": frozenset({"CA"}),
    **{f"nam{n}": frozenset({"US"}) for n in (3, 6, 7, 8, 9, 10, 11, 12)},
}


@dataclass(frozen=True)
class Location:
    code: str  # lowercase: us-east1, us, nam4, or "us-east1+us-west1" for a custom dual-region
    kind: str  # region | multi-region | dual-region
    regions: frozenset[str]  # member regions (a region is its own member; multi-regions have none listed)
    countries: frozenset[str]  # ISO codes; empty when the location spans several countries we cannot name

    @property
    def single_country(self) -> str | None:
        """The one country the location lies in, or None when it spans several (EU, ASIA, EUR4...)."""
        return next(iter(self.countries)) if len(self.countries) == 1 else None

    def describe(self) -> str:
        country = self.single_country or "several countries"
        if self.kind == "region":
            return f"region {self.code} ({country})"
        members = f": {', '.join(sorted(self.regions))}" if self.regions else ""
        return f"{self.kind} {self.code.upper()} ({country}{members})"


def normalise(code: str | None) -> str | None:
    return code.strip().lower() if isinstance(code, str) and code.strip() else None


@lru_cache(maxsize=1)
def _table() -> dict[str, tuple[str, str, str]]:
    text = resources.files("auditor").joinpath("data/regions.csv").read_text(encoding="utf-8")
    return {row["location"].lower(): (row["kind"], row["city_or_members"], row["country"].strip())
            for row in csv.DictReader(text.splitlines())}


def lookup(code: str | None, data_locations: list[str] | tuple[str, ...] | None = None) -> Location | None:
    """The location, or None when it is unknown. `data_locations` are a configurable dual-region's members."""
    table = _table()
    name = normalise(code)
    if data_locations:
        members = [lookup(m) for m in data_locations]
        if any(m is None or m.kind != "region" for m in members):
            return None
        regions = frozenset(m.code for m in members if m)
        countries = frozenset(c for m in members if m for c in m.countries)
        return Location("+".join(sorted(regions)), "dual-region", regions, countries)
    if name is None or name not in table:
        return None
    kind, members, country = table[name]
    if kind == "region":
        return Location(name, kind, frozenset({name}), frozenset({country}) if country else frozenset())
    if kind == "dual-region":
        regions = frozenset(m.strip().lower() for m in members.split("+"))
        member_countries = frozenset(table[r][2] for r in regions if r in table and table[r][2])
        countries = member_countries if len(member_countries) > 1 else (frozenset({country}) if country else member_countries)
        return Location(name, kind, regions, countries)
    return Location(name, kind, frozenset(), frozenset({country}) if country else frozenset())


def nearest_multi_region(region: str | None) -> str | None:
    """Where Cloud SQL puts backups when backupConfiguration.location is unset: the multi-region nearest the
    instance (us, eu or asia). None when the region is outside those three areas or unknown."""
    place = lookup(region)
    if place is None or place.kind != "region":
        return None
    if place.single_country == "US":
        return "us"
    if place.code.startswith("europe-"):
        return "eu"
    if place.code.startswith(("asia-", "australia-")):
        return "asia"
    return None


def country_of(location: str | None) -> set[str] | None:
    """The ISO countries a location may hold data in; {SEVERAL} for unnamed multi-country ones; None if unknown."""
    place = lookup(location)
    if place is not None:
        return set(place.countries) or {SEVERAL}
    code = normalise(location)
    return set(_KMS_ONLY[code]) if code in _KMS_ONLY else None


def describe(location: str, countries: set[str] | None) -> str:
    """'us-east1 (US)' for a reader."""
    if countries is None:
        return f"{location} (unknown location)"
    return f"{location} ({', '.join(sorted(countries))})"
