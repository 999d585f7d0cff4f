"""The API series benchmark still runs end to end, at its smallest size; nothing is timed.

A benchmark never runs inside ``make test``: this only catches a benchmark broken by a change
to the API, its settings or the rollups' layout. Every answer is checked for one point per hour
(and per local day) by the benchmark itself, which raises otherwise.
"""

import pytest
from bench.api_series import main

pytestmark = pytest.mark.integration


def test_smallest_run_serves_every_hour_and_day(tmp_path, capsys):
    code = main(["--sites", "1", "--days", "2", "--requests", "3", "--warmup", "1",
                 "--workdir", str(tmp_path)])  # fmt: skip

    out = capsys.readouterr().out
    assert code == 0, out
    assert "wrote 11,712 rollup points for 1 sites" in out  # 2 metrics x 2 devices x 48 x 61
    assert "hour: 48 points, 3 requests: p50" in out
    assert " day: " in out
