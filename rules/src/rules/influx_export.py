"""Rule results and gateway health copied to InfluxDB, for the dashboards.

The SQL store stays the record of what the engine decided; InfluxDB gets a copy laid out for
Grafana (:mod:`store.result_points`). The service hands over every result it recorded (and at
start the results it took back, so a copy lost in a crash is written again) and every gateway
status message it read. Handing over only queues them: the stream never waits for InfluxDB
or for the registry (sites' coordinates). A thread encodes the queue and writes it every
``flush_interval_s``; while InfluxDB is unavailable the lines stay queued and the write is
retried after a pause that doubles up to a minute. Each queue (items handed over, lines
encoded) holds at most ``max_lines``; past that the oldest are dropped and counted. Writing a
line again is harmless (same series and time: overwritten).

Counted in the service's registry: ``lantian_rules_influx_points_total`` (written),
``lantian_rules_influx_write_errors_total``, ``lantian_rules_influx_dropped_total{reason}``
(``encode``: a point InfluxDB could not take; ``overflow``: the queue was full).
"""

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter
from sqlalchemy.exc import SQLAlchemyError

from rules.alerting import ServiceAlerts
from rules.alerts import AlertBook
from rules.counters import RulesCounters
from store.errors import InfluxError, LineProtocolError
from store.influx import InfluxStore
from store.lineprotocol import Point, encode_point
from store.result_points import gateway_health_points, result_points
from store.sql import Placement, Registry, RuleResult
from telemetry import GatewayStatus

log = logging.getLogger(__name__)

_BACKOFF_MAX_S = 60.0


@dataclass(frozen=True, slots=True)
class _Status:
    """A gateway's status message as it arrived, waiting to be encoded."""

    placement: Placement
    status: GatewayStatus
    ts_ms: int


class InfluxExport:
    """A queue of points for InfluxDB and the thread that writes it."""

    def __init__(
        self,
        influx: InfluxStore,
        registry: CollectorRegistry,
        *,
        locate: Callable[[str], tuple[float, float] | None] = lambda _site: None,
        flush_interval_s: float = 1.0,
        max_lines: int = 200_000,
    ) -> None:
        self._influx = influx
        self._locate = locate
        self._flush_interval_s = flush_interval_s
        self._intake: deque[RuleResult | _Status] = deque()  # not yet encoded
        self._lines: deque[str] = deque()  # encoded, waiting for InfluxDB
        self._max_lines = max_lines
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rules-influx", daemon=True)
        self.written = Counter(
            "lantian_rules_influx_points",
            "Points of rule results and gateway health written to InfluxDB.",
            registry=registry,
        )
        self.write_errors = Counter(
            "lantian_rules_influx_write_errors",
            "Writes to InfluxDB that failed; their points stay queued and are written again.",
            registry=registry,
        )
        self.dropped = Counter(
            "lantian_rules_influx_dropped",
            "Points not written to InfluxDB, by reason (encode, overflow).",
            ["reason"],
            registry=registry,
        )

    def results(self, results: Iterable[RuleResult]) -> None:
        """Queue rule results for InfluxDB; never blocks, never raises."""
        self._take(results)

    def status(self, placement: Placement, status: GatewayStatus, ts_ms: int) -> None:
        """Queue a gateway's status message for InfluxDB; never blocks, never raises."""
        self._take([_Status(placement, status, ts_ms)])

    @property
    def pending(self) -> int:
        """Results, status messages and lines waiting to be written."""
        with self._lock:
            return len(self._intake) + len(self._lines)

    def start(self) -> None:
        """Start the writing thread."""
        self._thread.start()

    def stop(self) -> None:
        """Write what is queued once more, then stop the thread."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()
        self.flush()

    def flush(self) -> bool:
        """Write the queued lines; say whether InfluxDB took them (else they stay queued).

        The lines are taken out of the queue while they are written, and put back in front of
        those queued meanwhile when the write fails. One flush runs at a time.
        """
        with self._flushing:
            with self._lock:
                items = list(self._intake)
                self._intake.clear()
            encoded = self._encode(items)
            with self._lock:
                lines = [*self._lines, *encoded]
                self._lines.clear()
            if not lines:
                return True
            try:
                self._influx.write_lines(lines)
            except InfluxError as exc:
                self.write_errors.inc()
                log.warning("could not write %d point(s) to InfluxDB: %s", len(lines), exc)
                with self._lock:
                    self._lines.extendleft(reversed(lines))
                    self._trim()
                return False
            self.written.inc(len(lines))
            return True

    def _take(self, items: Iterable[RuleResult | _Status]) -> None:
        with self._lock:
            self._intake.extend(items)
            over = len(self._intake) - self._max_lines
            for _ in range(max(0, over)):
                self._intake.popleft()
        if over > 0:
            self.dropped.labels("overflow").inc(over)

    def _encode(self, items: list[RuleResult | _Status]) -> list[str]:
        """The lines of queued items; what cannot be encoded is counted and left out."""
        lines: list[str] = []
        for item in items:
            try:
                lines.extend(encode_point(point) for point in self._points(item))
            except LineProtocolError as exc:
                self.dropped.labels("encode").inc()
                log.warning("point not written to InfluxDB: %s", exc)
            except Exception:  # a defect in the layout must not stop the thread
                self.dropped.labels("encode").inc()
                log.exception("could not build points for InfluxDB")
        return lines

    def _points(self, item: RuleResult | _Status) -> list[Point]:
        if isinstance(item, _Status):
            return gateway_health_points(item.placement, item.status, item.ts_ms)
        return result_points(item, None if not item.site else self._locate(item.site))

    def _trim(self) -> None:
        """Drop the oldest lines beyond ``max_lines``; called with the lock held."""
        over = len(self._lines) - self._max_lines
        for _ in range(max(0, over)):
            self._lines.popleft()
        if over > 0:
            self.dropped.labels("overflow").inc(over)

    def _run(self) -> None:
        wait = self._flush_interval_s
        while not self._stopping.wait(wait):
            ok = self.flush()
            wait = self._flush_interval_s if ok else min(max(wait * 2, 1.0), _BACKOFF_MAX_S)


class SiteLocations:
    """Site id → (latitude, longitude) from the registry, read again every ``refresh_s``.

    While the registry cannot be read, the last coordinates known stay in use.
    """

    def __init__(
        self,
        registry: Registry,
        *,
        refresh_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._registry = registry
        self._refresh_s = refresh_s
        self._clock = clock
        self._sites: dict[str, tuple[float, float]] = {}
        self._next = 0.0

    def __call__(self, site: str) -> tuple[float, float] | None:
        """The site's coordinates, or None when the registry has none."""
        now = self._clock()
        if now >= self._next:  # a site without coordinates does not make every call read
            self._next = now + self._refresh_s
            try:
                self._sites = {
                    s.id: (s.latitude, s.longitude)
                    for s in self._registry.list_sites()
                    if s.latitude is not None and s.longitude is not None
                }
            except SQLAlchemyError as exc:
                log.warning("site coordinates not refreshed: %s", exc)
        return self._sites.get(site)


class ExportingAlerts(ServiceAlerts):
    """The service's alert desk, which also hands every result it is given to the export.

    Both threads of the service give the desk what they recorded (and at start what was taken
    back), so this is the one place where every result passes.
    """

    def __init__(  # noqa: PLR0913 - the desk's own, and the export
        self,
        book: AlertBook,
        counters: RulesCounters,
        *,
        export: InfluxExport,
        clock: Callable[[], float],
        timers: bool = True,
        on_notices: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(book, counters, clock=clock, timers=timers, on_notices=on_notices)
        self._export = export

    def apply(self, results: Iterable[RuleResult], *, step: str = "restore") -> None:
        """Queue the results for InfluxDB, then apply them to the alert book."""
        results = list(results)
        self._export.results(results)
        super().apply(results, step=step)
