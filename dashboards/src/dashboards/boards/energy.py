"""Energy dashboard.

Consumption and coal equivalent per enterprise, intensity against its target, the year-to-date
path against the target path, and enterprises ranked by their distance to it.
"""

# ruff: noqa: S608 - InfluxQL for Grafana: fixed text and Grafana's own macros, no user input

from dashboards.model import Dashboard, Panel, Threshold
from dashboards.variables import COUNTY, ENTERPRISE, PARK, PLACE_ENTERPRISE

CONSUMPTION = Panel(
    "Electricity used per enterprise",
    "timeseries",
    'SELECT sum("value") FROM "energy_import_delta" '
    f'WHERE {PLACE_ENTERPRISE} AND $timeFilter GROUP BY time($__interval), "enterprise"',
    unit="kwatth",
    alias="$tag_enterprise",
    options={"legend": {"displayMode": "table", "placement": "right", "calcs": ["sum"]}},
    description="Sum of the meters' interval readings (energy_import_delta) in each interval.",
)

KGCE = Panel(
    "Coal equivalent per day (GB/T 2589-2020)",
    "barchart",
    'SELECT "kgce" FROM "energy" '
    f'WHERE "interval" = \'1d\' AND {PLACE_ENTERPRISE} AND $timeFilter GROUP BY "enterprise"',
    unit="kg",
    alias="$tag_enterprise",
    description="kgce of each enterprise's day, as the energy intensity rules converted it.",
)

INTENSITY = Panel(
    "Energy intensity against target",
    "timeseries",
    'SELECT "intensity", "target" FROM "energy" '
    f'WHERE "interval" = \'1d\' AND {PLACE_ENTERPRISE} AND $timeFilter GROUP BY "enterprise"',
    width=24,
    alias="$tag_enterprise $col",
    description="kgce per unit of output per day; the target is the rule's.",
)

PATH = Panel(
    "Year to date against the target path",
    "timeseries",
    'SELECT "actual" AS "year to date", "path" AS "target path", "projected" '
    'FROM "target_path" WHERE "goal" = \'energy_intensity\' AND '
    f'{PLACE_ENTERPRISE} AND $timeFilter GROUP BY "enterprise"',
    alias="$tag_enterprise $col",
    description="The annual target rules' year-to-date intensity, the path's value for the "
    "year (from baseline to target) and the projection to the year's end.",
)

RANKING = Panel(
    "Enterprises by distance to their target path",
    "table",
    'SELECT last("actual") - last("path") AS "above path", last("actual") AS "year to date", '
    'last("path") AS "target path" FROM "target_path" '
    f"WHERE \"goal\" = 'energy_intensity' AND {PLACE_ENTERPRISE} AND $timeFilter "
    'GROUP BY "enterprise"',
    table=True,
    thresholds=(Threshold("green"), Threshold("red", 0.0)),
    transformations=[
        {"id": "sortBy", "options": {"sort": [{"field": "above path", "desc": True}]}}
    ],
    description="Positive: above the path (behind); negative: below it (ahead).",
)

ENERGY = Dashboard(
    uid="lantian-energy",
    title="Lantian: energy",
    folder="energy",
    description="Energy use and intensity of enterprises against their targets.",
    variables=(COUNTY, PARK, ENTERPRISE),
    rows=((CONSUMPTION, KGCE), (INTENSITY,), (PATH, RANKING)),
    tags=("energy",),
    time_from="now-30d",
    refresh="5m",
)
