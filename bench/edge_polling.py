"""Edge polling benchmark: one agent, 100 Modbus TCP meters at 1 Hz and 10 PMS5003 sensors.

    uv run --no-sync python -m bench.edge_polling [--meters 100] [--pms 10] [--seconds 60]

Goal: at most 25 % of one core and 80 MB resident memory for the agent.
The agent runs as an operator runs it (``lantian-edge run site.yaml``) against a real Mosquitto;
the simulators run in another process. After a warm-up, the agent's CPU time over the window and
its resident set are read from /proc, and the one-minute aggregates it publishes show whether it
kept the 1 Hz pace: an SDM630 polled every second yields ``count`` 60 per value and minute.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from bench.procstat import cpu_sample, cpu_share, memory_mb
from devstack.processes import ChildProcess, console_script
from devstack.servers import MosquittoServer
from telemetry import decode_batch, topics

GATEWAY = "gw-bench"
WARMUP_S = 20.0


def gateway_config(workdir: Path, broker: MosquittoServer, endpoints: dict[str, list[Any]]) -> Path:
    """The agent's YAML: one Modbus TCP endpoint per meter, plus the PMS5003 sensors."""
    devices: list[dict[str, object]] = [
        {
            "type": "modbus_tcp",
            "id": f"tcp-{n:03d}",
            "host": "127.0.0.1",
            "port": port,
            "slaves": [{"id": f"meter-{n:03d}", "unit": 1, "profile": "sdm630", "interval": 1}],
        }
        for n, port in enumerate(endpoints["meters"])
    ]
    devices += [
        {"type": "pms5003", "id": f"pm-{n}", "port": link, "mode": "active", "warmup": 0}
        for n, link in enumerate(endpoints["pms"])
    ]
    config = {
        "gateway": GATEWAY,
        "mqtt": {"host": broker.host, "port": broker.port},
        "publish": {"interval": 5},
        "aggregation": {"interval": 60},
        "state_dir": str(workdir / "state"),
        "devices": devices,
    }
    path = workdir / "site.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


class AggregateWatcher:
    """Collects the per-minute ``count`` of every meter's voltage_l1 aggregate."""

    def __init__(self, broker: MosquittoServer) -> None:
        self.counts: dict[int, list[int]] = {}
        self._lock = threading.Lock()
        self._client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        self._client.on_message = self._on_message
        self._client.connect(broker.host, broker.port)
        self._client.subscribe(topics.telemetry(GATEWAY), qos=1)
        self._client.loop_start()

    def _on_message(self, _client: object, _userdata: object, message: mqtt.MQTTMessage) -> None:
        for reading in decode_batch(bytes(message.payload)).readings:
            if reading.metric == "voltage_l1" and reading.count is not None:
                with self._lock:
                    self.counts.setdefault(reading.ts, []).append(reading.count)

    def stop(self) -> None:
        """Disconnect."""
        self._client.loop_stop()
        self._client.disconnect()


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--meters", type=int, default=100)
    parser.add_argument("--pms", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lantian-bench-") as tmp:
        workdir = Path(tmp)
        with MosquittoServer(workdir / "mosquitto") as broker:
            sims = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bench.edge_sims",
                    "--meters",
                    str(args.meters),
                    "--pms",
                    str(args.pms),
                    "--workdir",
                    str(workdir),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            try:
                if sims.stdout is None:
                    raise RuntimeError("the simulators' output is not a pipe")
                endpoints = json.loads(sims.stdout.readline())
                config = gateway_config(workdir, broker, endpoints)
                watcher = AggregateWatcher(broker)
                agent = ChildProcess(
                    "edge",
                    [console_script("lantian-edge"), "run", str(config), "--log-level", "WARNING"],
                    log_path=workdir / "edge.log",
                )
                agent.start()
                try:
                    figures = measure(agent, args.seconds)
                finally:
                    agent.stop()
                    watcher.stop()
            finally:
                sims.terminate()
                sims.wait(10)
        report(args, figures, watcher)
    return 0


def measure(agent: ChildProcess, seconds: float) -> dict[str, float]:
    """CPU share over ``seconds`` after the warm-up, and memory at the end."""
    pid = agent.pid
    if pid is None:
        raise RuntimeError("the agent did not start")
    time.sleep(WARMUP_S)
    if not agent.running():
        raise RuntimeError(f"the agent exited: {agent.log_tail()}")
    before = cpu_sample(pid)
    time.sleep(seconds)
    after = cpu_sample(pid)
    rss, peak = memory_mb(pid)
    return {"cpu": cpu_share(before, after), "rss_mb": rss, "peak_rss_mb": peak}


def report(args: argparse.Namespace, figures: dict[str, float], watcher: AggregateWatcher) -> None:
    """Print the figures, and how many polls per minute the meters got."""
    full_minutes = sorted(watcher.counts)[1:-1]  # the first and last minutes are partial
    per_minute = [c for ts in full_minutes for c in watcher.counts[ts]]
    print(f"meters {args.meters} (SDM630, Modbus TCP, 1 Hz)  PMS5003 {args.pms}")
    print(f"agent CPU        {figures['cpu'] * 100:.1f} % of one core over {args.seconds:.0f} s")
    rss, peak = figures["rss_mb"], figures["peak_rss_mb"]
    print(f"agent memory     {rss:.1f} MB resident, peak {peak:.1f} MB")
    if per_minute:
        mean = sum(per_minute) / len(per_minute)
        print(
            f"polls per meter  {mean:.1f} per minute (min {min(per_minute)}) over "
            f"{len(full_minutes)} full minute(s), {len(per_minute)} meter-minutes"
        )
    else:
        print("polls per meter  no full minute observed: run with --seconds 120 or more")


if __name__ == "__main__":
    raise SystemExit(main())
