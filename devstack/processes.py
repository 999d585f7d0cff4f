"""Child processes of the platform's own services, started and stopped in order.

The demo and the end-to-end tests run ingest, the API, edge agents and simulators as real
processes. Each gets its own log file and its own session (so Ctrl-C reaches only the parent,
which then stops the children in the reverse order of starting: gateways flush before ingest
stops, ingest flushes before InfluxDB stops).
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self

_STOP_TIMEOUT_S = 10.0


def console_script(name: str) -> str:
    """Path of a console script installed beside the running interpreter."""
    return str(Path(sys.executable).with_name(name))


class ChildProcess:
    """One service process with its output in ``log_path``.

    ``stdout_path``: keep standard output apart from the log, for a process whose output is data
    (a simulator's endpoints); its standard error still goes to the log.
    """

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        stdout_path: Path | None = None,
    ) -> None:
        self.name = name
        self.command = list(command)
        self.log_path = log_path
        self.stdout_path = stdout_path
        self.env = {**os.environ, **(env or {})}
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the process; its output goes to the log file (or to ``stdout_path``)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.ExitStack() as files:
            log = files.enter_context(self.log_path.open("ab"))
            stdout: IO[bytes] = log
            stderr: IO[bytes] | int = subprocess.STDOUT
            if self.stdout_path is not None:
                self.stdout_path.parent.mkdir(parents=True, exist_ok=True)
                stdout, stderr = files.enter_context(self.stdout_path.open("wb")), log
            self._process = subprocess.Popen(  # noqa: S603 - our own console scripts
                self.command,
                stdout=stdout,
                stderr=stderr,
                stdin=subprocess.DEVNULL,
                env=self.env,
                start_new_session=True,
            )

    @property
    def pid(self) -> int | None:
        """The process id while it has one."""
        return self._process.pid if self._process is not None else None

    def running(self) -> bool:
        """Whether the process was started and has not exited."""
        return self._process is not None and self._process.poll() is None

    def returncode(self) -> int | None:
        """The exit status once it has exited."""
        return self._process.poll() if self._process is not None else None

    def signal(self, signum: signal.Signals) -> None:
        """Send a signal, if the process still runs."""
        if self.running() and self._process is not None:
            self._process.send_signal(signum)

    def stop(self, timeout_s: float = _STOP_TIMEOUT_S) -> int | None:
        """SIGTERM, wait for a clean exit, SIGKILL after ``timeout_s``; returns the status."""
        if self._process is None:
            return None
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        return self._process.returncode

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the log, for error messages."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class ProcessGroup:
    """Processes started together and stopped in reverse order."""

    def __init__(self) -> None:
        self.children: list[ChildProcess] = []

    def start(self, child: ChildProcess) -> ChildProcess:
        """Start ``child`` and keep it for :meth:`stop_all`."""
        child.start()
        self.children.append(child)
        return child

    def stop_all(self) -> None:
        """Stop every child, the last started first."""
        while self.children:
            self.children.pop().stop()

    def exited(self) -> list[ChildProcess]:
        """Children that have exited on their own."""
        return [child for child in self.children if not child.running()]

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop_all()


def wait_until(predicate: Callable[[], bool], *, timeout_s: float, interval_s: float = 0.1) -> bool:
    """Poll ``predicate`` until it is true or ``timeout_s`` passes; say which."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return bool(predicate())
