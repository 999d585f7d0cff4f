"""Batch sequence numbers of one gateway, persisted so that none is ever used twice (legacy).

The spool (:mod:`edge.spool`) now numbers batches in the transaction that stores them; this
file-based store is kept so that a gateway upgraded in place continues after the number in its
old ``<gateway>.seq.json`` (the spool reads it once, with :meth:`SequenceStore.peek`), and for
:class:`StateError`, which both use for state that cannot be trusted.

The platform deduplicates batches by (gateway, seq) and reports gaps, so a number reused after
a restart would silently drop a batch. :meth:`SequenceStore.take` therefore writes the *next*
number to disk (temporary file, fsync, rename, fsync of the directory) before it hands out the
current one: a crash can at worst leave a gap, never a repeat. Numbers never come from the wall
clock, which a Raspberry Pi without a real-time clock cannot be trusted with at boot.

The first batch of a new gateway is number 1, so a watermark of 0 means "nothing stored yet".
"""

import json
import os
import threading
from pathlib import Path

FIRST_SEQ = 1
MAX_SEQ = 2**63 - 1  # the wire contract's upper bound (exclusive) is 2**63


class StateError(Exception):
    """The gateway's state file exists but cannot be trusted; refusing beats reusing numbers."""

    def __init__(self, path: Path, why: str) -> None:
        self.path = path
        self.why = why
        super().__init__(f"{path}: {why}")


class SequenceStore:
    """Hands out increasing sequence numbers for one gateway, durable across restarts."""

    def __init__(self, state_dir: Path, gateway: str) -> None:
        self.gateway = gateway
        self.path = state_dir / f"{gateway}.seq.json"
        self._next: int | None = None
        self._lock = threading.Lock()

    def peek(self) -> int:
        """The number the next :meth:`take` will return."""
        with self._lock:
            return self._load()

    def take(self) -> int:
        """Reserve and return the next number; it is on disk as used before this returns."""
        with self._lock:
            seq = self._load()
            if seq >= MAX_SEQ:
                raise StateError(self.path, "sequence numbers exhausted")
            self._write(seq + 1)
            self._next = seq + 1
            return seq

    def _load(self) -> int:
        if self._next is None:
            self._next = self._read()
        return self._next

    def _read(self) -> int:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return FIRST_SEQ
        except OSError as exc:
            raise StateError(self.path, f"cannot read: {exc}") from None
        try:
            state = json.loads(text)
        except json.JSONDecodeError as exc:
            raise StateError(self.path, f"not JSON: {exc}") from None
        match state:
            case {"gateway": str(gateway), "next_seq": int(next_seq)} if next_seq >= FIRST_SEQ:
                if gateway != self.gateway:
                    raise StateError(self.path, f"belongs to gateway {gateway!r}")
                return next_seq
            case _:
                raise StateError(self.path, "expected {'gateway': ..., 'next_seq': n >= 1}")

    def _write(self, next_seq: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps({"gateway": self.gateway, "next_seq": next_seq}).encode()
        temporary = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        temporary.replace(self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # makes the rename itself durable
        finally:
            os.close(directory)
