"""Facts: typed observations built from raw evidence, known or unknown per scope.

- `auditor.facts.access`: JSON accessors every reader uses;
- `auditor.facts.sources`: one module per evidence source (API method, scope, reader, facts filled,
  IAM permissions, cost term);
- `auditor.facts.known`: Known / Unknown / Scoped;
- `auditor.facts.build`: lockers -> frozen Facts;
- derived views, computed in the build: `history` (+ `timeline`), `discovery` (stores, scope gaps),
  `protection`.
"""

from auditor.facts.build import build_facts
from auditor.facts.model import Facts

__all__ = ["Facts", "build_facts"]
