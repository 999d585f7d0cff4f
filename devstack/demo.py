"""``make demo``: the whole platform with a simulated city, on this machine, until Ctrl-C.

Starts Mosquitto and InfluxDB from the system's packages with their data under ``var/demo/``,
registers the simulated city (:mod:`devstack.city`) in a SQLite store, then runs ingest, the
rules engine (``rules/examples/liaocheng.yaml``), the API, and for every site its scenario
(``firmware-sim/scenarios/``: a particulate sensor and energy meters on Modbus RTU, Modbus TCP
and DL/T 645, with scheduled faults) in one ``lantian-firmware-sim scenario`` process, read by an
edge agent whose configuration is written from the fleet's endpoints. Particulate sensors
publish every sample, so readings flow at once; meters publish one-minute aggregates. It prints
what runs where and one live line of progress, read from ingest's and the rules engine's
Prometheus metrics, and an API key of a bureau viewer, made for this run in the demo's SQL
store, to call the API with (``X-API-Key``). Ctrl-C (or ``--duration``) stops the gateways
first, lets ingest drain, then stops everything else.

The demo's InfluxDB starts empty, so the rules engine looks back over no past windows
(``WINDOW_LOOKBACK_H=0``): hourly window rules record their first results two minutes after the
first clock hour the demo saw closes (``WINDOW_SETTLE_S=120``); stream rules answer at once.

    python -m devstack.demo [--sites N] [--duration SECONDS] [--api-port PORT]
"""

import argparse
import shutil
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

import httpx

from devstack.city import CITY, SimSite, register
from devstack.processes import ChildProcess, ProcessGroup, wait_until
from devstack.servers import InfluxServer, MosquittoServer, free_port
from devstack.services import IngestProgress, Platform, RulesProgress
from firmware_sim.fleet import FleetEndpoints
from firmware_sim.scenario import load_scenario
from store.sql import Registry, create_engine_for, migrate

DEFAULT_WORKDIR = Path("var/demo")
RULE_FILE = Path(__file__).resolve().parent.parent / "rules" / "examples" / "liaocheng.yaml"
# The demo's data begins with it: no past windows to look back on, and a shorter settle time.
RULES_SETTINGS = {"WINDOW_LOOKBACK_H": "0", "WINDOW_SETTLE_S": "120"}
_DRAIN_TIMEOUT_S = 15.0
_START_TIMEOUT_S = 60.0
_FLEET_TIMEOUT_S = 15.0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; returns 0 after a clean stop, 1 when a service failed."""
    parser = argparse.ArgumentParser(prog="python -m devstack.demo", description=__doc__)
    parser.add_argument("--sites", type=int, default=len(CITY), help="how many simulated sites")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument("--api-port", type=int, default=8000, help="0 or busy: any free port")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    args = parser.parse_args(argv)

    stop = threading.Event()

    def _on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    if args.duration is not None:
        threading.Timer(args.duration, stop.set).start()
    return run(args.workdir.resolve(), sites=args.sites, api_port=args.api_port, stop=stop)


def run(workdir: Path, *, sites: int, api_port: int, stop: threading.Event) -> int:
    """Start everything, report progress until ``stop`` is set, then stop in order."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    city = CITY[: max(1, sites)]
    say(f"Lantian demo: {len(city)} simulated sites, data under {workdir}")
    with (
        MosquittoServer(workdir / "mosquitto", persistence=True) as broker,
        InfluxServer(workdir / "influxdb") as influx,
        ProcessGroup() as services,
        ProcessGroup() as gateways,
    ):
        sql_url = f"sqlite:///{workdir / 'lantian.db'}"
        migrate(sql_url)
        register(Registry(create_engine_for(sql_url)), city)
        platform = Platform(workdir, broker.host, broker.port, influx.url, "lantian", sql_url)
        metrics_port, rules_port = free_port(), free_port()
        api_port = api_port if api_port and _port_is_free(api_port) else free_port()
        ingest = services.start(platform.ingest(metrics_port=metrics_port))
        rules = services.start(
            platform.rules(metrics_port=rules_port, rule_files=[RULE_FILE], settings=RULES_SETTINGS)
        )
        api = services.start(platform.api(port=api_port))
        api_key = platform.api_key("demo")
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        rules_url = f"http://127.0.0.1:{rules_port}/metrics"
        say("  waiting for ingest and the rules engine to subscribe ...")
        waits: list[tuple[ChildProcess, Callable[[], bool]]] = [
            (ingest, lambda: _subscribed(metrics_url)),
            (rules, lambda: _rules_subscribed(rules_url)),
        ]
        for child, subscribed in waits:
            if not wait_until(subscribed, timeout_s=_START_TIMEOUT_S):
                say(f"{child.name} did not subscribe within {_START_TIMEOUT_S:.0f} s; log ends:")
                say(child.log_tail())
                return 1
        for sim in city:
            endpoints = _start_fleet(platform, gateways, sim)
            if endpoints is None:
                return 1
            gateways.start(platform.edge(platform.gateway_config(sim.gateway, endpoints=endpoints)))
        api_url = f"http://127.0.0.1:{api_port}"
        first = city[0]
        say(
            "\n".join(
                [
                    (
                        f"  MQTT broker   mqtt://{broker.host}:{broker.port}"
                        f"   (watch: mosquitto_sub -p {broker.port} -t 'lantian/#' -v)"
                    ),
                    f"  InfluxDB      {influx.url}   database 'lantian'",
                    f"  SQL store     {sql_url}",
                    f"  ingest        metrics at {metrics_url}",
                    f"  rules         metrics at {rules_url}   rules {RULE_FILE.name}",
                    f"  API           {api_url}/docs",
                    f"  API key       {api_key}   (bureau_viewer, this run only)",
                    (
                        f"  readings      curl -H 'X-API-Key: {api_key}'"
                        f" '{api_url}/v1/sites/{first.site}/readings?metric=pm25'"
                    ),
                    f"  logs          {workdir / 'logs'}",
                    "  Ctrl-C stops everything.",
                ]
            )
        )
        failed = _report_until(
            stop,
            lambda: _progress_line(metrics_url, rules_url, api_url, api_key, first.site),
            [ingest, rules, api, *gateways.children],
        )
        say("\nstopping gateways ...")
        gateways.stop_all()
        _drain(metrics_url)
        say("stopping ingest, API, InfluxDB and Mosquitto ...")
    say("stopped.")
    return 1 if failed else 0


def _start_fleet(platform: Platform, gateways: ProcessGroup, sim: SimSite) -> FleetEndpoints | None:
    """Start the site's simulated devices and say what they are; None if they did not start."""
    fleet = gateways.start(platform.fleet(sim.scenario_path, sim.gateway))

    def announced() -> bool:
        return platform.fleet_endpoints(fleet) is not None or not fleet.running()

    wait_until(announced, timeout_s=_FLEET_TIMEOUT_S)
    endpoints = platform.fleet_endpoints(fleet)
    if endpoints is None:
        say(f"{fleet.name} did not start within {_FLEET_TIMEOUT_S:.0f} s; its log ends:")
        say(fleet.log_tail())
        return None
    devices = ", ".join(
        f"{d['type']} {d['id']}" + (f" ({len(d['members'])})" if "members" in d else "")
        for d in endpoints["devices"]
    )
    scenario = load_scenario(sim.scenario_path)
    every = f", every {scenario.repeat:.0f} s" if scenario.repeat else ""
    say(f"  {sim.gateway} {sim.site}: {devices}; {len(scenario.timeline)} faults{every}")
    return endpoints


def _report_until(
    stop: threading.Event, progress_line: Callable[[], str], watched: list[ChildProcess]
) -> bool:
    """Print the live progress line until ``stop``; True when a service died on its own."""
    started = time.monotonic()
    while not stop.wait(1.0):
        dead = [child for child in watched if not child.running()]
        if dead:
            for child in dead:
                say(f"\n{child.name} exited with status {child.returncode()}; its log ends:")
                say(child.log_tail())
            return True
        elapsed = time.monotonic() - started
        sys.stdout.write(f"\r  t+{elapsed:4.0f}s  {progress_line()}   ")
        sys.stdout.flush()
    return False


def _progress_line(metrics_url: str, rules_url: str, api_url: str, api_key: str, site: str) -> str:
    """Readings through ingest, rule results, and the latest PM2.5 of one site."""
    progress = IngestProgress.scrape(metrics_url)
    readings = (
        "ingest starting"
        if progress is None
        else f"received {progress.received}  written {progress.written}  "
        f"rejected {progress.rejected}"
    )
    rules = RulesProgress.scrape(rules_url)
    results = (
        "starting"
        if rules is None
        else f"{rules.changed} results, {rules.firing} firing"
        + (f", {rules.window_failures} window runs failed" if rules.window_failures else "")
    )
    latest = _latest_pm25(api_url, api_key, site)
    return f"readings {readings}  |  rules {results}  |  {site} pm25 {latest}"


def _latest_pm25(api_url: str, api_key: str, site: str) -> str:
    try:
        response = httpx.get(
            f"{api_url}/v1/sites/{site}/readings",
            params={"metric": "pm25"},
            headers={"X-API-Key": api_key},
            timeout=2.0,
        )
        readings = response.json()["readings"] if response.status_code == 200 else []
    except (httpx.HTTPError, ValueError, KeyError):
        return "(API not answering)"
    return f"{readings[-1]['value']:.0f} µg/m³" if readings else "(none yet)"


def _subscribed(metrics_url: str) -> bool:
    progress = IngestProgress.scrape(metrics_url)
    return progress is not None and progress.subscribed


def _rules_subscribed(metrics_url: str) -> bool:
    progress = RulesProgress.scrape(metrics_url)
    return progress is not None and progress.subscribed


def _drain(metrics_url: str) -> None:
    """Give ingest time to write what the gateways sent last."""

    def drained() -> bool:
        progress = IngestProgress.scrape(metrics_url)
        return progress is not None and progress.written >= progress.received

    wait_until(drained, timeout_s=_DRAIN_TIMEOUT_S, interval_s=0.2)


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def say(text: str) -> None:
    """Print a line of the demo's own output."""
    print(text, flush=True)  # noqa: T201 - the demo talks to its operator


if __name__ == "__main__":
    raise SystemExit(main())
