"""Fleet health dashboard.

Gateways online, their spools (depth, oldest unacknowledged batch, dropped readings), and
ingest's own figures (dead letters by reason, lag).
"""

# ruff: noqa: S608 - InfluxQL for Grafana: fixed text and Grafana's own macros, no user input

from dashboards.colours import ONLINE
from dashboards.model import Dashboard, Panel
from dashboards.variables import COUNTY, ENTERPRISE, PARK, PLACE_ENTERPRISE

ONLINE_TIMELINE = Panel(
    "Gateways online",
    "state-timeline",
    'SELECT last("online") FROM "gateway_health" '
    f'WHERE {PLACE_ENTERPRISE} AND $timeFilter GROUP BY time($__interval), "gateway" '
    "fill(previous)",
    width=24,
    alias="$tag_gateway",
    mappings=ONLINE,
    description="From each gateway's retained status topic: its health reports and last will.",
)

SPOOL = Panel(
    "Spool depth (batches waiting for acknowledgement)",
    "timeseries",
    'SELECT max("spool_batches") FROM "gateway_health" '
    f'WHERE {PLACE_ENTERPRISE} AND $timeFilter GROUP BY time($__interval), "gateway"',
    unit="short",
    alias="$tag_gateway",
)

OLDEST = Panel(
    "Oldest unacknowledged batch",
    "timeseries",
    'SELECT max("oldest_unacked_s") FROM "gateway_health" '
    f'WHERE {PLACE_ENTERPRISE} AND $timeFilter GROUP BY time($__interval), "gateway"',
    unit="s",
    alias="$tag_gateway",
)

DROPPED = Panel(
    "Dropped by the gateways' spools (since agent start)",
    "table",
    'SELECT last("dropped_raw") AS "raw readings", last("dropped_aggregate") AS "aggregates", '
    'last("dropped_batches") AS "batches" FROM "gateway_health" '
    f'WHERE {PLACE_ENTERPRISE} AND $timeFilter GROUP BY "gateway"',
    table=True,
)

DEAD_LETTERS = Panel(
    "Ingest: messages refused (dead letters) by reason",
    "timeseries",
    'SELECT non_negative_difference(max("messages_rejected")) FROM "lantian_ingest" '
    'WHERE $timeFilter GROUP BY time($__interval), "reason"',
    unit="short",
    alias="$tag_reason",
    description="Each refused message is kept in the SQL store's dead letters with its reason.",
)

LAG = Panel(
    "Ingest: broker-to-InfluxDB lag",
    "timeseries",
    'SELECT mean("lag_seconds_mean") FROM "lantian_ingest" '
    'WHERE $timeFilter GROUP BY time($__interval), "instance"',
    unit="s",
    alias="$tag_instance",
    description="Mean time from a message arriving to its readings being stored, per worker.",
)

WRITTEN = Panel(
    "Ingest: readings written per minute",
    "timeseries",
    'SELECT non_negative_derivative(max("readings_written"), 1m) FROM "lantian_ingest" '
    'WHERE $timeFilter GROUP BY time($__interval), "instance"',
    unit="short",
    alias="$tag_instance",
)

FLEET_HEALTH = Dashboard(
    uid="lantian-fleet",
    title="Lantian: fleet health",
    folder="operations",
    description="Gateways, their spools, and the ingest service.",
    variables=(COUNTY, PARK, ENTERPRISE),
    rows=((ONLINE_TIMELINE,), (SPOOL, OLDEST), (DROPPED, DEAD_LETTERS), (LAG, WRITTEN)),
    tags=("operations",),
    time_from="now-6h",
    refresh="30s",
)
