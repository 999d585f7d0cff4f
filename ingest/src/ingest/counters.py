"""Ingest's self-metrics, exported in the Prometheus text format.

Each :class:`IngestCounters` has its own registry, so two services in one process (as in tests)
never share counts.
"""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class IngestCounters:
    """What ingest has received, written and rejected, and how long batches take."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages_received = Counter(
            "lantian_ingest_messages_received",
            "Telemetry messages received from the broker.",
            registry=self.registry,
        )
        self.readings_received = Counter(
            "lantian_ingest_readings_received",
            "Readings in telemetry messages that decoded.",
            registry=self.registry,
        )
        self.readings_written = Counter(
            "lantian_ingest_readings_written",
            "Readings accepted by InfluxDB.",
            registry=self.registry,
        )
        self.rejected = Counter(
            "lantian_ingest_messages_rejected",
            "Telemetry messages rejected, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.readings_rejected = Counter(
            "lantian_ingest_readings_rejected",
            "Readings refused one by one (the rest of their message written), by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "lantian_ingest_dead_letters",
            "Refused messages and readings kept in the SQL store's dead letters.",
            registry=self.registry,
        )
        self.late_readings = Counter(
            "lantian_ingest_late_readings",
            "Readings accepted although older than the late threshold when they arrived.",
            registry=self.registry,
        )
        self.write_retries = Counter(
            "lantian_ingest_write_retries",
            "Steps retried after InfluxDB or the SQL store was unavailable.",
            registry=self.registry,
        )
        self.duplicates = Counter(
            "lantian_ingest_duplicates",
            "Telemetry batches not written again: their seq was stored already.",
            registry=self.registry,
        )
        self.gaps = Counter(
            "lantian_ingest_gaps",
            "Runs of missing batch seqs declared lost after the gap timeout.",
            registry=self.registry,
        )
        self.acks_published = Counter(
            "lantian_ingest_acks_published",
            "Risen watermarks published retained on a gateway's ack topic.",
            registry=self.registry,
        )
        self.subscribed = Gauge(
            "lantian_ingest_subscribed",
            "1 while the broker has confirmed the telemetry subscription on the live connection.",
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "lantian_ingest_batch_seconds",
            "Time from the first message of a batch arriving to the batch being acknowledged.",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.lag_seconds = Histogram(
            "lantian_ingest_lag_seconds",
            "Broker-to-InfluxDB lag: from a message arriving from the broker to its readings "
            "being stored and the message acknowledged.",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.reading_age_seconds = Histogram(
            "lantian_ingest_reading_age_seconds",
            "Age of a message's newest reading (its source timestamp) when it was stored: how "
            "far the stored data trails the devices.",
            buckets=(1, 5, 15, 60, 120, 300, 900, 3600, 6 * 3600, 86400),
            registry=self.registry,
        )
        self.rollup_backfills = Counter(
            "lantian_ingest_rollup_backfills",
            "Windows of late readings rolled up again, by target retention policy.",
            ["policy"],
            registry=self.registry,
        )
        self.rollup_backfill_errors = Counter(
            "lantian_ingest_rollup_backfill_errors",
            "Rollup backfills InfluxDB failed; their windows are tried again later.",
            registry=self.registry,
        )

    def rejected_total(self) -> float:
        """All rejected messages, whatever the reason."""
        return sum(
            sample.value
            for metric in self.rejected.collect()
            for sample in metric.samples
            if sample.name.endswith("_total")
        )
