"""A platform under fault: its servers and services as real processes, and exactly-once checks.

Every fault test runs a persistent Mosquitto, ingest, InfluxDB and edge agents reading simulated
PMS5003s (``raw: true``, so every frame is a reading), breaks one part, and then compares, frame
by frame, what the simulator put on the wire (its ``--record`` file) with what InfluxDB holds.

Duplicates: InfluxDB keeps one point per series and timestamp, so a batch written twice would
not show as a second point. The checks therefore also compare ingest's own count of readings
written with the points stored: a second write of a batch raises the first, not the second.
"""

import json
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from devstack.city import CITY, register
from devstack.fixtures import MosquittoFactory
from devstack.processes import ChildProcess, ProcessGroup, wait_until
from devstack.servers import MosquittoServer, free_port
from devstack.services import IngestProgress, Platform
from store.influx import InfluxStore
from store.sql import Registry, create_engine_for

SITE = CITY[0]
PERIOD_S = 0.1  # the simulated sensors send ten frames a second
METRICS = ("pm1", "pm25", "pm10")
Sample = tuple[float, float, float]  # pm1, pm2.5, pm10 of one frame


def recorded(path: Path) -> list[Sample]:
    """The frames a simulator sent, in order, from its record file."""
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [(f["pm1_atm"], f["pm25_atm"], f["pm10_atm"]) for f in lines]


@dataclass
class FaultBed:
    """One platform: the servers, the services, and where their files are."""

    workdir: Path
    mosquitto: MosquittoServer
    influx: InfluxStore
    platform: Platform
    services: ProcessGroup
    gateways: ProcessGroup
    metrics_urls: dict[str, str] = field(default_factory=dict)

    def start_ingest(self, name: str = "ingest") -> ChildProcess:
        """Start ingest and wait until the broker confirmed its subscription."""
        port = free_port()
        self.metrics_urls[name] = f"http://127.0.0.1:{port}/metrics"
        child = self.services.start(self.platform.ingest(metrics_port=port, name=name))

        def subscribed() -> bool:
            progress = IngestProgress.scrape(self.metrics_urls[name])
            return progress is not None and progress.subscribed

        assert wait_until(subscribed, timeout_s=60), child.log_tail()
        return child

    def progress(self, name: str = "ingest") -> IngestProgress | None:
        """Ingest's counters, None while it does not answer."""
        return IngestProgress.scrape(self.metrics_urls[name])

    def start_sensor(self, device: str, *, seed: int) -> tuple[ChildProcess, Path, Path]:
        """A simulated PMS5003: the process, its pty link and its record file."""
        link = self.workdir / "dev" / device
        link.parent.mkdir(parents=True, exist_ok=True)
        record = self.workdir / f"{device}.jsonl"
        sim = self.gateways.start(
            self.platform.pms5003(link, seed=seed, period_s=PERIOD_S, record=record)
        )
        assert wait_until(link.exists, timeout_s=10), sim.log_tail()
        return sim, link, record

    def gateway_config(self, links: dict[str, Path], **spool: float) -> Path:
        """The gateway's YAML: raw samples, fast publishing, ``spool`` options (e.g. quota_mb)."""
        path = self.platform.gateway_config(
            SITE.gateway, pms5003_links=links, publish_interval_s=0.3, aggregation_interval_s=60
        )
        config = yaml.safe_load(path.read_text())
        config["spool"] = {"ack_timeout": 3, "replay_rate": 200, **spool}
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    @property
    def spool_path(self) -> Path:
        """The gateway's spool file (the default place under its state_dir)."""
        return self.workdir / "edge" / SITE.gateway / "spool.sqlite3"

    def spool_query(self, sql: str) -> list[tuple[object, ...]]:
        """Read the gateway's spool file as an operator would, with sqlite3."""
        with sqlite3.connect(self.spool_path) as db:
            return db.execute(sql).fetchall()

    def stored(self, device: str, *, settled: bool = True) -> list[Sample]:
        """The device's raw samples in InfluxDB, oldest first.

        ``settled``: nothing is being written any more, so each frame's three readings must all
        be there. Otherwise (while ingest writes) only frames whose three readings are there.
        """
        columns = []
        for metric in METRICS:
            series = self.influx.query(
                f'SELECT "value" FROM "{metric}" WHERE "interval" = \'raw\' '  # noqa: S608
                'AND "device" = $device ORDER BY time ASC',
                params={"device": device},
            )
            rows = [row for s in series for row in s.rows()]
            columns.append({row["time"]: float(row["value"]) for row in rows})
        times = [sorted(column) for column in columns]
        if settled:
            assert times[0] == times[1] == times[2], "a frame's three readings must share a time"
        common = sorted(set(times[0]).intersection(times[1], times[2]))
        return [(columns[0][t], columns[1][t], columns[2][t]) for t in common]

    def points(self, device: str, *, raw_only: bool = False) -> int:
        """The device's points in InfluxDB: raw samples and interval aggregates, or raw only."""
        total = 0
        only = " AND \"interval\" = 'raw'" if raw_only else ""
        for metric in METRICS:
            series = self.influx.query(
                f'SELECT count("value") FROM "{metric}" WHERE "device" = $device{only}',  # noqa: S608
                params={"device": device},
            )
            total += sum(int(row["count"]) for s in series for row in s.rows())
        return total

    def wait_drained(self, *, timeout_s: float = 60) -> bool:
        """Wait until the spool is empty (the platform acknowledged every batch) and stays so
        for a second, with the agent still running."""
        quiet_since: list[float] = []

        def drained() -> bool:
            empty = self.spool_query("SELECT count(*) FROM batches") == [(0,)]
            if not empty:
                quiet_since.clear()
                return False
            quiet_since.append(time.monotonic())
            return quiet_since[-1] - quiet_since[0] >= 1.0

        return wait_until(drained, timeout_s=timeout_s, interval_s=0.2)

    def written_once(self, device: str, ingest: str = "ingest") -> bool:
        """Whether ingest's count of readings written comes to equal the points stored.

        Only for a run one ingest process saw whole. InfluxDB keeps one point per series and
        time, so a reading written twice leaves the count above the points for good.
        """

        def equal() -> bool:
            progress = self.progress(ingest)
            return progress is not None and progress.written == self.points(device)

        return wait_until(equal, timeout_s=10, interval_s=0.3)


def as_floats(samples: list[Sample]) -> list[Sample]:
    """The samples with float values, as InfluxDB returns them."""
    return [(float(a), float(b), float(c)) for a, b, c in samples]


def agent_frames(edge: ChildProcess, device: str) -> int:
    """The frames a stopped agent read from ``device``, from the counters it logs on exit."""
    found = re.findall(rf"device {device} DeviceCounters\(frames=(\d+)", edge.log_tail(400))
    assert found, edge.log_tail()
    return int(found[-1])


def holes(sent: list[Sample], stored: list[Sample]) -> list[tuple[int, int]]:
    """Where ``stored`` skips frames of ``sent``: (index in sent, frames skipped) per hole.

    Fails unless ``stored`` is a subsequence of ``sent``: nothing repeated, reordered or made up.
    """
    sent = as_floats(sent)
    found: list[tuple[int, int]] = []
    position = 0
    for sample in stored:
        start = position
        while position < len(sent) and sent[position] != sample:
            position += 1
        assert position < len(sent), f"stored sample {sample} is not the next sent one"
        if position > start:
            found.append((start, position - start))
        position += 1
    if position < len(sent):
        found.append((position, len(sent) - position))
    return found


def assert_contiguous(sent: list[Sample], stored: list[Sample], *, max_skipped: int) -> None:
    """``stored`` is one unbroken run of ``sent``: frames before the agent opened the port and
    after it last read reached nobody, at most ``max_skipped`` at each end; in between, no
    frame missing, none repeated, none out of order."""
    assert stored
    sent = as_floats(sent)
    starts = [i for i in range(max_skipped + 1) if sent[i : i + len(stored)] == stored]
    assert starts, (len(sent), len(stored), holes(sent, stored))
    assert len(sent) - starts[0] - len(stored) <= max_skipped, (len(sent), len(stored))


@pytest.fixture
def bed(
    tmp_path: Path, mosquitto_factory: MosquittoFactory, influx: InfluxStore, sqlite_url: str
) -> Iterator[FaultBed]:
    """A persistent broker, InfluxDB and SQL store with the site registered; no process yet."""
    register(Registry(create_engine_for(sqlite_url)), [SITE])
    broker = mosquitto_factory(persistence=True)
    platform = Platform(tmp_path, broker.host, broker.port, influx.url, influx.database, sqlite_url)
    with ProcessGroup() as services, ProcessGroup() as gateways:
        yield FaultBed(tmp_path, broker, influx, platform, services, gateways)
