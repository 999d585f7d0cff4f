"""The thin slice end to end, every part a real process on real sockets and pseudo-terminals.

firmware-sim (PMS5003, active mode, on a pty) → lantian-edge (pyserial) → Mosquitto (MQTT QoS 1)
→ lantian-ingest → InfluxDB → lantian-api. The values the simulator put on the wire must come
back from the API unchanged and in order.
"""

import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from devstack.city import CITY, register
from devstack.processes import ProcessGroup, wait_until
from devstack.servers import free_port
from devstack.services import IngestProgress, Platform
from store.sql import Registry, create_engine_for

pytestmark = pytest.mark.e2e

SITE = CITY[0]
FRAMES = 25
AGGREGATION_S = 2


def _recorded(path):
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _aggregates_once_complete(reader, raw_count):
    """The pm25 aggregates, once they count ``raw_count`` samples or after 30 s.

    The partial interval the agent flushes when it stops may be batched after the last raw
    frame, so the aggregates are read again until it is there rather than once.
    """

    def complete():
        found = _api_readings(reader, "pm25", interval=f"{AGGREGATION_S}s")
        return sum(a["count"] for a in found) >= raw_count

    wait_until(complete, timeout_s=30)
    return _api_readings(reader, "pm25", interval=f"{AGGREGATION_S}s")


def _api_readings(api, metric, interval="raw"):
    now = datetime.now(UTC)
    window = {"start": (now - timedelta(hours=1)).isoformat(), "end": now.isoformat()}
    response = api.get(
        f"/v1/sites/{SITE.site}/readings",
        params={"metric": metric, "interval": interval, **window},
    )
    response.raise_for_status()
    return response.json()["readings"]


def test_values_on_the_wire_come_back_from_the_api_unchanged(
    tmp_path, mosquitto, influx, sqlite_url
):
    register(Registry(create_engine_for(sqlite_url)), [SITE])
    platform = Platform(
        tmp_path, mosquitto.host, mosquitto.port, influx.url, influx.database, sqlite_url
    )
    wire = tmp_path / "wire.jsonl"
    link = tmp_path / "dev" / "pm-1"
    link.parent.mkdir()
    api_port = free_port()
    # A bureau viewer's key: it reads every site.
    reader = httpx.Client(
        base_url=f"http://127.0.0.1:{api_port}",
        headers={"X-API-Key": platform.api_key("thin-slice")},
        timeout=5,
    )

    with ProcessGroup() as services, ProcessGroup() as gateways, reader:
        metrics_port = free_port()
        ingest = services.start(platform.ingest(metrics_port=metrics_port))
        api = services.start(platform.api(port=api_port))
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"

        def ingest_subscribed():
            progress = IngestProgress.scrape(metrics_url)
            return progress is not None and progress.subscribed

        assert wait_until(ingest_subscribed, timeout_s=60), ingest.log_tail()
        sim = gateways.start(platform.pms5003(link, seed=7, period_s=0.2, record=wire))
        assert wait_until(link.exists, timeout_s=10), sim.log_tail()
        config = platform.gateway_config(
            SITE.gateway,
            pms5003_links={"pm-1": link},
            publish_interval_s=0.5,
            aggregation_interval_s=AGGREGATION_S,
        )
        edge = gateways.start(platform.edge(config))

        assert wait_until(lambda: len(_recorded(wire)) >= FRAMES, timeout_s=30), sim.log_tail()
        # Stop the device first, so every frame it recorded was offered to the agent, then the
        # agent, which publishes what it holds before it exits.
        assert sim.stop() == 0, sim.log_tail()
        time.sleep(0.5)
        assert edge.stop() == 0, edge.log_tail()
        sent = _recorded(wire)

        def api_has_the_last_frame():
            try:
                readings = _api_readings(reader, "pm25")
            except httpx.HTTPError:
                return False
            return bool(readings) and readings[-1]["value"] == sent[-1]["pm25_atm"]

        assert wait_until(api_has_the_last_frame, timeout_s=30), (
            [f["pm25_atm"] for f in sent[-5:]],
            [r["value"] for r in _api_readings(reader, "pm25")][-5:],
            edge.log_tail(),
            api.log_tail(),
        )
        by_metric = {m: _api_readings(reader, m) for m in ("pm1", "pm25", "pm10")}
        aggregates = _aggregates_once_complete(reader, len(by_metric["pm25"]))

    served = list(
        zip(
            (r["value"] for r in by_metric["pm1"]),
            (r["value"] for r in by_metric["pm25"]),
            (r["value"] for r in by_metric["pm10"]),
            strict=True,
        )
    )
    on_the_wire = [(f["pm1_atm"], f["pm25_atm"], f["pm10_atm"]) for f in sent]
    # Frames the simulator wrote before the agent opened the port reached nobody; from the first
    # frame the agent read, every frame must be there, in order, with the same values.
    skipped = len(on_the_wire) - len(served)
    assert 0 <= skipped <= 10, (len(on_the_wire), len(served))
    assert served == on_the_wire[skipped:]
    assert len(served) >= FRAMES - 10
    assert all(r["device"] == "pm-1" and r["quality"] == "N" for r in by_metric["pm25"])
    timestamps = [r["ts"] for r in by_metric["pm25"]]
    assert timestamps == sorted(timestamps)
    assert len(set(timestamps)) == len(timestamps)

    # The gateway's interval aggregates of the same samples arrived too, each the exact summary
    # of the raw samples in its interval (the agent flushes partial intervals when it stops).
    assert aggregates
    width_ms = AGGREGATION_S * 1000
    for aggregate in aggregates:
        inside = [
            r["value"]
            for r in by_metric["pm25"]
            if aggregate["ts"] <= r["ts"] < aggregate["ts"] + width_ms
        ]
        assert aggregate["ts"] % width_ms == 0
        assert aggregate["count"] == len(inside)
        assert aggregate["min"] == min(inside)
        assert aggregate["max"] == max(inside)
        assert aggregate["value"] == pytest.approx(sum(inside) / len(inside))
    assert sum(a["count"] for a in aggregates) == len(by_metric["pm25"])
