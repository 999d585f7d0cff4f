"""Rules benchmark: stream rules at a city's pace, and window rules over a city's hour.

    uv run --no-sync python -m bench.rules [--rate 10000] [--rules 1000] [--sites 1000]
        [--seconds 60] [--warmup 10] [--tail 20] [--window-sites 1000] [--workdir DIR]
        [--setting KEY=VALUE]

What it measures (issue "Rules engine"), against real servers on this machine:

- **stream**: ``--rate`` readings a second (10 a message, every gateway once a second with the
  defaults) through a real Mosquitto into the rules service, running in this process with its
  default settings and ``--rules`` rules over ``--sites`` sites (:mod:`bench.rules_city`). The
  latency of every message from its arrival to the engine's decision, to its results recorded,
  and from its publication to its results recorded (:mod:`bench.rules_stream`). The issue
  sets no figure; the alerts issue later needs an alert within 500 ms (p99) of the reading
  at this rate and rule count, end to end, so this is where the rules stage stands against it;
- **windows**: one :class:`~rules.windows.WindowScheduler` run over one closed hour of
  minute aggregates of ``--window-sites`` sites (PM2.5 and PM10 hourly means and the hourly
  AQI) in a real InfluxDB, results recorded in SQLite (:mod:`bench.rules_windows`): its time.
  Then the same run happens in the rules service's process while the stream goes on for
  ``--tail`` seconds, as its window thread runs it when an hour closes: the stream's latency
  in those seconds is reported apart from the steady ``--seconds``.

A size of 0 skips a phase; ``--rate 500 --sites 50 --rules 100 --seconds 3 --warmup 2 --tail 3
--window-sites 50`` is a smoke run of well under a minute. Exits 1 when a message was never
recorded or a second window run changed a result.
"""

import argparse
import logging
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.rules_city import city
from bench.rules_stream import Spread, run_stream
from bench.rules_windows import WindowData, first_run, run_windows, write_hour
from devstack.city import register
from devstack.servers import InfluxServer
from store.influx import InfluxStore
from store.sql import Registry, create_engine_for, migrate


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line; sizes of 0 skip a phase."""
    parser = argparse.ArgumentParser(prog="python -m bench.rules", description=__doc__)
    parser.add_argument("--rate", type=float, default=10_000.0, help="readings/s (0: no stream)")
    parser.add_argument("--rules", type=int, default=1000, help="stream rules in force")
    parser.add_argument("--sites", type=int, default=1000, help="sites (gateways) publishing")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured publishing time")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds left out first")
    parser.add_argument(
        "--tail", type=float, default=20.0, help="seconds after, from a window run's start"
    )
    parser.add_argument("--window-sites", type=int, default=1000, help="0: no window phase")
    parser.add_argument("--workdir", type=Path, help="default: a temporary folder")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a rules service setting for the stream phase, e.g. batch_max_delay_s=0.05",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the phases asked for and print what they measured."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="  (log) %(levelname)s %(name)s: %(message)s")
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-rules-") as temporary:
        workdir = (args.workdir or Path(temporary)).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        sites = max(args.sites if args.rate else 0, args.window_sites)
        started = time.perf_counter()
        template = workdir / "city.db"
        template.unlink(missing_ok=True)
        _register(f"sqlite:///{template}", sites)
        say(f"registered {sites:,} sites in {time.perf_counter() - started:.1f} s")
        with InfluxServer(workdir / "influxdb") as server:
            influx = InfluxStore(server.url, "bench_rules")
            try:
                influx.create_database()
                data = None
                if args.window_sites > 0:
                    data = write_hour(influx, f"sqlite:///{template}", args.window_sites)
                    problems += _window_phase(workdir, template, influx, data)
                if args.rate > 0:
                    problems += _stream_phase(workdir, template, args, influx, data)
            finally:
                influx.close()
    for problem in problems:
        say(f"PROBLEM: {problem}")
    return 1 if problems else 0


def _register(sql_url: str, sites: int) -> None:
    migrate(sql_url)
    engine = create_engine_for(sql_url)
    try:
        register(Registry(engine), city(sites))
    finally:
        engine.dispose()


def _stream_phase(
    workdir: Path,
    template: Path,
    args: argparse.Namespace,
    influx: InfluxStore,
    data: WindowData | None,
) -> list[str]:
    database = workdir / "stream.db"
    shutil.copy(template, database)
    sql_url = f"sqlite:///{database}"
    say(
        f"stream: {args.rate:,.0f} readings/s from {args.sites:,} gateways, {args.rules:,} rules, "
        f"{args.warmup:.0f} s warm-up + {args.seconds:.0f} s measured"
        + (f", {', '.join(args.setting)}" if args.setting else "")
        + (f"; then {args.tail:.0f} s from a window run over {data.sites:,} sites" if data else "")
        + " ..."
    )
    run = run_stream(
        workdir,
        sql_url=sql_url,
        rules=args.rules,
        sites=args.sites,
        rate=args.rate,
        seconds=args.seconds,
        warmup=args.warmup,
        overrides=dict(setting.split("=", 1) for setting in args.setting),
        during=None if data is None else first_run(influx, sql_url, data.hour),
        tail=args.tail if data is not None else 0.0,
    )
    cpu = ", ".join(f"{name} {share:.2f}" for name, share in run.cpu.items())
    say(f"  received -> decided            {Spread.text_of(run.decided)}")
    say(f"  received -> recorded           {Spread.text_of(run.recorded)}")
    say(f"  published -> recorded          {Spread.text_of(run.end_to_end)}")
    say(f"  ... messages with results      {Spread.text_of(run.with_results)}")
    if run.during_s is not None:
        say(f"  published -> recorded, the {args.tail:.0f} s from a window run (it took")
        say(f"    {run.during_s:.1f} s in this process)   {Spread.text_of(run.tail)}")
    say(f"  publisher behind its schedule  {Spread.text_of(run.publisher_lag)}")
    say(f"  stream results recorded {run.results:,}; messages never recorded {run.missing:,}")
    say(f"  CPU (cores) over the measured window: {cpu}")
    return [f"{run.missing:,} messages never recorded"] if run.missing else []


def _window_phase(
    workdir: Path, template: Path, influx: InfluxStore, data: WindowData
) -> list[str]:
    database = workdir / "windows.db"
    shutil.copy(template, database)
    say(f"windows: one hour of minute aggregates of {data.sites:,} sites, PM2.5 + PM10 + AQI ...")
    run = run_windows(influx, f"sqlite:///{database}", data.hour)
    say(f"  wrote {data.points:,} minute aggregates (two hours) in {data.write_s:.1f} s")
    say(f"  first run, {run.results:,} results recorded new   {run.first_s:.2f} s")
    say(f"  the hour again, nothing changed ({run.changed_again})   {run.again_s:.2f} s")
    say(
        f"  parts of a run: read {run.read_s:.2f} s; read + compute + judge "
        f"{run.compute_s:.2f} s; record unchanged {run.record_s:.2f} s"
    )
    if run.changed_again:
        return [f"the second window run changed {run.changed_again} results"]
    return []


def say(text: str) -> None:
    """Print a line of the benchmark's output at once."""
    print(text, flush=True)


if __name__ == "__main__":
    sys.exit(main())
