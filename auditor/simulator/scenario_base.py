"""What every scenario model shares: strict fields (a typo is an error) and UTC timestamps."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a timezone (e.g. a trailing Z)")
    return value.astimezone(dt.timezone.utc)
