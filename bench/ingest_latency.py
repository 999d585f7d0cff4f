"""Publish-to-queryable latency: paced telemetry, and a probe that watches InfluxDB for it.

Every message of the latency phase carries, besides its ordinary readings, one probe reading on
its gateway's ``probe`` series, at a source time no other message has. The publisher notes when
it hands each message to its MQTT connection; :class:`ProbeWatcher` asks InfluxDB every
``poll_s`` for the probe points from the oldest message it has not seen yet on, and notes when
each appears. The latency of a message is the difference: it counts the broker, ingest's
batching, its write and InfluxDB's, and errs late by at most one poll cycle (the point may have
become queryable at any time since the previous query began)."""

import statistics
import threading
import time
from collections.abc import Sequence

from bench.ingest_load import (
    PROBE_DEVICE,
    PROBE_METRIC,
    Message,
    Publishers,
    batch_readings,
)
from store.influx import InfluxStore, InfluxUnavailableError
from telemetry import Reading, TelemetryBatch, encode, topics

_NS_PER_MS = 1_000_000


def probe_messages(
    gateways: Sequence[str], messages: int, per_message: int, rate: float
) -> tuple[list[Message], list[int]]:
    """Messages of ``per_message`` readings, the last one the probe; and each one's source time.

    Message ``i`` is stamped with the wall time it is due at when published at ``rate`` messages
    a second from now (at least 1 ms after the one before), as a live gateway stamps its data.
    """
    start_ms = int(time.time() * 1000)
    encoded: list[Message] = []
    times: list[int] = []
    for i in range(messages):
        gateway = gateways[i % len(gateways)]
        ts = max(start_ms + round(i * 1000 / rate), times[-1] + 1 if times else start_ms)
        probe = Reading(device=PROBE_DEVICE, metric=PROBE_METRIC, value=35.0, ts=ts)
        k = i // len(gateways)
        batch = TelemetryBatch(
            gateway=gateway, seq=k + 1, readings=[*batch_readings(k, per_message - 1, ts), probe]
        )
        encoded.append(Message(gateway, topics.telemetry(gateway), encode(batch), per_message))
        times.append(ts)
    return encoded, times


class ProbeWatcher:
    """Polls InfluxDB for the probe points and notes when each message became queryable."""

    def __init__(self, influx: InfluxStore, probe_times: Sequence[int], poll_s: float) -> None:
        self._influx = influx
        self._times = list(probe_times)
        self._numbers = {ts: i for i, ts in enumerate(self._times)}
        self._poll_s = poll_s
        self.seen_at: dict[int, float] = {}  # message number → time.monotonic()
        self.polls = 0
        self._polling_s = 0.0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="probe-watcher", daemon=True)

    @property
    def all_seen(self) -> bool:
        """Whether every message's probe has been seen."""
        return len(self.seen_at) == len(self._times)

    @property
    def cycle_s(self) -> float:
        """Mean time between two polls: how late a latency may read."""
        return self._polling_s / self.polls if self.polls else 0.0

    def start(self) -> None:
        """Start polling in a thread of its own."""
        self._thread.start()

    def stop(self) -> None:
        """Stop polling."""
        self._stopping.set()
        self._thread.join()

    def _run(self) -> None:
        oldest = 0  # the first message not seen yet
        query = (
            f'SELECT "value" FROM "{PROBE_METRIC}" '  # noqa: S608 - constants of ours
            f"WHERE \"device\" = '{PROBE_DEVICE}' AND time >= $since"
        )
        started = time.monotonic()
        while not self._stopping.is_set() and oldest < len(self._times):
            cycle = time.monotonic()
            try:
                found = self._influx.query(
                    query, params={"since": self._times[oldest] * _NS_PER_MS}
                )
            except InfluxUnavailableError:
                found = []
            for series in found:
                for row in series.rows():
                    number = self._numbers.get(int(row["time"]))
                    if number is not None:
                        self.seen_at.setdefault(number, cycle)
            while oldest < len(self._times) and oldest in self.seen_at:
                oldest += 1
            self.polls += 1
            self._polling_s = time.monotonic() - started
            self._stopping.wait(max(0.0, self._poll_s - (time.monotonic() - cycle)))


def publish_paced(publishers: Publishers, messages: Sequence[Message], rate: float) -> list[float]:
    """Publish ``rate`` messages a second; the time (``time.monotonic()``) each was handed over.

    A message that falls behind its slot goes at once: the pace catches up rather than drifts.
    """
    published: list[float] = []
    started = time.monotonic()
    for i, message in enumerate(messages):
        delay = started + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        published.append(time.monotonic())
        publishers.publish(message)
    return published


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile of ``values`` (inclusive method, as spreadsheets compute it)."""
    if len(values) == 1:
        return values[0]
    cuts = statistics.quantiles(values, n=1000, method="inclusive")
    return cuts[round(fraction * 1000) - 1]
