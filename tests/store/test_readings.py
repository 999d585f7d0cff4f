"""The readings layout in InfluxDB: points as documented; ``site_series`` on a real server."""

import pytest

from store.influx import Point
from store.readings import StoredReading, reading_point, reading_points, site_series
from store.sql import Placement
from telemetry import Quality, Reading, UnknownMetricError

T = 1_764_140_000_000  # 2025-11-26T06:53:20Z

IN_PARK = Placement(
    gateway="gw-0001",
    site="site-hengtong-east",
    enterprise="ent-hengtong-al",
    park="xinfa-materials",
    county="chiping",
)
OUTSIDE_PARKS = Placement(
    gateway="gw-0006",
    site="site-shuicheng-yard",
    enterprise="ent-shuicheng-print",
    park=None,
    county="dongchangfu",
)


def pm25(value, ts, *, device="pm-1", quality=Quality.NORMAL):
    return Reading(device=device, metric="pm25", value=value, ts=ts, quality=quality)


# --- the layout, without I/O ----------------------------------------------------------------


def test_a_plain_reading_is_one_point_tagged_with_its_placement():
    point = reading_point(IN_PARK, pm25(35.5, T, quality=Quality.MAINTENANCE))

    assert point == Point(
        measurement="pm25",
        tags={
            "county": "chiping",
            "park": "xinfa-materials",
            "enterprise": "ent-hengtong-al",
            "site": "site-hengtong-east",
            "gateway": "gw-0001",
            "device": "pm-1",
            "quality": "M",
            "interval": "raw",
        },
        fields={"value": 35.5},
        time_ms=T,
    )


def test_an_enterprise_outside_any_park_has_no_park_tag():
    point = reading_point(OUTSIDE_PARKS, pm25(12.0, T))

    assert point.tags == {
        "county": "dongchangfu",
        "enterprise": "ent-shuicheng-print",
        "site": "site-shuicheng-yard",
        "gateway": "gw-0006",
        "device": "pm-1",
        "quality": "N",
        "interval": "raw",
    }


def test_an_aggregated_reading_carries_min_max_and_an_integer_count():
    reading = Reading(
        device="meter-1", metric="active_power", value=10.0, ts=T, min=-2.5, max=12.0, count=60
    )

    point = reading_point(IN_PARK, reading)

    assert point.measurement == "active_power"
    assert point.fields == {"value": 10.0, "min": -2.5, "max": 12.0, "count": 60}
    assert type(point.fields["count"]) is int
    assert point.time_ms == T
    assert point.tags["interval"] == "raw"  # a device's own summary, not a clock interval


def test_an_interval_aggregate_is_its_own_series_beside_the_raw_samples():
    aggregate = Reading(
        device="pm-1",
        metric="pm25",
        value=40.0,
        ts=T,
        min=30.0,
        max=50.0,
        count=26,
        valid=True,
        interval_s=60,
    )

    point = reading_point(IN_PARK, aggregate)

    assert point.tags["interval"] == "60s"
    assert point.fields == {"value": 40.0, "min": 30.0, "max": 50.0, "count": 26, "valid": True}
    assert reading_point(IN_PARK, pm25(41.0, T)).tags["interval"] == "raw"


@pytest.mark.parametrize(
    ("extra", "expected_fields"),
    [
        ({"min": 1.0}, {"value": 2.0, "min": 1.0}),
        ({"max": 3.0}, {"value": 2.0, "max": 3.0}),
        ({"count": 1}, {"value": 2.0, "count": 1}),
        ({}, {"value": 2.0}),
    ],
    ids=["min-only", "max-only", "count-only", "none"],
)
def test_only_the_aggregate_fields_present_are_written(extra, expected_fields):
    reading = Reading(device="pm-1", metric="pm10", value=2.0, ts=T, **extra)
    assert reading_point(IN_PARK, reading).fields == expected_fields


def test_a_reading_stamped_by_an_unsynchronised_clock_is_flagged_by_a_field_not_a_tag():
    flagged = Reading(device="pm-1", metric="pm10", value=2.0, ts=T, time_unsynced=True)
    plain = Reading(device="pm-1", metric="pm10", value=2.0, ts=T)
    point = reading_point(IN_PARK, flagged)
    assert point.fields == {"value": 2.0, "time_unsynced": True}
    # same series as the unflagged reading: a replay overwrites its own point
    assert point.tags == reading_point(IN_PARK, plain).tags
    assert "time_unsynced" not in reading_point(IN_PARK, plain).fields


def test_reading_points_keeps_order_and_each_readings_own_time():
    readings = [pm25(1.0, T + 2000), pm25(2.0, T), pm25(3.0, T + 1000, device="pm-2")]

    points = list(reading_points(IN_PARK, readings))

    assert [(p.time_ms, p.fields["value"], p.tags["device"]) for p in points] == [
        (T + 2000, 1.0, "pm-1"),
        (T, 2.0, "pm-1"),
        (T + 1000, 3.0, "pm-2"),
    ]
    assert all(p.tags["gateway"] == "gw-0001" for p in points)


# --- against InfluxDB -----------------------------------------------------------------------


def write(influx, placement, readings):
    influx.write(reading_points(placement, readings))


@pytest.mark.integration
def test_points_read_back_with_every_tag_and_field(influx):
    aggregated = Reading(
        device="pm-1", metric="pm25", value=30.0, ts=T, min=20.5, max=41.0, count=60
    )
    write(influx, IN_PARK, [aggregated])
    write(influx, OUTSIDE_PARKS, [pm25(12.5, T + 1)])

    rows = [row for series in influx.query('SELECT * FROM "pm25"') for row in series.rows()]

    assert rows == [
        {
            "time": T,
            "county": "chiping",
            "park": "xinfa-materials",
            "enterprise": "ent-hengtong-al",
            "site": "site-hengtong-east",
            "gateway": "gw-0001",
            "device": "pm-1",
            "quality": "N",
            "interval": "raw",
            "value": 30.0,
            "min": 20.5,
            "max": 41.0,
            "count": 60,
        },
        {
            "time": T + 1,
            "county": "dongchangfu",
            "park": None,
            "enterprise": "ent-shuicheng-print",
            "site": "site-shuicheng-yard",
            "gateway": "gw-0006",
            "device": "pm-1",
            "quality": "N",
            "interval": "raw",
            "value": 12.5,
            "min": None,
            "max": None,
            "count": None,
        },
    ]


@pytest.mark.integration
def test_site_series_window_is_inclusive_start_exclusive_end_to_the_millisecond(influx):
    start, end = T, T + 60_000
    write(
        influx,
        IN_PARK,
        [
            pm25(1.0, start - 1),
            pm25(2.0, start),
            pm25(3.0, start + 1),
            pm25(4.0, end - 1),
            pm25(5.0, end),
        ],
    )

    series = site_series(influx, site=IN_PARK.site, metric_id="pm25", start_ms=start, end_ms=end)

    assert [(r.ts, r.value) for r in series] == [(start, 2.0), (start + 1, 3.0), (end - 1, 4.0)]


@pytest.mark.integration
def test_site_series_is_oldest_first_whatever_the_write_order(influx):
    write(influx, IN_PARK, [pm25(3.0, T + 3000), pm25(1.0, T + 1000)])
    write(influx, IN_PARK, [pm25(2.0, T + 2000, device="pm-2"), pm25(0.0, T)])

    series = site_series(influx, site=IN_PARK.site, metric_id="pm25", start_ms=T, end_ms=T + 4000)

    assert series == [
        StoredReading(ts=T, device="pm-1", value=0.0, quality=Quality.NORMAL),
        StoredReading(ts=T + 1000, device="pm-1", value=1.0, quality=Quality.NORMAL),
        StoredReading(ts=T + 2000, device="pm-2", value=2.0, quality=Quality.NORMAL),
        StoredReading(ts=T + 3000, device="pm-1", value=3.0, quality=Quality.NORMAL),
    ]


@pytest.mark.integration
def test_site_series_filters_by_device(influx):
    write(
        influx,
        IN_PARK,
        [pm25(1.0, T), pm25(2.0, T, device="pm-2"), pm25(3.0, T + 1, device="pm-2")],
    )

    only_pm2 = site_series(
        influx, site=IN_PARK.site, metric_id="pm25", start_ms=T, end_ms=T + 10, device="pm-2"
    )
    everything = site_series(influx, site=IN_PARK.site, metric_id="pm25", start_ms=T, end_ms=T + 10)

    assert [(r.device, r.value) for r in only_pm2] == [("pm-2", 2.0), ("pm-2", 3.0)]
    assert sorted((r.device, r.value) for r in everything) == [
        ("pm-1", 1.0),
        ("pm-2", 2.0),
        ("pm-2", 3.0),
    ]


@pytest.mark.integration
def test_site_series_leaves_out_other_sites_and_other_metrics(influx):
    write(influx, IN_PARK, [pm25(1.0, T)])
    write(influx, OUTSIDE_PARKS, [pm25(99.0, T), pm25(98.0, T + 1)])
    write(influx, IN_PARK, [Reading(device="pm-1", metric="pm10", value=50.0, ts=T + 2)])

    series = site_series(influx, site=IN_PARK.site, metric_id="pm25", start_ms=T, end_ms=T + 10)

    assert [(r.ts, r.value) for r in series] == [(T, 1.0)]


@pytest.mark.integration
def test_site_series_keeps_each_readings_quality_flag(influx):
    flags = list(Quality)
    write(influx, IN_PARK, [pm25(float(i), T + i, quality=q) for i, q in enumerate(flags)])

    series = site_series(
        influx, site=IN_PARK.site, metric_id="pm25", start_ms=T, end_ms=T + len(flags)
    )

    assert [r.quality for r in series] == flags
    assert all(isinstance(r.quality, Quality) for r in series)


@pytest.mark.integration
@pytest.mark.parametrize(
    "hostile",
    [
        "' OR 1=1 --",
        "x' OR '1'='1",
        '" OR "site" =~ /.*/ --',
        'site-hengtong-east" OR "site" != "',
        "site-hengtong-east'; DROP DATABASE x; --",
        "$site",
    ],
)
def test_a_hostile_site_string_matches_nothing_and_injects_nothing(influx, hostile):
    write(influx, IN_PARK, [pm25(1.0, T)])
    write(influx, OUTSIDE_PARKS, [pm25(2.0, T)])

    series = site_series(influx, site=hostile, metric_id="pm25", start_ms=T, end_ms=T + 1)

    assert series == []
    # the data is still there: nothing was dropped along the way
    assert len(site_series(influx, site=IN_PARK.site, metric_id="pm25", start_ms=T, end_ms=T + 1))


@pytest.mark.integration
def test_a_site_id_with_quotes_is_matched_exactly_as_a_bound_value(influx):
    quoted = Placement(
        gateway="gw-q", site="""o'brien "yard" ' OR 1=1""", enterprise="e", park=None, county="c"
    )
    write(influx, quoted, [pm25(7.0, T)])
    write(influx, IN_PARK, [pm25(8.0, T)])

    series = site_series(influx, site=quoted.site, metric_id="pm25", start_ms=T, end_ms=T + 1)

    assert [(r.ts, r.value) for r in series] == [(T, 7.0)]


@pytest.mark.integration
def test_a_hostile_device_string_matches_nothing(influx):
    write(influx, IN_PARK, [pm25(1.0, T)])

    series = site_series(
        influx,
        site=IN_PARK.site,
        metric_id="pm25",
        start_ms=T,
        end_ms=T + 1,
        device="pm-1' OR 1=1 --",
    )

    assert series == []


@pytest.mark.integration
@pytest.mark.parametrize(
    "metric_id", ["no_such_metric", 'pm25" FROM "pm10', "PM25", "", "pm25; DROP DATABASE x"]
)
def test_an_unknown_metric_raises_before_any_query(influx, metric_id):
    write(influx, IN_PARK, [pm25(1.0, T)])

    with pytest.raises(UnknownMetricError):
        site_series(influx, site=IN_PARK.site, metric_id=metric_id, start_ms=T, end_ms=T + 1)

    assert len(site_series(influx, site=IN_PARK.site, metric_id="pm25", start_ms=T, end_ms=T + 1))
