"""junit.xml: one test case per objective, so that CI shows a drill as passed or failed tests.

Cases: the RTO of the drill, the RPO of each store, and the baseline-health guardrail of each
critical probe. An objective whose verdict is `unknown` fails too (unknown is never met), with
the reason in its message, so a CI gate never passes on a number nobody could measure.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from drdrill.journal.reader import Journal

SUITE_CLASS = "drdrill"

# The runner's note when a guardrail stops the drill before the fault (drills/runner.py).
# Known shortcoming: the journal has no structured guardrail record, so the cases are read
# from the note's words; if the runner rewords it, a tripped guardrail shows as passed.
_BASELINE_NOTE = re.compile(r"baseline unhealthy: probe (?P<probe>\S+) (?P<detail>.*)")


def render_junit(summary: dict[str, Any], journal: Journal) -> str:
    """junit.xml of the run, as a string: one <testsuite> holding one <testcase> per objective."""
    cases = objective_cases(summary) + guardrail_cases(journal)
    suite = ET.Element("testsuite", {
        "name": f"drdrill {summary.get('drill', '')}".strip(),
        "tests": str(len(cases)),
        "failures": str(sum(1 for case in cases if case.find("failure") is not None)),
        "errors": "0",
        "skipped": str(sum(1 for case in cases if case.find("skipped") is not None)),
        "timestamp": summary.get("t0_utc") or _run_start(journal),
        "hostname": str((journal.header or {}).get("host", "")),
    })
    properties = ET.SubElement(suite, "properties")
    for key in ("run_id", "drill", "status", "verdict", "abort_reason"):
        if summary.get(key) is not None:
            ET.SubElement(properties, "property", {"name": key, "value": str(summary[key])})
    suite.extend(cases)

    root = ET.Element("testsuites", {"name": "drdrill", "tests": suite.get("tests", "0"),
                                     "failures": suite.get("failures", "0"), "errors": "0"})
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def objective_cases(summary: dict[str, Any]) -> list[ET.Element]:
    """The RTO case of the drill and one RPO case per store (none where no objective is set)."""
    objectives = summary.get("objectives") or {}
    cases: list[ET.Element] = []

    rto = objectives.get("rto")
    if rto and rto.get("objective_seconds") is not None:
        cases.append(_objective_case(
            "RTO of the drill", rto["objective_seconds"], rto.get("measured_seconds"),
            rto.get("bound_seconds"), rto["verdict"], rto.get("reason")))

    rpo = objectives.get("rpo")
    if rpo and rpo.get("objective_seconds") is not None:
        for store in summary.get("stores", []):
            cases.append(_objective_case(
                f"RPO of store {store['name']}", rpo["objective_seconds"],
                store.get("rpo_seconds"), store.get("rpo_bound_seconds"), store["verdict"],
                _store_detail(store)))
    return cases


def guardrail_cases(journal: Journal) -> list[ET.Element]:
    """One baseline-health case per critical probe: failed by the runner's note, skipped when
    the drill never reached the end of its baseline, passed otherwise."""
    header = journal.header or {}
    tripped = _tripped_guardrails(journal)
    reached_fault = any(
        event.get("k") == "phase" and event.get("name") == "fault" for event in journal.events)

    cases = []
    for probe in header.get("probes", []):
        if not probe.get("critical"):
            continue

        case = _case(f"guardrail baseline health of probe {probe['name']}")
        if probe["name"] in tripped:
            detail = tripped[probe["name"]]
            ET.SubElement(case, "failure", {"message": detail, "type": "guardrail"}).text = detail
        elif not reached_fault:
            reason = "the drill stopped before its baseline ended"
            ET.SubElement(case, "skipped", {"message": reason})
        cases.append(case)
    return cases


def failure_message(objective: float, measured: float | None, bound: float | None) -> str:
    """'measured 42.300 s vs objective 30 s (resolution ± 0.100 s)', or 'measured unknown ...'."""
    if measured is None:
        return f"measured unknown vs objective {objective:g} s"
    return (f"measured {measured:.3f} s vs objective {objective:g} s"
            f" (resolution ± {bound or 0:.3f} s)")


def _objective_case(name: str, objective: float, measured: float | None, bound: float | None,
                    verdict: str, detail: str | None) -> ET.Element:
    case = _case(name)
    if verdict == "met":
        return case

    # An unknown verdict has no number to show, so its reason goes into the one-line message.
    message = failure_message(objective, measured, bound)
    if verdict == "unknown" and detail:
        message += f": {detail}"
    failure = ET.SubElement(case, "failure", {"message": message, "type": f"objective {verdict}"})
    failure.text = f"{message}\n{detail}" if detail and verdict != "unknown" else message
    return case


def _case(name: str) -> ET.Element:
    return ET.Element("testcase", {"classname": f"{SUITE_CLASS}.objectives", "name": name})


def _store_detail(store: dict[str, Any]) -> str | None:
    """Why a store's RPO is what it is: its lost writes, or why its final read failed."""
    if store.get("final_read") not in (None, "ok"):
        return f"final read: {store['final_read']}"
    if store.get("lost_writes"):
        return f"{store['lost_writes']} lost writes, seq ranges {store.get('lost_ranges')}"
    return None


def _tripped_guardrails(journal: Journal) -> dict[str, str]:
    """{probe: the runner's words} for each baseline guardrail that stopped the drill."""
    tripped: dict[str, str] = {}
    for event in journal.events:
        if event.get("k") != "note":
            continue

        found = _BASELINE_NOTE.search(str(event.get("msg", "")))
        if found:
            tripped[found["probe"]] = f"probe {found['probe']} {found['detail']}"
    return tripped


def _run_start(journal: Journal) -> str:
    clock = (journal.header or {}).get("clock") or {}
    return str(clock.get("utc", ""))
