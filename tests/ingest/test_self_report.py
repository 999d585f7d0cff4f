"""Ingest's counters written to a real InfluxDB as the ``lantian_ingest`` measurement."""

import pytest

from ingest.counters import IngestCounters
from ingest.self_report import MEASUREMENT, SelfReport, snapshot_points
from store.influx import InfluxStore


def test_a_snapshot_has_totals_per_label_set_and_the_mean_since_the_last_one():
    counters = IngestCounters()
    counters.readings_written.inc(40)
    counters.rejected.labels("schema").inc(2)
    counters.lag_seconds.observe(0.2)
    counters.lag_seconds.observe(0.4)
    previous: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    points = {
        tuple(sorted(p.tags.items())): p
        for p in snapshot_points(counters.registry, instance="w1", time_ms=1000, previous=previous)
    }
    plain = points[(("instance", "w1"),)]
    assert plain.measurement == MEASUREMENT
    assert plain.time_ms == 1000
    assert plain.fields["readings_written"] == 40.0
    assert plain.fields["lag_seconds_count"] == 2.0
    assert plain.fields["lag_seconds_mean"] == pytest.approx(0.3)
    assert points[(("instance", "w1"), ("reason", "schema"))].fields == {"messages_rejected": 2.0}

    counters.lag_seconds.observe(1.0)
    again = snapshot_points(counters.registry, instance="w1", time_ms=2000, previous=previous)
    plain = next(p for p in again if p.tags == {"instance": "w1"})
    assert plain.fields["lag_seconds_mean"] == pytest.approx(1.0)  # only the new observation
    once_more = snapshot_points(counters.registry, instance="w1", time_ms=3000, previous=previous)
    assert (
        "lag_seconds_mean" not in next(p for p in once_more if p.tags == {"instance": "w1"}).fields
    )


@pytest.mark.integration
def test_reports_are_written_and_a_failed_one_is_counted(influx: InfluxStore):
    counters = IngestCounters()
    counters.rejected.labels("json").inc()
    report = SelfReport(influx, counters.registry, instance="ingest-1", clock=lambda: 1_700_000_000)
    assert report.report() is True
    rows = [
        row
        for series in influx.query(
            'SELECT "messages_rejected" FROM "lantian_ingest" WHERE "reason" = \'json\''
        )
        for row in series.rows()
    ]
    assert [(r["time"], r["messages_rejected"]) for r in rows] == [(1_700_000_000_000, 1)]

    assert counters.registry.get_sample_value("lantian_ingest_self_report_errors_total") == 0
    report._influx = InfluxStore("http://127.0.0.1:9", influx.database, timeout=0.5)
    assert report.report() is False
    assert counters.registry.get_sample_value("lantian_ingest_self_report_errors_total") == 1
