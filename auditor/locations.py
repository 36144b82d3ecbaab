"""Which countries a Google Cloud location keeps data in, from the packaged locations table.

Used to judge "same country" promises (a CMEK key beside its data, backups beside their source).
Cloud KMS names some locations Storage does not (`global`, `europe`, `ca`, the `nam3`..`nam12`
multi-regions); their countries are listed here from Google's Cloud KMS locations page. A
location that spans several countries without a fixed list (`eu`, `asia`, `europe`, `global`)
answers {SEVERAL}, which never equals a real country; an unknown location answers None, which a
check must never treat as a pass.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources

SEVERAL = "several countries"

# Cloud KMS location codes absent from the Storage-oriented table (all nam* KMS multi-regions
# are built from US regions; `ca` from Canadian ones).
_KMS_ONLY = {
    "global": frozenset({SEVERAL}),
    "europe": frozenset({SEVERAL}),
    "ca": frozenset({"CA"}),
    **{f"nam{n}": frozenset({"US"}) for n in (3, 6, 7, 8, 9, 10, 11, 12)},
}


@lru_cache(maxsize=1)
def _table() -> dict[str, tuple[str, str, str]]:
    text = resources.files("auditor").joinpath("data/regions.csv").read_text(encoding="utf-8")
    return {row["location"].strip().lower(): (row["kind"], row["city_or_members"], row["country"].strip())
            for row in csv.DictReader(text.splitlines())}


def country_of(location: str | None) -> set[str] | None:
    """The ISO countries a location may hold data in; {SEVERAL} for unlisted multi-country ones; None if unknown."""
    if not location:
        return None
    code = location.strip().lower()
    table = _table()
    if code in table:
        kind, members, country = table[code]
        if country:
            return {country}
        if kind == "dual-region":
            countries = [country_of(m) for m in members.split("+")]
            if all(countries):
                return set().union(*countries)  # type: ignore[arg-type]
        return {SEVERAL}
    if code in _KMS_ONLY:
        return set(_KMS_ONLY[code])
    return None


def describe(location: str, countries: set[str] | None) -> str:
    """'us-east1 (US)' for a reader."""
    if countries is None:
        return f"{location} (unknown location)"
    return f"{location} ({', '.join(sorted(countries))})"
