"""Latency of a site's 30-day hourly series over HTTP, from a real ``lantian-api`` process.

**Data.** The sites of the simulated city (:data:`devstack.city.CITY`, the first ``--sites``)
are registered in a SQLite registry. For ``--days`` days up to the last whole hour, each site's
two particulate sensors (``pm-1``, ``pm-2``) get a one-minute aggregate of PM2.5 and of PM10
per minute, written straight into the ``minute`` retention policy, and each hour's rollup of
those minutes into ``hour``, as :mod:`store.rollups`' continuous queries hold them (same
measurement and tags, fields ``value``, ``min``, ``max``, ``count``, ``sum``). Values follow a
daily cycle of the site's own level with noise; each gateway minute aggregates 6 samples.

**Measurement.** ``lantian-api serve`` runs as its own process (uvicorn, as deployed) against
that InfluxDB and registry. After ``--warmup`` requests, ``--requests`` requests of
``GET /v1/sites/{site}/series?metric=pm25&resolution=hour`` over the days filled, the sites in
turn, one at a time, each with a bureau viewer's ``X-API-Key`` (checked against the SQL store
on every request, as deployed), are timed from request to the last byte; every answer must
hold one point per hour. The same is done for the daily points (``resolution=day``, resampled
with pandas).
The goal, p95 of the 30-day hourly series at most 150 ms, is checked with ``--days 30``.
"""

import argparse
import math
import random
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from bench.api_server import Check, iso, percentile, say, serving, timed
from devstack.city import CITY, SimSite, register
from devstack.servers import InfluxServer
from store.influx import InfluxStore
from store.lineprotocol import Point, encode_point
from store.rollups import HOUR_POLICY, MINUTE_POLICY, Retention, prepare_retention
from store.sql import AccountStore, Registry, Role, create_engine_for, migrate

MINUTE_MS, HOUR_MS, DAY_MS = 60_000, 3_600_000, 86_400_000
DEVICES = ("pm-1", "pm-2")
METRICS = {"pm25": 45.0, "pm10": 80.0}  # the city's typical level of each, µg/m³
SAMPLES_PER_MINUTE = 6
GOAL_P95_MS = 150.0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.api_series", description=__doc__)
    parser.add_argument("--sites", type=int, default=3, help="sites of the city to fill")
    parser.add_argument("--days", type=int, default=30, help="days of minute and hour data")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per series")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--workdir", type=Path, help="keep the servers' data here")
    return parser.parse_args(argv)


def rollup_lines(site: SimSite, end_ms: int, days: int, seed: int) -> Iterator[tuple[str, str]]:
    """(policy, line) of a site's minute and hour points over ``days`` days before ``end_ms``."""
    rng = random.Random(seed)  # noqa: S311 - made-up readings, not secrets
    start_ms = end_ms - days * DAY_MS
    park = site.park[0] if site.park else None
    tags = {
        "county": site.county[0],
        "enterprise": site.enterprise[0],
        "site": site.site,
        "gateway": site.gateway,
        "quality": "N",
        "interval": "60s",
    } | ({"park": park} if park else {})
    for metric, level in METRICS.items():
        for device in DEVICES:
            probe = encode_point(Point(metric, tags | {"device": device}, {"value": 0.0}, 0))
            series = probe[: probe.rindex(" ", 0, probe.rindex(" "))]
            for hour_ms in range(start_ms, end_ms, HOUR_MS):
                cycle = 1 + 0.4 * math.sin(2 * math.pi * (hour_ms % DAY_MS) / DAY_MS)
                means = [max(0.0, level * cycle + rng.gauss(0, level * 0.1)) for _ in range(60)]
                for n, mean in enumerate(means):
                    low, high = mean * 0.9, mean * 1.1
                    line = (
                        f"{series} value={mean!r},min={low!r},max={high!r},"
                        f"count={SAMPLES_PER_MINUTE}i,sum={mean!r} {hour_ms + n * MINUTE_MS}"
                    )
                    yield MINUTE_POLICY, line
                line = (
                    f"{series} value={statistics.fmean(means)!r},min={min(means) * 0.9!r},"
                    f"max={max(means) * 1.1!r},count={60 * SAMPLES_PER_MINUTE}i,"
                    f"sum={math.fsum(means)!r} {hour_ms}"
                )
                yield HOUR_POLICY, line


def fill(influx: InfluxStore, sites: Sequence[SimSite], end_ms: int, days: int) -> int:
    """Write every site's rollups; returns the number of points."""
    written = 0
    for index, site in enumerate(sites):
        batches: dict[str, list[str]] = {MINUTE_POLICY: [], HOUR_POLICY: []}
        for policy, line in rollup_lines(site, end_ms, days, seed=index):
            batches[policy].append(line)
        for policy, lines in batches.items():
            influx.write_lines(lines, retention_policy=policy)
            written += len(lines)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Fill, serve, measure, print; 1 when the goal is missed."""
    args = parse_args(argv)
    sites = CITY[: args.sites]
    with tempfile.TemporaryDirectory(prefix="bench-api-") as temporary:
        workdir = (args.workdir or Path(temporary)).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        sql_url = f"sqlite:///{workdir / 'registry.db'}"
        (workdir / "registry.db").unlink(missing_ok=True)
        migrate(sql_url)
        engine = create_engine_for(sql_url)
        register(Registry(engine), sites)
        _, key = AccountStore(engine).create_api_key("bench", role=Role.BUREAU_VIEWER)
        engine.dispose()
        with (
            InfluxServer(workdir / "influxdb") as server,
            InfluxStore(server.url, "bench_api") as influx,
        ):
            influx.create_database()
            prepare_retention(influx, Retention())
            end_ms = int(time.time() * 1000) // HOUR_MS * HOUR_MS
            started = time.perf_counter()
            points = fill(influx, sites, end_ms, args.days)
            elapsed = time.perf_counter() - started
            say(f"wrote {points:,} rollup points for {len(sites)} sites in {elapsed:.1f} s")
            with serving(workdir, server.url, influx.database, sql_url) as base:
                return measure(
                    args,
                    httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=30),
                    [s.site for s in sites],
                    end_ms,
                )


def measure(
    args: argparse.Namespace, client: httpx.Client, sites: Sequence[str], end_ms: int
) -> int:
    """Time the hourly and the daily series over every day filled; print the figures.

    ``client`` holds the API's address and the caller's key; it is closed when done.
    """
    start_ms = end_ms - args.days * DAY_MS
    window = f"start={iso(start_ms)}&end={iso(end_ms)}"

    def paths(resolution: str, count: int) -> list[str]:
        return [
            f"/v1/sites/{sites[n % len(sites)]}/series?metric=pm25&resolution={resolution}&{window}"
            for n in range(count)
        ]

    problems = 0
    with client:
        for resolution in ("hour", "day"):
            timed_paths = paths(resolution, args.warmup + args.requests)
            # every hour; days that need not start at a local midnight (UTC+8) touch one more
            midnight = (end_ms + 8 * HOUR_MS) % DAY_MS == 0
            expected = args.days * 24 if resolution == "hour" else args.days + (not midnight)
            latencies = timed(client, timed_paths, _points(expected))[args.warmup :]
            p95 = percentile(latencies, 0.95)
            say(
                f"{resolution:>4}: {expected} points, {len(latencies)} requests: "
                f"p50 {percentile(latencies, 0.5):.1f} ms, p95 {p95:.1f} ms, "
                f"max {max(latencies):.1f} ms"
            )
            if resolution == "hour" and args.days == 30 and p95 > GOAL_P95_MS:
                say(f"PROBLEM: hourly p95 {p95:.1f} ms is above the goal of {GOAL_P95_MS:.0f} ms")
                problems += 1
    return 1 if problems else 0


def _points(expected: int) -> Check:
    """A check that an answer holds ``expected`` points."""

    def check(_n: int, body: dict[str, Any]) -> str | None:
        count = len(body["points"])
        return None if count == expected else f"{count} points, {expected} expected"

    return check


if __name__ == "__main__":
    raise SystemExit(main())
