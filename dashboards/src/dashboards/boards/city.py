"""City overview dashboard.

Every site on the map by its AQI category, the latest particulates, open exceedances, data
completeness per county and park, and gateways' last reported state.
"""

# ruff: noqa: S608 - InfluxQL for Grafana: fixed text and Grafana's own macros, no user input

from dashboards.colours import AQI_LEVEL_NAMES, AQI_LEVELS, ONLINE
from dashboards.model import Dashboard, Panel, Threshold
from dashboards.variables import COUNTY, PARK, PLACE

_LATEST_SORT = {"id": "sortBy", "options": {"sort": [{"field": "site"}]}}

MAP = Panel(
    "Sites by current AQI category (HJ 633-2012)",
    "geomap",
    'SELECT last("aqi") AS "aqi", last("level") AS "level", last("category") AS "category", '
    'last("latitude") AS "latitude", last("longitude") AS "longitude" FROM "aqi" '
    f'WHERE "interval" = \'1h\' AND {PLACE} AND $timeFilter GROUP BY "site"',
    width=14,
    height=14,
    table=True,
    thresholds=AQI_LEVELS,
    mappings=AQI_LEVEL_NAMES,
    description="The latest hourly AQI of each site, coloured by its category.",
    options={
        "view": {"id": "coords", "lat": 36.45, "lon": 115.98, "zoom": 8},  # Liaocheng
        "controls": {"showZoom": True, "mouseWheelZoom": True},
        "basemap": {"type": "default", "name": "Basemap"},
        "layers": [
            {
                "type": "markers",
                "name": "Sites",
                "location": {"mode": "coords", "latitude": "latitude", "longitude": "longitude"},
                "config": {
                    "size": {"fixed": 8},
                    "color": {"field": "level", "fixed": "dark-green"},
                    "text": {"field": "site", "mode": "field"},
                },
            }
        ],
    },
)

LATEST_PM25 = Panel(
    "Latest PM2.5 per site",
    "table",
    'SELECT last("value") AS "PM2.5" FROM "pm25" '
    f"WHERE \"interval\" = '60s' AND \"quality\" = 'N' AND {PLACE} AND $timeFilter "
    'GROUP BY "site"',
    width=5,
    height=14,
    unit="conμgm3",
    table=True,
    transformations=[_LATEST_SORT],
)

LATEST_PM10 = Panel(
    "Latest PM10 per site",
    "table",
    'SELECT last("value") AS "PM10" FROM "pm10" '
    f"WHERE \"interval\" = '60s' AND \"quality\" = 'N' AND {PLACE} AND $timeFilter "
    'GROUP BY "site"',
    width=5,
    height=14,
    unit="conμgm3",
    table=True,
    transformations=[_LATEST_SORT],
)

OPEN_EXCEEDANCES = Panel(
    "Open exceedances",
    "table",
    'SELECT last("firing") AS "firing", last("outcome") AS "outcome", last("value") AS "value", '
    'last("limit") AS "limit", last("severity") AS "severity" FROM "rule_result" '
    f'WHERE {PLACE} AND $timeFilter GROUP BY "rule", "site"',
    width=12,
    height=10,
    table=True,
    description="Each rule and site whose latest result is an exceedance, a firing episode or "
    "a projected miss of its target.",
    transformations=[
        {
            "id": "filterByValue",
            "options": {
                "type": "include",
                "match": "all",
                "filters": [
                    {
                        "fieldName": "firing",
                        "config": {"id": "equal", "options": {"value": 1}},
                    }
                ],
            },
        }
    ],
)

COMPLETENESS = Panel(
    "Data completeness: valid hourly means per county and park",
    "bargauge",
    'SELECT mean("valid") * 100 AS "valid hours" FROM "window_mean" '
    f'WHERE "interval" = \'1h\' AND {PLACE} AND $timeFilter GROUP BY "county", "park"',
    width=6,
    height=10,
    unit="percent",
    alias="$tag_county $tag_park",
    description="Share of site-hours whose mean met its validity rule (standards.validity, "
    "after GB 3095-2012).",
    thresholds=(Threshold("red"), Threshold("orange", 75.0), Threshold("green", 90.0)),
)

GATEWAYS = Panel(
    "Gateways: last reported state",
    "table",
    'SELECT last("online") AS "online", last("spool_batches") AS "spool" '
    f'FROM "gateway_health" WHERE {PLACE} AND $timeFilter GROUP BY "gateway", "site"',
    width=6,
    height=10,
    table=True,
    mappings=ONLINE,
    transformations=[{"id": "sortBy", "options": {"sort": [{"field": "online"}]}}],
)

CITY_OVERVIEW = Dashboard(
    uid="lantian-city",
    title="Lantian: city overview",
    folder="bureau",
    description="Air quality and data completeness across Liaocheng's monitored sites.",
    variables=(COUNTY, PARK),
    rows=((MAP, LATEST_PM25, LATEST_PM10), (OPEN_EXCEEDANCES, COMPLETENESS, GATEWAYS)),
    tags=("air",),
)
