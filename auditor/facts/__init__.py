"""Facts: typed observations normalised from raw evidence."""

from auditor.facts.model import Facts
from auditor.facts.normalize import build_facts

__all__ = ["Facts", "build_facts"]
