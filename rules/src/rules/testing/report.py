"""What a test run says: a readable report per test, and JUnit XML for CI.

Each test passes or fails; a failing one explains itself with what was expected and not met
(with the nearest result of the same rule and the fields that differ), what came unexpected,
and what the rules named in the failed expectations gave. A test file that cannot be used is
an error, reported with its problem lines. Both outputs are deterministic: the XML carries no
times or host names, so two runs of the same files give the same bytes.
"""

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rules.testing.expect import (
    Expectation,
    Matching,
    describe,
    describe_expected,
    differences,
)
from rules.testing.replay import CaseRun

_SHOWN = 12  # results listed per rule in a failure; the rest are counted


@dataclass(frozen=True, slots=True)
class CaseReport:
    """One test's verdict and, when it failed, the lines that explain why."""

    name: str
    passed: bool
    summary: str  # e.g. "1 expectation not met, 1 unexpected result"
    lines: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FileReport:
    """The tests of one file, or the problems that kept it from running."""

    path: Path
    cases: tuple[CaseReport, ...] = ()
    problems: tuple[str, ...] = ()
    not_evaluated: tuple[str, ...] = ()  # annual targets in force in a test without as_of

    @property
    def failed(self) -> int:
        """How many tests failed."""
        return sum(not case.passed for case in self.cases)

    @property
    def ok(self) -> bool:
        """Whether every test ran and passed."""
        return not self.problems and not self.failed


@dataclass
class _Lines:
    items: list[str] = field(default_factory=list)

    def add(self, indent: int, text: str) -> None:
        self.items.append("  " * indent + text)


def case_report(
    name: str, run: CaseRun, expected: Sequence[Expectation], matching: Matching
) -> CaseReport:
    """The verdict of one test from its results and how they matched."""
    start = run.start_ms
    if not matching.missing and not matching.extra:
        met = _count(len(expected), "expectation", "met") or "nothing expected, nothing fired"
        return CaseReport(name, passed=True, summary=met)
    out = _Lines()
    if matching.missing:
        out.add(0, "expected, but no result matched:")
    for i in matching.missing:
        want = expected[i]
        out.add(1, describe_expected(want, start))
        same_rule = [o for o in run.observed if o.result.rule == want.rule]
        if not same_rule:
            out.add(2, f"no result of {want.rule} at all")
            continue
        nearest = min(same_rule, key=lambda o: len(differences(want, o, start)))
        out.add(2, f"nearest: {describe(nearest, start)}")
        diff = "; ".join(
            f"{d.field}: expected {d.expected}, got {d.actual}"
            for d in differences(want, nearest, start)
        )
        out.add(2, f"differs: {diff}")
    if matching.extra:
        out.add(0, "given, but not expected (allow_extra: true accepts these):")
    for j in matching.extra:
        out.add(1, describe(run.observed[j], start))
    for rule in dict.fromkeys(expected[i].rule for i in matching.missing):
        came = [o for o in run.observed if o.result.rule == rule]
        out.add(0, f"results of {rule} ({len(came)}):")
        for o in came[:_SHOWN]:
            out.add(1, describe(o, start))
        if len(came) > _SHOWN:
            out.add(1, f"... and {len(came) - _SHOWN} more")
    summary = ", ".join(
        part
        for part in (
            _count(len(matching.missing), "expectation", "not met"),
            _count(len(matching.extra), "unexpected result", ""),
        )
        if part
    )
    return CaseReport(name, passed=False, summary=summary, lines=tuple(out.items))


def _count(n: int, noun: str, tail: str) -> str:
    if not n:
        return ""
    return f"{n} {noun}{'s' * (n != 1)}{' ' + tail if tail else ''}"


def render_text(reports: Sequence[FileReport]) -> str:
    """The report a person reads: one line per test, explanations under failures."""
    out = _Lines()
    for report in reports:
        if report.problems:
            out.add(0, f"ERROR {report.path}: the test file cannot be used")
            for problem in report.problems:
                out.add(1, problem)
            continue
        out.add(0, f"{report.path}:")
        if report.not_evaluated:
            skipped = ", ".join(report.not_evaluated)
            out.add(1, f"note: not evaluated (no as_of given): {skipped}")
        for case in report.cases:
            out.add(1, f"{'PASS' if case.passed else 'FAIL'} {case.name}: {case.summary}")
            for line in case.lines:
                out.add(3, line)
    tests = sum(len(r.cases) for r in reports)
    failed = sum(r.failed for r in reports)
    errors = sum(bool(r.problems) for r in reports)
    out.add(0, f"{tests} tests, {failed} failed" + (f", {errors} files unusable" if errors else ""))
    return "\n".join(out.items) + "\n"


def junit_xml(reports: Sequence[FileReport]) -> bytes:
    """JUnit XML as CI tools read it: a ``testsuite`` per file, a ``testcase`` per test.

    A failed test has a ``failure`` with its explanation; an unusable file one ``testcase``
    with an ``error`` listing its problems.
    """
    root = ET.Element("testsuites", name="lantian-rules test")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for report in reports:
        name = report.path.as_posix()
        suite = ET.SubElement(root, "testsuite", name=name)
        counts = {"tests": len(report.cases), "failures": report.failed, "errors": 0}
        if report.problems:
            counts = {"tests": 1, "failures": 0, "errors": 1}
            case = ET.SubElement(suite, "testcase", classname=name, name="load test file")
            error = ET.SubElement(case, "error", message="the test file cannot be used")
            error.text = "\n".join(report.problems)
        for each in report.cases:
            case = ET.SubElement(suite, "testcase", classname=name, name=each.name)
            if not each.passed:
                failure = ET.SubElement(case, "failure", message=each.summary, type="expectation")
                failure.text = "\n".join(each.lines)
        if report.not_evaluated:
            skipped = ", ".join(report.not_evaluated)
            note = f"not evaluated (no as_of given): {skipped}"
            ET.SubElement(suite, "system-out").text = note
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    written: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return written + b"\n"
