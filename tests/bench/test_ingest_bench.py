"""The ingest benchmark still runs end to end, at its smallest sizes; its figures are not checked.

A benchmark never runs inside ``make test`` and nothing here is timed: this only catches a
benchmark broken by a change to ingest, its settings or its metrics, before someone needs it.
"""

import pytest
from bench.ingest import main

pytestmark = pytest.mark.integration


def test_smallest_run_counts_every_reading_once_in_influxdb(tmp_path, capsys):
    code = main(
        [
            "--readings", "1000", "--messages", "0", "--workers", "2", "--gateways", "8",
            "--latency-seconds", "0.5", "--workdir", str(tmp_path),
        ]
    )  # fmt: skip

    out = capsys.readouterr().out
    assert code == 0, out
    assert "drain 100 readings/message, 2 worker(s): 1,000 readings" in out
    assert "stored 1,000;" in out
    assert "stored 10,000;" in out  # the latency phase: 100 messages of 100 readings
