"""The check interface: metadata beside a pure `evaluate(facts, ctx) -> findings`.

Checks never touch the network and never see a client object: they declare the facts they need
and receive them. Built-in checks are listed explicitly in `auditor.checks.BUILTIN`; third-party
checks arrive through the `auditor.checks` entry-point group.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import entry_points
from typing import Any, Callable

from auditor.config import ClassificationPolicy, Config
from auditor.errors import ConfigError
from auditor.facts.model import Facts
from auditor.period import Period
from auditor.results import Finding


@dataclass(frozen=True)
class CheckContext:
    config: Config
    period: Period
    as_of: datetime
    inventory: Any = None
    # the configured data map could not be read from the evidence (why): classifications are then unknown
    inventory_problem: str | None = None
    #: the configuration each locker stored, oldest first: (its as-of time, its locker id, the Config); the
    #: thresholds in force on a day are those of the newest locker made by that day (checks.days.by_config)
    configs: tuple[tuple[datetime, str, Config], ...] = ()

    def classification_of(self, labels: dict[str, str], declared: str | None = None,
                          resource: str | None = None) -> tuple[str | None, ClassificationPolicy | None]:
        """The data's classification (declared, then label, then the policy default) and its policy.

        With `resource`, the declared inventory's classification of that store is the declared one.
        When the configured data map could not be read, a store's declared classification is unknown,
        and a label must not stand in for it: (None, None), so the rule ends inconclusive."""
        policy = self.config.policy
        if declared is None and resource and self.inventory is None and self.inventory_problem:
            return None, None
        if declared is None and resource and self.inventory is not None:
            declared = self.inventory.classification(resource)
        name = declared or labels.get(policy.classification_label) or policy.default_classification
        return name, policy.classifications.get(name) if name else None


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    criteria: tuple[str, ...]
    policy_clause: str
    description: str
    needs: tuple[str, ...]  # fact names (auditor.facts.sources, derived views): the check sees only these
    evaluate: Callable[[Facts, CheckContext], list[Finding]]
    beyond_policy: bool = False
    #: how often the control operates (FREQUENCIES): it sets the auditor's sample size (auditor.sampling)
    frequency: str | None = None
    #: "lockers": no history source shows a past day, so each day is judged from that day's own locker
    #: alone, with the configuration it stored (auditor.locker_days); None: the check judges days itself
    days_from: str | None = None


#: how often a control can operate, as the sampling table names them (config `sampling:`)
FREQUENCIES = ("daily", "weekly", "monthly", "quarterly", "annual")


def declared_frequency(check: Check) -> str:
    """The check's declared frequency; a check that declares none (or an unknown one) cannot be sampled
    by a size anybody chose, so it is refused at discovery rather than guessed."""
    if check.frequency not in FREQUENCIES:
        raise ConfigError(f"check {check.id!r} declares frequency {check.frequency!r}; expected one of {', '.join(FREQUENCIES)}")
    return check.frequency


def discover_checks() -> list[Check]:
    """Built-ins first (explicit list), then entry-point plugins; duplicate ids are an error."""
    from auditor.checks import BUILTIN

    found = list(BUILTIN)
    for entry in entry_points(group="auditor.checks"):
        check = entry.load()
        if not isinstance(check, Check):
            raise ConfigError(f"entry point {entry.name!r} in group auditor.checks is not an auditor Check")
        found.append(check)
    for check in found:
        declared_frequency(check)
    ids = [c.id for c in found]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ConfigError(f"check ids defined twice: {', '.join(duplicates)}")
    names = fact_names()
    for check in found:
        unknown = sorted(set(check.needs) - names)
        if unknown:
            raise ConfigError(f"check {check.id!r} needs facts that do not exist: {', '.join(unknown)} "
                              f"(known: {', '.join(sorted(names))})")
    return found


def fact_names() -> frozenset[str]:
    """Every name a check may put in `needs`: the declared fact collections, the derived views, `coverage`."""
    from auditor.facts.build import DERIVED_FROM
    from auditor.facts.sources import FACTS

    return frozenset(FACTS) | frozenset(DERIVED_FROM) | {"coverage"}
