"""Is a backup location "a separate region in the same country" as its source?

Rules (the policy's own example: US East to US West):
- an unknown location, or an unknown source, never passes;
- a region: must differ from the source's region and lie in the source's country;
- a dual-region: neither member may be the source's region, and both must lie in the source's country;
- a multi-region: EU and ASIA span several countries and never pass; US is one country and passes
  only when `policy.accept_multi_region` is true (the finding always names the multi-region).

`policy.country` (when set; the configuration in force that day): the backups must also lie in that
country, whatever the source's. A location whose country the table does not give (a multi-region over
countries it does not name, such as EU or ASIA, or a location not in the table) is unknown for that
rule, with the reason: never kept (`Verdict.known` false), and a failure of the rules above stands.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.locations import Location


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str
    known: bool = True  # False: the country policy.country asks for cannot be established (ok is then False)


def judge(source: Location | None, source_code: str | None, target: Location | None, target_code: str | None,
          accept_multi_region: bool, country: str | None = None) -> Verdict:
    """The rules above; with `country` (policy.country), the backups must also lie in that country."""
    base = _separate_region(source, source_code, target, target_code, accept_multi_region)
    if country is None:
        return base
    if source is not None and source.single_country == country:  # the rules above already ask for that country
        return Verdict(True, f"{base.reason}, the country policy.country names") if base.ok else base
    inside = in_country(target, target_code, country)
    if not base.ok:  # broken by the rules above, whatever the country rule says; its reason is still named
        return base if inside.ok else Verdict(False, f"{base.reason}; and {inside.reason}")
    if not inside.ok:
        return inside
    return Verdict(True, f"{base.reason}, the country policy.country names")


def in_country(target: Location | None, target_code: str | None, country: str) -> Verdict:
    """Does the backup location lie in `country` (policy.country)? Unknown (`known` false) when the table does not
    say which country it lies in."""
    if target is None:
        return Verdict(False, f"the backup location {target_code or '(none)'} is not in the table of regions, so whether "
                              f"it lies in {country} (policy.country) is unknown", known=False)
    if not target.countries:
        return Verdict(False, f"the backups are in the {target.describe()}, whose countries the table does not name, so "
                              f"whether they lie in {country} (policy.country) is unknown", known=False)
    if target.countries != {country}:
        return Verdict(False, f"the backups are in the {target.describe()}, outside {country} (policy.country)")
    return Verdict(True, f"the backups are in the {target.describe()}, in {country} (policy.country)")


def _separate_region(source: Location | None, source_code: str | None, target: Location | None, target_code: str | None,
                     accept_multi_region: bool) -> Verdict:
    if source is None:
        return Verdict(False, f"the source location {source_code or '(none)'} is unknown, so its country cannot be established")
    if target is None:
        return Verdict(False, f"the backup location {target_code or '(none)'} is not a known Google Cloud location")
    country = source.single_country
    if country is None:
        return Verdict(False, f"the source lies in {source.describe()}, which is not one country")
    if target.kind == "multi-region":
        if target.single_country is None:
            return Verdict(False, f"the backups are in the {target.describe()}, which spans several countries")
        if target.single_country != country:
            return Verdict(False, f"the backups are in the {target.describe()}, another country than the source ({country})")
        if not accept_multi_region:
            return Verdict(False, f"the backups are in the {target.describe()}; the policy does not accept a multi-region "
                                  "as a separate region (policy.accept_multi_region: false)")
        return Verdict(True, f"the backups are in the {target.describe()}, accepted by policy.accept_multi_region")
    if target.regions & source.regions:
        shared = ", ".join(sorted(target.regions & source.regions))
        return Verdict(False, f"the backups are in the {target.describe()}, the same region as the source ({shared})")
    if target.countries != {country}:
        others = ", ".join(sorted(target.countries - {country})) or "several countries"
        return Verdict(False, f"the backups are in the {target.describe()}, outside the source's country {country} ({others})")
    return Verdict(True, f"the backups are in the {target.describe()}, a separate region in the same country ({country})")
