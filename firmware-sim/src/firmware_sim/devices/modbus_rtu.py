"""A multi-drop RS-485 bus of simulated Modbus RTU slaves on one pseudo-terminal.

Every slave on a real bus hears every request; only the one whose address the request carries
answers, and a request to an address nobody has, or to the broadcast address 0, gets no answer at
all (Modbus over Serial Line V1.02 §2.2: broadcast requests are never answered). A request with a
bad CRC is dropped without a word, as a real slave does (§2.5.1.2), and so is an incomplete frame
once the line has been silent for ``frame_gap_s`` (the slave's t3.5 timer; a pty has no baud rate,
so the gap is a fixed time).

Link-level faults come from each slave's fault plan: a reply with a wrong CRC, or a few random
bytes before a reply. The recorder gets one line per reply that went out whole with a good CRC.

Faults injected while the bus runs (:meth:`ModbusRtuSimulator.inject`) go to one slave or to
every slave; the bus supports them all (``FAULTS``).
"""

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from firmware_sim.devices.modbus_slave import Answer, ModbusSlave
from firmware_sim.faults import Fault, UnsupportedFaultError
from firmware_sim.modbus import RtuFrame, RtuRequestDecoder, encode_rtu
from firmware_sim.recorder import Recorder
from firmware_sim.serial_link import PtyLink

_log = logging.getLogger(__name__)
_POLL_SECONDS = 0.05  # longest wait before the loop looks at its stop flag again


@dataclass(slots=True)
class RtuBusCounters:
    """What the bus simulator did, for tests and for its log."""

    frames: int = 0  # requests with a good CRC, whoever they were for
    not_addressed: int = 0  # requests for an address no simulated slave has, broadcasts included
    rejected_bytes: int = 0  # bytes of bad-CRC requests, garbage and frames cut short by silence
    replies_written: int = 0  # good replies written whole (and recorded)
    replies_dropped: int = 0  # replies the tty buffer did not take: nobody was reading
    corrupt_replies: int = 0  # replies sent with a wrong CRC on purpose
    garbage_bytes: int = 0  # random bytes sent before replies on purpose


class ModbusRtuSimulator:
    """Answers Modbus RTU requests on one :class:`PtyLink` for several slaves."""

    FAULTS: ClassVar[frozenset[Fault]] = frozenset(Fault)

    def __init__(
        self,
        link: PtyLink,
        slaves: Iterable[ModbusSlave],
        *,
        recorder: Recorder | None = None,
        frame_gap_s: float = 0.02,
    ) -> None:
        self.link = link
        self.slaves = {s.unit: s for s in slaves}
        if not self.slaves:
            raise ValueError("a bus needs at least one slave")
        self.counters = RtuBusCounters()
        self._recorder = recorder
        self._frame_gap_s = frame_gap_s
        self._decoder = RtuRequestDecoder()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def inject(self, fault: Fault, unit: int | None = None) -> None:
        """Put ``fault`` in force on the slave ``unit``, or on every slave, until :meth:`clear`.

        Raises:
            UnsupportedFaultError: not one of ``FAULTS``.
            KeyError: no slave has that id.
        """
        for slave in self._addressed(fault, unit):
            slave.inject(fault)

    def clear(self, fault: Fault, unit: int | None = None) -> None:
        """End an injected fault on the slave ``unit``, or on every slave."""
        for slave in self._addressed(fault, unit):
            slave.clear(fault)

    def _addressed(self, fault: Fault, unit: int | None) -> list[ModbusSlave]:
        if fault not in self.FAULTS:
            raise UnsupportedFaultError("Modbus RTU bus", fault, self.FAULTS)
        if unit is None:
            return list(self.slaves.values())
        if unit not in self.slaves:
            raise KeyError(f"no slave {unit} here; the slaves are {sorted(self.slaves)}")
        return [self.slaves[unit]]

    def start(self) -> None:
        """Run the bus in a background thread until :meth:`stop`."""
        if self._thread is not None:
            raise RuntimeError("simulator already started")
        self._thread = threading.Thread(target=self.run, name="modbus-rtu-sim", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the loop and wait for its thread; the link stays open (its owner closes it)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        """The bus loop: read requests and answer them until :meth:`stop`."""
        decoder = self._decoder
        while not self._stop.is_set():
            data = self.link.read(self._frame_gap_s if decoder.pending else _POLL_SECONDS)
            if data:
                for frame in decoder.feed(data):
                    self._handle(frame)
            elif decoder.pending:
                _log.debug("dropping %d bytes of an incomplete frame", decoder.discard())
            self.counters.rejected_bytes = decoder.rejected

    def _handle(self, frame: RtuFrame) -> None:
        self.counters.frames += 1
        slave = self.slaves.get(frame.address)
        if slave is None:
            self.counters.not_addressed += 1
            return
        answer = slave.answer(frame.pdu)
        if answer is not None:
            self._send(frame.address, answer)

    def _send(self, address: int, answer: Answer) -> None:
        reply = encode_rtu(address, answer.pdu)
        if answer.bad_crc:
            reply = reply[:-1] + bytes((reply[-1] ^ 0xFF,))
        if answer.garbage and self.link.write(answer.garbage):
            self.counters.garbage_bytes += len(answer.garbage)
        if not self.link.write(reply):
            self.counters.replies_dropped += 1
            return
        if answer.bad_crc:
            self.counters.corrupt_replies += 1
            return
        self.counters.replies_written += 1
        if self._recorder is not None:
            self._recorder.write(answer.record)
