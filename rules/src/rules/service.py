"""The rules service: telemetry and status in over MQTT, stored data from InfluxDB, results to SQL.

Constructing a :class:`RulesService` opens nothing. :meth:`RulesService.start` loads the rule
files, takes back the episodes recorded as firing (and marks the readings of recent results
as seen) so a restart fires nothing twice, starts watching the registry's gateways for silence,
serves the metrics, and starts the two threads and the broker session.
:meth:`RulesService.stop` stops taking messages, records and acknowledges what has arrived,
lets the window thread finish its step, and disconnects.

One thread owns the :class:`~rules.stream.StreamEngine`. It gathers deliveries into batches
(``batch_max_messages``, or ``batch_max_delay_s`` after the first arrived), evaluates them,
lets time pass (``tick_interval_s``), reloads edited rule files (``reload_interval_s``),
publishing their permits and targets to the SQL store for the API (:mod:`rules.in_force`;
partition 0 outside the stream role; a failed publication is tried again at the next reload
check), and follows the registry (``registry_refresh_s``); then records the batch's results in one
transaction and only then acknowledges its messages. While the SQL store is unavailable the
step is retried with backoff and nothing is acknowledged. A crash in between brings
redeliveries, which the engine recognises as stale and the results store's upsert absorbs. It
also tells the window thread about readings older than the settle time, whose windows may have
been evaluated already.

The second thread (:class:`~rules.periodic.PeriodicRules`) runs the rules over stored data —
window rules, energy intensity, annual targets — every ``window_interval_s``, with the rule
sets the stream thread last loaded.

With ``only="stream"`` the second thread does not run (nor the alert timers); with
``only="windows"`` the stream thread judges nothing: it reloads the rule files, follows the
registry and hands late readings to the second thread, on a session of its own, and the
channel workers do not run (the stream process delivers every notice from the outbox).

Both threads hand what they recorded to the alert book (:class:`~rules.alerting.ServiceAlerts`)
right after recording it; the window thread runs the book's timers every ``alerts_tick_s``. At
start, the results taken back for the stream engine are applied to the book again (it skips
what it has seen), so a crash between recording a batch and handling its alerts loses none.
The channel workers (:class:`~rules.delivery.DeliveryWorkers`) deliver the outbox's notices
while the service runs. The book's desk also copies every result, and the stream thread every
gateway status, to InfluxDB for the dashboards (:mod:`rules.influx_export`).
"""

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from prometheus_client import start_http_server
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from rules.alerts import AlertBook
from rules.broker import Delivery, RulesBroker
from rules.counters import RulesCounters
from rules.delivery import DeliveryWorkers
from rules.files import RuleFiles, RuleSet
from rules.in_force import Publisher
from rules.influx_export import ExportingAlerts, InfluxExport, SiteLocations
from rules.model import STREAM_KINDS
from rules.periodic import PeriodicRules
from rules.settings import RulesSettings
from rules.stream import StreamEngine
from store.influx import InfluxStore
from store.sql import (
    AlertStore,
    Placement,
    PlacementCache,
    ProductionStore,
    Registry,
    RuleResult,
    RuleResults,
    RulesInForce,
    UnknownGatewayError,
)
from telemetry import (
    GatewayState,
    PayloadError,
    TopicError,
    TopicKind,
    decode_batch_partial,
    decode_status,
    parse_topic,
)

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

log = logging.getLogger(__name__)

_BACKOFF_START_S = 0.5
_BACKOFF_MAX_S = 30.0
_PAGE = 10_000
_T = TypeVar("_T")


class _StoppedError(Exception):
    """Stopped while a step was still being retried: nothing more is acknowledged."""


class _UnusableMessageError(Exception):
    """A message the engine cannot use; ``reason`` is what the counter is labelled with."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RulesService:
    """Stream rules over telemetry, acked once recorded; rules over stored data on a thread.

    ``sql``: the SQL store's engine, where alerts and their outbox are kept and the channel
    workers claim deliveries. ``influx``: where stored data is read; by default the store of
    ``settings.influx``, which the service then closes when it stops.
    """

    def __init__(  # noqa: PLR0913 - the stores it reads and writes, keyword-only
        self,
        settings: RulesSettings,
        *,
        sql: Engine,
        results: RuleResults,
        registry: Registry,
        production: ProductionStore,
        influx: InfluxStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.counters = RulesCounters()
        self.rule_files = RuleFiles(settings.rule_files)
        # The rule sets in force, replaced (never changed) by the stream thread on a reload and
        # read by the window thread.
        self._rule_sets: tuple[RuleSet, ...] = ()
        self.engine = StreamEngine()
        self._results = results
        self._registry = registry
        self._placements = PlacementCache(registry, refresh_s=settings.registry_refresh_s)
        self._clock = clock
        self._deliveries: queue.Queue[Delivery] = queue.Queue()
        self.broker = RulesBroker(
            # Late readings are all the windows role wants: nothing waits for it while it is down.
            settings.model_copy(update={"mqtt_session_expiry_s": 0})
            if settings.only == "windows"
            else settings,
            self._deliveries,
            on_subscribed=lambda subscribed: self.counters.subscribed.set(int(subscribed)),
        )
        self._due: dict[str, float] = {}
        self._stream = settings.only != "windows"  # stream rules judged here
        self._stored = settings.only != "stream"  # rules over stored data judged here
        self._own_influx = influx is None
        self._influx = settings.influx.open() if influx is None else influx
        self.export = InfluxExport(
            self._influx, self.counters.registry, locate=SiteLocations(registry)
        )
        self.delivery = DeliveryWorkers(
            sql, settings.delivery_settings(), clock=lambda: datetime.fromtimestamp(clock(), UTC)
        )
        self.alerts = ExportingAlerts(
            AlertBook(AlertStore(sql), settings.alerts),
            self.counters,
            export=self.export,
            clock=clock,
            # The timers are city-wide, as energy and targets.
            timers=settings.partition == 0 and settings.only != "stream",
            on_notices=self.delivery.wake,  # a notice waits for no poll of the outbox
        )
        self.periodic = PeriodicRules(
            settings,
            influx=self._influx,
            results=results,
            registry=registry,
            production=production,
            rule_sets=lambda: self._rule_sets,
            counters=self.counters,
            alerts=self.alerts,
            clock=clock,
        )
        # The permits and targets in force go to the SQL store for the API, from one process.
        self._publisher = (
            Publisher(RulesInForce(sql), clock=lambda: datetime.fromtimestamp(clock(), UTC))
            if settings.partition == 0 and settings.only != "stream"
            else None
        )
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rules-stream", daemon=True)
        self._metrics_server: WSGIServer | None = None
        self.metrics_port: int | None = None
        self.restored = 0  # open episodes taken back at start

    def start(self) -> None:
        """Load rules, restore episodes and catch up alerts, then start every thread."""
        now_ms = self._now_ms()
        self._reload(now_ms)
        self.alerts.apply(self._restore(now_ms))
        self._follow_registry(now_ms)
        if self.settings.metrics_port is not None:
            self._metrics_server, _ = start_http_server(
                self.settings.metrics_port,
                addr=self.settings.metrics_host,
                registry=self.counters.registry,
            )
            self.metrics_port = self._metrics_server.server_port
            log.info(
                "metrics on http://%s:%s/metrics", self.settings.metrics_host, self.metrics_port
            )
        start = time.monotonic()
        self._due = {
            "tick": start + self.settings.tick_interval_s,
            "reload": start + self.settings.reload_interval_s,
            "registry": start + self.settings.registry_refresh_s,
        }
        if self._stream:
            # One process of a split delivers: on SQLite two would claim the same notices.
            self.delivery.start()
        self.export.start()
        self._thread.start()
        if self._stored:
            self.periodic.start()
        self.broker.start()

    def stop(self) -> None:
        """Stop consuming, record and acknowledge what has arrived, then disconnect."""
        self._stopping.set()
        self.periodic.stop()
        self._thread.join()
        self.broker.stop()
        self.delivery.stop()  # what it has not sent waits in the outbox
        self.export.stop()
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
            self._metrics_server.server_close()
        if self._own_influx:
            self._influx.close()

    def _run(self) -> None:
        while not (self._stopping.is_set() and self._deliveries.empty()):
            batch = self._gather()
            try:
                found = [result for delivery in batch for result in self._evaluate(delivery)]
                found += self._housekeeping()
                self.counters.count_engine(self.engine.counts)
                self._record(found)
            except _StoppedError:
                log.warning("stopped before results were recorded; the broker keeps the messages")
                return
            for delivery in batch:
                self.broker.ack(delivery)

    def _gather(self) -> list[Delivery]:
        batch: list[Delivery] = []
        deadline: float | None = None
        while len(batch) < self.settings.batch_max_messages:
            now = time.monotonic()
            if deadline is None and now >= min(self._due.values()):
                break  # periodic work is due and nothing waits to be batched
            until = deadline if deadline is not None else min(self._due.values())
            try:
                delivery = self._deliveries.get(timeout=min(0.1, max(0.0, until - now)))
            except queue.Empty:
                if self._stopping.is_set() or (
                    deadline is not None and time.monotonic() >= deadline
                ):
                    break
                continue
            batch.append(delivery)
            if deadline is None:
                # The batch closes batch_max_delay_s after its first message arrived: one that
                # waited in the queue while the last batch was evaluated has waited already.
                waited = max(0.0, time.time() - delivery.received_ms / 1000)
                delay = max(0.0, self.settings.batch_max_delay_s - waited)
                deadline = time.monotonic() + delay
        return batch

    def _evaluate(self, delivery: Delivery) -> list[RuleResult]:
        try:
            return self._use(delivery)
        except TopicError:
            reason = "topic"
        except PayloadError as exc:
            reason = exc.reason
        except _UnusableMessageError as exc:
            reason = exc.reason
        self.counters.messages_rejected.labels(reason).inc()
        log.debug("message on %s not used: %s", delivery.topic, reason)
        return []

    def _use(self, delivery: Delivery) -> list[RuleResult]:
        topic = parse_topic(delivery.topic)
        self.counters.messages.labels(topic.kind.value).inc()
        if not self.broker.owns(topic.owner):  # a subscription left from another partitioning
            raise _UnusableMessageError("other_partition")
        if topic.kind is TopicKind.TELEMETRY:
            batch = decode_batch_partial(delivery.payload)
            placement = self._placement(topic.owner, batch.gateway)
            if self._stored:
                self.periodic.note_late(batch.readings, delivery.received_ms)
            return self.engine.on_readings(placement, batch.readings) if self._stream else []
        if topic.kind is TopicKind.STATUS and not self._stream:
            return []
        if topic.kind is TopicKind.STATUS:
            status = decode_status(delivery.payload)
            placement = self._placement(topic.owner, status.gateway)
            # The last will carries no time: it is written long before it is sent.
            ts_ms = status.ts if status.ts is not None else delivery.received_ms
            online = status.state is GatewayState.ONLINE
            self.export.status(placement, status, ts_ms)
            return self.engine.on_status(placement, online=online, ts_ms=ts_ms)
        raise _UnusableMessageError("topic")

    def _placement(self, owner: str, gateway: str) -> Placement:
        if gateway != owner:
            raise _UnusableMessageError("gateway_mismatch")
        try:
            return self._retry("look up the gateway", lambda: self._placements.placement(owner))
        except UnknownGatewayError:
            raise _UnusableMessageError("unknown_gateway") from None

    def _housekeeping(self) -> list[RuleResult]:
        now = time.monotonic()
        found: list[RuleResult] = []
        if now >= self._due["reload"]:
            self._due["reload"] = now + self.settings.reload_interval_s
            found += self._reload(self._now_ms())
        if now >= self._due["registry"]:
            self._due["registry"] = now + self.settings.registry_refresh_s
            self._follow_registry(self._now_ms())
        if now >= self._due["tick"]:
            self._due["tick"] = now + self.settings.tick_interval_s
            found += self.engine.tick(self._now_ms())
        return found

    def _reload(self, now_ms: int) -> list[RuleResult]:
        """Load edited rule files; a broken one keeps its last good version and is reported."""
        changed, failed = self.rule_files.reload()
        self.counters.reload_failures.inc(len(failed))
        if not changed:
            self._publish(None)  # a publication that failed is tried again
            return []
        self.counters.reloads.inc(len(changed))
        self._rule_sets = tuple(self.rule_files)
        self._publish(self._rule_sets)
        ended = self.engine.replace_rules(self._rule_sets if self._stream else (), now_ms=now_ms)
        for conflict in self.engine.conflicts:
            log.error("%s", conflict)
        self.counters.rules.set(len(self.engine.rules))
        log.info("stream rules in force: %s", ", ".join(sorted(self.engine.rules)) or "none")
        return ended

    def _publish(self, rule_sets: tuple[RuleSet, ...] | None) -> None:
        """Publish the permits and targets in force (None: retry a failed publication only)."""
        if self._publisher is not None:
            self._publisher.publish(rule_sets)

    def _restore(self, now_ms: int) -> list[RuleResult]:
        """Take back open episodes, and the readings recent results saw, of this partition.

        Returns the results to apply to the alert book again: those restored, and in
        partition 0 the recent results of the rules over stored data too.
        """
        since = datetime.fromtimestamp(now_ms / 1000, UTC)
        since -= timedelta(seconds=self.settings.restore_horizon_s)
        unique = {r.key: r for r in (*self._all(outcome="firing"), *self._all(since=since))}
        recorded = [
            result
            for result in unique.values()
            if result.kind in STREAM_KINDS
            and self._stream
            and (result.gateway is None or self.broker.owns(result.gateway))
        ]
        self.restored = self.engine.restore(recorded)
        self.counters.open_episodes.set(self.engine.open_episodes())
        log.info(
            "restored %d open episode(s) from %d recorded result(s)", self.restored, len(recorded)
        )
        if self.settings.partition != 0 or not self._stored:
            return recorded
        return recorded + [r for r in unique.values() if r.kind not in STREAM_KINDS]

    def _all(
        self, *, outcome: str | None = None, since: datetime | None = None
    ) -> Iterator[RuleResult]:
        """Every recorded result so filtered, read a page at a time."""
        seen: set[tuple[str, str, datetime]] = set()
        while True:
            page = self._retry(
                "read recorded results",
                partial(self._results.results, outcome=outcome, since=since, limit=_PAGE),
            )
            fresh = [result for result in page if result.key not in seen]
            yield from fresh
            if len(page) < _PAGE or not fresh:
                return
            seen.update(result.key for result in fresh)
            since = page[-1].window_start

    def _follow_registry(self, now_ms: int) -> None:
        placements = self._retry("read the registry", self._registry.placements)
        mine = [p for gateway, p in placements.items() if self.broker.owns(gateway)]
        for placement in mine:
            self.engine.watch(placement, now_ms)
        self.broker.follow(p.gateway for p in mine)

    def _record(self, found: list[RuleResult]) -> None:
        if not found:
            return
        now = datetime.fromtimestamp(self._clock(), UTC)
        recorded = self._retry("record results", lambda: self._results.record(found, now=now))
        self.alerts.handle(recorded)
        self.counters.results_recorded.inc(len(recorded))
        for item in recorded:
            if item.changed:
                result = item.result
                self.counters.results_changed.labels(result.outcome).inc()
                log.info(
                    "%s %s: %s since %s (rule version %s)",
                    result.rule,
                    result.subject,
                    result.outcome,
                    result.window_start.isoformat(),
                    result.rule_version,
                )
        self.counters.open_episodes.set(self.engine.open_episodes())

    def _retry(self, what: str, step: Callable[[], _T]) -> _T:
        """Run ``step`` until the SQL store answers; raises _StoppedError when stopped first."""
        backoff = _BACKOFF_START_S
        while True:
            try:
                return step()
            except SQLAlchemyError as exc:
                if self._stopping.is_set():
                    raise _StoppedError(what) from exc
                self.counters.record_retries.inc()
                log.warning("could not %s, retrying in %.1f s: %s", what, backoff, exc)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX_S)

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)
