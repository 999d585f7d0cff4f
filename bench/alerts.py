"""Alerts benchmark: from a reading's publication at the gateway to its notice on MQTT.

    uv run --no-sync python -m bench.alerts [--rate 10000] [--rules 1000] [--sites 1000]
        [--seconds 60] [--warmup 10] [--tail 20] [--window-sites 1000] [--split]
        [--setting KEY=VALUE] [--workdir DIR]

The goal (issue "Alerts"): p99 from the exceeding reading's publication at the gateway to the
alert delivered on MQTT — received by an enterprise-side subscriber of
``lantian/v1/ent/+/alerts`` — within 500 ms at 10,000 readings/s with 1,000 rules.

The city, the rule file and the publisher are the rules benchmark's (:mod:`bench.rules_city`,
:mod:`bench.rules_publisher`); every enterprise has an MQTT contact. The rules service runs
as ``lantian-rules run`` (:mod:`bench.alerts_run` lists the settings it changes, and why).
Site thresholds hold for 10 s, so an alert's latency runs from the publication of the
reading that completes the hold — the first of the spike 10 s or more after its start, the
one whose decision fires the alert — to the notice's arrival (:mod:`bench.alerts_match`).
Alerts whose firing reading is due in the first ``--warmup`` seconds are counted, not timed;
those whose spike had begun before the run fire together 10 s in, and are timed apart.

With ``--window-sites``, a late reading makes the service judge one hour of that many sites'
window rules again as the ``--tail`` begins: the tail's alerts show the stream while a window
run is in progress. ``--split`` runs the window rules in a process of their own
(``LANTIAN_RULES_ONLY=stream`` and ``=windows``, docs/rules.md).

``--rate 300 --sites 20 --rules 40 --seconds 8 --warmup 2 --tail 5 --window-sites 20
--spike-period 20 --spike 14`` is a smoke run. Exits 1 when an expected alert never arrived
or arrived twice.
"""

import argparse
import logging
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.alerts_run import SERVICE_SETTINGS, AlertRun, run_alerts
from bench.rules import _register
from bench.rules_city import SPIKE_PERIOD_S, SPIKE_S, city
from bench.rules_stream import Spread
from bench.rules_windows import write_hour
from devstack.servers import InfluxServer
from store.influx import InfluxStore
from store.sql import Channel, Contacts, create_engine_for


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.alerts", description=__doc__)
    parser.add_argument("--rate", type=float, default=10_000.0, help="readings/s")
    parser.add_argument("--rules", type=int, default=1000, help="stream rules in force")
    parser.add_argument("--sites", type=int, default=1000, help="sites (gateways) publishing")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured publishing time")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds left out first")
    parser.add_argument("--tail", type=float, default=20.0, help="seconds from a window run on")
    parser.add_argument("--window-sites", type=int, default=1000, help="0: no window run")
    parser.add_argument("--split", action="store_true", help="window rules in their own process")
    parser.add_argument("--spike-period", type=int, default=SPIKE_PERIOD_S, help="seconds")
    parser.add_argument("--spike", type=int, default=SPIKE_S, help="seconds a spike lasts")
    parser.add_argument("--workdir", type=Path, help="default: a temporary folder")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a LANTIAN_RULES_ setting without the prefix, e.g. DELIVERY__POLL_INTERVAL_S=0.05",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print what it measured."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="  (log) %(levelname)s %(name)s: %(message)s")
    settings = dict(setting.split("=", 1) for setting in args.setting)
    with tempfile.TemporaryDirectory(prefix="bench-alerts-") as temporary:
        workdir = (args.workdir or Path(temporary)).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        database = workdir / "alerts.db"
        database.unlink(missing_ok=True)
        started = time.perf_counter()
        sites = max(args.sites, args.window_sites)
        _register(f"sqlite:///{database}", sites)
        _contacts(f"sqlite:///{database}", sites)
        say(f"registered {sites:,} sites, MQTT contacts for every enterprise")
        say(f"  in {time.perf_counter() - started:.1f} s")
        with InfluxServer(workdir / "influxdb") as server:
            influx = InfluxStore(server.url, "bench_alerts")
            try:
                influx.create_database()
                hour = None
                if args.window_sites > 0:
                    hour = write_hour(influx, f"sqlite:///{database}", args.window_sites).hour
                shutil.rmtree(workdir / "mosquitto", ignore_errors=True)
                say(_describe(args, settings))
                run = run_alerts(
                    workdir,
                    sql_url=f"sqlite:///{database}",
                    influx=(server.url, "bench_alerts"),
                    hour=hour,
                    sizes=vars(args),
                    split=args.split,
                    settings=settings,
                    spike_period_s=args.spike_period,
                    spike_s=args.spike,
                )
            finally:
                influx.close()
    return _report(args, run)


def _contacts(sql_url: str, sites: int) -> None:
    engine = create_engine_for(sql_url)
    try:
        contacts = Contacts(engine)
        for enterprise in sorted({site.enterprise[0] for site in city(sites)}):
            contacts.add(enterprise, name="EHS desk (receiver)", channel=Channel.MQTT)
    finally:
        engine.dispose()


def _describe(args: argparse.Namespace, settings: dict[str, str]) -> str:
    changed = SERVICE_SETTINGS | settings
    return (
        f"alerts: {args.rate:,.0f} readings/s from {args.sites:,} gateways, {args.rules:,} "
        f"rules, {args.warmup:.0f} s warm-up + {args.seconds:.0f} s measured + {args.tail:.0f} s"
        + (f" from a window run over {args.window_sites:,} sites" if args.window_sites else "")
        + ("; window rules in their own process" if args.split else "; one service process")
        + f"; settings {', '.join(f'{k}={v}' for k, v in changed.items())} ..."
    )


def _report(args: argparse.Namespace, run: AlertRun) -> int:
    cpu = ", ".join(f"{name} {share:.2f}" for name, share in run.cpu.items())
    say(f"  published -> notice received   {Spread.text_of(run.steady)}")
    say(f"  ... open since the first reading, firing at once {Spread.text_of(run.at_start)}")
    if args.tail > 0:
        done = "none" if run.window_done_s is None else f"{run.window_done_s:.1f} s"
        say(f"  ... the {args.tail:.0f} s from a late reading (its window run done after {done})")
        say(f"                                 {Spread.text_of(run.tail)}")
    say(f"  publisher behind its schedule  {Spread.text_of(run.publisher_lag)}")
    say(
        f"  alerts expected {run.expected:,}, delivered {run.delivered:,}, "
        f"duplicates {run.duplicates:,}; other alerts and notices {run.others:,}"
    )
    say(f"  CPU (cores) over the measured window: {cpu}")
    problems = [f"never delivered: {rule} {site} from {start}" for rule, site, start in run.missing]
    if run.duplicates:
        problems.append(f"{run.duplicates} notices or alerts arrived twice")
    for problem in problems[:20]:
        say(f"PROBLEM: {problem}")
    return 1 if problems else 0


def say(text: str) -> None:
    """Print a line of the benchmark's output at once."""
    print(text, flush=True)


if __name__ == "__main__":
    sys.exit(main())
