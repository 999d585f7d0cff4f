"""Grafana dashboards for the bureau, as code.

This package will hold the dashboard models (city overview, site detail, energy, fleet health),
the Grafana provisioning files and a pusher that creates them on a running Grafana through
grafana-client.
"""
