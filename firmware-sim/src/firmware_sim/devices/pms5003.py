"""A simulated Plantower PMS5003 on a pseudo-terminal.

Behaviour, from the protocol reference:

- active mode (the power-on default) streams one data frame per period;
- passive mode sends a frame only in answer to a read command;
- sleep stops all output until wake. A real sensor's fan needs about 30 s after wake before the
  readings settle; the simulator resumes at once, with settled values.

Faults for testing a host's resynchronisation: with ``garbage_every=N``, every N-th frame is
preceded by a few random bytes and by a frame whose checksum is wrong. Only the valid frames that
were written whole reach the recorder, one JSON line each.
"""

import logging
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from firmware_sim.particulates import ParticulateModel
from firmware_sim.pms5003 import Command, CommandScanner, Measurement, encode_frame
from firmware_sim.recorder import JsonValue, Recorder
from firmware_sim.serial_link import PtyLink

_log = logging.getLogger(__name__)
_POLL_SECONDS = 0.05  # longest wait before the loop looks at its stop flag again
_GARBAGE_MAX = 8


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

    def __init__(  # noqa: PLR0913 - each option is a separate knob of the simulation
        self,
        link: PtyLink,
        *,
        period: float = 1.0,
        seed: int = 0,
        mode: Mode = Mode.ACTIVE,
        recorder: Recorder | None = None,
        garbage_every: int | None = None,
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
        self._model = ParticulateModel(seed)
        self._faults = random.Random(f"faults-{seed}")  # noqa: S311 - not cryptography
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
                self._handle(command)
            self.counters.rejected_commands = self._scanner.rejected
            now = time.monotonic()
            if self._streaming() and now >= self._next_due:
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
        measurement = self._model.sample(self._clock())
        if self._garbage_every is not None and self._frames % self._garbage_every == 0:
            self._send_faults(measurement)
        ts_ms = math.floor(self._clock() * 1000)  # as a host stamps it: truncated to the ms
        if not self.link.write(encode_frame(measurement)):
            self.counters.frames_dropped += 1
            return
        self.counters.frames_written += 1
        if self._recorder is not None:
            self._recorder.write(measurement_record(ts_ms, measurement))

    def _send_faults(self, measurement: Measurement) -> None:
        garbage = self._faults.randbytes(self._faults.randint(1, _GARBAGE_MAX))
        corrupt = bytearray(encode_frame(measurement))
        corrupt[self._faults.randint(4, 29)] ^= 1 << self._faults.randint(0, 7)
        if self.link.write(garbage):
            self.counters.garbage_bytes += len(garbage)
        if self.link.write(bytes(corrupt)):
            self.counters.corrupt_frames += 1
