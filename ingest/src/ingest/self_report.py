"""Ingest's own figures written to InfluxDB, as Telegraf's ``internal`` input does for Telegraf.

The Prometheus endpoint serves a scraper; the bureau's dashboards read InfluxDB only. So every
``period_s`` a thread takes a snapshot of the service's Prometheus registry and writes it as
points of the measurement ``lantian_ingest`` (docs/data-model.md):

- tag ``instance``: the worker (its MQTT client id), so N workers stay N series;
- one point per label set (``reason`` of rejections, ``policy`` of backfills; none for the rest);
- fields: each counter's running total under its name without ``lantian_ingest_`` (a panel takes
  ``non_negative_difference``), each gauge's value, and for each histogram its ``_count``,
  ``_sum`` and ``_mean``, the mean of the observations since the last snapshot (absent when
  there were none).

A failed write is logged and counted (``lantian_ingest_self_report_errors_total``); the next
snapshot carries the totals on, so nothing but the resolution of that period is lost.
"""

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter

from store.errors import InfluxError, LineProtocolError
from store.influx import InfluxStore
from store.lineprotocol import FieldValue, Point

log = logging.getLogger(__name__)

MEASUREMENT = "lantian_ingest"
_PREFIX = "lantian_ingest_"


def snapshot_points(
    registry: CollectorRegistry,
    *,
    instance: str,
    time_ms: int,
    previous: dict[tuple[str, tuple[tuple[str, str], ...]], float] | None = None,
) -> list[Point]:
    """The points of one snapshot of ``registry``.

    ``previous`` holds the histograms' sums and counts of the last snapshot, and is updated, so
    the ``_mean`` fields cover the observations in between.
    """
    previous = {} if previous is None else previous
    fields: dict[tuple[tuple[str, str], ...], dict[str, FieldValue]] = defaultdict(dict)
    for metric in registry.collect():
        name = metric.name.removeprefix(_PREFIX)
        if metric.type not in {"counter", "gauge", "histogram"}:
            continue
        for sample in metric.samples:
            labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le"))
            counted = metric.type == "counter" and sample.name.endswith("_total")
            if counted or metric.type == "gauge":
                fields[labels][name] = float(sample.value)
            elif metric.type == "histogram" and sample.name.endswith(("_count", "_sum")):
                suffix = sample.name.rsplit("_", 1)[1]
                fields[labels][f"{name}_{suffix}"] = float(sample.value)
    for labels, values in fields.items():
        for key in [k for k in values if k.endswith("_count")]:
            base = key.removesuffix("_count")
            count, total = float(values[key]), float(values[f"{base}_sum"])
            last_count = previous.get((f"{base}_count", labels), 0.0)
            last_sum = previous.get((f"{base}_sum", labels), 0.0)
            previous[(f"{base}_count", labels)] = count
            previous[(f"{base}_sum", labels)] = total
            if count > last_count:
                values[f"{base}_mean"] = (total - last_sum) / (count - last_count)
    return [
        Point(MEASUREMENT, {"instance": instance, **dict(labels)}, values, time_ms)
        for labels, values in fields.items()
        if values
    ]


class SelfReport:
    """Writes snapshots of ingest's counters to InfluxDB every ``period_s`` on its own thread."""

    def __init__(
        self,
        influx: InfluxStore,
        registry: CollectorRegistry,
        *,
        instance: str,
        period_s: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._influx = influx
        self._registry = registry
        self._instance = instance
        self._period_s = period_s
        self._clock = clock
        self._previous: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ingest-self-report", daemon=True)
        self.errors = Counter(
            "lantian_ingest_self_report_errors",
            "Snapshots of these figures that could not be written to InfluxDB.",
            registry=registry,
        )

    def report(self) -> bool:
        """Write one snapshot now; say whether InfluxDB took it."""
        with self._lock:  # the thread's and a caller's snapshots share the last sums
            points = snapshot_points(
                self._registry,
                instance=self._instance,
                time_ms=int(self._clock() * 1000),
                previous=self._previous,
            )
        try:
            self._influx.write(points)
        except (InfluxError, LineProtocolError) as exc:
            self.errors.inc()
            log.warning("could not write ingest's figures to InfluxDB: %s", exc)
            return False
        return True

    def start(self) -> None:
        """Start the reporting thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and write a last snapshot."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()
        self.report()

    def _run(self) -> None:
        while not self._stopping.wait(self._period_s):
            self.report()
