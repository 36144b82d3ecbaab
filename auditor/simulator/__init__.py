"""A strict local HTTP server speaking the Google (and later GitHub) REST subset the collectors use.

Driven by a scenario file (see docs/simulator.md) so tests and demos never touch real clouds and
always see the same history, whatever day they run.
"""

from auditor.simulator.scenario import Scenario, load_scenario
from auditor.simulator.server import Simulator

__all__ = ["Scenario", "Simulator", "load_scenario"]
