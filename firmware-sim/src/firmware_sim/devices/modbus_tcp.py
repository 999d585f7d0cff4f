"""A Modbus TCP server with simulated meters behind it, as a Modbus gateway presents them.

One thread serves every connection through a selector. The MBAP unit id picks the meter; a unit id
no meter has is answered with exception 0B GATEWAY_TARGET_FAILED, as a gateway answers for a
serial slave that does not respond (Modbus Application Protocol V1.1b3 §7). The transaction id of
each request is echoed in its reply, and pipelined requests are answered in order.

A header with a protocol id other than 0 or an impossible length leaves no way to find the next
frame in the stream, so the connection is closed. The ``disconnect_every`` fault of a slave's plan
closes the connection instead of answering. The recorder gets one line per reply handed whole to
the kernel, with the transaction id added.

Faults injected while the server runs (:meth:`ModbusTcpSimulator.inject`) go to one unit or to
every unit. TCP has no checksum, and random bytes in the stream would leave the client no frame
boundary to find, so ``garbage`` and ``bad_checksum`` are not among its ``FAULTS``.
"""

import contextlib
import logging
import math
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar

from firmware_sim.devices.modbus_slave import ModbusSlave
from firmware_sim.faults import Fault, UnsupportedFaultError
from firmware_sim.modbus import (
    ExceptionCode,
    MbapDecoder,
    MbapError,
    TcpFrame,
    encode_exception,
    encode_tcp,
)
from firmware_sim.recorder import JsonValue, Recorder

_log = logging.getLogger(__name__)
_POLL_SECONDS = 0.05  # longest wait before the loop looks at its stop flag again
_RECV_SIZE = 4096
_BACKLOG = 16


@dataclass(slots=True)
class TcpServerCounters:
    """What the server did, for tests and for its log."""

    connections: int = 0  # accepted
    bad_headers: int = 0  # connections closed for an MBAP header no Modbus peer sends
    disconnects: int = 0  # connections closed on purpose (fault plan)
    unknown_units: int = 0  # requests for a unit id no meter has
    replies_written: int = 0  # replies handed whole to the kernel (and recorded)


@dataclass(slots=True)
class _Connection:
    sock: socket.socket
    decoder: MbapDecoder = field(default_factory=MbapDecoder)
    # replies not yet handed whole to the kernel, each with the record to write once it is
    outbox: deque[tuple[bytes, dict[str, JsonValue]]] = field(default_factory=deque)


class ModbusTcpSimulator:
    """Serves Modbus TCP on ``host:port`` (port 0: a free one) for several unit ids."""

    FAULTS: ClassVar[frozenset[Fault]] = frozenset(Fault) - {Fault.GARBAGE, Fault.BAD_CHECKSUM}

    def __init__(
        self,
        slaves: Iterable[ModbusSlave],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        recorder: Recorder | None = None,
    ) -> None:
        self.slaves = {s.unit: s for s in slaves}
        if not self.slaves:
            raise ValueError("a server needs at least one unit")
        self.counters = TcpServerCounters()
        self._host, self._port = host, port
        self._recorder = recorder
        self._listener: socket.socket | None = None
        self._selector = selectors.DefaultSelector()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        """The host and port the server listens on; known once started."""
        host, port = self._listener_socket().getsockname()[:2]
        return str(host), int(port)

    def inject(self, fault: Fault, unit: int | None = None) -> None:
        """Put ``fault`` in force on the unit ``unit``, or on every unit, until :meth:`clear`.

        Raises:
            UnsupportedFaultError: not one of ``FAULTS``.
            KeyError: no unit has that id.
        """
        for slave in self._addressed(fault, unit):
            slave.inject(fault)

    def clear(self, fault: Fault, unit: int | None = None) -> None:
        """End an injected fault on the unit ``unit``, or on every unit."""
        for slave in self._addressed(fault, unit):
            slave.clear(fault)

    def _addressed(self, fault: Fault, unit: int | None) -> list[ModbusSlave]:
        if fault not in self.FAULTS:
            raise UnsupportedFaultError("Modbus TCP server", fault, self.FAULTS)
        if unit is None:
            return list(self.slaves.values())
        if unit not in self.slaves:
            raise KeyError(f"no unit {unit} here; the units are {sorted(self.slaves)}")
        return [self.slaves[unit]]

    def start(self) -> None:
        """Listen and serve in a background thread until :meth:`stop`."""
        if self._thread is not None:
            raise RuntimeError("server already started")
        listener = socket.create_server((self._host, self._port), backlog=_BACKLOG)
        listener.setblocking(False)  # noqa: FBT003 - the socket API's own signature
        self._selector.register(listener, selectors.EVENT_READ, None)
        self._listener = listener
        self._thread = threading.Thread(target=self.run, name="modbus-tcp-sim", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, close every connection and the listening socket."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        """The server loop; closes everything when it ends."""
        try:
            while not self._stop.is_set():
                for key, events in self._selector.select(_POLL_SECONDS):
                    if key.data is None:
                        self._accept()
                    else:
                        self._service(key.data, events)
        finally:
            for key in list(self._selector.get_map().values()):
                self._selector.unregister(key.fileobj)
                with contextlib.suppress(OSError):
                    (key.data.sock if key.data is not None else self._listener_socket()).close()
            self._selector.close()

    def _listener_socket(self) -> socket.socket:
        if self._listener is None:
            raise RuntimeError("server not started")
        return self._listener

    def _accept(self) -> None:
        try:
            sock, peer = self._listener_socket().accept()
        except BlockingIOError:
            return
        sock.setblocking(False)  # noqa: FBT003 - the socket API's own signature
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._selector.register(sock, selectors.EVENT_READ, _Connection(sock))
        self.counters.connections += 1
        _log.debug("connection from %s", peer)

    def _service(self, conn: _Connection, events: int) -> None:
        if events & selectors.EVENT_WRITE and not self._flush(conn):
            return
        if not events & selectors.EVENT_READ:
            return
        try:
            data = conn.sock.recv(_RECV_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._close(conn)
            return
        try:
            frames = conn.decoder.feed(data)
        except MbapError as error:
            _log.info("closing a connection: %s", error)
            self.counters.bad_headers += 1
            self._close(conn)
            return
        for frame in frames:
            if not self._answer(conn, frame):
                return
        self._flush(conn)

    def _answer(self, conn: _Connection, frame: TcpFrame) -> bool:
        """Queue the reply to ``frame``; False if the connection was closed instead."""
        slave = self.slaves.get(frame.unit)
        if slave is None:
            self.counters.unknown_units += 1
            pdu = encode_exception(frame.pdu[0], ExceptionCode.GATEWAY_TARGET_FAILED)
            record: dict[str, JsonValue] = {
                "ts": math.floor(time.time() * 1000),
                "unit": frame.unit,
                "function": frame.pdu[0],
                "address": int.from_bytes(frame.pdu[1:3], "big") if len(frame.pdu) >= 3 else None,
                "exception": int(ExceptionCode.GATEWAY_TARGET_FAILED),
            }
        else:
            answer = slave.answer(frame.pdu)
            if answer is None:
                return True
            if answer.disconnect:
                self._flush(conn)
                self.counters.disconnects += 1
                self._close(conn)
                return False
            pdu, record = answer.pdu, answer.record
        record = {**record, "transaction": frame.transaction}
        conn.outbox.append((encode_tcp(frame.transaction, frame.unit, pdu), record))
        return True

    def _flush(self, conn: _Connection) -> bool:
        """Send what the kernel takes; False if the connection broke and was closed."""
        while conn.outbox:
            data, record = conn.outbox[0]
            try:
                sent = conn.sock.send(data)
            except BlockingIOError:
                sent = 0
            except OSError:
                self._close(conn)
                return False
            if sent < len(data):
                conn.outbox[0] = (data[sent:], record)
                break
            conn.outbox.popleft()
            self.counters.replies_written += 1
            if self._recorder is not None:
                self._recorder.write(record)
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.outbox else 0)
        self._selector.modify(conn.sock, events, conn)
        return True

    def _close(self, conn: _Connection) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(conn.sock)
        conn.sock.close()
