"""Ingest in-process against real servers: a publishing gateway, services, and what they counted."""

import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from devstack.city import CITY, register
from devstack.servers import InfluxServer, MosquittoServer
from ingest.service import IngestService
from ingest.settings import IngestSettings
from store.connection import InfluxConnection
from store.influx import InfluxStore
from store.sql import DeadLetterStore, DeliveryLedger, Registry, create_engine_for, migrate
from telemetry import topics

if TYPE_CHECKING:
    from sqlalchemy import Engine


class Gateway:
    """A real MQTT client publishing with QoS 1; ``publish`` returns once the broker has it."""

    def __init__(self, broker: MosquittoServer) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"test-gw-{uuid.uuid4().hex[:8]}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        connected = threading.Event()
        self.client.on_connect = lambda *_: connected.set()
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert connected.wait(10), f"no CONNACK from {broker.address}"

    def publish(self, topic: str, payload: bytes) -> None:
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout=10)
        assert info.is_published(), f"the broker did not acknowledge {topic}"

    def telemetry(self, gateway: str, payload: bytes) -> None:
        self.publish(topics.telemetry(gateway), payload)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def gateway() -> Iterator[Callable[[MosquittoServer], Gateway]]:
    """``gateway(broker)``: a connected publisher, disconnected at teardown."""
    started: list[Gateway] = []

    def connect(broker: MosquittoServer) -> Gateway:
        client = Gateway(broker)
        started.append(client)
        return client

    yield connect
    for client in started:
        client.close()


@pytest.fixture
def city_url(tmp_path: Path) -> str:
    """A SQLite registry of its own (apart from ``sqlite_url``, which ``registry`` may use)."""
    url = f"sqlite:///{tmp_path / 'city.sqlite3'}"
    migrate(url)
    return url


@pytest.fixture
def city(city_url: str) -> Iterator[Registry]:
    """The registry ingest uses unless a test passes another: gw-0001 and gw-0002 of the city."""
    engine = create_engine_for(city_url)
    registry = Registry(engine)
    register(registry, CITY[:2])
    yield registry
    engine.dispose()


class IngestRunner:
    """Starts services against the test's servers and stops each one once, at the latest at
    teardown; a test that stops a service itself calls :meth:`stop`."""

    def __init__(self, registry: Registry, sql_url: str) -> None:
        self._registry = registry
        self._sql_url = sql_url
        self._running: list[IngestService] = []
        self._engines: list[Engine] = []

    def start(  # the settings tests vary, all keyword-only
        self,
        broker: MosquittoServer,
        influx: InfluxStore,
        *,
        client_id: str | None = None,
        shared_group: str | None = None,
        batch_max_delay_s: float = 0.05,
        batch_max_readings: int = 5000,
        registry: Registry | None = None,
        gap_timeout_s: float = 600.0,
        ack_min_interval_s: float = 0.05,
    ) -> IngestService:
        """A started service whose subscription the broker has confirmed.

        It gets a client id of its own unless the test passes one (to resume a session), and
        its metrics on a port the OS picks.
        """
        settings = IngestSettings(
            mqtt_host=broker.host,
            mqtt_port=broker.port,
            mqtt_client_id=client_id or f"ingest-test-{uuid.uuid4().hex[:8]}",
            mqtt_shared_group=shared_group,
            influx=InfluxConnection(url=influx.url, database=influx.database),
            sql_url=self._sql_url,
            registry_refresh_s=0.1,
            batch_max_delay_s=batch_max_delay_s,
            batch_max_readings=batch_max_readings,
            metrics_port=0,
            gap_timeout_s=gap_timeout_s,
            ack_min_interval_s=ack_min_interval_s,
        )
        engine = create_engine_for(self._sql_url)  # one per service, as N workers would have
        self._engines.append(engine)
        service = IngestService(
            settings,
            influx=influx,
            registry=registry or self._registry,
            ledger=DeliveryLedger(engine),
            dead_letters=DeadLetterStore(engine),
        )
        self._running.append(service)
        service.start()
        assert service.broker.subscribed.wait(10), "ingest did not subscribe"
        return service

    def stop(self, service: IngestService) -> None:
        """Stop ``service`` (flushing what it holds) unless it is stopped already."""
        if service in self._running:
            self._running.remove(service)
            service.stop()

    def stop_all(self) -> None:
        """Stop every service still running, the last started first."""
        for service in reversed(list(self._running)):
            self.stop(service)
        for engine in self._engines:
            engine.dispose()


@pytest.fixture
def ingest(city: Registry, city_url: str) -> Iterator[IngestRunner]:
    """Starts ingest services in-process; every one is stopped at teardown."""
    runner = IngestRunner(city, city_url)
    yield runner
    runner.stop_all()


@pytest.fixture
def own_influx(tmp_path: Path) -> Iterator[tuple[InfluxServer, InfluxStore]]:
    """An InfluxDB server of the test's own, to stop and start, with a store on it."""
    server = InfluxServer(tmp_path / "influxdb")
    server.start()
    store = InfluxStore(server.url, "lantian", timeout=2.0)
    try:
        yield server, store
    finally:
        store.close()
        server.stop()


@pytest.fixture
def dead_letters(city_url: str) -> Iterator[DeadLetterStore]:
    """The dead letters ingest keeps in the test's SQL store."""
    engine = create_engine_for(city_url)
    yield DeadLetterStore(engine)
    engine.dispose()
