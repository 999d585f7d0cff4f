"""A small registry for the broker's accounts, and a real Mosquitto run with the generated files.

- ``engine`` / ``sqlite_engine``: two enterprises, each with one gateway, on a migrated store.
- ``secured``: a broker started with the rendered ``mosquitto.conf`` (plus a ``user`` line, so
  that a test run as root does not switch to the ``mosquitto`` user, who cannot read the test's
  folder) on a free port, with password and ACL files rendered from ``sqlite_engine``, and the
  passwords of every account issued for it.
- ``connect``: MQTT 5 clients (:class:`Client`) on that broker, closed after the test.
- :func:`start_secured_broker`: such a broker for any store (the API's tests use it too).
"""

import getpass
import queue
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from devstack.servers import MosquittoServer, free_port
from store.broker import BrokerAccounts, BrokerConf, write_broker_files
from store.sql import Registry, create_engine_for

if TYPE_CHECKING:
    from paho.mqtt.reasoncodes import ReasonCode

# Two gateways at two enterprises: the ACL must keep each to its own topics.
GATEWAYS = {"gw-0001": "e-shiye", "gw-0002": "e-huagong"}


def register_city(registry: Registry) -> None:
    registry.add_county("dongchangfu", name="Dongchangfu District", name_zh="东昌府区")
    for gateway, enterprise in GATEWAYS.items():
        registry.add_enterprise(enterprise, name=enterprise.title(), county_id="dongchangfu")
        registry.add_site(f"s-{gateway}", name="stack", enterprise_id=enterprise)
        registry.add_gateway(gateway, site_id=f"s-{gateway}")


@pytest.fixture
def engine(sql_url: str):
    """An engine on a migrated database (SQLite, then PostgreSQL) holding the small city."""
    engine = create_engine_for(sql_url)
    register_city(Registry(engine))
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url: str):
    """The small city on SQLite alone, for tests whose subject is not the database."""
    engine = create_engine_for(sqlite_url)
    register_city(Registry(engine))
    yield engine
    engine.dispose()


WAIT_S = 5.0


class Client:
    """A synchronous MQTT 5 client for the checks: connect, subscribe, publish, receive."""

    def __init__(self, broker: MosquittoServer, username=None, password=None):
        self.connack: queue.Queue[ReasonCode] = queue.Queue()
        self.subacks: queue.Queue[list[ReasonCode]] = queue.Queue()
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.disconnects: queue.Queue[ReasonCode] = queue.Queue()
        self._paho = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
        if username is not None:
            self._paho.username_pw_set(username, password)
        self._paho.on_connect = lambda _c, _u, _f, reason, _p: self.connack.put(reason)
        self._paho.on_subscribe = lambda _c, _u, _mid, reasons, _p: self.subacks.put(reasons)
        self._paho.on_disconnect = lambda _c, _u, _f, reason, _p: self.disconnects.put(reason)
        self._paho.on_message = lambda _c, _u, m: self.messages.put((m.topic, bytes(m.payload)))
        self._paho.connect(broker.host, broker.port)
        self._paho.loop_start()
        self.reason = self.connack.get(timeout=WAIT_S)

    @property
    def accepted(self):
        return not self.reason.is_failure

    def subscribe(self, *filters):
        """Subscribe at QoS 1; the SUBACK reason codes, one per filter."""
        self._paho.subscribe([(f, 1) for f in filters])
        return [reason.value for reason in self.subacks.get(timeout=WAIT_S)]

    def publish(self, topic, payload, *, retain=False):
        self._paho.publish(topic, payload, qos=1, retain=retain).wait_for_publish(WAIT_S)

    def receive_until(self, marker):
        """Every message received up to and including the one whose payload is ``marker``."""
        received: list[tuple[str, bytes]] = []
        while not received or received[-1][1] != marker:
            received.append(self.messages.get(timeout=WAIT_S))
        return received

    def close(self):
        self._paho.disconnect()
        self._paho.loop_stop()


@dataclass
class SecuredBroker:
    broker: MosquittoServer
    passwords: dict[str, str]
    accounts: BrokerAccounts
    regenerate: Callable[[], None]  # render the files again and SIGHUP the broker


def start_secured_broker(engine, mosquitto_factory, folder):
    """A Mosquitto on a free port running the files rendered from ``engine`` into ``folder``.

    Returns the broker, the :class:`BrokerConf` the files were rendered with, and the pid file
    that ``write_broker_files(..., reload_pid=...)`` signals.
    """
    conf = BrokerConf(
        port=free_port(),
        bind_address="127.0.0.1",
        password_file=str(folder / "passwords"),
        acl_file=str(folder / "acl"),
        persistence_location=f"{folder}/",
        tls=None,
    )
    written = write_broker_files(engine, folder, conf=conf)
    run_conf = folder / "run.conf"
    run_conf.write_text(written.conf_file.read_text() + f"user {getpass.getuser()}\n")
    broker = mosquitto_factory(port=conf.port, config_file=run_conf)
    pid_file = folder / "mosquitto.pid"
    pid_file.write_text(f"{broker.pid}\n")
    return broker, conf, pid_file


@pytest.fixture
def secured(sqlite_engine, mosquitto_factory, tmp_path):
    accounts = BrokerAccounts(sqlite_engine)
    issued = [
        accounts.issue_gateway("gw-0001"),
        accounts.issue_gateway("gw-0002"),
        accounts.issue_enterprise("e-shiye"),
        accounts.issue_enterprise("e-huagong"),
        accounts.issue_service("ingest"),
        accounts.issue_service("rules"),
        accounts.issue_service("monitor"),
    ]
    folder = tmp_path / "broker"
    broker, conf, pid_file = start_secured_broker(sqlite_engine, mosquitto_factory, folder)

    def regenerate():
        write_broker_files(sqlite_engine, folder, reload_pid=pid_file, conf=conf)

    return SecuredBroker(broker, {c.username: c.password for c in issued}, accounts, regenerate)


@pytest.fixture
def connect(secured):
    clients = []

    def open_client(username=None, password=None):
        if username is not None and password is None:
            password = secured.passwords[username]
        client = Client(secured.broker, username, password)
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        client.close()
