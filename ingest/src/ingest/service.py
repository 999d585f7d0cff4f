"""The ingest service: a broker session, a batching writer, the registry cache and self-metrics.

Constructing an :class:`IngestService` opens nothing; :meth:`IngestService.start` prepares the
database (retention policies and rollup CQs, :mod:`store.rollups`), starts the metrics endpoint,
the writer, watermark and late-rollup threads, the self-report (its counters written to
InfluxDB, :mod:`ingest.self_report`) and the broker session; :meth:`IngestService.stop`
stops taking messages, flushes what has arrived and disconnects.
"""

import logging
import queue
import threading
from typing import TYPE_CHECKING

from prometheus_client import start_http_server

from ingest.broker import BrokerSession, Delivery
from ingest.counters import IngestCounters
from ingest.progress import DeliveryProgress
from ingest.rollups import LateRollups
from ingest.self_report import SelfReport
from ingest.settings import IngestSettings
from ingest.validation import ReadingChecks
from ingest.writer import BatchWriter
from store.influx import InfluxStore
from store.rollups import Retention, duration_ms, prepare_retention
from store.sql import DeadLetterStore, DeliveryLedger, PlacementCache, Registry

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

log = logging.getLogger(__name__)


class IngestService:
    """MQTT telemetry in, InfluxDB points out, acknowledged only once written."""

    def __init__(
        self,
        settings: IngestSettings,
        *,
        influx: InfluxStore,
        registry: Registry,
        ledger: DeliveryLedger,
        dead_letters: DeadLetterStore,
    ) -> None:
        self.settings = settings
        self.counters = IngestCounters()
        self._influx = influx
        self._deliveries: queue.Queue[Delivery] = queue.Queue()
        self.broker = BrokerSession(
            settings,
            self._deliveries,
            on_subscribed=lambda subscribed: self.counters.subscribed.set(int(subscribed)),
        )
        self.progress = DeliveryProgress(
            ledger,
            publish=self.broker.publish_ack,
            counters=self.counters,
            gap_timeout_s=settings.gap_timeout_s,
            ack_min_interval_s=settings.ack_min_interval_s,
        )
        self._retention = Retention(
            raw=settings.influx_raw_retention,
            minute=settings.influx_minute_retention,
            hour=settings.influx_hour_retention,
        )
        self.rollups = LateRollups(
            influx,
            counters=self.counters,
            period_s=settings.rollup_backfill_period_s,
            horizon_ms=duration_ms(self._retention.raw),
        )
        self._writer = BatchWriter(
            deliveries=self._deliveries,
            influx=influx,
            placements=PlacementCache(registry, refresh_s=settings.registry_refresh_s),
            progress=self.progress,
            dead_letters=dead_letters,
            checks=ReadingChecks(
                clock_skew_s=settings.clock_skew_s, late_after_s=settings.late_after_s
            ),
            ack=self.broker.ack,
            counters=self.counters,
            max_readings=settings.batch_max_readings,
            max_delay_s=settings.batch_max_delay_s,
            on_written=self.rollups.note,
        )
        self._writer_thread = threading.Thread(
            target=self._writer.run, name="ingest-writer", daemon=True
        )
        self._progress_thread = threading.Thread(
            target=self.progress.run, name="ingest-progress", daemon=True
        )
        self._rollups_thread = threading.Thread(
            target=self.rollups.run, name="ingest-rollups", daemon=True
        )
        self.self_report = SelfReport(
            influx, self.counters.registry, instance=settings.mqtt_client_id
        )
        self._metrics_server: WSGIServer | None = None
        self.metrics_port: int | None = None

    def start(self) -> None:
        """Prepare the database, then start serving metrics, writing and consuming."""
        self._influx.create_database()
        changed = prepare_retention(self._influx, self._retention)
        if changed:
            log.info("continuous queries created, replaced or dropped: %s", ", ".join(changed))
        if self.settings.metrics_port is not None:
            self._metrics_server, _ = start_http_server(
                self.settings.metrics_port,
                addr=self.settings.metrics_host,
                registry=self.counters.registry,
            )
            self.metrics_port = self._metrics_server.server_port
            log.info(
                "metrics on http://%s:%s/metrics", self.settings.metrics_host, self.metrics_port
            )
        self._writer_thread.start()
        self._progress_thread.start()
        self._rollups_thread.start()
        self.self_report.start()
        self.broker.start()

    def stop(self) -> None:
        """Stop consuming, flush and acknowledge what has arrived, then disconnect."""
        self._writer.stop()
        self._writer_thread.join()
        self.progress.stop()  # publishes the last risen watermarks while still connected
        self._progress_thread.join()
        self.broker.stop()
        self.rollups.stop()  # backfills what the last writes left pending
        self._rollups_thread.join()
        self.self_report.stop()  # a last snapshot, with the final totals
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
            self._metrics_server.server_close()
