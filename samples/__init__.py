"""The sample company shipped with the tool (its configuration, data map, policy and simulator scenario)."""

#: The folder of the sample company that `auditor demo` audits.
SAMPLE_COMPANY = "bangkok-solutions"
