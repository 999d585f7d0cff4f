"""The gateway agent: devices → aggregator → batcher → spool → publisher, until stopped.

Device threads put the readings of each poll on a queue. The agent's own thread (the caller of
:meth:`Agent.run`) passes them through the :class:`~edge.aggregation.Aggregator` (interval
aggregates; every sample as well for devices configured ``raw``), moves what comes out into the
:class:`~edge.batcher.Batcher` and stores every batch that leaves it in the
:class:`~edge.spool.Spool` (which numbers it); the :class:`~edge.publisher.Publisher` sends
spooled batches and deletes them when the platform acknowledges them. The aggregator is
ticked with the agent's clock on every turn of the loop, so intervals close even when a
device falls silent.
:meth:`Agent.stop` may be called from any thread or from a signal handler; the agent then stops
the devices, aggregates what is queued, flushes the partial intervals, publishes what is left,
announces ``offline`` and disconnects.

Every ``health_interval`` seconds the agent publishes its health on the status topic and writes
it to ``state_dir/health.json`` (:mod:`edge.health`). Readings that arrive while the clock is not
synchronised (:mod:`edge.clock`) are flagged ``time_unsynced`` before anything else sees them.
"""

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from edge import __version__
from edge.aggregation import Aggregator
from edge.batcher import Batcher
from edge.clock import ClockMonitor, clock_sync
from edge.config import GatewayConfig
from edge.devices import Device, build_device
from edge.devices.base import Clock, wall_clock_ms
from edge.health import build_health, cpu_temperature_c, write_health
from edge.publisher import Publisher
from edge.spool import Spool, SpoolCounters
from telemetry import ClockSync, GatewayState, Reading

if TYPE_CHECKING:
    from collections.abc import Sequence

    from telemetry import GatewayStatus

_log = logging.getLogger(__name__)
_WAKE = ()  # an empty poll, queued by stop() to wake the loop at once


class Agent:
    """One gateway's agent. The constructor opens nothing; :meth:`start` or :meth:`run` do."""

    def __init__(
        self,
        config: GatewayConfig,
        *,
        clock: Clock = wall_clock_ms,
        stats_interval: float = 60.0,
        shutdown_timeout: float = 5.0,
        clock_sync_state: Callable[[int], ClockSync] | None = None,
    ) -> None:
        self.config = config
        self._clock = clock
        # The kernel's sync state describes the system clock: an injected clock is judged by
        # the before-2000 rule alone.
        self._clock_sync = clock_sync_state or (
            ClockMonitor().state if clock is wall_clock_ms else clock_sync
        )
        self._queue: queue.Queue[Sequence[Reading]] = queue.Queue()
        enabled = [d for d in config.devices if d.enabled]
        self.devices: list[Device] = [
            build_device(d, self._queue.put, clock=clock) for d in enabled
        ]
        self.aggregator = Aggregator(
            config.aggregation.interval,
            sampling={k: v for d in enabled for k, v in d.sampling.items()},
            raw_devices={i for d in enabled for i in d.raw_device_ids},
            min_coverage=config.aggregation.min_coverage,
            grace_s=config.aggregation.grace,
        )
        self.spool = Spool(
            config.spool_path,
            config.gateway,
            quota_bytes=config.spool.quota_bytes,
            legacy_state_dir=config.state_dir,
        )
        self.publisher = Publisher(
            config.gateway,
            config.mqtt,
            self.spool,
            delivery=config.spool,
            agent_version=__version__,
            clock=clock,
        )
        self._batcher = Batcher(config.publish.interval, config.publish.max_readings)
        self._stats_interval = stats_interval
        self._shutdown_timeout = shutdown_timeout
        self._stop = threading.Event()
        self._started = False
        self._started_mono = time.monotonic()

    def start(self) -> None:
        """Connect to the broker and start every device thread; returns at once."""
        if self._started:
            return
        self._started = True
        self.spool.open()  # an unusable spool stops the agent before anything runs
        self.publisher.start()
        for device in self.devices:
            device.start()
        _log.info(
            "gateway %s: %d device(s), %s s aggregates, publishing every %s s, last seq %d",
            self.config.gateway,
            len(self.devices),
            self.config.aggregation.interval,
            self.config.publish.interval,
            self.spool.last_seq(),
        )

    def run(self) -> None:
        """Start if needed and work until :meth:`stop`; then shut down cleanly."""
        self.start()
        try:
            self._loop()
        finally:
            self._shutdown()

    def stop(self) -> None:
        """Ask :meth:`run` to finish; safe from any thread and from signal handlers."""
        self._stop.set()
        self._queue.put(_WAKE)

    def _loop(self) -> None:
        next_stats = time.monotonic() + self._stats_interval
        # the birth message announces the agent; the file is there for ``status`` at once
        self._write_health(self.health())
        next_health = time.monotonic() + self.config.health_interval
        while not self._stop.is_set():
            try:
                poll = self._flag(self._queue.get(timeout=self._wait_s()))
            except queue.Empty:
                poll = _WAKE
            if time.monotonic() >= next_health:
                next_health = time.monotonic() + self.config.health_interval
                self.report_health()
            ready = self.aggregator.add(poll) + self.aggregator.tick(self._clock())
            for full in self._batcher.add(ready):
                self._ship(full)
            if self._batcher.due():
                self._ship(self._batcher.take())
            if time.monotonic() >= next_stats:
                next_stats += self._stats_interval
                self.log_counters()

    def _shutdown(self) -> None:
        for device in self.devices:
            device.stop()
        while True:
            try:
                poll = self._flag(self._queue.get_nowait())
            except queue.Empty:
                break
            for full in self._batcher.add(self.aggregator.add(poll)):
                self._ship(full)
        for full in self._batcher.add(self.aggregator.flush(self._clock())):
            self._ship(full)
        self._ship(self._batcher.take())
        self.publisher.close(self._shutdown_timeout)
        self.log_counters()
        self._write_health(self.health(GatewayState.OFFLINE))
        self.spool.close()
        _log.info("gateway %s stopped", self.config.gateway)

    def _wait_s(self) -> float:
        """How long the loop may wait for a poll: until a batch or an interval is due, <= 1 s."""
        wait = min(self._batcher.seconds_left(), 1.0, self.config.health_interval)
        due_ms = self.aggregator.next_due_ms()
        if due_ms is not None:
            wait = min(wait, (due_ms - self._clock()) / 1000)
        return max(0.0, wait)

    def _flag(self, poll: "Sequence[Reading]") -> "Sequence[Reading]":
        """Flag the readings of a poll taken while the clock is not synchronised."""
        if not poll or self._clock_sync(self._clock()) is not ClockSync.UNSYNCED:
            return poll
        return [r.model_copy(update={"time_unsynced": True}) for r in poll]

    def health(self, state: GatewayState = GatewayState.ONLINE) -> "GatewayStatus":
        """The gateway's health now, as the status message that reports it."""
        now = self._clock()
        spool = self.spool.counters() if self.spool.is_open else SpoolCounters.empty()
        report = build_health(
            self.config.gateway,
            now_ms=now,
            agent_version=__version__,
            uptime_s=time.monotonic() - self._started_mono,
            spool=spool,
            publisher=self.publisher.counters(),
            devices={k: v for d in self.devices for k, v in d.counters().items()},
            clock=self._clock_sync(now),
            cpu_temp_c=cpu_temperature_c(),
        )
        return (
            report if state is GatewayState.ONLINE else report.model_copy(update={"state": state})
        )

    def report_health(self) -> None:
        """Publish the health report (when connected) and write it to ``health.json``."""
        report = self.health()
        self.publisher.publish_health(report)
        self._write_health(report)

    def _write_health(self, report: "GatewayStatus") -> None:
        try:
            write_health(self.config.state_dir, report)
        except OSError as exc:  # a full or read-only disk must not stop the readings
            _log.warning("cannot write the health file in %s: %s", self.config.state_dir, exc)

    def _ship(self, readings: list[Reading]) -> None:
        if not readings:
            return
        seq = self.spool.put(readings, self._clock())
        self.publisher.notify()
        _log.info("spooled seq=%d readings=%d", seq, len(readings))

    def log_counters(self) -> None:
        """Log the publisher's, the aggregation's and every device's counters at INFO."""
        _log.info("mqtt %s", self.publisher.counters())
        _log.info("spool %s", self.spool.counters())
        _log.info("aggregation %s", self.aggregator.counters())
        for device in self.devices:
            for device_id, counters in device.counters().items():
                _log.info("device %s %s", device_id, counters)
