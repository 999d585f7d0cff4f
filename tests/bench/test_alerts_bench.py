"""The alerts benchmark still runs end to end, at its smallest sizes; its figures are not checked.

A benchmark never runs inside ``make test`` and nothing here is timed: this only catches a
benchmark broken by a change to the rules service, the alert book, delivery or the notice's
format — every expected alert must arrive, once, matched to the reading that fired it.
"""

import re

import pytest
from bench.alerts import main

pytestmark = pytest.mark.integration

SMOKE = [
    "--rate", "300", "--sites", "20", "--rules", "40", "--seconds", "8", "--warmup", "2",
    "--tail", "5", "--window-sites", "20", "--spike-period", "20", "--spike", "14",
]  # fmt: skip


@pytest.mark.parametrize("split", [False, True], ids=["one-process", "split"])
def test_smallest_run_delivers_every_expected_alert_once(tmp_path, capsys, split):
    code = main([*SMOKE, "--workdir", str(tmp_path), *(["--split"] if split else [])])

    out = capsys.readouterr().out
    assert code == 0, out
    counts = re.search(r"alerts expected (\d+), delivered (\d+), duplicates (\d+)", out)
    assert counts is not None, out
    expected, delivered, duplicates = map(int, counts.groups())
    # 10 site thresholds; a spike of 14 s every 20 s: within 15 s some site's hold completes.
    assert expected > 0
    assert (delivered, duplicates) == (expected, 0)
    assert "its window run done after none" not in out  # the late reading's run happened
    assert ("rules-windows" in out) is split
