"""The I/O owner of one Nova Fitness SDS011 on one serial port.

The port is a :class:`~edge.devices.polling.PolledBus` with a single target, the sensor, polled
once per measurement cycle (``interval``):

1. wake the sensor and set query mode (a sensor that was unplugged may have forgotten it), unless
   ``duty_cycle`` is off and the sensor has been awake on this connection since the last cycle;
2. let the fan run ``warmup`` seconds, discarding whatever the sensor says meanwhile;
3. query it ``samples`` times, ``sample_interval`` apart, each answer stamped at reception;
4. put it back to sleep (``duty_cycle``), whether the cycle succeeded or not;
5. per metric, drop the lowest and the highest sample and average the rest (with fewer than
   three samples, average them all), as citizen sensor networks do (Lantian protocol reference,
   SDS011 section). One reading per metric, stamped with the first sample's time, with the
   ``min``, ``max`` and ``count`` of the samples kept.

A query without a data frame in answer within ``timeout`` fails the cycle with
:class:`~edge.devices.polling.ReadTimeout`, or :class:`~edge.devices.polling.BadFrame` if only
damaged frames came. The warm-up makes one poll long; that is fine on a port of its own.
"""

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import serial

from edge.config import Sds011Config
from edge.devices.base import Clock, DeviceCounters, ReadingSink, wall_clock_ms
from edge.devices.polling import BadFrame, PolledBus, PortError, ReadTimeout
from edge.protocols import sds011
from edge.protocols.sds011 import FrameDecoder, Sds011Frame
from telemetry import Quality, Reading

_log = logging.getLogger(__name__)
READ_SLICE = 0.05  # longest blocking read: how late a stop or the end of a pause may be noticed


@dataclass(frozen=True, slots=True)
class FrameMetric:
    """How one metric id is read from a data frame, in tenths of µg/m³."""

    metric: str
    tenths: Callable[[Sds011Frame], int]


FRAME_METRICS = {
    m.metric: m
    for m in (
        FrameMetric("pm25", lambda f: f.pm25_tenths),
        FrameMetric("pm10", lambda f: f.pm10_tenths),
    )
}


@dataclass(frozen=True, slots=True)
class Sample:
    """One answer to a query and when it arrived (gateway clock, epoch ms)."""

    ts: int
    frame: Sds011Frame


def trimmed(values: Sequence[int]) -> list[int]:
    """``values`` in order, without their lowest and highest one when there are three or more.

    A spike (an insect, a drop of water in the chamber) is dropped; one or two samples have
    nothing to spare.
    """
    ordered = sorted(values)
    return ordered[1:-1] if len(ordered) >= 3 else ordered


class Sds011Device(PolledBus):
    """Reads one SDS011 in measurement cycles in a thread of its own; see the module docstring."""

    def __init__(
        self,
        config: Sds011Config,
        sink: ReadingSink,
        *,
        clock: Clock = wall_clock_ms,
        max_backoff_s: float = 300.0,
    ) -> None:
        super().__init__(config.id, sink, clock=clock, max_backoff_s=max_backoff_s)
        self.config = config
        self._port: serial.Serial | None = None
        self._decoder = FrameDecoder()
        self._connections = 0  # ports opened so far: a new one means the sensor's state is unknown
        self._sensor = _Sensor(config, self, clock)

    def open(self) -> None:
        """Open the serial port exclusively and drop what arrived before we listened."""
        try:
            port = serial.Serial(
                str(self.config.port), self.config.baudrate, timeout=READ_SLICE, exclusive=True
            )
            port.reset_input_buffer()
        except (OSError, ValueError) as exc:
            raise PortError(f"cannot open {self.config.port}: {exc}") from exc
        self._port = port
        self._connections += 1

    def close(self) -> None:
        """Close the port; never raises."""
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except OSError as exc:
                _log.debug("%s: closing %s: %s", self.id, self.config.port, exc)

    def targets(self) -> Sequence["_Sensor"]:
        """The sensor: the only device on this port."""
        return (self._sensor,)

    # --- the line, used by the sensor on the bus thread ---------------------------------------

    @property
    def connection(self) -> int:
        """The number of the port opening in use."""
        return self._connections

    def send(self, command: bytes) -> None:
        """Write a command.

        Raises:
            PortError: the port is closed or failed.
        """
        try:
            self._open_port().write(command)
        except OSError as exc:
            raise PortError(f"{self.config.port} failed: {exc}") from exc

    def pause(self, seconds: float) -> bool:
        """Wait ``seconds``, discarding what the sensor says; False if the bus is stopping."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self._stop.is_set():
                return False
            self._receive()
        return not self._stop.is_set()

    def query(self, timeout: float) -> Sds011Frame:
        """Ask for one data frame and wait up to ``timeout`` seconds for it.

        Raises:
            ReadTimeout: no data frame came.
            BadFrame: only damaged frames came.
            PortError: the port failed.
        """
        self._drain()  # what was said before the question is not its answer
        damaged_before = self._decoder.checksum_errors
        self.send(sds011.query())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            frames = [f for f in self._receive() or () if isinstance(f, Sds011Frame)]
            if frames:
                return frames[0]
        if self._decoder.checksum_errors > damaged_before:
            raise BadFrame(f"only damaged answers to a query within {timeout:g} s")
        raise ReadTimeout(f"no answer to a query within {timeout:g} s")

    def _drain(self) -> None:
        while self._receive(block=False) is not None:
            pass

    def _receive(self, *, block: bool = True) -> list[Sds011Frame | sds011.CommandReply] | None:
        """What the next bytes complete; None if no byte came (at once, or within a slice)."""
        port = self._open_port()
        try:
            waiting = port.in_waiting
            data = port.read(waiting or 1) if waiting or block else b""
        except OSError as exc:
            raise PortError(f"{self.config.port} failed: {exc}") from exc
        if not data:
            return None
        found = self._decoder.feed(data)
        self.update_counters(self._sensor.id, self._copy_decoder_counts)
        return found

    def _open_port(self) -> serial.Serial:
        if self._port is None:
            raise PortError(f"{self.config.port} is not open")
        return self._port

    def _copy_decoder_counts(self, c: DeviceCounters) -> None:
        # ``frames`` belongs to the framework (one per successful cycle); these are the port's
        c.checksum_errors = self._decoder.checksum_errors
        c.garbage_bytes = self._decoder.garbage_bytes


class _Sensor:
    """The poll target: one measurement cycle per poll."""

    def __init__(self, config: Sds011Config, line: Sds011Device, clock: Clock) -> None:
        self._config = config
        self._line = line
        self._clock = clock
        self._metrics = tuple(FRAME_METRICS[m] for m in config.metrics)
        # without duty cycle: the connection on which the last cycle left the sensor awake
        self._awake_on: int | None = None

    @property
    def id(self) -> str:
        """The configured device id."""
        return self._config.id

    @property
    def interval_s(self) -> float:
        """Seconds between the starts of two measurement cycles."""
        return self._config.interval

    def poll(self, now_ms: int) -> list[Reading]:  # noqa: ARG002 - stamped per sample instead
        """Run one measurement cycle; [] if the bus is stopped in the middle of it."""
        config, line = self._config, self._line
        # after a failed cycle the sensor may have been replugged: wake it and set its mode again
        ready = not config.duty_cycle and self._awake_on == line.connection
        self._awake_on = None
        try:
            if not ready:
                line.send(sds011.wake() + sds011.query_mode())
                if not line.pause(config.warmup):
                    return []
            samples: list[Sample] = []
            for n in range(config.samples):
                if n and not line.pause(config.sample_interval):
                    return []
                frame = line.query(config.timeout)
                samples.append(Sample(self._clock(), frame))
            if not config.duty_cycle:
                self._awake_on = line.connection
        finally:
            if config.duty_cycle:
                line.send(sds011.sleep())
        return self._readings(samples)

    def _readings(self, samples: Sequence[Sample]) -> list[Reading]:
        readings = []
        for m in self._metrics:
            kept = trimmed([m.tenths(s.frame) for s in samples])
            readings.append(
                Reading(
                    device=self.id,
                    metric=m.metric,
                    value=sum(kept) / len(kept) / 10,
                    ts=samples[0].ts,
                    quality=Quality.NORMAL,
                    min=kept[0] / 10,
                    max=kept[-1] / 10,
                    count=len(kept),
                )
            )
        return readings
