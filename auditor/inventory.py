"""The declared inventory (`inventory: PATH`): the company's own map of its critical data.

The policy promises "an up-to-date inventory and data flow map of all critical data". This file is
that map: each critical store by full resource name, its classification, owner, how it is backed
up and where its data flows, plus the date the map was last reviewed and the stores deliberately
left out (each with a reason). It is validated strictly, like auditor.yaml, so a typo never hides a
store; errors name the file, the line and the key.

The file's content travels inside the evidence locker (collected like any API page), so
`auditor check --evidence` re-performs the inventory checks without the file.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
import re
from pathlib import Path
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from auditor.config import format_validation_error, load_yaml
from auditor import reading
from auditor.errors import ConfigError

RESOURCE = re.compile(r"^//[a-z0-9.-]+\.googleapis\.com/\S+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class BucketBackup(_Strict):
    """Backups written to a Cloud Storage bucket (exports, dumps, snapshots copied out)."""

    backup_bucket: str = Field(alias="backup-bucket")

    @field_validator("backup_bucket")
    @classmethod
    def _bucket_name(cls, value: str) -> str:
        if not value.startswith("//storage.googleapis.com/") or "/" in value.removeprefix("//storage.googleapis.com/"):
            raise ValueError(f"{value!r} is not a bucket's full resource name (write //storage.googleapis.com/NAME)")
        return value


BackupMethod = Union[Literal["cloudsql-automated", "backupdr", "none", "managed-by-service"], BucketBackup]


class Flow(_Strict):
    to: str
    purpose: str | None = None


class Store(_Strict):
    resource: str
    classification: str
    owner: str
    backup: list[BackupMethod] = Field(default_factory=list)
    flows: list[Flow] = Field(default_factory=list)
    notes: str | None = None
    restore_targets: list[str] = Field(default_factory=list)  # scratch instances its restore tests restore into

    @field_validator("restore_targets")
    @classmethod
    def _full_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not RESOURCE.match(name):
                raise ValueError(f"restore target {name!r} is not a full resource name")
        return value

    @field_validator("resource")
    @classmethod
    def _full_name(cls, value: str) -> str:
        if not RESOURCE.match(value):
            raise ValueError(f"{value!r} is not a full resource name (e.g. //cloudsql.googleapis.com/projects/P/instances/I)")
        return value

    @field_validator("backup", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, (str, dict)) else value

    @property
    def backup_buckets(self) -> list[str]:
        return [m.backup_bucket for m in self.backup if isinstance(m, BucketBackup)]


class Exclusion(_Strict):
    resource: str
    reason: str = Field(min_length=3)

    _full_name = field_validator("resource")(Store._full_name.__func__)


class Validation(_Strict):
    """A record of what was checked after one restore test: the day, the store it tests, the backup restored
    (the id Cloud SQL or Backup and DR gave it), the check performed, the result and who did it. A restore
    shows data came back; only someone who then looked at the data can say it was right (restore-testing
    shows each record beside its restore; one whose result is `fail` makes that restore not count)."""

    date: dt.date
    store: str
    backup_id: str = Field(min_length=1)
    check: str = Field(min_length=1)
    result: Literal["pass", "fail"]
    by: str = Field(min_length=1)
    restored_to: str | None = None  # the scratch instance, when not restored in place

    @field_validator("store", "restored_to")
    @classmethod
    def _full_name(cls, value: str | None) -> str | None:
        if value is not None and not RESOURCE.match(value):
            raise ValueError(f"{value!r} is not a full resource name")
        return value


class DeclaredInventory(_Strict):
    reviewed: dt.date
    owner: str | None = None
    stores: list[Store]
    exclusions: list[Exclusion] = Field(default_factory=list)
    restore_validations: list[Validation] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> "DeclaredInventory":
        keys = [(s.resource, f"stores.{n}.resource") for n, s in enumerate(self.stores)] + \
               [(e.resource, f"exclusions.{n}.resource") for n, e in enumerate(self.exclusions)]
        dupes = sorted(n for n, times in Counter(name for name, _key in keys).items() if times > 1)
        if dupes:
            # named by the key of its second declaration, so the error carries that line
            where = [key for name, key in keys if name == dupes[0]]
            raise ValueError(f"{where[1]}: {dupes[0]} is declared more than once (as a store or an exclusion; first at "
                             f"{where[0]}){f'; so are {len(dupes) - 1} more' if len(dupes) > 1 else ''}: "
                             f"{', '.join(dupes)}")
        return self

    @functools.cached_property
    def _by_resource(self) -> tuple[dict[str, Store], dict[str, Exclusion]]:
        """Lookups by name (a data map of thousands of stores is asked about each store of the organisation)."""
        return {s.resource: s for s in reversed(self.stores)}, {e.resource: e for e in reversed(self.exclusions)}

    def store(self, resource: str) -> Store | None:
        return self._by_resource[0].get(resource)

    def exclusion(self, resource: str) -> Exclusion | None:
        return self._by_resource[1].get(resource)

    def classification(self, resource: str) -> str | None:
        store = self.store(resource)
        return store.classification if store else None


def parse_inventory(text: str, source: Path) -> DeclaredInventory:
    """Validate inventory YAML text; errors name the file, line and key like config errors do.

    The same stored text is parsed by the locker's input check and again by the facts (seconds for a map of
    thousands of stores): the last few parses are kept. Callers read the model and never change it."""
    return _parse_inventory(text, str(source))


@functools.lru_cache(maxsize=2)
def _parse_inventory(text: str, name: str) -> DeclaredInventory:
    source = Path(name)
    data = reading.parse_yaml(text, str(source), error=ConfigError)
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping (reviewed, stores, exclusions) at the top level")
    try:
        return DeclaredInventory.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(source, text, err).replace("invalid configuration", "invalid inventory", 1)) from err


def load_inventory(path: Path) -> tuple[str, DeclaredInventory]:
    """(text, inventory) of an inventory file; the text is what goes into the evidence locker."""
    text, _data = load_yaml(path, "inventory")
    return text, parse_inventory(text, path)

