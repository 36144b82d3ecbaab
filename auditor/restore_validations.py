"""Restore validation records (`restore_validations: PATH`): what was checked after a restore, by whom, with what result.

A restore operation shows that data came back from a backup; only a person or a script that then
looked at the data can say it was right. Each record names the date of the restore, the store it
tests (full resource name), the backup restored (the id Cloud SQL or Backup and DR gave it), the
check performed, the result (pass or fail) and who did it. restore-testing shows each record beside
the operation it belongs to; a restore whose record says `fail` does not count as a good test.

Like the data map, the file's text is stored in the evidence locker, so re-performance needs no
file; a file that does not validate is a configuration error (exit 2) naming the file, line and key.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from auditor import yamlsafe
from auditor.config import format_validation_error, load_yaml
from auditor.errors import ConfigError
from auditor.inventory import RESOURCE


class Validation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    date: dt.date
    store: str = Field(pattern=RESOURCE.pattern)
    backup_id: str = Field(min_length=1)
    check: str = Field(min_length=1)
    result: Literal["pass", "fail"]
    by: str = Field(min_length=1)
    restored_to: str | None = Field(default=None, pattern=RESOURCE.pattern)  # the scratch instance, if not in place


class Validations(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    validations: list[Validation]


def parse_validations(text: str, source: Path) -> Validations:
    import yaml

    try:
        data = yamlsafe.load(text, dates_as_text=True)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else str(source)
        raise ConfigError(f"{where}: not valid YAML: {getattr(err, 'problem', err)}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping with a `validations` list at the top level")
    try:
        return Validations.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(source, text, err).replace("invalid configuration", "invalid restore validations", 1)) from err


def load_validations(path: Path) -> tuple[str, Validations]:
    text, _data = load_yaml(path)
    return text, parse_validations(text, path)
