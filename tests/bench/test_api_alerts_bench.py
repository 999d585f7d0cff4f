"""The API alert-list benchmark still runs end to end, at its smallest size; nothing is timed.

A benchmark never runs inside ``make test``: this only catches a benchmark broken by a change
to the alert store, the alert list's filters or the API's settings. Every answer is checked
against the alerts the store holds by the benchmark itself, which raises otherwise; the last
test shows that check refusing wrong answers.
"""

import re

import pytest
from bench.api_alerts import main
from bench.api_alerts_queries import checker

pytestmark = pytest.mark.integration

SMALLEST = ["--sites", "2", "--days", "2", "--per-day", "4", "--requests", "3", "--warmup", "1"]
LISTS = (
    "default list", "state=firing", "enterprise", "park", "severity", "opened in a time range",
    "a later page", "enterprise user: own list", "enterprise user: open, 200",
)  # fmt: skip


@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_smallest_run_lists_the_alerts_each_filter_selects(tmp_path, capsys, request, store):
    admin = []
    if store == "postgres":  # the benchmark creates its database there, and drops it
        url = request.getfixturevalue("postgres_admin_url").render_as_string(hide_password=False)
        admin = ["--postgres", url]
    code = main([*SMALLEST, "--stores", store, "--workdir", str(tmp_path), *admin])

    out = capsys.readouterr().out
    assert code == 0, out
    # 2 sites x 2 days x 4; each site's last two alerts stay open, one firing, one acknowledged
    written = re.search(
        r"wrote 16 alerts \(acknowledged 2, (.*), firing 2.*\) and ([\d,]+) audit", out
    )
    assert written is not None, out
    assert "closed" in written.group(1)
    assert int(written.group(2).replace(",", "")) > 16 * 4  # opened, fired, resolved, settled…
    for name in LISTS:
        assert re.search(rf"{re.escape(name)}: \d+-\d+ alerts, 3 requests: p50 ", out), name


def test_the_check_refuses_a_wrong_page():
    check = checker([([3, 2], False, {"state": "firing"}, None)] * 4)
    item = {"id": 3, "state": "firing", "opened_at": "2026-11-26T00:00:00+00:00"}
    right = {"items": [item, item | {"id": 2}], "next_before": None}

    assert check(0, right) is None
    assert check(1, right | {"items": [item]}) is not None  # one missing
    assert check(2, right | {"next_before": 2}) is not None  # says more are left
    wrong_state = {"items": [item, item | {"id": 2, "state": "closed"}], "next_before": None}
    assert check(3, wrong_state) is not None
