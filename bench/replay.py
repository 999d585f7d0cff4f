"""Replay benchmark: a backlog of readings in a gateway's spool, replayed into InfluxDB.

    uv run --no-sync python -m bench.replay [--readings 1000000] [--batch 1000] [--replay-rate 50]

Goal (delivery protocol): at least 20,000 readings/s into InfluxDB when a gateway's backlog is
replayed after an outage. Steps, all against real servers on this machine:

1. build the backlog while the platform is cut off: readings go through :class:`edge.spool.Spool`
   in batches, as the agent stores them; timed (µs per reading) and measured on disk (bytes
   per reading, the SQLite file and its WAL);
2. start Mosquitto, ingest (its console script) and InfluxDB, then the gateway's
   :class:`edge.publisher.Publisher` on the spool, and time until InfluxDB counts every reading;
3. the ceiling: the same readings written straight to the same InfluxDB (another database) as
   line protocol, 5,000 lines a request, from one thread; the replay rate is quoted against it.
"""

import argparse
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from devstack.city import CITY, register
from devstack.processes import ChildProcess, wait_until
from devstack.servers import InfluxServer, MosquittoServer, free_port
from devstack.services import IngestProgress, Platform
from edge.config import MqttConfig, PublishConfig, SpoolConfig
from edge.publisher import Publisher
from edge.spool import Spool
from store.influx import InfluxStore
from store.readings import ReadingLines
from store.sql import Registry, create_engine_for, migrate
from store.sql.records import Placement
from telemetry import Reading

SITE = CITY[0]
DEVICES = 10
METRICS = ("pm1", "pm25", "pm10")
START_MS = 1_780_000_000_000


def readings(count: int) -> Iterator[Reading]:
    """``count`` readings, each of its own series and time (so InfluxDB keeps every one)."""
    per_step = DEVICES * len(METRICS)
    for i in range(count):
        step, rest = divmod(i, per_step)
        yield Reading(
            device=f"pm-{rest % DEVICES}",
            metric=METRICS[rest // DEVICES],
            value=float(i % 997) / 10,
            ts=START_MS + step * 1000,
        )


def build_backlog(spool: Spool, count: int, batch: int) -> float:
    """Spool ``count`` readings in batches of ``batch``; returns µs per reading."""
    elapsed = 0.0
    pending: list[Reading] = []
    for reading in readings(count):
        pending.append(reading)
        if len(pending) == batch:
            started = time.perf_counter()
            spool.put(pending, now_ms=START_MS)
            elapsed += time.perf_counter() - started
            pending = []
    if pending:
        started = time.perf_counter()
        spool.put(pending, now_ms=START_MS)
        elapsed += time.perf_counter() - started
    return elapsed / count * 1e6


def stored(influx: InfluxStore) -> int:
    """Readings InfluxDB holds in the database, all metrics."""
    total = 0
    for metric in METRICS:
        for series in influx.query(f'SELECT count("value") FROM "{metric}"'):  # noqa: S608
            total += sum(int(row["count"]) for row in series.rows())
    return total


def ceiling(influx: InfluxStore, count: int) -> float:
    """Readings per second written straight as line protocol."""
    placement = Placement(SITE.gateway, SITE.site, SITE.enterprise[0], None, SITE.county[0])
    encoder = ReadingLines()
    lines = [encoder.line(placement, r) for r in readings(count)]
    started = time.perf_counter()
    influx.write_lines(lines)
    return count / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.replay")
    parser.add_argument("--readings", type=int, default=1_000_000)
    # The defaults are the agent's: what a gateway in the field does after an outage.
    parser.add_argument(
        "--batch", type=int, default=PublishConfig().max_readings, help="readings per batch"
    )
    parser.add_argument(
        "--replay-rate", type=float, default=SpoolConfig().replay_rate, help="batches per second"
    )
    parser.add_argument("--max-in-flight", type=int, default=SpoolConfig().max_in_flight)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lantian-replay-") as tmp:
        workdir = Path(tmp)
        spool = Spool(
            workdir / "spool.sqlite3", SITE.gateway, quota_bytes=10**12, legacy_state_dir=workdir
        )
        spool.open()
        us_per_reading = build_backlog(spool, args.readings, args.batch)
        on_disk = sum(p.stat().st_size for p in workdir.glob("spool.sqlite3*"))
        print(
            f"spooled {args.readings} readings: {us_per_reading:.1f} µs/reading, "
            f"{on_disk / args.readings:.0f} bytes/reading on disk",
            flush=True,
        )

        sql_url = f"sqlite:///{workdir / 'lantian.db'}"
        migrate(sql_url)
        register(Registry(create_engine_for(sql_url)), [SITE])
        with (
            MosquittoServer(workdir / "mosquitto", persistence=True) as broker,
            InfluxServer(workdir / "influxdb") as influx_server,
        ):
            influx = InfluxStore(influx_server.url, "replay")
            influx.create_database()
            platform = Platform(
                workdir, broker.host, broker.port, influx_server.url, "replay", sql_url
            )
            metrics_port = free_port()
            ingest: ChildProcess = platform.ingest(metrics_port=metrics_port)
            ingest.start()
            try:
                metrics = f"http://127.0.0.1:{metrics_port}/metrics"
                ready = wait_until(
                    lambda: (p := IngestProgress.scrape(metrics)) is not None and p.subscribed,
                    timeout_s=60,
                )
                if not ready:
                    print(ingest.log_tail(), file=sys.stderr)
                    return 1
                delivery = SpoolConfig(
                    replay_rate=args.replay_rate, max_in_flight=args.max_in_flight
                )
                publisher = Publisher(
                    SITE.gateway,
                    MqttConfig(host=broker.host, port=broker.port),
                    spool,
                    delivery=delivery,
                    agent_version="bench",
                )
                started = time.perf_counter()
                publisher.start()
                publisher.notify()
                done = wait_until(
                    lambda: stored(influx) >= args.readings, timeout_s=3600, interval_s=1.0
                )
                replay_s = time.perf_counter() - started
                publisher.close()
            finally:
                ingest.stop()
            if not done:
                print(ingest.log_tail(), file=sys.stderr)
                return 1
            rate = args.readings / replay_s
            straight = InfluxStore(influx_server.url, "ceiling")
            straight.create_database()
            ceiling_rate = ceiling(straight, args.readings)
        spool.close()
    print(
        f"replay: {args.readings} readings in {replay_s:.1f} s = {rate:,.0f} readings/s "
        f"(batch {args.batch}, replay_rate {args.replay_rate:g}/s, "
        f"max_in_flight {args.max_in_flight})"
    )
    print(
        f"ceiling: {ceiling_rate:,.0f} readings/s as line protocol; "
        f"replay is {rate / ceiling_rate:.0%} of it"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
