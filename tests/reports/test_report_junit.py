"""junit.xml: one test case per objective, parsed back as CI would; a missed RTO is exactly one
failing case that names the measured value and the objective."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from report_journals import DrillShape, built_run

CASES = ["RTO of the drill", "RPO of store pg-write",
         "guardrail baseline health of probe pg-write"]


def _junit(run_dir: Path, shape: DrillShape) -> ET.Element:
    built_run(run_dir, shape)
    return ET.parse(run_dir / "junit.xml").getroot()


def _failures(suite: ET.Element) -> dict[str, tuple[str, str]]:
    """{case name: (failure type, failure message)} of the failing cases."""
    return {case.get("name", ""): (failure.get("type", ""), failure.get("message", ""))
            for case in suite.iter("testcase")
            if (failure := case.find("failure")) is not None}


def test_a_met_drill_passes_every_case(tmp_path: Path) -> None:
    root = _junit(tmp_path / "run", DrillShape(lost=[(26, 28)]))
    suite = root.find("testsuite")
    assert suite is not None

    assert root.tag == "testsuites"
    assert [case.get("name") for case in suite.iter("testcase")] == CASES
    assert {case.get("classname") for case in suite.iter("testcase")} == {"drdrill.objectives"}
    assert (suite.get("name"), suite.get("tests"), suite.get("failures"), suite.get("errors"),
            suite.get("skipped")) == ("drdrill local-sim", "3", "0", "0", "0")
    assert (suite.get("timestamp"), suite.get("hostname")) == ("2026-12-03T12:00:04+00:00",
                                                               "drill-host")
    assert {p.get("name"): p.get("value") for p in suite.iter("property")} == {
        "run_id": "20261203T120000Z-ab12cd", "drill": "local-sim", "status": "completed",
        "verdict": "met"}
    assert _failures(suite) == {}


def test_a_missed_rto_is_one_failing_case_naming_measured_and_objective(tmp_path: Path) -> None:
    root = _junit(tmp_path / "run", DrillShape(rto_objective_s=1.0))
    suite = root.find("testsuite")
    assert suite is not None

    assert (root.get("tests"), root.get("failures")) == ("3", "1")
    assert _failures(suite) == {
        "RTO of the drill": ("objective missed",
                             "measured 2.003 s vs objective 1 s (resolution ± 0.100 s)")}


def test_a_missed_rpo_names_the_lost_writes(tmp_path: Path) -> None:
    root = _junit(tmp_path / "run", DrillShape(lost=[(20, 28)], rpo_objective_s=0.5))
    suite = root.find("testsuite")
    assert suite is not None
    case = next(c for c in suite.iter("testcase") if c.get("name") == "RPO of store pg-write")
    failure = case.find("failure")
    assert failure is not None

    assert _failures(suite) == {
        "RPO of store pg-write": ("objective missed",
                                  "measured 0.900 s vs objective 0.5 s (resolution ± 0.100 s)")}
    assert failure.text == ("measured 0.900 s vs objective 0.5 s (resolution ± 0.100 s)\n"
                            "9 lost writes, seq ranges [[20, 28]]")


def test_a_tripped_guardrail_fails_its_case_and_leaves_the_objectives_unknown(
        tmp_path: Path) -> None:
    root = _junit(tmp_path / "run", DrillShape(aborted_in_baseline=True))
    suite = root.find("testsuite")
    assert suite is not None

    assert suite.get("failures") == "3"
    assert _failures(suite) == {
        "RTO of the drill": (
            "objective unknown",
            "measured unknown vs objective 30 s: no fault was injected, so T0 is unknown"),
        "RPO of store pg-write": ("objective unknown",
                                  "measured unknown vs objective 1 s: final read: missing"),
        "guardrail baseline health of probe pg-write": (
            "guardrail",
            "probe pg-write succeeded 27/30 ops (90.0%); the guardrail asks for 99.0%"),
    }
