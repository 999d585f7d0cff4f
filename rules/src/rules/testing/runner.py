"""``lantian-rules test``: run test files, print the report, write JUnit XML if asked."""

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from rules.testing.expect import Expectation, match
from rules.testing.loading import RuleTestError, load_test_file
from rules.testing.replay import run_case
from rules.testing.report import CaseReport, FileReport, case_report, junit_xml, render_text


def run_file(path: Path) -> FileReport:
    """Load a test file and run every test in it, in the order written."""
    try:
        loaded = load_test_file(path)
    except RuleTestError as exc:
        return FileReport(path, problems=exc.lines)
    cases: list[CaseReport] = []
    skipped: dict[str, None] = {}
    for case in loaded.file.tests:
        try:
            run = run_case(loaded, case)
        except ValidationError as exc:  # a reading the payload contract refuses (ts past 2100)
            why = tuple(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            cases.append(CaseReport(case.name, passed=False, summary="bad input", lines=why))
            continue
        skipped.update(dict.fromkeys(run.not_evaluated))
        expected: list[Expectation] = [*case.expect_results, *case.expect_windows]
        matching = match(expected, run.observed, run.start_ms)
        if case.allow_extra:
            matching = replace(matching, extra=())
        cases.append(case_report(case.name, run, expected, matching))
    return FileReport(path, tuple(cases), not_evaluated=tuple(skipped))


def run_tests(paths: Sequence[Path], out: TextIO, *, junit: Path | None = None) -> int:
    """Run the files, print the report to ``out``; 0 when every test passed, else 1.

    Raises:
        OSError: the JUnit file cannot be written.
    """
    reports = [run_file(path) for path in paths]
    out.write(render_text(reports))
    if junit is not None:
        junit.write_bytes(junit_xml(reports))
    return 0 if all(report.ok for report in reports) else 1
