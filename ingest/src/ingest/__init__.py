"""Ingest: MQTT telemetry batches into InfluxDB, acknowledged only once they are written."""
