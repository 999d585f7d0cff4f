"""Grafana dashboards for the bureau, as code.

:mod:`dashboards.model` holds the pieces (panels, variables, dashboards) that render to
Grafana's JSON; :mod:`dashboards.boards` the four dashboards (city overview, site detail,
energy, fleet health), each panel one InfluxQL statement; :mod:`dashboards.provisioning` the
files Grafana provisions from (``deploy/grafana/``); :mod:`dashboards.push` puts everything on a
running Grafana through grafana-client. The panel catalogue is docs/dashboards.md.
"""
