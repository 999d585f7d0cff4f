import time

import pytest

from devstack.processes import wait_until
from store.influx import Point
from store.rollups import (
    HOUR_FROM_MINUTES,
    MINUTE_FROM_AGGREGATES,
    MINUTE_FROM_SAMPLES,
    ROLLUPS,
    Retention,
    backfill,
    continuous_query,
    create_retention_policies,
    duration_ms,
    ensure_continuous_queries,
    prepare_retention,
    select_into,
)

pytestmark = pytest.mark.integration

T = 1_764_140_400_000  # 2025-11-26 07:00 UTC, the start of an hour
MINUTE = 60_000
HOUR = 3_600_000
FOREVER = Retention(raw="INF", minute="INF", hour="INF")  # fixed dates stay in every policy
PLACE = {"county": "chiping", "enterprise": "ent-a", "site": "site-a", "gateway": "gw-0001"}
CQ_NAMES = {"rollup_minute_samples", "rollup_minute_aggregates", "rollup_hour"}


def rows(influx, influxql, **params):
    return [row for series in influx.query(influxql, params=params) for row in series.rows()]


def policies(influx):
    return {
        row["name"]: row for row in rows(influx, f'SHOW RETENTION POLICIES ON "{influx.database}"')
    }


def sample(device, value, ts, *, quality="N", measurement="pm25"):
    tags = {**PLACE, "device": device, "quality": quality, "interval": "raw"}
    return Point(measurement, tags, {"value": value}, ts)


def aggregate(device, value, ts, *, low, high, count, measurement="pm25"):
    tags = {**PLACE, "device": device, "quality": "N", "interval": "60s"}
    fields = {"value": value, "min": low, "max": high, "count": count, "valid": True}
    return Point(measurement, tags, fields, ts)


def rollup_rows(influx, policy, measurement="pm25"):
    """Every point of one rollup, keyed by (time, device, quality, interval)."""
    query = f'SELECT * FROM "{influx.database}"."{policy}"."{measurement}"'  # noqa: S608
    found = rows(influx, query)
    return {(r["time"], r["device"], r["quality"], r["interval"]): r for r in found}


def fields(row):
    return {key: row[key] for key in ("value", "min", "max", "count", "sum")}


# --- the layout on the server ---------------------------------------------------------------


def test_prepare_creates_the_policies_and_the_continuous_queries(influx):
    changed = prepare_retention(influx, Retention())

    assert set(changed) == CQ_NAMES
    found = policies(influx)
    assert (found["raw"]["duration"], found["raw"]["default"]) == ("9600h0m0s", True)
    assert (found["minute"]["duration"], found["minute"]["default"]) == ("26280h0m0s", False)
    assert found["minute"]["shardGroupDuration"] == "720h0m0s"
    assert (found["hour"]["duration"], found["hour"]["shardGroupDuration"]) == ("0s", "8736h0m0s")
    assert set(influx.continuous_queries()) == CQ_NAMES


def test_the_server_keeps_each_continuous_query_as_defined(influx):
    prepare_retention(influx, FOREVER)
    kept = influx.continuous_queries()
    for rollup in ROLLUPS:
        # the server drops needless quotes; otherwise it is our statement, word for word
        assert (
            kept[rollup.name].split()
            == continuous_query(rollup, influx.database).replace('"', "").split()
        )


def test_preparing_again_changes_nothing(influx):
    prepare_retention(influx, Retention())
    before = (policies(influx), influx.continuous_queries())

    assert prepare_retention(influx, Retention()) == []
    assert (policies(influx), influx.continuous_queries()) == before


def test_a_changed_definition_is_replaced_and_a_retired_rollup_dropped(influx):
    db = influx.database
    prepare_retention(influx, FOREVER)
    old_hour = continuous_query(HOUR_FROM_MINUTES, db).replace("FOR 2h", "FOR 3h")
    influx.drop_continuous_query("rollup_hour")
    influx.query(old_hour)
    for name in ("rollup_day", "mine"):
        influx.query(
            f'CREATE CONTINUOUS QUERY "{name}" ON "{db}" BEGIN SELECT mean("value") '  # noqa: S608
            f'INTO "{db}"."autogen"."{name}" FROM "{db}"."raw"."pm25" GROUP BY time(1d) END'
        )

    changed = prepare_retention(influx, FOREVER)

    assert sorted(changed) == ["rollup_day", "rollup_hour"]
    kept = influx.continuous_queries()
    assert set(kept) == {*CQ_NAMES, "mine"}  # a CQ of another name is not ours to drop
    assert "FOR 2h" in kept["rollup_hour"]
    assert prepare_retention(influx, FOREVER) == []


def test_changed_durations_alter_the_policies(influx):
    prepare_retention(influx, Retention())
    prepare_retention(influx, Retention(raw="30d", minute="90d", hour="3650d"))

    found = policies(influx)
    assert found["raw"]["duration"] == "720h0m0s"
    assert found["minute"]["duration"] == "2160h0m0s"
    assert found["hour"]["duration"] == "87600h0m0s"
    assert found["raw"]["default"]


def test_a_policy_shorter_than_its_usual_shard_gets_the_servers_shard_length(influx):
    prepare_retention(influx, Retention(minute="7d", hour="30d"))

    found = policies(influx)
    assert found["minute"]["duration"] == "168h0m0s"
    assert found["hour"]["duration"] == "720h0m0s"


def test_each_continuous_query_is_its_select_into_with_a_resample_clause(influx):
    db = influx.database
    for rollup in ROLLUPS:
        statement = continuous_query(rollup, db)
        assert statement.startswith(f'CREATE CONTINUOUS QUERY "{rollup.name}" ON "{db}" RESAMPLE')
        assert f"BEGIN {select_into(rollup, db)} END" in statement
        assert "GROUP BY time(" in statement
        assert statement.endswith(", * END")


@pytest.mark.parametrize(
    ("duration", "ms"),
    [("1m", 60_000), ("1h30m", 5_400_000), ("400d", 400 * 86_400_000), ("2w", 1_209_600_000)],
)
def test_duration_ms(duration, ms):
    assert duration_ms(duration) == ms


def test_duration_ms_of_inf_is_none_and_nonsense_is_refused():
    assert duration_ms("INF") is None
    with pytest.raises(ValueError, match="not an InfluxQL duration"):
        duration_ms("3 years")


# --- what the rollups compute ---------------------------------------------------------------


def test_minute_rollup_of_raw_samples(influx):
    prepare_retention(influx, FOREVER)
    influx.write(
        [
            sample("pm-1", 10.0, T),
            sample("pm-1", 20.0, T + 20_000),
            sample("pm-1", 60.0, T + 59_999),
            sample("pm-1", 5.0, T + MINUTE),
            sample("pm-1", 7.0, T + MINUTE + 1),
            sample("pm-1", 99.0, T + 30_000, quality="M"),  # another flag, another series
            sample("pm-2", 1.5, T + 1_000),
        ]
    )

    assert backfill(influx, MINUTE_FROM_SAMPLES, start_ms=T, end_ms=T + 2 * MINUTE) == 4

    found = rollup_rows(influx, "minute")
    assert fields(found[T, "pm-1", "N", "raw"]) == {
        "value": 30.0,
        "min": 10.0,
        "max": 60.0,
        "count": 3,
        "sum": 90.0,
    }
    assert fields(found[T + MINUTE, "pm-1", "N", "raw"]) == {
        "value": 6.0,
        "min": 5.0,
        "max": 7.0,
        "count": 2,
        "sum": 12.0,
    }
    assert fields(found[T, "pm-1", "M", "raw"])["value"] == 99.0
    assert fields(found[T, "pm-2", "N", "raw"])["count"] == 1
    assert len(found) == 4
    # every tag stays a tag, with its value
    tags = rows(influx, f'SHOW TAG KEYS FROM "{influx.database}"."minute"."pm25"')
    assert {row["tagKey"] for row in tags} == {*PLACE, "device", "quality", "interval"}
    assert found[T, "pm-1", "N", "raw"]["site"] == "site-a"
    keys = rows(influx, f'SHOW FIELD KEYS FROM "{influx.database}"."minute"."pm25"')
    assert {row["fieldKey"]: row["fieldType"] for row in keys} == {
        "value": "float",
        "min": "float",
        "max": "float",
        "count": "integer",
        "sum": "float",
    }


def test_minute_rollup_of_gateway_aggregates_keeps_their_extremes(influx):
    prepare_retention(influx, FOREVER)
    influx.write(
        [
            aggregate("pm-1", 35.0, T, low=20.0, high=51.0, count=30),
            aggregate("pm-1", 40.0, T + MINUTE, low=38.0, high=44.0, count=29),
            sample("pm-1", 33.0, T + 5_000),  # the same device's raw sample: a series apart
        ]
    )

    backfill(influx, MINUTE_FROM_AGGREGATES, start_ms=T, end_ms=T + 2 * MINUTE)
    backfill(influx, MINUTE_FROM_SAMPLES, start_ms=T, end_ms=T + 2 * MINUTE)

    found = rollup_rows(influx, "minute")
    assert fields(found[T, "pm-1", "N", "60s"]) == {
        "value": 35.0,
        "min": 20.0,
        "max": 51.0,
        "count": 30,
        "sum": 35.0,
    }
    assert fields(found[T + MINUTE, "pm-1", "N", "60s"])["count"] == 29
    assert fields(found[T, "pm-1", "N", "raw"]) == {
        "value": 33.0,
        "min": 33.0,
        "max": 33.0,
        "count": 1,
        "sum": 33.0,
    }
    assert len(found) == 3
    assert "valid" not in found[T, "pm-1", "N", "60s"]


def test_hour_rollup_of_minutes(influx):
    prepare_retention(influx, FOREVER)
    influx.write(
        [
            aggregate("pm-1", 10.0, T, low=8.0, high=12.0, count=30),
            aggregate("pm-1", 20.0, T + 30 * MINUTE, low=1.0, high=25.0, count=30),
            aggregate("pm-1", 60.0, T + 59 * MINUTE, low=50.0, high=70.0, count=28),
            aggregate("pm-1", 5.0, T + HOUR, low=4.0, high=6.0, count=30),
            sample("pm-1", 3.0, T + 10 * MINUTE),
            sample("pm-1", 5.0, T + 10 * MINUTE + 1),
            sample("pm-1", 10.0, T + 11 * MINUTE),
        ]
    )
    for rollup in (MINUTE_FROM_SAMPLES, MINUTE_FROM_AGGREGATES):
        backfill(influx, rollup, start_ms=T, end_ms=T + 2 * HOUR)

    assert backfill(influx, HOUR_FROM_MINUTES, start_ms=T, end_ms=T + 2 * HOUR) == 3

    found = rollup_rows(influx, "hour")
    assert fields(found[T, "pm-1", "N", "60s"]) == {
        "value": 30.0,
        "min": 1.0,
        "max": 70.0,
        "count": 88,
        "sum": 90.0,
    }
    assert fields(found[T + HOUR, "pm-1", "N", "60s"])["value"] == 5.0
    # the mean of the minute means: each minute weighs the same, however many samples it had
    assert fields(found[T, "pm-1", "N", "raw"]) == {
        "value": 7.0,
        "min": 3.0,
        "max": 10.0,
        "count": 3,
        "sum": 18.0,
    }
    assert found[T, "pm-1", "N", "raw"]["enterprise"] == "ent-a"


def test_backfill_widens_its_range_to_whole_periods(influx):
    prepare_retention(influx, FOREVER)
    influx.write([sample("pm-1", float(s), T + s * 1_000) for s in range(180)])

    backfill(influx, MINUTE_FROM_SAMPLES, start_ms=T + 30_000, end_ms=T + 60_001)

    found = rollup_rows(influx, "minute")
    # a minute summarised from part of its samples would overwrite a correct one
    assert {key[0]: row["count"] for key, row in found.items()} == {T: 60, T + MINUTE: 60}


def test_backfill_splits_a_long_range_and_can_name_one_measurement(influx):
    prepare_retention(influx, FOREVER)
    points = [sample("pm-1", 1.0, T + i * 7 * MINUTE) for i in range(10)]
    influx.write([*points, sample("pm-1", 2.0, T, measurement="pm10")])

    written = backfill(
        influx,
        MINUTE_FROM_SAMPLES,
        start_ms=T,
        end_ms=T + HOUR + 10 * MINUTE,
        measurement="pm25",
        max_buckets=7,
    )

    assert written == 10
    assert len(rollup_rows(influx, "minute")) == 10
    assert rollup_rows(influx, "minute", "pm10") == {}


def test_backfill_of_points_older_than_the_target_keeps_is_no_error(influx):
    prepare_retention(influx, Retention(raw="INF", minute="INF", hour="30d"))
    influx.write([aggregate("pm-1", 1.0, T - 400 * 86_400_000, low=1.0, high=1.0, count=1)])
    start = T - 400 * 86_400_000
    backfill(influx, MINUTE_FROM_AGGREGATES, start_ms=start, end_ms=start + MINUTE)

    assert backfill(influx, HOUR_FROM_MINUTES, start_ms=start, end_ms=start + HOUR) == 0
    assert rollup_rows(influx, "hour") == {}


# --- the continuous queries themselves, and the panels that read them ------------------------


def test_the_continuous_queries_run_in_influxdb(influx):
    # A new CQ runs at once over its RESAMPLE FOR window, so recent points show the real thing
    # without waiting for a minute boundary.
    now = int(time.time() * 1000)
    recent = now - 5 * MINUTE
    minute_start = recent // MINUTE * MINUTE
    hour_start = recent // HOUR * HOUR
    create_retention_policies(influx, FOREVER)
    influx.write([sample("pm-1", 4.0, recent), sample("pm-1", 8.0, recent + 1)])
    influx.write([aggregate("pm-2", 6.0, minute_start, low=5.0, high=7.0, count=3)])
    # a minute as the minute CQ makes them, there before the hour CQ's first run
    minute = {"value": 2.0, "min": 1.0, "max": 3.0, "count": 4, "sum": 8.0}
    tags = {**PLACE, "device": "pm-3", "quality": "N", "interval": "raw"}
    influx.write([Point("pm25", tags, minute, minute_start)], retention_policy="minute")

    assert set(ensure_continuous_queries(influx)) == CQ_NAMES

    assert wait_until(lambda: len(rollup_rows(influx, "minute")) == 3, timeout_s=10)
    found = rollup_rows(influx, "minute")
    assert fields(found[minute_start, "pm-1", "N", "raw"]) == {
        "value": 6.0,
        "min": 4.0,
        "max": 8.0,
        "count": 2,
        "sum": 12.0,
    }
    assert fields(found[minute_start, "pm-2", "N", "60s"])["max"] == 7.0
    hour_key = (hour_start, "pm-3", "N", "raw")
    assert wait_until(lambda: hour_key in rollup_rows(influx, "hour"), timeout_s=10)
    assert fields(rollup_rows(influx, "hour")[hour_key]) == minute


def test_one_plain_influxql_query_per_grafana_panel(influx):
    prepare_retention(influx, FOREVER)
    influx.write(
        [
            *(
                aggregate("pm-1", 10.0 * (m + 1), T + m * MINUTE, low=1.0, high=99.0, count=30)
                for m in range(120)
            ),
            Point(
                "energy_import_delta",
                {**PLACE, "device": "meter-1", "quality": "N", "interval": "60s"},
                {"value": 0.5, "count": 1, "valid": True},
                T,
            ),
            Point(
                "energy_import_delta",
                {**PLACE, "device": "meter-1", "quality": "N", "interval": "60s"},
                {"value": 0.25, "count": 1, "valid": True},
                T + 10 * MINUTE,
            ),
        ]
    )
    for rollup in ROLLUPS:
        backfill(influx, rollup, start_ms=T, end_ms=T + 2 * HOUR)

    def panel(query):
        """A panel's query as Grafana sends it: its own database name, $timeFilter expanded."""
        time_filter = f"time >= {T}ms and time <= {T + 2 * HOUR - 1}ms"
        sent = query.replace('"lantian"', f'"{influx.database}"')
        return rows(influx, sent.replace("$timeFilter", time_filter))

    hourly = panel(
        """SELECT "value" FROM "lantian"."hour"."pm25" WHERE "site" = 'site-a' AND $timeFilter"""
    )
    assert [(r["time"], r["value"]) for r in hourly] == [(T, 305.0), (T + HOUR, 905.0)]

    five_minutes = panel(
        'SELECT mean("value") FROM "lantian"."minute"."pm25" WHERE "site" = \'site-a\''
        ' AND $timeFilter GROUP BY time(5m), "device"'
    )
    assert five_minutes[0] == {"time": T, "device": "pm-1", "mean": 30.0}

    extremes = panel(
        'SELECT min("min"), max("max") FROM "lantian"."hour"."pm25"'
        " WHERE \"county\" = 'chiping' AND $timeFilter"
    )
    assert (extremes[0]["min"], extremes[0]["max"]) == (1.0, 99.0)

    consumption = panel(
        'SELECT "sum" FROM "lantian"."hour"."energy_import_delta"'
        " WHERE \"site\" = 'site-a' AND $timeFilter"
    )
    assert [(r["time"], r["sum"]) for r in consumption] == [(T, 0.75)]
