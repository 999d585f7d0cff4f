"""The fault vocabulary every simulator shares, switched on and off while a simulator runs.

One word per fault, the same for a particulate sensor and for a meter, so that a scenario's
timeline reads alike for every device; each simulator declares the faults its protocol can have
(its ``FAULTS``) and refuses the others with :class:`UnsupportedFaultError`.

========================  =======================================================================
fault                     what the host sees while it lasts
========================  =======================================================================
``silence``               nothing: no frames streamed, no answers; commands are read and dropped
``garbage``               a few random bytes before every frame or reply, and every second one
                          damaged (one bit flipped: a wrong checksum or CRC) instead of good
``bad_checksum``          every frame or reply damaged instead of good
``busy``                  error answers: Modbus exception 06, a DL/T 645 error reply
``stuck``                 frames and answers keep coming, but their values stop changing
``counter_reset``         once, when it happens: the energy counters go back to zero
========================  =======================================================================

A simulator keeps the faults in force in a :class:`FaultSet`; a lasting fault stays until it is
cleared, ``counter_reset`` is an event and has no duration.
"""

import random
import threading
from enum import StrEnum

GARBAGE_MAX = 8  # random bytes before a frame, at most


class Fault(StrEnum):
    """A fault a simulator can inject; see the module docstring."""

    SILENCE = "silence"
    GARBAGE = "garbage"
    BAD_CHECKSUM = "bad_checksum"
    BUSY = "busy"
    STUCK = "stuck"
    COUNTER_RESET = "counter_reset"


ONE_SHOT = frozenset({Fault.COUNTER_RESET})
"""Faults that happen once instead of lasting until cleared."""


class UnsupportedFaultError(ValueError):
    """A fault that a device's protocol does not have (e.g. ``busy`` on a PMS5003)."""

    def __init__(self, device: str, fault: Fault, supported: frozenset[Fault]) -> None:
        self.device = device
        self.fault = fault
        self.supported = supported
        names = ", ".join(sorted(supported))
        super().__init__(f"{device} cannot have the fault {fault!s}; it supports: {names}")


class FaultSet:
    """The lasting faults in force on one device, switched from any thread.

    ``garbled`` counts the frames sent under ``garbage``, so that every second one is damaged.
    """

    def __init__(self, device: str, supported: frozenset[Fault]) -> None:
        self.device = device
        self.supported = supported
        self._active: frozenset[Fault] = frozenset()
        self._lock = threading.Lock()
        self._garbled = 0

    def __contains__(self, fault: object) -> bool:
        return fault in self._active

    @property
    def active(self) -> frozenset[Fault]:
        """The faults in force now."""
        return self._active

    def check(self, fault: Fault) -> None:
        """Raise :class:`UnsupportedFaultError` unless the device supports ``fault``."""
        if fault not in self.supported:
            raise UnsupportedFaultError(self.device, fault, self.supported)

    def add(self, fault: Fault) -> None:
        """Put a lasting fault in force."""
        self.check(fault)
        with self._lock:
            self._active |= {fault}

    def discard(self, fault: Fault) -> None:
        """End a fault; ending one that is not in force does nothing."""
        self.check(fault)
        with self._lock:
            self._active -= {fault}

    def damage_next(self) -> bool:
        """Whether the next frame goes out damaged.

        Always under ``bad_checksum``, every second frame under ``garbage``, never otherwise.
        """
        active = self._active
        if Fault.BAD_CHECKSUM in active:
            return True
        if Fault.GARBAGE not in active:
            return False
        with self._lock:
            self._garbled += 1
            return self._garbled % 2 == 0


def noise(rnd: random.Random) -> bytes:
    """A few random bytes, as a line picks up from interference or a half-sent frame."""
    return rnd.randbytes(rnd.randint(1, GARBAGE_MAX))


def flip_bit(frame: bytes, rnd: random.Random, *, first: int, last: int) -> bytes:
    """``frame`` with one random bit flipped in bytes ``first..last`` (inclusive).

    A single flipped bit always breaks an additive checksum or a CRC over those bytes.
    """
    damaged = bytearray(frame)
    damaged[rnd.randint(first, last)] ^= 1 << rnd.randint(0, 7)
    return bytes(damaged)
