"""The agent aggregates before it publishes: real PMS5003 simulators on ptys, a real Mosquitto."""

import math
import threading

import pytest

from edge.agent import Agent
from edge.config import load_config
from telemetry import Quality, decode_batch, topics

pytestmark = pytest.mark.integration

GATEWAY = "gw-test-agg"
INTERVAL_MS = 2000


def write_config(tmp_path, mosquitto, streaming, polled):
    path = tmp_path / "site.yaml"
    path.write_text(
        f"""\
gateway: {GATEWAY}
mqtt: {{host: {mosquitto.host}, port: {mosquitto.port}}}
publish: {{interval: 0.3}}
aggregation: {{interval: {INTERVAL_MS / 1000}, grace: 1}}
state_dir: state
devices:
  - {{type: pms5003, id: pm-raw, port: {streaming}, mode: active, raw: true, warmup: 0}}
  - {{type: pms5003, id: pm-agg, port: {polled}, mode: passive, read_interval: 0.2, warmup: 0}}
"""
    )
    return path


def readings(watcher):
    return [r for m in watcher.messages("/telemetry") for r in decode_batch(m.payload).readings]


def aggregates(found, device, metric="pm25"):
    return sorted(
        (r for r in found if r.device == device and r.metric == metric and r.count is not None),
        key=lambda r: r.ts,
    )


def test_the_agent_publishes_interval_aggregates_and_raw_samples_where_asked(
    tmp_path, mosquitto, pms_sim, mqtt_watch, wait_until
):
    streaming = pms_sim(period=0.2, seed=3)
    polled = pms_sim(period=0.2, seed=4)
    watcher = mqtt_watch(topics.telemetry(GATEWAY))
    agent = Agent(load_config(write_config(tmp_path, mosquitto, streaming.path, polled.path)))
    runner = threading.Thread(target=agent.run)
    runner.start()
    try:
        # the first interval is partial; two complete ones follow it
        assert wait_until(lambda: len(aggregates(readings(watcher), "pm-agg")) >= 3, timeout=20)
    finally:
        agent.stop()
        runner.join(15)
    assert not runner.is_alive()
    found = readings(watcher)

    # pm-agg is not raw: only aggregates, stamped with their interval start
    assert all(r.count is not None for r in found if r.device == "pm-agg")
    polled_aggs = aggregates(found, "pm-agg")
    assert all(r.ts % INTERVAL_MS == 0 and r.quality is Quality.NORMAL for r in polled_aggs)
    assert len({r.ts for r in polled_aggs}) == len(polled_aggs)
    for complete in polled_aggs[1:-1]:  # read every 0.2 s: 10 a 2 s interval, 7.5 needed
        assert 8 <= complete.count <= 12, complete
        assert complete.valid is True

    # pm-raw is raw: every sample unchanged, and aggregates that are exactly their statistics
    raw = [r for r in found if r.device == "pm-raw" and r.count is None]
    frames = agent.devices[0].counters()["pm-raw"].frames
    for metric in ("pm1", "pm25", "pm10"):
        samples = [r for r in raw if r.metric == metric]
        assert len(samples) == frames
        stats = aggregates(found, "pm-raw", metric)
        assert sum(a.count for a in stats) == frames  # none lost at the boundaries or the stop
        for a in stats:
            inside = [s.value for s in samples if a.ts <= s.ts < a.ts + INTERVAL_MS]
            assert a.count == len(inside)
            assert (a.min, a.max) == (min(inside), max(inside))
            assert a.value == pytest.approx(math.fsum(inside) / len(inside))
    streamed = aggregates(found, "pm-raw")
    assert len(streamed) >= 3
    for complete in streamed[1:-1]:  # a frame every 0.2 s: about 10
        assert 8 <= complete.count <= 12, complete
        assert complete.valid is True
    assert streamed[-1].ts == max(r.ts for r in raw) // INTERVAL_MS * INTERVAL_MS  # flushed

    counters = agent.aggregator.counters()
    assert counters.late_samples == 0
    assert counters.raw_published == 3 * frames
