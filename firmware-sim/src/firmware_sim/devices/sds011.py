"""A simulated Nova Fitness SDS011 on a pseudo-terminal.

Behaviour, from the protocol reference and the datasheet's examples:

- active mode (the factory default) streams one data frame per period; query mode sends one only
  in answer to a query command;
- every setting command addressed to this sensor (its id, or ``FF FF``) is answered with an
  ``AA C5`` reply carrying the sensor's own id; commands for other ids are ignored;
- sleep stops the fan and the laser: no data frames, queries ignored, until a work (wake)
  command. A real sensor needs a warm-up after waking; the simulator resumes at once;
- the working period is stored and reported but not simulated: active mode always streams.

Faults for testing a host: with ``garbage_every=N``, every N-th data frame is preceded by a few
random bytes and by a copy with a wrong checksum; :meth:`Sds011Simulator.mute` makes the sensor
unresponsive for a while (commands are read and dropped, nothing is sent). While it runs,
:meth:`Sds011Simulator.inject` and :meth:`Sds011Simulator.clear` switch the faults of
:mod:`firmware_sim.faults` a UART sensor can have (``FAULTS``; ``silence`` is a mute until
cleared); ``garbage`` and ``bad_checksum`` act on data frames, not on command replies. Every frame
written whole (data frames and replies, never the damaged ones) reaches the recorder, one JSON
line each.
"""

import logging
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from firmware_sim.faults import Fault, FaultSet, flip_bit, noise
from firmware_sim.particulates import Concentrations, ParticulateModel
from firmware_sim.recorder import JsonValue, Recorder
from firmware_sim.sds011 import (
    BROADCAST,
    MAX_TENTHS,
    CommandScanner,
    HostCommand,
    Kind,
    encode_data_frame,
    encode_reply,
)
from firmware_sim.serial_link import PtyLink

_log = logging.getLogger(__name__)
_POLL_SECONDS = 0.05  # longest wait before the loop looks at its stop flag again
_CHECKED = (2, 8)  # values, id and checksum: a bit flipped there breaks the mod-256 sum
FIRMWARE_VERSION = (15, 7, 10)  # year, month, day: the datasheet's example reply
DEFAULT_DEVICE_ID = 0xA160  # the datasheet's example sensor


class Mode(StrEnum):
    """Reporting mode of the sensor."""

    ACTIVE = "active"
    QUERY = "query"


@dataclass(slots=True)
class SimulatorCounters:
    """What the simulator did, for tests and for its log."""

    frames_written: int = 0  # valid data frames written whole (and recorded)
    replies_written: int = 0  # command replies written whole (and recorded)
    frames_dropped: int = 0  # frames the tty buffer did not take: nobody was reading
    corrupt_frames: int = 0  # frames sent with a wrong checksum on purpose
    garbage_bytes: int = 0  # random bytes sent on purpose
    commands: int = 0  # valid commands received
    rejected_commands: int = 0  # candidate commands with a bad tail, checksum or command byte
    not_addressed: int = 0  # valid commands for another device id
    muted_commands: int = 0  # commands dropped while muted
    ignored_queries: int = 0  # queries received while asleep
    sleeps: int = 0  # sleep commands obeyed
    wakes: int = 0  # work (wake) commands obeyed


def tenths(value: float) -> int:
    """A concentration in µg/m³ as the sensor reports it: tenths, within its range."""
    return max(0, min(MAX_TENTHS, round(value * 10)))


class Sds011Simulator:
    """Answers on one :class:`PtyLink` like an SDS011; :meth:`start` runs it in a thread."""

    FAULTS: ClassVar[frozenset[Fault]] = frozenset(
        {Fault.SILENCE, Fault.GARBAGE, Fault.BAD_CHECKSUM, Fault.STUCK}
    )

    def __init__(  # noqa: PLR0913 - each option is a separate knob of the simulation
        self,
        link: PtyLink,
        *,
        period: float = 1.0,
        seed: int = 0,
        mode: Mode = Mode.ACTIVE,
        device_id: int = DEFAULT_DEVICE_ID,
        recorder: Recorder | None = None,
        garbage_every: int | None = None,
        episodes: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if period <= 0:
            raise ValueError("period must be positive")
        if garbage_every is not None and garbage_every < 1:
            raise ValueError("garbage_every must be at least 1")
        if not 0 <= device_id < BROADCAST:
            raise ValueError(f"device id must be 0..0xFFFE, got {device_id:#x}")
        self.link = link
        self.period = period
        self.counters = SimulatorCounters()
        self.device_id = device_id
        self.working_period = 0  # minutes, as set by the host; 0 is continuous
        self._mode = mode
        self._asleep = False
        self._muted_until = 0.0  # monotonic time
        self._recorder = recorder
        self._garbage_every = garbage_every
        self._clock = clock
        self._model = ParticulateModel(seed, episodes=episodes)
        self._faults = random.Random(f"faults-{seed}")  # noqa: S311 - not cryptography
        self._injected = FaultSet("sds011", self.FAULTS)
        self._held: Concentrations | None = None  # the last levels, repeated while stuck
        self._scanner = CommandScanner()
        self._frames = 0
        self._next_due = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._handlers: dict[Kind, Callable[[HostCommand], None]] = {
            Kind.REPORTING_MODE: self._on_reporting_mode,
            Kind.QUERY_DATA: self._on_query,
            Kind.SET_DEVICE_ID: self._on_set_device_id,
            Kind.SLEEP_WORK: self._on_sleep_work,
            Kind.FIRMWARE_VERSION: self._on_firmware_version,
            Kind.WORKING_PERIOD: self._on_working_period,
        }

    @property
    def mode(self) -> Mode:
        """Current reporting mode."""
        return self._mode

    @property
    def asleep(self) -> bool:
        """Whether a sleep command stopped the fan."""
        return self._asleep

    @property
    def muted(self) -> bool:
        """Whether the sensor is unresponsive (see :meth:`mute`, and the silence fault)."""
        return Fault.SILENCE in self._injected or time.monotonic() < self._muted_until

    def mute(self, seconds: float) -> None:
        """Send nothing and drop every command for ``seconds``, like a sensor that hangs."""
        self._muted_until = time.monotonic() + seconds

    def unmute(self) -> None:
        """End a :meth:`mute` early."""
        self._muted_until = 0.0

    @property
    def faults(self) -> frozenset[Fault]:
        """The injected faults in force."""
        return self._injected.active

    def inject(self, fault: Fault) -> None:
        """Put ``fault`` in force until :meth:`clear`.

        Raises:
            UnsupportedFaultError: not one of ``FAULTS``.
        """
        self._injected.add(fault)

    def clear(self, fault: Fault) -> None:
        """End an injected fault."""
        self._injected.discard(fault)

    def start(self) -> None:
        """Run the sensor in a background thread until :meth:`stop`."""
        if self._thread is not None:
            raise RuntimeError("simulator already started")
        self._thread = threading.Thread(target=self.run, name="sds011-sim", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the loop and wait for its thread; the link stays open (its owner closes it)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        """The sensor loop: answer commands and stream frames until :meth:`stop`."""
        self._next_due = time.monotonic()
        while not self._stop.is_set():
            wait = _POLL_SECONDS
            if self._streaming():
                wait = min(wait, max(0.0, self._next_due - time.monotonic()))
            for command in self._scanner.feed(self.link.read(wait)):
                self._handle(command)
            self.counters.rejected_commands = self._scanner.rejected
            now = time.monotonic()
            if self._streaming() and now >= self._next_due:
                if not self.muted:
                    self._send_data("stream")
                # keep the cadence, but never try to catch up on frames missed while stalled
                self._next_due = max(self._next_due + self.period, now)

    def _streaming(self) -> bool:
        return self._mode is Mode.ACTIVE and not self._asleep

    def _handle(self, command: HostCommand) -> None:
        self.counters.commands += 1
        if self.muted:
            self.counters.muted_commands += 1
            return
        if command.device_id not in {self.device_id, BROADCAST}:
            self.counters.not_addressed += 1
            return
        _log.debug("command %s %s", command.kind.name, command.data[:2].hex(" "))
        self._handlers[command.kind](command)

    def _on_reporting_mode(self, command: HostCommand) -> None:
        if command.sets:
            self._mode = Mode.QUERY if command.value else Mode.ACTIVE
            self._next_due = time.monotonic()
        self._reply(command, int(self._mode is Mode.QUERY))

    def _on_query(self, _command: HostCommand) -> None:
        if self._asleep:
            self.counters.ignored_queries += 1  # fan and laser are off: there is nothing to measure
            return
        self._send_data("query")

    def _on_set_device_id(self, command: HostCommand) -> None:
        self.device_id = command.new_device_id
        self._send_reply(Kind.SET_DEVICE_ID, (0, 0, 0))  # the datasheet's reply carries no data

    def _on_sleep_work(self, command: HostCommand) -> None:
        if command.sets:
            self._asleep = command.value == 0
            if self._asleep:
                self.counters.sleeps += 1
            else:
                self.counters.wakes += 1
                self._next_due = time.monotonic()
        self._reply(command, int(not self._asleep))

    def _on_firmware_version(self, _command: HostCommand) -> None:
        self._send_reply(Kind.FIRMWARE_VERSION, FIRMWARE_VERSION)

    def _on_working_period(self, command: HostCommand) -> None:
        if command.sets:
            self.working_period = command.value
        self._reply(command, self.working_period)

    def _reply(self, command: HostCommand, value: int) -> None:
        self._send_reply(command.kind, (int(command.sets), value, 0))

    def _send_reply(self, kind: Kind, data: tuple[int, int, int]) -> None:
        ts_ms = math.floor(self._clock() * 1000)
        if not self.link.write(encode_reply(kind, data, self.device_id)):
            self.counters.frames_dropped += 1
            return
        self.counters.replies_written += 1
        if self._recorder is not None:
            self._recorder.write(
                {
                    "ts": ts_ms,
                    "frame": "reply",
                    "kind": kind.name,
                    "data": list(data),
                    "device_id": self.device_id,
                }
            )

    def _send_data(self, cause: str) -> None:
        self._frames += 1
        if Fault.STUCK in self._injected and self._held is not None:
            levels = self._held
        else:
            levels = self._held = self._model.concentrations(self._clock())
        frame = encode_data_frame(tenths(levels.pm25), tenths(levels.pm10), self.device_id)
        if self._garbage_every is not None and self._frames % self._garbage_every == 0:
            self._send_faults(frame)
        if Fault.GARBAGE in self._injected:
            self._send_noise()
        if self._injected.damage_next():
            if self.link.write(flip_bit(frame, self._faults, first=_CHECKED[0], last=_CHECKED[1])):
                self.counters.corrupt_frames += 1
            return
        ts_ms = math.floor(self._clock() * 1000)  # as a host stamps it: truncated to the ms
        if not self.link.write(frame):
            self.counters.frames_dropped += 1
            return
        self.counters.frames_written += 1
        if self._recorder is not None:
            self._recorder.write(data_record(ts_ms, frame, cause))

    def _send_faults(self, frame: bytes) -> None:
        self._send_noise()
        if self.link.write(flip_bit(frame, self._faults, first=_CHECKED[0], last=_CHECKED[1])):
            self.counters.corrupt_frames += 1

    def _send_noise(self) -> None:
        garbage = noise(self._faults)
        if self.link.write(garbage):
            self.counters.garbage_bytes += len(garbage)


def data_record(ts_ms: int, frame: bytes, cause: str) -> dict[str, JsonValue]:
    """The recorder line for one data frame: what a host should decode from it.

    ``cause`` is ``query`` for an answer to a query command, ``stream`` for active-mode output.
    """
    return {
        "ts": ts_ms,
        "frame": "data",
        "cause": cause,
        "pm25": int.from_bytes(frame[2:4], "little") / 10,
        "pm10": int.from_bytes(frame[4:6], "little") / 10,
        "device_id": int.from_bytes(frame[6:8], "big"),
    }
