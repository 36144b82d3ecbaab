"""JUnit XML for CI systems: one test case per finding, named by its resource and rule (unique in its suite).

Pure: ``render_junit(results, gate=None) -> str``. A failing finding is a <failure>, an inconclusive
one an <error> (the control could not be verified, which is not the same as failing it), a not
applicable one is <skipped>. A finding under an unexpired waiver passes, with the waiver in its
<system-out>, because that is how `effective_status` counts it. With a gate report, one more suite
lists every difference from the baseline, failing the ones that fail the gate.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from auditor.gate import GateReport


def _waiver_active(finding: dict[str, Any]) -> bool:
    waiver = finding.get("waiver")
    return bool(waiver) and not waiver.get("expired", False)


def _case(suite: ET.Element, classname: str, name: str) -> ET.Element:
    return ET.SubElement(suite, "testcase", {"classname": classname, "name": name, "time": "0"})


def _case_name(finding: dict[str, Any]) -> str:
    """`resource [rule]`: a control can judge one resource by several rules (population, each setting),
    and a case name that is the resource alone would collide (readers then merge or drop cases)."""
    rule = finding.get("rule")
    if not rule:  # a v1 document: the rule is the id's last part after the resource
        rule = finding["id"].rsplit(":", 1)[-1]
    return f"{finding['resource']} [{rule}]"


def _unique(cases: list[ET.Element]) -> list[ET.Element]:
    seen: dict[str, int] = {}
    for case in cases:
        name = case.get("name", "")
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:  # two findings with the same resource and rule cannot happen in valid results; never merge them
            case.set("name", f"{name} #{seen[name]}")
    return cases


def _suite(root: ET.Element, name: str, cases: list[ET.Element], timestamp: str | None) -> None:
    attrs = {"name": name, "tests": str(len(cases)),
             "failures": str(sum(1 for c in cases if c.find("failure") is not None)),
             "errors": str(sum(1 for c in cases if c.find("error") is not None)),
             "skipped": str(sum(1 for c in cases if c.find("skipped") is not None)), "time": "0"}
    if timestamp:
        attrs["timestamp"] = timestamp.rstrip("Z")
    suite = ET.SubElement(root, "testsuite", attrs)
    suite.extend(cases)


def _finding_case(control: dict[str, Any], finding: dict[str, Any]) -> ET.Element:
    case = ET.Element("testcase", {"classname": control["id"], "name": _case_name(finding), "time": "0"})
    status, message = finding["status"], finding["message"]
    waiver = finding.get("waiver")
    if status in ("fail", "inconclusive") and not _waiver_active(finding):
        tag = "failure" if status == "fail" else "error"
        child = ET.SubElement(case, tag, {"message": message, "type": status})
        child.text = f"{finding['id']}\nobserved: {finding['observed']}\nexpected: {finding['expected']}"
        if waiver:
            child.text += f"\nwaiver {waiver['ticket']} expired on {waiver['expires']}"
    elif status == "not_applicable":
        ET.SubElement(case, "skipped", {"message": message})
    out = ET.SubElement(case, "system-out")
    out.text = message + (f"\nWaived ({status}) until {waiver['expires']}: {waiver['reason']} "
                          f"(approved by {waiver['approver']}, {waiver['ticket']})" if _waiver_active(finding) else "")
    return case


def render_junit(results: dict[str, Any], gate: GateReport | None = None) -> str:
    root = ET.Element("testsuites", {"name": f"{results['organization']} backup controls"})
    for control in results["controls"]:
        cases = _unique([_finding_case(control, f) for f in control["findings"]])
        if not cases:  # a control with nothing in scope is still a test that did not pass
            case = ET.Element("testcase", {"classname": control["id"], "name": "(no resources)", "time": "0"})
            ET.SubElement(case, "error", {"message": f"{control['id']}: nothing in scope", "type": control["status"]})
            cases = [case]
        _suite(root, control["id"], cases, results.get("as_of"))
    if gate is not None:
        cases = []
        for change in gate.changes:
            case = ET.Element("testcase", {"classname": f"gate.{change.kind}",
                                           "name": f"{change.finding or change.resource}{' ' + change.key if change.key else ''}",
                                           "time": "0"})
            if change.failing:
                ET.SubElement(case, "failure", {"message": change.message, "type": change.kind}).text = change.message
            else:
                ET.SubElement(case, "system-out").text = change.message
            cases.append(case)
        if not cases:
            cases = [ET.Element("testcase", {"classname": "gate", "name": "no drift from the baseline", "time": "0"})]
        _suite(root, "gate", cases, results.get("as_of"))
    for key in ("tests", "failures", "errors", "skipped"):  # totals on the root too: some readers count only these
        root.set(key, str(sum(int(suite.get(key, "0")) for suite in root.findall("testsuite"))))
    root.set("time", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
