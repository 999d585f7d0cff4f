"""A simulated fleet of gateways against a broker of one's choosing, until SIGTERM or Ctrl-C.

The demo starts its own broker; a deployment (``docker-compose.yml``'s ``fleet`` service) has one
with accounts and ACLs. This runs the same simulated city there: per site its devices
(``lantian-firmware-sim scenario``) and an edge agent (``lantian-edge run``) whose configuration
is written from the fleet's endpoints and signs in with the gateway's own account.

    python -m devstack.fleet register --sql-url URL [--sites N]
    python -m devstack.fleet gateways [--sites N]
    python -m devstack.fleet run --mqtt-host HOST [--mqtt-port PORT] --workdir DIR
                                 [--credentials DIR] [--sites N]

``register`` enters the sites, their enterprises and gateways into the registry (once: a second
run finds them there and changes nothing); ``gateways`` prints the gateway ids, one per line, for
issuing their broker accounts; ``run`` starts the fleet. With ``--credentials``, the gateway
``gw-0001`` signs in as ``gw-0001`` with the password in the file ``DIR/gw-0001``: what
``lantian-api broker-account issue gateway gw-0001`` printed (its last word is the password).

Exit status: 0 after a clean stop, 1 when a simulator or an edge agent failed or a credential is
missing, 2 for bad command-line usage.
"""

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import yaml

from devstack.city import CITY, SimSite, register
from devstack.processes import ProcessGroup, wait_until
from devstack.services import Platform
from firmware_sim.fleet import FleetEndpoints
from store.sql import Registry, create_engine_for

_FLEET_TIMEOUT_S = 15.0
_WATCH_INTERVAL_S = 1.0


class CredentialError(RuntimeError):
    """A gateway's password file is missing or empty."""


def sites(count: int) -> tuple[SimSite, ...]:
    """The first ``count`` sites of the simulated city (at least one)."""
    if count < 1:
        raise ValueError(f"a fleet needs at least one site, not {count}")
    return CITY[:count]


def register_city(registry: Registry, city: Sequence[SimSite]) -> list[str]:
    """Register the sites whose gateway is not registered yet; returns those gateways.

    Each simulated site has a county, a park and an enterprise of its own, so a fleet grown by
    ``--sites`` registers the new sites beside the old ones.
    """
    placed = registry.placements()
    missing = [sim for sim in city if sim.gateway not in placed]
    register(registry, missing)
    return [sim.gateway for sim in missing]


def gateway_password(credentials: Path, gateway: str) -> str:
    """The password of ``gateway``: the last word of the file ``credentials/<gateway>``."""
    path = credentials / gateway
    try:
        words = path.read_text(encoding="utf-8").split()
    except FileNotFoundError:
        raise CredentialError(f"{path}: no password for gateway {gateway}") from None
    if not words:
        raise CredentialError(f"{path}: the file is empty, no password for gateway {gateway}")
    return words[-1]


def sign_in(config: Path, username: str, password: str) -> None:
    """Add the broker account to a gateway's YAML file (written owner-only: it holds a secret)."""
    document = yaml.safe_load(config.read_text(encoding="utf-8"))
    document["mqtt"] |= {"username": username, "password": password}
    config.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    config.chmod(0o600)


def run(
    platform: Platform, city: Sequence[SimSite], credentials: Path | None, stop: threading.Event
) -> int:
    """Start every site's devices and edge agent, watch them until ``stop``, stop in order."""
    passwords: dict[str, str] = {}
    if credentials is not None:
        try:
            passwords = {sim.gateway: gateway_password(credentials, sim.gateway) for sim in city}
        except CredentialError as error:
            say(str(error))
            return 1
    with ProcessGroup() as children:
        for sim in city:
            endpoints = _start_devices(platform, children, sim)
            if endpoints is None:
                return 1
            config = platform.gateway_config(sim.gateway, endpoints=endpoints)
            if sim.gateway in passwords:
                sign_in(config, sim.gateway, passwords[sim.gateway])
            children.start(platform.edge(config))
            say(f"{sim.gateway} ({sim.site}): {len(endpoints['devices'])} devices, edge started")
        while not stop.wait(_WATCH_INTERVAL_S):
            dead = children.exited()
            if dead:
                for child in dead:
                    say(f"{child.name} exited with {child.returncode()}; its log ends:")
                    say(child.log_tail())
                return 1
    return 0


def _start_devices(
    platform: Platform, children: ProcessGroup, sim: SimSite
) -> FleetEndpoints | None:
    """Start a site's simulated devices; where they are, or None when they did not start."""
    fleet = children.start(platform.fleet(sim.scenario_path, sim.gateway))

    def announced() -> bool:
        return platform.fleet_endpoints(fleet) is not None or not fleet.running()

    wait_until(announced, timeout_s=_FLEET_TIMEOUT_S)
    endpoints = platform.fleet_endpoints(fleet)
    if endpoints is None:
        say(f"{fleet.name} did not start; its log ends:\n{fleet.log_tail()}")
    return endpoints


def build_parser() -> argparse.ArgumentParser:
    """The command-line grammar: ``register``, ``gateways`` and ``run``, each with ``--sites``."""
    parser = argparse.ArgumentParser(prog="python -m devstack.fleet", description=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--sites", type=int, default=len(CITY), help="how many simulated sites")
    commands = parser.add_subparsers(dest="command", required=True)
    registering = commands.add_parser(
        "register", parents=[common], help="enter the city into the registry"
    )
    registering.add_argument("--sql-url", required=True)
    commands.add_parser("gateways", parents=[common], help="print the gateway ids, one per line")
    running = commands.add_parser("run", parents=[common], help="run until SIGTERM or Ctrl-C")
    running.add_argument("--mqtt-host", required=True)
    running.add_argument("--mqtt-port", type=int, default=1883)
    running.add_argument("--workdir", type=Path, required=True)
    running.add_argument("--credentials", type=Path, help="a password file per gateway")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the chosen command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.sites < 1:
        parser.error("--sites must be at least 1")
    city = sites(args.sites)
    if args.command == "register":
        added = register_city(Registry(create_engine_for(args.sql_url)), city)
        say(f"registered {len(added)} simulated sites" if added else "already registered")
        return 0
    if args.command == "gateways":
        for sim in city:
            say(sim.gateway)
        return 0
    stop = threading.Event()

    def _on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    # Only the gateways and their devices run here: the services' fields are never read.
    platform = Platform(args.workdir.resolve(), args.mqtt_host, args.mqtt_port, "", "", "")
    return run(platform, city, args.credentials, stop)


def say(text: str) -> None:
    """Print a line for the operator (the container's log)."""
    print(text, flush=True)  # noqa: T201 - the fleet talks to its operator


if __name__ == "__main__":
    sys.exit(main())
