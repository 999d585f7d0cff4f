"""Helpers for the rules tests: rule files from text, placements of the simulated city, readings;
and for the service, a publishing gateway, a registered city in SQLite and a service runner."""

import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from sqlalchemy import Engine

from devstack.city import CITY, register
from devstack.servers import MosquittoServer
from rules.files import RuleSet, parse_rule_file
from rules.service import RulesService
from rules.settings import RulesSettings
from rules.stream import StreamEngine
from store.sql import (
    Placement,
    ProductionStore,
    Registry,
    RuleResult,
    RuleResults,
    create_engine_for,
)
from telemetry import GatewayState, GatewayStatus, Quality, Reading, TelemetryBatch, encode, topics
from telemetry.yaml_source import parse

_T = TypeVar("_T")

T0_UTC = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
T0 = int(T0_UTC.timestamp() * 1000)
MINUTE = 60_000

# Placements as the registry gives them for devstack.city.CITY.
HENGTONG = Placement(
    "gw-0001", "site-hengtong-east", "ent-hengtong-al", "xinfa-materials", "chiping"
)
QINGYUAN = Placement(
    "gw-0002", "site-qingyuan-stack", "ent-qingyuan-cu", "xiangguang-eco", "yanggu"
)
SHUICHENG = Placement("gw-0006", "site-shuicheng-yard", "ent-shuicheng-print", None, "dongchangfu")


def rule_set(text: str, path: str = "rules.yaml") -> RuleSet:
    """A validated rule file from its text."""
    return parse_rule_file(Path(path), text.encode(), parse(text))


def engine_for(*texts: str) -> StreamEngine:
    """An engine with the rule files ``texts`` (``rules-0.yaml``, ``rules-1.yaml``, ...)."""
    return StreamEngine([rule_set(text, f"rules-{n}.yaml") for n, text in enumerate(texts)])


def at(minute: float) -> int:
    """Epoch ms ``minute`` minutes after T0."""
    return T0 + round(minute * MINUTE)


def utc(minute: float) -> datetime:
    """Aware UTC datetime ``minute`` minutes after T0."""
    return T0_UTC + timedelta(milliseconds=round(minute * MINUTE))


def reading(
    value: float,
    minute: float = 0,
    *,
    metric: str = "pm25",
    device: str = "pm-1",
    quality: Quality = Quality.NORMAL,
    **fields: Any,
) -> Reading:
    """A reading of ``metric`` taken ``minute`` minutes after T0."""
    return Reading(
        device=device, metric=metric, value=value, ts=at(minute), quality=quality, **fields
    )


def feed(
    engine: StreamEngine,
    values: Sequence[float],
    *,
    placement: Placement = HENGTONG,
    start: float = 0,
    step: float = 1,
    **fields: Any,
) -> list[RuleResult]:
    """Feed one reading per value, ``step`` minutes apart from ``start``; all results."""
    return engine.on_readings(
        placement,
        [reading(value, start + n * step, **fields) for n, value in enumerate(values)],
    )


def outcomes(results: list[RuleResult]) -> list[tuple[str, str, datetime, datetime | None]]:
    """(subject, outcome, window start, window end) of each result: the shape of episodes."""
    return [(r.subject, r.outcome, r.window_start, r.window_end) for r in results]


def evidence(result: RuleResult) -> Any:
    """A result's evidence, to be looked into without a cast at every step."""
    return result.evidence


# --- the service against a real broker and SQL store -----------------------------------------


class Publisher:
    """A real MQTT client publishing as the gateways do; ``publish`` returns once the broker has
    the message."""

    def __init__(self, broker: MosquittoServer) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"test-publisher-{uuid.uuid4().hex[:8]}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        connected = threading.Event()
        self.client.on_connect = lambda *_: connected.set()
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert connected.wait(10), f"no CONNACK from {broker.address}"
        self._seq = 0

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(timeout=10)
        assert info.is_published(), f"the broker did not acknowledge {topic}"

    def readings(self, gateway: str, readings: Sequence[Reading]) -> None:
        """One telemetry batch of ``readings`` from ``gateway``."""
        self._seq += 1
        batch = TelemetryBatch(gateway=gateway, seq=self._seq, readings=list(readings))
        self.publish(topics.telemetry(gateway), encode(batch))

    def status(self, gateway: str, state: GatewayState, ts_ms: int | None) -> None:
        """A retained status message, as a birth, goodbye or last will."""
        status = GatewayStatus(gateway=gateway, state=state, ts=ts_ms)
        self.publish(topics.status(gateway), encode(status), retain=True)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def publisher(mosquitto: MosquittoServer) -> Iterator[Publisher]:
    """A connected publisher on the test's broker."""
    client = Publisher(mosquitto)
    yield client
    client.close()


@pytest.fixture
def city_sql(sqlite_url: str) -> Iterator[Engine]:
    """A migrated SQLite store with the simulated city's first four sites registered."""
    engine = create_engine_for(sqlite_url)
    register(Registry(engine), CITY[:4])
    yield engine
    engine.dispose()


class RulesRunner:
    """Starts rules services on the test's broker and store; stops each once, at teardown last."""

    def __init__(self, broker: MosquittoServer, engine: Engine, url: str) -> None:
        self._broker = broker
        self._engine = engine
        self._url = url
        self._running: list[RulesService] = []

    def start(self, rule_files: Sequence[Path], **settings: Any) -> RulesService:
        """A started service whose subscriptions the broker has confirmed."""
        values: dict[str, Any] = {
            "mqtt_host": self._broker.host,
            "mqtt_port": self._broker.port,
            "mqtt_client_id": f"rules-test-{uuid.uuid4().hex[:8]}",
            "sql_url": self._url,
            "metrics_port": 0,
            "tick_interval_s": 0.1,
            "reload_interval_s": 0.1,
            "registry_refresh_s": 0.1,
            "batch_max_delay_s": 0.05,
        } | settings
        service = RulesService(
            RulesSettings(rule_files=list(rule_files), **values),
            sql=self._engine,
            results=RuleResults(self._engine),
            registry=Registry(self._engine),
            production=ProductionStore(self._engine),
        )
        self._running.append(service)
        service.start()
        assert service.broker.subscribed.wait(10), "the rules service did not subscribe"
        return service

    def stop(self, service: RulesService) -> None:
        if service in self._running:
            self._running.remove(service)
            service.stop()

    def stop_all(self) -> None:
        for service in reversed(list(self._running)):
            self.stop(service)


@pytest.fixture
def rules_service(mosquitto: MosquittoServer, city_sql: Engine, sqlite_url: str):
    """Starts rules services in-process; every one is stopped at teardown."""
    runner = RulesRunner(mosquitto, city_sql, sqlite_url)
    yield runner
    runner.stop_all()


def wait_for(predicate: Callable[[], _T], *, timeout: float = 10.0) -> _T:
    """Poll ``predicate`` until it returns something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = predicate()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout} s: {predicate}")
        time.sleep(0.05)
