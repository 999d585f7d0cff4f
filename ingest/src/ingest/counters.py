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
        self.write_retries = Counter(
            "lantian_ingest_write_retries",
            "InfluxDB writes retried after the server was unavailable.",
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

    def rejected_total(self) -> float:
        """All rejected messages, whatever the reason."""
        return sum(
            sample.value
            for metric in self.rejected.collect()
            for sample in metric.samples
            if sample.name.endswith("_total")
        )
