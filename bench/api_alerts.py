"""Latency of the alert list over HTTP from a real ``lantian-api`` process, SQLite and PostgreSQL.

**Data.** The sites of the simulated city (:data:`devstack.city.CITY`, the first ``--sites``)
are registered in the SQL store, and ``--days`` days of their alerts up to the last whole hour,
``--per-day`` a site and day, are written through the alert store step by step as the rules
engine and people make them (:mod:`bench.api_alerts_fill`): opened with evidence, fired,
updated, escalated, acknowledged, resolved, settled, closed, each step audited; most end
closed, the last hours' are still open. The store is a SQLite file, or a PostgreSQL database
the benchmark creates on ``--postgres`` and drops afterwards.

**Measurement.** ``lantian-api serve`` runs as its own process (uvicorn, as deployed) against
that store (and an InfluxDB, which its health check asks). After ``--warmup`` requests,
``--requests`` requests of each list the bureau dashboard and the enterprise page ask for
(:mod:`bench.api_alerts_queries`: the first page, firing alerts, one enterprise's, one park's,
one severity's, opened in a time range, a later page, and an enterprise user's own lists), one
at a time, each with a bureau viewer's ``X-API-Key`` or an enterprise user's, are timed from
request to the last byte; every answer must list exactly the alerts the filter selects.
The goal, p95 of each at most 150 ms, is checked with ``--days 30``.
"""

import argparse
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.api_alerts_fill import counts, episodes, write
from bench.api_alerts_queries import Query, checker, expected, path, queries
from bench.api_server import percentile, say, serving, timed
from devstack.city import CITY, SimSite, register
from devstack.servers import InfluxServer
from store.influx import InfluxStore
from store.sql import (
    AccountStore,
    AlertRecord,
    AlertStore,
    Registry,
    Role,
    create_engine_for,
    migrate,
)

GOAL_P95_MS = 150.0
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BUREAU = "bureau"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.api_alerts", description=__doc__)
    parser.add_argument("--sites", type=int, default=len(CITY), help="sites of the city")
    parser.add_argument("--days", type=int, default=30, help="days of alerts")
    parser.add_argument("--per-day", type=int, default=5, help="alerts a site and day (≤ 8)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per list")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument(
        "--stores", nargs="+", choices=("sqlite", "postgres"), default=["sqlite", "postgres"]
    )
    parser.add_argument("--postgres", default=POSTGRES, help="admin URL of the PostgreSQL")
    parser.add_argument("--workdir", type=Path, help="keep the servers' data here")
    return parser.parse_args(argv)


@contextmanager
def database(kind: str, workdir: Path, admin_url: str) -> Iterator[str]:
    """The URL of an empty database of ``kind``; a PostgreSQL one is dropped afterwards."""
    if kind == "sqlite":
        (workdir / "alerts.db").unlink(missing_ok=True)
        yield f"sqlite:///{workdir / 'alerts.db'}"
        return
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"bench_alerts_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def prepare(sql_url: str, sites: Sequence[SimSite], args: argparse.Namespace) -> dict[str, str]:
    """Migrate, register, fill; the keys (bureau viewer, one per enterprise user) by audience."""
    migrate(sql_url)
    engine = create_engine_for(sql_url)
    try:
        register(Registry(engine), sites)
        accounts = AccountStore(engine)
        keys = {BUREAU: accounts.create_api_key("bench", role=Role.BUREAU_VIEWER)[1]}
        for enterprise in dict.fromkeys(site.enterprise[0] for site in sites):
            name, role = f"bench-{enterprise}", Role.ENTERPRISE_USER
            keys[enterprise] = accounts.create_api_key(name, role=role, enterprise_id=enterprise)[1]
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        history = episodes(sites, end, args.days, args.per_day)
        started = time.perf_counter()
        transactions = write(engine, history, end)
        elapsed = time.perf_counter() - started
        by_state, events = counts(engine)
        states = ", ".join(f"{state} {count}" for state, count in sorted(by_state.items()))
        say(
            f"wrote {sum(by_state.values()):,} alerts ({states}) and {events:,} audit rows "
            f"for {len(sites)} sites over {args.days} days in {transactions:,} transactions, "
            f"{elapsed:.1f} s"
        )
    finally:
        engine.dispose()
    return keys


def main(argv: Sequence[str] | None = None) -> int:
    """Fill, serve, measure, print, for each store; 1 when a goal is missed."""
    args = parse_args(argv)
    sites = CITY[: args.sites]
    problems = 0
    with tempfile.TemporaryDirectory(prefix="bench-api-alerts-") as temporary:
        workdir = (args.workdir or Path(temporary)).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        with (
            InfluxServer(workdir / "influxdb") as server,
            InfluxStore(server.url, "bench_api") as influx,
        ):
            influx.create_database()
            for kind in args.stores:
                with database(kind, workdir, args.postgres) as sql_url:
                    say(f"--- {kind}")
                    keys = prepare(sql_url, sites, args)
                    with serving(workdir, server.url, influx.database, sql_url) as base:
                        problems += measure(args, base, sql_url, sites, keys)
    return 1 if problems else 0


def measure(
    args: argparse.Namespace,
    base: str,
    sql_url: str,
    sites: Sequence[SimSite],
    keys: dict[str, str],
) -> int:
    """Time every list; print the figures; returns the number of goals missed."""
    engine = create_engine_for(sql_url)
    alerts = AlertStore(engine).alerts(limit=10**7)
    engine.dispose()
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    enterprises = list(dict.fromkeys(site.enterprise[0] for site in sites))
    parks = list(dict.fromkeys(site.park[0] for site in sites if site.park))
    chosen = queries(
        enterprises, parks, end - timedelta(days=args.days), end, [a.id for a in alerts]
    )
    problems = 0
    with httpx.Client(base_url=base, timeout=30) as client:
        for query in chosen:
            latencies, sizes = run(client, query, alerts, enterprises, keys, args)
            p95 = percentile(latencies, 0.95)
            say(
                f"{query.name:>27}: {min(sizes)}-{max(sizes)} alerts, {len(latencies)} "
                f"requests: p50 {percentile(latencies, 0.5):.1f} ms, p95 {p95:.1f} ms, "
                f"p99 {percentile(latencies, 0.99):.1f} ms, max {max(latencies):.1f} ms"
            )
            if args.days == 30 and p95 > GOAL_P95_MS:
                say(f"PROBLEM: {query.name}: p95 {p95:.1f} ms is above {GOAL_P95_MS:.0f} ms")
                problems += 1
    return problems


def run(  # noqa: PLR0913, PLR0917 - what one list's requests need
    client: httpx.Client,
    query: Query,
    alerts: Sequence[AlertRecord],
    enterprises: Sequence[str],
    keys: dict[str, str],
    args: argparse.Namespace,
) -> tuple[list[float], list[int]]:
    """The timed latencies of ``query``'s requests (warm-up left out) and its pages' sizes."""
    count = args.warmup + args.requests
    answers, paths, headers, sizes = [], [], [], []
    for n in range(count):
        fields = query.fields(n)
        scope = enterprises[n % len(enterprises)] if query.enterprise_user else None
        ids, more = expected(alerts, fields, scope)
        if not ids and not query.may_be_empty:
            raise RuntimeError(f"{query.name}: no alert for {fields}: the data cannot check it")
        answers.append((ids, more, fields, scope))
        paths.append(path(fields))
        headers.append({"X-API-Key": keys[scope or BUREAU]})
        sizes.append(len(ids))
    check = checker(answers)
    latencies = timed(client, paths, check, headers)
    return latencies[args.warmup :], sizes


if __name__ == "__main__":
    raise SystemExit(main())
