"""The rules benchmark still runs end to end, at its smallest sizes; its figures are not checked.

A benchmark never runs inside ``make test`` and nothing here is timed: this only catches a
benchmark broken by a change to the rules service, its settings or the window scheduler.
"""

import pytest
from bench.rules import main

pytestmark = pytest.mark.integration


def test_smallest_run_records_every_message_and_every_window_result(tmp_path, capsys):
    code = main(
        [
            "--rate", "300", "--sites", "20", "--rules", "40", "--seconds", "2",
            "--warmup", "1", "--tail", "2", "--window-sites", "20", "--workdir", str(tmp_path),
        ]
    )  # fmt: skip

    out = capsys.readouterr().out
    assert code == 0, out
    assert "first run, 60 results recorded new" in out  # 20 sites x 3 rules
    assert "the hour again, nothing changed (0)" in out
    assert "messages never recorded 0" in out
    assert "published -> recorded          p50" in out
