"""Testing rule files offline, in the spirit of ``promtool test rules``.

A test file gives input series in a compact notation (``35+2x10``, ``_`` for a gap, ``M:`` for
a data flag), gateway status messages, evaluation times, and the results the rules must give;
``lantian-rules test FILE...`` runs them without any server and says what differs:

- :mod:`~rules.testing.series`: the series notation;
- :mod:`~rules.testing.model` and :mod:`~rules.testing.loading`: the test file, validated, its
  rule files loaded, problems named by line;
- :mod:`~rules.testing.replay`: one test's input through the stream engine and the window core;
- :mod:`~rules.testing.expect`: expectations against results, paired one to one;
- :mod:`~rules.testing.report` and :mod:`~rules.testing.runner`: the report, JUnit XML, the
  exit status.

The format and exactly what is compared are in ``docs/rules.md``, "Testing rules offline".
"""

from rules.testing.loading import LoadedTests, RuleTestError, load_test_file
from rules.testing.runner import run_file, run_tests
from rules.testing.series import Sample, SeriesSyntaxError, parse_series

__all__ = [
    "LoadedTests",
    "RuleTestError",
    "Sample",
    "SeriesSyntaxError",
    "load_test_file",
    "parse_series",
    "run_file",
    "run_tests",
]
