"""A simulated Plantower PMS5003 on a pseudo-terminal.

Behaviour, from the protocol reference:

- active mode (the power-on default) streams one data frame per period;
- passive mode sends a frame only in answer to a read command;
- sleep stops all output until wake. A real sensor's fan needs about 30 s after wake before the
  readings settle; the simulator resumes at once, with settled values.

Faults for testing a host's resynchronisation: with ``garbage_every=N``, every N-th frame is
preceded by a few random bytes and by a frame whose checksum is wrong. While it runs,
:meth:`Pms5003Simulator.inject` and :meth:`Pms5003Simulator.clear` switch the faults of
:mod:`firmware_sim.faults` a UART sensor can have (``FAULTS``): under ``silence`` it streams
nothing and drops every command, as a sensor whose fan or MCU hangs does. Only the valid frames
that were written whole reach the recorder, one JSON line each.
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
from firmware_sim.particulates import ParticulateModel
from firmware_sim.pms5003 import (
    FRAME_LENGTH,
    Command,
    CommandScanner,
    Measurement,
    encode_frame,
)
from firmware_sim.recorder import JsonValue, Recorder
from firmware_sim.serial_link import PtyLink

_log = logging.getLogger(__name__)
_POLL_SECONDS = 0.05  # longest wait before the loop looks at its stop flag again
_CHECKED = (4, FRAME_LENGTH - 3)  # the data bytes a damaged copy has a bit flipped in


class Mode(StrEnum):
    """Reporting mode of the sensor."""

    ACTIVE = "active"
    PASSIVE = "passive"


@dataclass(slots=True)
class SimulatorCounters:
    """What the simulator did, for tests and for its log."""

    frames_written: int = 0  # valid frames written whole (and recorded)
    frames_dropped: int = 0  # frames the tty buffer did not take: nobody was reading
    corrupt_frames: int = 0  # frames sent with a wrong checksum on purpose
    garbage_bytes: int = 0  # random bytes sent on purpose
    commands: int = 0  # valid commands received
    rejected_commands: int = 0  # candidate commands with a bad checksum or unknown code
    silenced_commands: int = 0  # commands dropped under the silence fault


def measurement_record(ts_ms: int, m: Measurement) -> dict[str, JsonValue]:
    """The recorder line for one frame: what a host should decode from it."""
    return {
        "ts": ts_ms,
        "pm1_atm": m.pm1_atm,
        "pm25_atm": m.pm25_atm,
        "pm10_atm": m.pm10_atm,
        "pm1_cf1": m.pm1_cf1,
        "pm25_cf1": m.pm25_cf1,
        "pm10_cf1": m.pm10_cf1,
        "counts": list(m.counts),
    }


class Pms5003Simulator:
    """Answers on one :class:`PtyLink` like a PMS5003; :meth:`start` runs it in a thread."""

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
        recorder: Recorder | None = None,
        garbage_every: int | None = None,
        episodes: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if period <= 0:
            raise ValueError("period must be positive")
        if garbage_every is not None and garbage_every < 1:
            raise ValueError("garbage_every must be at least 1")
        self.link = link
        self.period = period
        self.counters = SimulatorCounters()
        self._mode = mode
        self._asleep = False
        self._recorder = recorder
        self._garbage_every = garbage_every
        self._clock = clock
        self._model = ParticulateModel(seed, episodes=episodes)
        self._faults = random.Random(f"faults-{seed}")  # noqa: S311 - not cryptography
        self._injected = FaultSet("pms5003", self.FAULTS)
        self._held: Measurement | None = None  # the last measurement, repeated while stuck
        self._scanner = CommandScanner()
        self._frames = 0
        self._next_due = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def mode(self) -> Mode:
        """Current reporting mode."""
        return self._mode

    @property
    def asleep(self) -> bool:
        """Whether a sleep command silenced the sensor."""
        return self._asleep

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
        self._thread = threading.Thread(target=self.run, name="pms5003-sim", daemon=True)
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
                if Fault.SILENCE in self._injected:
                    self.counters.silenced_commands += 1
                else:
                    self._handle(command)
            self.counters.rejected_commands = self._scanner.rejected
            now = time.monotonic()
            if self._streaming() and now >= self._next_due:
                if Fault.SILENCE not in self._injected:
                    self._send_frame()
                # keep the cadence, but never try to catch up on frames missed while stalled
                self._next_due = max(self._next_due + self.period, now)

    def _streaming(self) -> bool:
        return self._mode is Mode.ACTIVE and not self._asleep

    def _handle(self, command: Command) -> None:
        self.counters.commands += 1
        _log.debug("command %s", command.name)
        if command is Command.PASSIVE_MODE:
            self._mode = Mode.PASSIVE
        elif command is Command.ACTIVE_MODE:
            self._mode = Mode.ACTIVE
            self._next_due = time.monotonic()
        elif command is Command.SLEEP:
            self._asleep = True
        elif command is Command.WAKE:
            self._asleep = False
            self._next_due = time.monotonic()
        elif command is Command.READ and self._mode is Mode.PASSIVE and not self._asleep:
            self._send_frame()

    def _send_frame(self) -> None:
        self._frames += 1
        if Fault.STUCK in self._injected and self._held is not None:
            measurement = self._held
        else:
            measurement = self._held = self._model.sample(self._clock())
        if self._garbage_every is not None and self._frames % self._garbage_every == 0:
            self._send_faults(measurement)
        if Fault.GARBAGE in self._injected:
            self._send_noise()
        if self._injected.damage_next():
            damaged = flip_bit(
                encode_frame(measurement), self._faults, first=_CHECKED[0], last=_CHECKED[1]
            )
            if self.link.write(damaged):
                self.counters.corrupt_frames += 1
            return
        ts_ms = math.floor(self._clock() * 1000)  # as a host stamps it: truncated to the ms
        if not self.link.write(encode_frame(measurement)):
            self.counters.frames_dropped += 1
            return
        self.counters.frames_written += 1
        if self._recorder is not None:
            self._recorder.write(measurement_record(ts_ms, measurement))

    def _send_faults(self, measurement: Measurement) -> None:
        self._send_noise()
        corrupt = flip_bit(
            encode_frame(measurement), self._faults, first=_CHECKED[0], last=_CHECKED[1]
        )
        if self.link.write(corrupt):
            self.counters.corrupt_frames += 1

    def _send_noise(self) -> None:
        garbage = noise(self._faults)
        if self.link.write(garbage):
            self.counters.garbage_bytes += len(garbage)
