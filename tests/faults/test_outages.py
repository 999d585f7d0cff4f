"""Outages of the platform while devices read: the broker, ingest, InfluxDB.

Each test breaks one part while a simulated PMS5003 sends ten frames a second, heals it, stops
the sensor, and then demands every frame the agent read in InfluxDB exactly once and in order.
"""

import random
import signal
import time
from pathlib import Path

from tests.faults.conftest import FaultBed, agent_frames, assert_contiguous, recorded

from devstack.processes import ChildProcess, wait_until
from devstack.servers import InfluxServer

DEVICE = "pm-1"


def _run_until_delivered(
    bed: FaultBed, record: Path, sim: ChildProcess, edge: ChildProcess
) -> None:
    """Stop the sensor, wait until the agent's spool is empty, stop the agent, and check."""
    assert sim.stop() == 0, sim.log_tail()
    assert bed.wait_drained(), edge.log_tail()
    assert edge.stop() == 0, edge.log_tail()
    stored = bed.stored(DEVICE)
    # every frame the agent read is in InfluxDB, once, in the order the sensor sent it; the
    # frames it did not read were sent before it opened the port (it starts in a second or a
    # few, on a busy machine) or were still in the pseudo-terminal when the sensor stopped
    read = agent_frames(edge, DEVICE)
    assert read == len(stored)
    sent = recorded(record)
    assert_contiguous(sent, stored, max_skipped=len(sent) - read)


def test_a_stopped_broker_loses_and_duplicates_nothing(bed: FaultBed) -> None:
    bed.start_ingest()
    sim, link, record = bed.start_sensor(DEVICE, seed=11)
    edge = bed.gateways.start(bed.platform.edge(bed.gateway_config({DEVICE: link})))
    assert wait_until(lambda: len(bed.stored(DEVICE, settled=False)) >= 10, timeout_s=30), (
        edge.log_tail()
    )

    bed.mosquitto.stop()
    time.sleep(5)  # 50 frames read and spooled with no broker
    bed.mosquitto.start()

    _run_until_delivered(bed, record, sim, edge)
    # one ingest process saw the whole run: it wrote each stored reading once
    assert bed.written_once(DEVICE)


def test_ingest_killed_mid_batch_repeatedly_loses_and_duplicates_nothing(bed: FaultBed) -> None:
    bed.start_ingest()
    sim, link, record = bed.start_sensor(DEVICE, seed=12)
    edge = bed.gateways.start(bed.platform.edge(bed.gateway_config({DEVICE: link})))
    assert wait_until(lambda: len(bed.stored(DEVICE, settled=False)) >= 10, timeout_s=30), (
        edge.log_tail()
    )

    moments = random.Random(3)  # noqa: S311 - seeded moments, not secrets
    for _ in range(3):
        time.sleep(moments.uniform(0.2, 1.5))  # batches arrive every 0.3 s: mid-batch likely
        ingest = bed.services.children[-1]
        ingest.signal(signal.SIGKILL)
        assert wait_until(lambda: not ingest.running(), timeout_s=10)  # noqa: B023
        time.sleep(moments.uniform(0.5, 2.0))  # the broker queues for the persistent session
        bed.start_ingest()

    _run_until_delivered(bed, record, sim, edge)


def test_a_stopped_influxdb_loses_and_duplicates_nothing(
    bed: FaultBed, influx_server: InfluxServer
) -> None:
    bed.start_ingest()
    sim, link, record = bed.start_sensor(DEVICE, seed=13)
    edge = bed.gateways.start(bed.platform.edge(bed.gateway_config({DEVICE: link})))
    assert wait_until(lambda: len(bed.stored(DEVICE, settled=False)) >= 10, timeout_s=30), (
        edge.log_tail()
    )

    influx_server.stop()
    time.sleep(5)  # ingest retries; the spool and the broker hold what arrives meanwhile
    influx_server.start()

    _run_until_delivered(bed, record, sim, edge)
    assert bed.written_once(DEVICE)
