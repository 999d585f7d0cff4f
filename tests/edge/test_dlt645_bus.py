"""The DL/T 645 bus owner against simulated meters on a real pty."""

import json
import threading
from collections import defaultdict

import pytest

from edge.config import Dlt645Config
from edge.devices import DeviceCounters, build_device
from edge.devices.dlt645 import Dlt645Bus
from edge.devices.polling import DeviceState
from firmware_sim import dlt645 as fs_dlt645
from firmware_sim.devices.dlt645 import Dlt645Simulator, MeterSpec
from firmware_sim.load_profile import Flavour
from firmware_sim.recorder import Recorder
from firmware_sim.serial_link import PtyLink
from telemetry import Quality

A, B = "123456789012", "000000004521"
EVERYTHING = [
    "energy_import",
    "energy_export",
    "energy_total",
    "voltage",
    "current",
    "active_power",
    "power_factor",
    "frequency",
]
SCALING = {  # what the CT ratio multiplies (VT ratio 1 here)
    "energy_import": True,
    "energy_export": True,
    "energy_total": True,
    "current": True,
    "active_power": True,
}


class Meters:
    def __init__(self, tmp_path, specs, **options):
        self.link = PtyLink(tmp_path / "rs485")
        self.recorder = Recorder(tmp_path / "replies.jsonl")
        self.simulator = Dlt645Simulator(self.link, specs, recorder=self.recorder, **options)
        self.simulator.start()

    def records(self):
        lines = self.recorder.path.read_text().splitlines()
        return [json.loads(line) for line in lines]

    def values(self, address):
        return [r["value"] for r in self.records() if r["address"] == address and "value" in r]

    def close(self):
        self.simulator.stop()
        self.link.close()
        self.recorder.close()


@pytest.fixture
def meters(tmp_path):
    started = []

    def start(specs, **options):
        started.append(Meters(tmp_path, specs, **options))
        return started[-1]

    yield start
    for m in started:
        m.close()


@pytest.fixture
def buses():
    started = []

    def start(cfg, sink):
        bus = build_device(cfg, sink)
        assert isinstance(bus, Dlt645Bus)
        started.append(bus)
        bus.start()
        return bus

    yield start
    for bus in started:
        bus.stop()


def config(port, meters, **bus):
    values = {"type": "dlt645", "id": "rs485", "port": str(port), "timeout": 0.3}
    values |= {"request_gap": 0.0, "max_backoff": 1.0, "meters": meters} | bus
    return Dlt645Config.model_validate(values)


def meter(device_id, address, **options):
    return {"id": device_id, "address": address, "interval": 0.1} | options


def by_device(polls):
    readings = defaultdict(list)
    for poll in polls:
        for r in poll:
            readings[r.device].append(r)
    return readings


def counters(bus: Dlt645Bus, device_id: str) -> DeviceCounters:
    return bus.counters()[device_id]


def test_two_meters_on_one_bus_read_what_the_simulator_sent(
    meters, buses, collector, wait_until, tmp_path
):
    sim = meters(
        [MeterSpec(A, rated_kw=800, ct_ratio=40, flavour=Flavour.CONTINUOUS), MeterSpec(B)],
        seed=7,
    )
    cfg = config(
        sim.link.path,
        [meter("m-a", A, identifiers=EVERYTHING, ct_ratio=40), meter("m-b", B)],
    )
    bus = buses(cfg, collector)
    assert wait_until(lambda: len(by_device(collector.snapshot())["m-b"]) >= 5)
    bus.stop()
    readings = by_device(collector.snapshot())
    a, b = readings["m-a"], readings["m-b"]
    assert [r.metric for r in a[: len(EVERYTHING)]] == EVERYTHING
    expected_a = [
        round(v * 40, 6) if SCALING.get(r.metric) else v
        for v, r in zip(sim.values(A), a, strict=True)
    ]
    assert [r.value for r in a] == expected_a
    assert [r.value for r in b] == sim.values(B)
    assert {r.metric for r in b} == {"energy_import"}
    assert {r.quality for r in a + b} == {Quality.NORMAL}
    power = [r.value for r in a if r.metric == "active_power"]
    assert all(650 < p < 800 for p in power)  # primary kW: 40 x what the meter measured
    for device_id in ("m-a", "m-b"):
        c = counters(bus, device_id)
        assert c.polls == c.frames >= 5
        assert (c.read_timeouts, c.bad_frames, c.device_faults, c.checksum_errors) == (0, 0, 0, 0)


def test_an_identifier_the_meter_lacks_is_a_device_fault_and_the_other_meter_reads_on(
    meters, buses, collector, wait_until
):
    sim = meters([MeterSpec(A), MeterSpec(B, without=frozenset({0x02060000}))])
    cfg = config(
        sim.link.path,
        [meter("m-a", A), meter("m-b", B, identifiers=["energy_import", "power_factor"])],
    )
    bus = buses(cfg, collector)
    assert wait_until(lambda: counters(bus, "m-b").device_faults >= 2)
    c = counters(bus, "m-b")
    assert c.state is DeviceState.EXCEPTION
    assert "02060000" in (c.last_error or "")
    assert "NO_DATA" in (c.last_error or "")
    assert c.backoff_s > 0.1
    assert wait_until(lambda: counters(bus, "m-a").polls >= 5)
    assert counters(bus, "m-a").state is DeviceState.OK
    assert "m-b" not in by_device(collector.snapshot())  # nothing half-read is published


def test_a_silent_meter_times_out_and_backs_off_while_the_other_keeps_reading(
    meters, buses, collector, wait_until
):
    sim = meters([MeterSpec(A), MeterSpec(B)])
    sim.simulator.set_silent(B)
    bus = buses(config(sim.link.path, [meter("m-a", A), meter("m-b", B)]), collector)
    assert wait_until(lambda: counters(bus, "m-b").read_timeouts >= 3)
    silent = counters(bus, "m-b")
    assert silent.state is DeviceState.TIMEOUT
    assert silent.backoff_s >= 0.4  # 0.1 s doubled per failure
    assert silent.consecutive_failures == silent.read_timeouts
    a_polls = counters(bus, "m-a").polls
    assert a_polls > 3 * silent.read_timeouts  # the live meter keeps its rhythm
    assert counters(bus, "m-a").state is DeviceState.OK
    sim.simulator.set_silent(B, silent=False)
    assert wait_until(lambda: counters(bus, "m-b").state is DeviceState.OK)
    recovered = counters(bus, "m-b")
    assert (recovered.consecutive_failures, recovered.backoff_s) == (0, 0.0)
    assert wait_until(lambda: "m-b" in by_device(collector.snapshot()))


def test_garbage_and_damaged_replies_are_counted_and_good_ones_still_read(
    meters, buses, collector, wait_until
):
    sim = meters([MeterSpec(A), MeterSpec(B)], garbage_every=2, corrupt_every=5)
    bus = buses(config(sim.link.path, [meter("m-a", A), meter("m-b", B)]), collector)
    assert wait_until(
        lambda: sum(counters(bus, d).bad_frames for d in ("m-a", "m-b")) >= 3, timeout=20
    )
    bus.stop()
    both = [counters(bus, d) for d in ("m-a", "m-b")]
    assert sum(c.garbage_bytes for c in both) > 0
    # a corrupt reply is a checksum error and a bad frame; random garbage may add a false one
    assert sum(c.checksum_errors for c in both) >= sum(c.bad_frames for c in both)
    assert sum(c.bad_frames for c in both) == sim.simulator.counters.corrupt_replies
    readings = by_device(collector.snapshot())
    assert [r.value for r in readings["m-a"]] == sim.values(A)
    assert [r.value for r in readings["m-b"]] == sim.values(B)


def test_a_counter_reset_is_read_as_it_is(meters, buses, collector, wait_until):
    sim = meters([MeterSpec(A)])
    bus = buses(config(sim.link.path, [meter("m-a", A)]), collector)
    assert wait_until(lambda: len(collector.snapshot()) >= 2)
    sim.simulator.reset_counter(A)
    assert wait_until(lambda: collector.snapshot()[-1][0].value < 1.0)
    bus.stop()
    values = [poll[0].value for poll in collector.snapshot()]
    assert values[0] > 1000  # the meter had been running a while
    assert values == sim.values(A)


def test_the_wildcard_reads_the_only_meter_on_the_bus(meters, buses, collector, wait_until):
    sim = meters([MeterSpec(A)], preamble=False)
    bus = buses(config(sim.link.path, [meter("m", "AAAAAAAAAAAA")], preamble=False), collector)
    assert wait_until(lambda: len(collector.snapshot()) >= 2)
    bus.stop()
    assert [p[0].value for p in collector.snapshot()] == sim.values(A)


def test_a_port_that_cannot_be_opened_is_counted_for_every_meter(
    tmp_path, buses, collector, wait_until
):
    cfg = config(tmp_path / "missing", [meter("m-a", A), meter("m-b", B)])
    bus = buses(cfg, collector)
    assert wait_until(lambda: counters(bus, "m-b").open_failures >= 1)
    for device_id in ("m-a", "m-b"):
        c = counters(bus, device_id)
        assert c.state is DeviceState.DISCONNECTED
        assert "missing" in (c.last_error or "")


def test_disabled_meters_are_not_polled(meters, buses, collector, wait_until):
    sim = meters([MeterSpec(A), MeterSpec(B)])
    cfg = config(sim.link.path, [meter("m-a", A), meter("m-b", B, enabled=False)])
    bus = buses(cfg, collector)
    assert wait_until(lambda: len(collector.snapshot()) >= 3)
    bus.stop()
    assert set(by_device(collector.snapshot())) == {"m-a"}
    assert set(bus.counters()) == {"m-a"}
    assert sim.values(B) == []


def test_the_echo_of_our_own_request_and_replies_from_other_meters_are_skipped(
    tmp_path, buses, collector, wait_until
):
    # some RS-485 adapters echo what the host sends; a late reply from another meter may follow
    reply = fs_dlt645.read_reply(fs_dlt645.address_field(A), 0x00010000, bytes.fromhex("67452301"))
    stray = fs_dlt645.read_reply(fs_dlt645.address_field(B), 0x00010000, bytes.fromhex("00000000"))
    stop = threading.Event()
    with PtyLink(tmp_path / "echo") as link:

        def echoing_meter():
            scanner = fs_dlt645.RequestScanner()
            while not stop.is_set():
                data = link.read(0.05)
                for _ in scanner.feed(data):
                    link.write(data + stray + reply)

        thread = threading.Thread(target=echoing_meter, daemon=True)
        thread.start()
        bus = buses(config(link.path, [meter("m-a", A)]), collector)
        assert wait_until(lambda: len(collector.snapshot()) >= 2)
        bus.stop()
        stop.set()
        thread.join()
    assert {poll[0].value for poll in collector.snapshot()} == {12345.67}
    assert counters(bus, "m-a").bad_frames == 0
