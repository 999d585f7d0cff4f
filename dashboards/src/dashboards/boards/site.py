"""Site detail dashboard.

Raw and hourly PM2.5 and PM10 against the limit in force, daily means with their validity, the
AQI's history and the health of the site's devices.
"""

# ruff: noqa: S608 - InfluxQL for Grafana: fixed text and Grafana's own macros, no user input

from datetime import UTC, datetime

from dashboards.colours import AQI_VALUES, daily_limit
from dashboards.model import Dashboard, Panel, Threshold
from dashboards.variables import COUNTY, ENTERPRISE, PARK, SITE
from standards.pollutants import Pollutant

_TODAY = datetime.now(UTC).date()


def _raw(pollutant: Pollutant, label: str) -> Panel:
    return Panel(
        f"{label}: one-minute values",
        "timeseries",
        f'SELECT mean("value") FROM "{pollutant.value}" '
        "WHERE \"site\" = '$site' AND \"quality\" = 'N' AND $timeFilter "
        'GROUP BY time($__interval), "device", "interval"',
        unit="conμgm3",
        alias="$tag_device ($tag_interval)",
        thresholds=daily_limit(pollutant, _TODAY),
        description="Readings flagged N (valid). The red line is the Grade II 24-hour limit of "
        "GB 3095 for comparison; the hourly panel shows the limit in force at this site.",
    )


def _hourly(pollutant: Pollutant, label: str) -> Panel:
    return Panel(
        f"{label}: hourly means and the limit in force",
        "timeseries",
        'SELECT last("value") AS "hourly mean", last("limit") AS "limit in force" '
        'FROM "window_mean" WHERE "site" = \'$site\' AND '
        f"\"metric\" = '{pollutant.value}' AND \"interval\" = '1h' AND $timeFilter "
        "GROUP BY time(1h)",
        unit="conμgm3",
        description="The rules engine's hourly means; the limit is the one it judged them by "
        "(a permit's, or GB 3095's).",
        overrides=[
            {
                "matcher": {"id": "byName", "options": "limit in force"},
                "properties": [
                    {"id": "color", "value": {"mode": "fixed", "fixedColor": "red"}},
                    {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
                ],
            }
        ],
    )


DAILY = Panel(
    "Daily means and their validity",
    "table",
    'SELECT "metric", "value", "limit", "valid", "count" FROM "window_mean" '
    "WHERE \"site\" = '$site' AND \"interval\" = '1d' AND $timeFilter",
    width=12,
    table=True,
    mappings={
        "0": {"text": "invalid", "color": "orange"},
        "1": {"text": "valid", "color": "green"},
    },
    description="Calendar days in Asia/Shanghai; a day is valid with enough hourly values "
    "(standards.validity, after GB 3095-2012).",
)

AQI_HISTORY = Panel(
    "Hourly AQI (HJ 633-2012)",
    "timeseries",
    'SELECT "aqi" FROM "aqi" WHERE "site" = \'$site\' AND "interval" = \'1h\' AND $timeFilter',
    width=12,
    thresholds=AQI_VALUES,
    options={"legend": {"displayMode": "list", "placement": "bottom"}},
)

DEVICES = Panel(
    "Device health (last report)",
    "table",
    'SELECT last("state") AS "state", last("consecutive_failures") AS "failures in a row", '
    'last("read_timeouts") AS "timeouts", last("bad_frames") AS "bad frames", '
    'last("device_faults") AS "faults" FROM "device_health" '
    'WHERE "site" = \'$site\' AND $timeFilter GROUP BY "gateway", "device"',
    width=24,
    height=7,
    table=True,
    thresholds=(Threshold("green"), Threshold("red", 1.0)),
)

SITE_DETAIL = Dashboard(
    uid="lantian-site",
    title="Lantian: site detail",
    folder="bureau",
    description="One site's particulates against its limits, its AQI and its devices.",
    variables=(COUNTY, PARK, ENTERPRISE, SITE),
    rows=(
        (_raw(Pollutant.PM25, "PM2.5"), _raw(Pollutant.PM10, "PM10")),
        (_hourly(Pollutant.PM25, "PM2.5"), _hourly(Pollutant.PM10, "PM10")),
        (DAILY, AQI_HISTORY),
        (DEVICES,),
    ),
    tags=("air",),
    time_from="now-2d",
)
