"""The publisher over TLS to a real Mosquitto: mutual TLS works, a wrong CA is refused loudly.

The certificates are made for each test run by the ``openssl`` command line tool (the
``cryptography`` package is not a dependency of the workspace): a CA, a server certificate for
127.0.0.1 and a client certificate, all signed by that CA, and a second, unrelated CA.
"""

import shutil
import subprocess
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devstack.servers import free_port
from edge.agent import Agent
from edge.config import load_config
from edge.publisher import Publisher
from edge.spool import Spool
from telemetry import GatewayState, decode_status, topics

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl tool"),
]

GATEWAY = "gw-tls-1"


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(folder: Path, name: str) -> None:
    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", f"{name}.key", "-out", f"{name}.pem", "-subj", f"/CN={name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=folder,
    )  # fmt: skip


def make_cert(folder: Path, name: str, ca: str, extensions: str) -> None:
    (folder / f"{name}.ext").write_text(extensions)
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
        "-out", f"{name}.csr", "-subj", f"/CN={name}",
        cwd=folder,
    )  # fmt: skip
    openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
        "-CAcreateserial", "-days", "2", "-out", f"{name}.pem", "-extfile", f"{name}.ext",
        cwd=folder,
    )  # fmt: skip


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    folder: Path = tmp_path_factory.mktemp("pki")
    make_ca(folder, "ca")
    make_ca(folder, "other-ca")
    make_cert(
        folder,
        "server",
        "ca",
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    make_cert(folder, "client", "ca", "extendedKeyUsage=clientAuth\n")
    return folder


@pytest.fixture
def tls_broker(mosquitto_factory, pki):
    """A broker with a plain listener (for the fixture's readiness check and the watcher) and a
    TLS listener that demands a client certificate signed by ``ca``."""
    tls_port = free_port()
    broker = mosquitto_factory(
        extra_config="\n".join(
            [
                f"listener {tls_port} 127.0.0.1",
                f"cafile {pki / 'ca.pem'}",
                f"certfile {pki / 'server.pem'}",
                f"keyfile {pki / 'server.key'}",
                "require_certificate true",
            ]
        )
    )
    return broker, tls_port


def write_config(tmp_path: Path, port: int, pki: Path, *, ca: str) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(
        f"""\
gateway: {GATEWAY}
mqtt:
  host: 127.0.0.1
  port: {port}
  tls: {{ca: {pki / ca}, cert: {pki / "client.pem"}, key: {pki / "client.key"}}}
state_dir: state
devices:
  - {{type: pms5003, id: pm-1, port: {tmp_path / "no-such-port"}}}
"""
    )
    return path


def publisher_for(config_path: Path, tmp_path: Path) -> Publisher:
    config = load_config(config_path)
    spool = Spool(tmp_path / "spool.sqlite3", GATEWAY, quota_bytes=10**7, legacy_state_dir=tmp_path)
    spool.open()
    return Publisher(GATEWAY, config.mqtt, spool, agent_version="test")


def retained_status(broker) -> bytes | None:
    """The retained status message, read over the broker's plain listener."""
    received: list[bytes] = []
    arrived = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.on_connect = lambda c, *_: c.subscribe(topics.status(GATEWAY), qos=1)

    def on_message(_client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        received.append(bytes(message.payload))
        arrived.set()

    client.on_message = on_message
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        arrived.wait(10)
    finally:
        client.disconnect()
        client.loop_stop()
    return received[0] if received else None


def test_the_agent_connects_with_its_client_certificate(tmp_path, tls_broker, pki, wait_until):
    broker, tls_port = tls_broker
    agent = Agent(load_config(write_config(tmp_path, tls_port, pki, ca="ca.pem")))
    runner = threading.Thread(target=agent.run)
    runner.start()
    try:
        assert wait_until(lambda: agent.publisher.counters().connected)
        assert wait_until(lambda: agent.publisher.counters().undelivered == 0)
        status = decode_status(retained_status(broker) or b"")  # the birth, over TLS
    finally:
        agent.stop()
        runner.join(15)
    assert not runner.is_alive()
    assert status.gateway == GATEWAY
    assert status.state is GatewayState.ONLINE
    assert agent.publisher.counters().connect_failures == 0


def test_a_server_certificate_from_another_ca_is_refused_with_a_clear_error(
    tmp_path, tls_broker, pki, wait_until, caplog
):
    _broker, tls_port = tls_broker
    publisher = publisher_for(write_config(tmp_path, tls_port, pki, ca="other-ca.pem"), tmp_path)
    publisher.start()
    try:
        assert wait_until(lambda: publisher.counters().connect_failures >= 1)
        counters = publisher.counters()
        assert not counters.connected
        assert counters.connects == 0
        assert counters.last_error is not None
        assert "CERTIFICATE_VERIFY_FAILED" in counters.last_error
        assert "CERTIFICATE_VERIFY_FAILED" in caplog.text
    finally:
        publisher.close(0.1)
        publisher.spool.close()
