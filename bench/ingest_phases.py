"""The phases of the ingest benchmark (:mod:`bench.ingest`): drains, live latency, the ceiling.

Each phase gets a fresh Mosquitto (persistence on), a fresh copy of the SQL store with the city
registered, a database of its own in the run's one InfluxDB, and its ingest workers as console
scripts (:meth:`devstack.services.Platform.ingest`). What a phase stored is checked against what
was published: InfluxDB's count, ingest's own written, duplicate and rejected counters.
"""

import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.ingest_latency import ProbeWatcher, probe_messages, publish_paced
from bench.ingest_load import (
    METRICS,
    Message,
    Publishers,
)
from bench.ingest_procs import (
    BATCHES,
    DUPLICATES,
    LATE,
    READINGS_REJECTED,
    REJECTED,
    SUBSCRIBED,
    WRITTEN,
    CpuWatch,
    MetricsReader,
    pid_with,
    settle,
    summed,
)
from devstack.processes import ChildProcess, wait_until
from devstack.servers import InfluxServer, MosquittoServer, free_port
from devstack.services import Platform
from store.influx import InfluxStore
from store.sql import Placement

GROUP = "ingest"  # the shared subscription group of two or more workers
STALL_S = 60.0  # a phase without progress this long has failed


class IngestStartError(RuntimeError):
    """Ingest did not come up or did not subscribe; carries the tail of its log."""


@dataclass
class Outcome:
    """What one ingest phase stored, and what was wrong with it."""

    readings: int
    stored: int  # counted in InfluxDB
    written: int  # ingest's own count of readings InfluxDB accepted
    duplicates: int  # batches ingest recognised as stored already
    rejected: int  # messages and readings ingest refused
    late: int  # readings ingest took for a replayed backlog (none expected: times are recent)
    batches: int  # InfluxDB writes of ingest's batcher
    cpu: dict[str, float] = field(default_factory=dict)

    def problems(self) -> list[str]:
        """Loss, duplicates and rejections, in words; empty when the phase is clean."""
        found = []
        if self.stored != self.readings:
            found.append(f"InfluxDB counts {self.stored:,} of {self.readings:,} readings")
        if self.written != self.readings:
            found.append(f"ingest wrote {self.written:,} readings for {self.readings:,}")
        if self.duplicates:
            found.append(f"{self.duplicates:,} duplicate batches")
        if self.rejected:
            found.append(f"{self.rejected:,} messages or readings rejected")
        return found


@dataclass
class Drain:
    """A backlog drained by ingest."""

    label: str
    workers: int
    messages: int
    seconds: float
    startup_s: float
    outcome: Outcome

    @property
    def readings_per_s(self) -> float:
        """Readings written per second."""
        return self.outcome.readings / self.seconds

    @property
    def messages_per_s(self) -> float:
        """Messages written per second."""
        return self.messages / self.seconds


@dataclass
class Latency:
    """Paced live telemetry and how late each message became queryable."""

    workers: int
    messages: int
    published_s: float
    latencies: list[float]
    cycle_s: float
    outcome: Outcome


@dataclass
class Worker:
    """One ingest process and where its metrics are."""

    process: ChildProcess
    metrics_url: str


class IngestBench:
    """The servers, registry and settings every phase shares; each phase builds on them."""

    def __init__(
        self,
        workdir: Path,
        influx: InfluxServer,
        placements: dict[str, Placement],
        settings: dict[str, str],
    ) -> None:
        self.workdir = workdir
        self.influx = influx
        self.placements = placements
        self.gateways = list(placements)
        self.settings = settings
        self.influx_pid = pid_with(str(influx.config_path))
        self.metrics = MetricsReader()

    # --- phases ------------------------------------------------------------------------------

    def drain(self, label: str, messages: Sequence[Message], workers: int) -> Drain:
        """Hold ``messages`` in the broker for ingest's session, then time ingest draining them."""
        name = f"{label.split(maxsplit=1)[0]}-per-message-{workers}w"
        readings = sum(message.readings for message in messages)
        with self._phase(name, workers) as (broker, group, influx):
            for worker in group:  # their sessions and subscriptions exist now; take them down
                worker.process.stop()
            publishers = Publishers(broker.host, broker.port, self.gateways)
            for message in messages:
                publishers.publish(message)
            held = publishers.wait_acked(len(messages), timeout_s=600)
            publishers.close()
            if not held:
                raise RuntimeError("the broker did not acknowledge the backlog")
            servers = {"influxd": self.influx_pid, "mosquitto": pid_with(str(broker.config_path))}
            settle(servers)
            cpu = CpuWatch()
            launched = time.monotonic()
            for worker in group:
                worker.process.start()
            started = self._first_answer(group, cpu, {**servers, "bench": os.getpid()})
            finished = self._written(group, readings)
            outcome = self._outcome(group, influx, readings, cpu)
        return Drain(label, workers, len(messages), finished - started, started - launched, outcome)

    def latency(
        self, readings_per_s: float, seconds: float, workers: int, poll_s: float
    ) -> Latency:
        """Publish 100-reading messages at ``readings_per_s`` for ``seconds``; time each."""
        per_message = 100
        count = max(1, round(readings_per_s / per_message * seconds))
        rate = readings_per_s / per_message
        messages, probe_times = probe_messages(self.gateways, count, per_message, rate)
        with self._phase(f"latency-{workers}w", workers) as (broker, group, influx):
            watcher = ProbeWatcher(influx, probe_times, poll_s)
            publishers = Publishers(broker.host, broker.port, self.gateways)
            cpu = CpuWatch()
            servers = {"influxd": self.influx_pid, "mosquitto": pid_with(str(broker.config_path))}
            for name, pid in {**servers, "bench": os.getpid()}.items():
                cpu.mark(name, pid)
            for n, worker in enumerate(group):
                if worker.process.pid is not None:
                    cpu.mark(f"ingest {n + 1}", worker.process.pid)
            watcher.start()
            began = time.monotonic()
            published = publish_paced(publishers, messages, rate)
            published_s = time.monotonic() - began
            self._wait_progress(lambda: len(watcher.seen_at), count)
            watcher.stop()
            publishers.close()
            outcome = self._outcome(group, influx, count * per_message, cpu)
        latencies = [
            watcher.seen_at[i] - at for i, at in enumerate(published) if i in watcher.seen_at
        ]
        return Latency(workers, count, published_s, latencies, watcher.cycle_s, outcome)

    def ceiling(self, lines: list[str], database: str) -> tuple[float, int]:
        """Seconds to write ``lines`` straight to ``database``, and how many it then counts."""
        straight = InfluxStore(self.influx.url, database)
        straight.create_database()
        settle({"influxd": self.influx_pid})
        started = time.perf_counter()
        straight.write_lines(lines)
        elapsed = time.perf_counter() - started
        counted = stored(straight)
        straight.drop_database()
        return elapsed, counted

    def close(self) -> None:
        """Let go of the metrics reader's connections."""
        self.metrics.close()

    # --- plumbing ----------------------------------------------------------------------------

    @contextmanager
    def _phase(
        self, name: str, workers: int
    ) -> Iterator[tuple[MosquittoServer, list[Worker], InfluxStore]]:
        """A fresh broker, SQL store and database, and ``workers`` subscribed ingest processes.

        The database is dropped at the end, after the phase has counted what it holds.
        """
        folder = self.workdir / name
        folder.mkdir()
        shutil.copyfile(self.workdir / "registry.db", folder / "lantian.db")
        database = name.replace("-", "_")
        with MosquittoServer(folder / "mosquitto", persistence=True) as broker:
            platform = Platform(
                folder,
                broker.host,
                broker.port,
                self.influx.url,
                database,
                f"sqlite:///{folder / 'lantian.db'}",
            )
            group = [self._worker(platform, n, workers) for n in range(workers)]
            try:
                for worker in group:
                    worker.process.start()
                if not wait_until(lambda: self._all_subscribed(group), timeout_s=60):
                    raise IngestStartError(_tails(group))
                yield broker, group, InfluxStore(self.influx.url, database)
            finally:
                for worker in group:
                    worker.process.stop()
                # Its continuous queries would go on rolling up its data during later phases.
                InfluxStore(self.influx.url, database).drop_database()

    def _worker(self, platform: Platform, n: int, workers: int) -> Worker:
        port = free_port()
        if workers == 1:  # one worker runs exactly as an operator starts ingest
            process = platform.ingest(metrics_port=port, settings=self.settings)
        else:
            process = platform.ingest(
                metrics_port=port,
                name=f"ingest-{n + 1}",
                client_id=f"lantian-ingest-{n + 1}",
                shared_group=GROUP,
                settings=self.settings,
            )
        return Worker(process, f"http://127.0.0.1:{port}/metrics")

    def _all_subscribed(self, group: list[Worker]) -> bool:
        for worker in group:
            totals = self.metrics.read(worker.metrics_url)
            if totals is None or totals.get(SUBSCRIBED) != 1:
                return False
        return True

    def _first_answer(self, group: list[Worker], cpu: CpuWatch, others: dict[str, int]) -> float:
        """When the first worker answered on /metrics.

        Each worker's CPU is counted from its first answer (its start-up left out), the
        ``others``' from the first worker's.
        """
        answered: dict[int, float] = {}
        deadline = time.monotonic() + STALL_S
        while len(answered) < len(group):
            for n, worker in enumerate(group):
                if n not in answered and self.metrics.read(worker.metrics_url) is not None:
                    if not answered:
                        for name, pid in others.items():
                            cpu.mark(name, pid)
                    answered[n] = time.monotonic()
                    if worker.process.pid is not None:
                        cpu.mark(f"ingest {n + 1}", worker.process.pid)
            if time.monotonic() > deadline:
                raise IngestStartError(_tails(group))
            time.sleep(0.02)
        return min(answered.values())

    def _written(self, group: list[Worker], readings: int) -> float:
        """When the workers had written ``readings`` between them (polled every 0.1 s)."""
        self._wait_progress(
            lambda: summed(self._read_all(group), WRITTEN), readings, interval_s=0.1
        )
        return time.monotonic()

    @staticmethod
    def _wait_progress(
        progress: Callable[[], int], target: int, *, interval_s: float = 0.05
    ) -> None:
        """Wait until ``progress()`` reaches ``target``, or stalls for ``STALL_S``."""
        last, moved = -1, time.monotonic()
        while (now := progress()) < target:
            if now != last:
                last, moved = now, time.monotonic()
            elif time.monotonic() - moved > STALL_S:
                return
            time.sleep(interval_s)

    def _read_all(self, group: list[Worker]) -> list[dict[str, float]]:
        found = (self.metrics.read(worker.metrics_url) for worker in group)
        return [totals for totals in found if totals is not None]

    def _outcome(
        self, group: list[Worker], influx: InfluxStore, readings: int, cpu: CpuWatch
    ) -> Outcome:
        shares = cpu.shares()
        # Ingest counts a write just after InfluxDB accepts it: a moment's grace for both.
        wait_until(
            lambda: (
                summed(self._read_all(group), WRITTEN) >= readings and stored(influx) >= readings
            ),
            timeout_s=10,
            interval_s=0.2,
        )
        totals = self._read_all(group)
        return Outcome(
            readings=readings,
            stored=stored(influx),
            written=summed(totals, WRITTEN),
            duplicates=summed(totals, DUPLICATES),
            rejected=summed(totals, REJECTED) + summed(totals, READINGS_REJECTED),
            late=summed(totals, LATE),
            batches=summed(totals, BATCHES),
            cpu=shares,
        )


def _tails(group: list[Worker]) -> str:
    return "\n".join(f"--- {w.process.name} ---\n{w.process.log_tail()}" for w in group)


def stored(influx: InfluxStore) -> int:
    """Readings the database holds, every metric of the load."""
    measurements = ", ".join(f'"{metric}"' for metric in METRICS)
    found = influx.query(f'SELECT count("value") FROM {measurements}')  # noqa: S608
    return sum(int(row["count"]) for series in found for row in series.rows())
