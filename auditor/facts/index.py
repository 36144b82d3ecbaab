"""Facts grouped by the resource they are about, built once per Facts object and reused by every check.

A check evaluates each of thousands of instances; scanning every backup attempt, configuration
change or observation for each of them is quadratic (2,000 instances x 180,000 attempts a
quarter). `of(facts)` groups each list once, keeping its order, so a lookup returns exactly what
the scan would have. The index is rebuilt if a list it groups has changed size since (facts are
read-only once built, but tests assemble them by hand).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from auditor.facts.model import ActivationChange, BackupAttempt, ConfigChange, Facts, SqlInstance


@dataclass
class FactIndex:
    signature: tuple[int, ...]
    attempts: dict[str, list[BackupAttempt]] = field(default_factory=lambda: defaultdict(list))
    changes: dict[str, list[ConfigChange]] = field(default_factory=lambda: defaultdict(list))
    activation: dict[str, list[ActivationChange]] = field(default_factory=lambda: defaultdict(list))
    observations: dict[str, list[SqlInstance]] = field(default_factory=lambda: defaultdict(list))
    listings: dict[str, list[datetime]] = field(default_factory=lambda: defaultdict(list))
    operations: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    by_project: dict[str, list[SqlInstance]] = field(default_factory=lambda: defaultdict(list))

    def attempts_of(self, resource: str) -> list[BackupAttempt]:
        return self.attempts.get(resource, [])

    def changes_of(self, resource: str) -> list[ConfigChange]:
        return self.changes.get(resource, [])

    def activation_of(self, resource: str) -> list[ActivationChange]:
        return self.activation.get(resource, [])

    def observations_of(self, resource: str) -> list[SqlInstance]:
        return self.observations.get(resource, [])

    def listings_of(self, scope: str) -> list[datetime]:
        return self.listings.get(scope, [])

    def operations_of(self, resource: str) -> list[Any]:
        return self.operations.get(resource, [])

    def instances_in(self, project: str) -> list[SqlInstance]:
        return self.by_project.get(project, [])


def _signature(facts: Facts) -> tuple[int, ...]:
    lists = (facts.backup_attempts, facts.config_changes, facts.activation_changes, facts.instance_observations,
             facts.instance_listings, facts.sql_operations, facts.sql_instances)
    return tuple(x for values in lists for x in (id(values), len(values)))


def of(facts: Facts) -> FactIndex:
    """The index of these facts (built on first use)."""
    signature = _signature(facts)
    cached = facts.__dict__.get("_fact_index")
    if cached is not None and cached.signature == signature:
        return cached
    index = FactIndex(signature)
    for attempt in facts.backup_attempts:
        index.attempts[attempt.instance].append(attempt)
    for change in facts.config_changes:
        index.changes[change.instance].append(change)
    for activation in facts.activation_changes:
        index.activation[activation.instance].append(activation)
    for observation in facts.instance_observations:
        index.observations[observation.resource].append(observation)
    for scope, moment in facts.instance_listings:
        index.listings[scope].append(moment)
    for operation in facts.sql_operations:
        index.operations[operation.instance].append(operation)
    for instance in facts.sql_instances:
        index.by_project[instance.project].append(instance)
    facts.__dict__["_fact_index"] = index
    return index
