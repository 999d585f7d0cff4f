"""Stream rules at a city's pace: latency from a reading's arrival to its decision, and beyond.

A real Mosquitto, the rules service in this process (:class:`TimedRulesService`: the service
as shipped, noting times at three points of its stream thread) with its default settings and
a SQLite store holding the city (:mod:`bench.rules_city`), and the gateways in a process of
their own (:mod:`bench.rules_publisher`), publishing pre-encoded batches on time. Per message:

- **received**: when paho handed it to the service (``Delivery.received_ms``, to the ms);
- **decided**: when the engine had evaluated its readings (results produced or not);
- **recorded**: when the batch it was in had its results committed to the SQL store, just
  before the messages are acknowledged;
- **published**: when the publisher handed it to its MQTT connection (its own wall clock,
  the same machine's).

Receipt → decision is the engine stage with its batching (a message waits up to
``batch_max_delay_s`` for its batch to fill before the batch is evaluated); receipt → recorded
adds the SQL commit; publish → recorded is end to end through the broker. Messages due in the
first ``warmup`` seconds are left out of the figures.

With ``during`` and a ``tail``, publishing goes on for ``tail`` seconds after the measured
window, and as the tail begins the benchmark runs ``during`` in this process, beside the
service's stream thread — a window run over a city's hour
(:func:`bench.rules_windows.first_run`), as the service's window thread runs it when an hour
closes. The tail's latencies are reported apart: both threads share the interpreter (its
GIL), the cores and the SQL store.
"""

import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.ingest_latency import percentile
from bench.ingest_procs import CpuWatch, pid_with
from bench.rules_city import READINGS_PER_MESSAGE, messages, rule_file
from bench.rules_publisher import read_times, spawn, write_messages
from devstack.processes import wait_until
from devstack.servers import MosquittoServer
from rules.broker import Delivery
from rules.service import RulesService
from rules.settings import RulesSettings
from store.sql import ProductionStore, Registry, RuleResult, RuleResults, create_engine_for

_ENCODE_S_PER_MESSAGE = 1e-4  # generous: the publisher starts once every batch is encoded


class TimedRulesService(RulesService):
    """The rules service, noting when each known message was received, decided and recorded."""

    def __init__(self, settings: RulesSettings, index: Mapping[bytes, int], sql_url: str) -> None:
        self._sql = create_engine_for(sql_url)
        super().__init__(
            settings,
            sql=self._sql,
            results=RuleResults(self._sql),
            registry=Registry(self._sql),
            production=ProductionStore(self._sql),
        )
        self.index = index
        self.received = [math.nan] * len(index)
        self.decided = [math.nan] * len(index)
        self.recorded = [math.nan] * len(index)
        self.with_results: set[int] = set()
        self._unrecorded: list[int] = []

    def close(self) -> None:
        """Stop the service and release the SQL store."""
        self.stop()
        self._sql.dispose()

    def _evaluate(self, delivery: Delivery) -> list[RuleResult]:
        found = super()._evaluate(delivery)
        i = self.index.get(delivery.payload)
        if i is not None:
            self.decided[i] = time.time()
            self.received[i] = delivery.received_ms / 1000
            self._unrecorded.append(i)
            if found:
                self.with_results.add(i)
        return found

    def _record(self, found: list[RuleResult]) -> None:
        super()._record(found)
        now = time.time()
        for i in self._unrecorded:
            self.recorded[i] = now
        self._unrecorded.clear()


@dataclass(frozen=True, slots=True)
class Spread:
    """Percentiles of a latency, in seconds."""

    p50: float
    p90: float
    p95: float
    p99: float
    worst: float
    count: int

    @classmethod
    def of(cls, values: list[float]) -> "Spread | None":
        """The spread of ``values``; None when there are none."""
        if not values:
            return None
        return cls(
            percentile(values, 0.5),
            percentile(values, 0.9),
            percentile(values, 0.95),
            percentile(values, 0.99),
            max(values),
            len(values),
        )

    @staticmethod
    def text_of(spread: "Spread | None") -> str:
        """``p50 0.104 s, p90 ..., p99 ..., max ... (n)``, or ``none``."""
        return "none" if spread is None else spread.text()

    def text(self) -> str:
        """``p50 0.104 s, p90 ..., p95 ..., p99 ..., max ... (n)``."""
        return (
            f"p50 {self.p50:.3f} s, p90 {self.p90:.3f} s, p95 {self.p95:.3f} s, "
            f"p99 {self.p99:.3f} s, max {self.worst:.3f} s ({self.count:,})"
        )


@dataclass(frozen=True, slots=True)
class StreamRun:
    """What one run of the stream phase measured (latencies of the steady part)."""

    decided: Spread | None  # received → decided
    recorded: Spread | None  # received → recorded
    end_to_end: Spread | None  # published → recorded
    with_results: Spread | None  # published → recorded, messages whose readings had results
    publisher_lag: Spread | None  # published minus due: how well the publisher kept time
    tail: Spread | None  # published → recorded, the part that began with ``during``
    during_s: float | None  # how long ``during`` ran
    missing: int  # messages never recorded
    results: int  # stream results recorded, the whole run
    cpu: dict[str, float]  # cores, over the steady part


@dataclass
class _Timed:
    """The times of every message of one run, and when ``during`` ran."""

    service: TimedRulesService
    published: list[float]
    span: tuple[float, float] | None
    cpu: dict[str, float]


def run_stream(  # noqa: PLR0913 - the sizes of the run, keyword-only
    workdir: Path,
    *,
    sql_url: str,
    rules: int,
    sites: int,
    rate: float,
    seconds: float,
    warmup: float,
    overrides: Mapping[str, str] | None = None,
    during: Callable[[], object] | None = None,
    tail: float = 0.0,
) -> StreamRun:
    """Publish ``rate`` readings a second for ``warmup + seconds + tail``; time every message.

    ``overrides``: rules service settings other than the defaults (``batch_max_delay_s``, ...).
    ``during`` runs in a thread of this process when the ``tail`` begins.
    """
    rule_path = workdir / "rules.yaml"
    rule_path.write_text(rule_file(rules, sites))
    total = warmup + seconds + tail
    start_s = time.time() + 4 + round(rate / READINGS_PER_MESSAGE * total) * _ENCODE_S_PER_MESSAGE
    encoded = list(messages(sites, rate, total, start_s))
    write_messages(workdir / "messages.bin", encoded)
    with MosquittoServer(workdir / "mosquitto") as broker:
        values: dict[str, Any] = {
            "rule_files": [rule_path],
            "mqtt_host": broker.host,
            "mqtt_port": broker.port,
            "mqtt_client_id": "bench-rules",
            "sql_url": sql_url,
            "metrics_port": None,
        }
        settings = RulesSettings(**(values | dict(overrides or {})))
        index = {message.payload: i for i, message in enumerate(encoded)}
        service = TimedRulesService(settings, index, sql_url)
        try:
            timed = _publish(workdir, broker, service, (start_s + warmup, seconds), during)
        finally:
            service.close()
    steady_from, tail_from = start_s + warmup, start_s + warmup + seconds
    measured = [i for i, m in enumerate(encoded) if m.due_s >= steady_from]
    done = [i for i in measured if not math.isnan(service.recorded[i])]
    steady = [i for i in done if encoded[i].due_s < tail_from]
    published = timed.published
    return StreamRun(
        decided=Spread.of([service.decided[i] - service.received[i] for i in steady]),
        recorded=Spread.of([service.recorded[i] - service.received[i] for i in steady]),
        end_to_end=Spread.of([service.recorded[i] - published[i] for i in steady]),
        with_results=Spread.of(
            [service.recorded[i] - published[i] for i in steady if i in service.with_results]
        ),
        publisher_lag=Spread.of([published[i] - encoded[i].due_s for i in measured]),
        tail=Spread.of(
            [service.recorded[i] - published[i] for i in done if encoded[i].due_s >= tail_from]
        ),
        during_s=None if timed.span is None else timed.span[1] - timed.span[0],
        missing=len(measured) - len(done),
        results=int(
            service.counters.registry.get_sample_value("lantian_rules_results_recorded_total") or 0
        ),
        cpu=timed.cpu,
    )


def _publish(
    workdir: Path,
    broker: MosquittoServer,
    service: TimedRulesService,
    steady: tuple[float, float],
    during: Callable[[], object] | None,
) -> _Timed:
    """Start the service and the publisher; run ``during`` after the steady part; wait."""
    service.start()
    if not service.broker.subscribed.wait(30):
        raise RuntimeError("the rules service did not subscribe")
    times_path = workdir / "published.bin"
    publisher = spawn(broker.host, broker.port, workdir / "messages.bin", times_path)
    steady_from, seconds = steady
    cpu = CpuWatch()
    time.sleep(max(0.0, steady_from - time.time()))
    cpu.mark("rules", os.getpid())
    cpu.mark("mosquitto", pid_with(str(broker.config_path)))
    cpu.mark("publisher", publisher.pid)
    time.sleep(max(0.0, steady_from + seconds - time.time()))
    shares = cpu.shares()
    span = None
    if during is not None:
        started = time.time()
        during()
        span = (started, time.time())
    if publisher.wait(180) != 0:
        raise RuntimeError("the publisher failed")
    wait_until(lambda: not math.isnan(service.recorded[-1]), timeout_s=60)
    time.sleep(1.0)  # the last batches
    return _Timed(service, read_times(times_path), span, shares)
