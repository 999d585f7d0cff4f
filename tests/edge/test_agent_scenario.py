"""The agent reads every device type of a simulated fleet through injected faults, and recovers.

A :class:`firmware_sim.fleet.Fleet` runs a PMS5003, an SDS011, a Modbus RTU bus with two meters,
a Modbus TCP meter and a DL/T 645 meter (behind current transformers) with a timeline of faults
in four phases; an in-process :class:`edge.agent.Agent`, configured from the fleet's endpoints,
publishes to a real Mosquitto every raw sample and one-second aggregates. Each fault must show in
the counters of the device it hit during its phase, the values must be the simulators' own, and
every device must be read again once the faults are over.
"""

import itertools
import json
import math
import threading
import time
from dataclasses import asdict
from pathlib import Path

import pytest
import yaml

from devstack.gateways import Polling, device_entries
from edge.agent import Agent
from edge.config import (
    Dlt645Config,
    ModbusRtuConfig,
    ModbusTcpConfig,
    Pms5003Config,
    Sds011Config,
    load_config,
)
from firmware_sim.faults import Fault
from telemetry import decode_batch, topics
from telemetry.catalog import CATALOG, MetricKind

pytestmark = pytest.mark.integration

GATEWAY = "gw-scenario"
METER = "123456789012"
# Seconds after the fleet started; each phase's faults last 1 s. A device that fails is polled
# less and less often (its backoff), so a device's next fault comes a phase after it recovered.
PHASES = (1.5, 3.0, 4.5, 6.0)
END_S = 7.5  # every fault is over
SETTLE_MS = 300  # longest a poll may take: a reading stamped later was read after a switch
TIMELINE = [
    {"at": 1.5, "device": "pm-1", "fault": "garbage", "for": 1},
    {"at": 1.5, "device": "pm-2", "fault": "silence", "for": 1},
    {"at": 1.5, "device": "rs485-1/2", "fault": "busy", "for": 1},
    {"at": 1.5, "device": "tcp-1/1", "fault": "silence", "for": 1},
    {"at": 1.5, "device": f"meters-1/{METER}", "fault": "busy", "for": 1},
    {"at": 3.0, "device": "pm-1", "fault": "silence", "for": 1},
    {"at": 3.0, "device": "rs485-1/1", "fault": "silence", "for": 1},
    {"at": 3.0, "device": "meters-1", "fault": "garbage", "for": 1},
    {"at": 4.5, "device": "pm-1", "fault": "stuck", "for": 1},
    {"at": 4.5, "device": "pm-2", "fault": "garbage", "for": 1},
    {"at": 4.5, "device": "rs485-1/2", "fault": "garbage", "for": 1},
    {"at": 4.5, "device": "rs485-1/1", "fault": "counter_reset"},
    {"at": 4.5, "device": "tcp-1/1", "fault": "counter_reset"},
    {"at": 4.5, "device": "meters-1", "fault": "counter_reset"},
    {"at": 6.0, "device": "pm-1", "fault": "bad_checksum", "for": 1},
    {"at": 6.0, "device": "pm-2", "fault": "bad_checksum", "for": 1},
    {"at": 6.0, "device": "rs485-1/1", "fault": "bad_checksum", "for": 1},
    {"at": 6.0, "device": "meters-1", "fault": "bad_checksum", "for": 1},
    {"at": 6.0, "device": "rs485-1/2", "fault": "stuck", "for": 1},
    {"at": 6.0, "device": "tcp-1/1", "fault": "busy", "for": 1},
]
SCENARIO = {
    "site": "site-test",
    "seed": 11,
    "devices": [
        {"type": "pms5003", "id": "pm-1", "period": 0.1},
        {"type": "sds011", "id": "pm-2", "period": 0.1},
        {
            "type": "modbus_rtu",
            "id": "rs485-1",
            "refresh": 0.05,
            "slaves": [
                {"unit": 1, "model": "sdm630", "rated_kw": 400, "flavour": "continuous"},
                {"unit": 2, "model": "sdm120", "flavour": "continuous"},
            ],
        },
        {
            "type": "modbus_tcp",
            "id": "tcp-1",
            "refresh": 0.05,
            "units": [{"unit": 1, "model": "sdm630", "rated_kw": 1200, "flavour": "continuous"}],
        },
        {
            "type": "dlt645",
            "id": "meters-1",
            "meters": [{"address": METER, "rated_kw": 800, "flavour": "continuous"}],
        },
    ],
    "timeline": TIMELINE,
}
# (phase, device id, counter that must rise during the phase): what each fault must show
EXPECTED = [
    (0, "pm-1", "checksum_errors"),
    (0, "pm-1", "garbage_bytes"),
    (0, "pm-2", "read_timeouts"),
    (0, "rs485-1-2", "device_faults"),
    (0, "tcp-1-1", "read_timeouts"),
    (0, "meters-1-123456789012", "device_faults"),
    (1, "pm-1", "read_timeouts"),
    (1, "rs485-1-1", "read_timeouts"),
    (1, "meters-1-123456789012", "checksum_errors"),
    (1, "meters-1-123456789012", "garbage_bytes"),
    (2, "pm-2", "checksum_errors"),
    (2, "rs485-1-2", "bad_frames"),
    (3, "pm-1", "checksum_errors"),
    (3, "pm-2", "bad_frames"),
    (3, "rs485-1-1", "bad_frames"),
    (3, "meters-1-123456789012", "bad_frames"),
    (3, "tcp-1-1", "device_faults"),
]
FAST = Polling(
    raw_particulates=True,
    raw_meters=True,
    pms5003_timeout_s=0.3,
    sds011_interval_s=0.3,
    sds011_warmup_s=0.0,
    sds011_samples=1,
    sds011_sample_interval_s=0.1,
    sds011_timeout_s=0.25,
    modbus_interval_s=0.2,
    dlt645_interval_s=0.3,
    timeout_s=0.15,
    retries=0,
    request_gap_s=0.0,
    dlt645_max_backoff_s=0.8,
)


def write_config(tmp_path, mosquitto, fleet):
    config = {
        "gateway": GATEWAY,
        "mqtt": {"host": mosquitto.host, "port": mosquitto.port},
        "publish": {"interval": 0.3},
        "aggregation": {"interval": 1.0, "grace": 0.2},
        "state_dir": str(tmp_path / "state"),
        "devices": device_entries(fleet.endpoints()["devices"], FAST),
    }
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def counters_of(agent):
    return {i: asdict(c) for d in agent.devices for i, c in d.counters().items()}


def records(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def is_slice(part, whole):
    return any(whole[i : i + len(part)] == part for i in range(len(whole) - len(part) + 1))


def is_subsequence(part, whole):
    rest = iter(whole)
    return all(any(x == y for y in rest) for x in part)


class Published:
    """What the agent published: every reading, the raw samples apart, by device and metric."""

    def __init__(self, watcher):
        self.found = [
            r for m in watcher.messages("/telemetry") for r in decode_batch(m.payload).readings
        ]
        self.raw = sorted((r for r in self.found if r.interval_s is None), key=lambda r: r.ts)

    def raw_values(self, device, metric):
        return [r.value for r in self.raw if (r.device, r.metric) == (device, metric)]


def test_the_agent_reads_every_device_type_through_faults_and_recovers(
    tmp_path, mosquitto, fleet_factory, mqtt_watch, wait_until
):
    fleet = fleet_factory(SCENARIO)
    watcher = mqtt_watch(topics.telemetry(GATEWAY))
    agent = Agent(load_config(write_config(tmp_path, mosquitto, fleet)), stats_interval=1.0)
    runner = threading.Thread(target=agent.run)
    runner.start()
    snapshots = []
    try:
        for at in (*PHASES, END_S):
            assert wait_until(lambda t=at: fleet.elapsed() >= t, timeout=15)
            snapshots.append(counters_of(agent))
        ended_ms = time.time_ns() // 1_000_000

        def recovered():
            now = counters_of(agent)
            return all(
                c["state"] == "ok" and c["frames"] > snapshots[-1][i]["frames"]
                for i, c in now.items()
            )

        assert wait_until(recovered, timeout=10), counters_of(agent)
    finally:
        agent.stop()
        runner.join(15)
    assert not runner.is_alive()
    assert sorted(snapshots[0]) == sorted(
        ["pm-1", "pm-2", "rs485-1-1", "rs485-1-2", "tcp-1-1", "meters-1-123456789012"]
    )
    assert [(a.device, a.fault) for a in fleet.applied() if a.begins] == [
        (e["device"], e["fault"]) for e in TIMELINE
    ]
    # every injected fault shows in the counters of the device it hit, while it lasted
    for phase, device, counter in EXPECTED:
        before, after = snapshots[phase][device][counter], snapshots[phase + 1][device][counter]
        assert after > before, (phase, device, counter, snapshots[phase + 1][device])
    published = Published(watcher)
    check_values_are_the_simulators(published, fleet)
    check_every_metric_arrived(published, agent.config)
    check_every_reset_is_counted(published, agent)
    check_stuck_values_hold(published, fleet, "pm-1", "pm25", "pm-1")
    check_stuck_values_hold(published, fleet, "rs485-1/2", "voltage", "rs485-1-2")
    # every device was read after the last fault ("ok" then: recovered() above)
    assert all(max(r.ts for r in published.raw if r.device == i) > ended_ms for i in snapshots[0])


def check_values_are_the_simulators(published, fleet):
    endpoints = {d["id"]: d for d in fleet.endpoints()["devices"]}
    pm1 = [r["pm25_atm"] for r in records(endpoints["pm-1"]["record"])]
    assert len(published.raw_values("pm-1", "pm25")) >= 30
    assert is_slice(published.raw_values("pm-1", "pm25"), pm1)
    pm2 = [r["pm25"] for r in records(endpoints["pm-2"]["record"]) if r.get("cause") == "query"]
    assert len(published.raw_values("pm-2", "pm25")) >= 5
    assert is_subsequence(published.raw_values("pm-2", "pm25"), pm2)
    for bus, unit, device in (
        ("rs485-1", 1, "rs485-1-1"),
        ("rs485-1", 2, "rs485-1-2"),
        ("tcp-1", 1, "tcp-1-1"),
    ):
        sent = [
            v["value"]
            for r in records(endpoints[bus]["record"])
            if r["unit"] == unit
            for v in r.get("values", [])
            if v["name"] == "energy_import"
        ]
        values = set(published.raw_values(device, "energy_import"))
        assert values
        # float32 registers: the edge publishes the shortest decimal that is the same float32
        assert all(any(math.isclose(v, s, rel_tol=1e-7) for s in sent) for v in values)
    ct = endpoints["meters-1"]["members"][0]["ct_ratio"]
    sent_kwh = {
        round(r["value"] * ct, 6)
        for r in records(endpoints["meters-1"]["record"])
        if r.get("di") == "00010000" and "value" in r  # not the error replies
    }
    assert set(published.raw_values("meters-1-123456789012", "energy_import")) <= sent_kwh


def check_every_metric_arrived(published, config):
    expected: dict[str, set[str]] = {}
    for device in config.devices:
        if isinstance(device, Pms5003Config | Sds011Config):
            expected[device.id] = set(device.metrics)
        elif isinstance(device, Dlt645Config):
            expected |= {m.id: set(m.identifiers) for m in device.meters}
        elif isinstance(device, ModbusRtuConfig | ModbusTcpConfig):
            expected |= {s.id: {p.metric for p in s.points()} for s in device.slaves}
    assert len(expected) == 6
    for device, metrics in expected.items():
        assert {r.metric for r in published.raw if r.device == device} == metrics, device
        aggregated = {r.metric for r in published.found if r.device == device and r.interval_s}
        assert metrics <= aggregated, device


def check_every_reset_is_counted(published, agent):
    for device in ("rs485-1-1", "tcp-1-1", "meters-1-123456789012"):
        values = published.raw_values(device, "energy_import")
        assert min(values) < 1.0 < values[0], device
    falls = 0
    counters = {(r.device, r.metric) for r in published.raw if is_counter(r.metric)}
    for device, metric in counters:
        values = published.raw_values(device, metric)
        falls += sum(1 for a, b in itertools.pairwise(values) if b < a and b < 1.0)
    assert falls >= 3
    assert agent.aggregator.counters().resets == falls


def check_stuck_values_hold(published, fleet, target, metric, device):
    begins, ends = [a for a in fleet.applied() if (a.device, a.fault) == (target, Fault.STUCK)]
    # a sample stamped just after the fault began may have been measured just before it
    inside = [
        r.value
        for r in published.raw
        if (r.device, r.metric) == (device, metric)
        and begins.wall_ms + SETTLE_MS < r.ts < ends.wall_ms
    ]
    assert len(inside) >= 2, (device, inside)
    assert len(set(inside)) == 1, (device, inside)
    assert len(set(published.raw_values(device, metric))) > 2  # it did change otherwise


def is_counter(metric):
    return CATALOG[metric].kind is MetricKind.COUNTER
