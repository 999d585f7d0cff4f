"""The pieces of a Grafana dashboard, as frozen values that render to Grafana's JSON model.

A dashboard is rows of panels; each panel is one plain InfluxQL statement on the project's
InfluxDB data source (the v1 API, Grafana's InfluxDB data source in InfluxQL mode), with
Grafana's ``$timeFilter`` and ``$__interval`` and the dashboard's variables in it. Layout is
computed, not written by hand: panels fill a row left to right in Grafana's 24 columns, so
positions never overlap.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

DATASOURCE_UID = "lantian-influxdb"
DATASOURCE = {"type": "influxdb", "uid": DATASOURCE_UID}
COLUMNS = 24  # Grafana's grid is 24 columns wide
SCHEMA_VERSION = 39

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Threshold:
    """A step of a panel's thresholds: from ``value`` on (None: the base), drawn in ``color``."""

    color: str
    value: float | None = None


@dataclass(frozen=True, slots=True)
class Panel:
    """One panel and its query.

    ``kind``: Grafana's panel type (``timeseries``, ``stat``, ``table``, ``geomap``,
    ``bargauge``, ``barchart``). ``table``: ask InfluxDB for a table instead of time series.
    ``thresholds`` are drawn as lines (time series) or colours (stat, table, map).
    """

    title: str
    kind: str
    query: str
    width: int = 12
    height: int = 8
    unit: str | None = None
    description: str = ""
    table: bool = False
    alias: str | None = None
    thresholds: Sequence[Threshold] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    overrides: Sequence[Json] = ()
    transformations: Sequence[Json] = ()
    mappings: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    decimals: int | None = None

    def render(self, panel_id: int, x: int, y: int) -> Json:
        """The panel's JSON at grid position (``x``, ``y``)."""
        defaults: Json = {}
        if self.unit is not None:
            defaults["unit"] = self.unit
        if self.decimals is not None:
            defaults["decimals"] = self.decimals
        if self.mappings:
            defaults["mappings"] = [{"type": "value", "options": dict(self.mappings)}]
        if self.thresholds:
            defaults["thresholds"] = {
                "mode": "absolute",
                "steps": [{"color": t.color, "value": t.value} for t in self.thresholds],
            }
            if self.kind == "timeseries":
                defaults["custom"] = {"thresholdsStyle": {"mode": "line"}}
        target: Json = {
            "refId": "A",
            "datasource": DATASOURCE,
            "query": self.query,
            "rawQuery": True,
            "resultFormat": "table" if self.table else "time_series",
        }
        if self.alias is not None:
            target["alias"] = self.alias
        return {
            "id": panel_id,
            "type": self.kind,
            "title": self.title,
            "description": self.description,
            "datasource": DATASOURCE,
            "gridPos": {"h": self.height, "w": self.width, "x": x, "y": y},
            "targets": [target],
            "fieldConfig": {"defaults": defaults, "overrides": list(self.overrides)},
            "options": dict(self.options),
            "transformations": list(self.transformations),
        }


@dataclass(frozen=True, slots=True)
class Variable:
    """A query variable whose values come from ``SHOW TAG VALUES``.

    ``multi`` variables offer "All" (every value, as the regex ``.*``) and are meant for
    ``=~ /^$name$/`` in queries; single ones for ``= '$name'``.
    """

    name: str
    label: str
    query: str
    multi: bool = True

    def render(self) -> Json:
        """The variable's JSON in the dashboard's templating list."""
        return {
            "name": self.name,
            "label": self.label,
            "type": "query",
            "datasource": DATASOURCE,
            "query": self.query,
            "definition": self.query,
            "refresh": 2,  # on time range change, so new sites appear
            "sort": 1,
            "multi": self.multi,
            "includeAll": self.multi,
            "allValue": ".*" if self.multi else None,
            "current": {},
            "options": [],
            "hide": 0,
        }


@dataclass(frozen=True, slots=True)
class Dashboard:
    """A dashboard: where it is filed, its variables and its rows of panels."""

    uid: str
    title: str
    folder: str
    description: str
    variables: Sequence[Variable]
    rows: Sequence[Sequence[Panel]]
    tags: Sequence[str] = ()
    time_from: str = "now-24h"
    refresh: str = "1m"

    @property
    def panels(self) -> list[Panel]:
        """Every panel, row by row."""
        return [panel for row in self.rows for panel in row]

    def render(self) -> Json:
        """Grafana's JSON model of the dashboard (``id`` null: Grafana assigns it)."""
        panels: list[Json] = []
        y = 0
        for row in self.rows:
            x = 0
            height = 0
            for panel in row:
                if x + panel.width > COLUMNS:
                    raise ValueError(f"{self.uid}: row of {panel.title!r} is wider than {COLUMNS}")
                panels.append(panel.render(len(panels) + 1, x, y))
                x += panel.width
                height = max(height, panel.height)
            y += height
        return {
            "id": None,
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": ["lantian", *self.tags],
            "timezone": "Asia/Shanghai",
            "editable": True,
            "graphTooltip": 1,
            "schemaVersion": SCHEMA_VERSION,
            "version": 1,
            "refresh": self.refresh,
            "time": {"from": self.time_from, "to": "now"},
            "templating": {"list": [variable.render() for variable in self.variables]},
            "annotations": {"list": []},
            "links": [],
            "panels": panels,
        }
