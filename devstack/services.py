"""The platform's processes wired to one broker, one InfluxDB and one SQL store.

Shared by the demo and the end-to-end tests, so both run the services exactly as an operator
would: console scripts, settings in environment variables, a YAML file per gateway.
"""

import dataclasses
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from devstack.gateways import Polling, device_entries, read_endpoints
from devstack.processes import ChildProcess, console_script
from firmware_sim.fleet import FleetEndpoints
from store.sql import AccountStore, Role, create_engine_for


@dataclass(frozen=True, slots=True)
class Platform:
    """Where the services of one running platform find each other."""

    workdir: Path
    mqtt_host: str
    mqtt_port: int
    influx_url: str
    influx_database: str
    sql_url: str

    def ingest(
        self,
        *,
        metrics_port: int,
        name: str = "ingest",
        client_id: str | None = None,
        shared_group: str | None = None,
        settings: Mapping[str, str] | None = None,
    ) -> ChildProcess:
        """The ingest service, with its metrics on ``metrics_port``.

        One of N workers takes a ``client_id`` of its own (its persistent session) and the
        ``shared_group`` of all N, so they split the telemetry (an MQTT 5 shared subscription).
        ``settings``: further ``LANTIAN_INGEST_*`` variables, named without that prefix
        (``{"BATCH_MAX_READINGS": "10000"}``); they override the ones set here.
        """
        env = {
            "LANTIAN_INGEST_MQTT_HOST": self.mqtt_host,
            "LANTIAN_INGEST_MQTT_PORT": str(self.mqtt_port),
            "LANTIAN_INGEST_INFLUX__URL": self.influx_url,
            "LANTIAN_INGEST_INFLUX__DATABASE": self.influx_database,
            "LANTIAN_INGEST_SQL_URL": self.sql_url,
            "LANTIAN_INGEST_METRICS_PORT": str(metrics_port),
            "LANTIAN_INGEST_REGISTRY_REFRESH_S": "2",
        }
        if client_id is not None:
            env["LANTIAN_INGEST_MQTT_CLIENT_ID"] = client_id
        if shared_group is not None:
            env["LANTIAN_INGEST_MQTT_SHARED_GROUP"] = shared_group
        env |= {f"LANTIAN_INGEST_{key}": value for key, value in (settings or {}).items()}
        return ChildProcess(
            name, [console_script("lantian-ingest")], log_path=self._log(name), env=env
        )

    def rules(
        self,
        *,
        metrics_port: int,
        rule_files: Sequence[Path],
        name: str = "rules",
        settings: Mapping[str, str] | None = None,
    ) -> ChildProcess:
        """The rules engine (``lantian-rules run``) with ``rule_files``; metrics on that port.

        ``settings``: further ``LANTIAN_RULES_*`` variables, named without that prefix
        (``{"WINDOW_LOOKBACK_H": "0"}``); they override the ones set here.
        """
        env = {
            "LANTIAN_RULES_RULE_FILES": ",".join(str(path) for path in rule_files),
            "LANTIAN_RULES_MQTT_HOST": self.mqtt_host,
            "LANTIAN_RULES_MQTT_PORT": str(self.mqtt_port),
            "LANTIAN_RULES_INFLUX__URL": self.influx_url,
            "LANTIAN_RULES_INFLUX__DATABASE": self.influx_database,
            "LANTIAN_RULES_SQL_URL": self.sql_url,
            "LANTIAN_RULES_METRICS_PORT": str(metrics_port),
            "LANTIAN_RULES_REGISTRY_REFRESH_S": "2",
        }
        env |= {f"LANTIAN_RULES_{key}": value for key, value in (settings or {}).items()}
        return ChildProcess(
            name, [console_script("lantian-rules"), "run"], log_path=self._log(name), env=env
        )

    def api(self, *, port: int) -> ChildProcess:
        """The HTTP API on ``port``, signing its tokens with a secret of its own.

        Callers present an API key (:meth:`api_key`), which the secret does not concern.
        """
        env = {
            "LANTIAN_API_PORT": str(port),
            "LANTIAN_API_INFLUX__URL": self.influx_url,
            "LANTIAN_API_INFLUX__DATABASE": self.influx_database,
            "LANTIAN_API_SQL_URL": self.sql_url,
            "LANTIAN_API_JWT_SECRET": secrets.token_urlsafe(48),
        }
        return ChildProcess(
            "api", [console_script("lantian-api"), "serve"], log_path=self._log("api"), env=env
        )

    def api_key(self, name: str, *, role: Role = Role.BUREAU_VIEWER) -> str:
        """A new API key of ``role`` in the SQL store, for an ``X-API-Key`` header.

        The store keeps only its hash: whoever asks for it must print or keep it.
        """
        engine = create_engine_for(self.sql_url)
        try:
            _, key = AccountStore(engine).create_api_key(name, role=role)
        finally:
            engine.dispose()
        return key

    def pms5003(
        self, link: Path, *, seed: int, period_s: float = 1.0, record: Path | None = None
    ) -> ChildProcess:
        """A simulated PMS5003 in active mode on a pseudo-terminal reachable at ``link``."""
        command = [
            console_script("lantian-firmware-sim"),
            "pms5003",
            "--link",
            str(link),
            "--seed",
            str(seed),
            "--period",
            str(period_s),
        ]
        if record is not None:
            command += ["--record", str(record)]
        return ChildProcess(f"sim-{link.name}", command, log_path=self._log(f"sim-{link.name}"))

    def fleet(self, scenario: Path, name: str, *, record_dir: Path | None = None) -> ChildProcess:
        """Every simulated device of a scenario file in one process, its pty links in ``dev/``.

        The process prints its endpoints to a file of their own: see :meth:`fleet_endpoints`.
        """
        command = [
            console_script("lantian-firmware-sim"),
            "scenario",
            str(scenario),
            "--workdir",
            str(self.workdir / "dev" / name),
        ]
        if record_dir is not None:
            command += ["--record-dir", str(record_dir)]
        return ChildProcess(
            f"fleet-{name}",
            command,
            log_path=self._log(f"fleet-{name}"),
            stdout_path=self.workdir / "fleets" / f"{name}.json",
        )

    @staticmethod
    def fleet_endpoints(fleet: ChildProcess) -> FleetEndpoints | None:
        """Where a :meth:`fleet` process's devices are; None until it has said so."""
        if fleet.stdout_path is None:
            raise ValueError(f"{fleet.name} keeps no standard output of its own")
        return read_endpoints(fleet.stdout_path)

    def gateway_config(  # noqa: PLR0913 - keyword-only options
        self,
        gateway: str,
        *,
        pms5003_links: dict[str, Path] | None = None,
        endpoints: FleetEndpoints | None = None,
        polling: Polling | None = None,
        publish_interval_s: float = 2.0,
        aggregation_interval_s: float = 60.0,
        raw: bool = True,
    ) -> Path:
        """Write the YAML file of a gateway and return its path.

        The gateway reads the PMS5003 sensors at ``pms5003_links`` and every device of a fleet
        (:meth:`fleet_endpoints`), the fleet's as ``polling`` says.

        ``raw``: the particulate sensors publish every sample besides the interval aggregates,
        so readings show at once; meters follow ``polling.raw_meters``.
        """
        polling = dataclasses.replace(polling or Polling(), raw_particulates=raw)
        devices: list[dict[str, object]] = [
            {
                "type": "pms5003",
                "id": device,
                "port": str(link),
                "mode": "active",
                "raw": raw,
                "warmup": 0,  # a simulated sensor is settled at once
            }
            for device, link in (pms5003_links or {}).items()
        ]
        if endpoints is not None:
            devices += device_entries(endpoints["devices"], polling)
        config = {
            "gateway": gateway,
            "mqtt": {"host": self.mqtt_host, "port": self.mqtt_port},
            "publish": {"interval": publish_interval_s},
            "aggregation": {"interval": aggregation_interval_s},
            "state_dir": str(self.workdir / "edge" / gateway),
            "devices": devices,
        }
        path = self.workdir / "edge" / f"{gateway}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
        return path

    def edge(self, config: Path) -> ChildProcess:
        """An edge agent running the gateway described by ``config``."""
        return ChildProcess(
            f"edge-{config.stem}",
            [console_script("lantian-edge"), "run", str(config), "--stats-interval", "10"],
            log_path=self._log(f"edge-{config.stem}"),
        )

    def _log(self, name: str) -> Path:
        return self.workdir / "logs" / f"{name}.log"


def scrape_totals(metrics_url: str) -> dict[str, float] | None:
    """Each metric family's value summed over its labels; None while the service does not answer."""
    try:
        text = httpx.get(metrics_url, timeout=1.0).text
    except httpx.HTTPError:
        return None
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.endswith("_total") or sample.name == family.name:
                totals[family.name] = totals.get(family.name, 0.0) + sample.value
    return totals


@dataclass(frozen=True, slots=True)
class IngestProgress:
    """Ingest's counters, as scraped from its metrics endpoint."""

    received: int
    written: int
    rejected: int
    subscribed: bool  # the broker confirmed ingest's subscription: gateways may publish

    @classmethod
    def scrape(cls, metrics_url: str) -> "IngestProgress | None":
        """Read the counters; None while ingest does not answer."""
        totals = scrape_totals(metrics_url)
        if totals is None:
            return None
        return cls(
            received=int(totals.get("lantian_ingest_readings_received", 0)),
            written=int(totals.get("lantian_ingest_readings_written", 0)),
            rejected=int(totals.get("lantian_ingest_messages_rejected", 0)),
            subscribed=totals.get("lantian_ingest_subscribed", 0) == 1,
        )


@dataclass(frozen=True, slots=True)
class RulesProgress:
    """The rules engine's counters, as scraped from its metrics endpoint."""

    readings: int  # readings the stream rules evaluated
    changed: int  # results new or changed, stream and stored-data rules together
    firing: int  # stream episodes firing now
    window_runs: int  # runs of window, energy and target rules completed
    window_failures: int
    subscribed: bool

    @classmethod
    def scrape(cls, metrics_url: str) -> "RulesProgress | None":
        """Read the counters; None while the rules engine does not answer."""
        totals = scrape_totals(metrics_url)
        if totals is None:
            return None
        return cls(
            readings=int(totals.get("lantian_rules_readings_evaluated", 0)),
            changed=int(
                totals.get("lantian_rules_results_changed", 0)
                + totals.get("lantian_rules_window_results_changed", 0)
            ),
            firing=int(totals.get("lantian_rules_open_episodes", 0)),
            window_runs=int(totals.get("lantian_rules_window_runs", 0)),
            window_failures=int(totals.get("lantian_rules_window_failures", 0)),
            subscribed=totals.get("lantian_rules_subscribed", 0) == 1,
        )
