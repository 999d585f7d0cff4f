"""Server-side storage adapters: InfluxDB over its v1-compatible HTTP API, and the SQL store."""
