"""The I/O owner of a DL/T 645-2007 bus: one serial port, one polled target per meter.

Each poll of a meter reads its configured data items one request at a time, with the bus's
``request_gap`` between any two requests, and gives one reading per item, stamped with the
gateway clock at the start of the poll. A poll succeeds only whole: the first item that fails
fails it, and the meter's state says why:

- an error reply (0xD1) -> :class:`DeviceFault` with the meter's error byte as ``code``. A meter
  that refuses one of its configured items is misconfigured, and the configuration should be
  fixed rather than half the data published without anyone noticing;
- no valid reply within ``timeout`` -> :class:`ReadTimeout`, or :class:`BadFrame` if what did
  arrive was a damaged frame (checksum) or a valid frame that does not answer the request;
- the port failing -> :class:`PortError`: the bus closes and reopens it.

Before each request the input buffer is flushed: a late reply to an earlier request must not be
taken for this one's answer. Frames with the direction bit clear (requests, such as the echo of
our own on some RS-485 adapters) and replies from other addresses are skipped. Garbage bytes and
checksum errors seen while waiting are added to the counters of the meter being polled.
"""

import contextlib
import logging
import time
from collections.abc import Sequence
from functools import partial

import serial

from edge.config.dlt645 import Dlt645Config, Dlt645MeterConfig
from edge.devices.base import Clock, DeviceCounters, ReadingSink, wall_clock_ms
from edge.devices.polling import (
    BadFrame,
    DeviceFault,
    PolledBus,
    PollTarget,
    PortError,
    ReadTimeout,
)
from edge.protocols import dlt645
from edge.protocols.dlt645 import Frame, FrameDecoder
from edge.protocols.dlt645_items import BY_METRIC, DataIdentifier, ReplyError, hex_di
from telemetry import Quality, Reading

_log = logging.getLogger(__name__)
POLL_SECONDS = 0.05  # longest blocking read while waiting for a reply
_REPLY_BIT = 0x80  # D7 of the control code: set in every reply from a meter


class MeterTarget:
    """One meter on the bus; implements :class:`edge.devices.polling.PollTarget`."""

    def __init__(self, config: Dlt645MeterConfig, bus: "Dlt645Bus") -> None:
        self.config = config
        self._bus = bus
        self._identifiers = tuple(BY_METRIC[m] for m in config.identifiers)

    @property
    def id(self) -> str:
        """The meter's device id."""
        return self.config.id

    @property
    def interval_s(self) -> float:
        """Seconds between two polls."""
        return self.config.interval

    def poll(self, now_ms: int) -> list[Reading]:
        """Read every configured data item of the meter; raises a PollError on the first failure."""
        return [
            Reading(
                device=self.id,
                metric=item.metric,
                value=self._read(item),
                ts=now_ms,
                quality=Quality.NORMAL,
            )
            for item in self._identifiers
        ]

    def _read(self, item: DataIdentifier) -> float:
        address = self.config.address
        what = f"{item.metric} (DI {hex_di(item.code)})"
        frame = self._bus.transact(
            self.id,
            address,
            dlt645.read_request(address, item.code, preamble=self._bus.config.preamble),
        )
        try:
            value = dlt645.parse_read_reply(frame, address, item)
        except dlt645.ErrorReply as exc:
            raise DeviceFault(f"{what}: {exc}", code=exc.code) from None
        except ReplyError as exc:
            raise BadFrame(f"{what}: {exc}") from None
        factor = item.scaling.factor(self.config.ct_ratio, self.config.vt_ratio)
        # rounded so that 123.45 kWh times 40 is 4938.0, not 4938.000000000001
        return value if factor == 1.0 else round(value * factor, 6)


class Dlt645Bus(PolledBus):
    """DL/T 645-2007 meters on one serial port, polled one request at a time."""

    def __init__(
        self, config: Dlt645Config, sink: ReadingSink, *, clock: Clock = wall_clock_ms
    ) -> None:
        super().__init__(
            config.id,
            sink,
            clock=clock,
            request_gap_s=config.request_gap,
            max_backoff_s=config.max_backoff,
        )
        self.config = config
        self._targets = tuple(MeterTarget(m, self) for m in config.meters if m.enabled)
        self._port: serial.Serial | None = None
        self._last_request_end = 0.0

    def targets(self) -> Sequence[PollTarget]:
        """The enabled meters, in configuration order."""
        return self._targets

    def open(self) -> None:
        """Open the serial port with the configured line settings, exclusively."""
        try:
            self._port = serial.Serial(
                str(self.config.port),
                self.config.baudrate,
                bytesize=self.config.bytesize,
                parity=self.config.parity,
                stopbits=self.config.stopbits,
                timeout=POLL_SECONDS,
                exclusive=True,  # one owner per port, even across processes
            )
        except (OSError, ValueError) as exc:
            raise PortError(f"cannot open {self.config.port}: {exc}") from None

    def close(self) -> None:
        """Close the port; never raises."""
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(OSError):
                port.close()

    def transact(self, device_id: str, address: str, request: bytes) -> Frame:
        """Send ``request`` and return the first reply from ``address``.

        Raises:
            ReadTimeout: no valid reply in time, and nothing damaged either.
            BadFrame: no valid reply in time, but a frame with a checksum error arrived.
            PortError: the port failed.
        """
        port = self._port
        if port is None:
            raise PortError(f"{self.config.port} is not open")
        self._wait_for_gap()
        decoder = FrameDecoder()
        try:
            port.reset_input_buffer()
            port.write(request)
            deadline = time.monotonic() + self.config.timeout
            while time.monotonic() < deadline:
                for frame in decoder.feed(port.read(port.in_waiting or 1)):
                    if frame.control & _REPLY_BIT and address in {dlt645.WILDCARD, frame.address}:
                        return frame
                    _log.debug("%s: skipped %s while waiting for %s", self.id, frame, address)
        except (OSError, serial.SerialException) as exc:
            raise PortError(f"{self.config.port} failed: {exc}") from None
        finally:
            self._last_request_end = time.monotonic()
            self.update_counters(device_id, partial(_add_decoder_counts, decoder=decoder))
        if decoder.checksum_errors:
            raise BadFrame(f"meter {address}: damaged reply (checksum)")
        raise ReadTimeout(f"meter {address}: no reply within {self.config.timeout} s")

    def _wait_for_gap(self) -> None:
        # slow meters need a pause between the end of one exchange and the next request
        wait = self._last_request_end + self.config.request_gap - time.monotonic()
        if wait > 0:
            time.sleep(wait)


def _add_decoder_counts(c: DeviceCounters, decoder: FrameDecoder) -> None:
    c.checksum_errors += decoder.checksum_errors
    c.garbage_bytes += decoder.garbage_bytes
