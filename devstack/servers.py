"""Mosquitto and InfluxDB from the system's packages, as child processes on free ports.

Each server owns a working folder: its generated configuration, its data and its log live there
and nowhere else, so any number of them run side by side. ``start()`` returns only once the
server answers (a TCP connect for Mosquitto, ``GET /ping`` for InfluxDB) and otherwise raises
:class:`ServerStartError` with the tail of the server's log. ``restart()`` keeps the ports and the
data, which is what fault tests and the demo need; ``kill()`` is the crash of a fault test.
"""

import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType
from typing import Self

_STOP_TIMEOUT_S = 10.0
_POLL_INTERVAL_S = 0.02
_LOG_TAIL_LINES = 30


class ServerStartError(RuntimeError):
    """A server did not come up: its binary is missing, it exited, or it did not answer in time."""

    def __init__(self, name: str, reason: str, log_tail: str = "") -> None:
        self.name = name
        self.reason = reason
        self.log_tail = log_tail
        tail = f"\n--- last lines of its log ---\n{log_tail}" if log_tail else ""
        super().__init__(f"{name}: {reason}{tail}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def find_binary(name: str) -> str:
    """Path of a server binary; daemons live in /usr/sbin, often not on a user's PATH."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise ServerStartError(name, f"{name} is not installed (looked on PATH and in /usr/sbin)")
    return found


class _ChildServer(ABC):
    """A server process: started, probed until it answers, stopped politely or killed."""

    name = "server"
    startup_timeout_s = 10.0

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.log_path = workdir / f"{self.name}.log"
        self._process: subprocess.Popen[bytes] | None = None

    @abstractmethod
    def _command(self) -> list[str]:
        """Write the configuration and return the command line that starts the server."""

    @abstractmethod
    def _answers(self) -> bool:
        """Whether the server accepts requests now."""

    @property
    @abstractmethod
    def address(self) -> str:
        """Where the server listens, for messages."""

    @property
    def running(self) -> bool:
        """Whether the child process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the server and wait until it answers."""
        if self.running:
            return
        if self._answers():  # else the probe below would take another server for ours
            raise ServerStartError(self.name, f"something else already answers at {self.address}")
        self.workdir.mkdir(parents=True, exist_ok=True)
        command = self._command()
        with self.log_path.open("ab") as log:
            # A session of its own: Ctrl-C in a terminal reaches the owner, which stops the
            # servers last, after the services that still need them have flushed.
            self._process = subprocess.Popen(  # noqa: S603 - binary and config are ours
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + self.startup_timeout_s
        while not self._answers():
            if self._process.poll() is not None:
                code = self._process.returncode
                self._process = None
                raise ServerStartError(self.name, f"exited with {code}", self.log_tail())
            if time.monotonic() > deadline:
                self.kill()
                raise ServerStartError(
                    self.name, f"no answer within {self.startup_timeout_s:g} s", self.log_tail()
                )
            time.sleep(_POLL_INTERVAL_S)

    def stop(self) -> None:
        """Stop with SIGTERM so the server saves its state; SIGKILL if it does not exit in time."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """Kill with SIGKILL, as a crash or power cut would: nothing is saved on the way out."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.kill()
        process.wait()

    def restart(self) -> None:
        """Stop and start again on the same ports with the same data."""
        self.stop()
        self.start()

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last lines of the server's log, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _tcp_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class MosquittoServer(_ChildServer):
    """A Mosquitto broker listening on 127.0.0.1 only.

    With ``persistence`` the broker keeps sessions, subscriptions and queued QoS 1 messages in
    ``workdir`` across a clean ``stop()``/``restart()``; Mosquitto writes its database at
    shutdown and every ``autosave_interval`` (30 min by default), so ``kill()`` loses what
    changed since. Anonymous clients are allowed unless a ``password_file`` is given.
    With ``config_file`` the broker runs that file as it is (a configuration rendered
    elsewhere, which must listen on ``port`` at 127.0.0.1) instead of the generated one.
    """

    name = "mosquitto"

    def __init__(  # noqa: PLR0913 - the broker's options, all keyword-only
        self,
        workdir: Path,
        *,
        port: int | None = None,
        persistence: bool = False,
        password_file: Path | None = None,
        acl_file: Path | None = None,
        extra_config: str = "",
        config_file: Path | None = None,
    ) -> None:
        super().__init__(workdir)
        self.host = "127.0.0.1"
        self.port = port if port is not None else free_port()
        self.persistence = persistence
        self.password_file = password_file
        self.acl_file = acl_file
        self.extra_config = extra_config
        self.config_file = config_file
        self.config_path = workdir / "mosquitto.conf"

    def config(self) -> str:
        """The text of the generated mosquitto.conf."""
        lines = [
            # Run as whoever started us; as root, Mosquitto would otherwise switch to the
            # "mosquitto" user, which cannot write to our folder.
            f"user {getpass.getuser()}",
            f"listener {self.port} {self.host}",
            f"allow_anonymous {'false' if self.password_file else 'true'}",
            # Mosquitto drops QoS 1 messages beyond max_queued_messages (default 1000) per client.
            "max_queued_messages 1000000",
            # Ingest holds PUBACKs until InfluxDB has the batch: the window bounds its batch size.
            "max_inflight_messages 1000",
            f"log_dest file {self.log_path}",
            "log_timestamp_format %Y-%m-%dT%H:%M:%S",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
        ]
        if self.persistence:
            lines += ["persistence true", f"persistence_location {self.workdir}{os.sep}"]
        if self.password_file is not None:
            lines.append(f"password_file {self.password_file}")
        if self.acl_file is not None:
            lines.append(f"acl_file {self.acl_file}")
        if self.extra_config:
            lines.append(self.extra_config)
        return "\n".join(lines) + "\n"

    def _command(self) -> list[str]:
        if self.config_file is not None:
            return [find_binary("mosquitto"), "-c", str(self.config_file)]
        self.config_path.write_text(self.config())
        return [find_binary("mosquitto"), "-c", str(self.config_path)]

    @property
    def pid(self) -> int | None:
        """The broker's process id while it runs, for a pid file or a signal."""
        return self._process.pid if self._process is not None and self.running else None

    def reload(self) -> None:
        """Send SIGHUP: Mosquitto rereads its password and ACL files, keeping its clients."""
        if self._process is None or not self.running:
            raise ServerStartError(self.name, "is not running, so it cannot reload")
        self._process.send_signal(signal.SIGHUP)

    def _answers(self) -> bool:
        return _tcp_answers(self.host, self.port)

    @property
    def address(self) -> str:
        """Where the broker listens, as host:port."""
        return f"{self.host}:{self.port}"


def _toml_path(path: Path) -> str:
    return json.dumps(str(path))  # a JSON string is a valid TOML basic string


class InfluxServer(_ChildServer):
    """An InfluxDB 1.x server with its meta, data and WAL folders inside ``workdir``.

    Everything that would make it slow to start or chatty is off: usage reporting, the
    ``_internal`` monitor database, subscriptions, the HTTP access log, and the UDP, Graphite,
    collectd and OpenTSDB listeners. Continuous queries stay on: downsampling uses them.
    """

    name = "influxd"
    startup_timeout_s = 30.0

    def __init__(
        self, workdir: Path, *, http_port: int | None = None, auth_enabled: bool = False
    ) -> None:
        super().__init__(workdir)
        self.host = "127.0.0.1"
        self.http_port = http_port if http_port is not None else free_port()
        self.rpc_port = free_port()  # backup and restore; never used, but it must not collide
        self.auth_enabled = auth_enabled
        self.config_path = workdir / "influxdb.conf"

    @property
    def url(self) -> str:
        """Base URL of the HTTP API."""
        return f"http://{self.host}:{self.http_port}"

    def config(self) -> str:
        """The text of the generated influxdb.conf (TOML; 1.x ignores keys it does not know)."""
        listeners = "".join(
            f"\n[[{section}]]\n  enabled = false\n"
            for section in ("udp", "graphite", "collectd", "opentsdb")
        )
        # Upstream 1.x spells it reporting-disabled; Debian's build, reporting-enabled.
        return f"""\
reporting-disabled = true
reporting-enabled = false
bind-address = "{self.host}:{self.rpc_port}"

[meta]
  dir = {_toml_path(self.workdir / "meta")}
  logging-enabled = false

[data]
  dir = {_toml_path(self.workdir / "data")}
  wal-dir = {_toml_path(self.workdir / "wal")}
  query-log-enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[continuous_queries]
  enabled = true
  log-enabled = false

[http]
  enabled = true
  bind-address = "{self.host}:{self.http_port}"
  auth-enabled = {"true" if self.auth_enabled else "false"}
  log-enabled = false
  pprof-enabled = false

[logging]
  level = "info"
  suppress-logo = true
{listeners}"""

    def _command(self) -> list[str]:
        self.config_path.write_text(self.config())
        return [find_binary("influxd"), "-config", str(self.config_path)]

    @property
    def address(self) -> str:
        """Where the HTTP API listens: the base URL."""
        return self.url

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/ping", timeout=0.5) as response:  # noqa: S310 - our own http URL
                return bool(response.status == 204)
        except OSError:
            return False
