"""A pseudo-terminal standing in for a serial port: the simulator owns the master end.

The host under test opens the slave end (``/dev/pts/N``, or a stable symlink to it) exactly as it
would open ``/dev/ttyUSB0``. Three pty facts shape this module:

- The line discipline sits between the two ends. Unless the tty is in raw mode it echoes, maps
  CR to LF and LF to CR LF, and binary frames arrive altered. The link sets raw mode at once, before
  any host has opened the slave (pyserial sets raw mode again when it opens the port).
- When the last slave descriptor closes, reads on the master fail with EIO. The link keeps its own
  slave descriptor open, so a host may close and reopen the port, as a real serial port allows.
- Bytes written while nobody reads pile up in the tty buffer (a few KiB); a blocking write would
  then hang the simulator. The master is non-blocking and :meth:`PtyLink.write` reports a write
  that did not fit, so the caller can drop that frame, as a real UART does with nobody listening.
"""

import contextlib
import os
import select
import tty
from pathlib import Path
from types import TracebackType
from typing import Self

_READ_SIZE = 4096


class PtyLink:
    """One pseudo-terminal pair in raw mode, optionally reachable through a symlink."""

    def __init__(self, link: Path | None = None) -> None:
        self._master, self._slave = os.openpty()
        self._closed = False
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.device = Path(os.ttyname(self._slave))
        self.link = link
        if link is not None:
            _replace_symlink(link, self.device)

    @property
    def path(self) -> Path:
        """The path a host should open: the symlink if there is one, else the pty device."""
        return self.link if self.link is not None else self.device

    def read(self, timeout: float) -> bytes:
        """Bytes the host wrote, waiting up to ``timeout`` seconds; empty if none arrived."""
        ready, _, _ = select.select([self._master], [], [], timeout)
        if not ready:
            return b""
        try:
            return os.read(self._master, _READ_SIZE)
        except BlockingIOError:
            return b""

    def write(self, data: bytes) -> bool:
        """Write ``data``; False if the tty buffer could not take it (nothing or a torn part sent).

        A write that starts is finished if the buffer drains within a second, so a frame is torn
        only when the host stops reading in the middle of it.
        """
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._master, view)
            except BlockingIOError:
                written = 0
            if written == 0 and len(view) == len(data):
                return False
            view = view[written:]
            if view and not select.select([], [self._master], [], 1.0)[1]:
                return False
        return True

    def close(self) -> None:
        """Close both ends and remove the symlink if it still points at this pty; idempotent."""
        if self._closed:
            return  # the descriptor numbers may already belong to someone else
        self._closed = True
        if self.link is not None:
            with contextlib.suppress(OSError):
                if self.link.is_symlink() and self.link.readlink() == self.device:
                    self.link.unlink()
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _replace_symlink(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` atomically, replacing an older link from a previous run."""
    link.parent.mkdir(parents=True, exist_ok=True)
    temporary = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    temporary.symlink_to(target)
    temporary.replace(link)
