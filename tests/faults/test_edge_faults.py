"""Faults of the gateway itself: its agent killed, its disk quota reached.

The agent holds a batch in memory for at most the publish interval (0.3 s here) before the
spool numbers and stores it; a SIGKILL loses that, and a sensor frame sent while no agent runs
reaches nobody. What the spool took must reach InfluxDB exactly once.
"""

import random
import signal
import time

from tests.faults.conftest import PERIOD_S, FaultBed, agent_frames, holes, recorded

from devstack.processes import wait_until

DEVICE = "pm-1"
KILLS = 4


def test_an_agent_killed_repeatedly_loses_nothing_it_spooled(bed: FaultBed) -> None:
    bed.start_ingest()
    sim, link, record = bed.start_sensor(DEVICE, seed=21)
    config = bed.gateway_config({DEVICE: link})
    edge = bed.gateways.start(bed.platform.edge(config))
    assert wait_until(lambda: len(bed.stored(DEVICE, settled=False)) >= 10, timeout_s=30), (
        edge.log_tail()
    )

    moments = random.Random(5)  # noqa: S311 - seeded moments, not secrets
    down_s = 0.0
    for _ in range(KILLS):
        time.sleep(moments.uniform(0.3, 2.0))  # mid-read, mid-spool or mid-publish
        edge.signal(signal.SIGKILL)
        assert wait_until(lambda: not edge.running(), timeout_s=10)  # noqa: B023
        started = time.monotonic()
        time.sleep(moments.uniform(0.1, 1.0))
        edge = bed.gateways.start(bed.platform.edge(config))
        down_s += time.monotonic() - started
    time.sleep(2)

    assert sim.stop() == 0, sim.log_tail()
    assert bed.wait_drained(), edge.log_tail()
    assert edge.stop() == 0, edge.log_tail()

    # Every seq the spool handed out (1..last_seq, contiguous by construction) before the
    # last stop was covered by the platform's watermark, or the spool would not have drained;
    # no gap can have been declared (gap timeout 600 s), so every spooled batch was stored.
    (last_seq,) = bed.spool_query("SELECT value FROM meta WHERE key = 'last_seq'")[0]
    assert isinstance(last_seq, int)
    assert last_seq > KILLS
    # ... and stored once: one ingest process wrote each point once
    assert bed.written_once(DEVICE)
    # The stored samples are the sensor's frames in order, none repeated or made up; the
    # frames missing are those no agent held in its spool: at each kill the unspooled batch
    # and the frames sent until the next agent opened the port (its start takes about a
    # second on this machine), plus the frames before the first agent and after the last.
    sent = recorded(record)
    stored = bed.stored(DEVICE)
    missing = sum(n for _, n in holes(sent, stored))
    bound = (down_s + KILLS * (0.3 + 2.0) + 2 * 2.0) / PERIOD_S
    assert missing == len(sent) - len(stored)
    assert missing <= bound, (missing, bound)
    # the last agent's frames all arrived
    assert agent_frames(edge, DEVICE) <= len(stored)


def test_a_full_spool_drops_raw_samples_by_policy_and_delivers_the_rest(bed: FaultBed) -> None:
    bed.mosquitto.stop()  # the gateway is cut off from the platform
    sim, link, _ = bed.start_sensor(DEVICE, seed=31)
    # ~150 bytes of JSON per reading, 30 readings a second: 20 kB fill within a second or so
    edge = bed.gateways.start(bed.platform.edge(bed.gateway_config({DEVICE: link}, quota_mb=0.02)))

    def dropping() -> bool:
        return bool(bed.spool_path.exists() and bed.spool_query("SELECT count(*) FROM drops")[0][0])

    assert wait_until(dropping, timeout_s=30), edge.log_tail()
    time.sleep(2)
    assert sim.stop() == 0, sim.log_tail()
    time.sleep(1)

    bed.mosquitto.start()
    bed.start_ingest()
    assert bed.wait_drained(), edge.log_tail()
    assert edge.stop() == 0, edge.log_tail()

    rows = bed.spool_query("SELECT kind, sum(readings) FROM drops GROUP BY kind")
    drops = {str(kind): int(str(count)) for kind, count in rows}
    # the policy's first step sufficed: raw samples only, never aggregates or whole batches
    assert set(drops) == {"raw"}, drops
    assert drops["raw"] > 0
    # the agent reported the same drops in its counters
    assert f"dropped_raw={drops['raw']}, dropped_aggregate=0, dropped_batches=0" in (
        edge.log_tail(400)
    )
    # every reading the agent read was either dropped by the policy or is in InfluxDB, once
    readings = len(PER_FRAME) * agent_frames(edge, DEVICE)
    assert bed.points(DEVICE, raw_only=True) + drops["raw"] == readings
    assert bed.written_once(DEVICE)


PER_FRAME = ("pm1", "pm25", "pm10")
