"""The rendered TLS listener: Mosquitto loads the CA, certificate and key and asks for a password.

The certificates are made for the test by the ``openssl`` command line tool: a CA and a server
certificate for 127.0.0.1 signed by it.
"""

import getpass
import queue
import shutil
import ssl
import subprocess
from typing import TYPE_CHECKING

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from devstack.servers import free_port
from store.broker import BrokerAccounts, BrokerConf, TlsListener, write_broker_files

if TYPE_CHECKING:
    from paho.mqtt.reasoncodes import ReasonCode

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl tool"),
]

WAIT_S = 5.0


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture
def certs(tmp_path):
    folder = tmp_path / "certs"
    folder.mkdir()
    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=lantian-test-ca",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=folder,
    )  # fmt: skip
    (folder / "server.ext").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
        "-out", "server.csr", "-subj", "/CN=127.0.0.1",
        cwd=folder,
    )  # fmt: skip
    openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-out", "server.crt", "-extfile", "server.ext",
        cwd=folder,
    )  # fmt: skip
    return folder


def connack(port, password, ca_file):
    """The CONNACK reason code of a TLS connection as gateway gw-0001 with ``password``."""
    reasons: queue.Queue[ReasonCode] = queue.Queue()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    client.tls_set(ca_certs=str(ca_file), tls_version=ssl.PROTOCOL_TLS_CLIENT)
    client.username_pw_set("gw-0001", password)
    client.on_connect = lambda _c, _u, _f, reason, _p: reasons.put(reason)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        return reasons.get(timeout=WAIT_S)
    finally:
        client.disconnect()
        client.loop_stop()


def test_tls_listener_of_the_rendered_conf_serves_authenticated_clients(
    sqlite_engine, mosquitto_factory, certs, tmp_path
):
    password = BrokerAccounts(sqlite_engine).issue_gateway("gw-0001").password
    folder = tmp_path / "broker"
    tls = TlsListener(
        port=free_port(),
        cafile=str(certs / "ca.crt"),
        certfile=str(certs / "server.crt"),
        keyfile=str(certs / "server.key"),
    )
    conf = BrokerConf(
        port=free_port(),
        bind_address="127.0.0.1",
        password_file=str(folder / "passwords"),
        acl_file=str(folder / "acl"),
        persistence_location=f"{folder}/",
        tls=tls,
    )
    written = write_broker_files(sqlite_engine, folder, conf=conf)
    run_conf = folder / "run.conf"
    run_conf.write_text(written.conf_file.read_text() + f"user {getpass.getuser()}\n")
    mosquitto_factory(port=conf.port, config_file=run_conf)

    assert not connack(tls.port, password, certs / "ca.crt").is_failure
    assert connack(tls.port, "not-the-password-at-all", certs / "ca.crt").is_failure
