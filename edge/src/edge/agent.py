"""The gateway agent: devices → aggregator → batcher → sequence numbers → publisher, until stopped.

Device threads put the readings of each poll on a queue. The agent's own thread (the caller of
:meth:`Agent.run`) passes them through the :class:`~edge.aggregation.Aggregator` (interval
aggregates; every sample as well for devices configured ``raw``), moves what comes out into the
:class:`~edge.batcher.Batcher`, gives every batch that leaves it the next durable sequence number,
and hands it to the :class:`~edge.publisher.Publisher`. The aggregator is ticked with the agent's
clock on every turn of the loop, so intervals close even when a device falls silent.
:meth:`Agent.stop` may be called from any thread or from a signal handler; the agent then stops
the devices, aggregates what is queued, flushes the partial intervals, publishes what is left,
announces ``offline`` and disconnects.
"""

import logging
import queue
import threading
import time
from typing import TYPE_CHECKING

from edge import __version__
from edge.aggregation import Aggregator
from edge.batcher import Batcher
from edge.config import GatewayConfig
from edge.devices import Device, build_device
from edge.devices.base import Clock, wall_clock_ms
from edge.publisher import Publisher
from edge.sequence import SequenceStore
from telemetry import Reading, TelemetryBatch

if TYPE_CHECKING:
    from collections.abc import Sequence

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
    ) -> None:
        self.config = config
        self._clock = clock
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
        self.publisher = Publisher(
            config.gateway, config.mqtt, agent_version=__version__, clock=clock
        )
        self.sequence = SequenceStore(config.state_dir, config.gateway)
        self._batcher = Batcher(config.publish.interval, config.publish.max_readings)
        self._stats_interval = stats_interval
        self._shutdown_timeout = shutdown_timeout
        self._stop = threading.Event()
        self._started = False

    def start(self) -> None:
        """Connect to the broker and start every device thread; returns at once."""
        if self._started:
            return
        self._started = True
        self.sequence.peek()  # an unreadable state file stops the agent before anything runs
        self.publisher.start()
        for device in self.devices:
            device.start()
        _log.info(
            "gateway %s: %d device(s), %s s aggregates, publishing every %s s, next seq %d",
            self.config.gateway,
            len(self.devices),
            self.config.aggregation.interval,
            self.config.publish.interval,
            self.sequence.peek(),
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
        while not self._stop.is_set():
            try:
                poll = self._queue.get(timeout=self._wait_s())
            except queue.Empty:
                poll = _WAKE
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
                poll = self._queue.get_nowait()
            except queue.Empty:
                break
            for full in self._batcher.add(self.aggregator.add(poll)):
                self._ship(full)
        for full in self._batcher.add(self.aggregator.flush(self._clock())):
            self._ship(full)
        self._ship(self._batcher.take())
        self.publisher.close(self._shutdown_timeout)
        self.log_counters()
        _log.info("gateway %s stopped", self.config.gateway)

    def _wait_s(self) -> float:
        """How long the loop may wait for a poll: until a batch or an interval is due, <= 1 s."""
        wait = min(self._batcher.seconds_left(), 1.0)
        due_ms = self.aggregator.next_due_ms()
        if due_ms is not None:
            wait = min(wait, (due_ms - self._clock()) / 1000)
        return max(0.0, wait)

    def _ship(self, readings: list[Reading]) -> None:
        if not readings:
            return
        seq = self.sequence.take()
        self.publisher.send(TelemetryBatch(gateway=self.config.gateway, seq=seq, readings=readings))
        _log.info("published seq=%d readings=%d", seq, len(readings))

    def log_counters(self) -> None:
        """Log the publisher's, the aggregation's and every device's counters at INFO."""
        _log.info("mqtt %s", self.publisher.counters())
        _log.info("aggregation %s", self.aggregator.counters())
        for device in self.devices:
            for device_id, counters in device.counters().items():
                _log.info("device %s %s", device_id, counters)
