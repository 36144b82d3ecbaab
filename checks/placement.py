"""Is a backup location "a separate region in the same country" as its source?

Rules (the policy's own example: US East to US West):
- an unknown location, or an unknown source, never passes;
- a region: must differ from the source's region and lie in the source's country;
- a dual-region: neither member may be the source's region, and both must lie in the source's country;
- a multi-region: EU and ASIA span several countries and never pass; US is one country and passes
  only when `policy.accept_multi_region` is true (the finding always names the multi-region).
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.locations import Location


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str


def judge(source: Location | None, source_code: str | None, target: Location | None, target_code: str | None,
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
