"""The rules benchmark's gateways: a process of its own publishing pre-encoded batches on time.

    python -m bench.rules_publisher --host H --port P --messages FILE --times FILE

Reads the messages :func:`write_messages` wrote (topic, payload, when each is due), connects
``--connections`` MQTT clients, and publishes every message at QoS 1 at its due time (epoch
seconds; a message behind its time goes at once, so the pace catches up rather than drifts),
each gateway always on the same client, as a gateway keeps its one connection (MQTT orders
messages per connection only: taking turns would let a gateway's batches overtake each other,
and a rule would see an earlier reading after a later one). Then it waits for the broker's
PUBACKs and writes, per message, the wall time it was handed to its connection
(``array('d')``, native byte order) to ``--times``.
Running apart from the rules service keeps the publishing Python off the service's cores' GIL.
"""

import argparse
import struct
import subprocess
import sys
import threading
import time
import zlib
from array import array
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from bench.rules_city import Message

_HEADER = struct.Struct("<dHI")  # due time, topic length, payload length
_ROOT = Path(__file__).resolve().parent.parent


def spawn(host: str, port: int, messages: Path, times: Path) -> "subprocess.Popen[bytes]":
    """Start the publisher process on the messages file ``messages``; it writes ``times``."""
    command = [sys.executable, "-m", "bench.rules_publisher", "--host", host]
    command += ["--port", str(port), "--messages", str(messages), "--times", str(times)]
    return subprocess.Popen(command, cwd=_ROOT)


def read_times(path: Path) -> list[float]:
    """The publish times the publisher wrote, one per message."""
    times = array("d")
    with path.open("rb") as file:
        times.frombytes(file.read())
    return list(times)


def write_messages(path: Path, messages: Iterable[Message]) -> int:
    """Write ``messages`` for the publisher; return how many."""
    count = 0
    with path.open("wb") as file:
        for message in messages:
            topic = message.topic.encode()
            file.write(_HEADER.pack(message.due_s, len(topic), len(message.payload)))
            file.write(topic)
            file.write(message.payload)
            count += 1
    return count


def read_messages(path: Path) -> Iterator[Message]:
    """The messages of a file :func:`write_messages` wrote."""
    data = path.read_bytes()
    offset = 0
    while offset < len(data):
        due_s, topic_length, payload_length = _HEADER.unpack_from(data, offset)
        offset += _HEADER.size
        topic = data[offset : offset + topic_length].decode()
        offset += topic_length
        yield Message(topic, data[offset : offset + payload_length], due_s)
        offset += payload_length


def publish(host: str, port: int, messages: Sequence[Message], connections: int) -> list[float]:
    """Publish every message on time; the wall time each was handed over."""
    acked = threading.Semaphore(0)
    clients: list[mqtt.Client] = []
    for n in range(connections):
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"bench-rules-publisher-{n}",
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(0)
        client.on_publish = lambda *_: acked.release()
        client.connect(host, port)
        client.loop_start()
        clients.append(client)
    published: list[float] = []
    for message in messages:
        delay = message.due_s - time.time()
        if delay > 0:
            time.sleep(delay)
        published.append(time.time())
        clients[zlib.crc32(message.topic.encode()) % connections].publish(
            message.topic, message.payload, qos=1
        )
    deadline = time.monotonic() + 60
    for _ in messages:
        if not acked.acquire(timeout=max(0.0, deadline - time.monotonic())):
            print("the broker did not acknowledge every message", file=sys.stderr)
            break
    for client in clients:
        client.disconnect()
        client.loop_stop()
    return published


def main(argv: Sequence[str] | None = None) -> int:
    """Publish the messages file; write the publish times."""
    parser = argparse.ArgumentParser(prog="python -m bench.rules_publisher")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--messages", type=Path, required=True)
    parser.add_argument("--times", type=Path, required=True)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args(argv)
    messages = list(read_messages(args.messages))
    published = publish(args.host, args.port, messages, args.connections)
    with args.times.open("wb") as file:
        array("d", published).tofile(file)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
