"""The rules engine.

This package will hold the rule files and their evaluation (stream thresholds and regulatory
windows), the alert lifecycle and the notification outbox. It talks to ingest and the API only
through MQTT, InfluxDB and the SQL store.
"""
