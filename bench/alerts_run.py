"""One run of the alerts benchmark: gateways → Mosquitto → ``lantian-rules run`` → notices on MQTT.

The processes, all on this machine: a Mosquitto, an InfluxDB (the window rules' data), the
rules service as its console script (one process, or with ``split`` two: ``ONLY=stream`` and
``ONLY=windows``), the publisher of :mod:`bench.rules_publisher`, and in this process the
enterprises' subscriber (:mod:`bench.alerts_listen`). The service keeps its default settings
but for the ones :data:`SERVICE_SETTINGS` lists, each with its reason, and ``settings``.

With a window ``hour`` (written beforehand, :func:`bench.rules_windows.write_hour`), the
service evaluates it at start (its lookback); as the ``tail`` begins, a late reading of that
hour arrives (gateway ``gw-b0000``, PM2.5 and PM10), the stream marks the hour and the next
window round runs it again for every site, beside the stream, as a real late arrival does.
"""

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.alerts_listen import NoticeListener
from bench.alerts_match import AlertKey, expected_firings, match
from bench.ingest_procs import CpuWatch, pid_with
from bench.rules_city import (
    READINGS_PER_MESSAGE,
    Message,
    messages,
    rule_file,
    site_thresholds,
    threshold_count,
)
from bench.rules_publisher import read_times, spawn, write_messages
from bench.rules_stream import Spread
from bench.rules_windows import RULES as WINDOW_RULES
from devstack.processes import ChildProcess, wait_until
from devstack.servers import MosquittoServer, free_port
from devstack.services import Platform, RulesProgress, scrape_totals
from rules.windows import RegulatoryWindow
from telemetry import Reading, TelemetryBatch, encode, topics

# Settings other than the service's defaults, and why.
SERVICE_SETTINGS = {
    # The default 60 s lets a site's other new alerts join the first one's notice: a wait by
    # design, which the 500 ms goal excludes; 0 sends each batch's new alerts at once.
    "ALERTS__GROUP_WINDOW_S": "0",
    # The benchmark's InfluxDB holds two hours: a 48 h lookback would judge 46 empty ones.
    "WINDOW_LOOKBACK_H": "3",
    # The late reading's window run begins within 5 s rather than within the default 60.
    "WINDOW_INTERVAL_S": "5",
}
_ENCODE_S_PER_MESSAGE = 1e-4
_LATE_GATEWAY = 0


@dataclass(frozen=True, slots=True)
class AlertRun:
    """What one run measured: publish at the gateway → notice received, in seconds."""

    steady: Spread | None  # alerts whose hold completed in the measured part
    at_start: Spread | None  # those open since the run's first reading: a burst, 10 s in
    tail: Spread | None  # ... in the ``tail`` (a window run in progress)
    expected: int  # alerts the telemetry must raise, the whole run
    delivered: int  # of those, notices received
    duplicates: int
    others: int  # alerts of other rules, notices of other kinds
    missing: list[AlertKey]
    window_done_s: float | None  # from the late reading's publication to its run's results
    publisher_lag: Spread | None
    cpu: dict[str, float]  # cores, over the measured part


def run_alerts(  # noqa: PLR0913 - the sizes of the run, keyword-only
    workdir: Path,
    *,
    sql_url: str,
    influx: tuple[str, str],
    hour: RegulatoryWindow | None,
    sizes: Mapping[str, float],
    split: bool,
    settings: Mapping[str, str],
    spike_period_s: int,
    spike_s: int,
) -> AlertRun:
    """Run the city's telemetry through the service; time every expected alert's notice.

    ``sizes``: ``rate``, ``rules``, ``sites``, ``seconds``, ``warmup``, ``tail``.
    """
    rules, sites = int(sizes["rules"]), int(sizes["sites"])
    files = [workdir / "rules.yaml"]
    files[0].write_text(rule_file(rules, sites))
    if hour is not None:
        files.append(workdir / "windows.yaml")
        files[1].write_text(WINDOW_RULES)
    with MosquittoServer(workdir / "mosquitto") as broker:
        platform = Platform(workdir, broker.host, broker.port, influx[0], influx[1], sql_url)
        roles = {"rules-stream": "stream", "rules-windows": "windows"} if split else {"rules": ""}
        services: dict[str, tuple[ChildProcess, str]] = {}
        for name, only in roles.items():
            port = free_port()
            values = SERVICE_SETTINGS | {"MQTT_CLIENT_ID": name} | dict(settings)
            values |= {"ONLY": only} if only else {}
            process = platform.rules(
                metrics_port=port, rule_files=files, name=name, settings=values
            )
            services[name] = (process, f"http://127.0.0.1:{port}/metrics")
        try:
            for process, _ in services.values():
                process.start()
            _ready([url for _, url in services.values()], hour, sites)
            return _measure(
                workdir,
                broker=broker,
                services=services,
                hour=hour,
                sizes=sizes,
                spikes=(spike_period_s, spike_s),
            )
        finally:
            for process, _ in services.values():
                if process.stop() not in (0, None):
                    raise RuntimeError(f"{process.name} did not stop cleanly: {process.log_path}")


def _ready(urls: list[str], hour: RegulatoryWindow | None, sites: int) -> None:
    """Every process subscribed, and the lookback's window run over (3 results a site)."""

    def ready() -> bool:
        progress = [RulesProgress.scrape(url) for url in urls]
        if any(p is None or not p.subscribed for p in progress):
            return False
        windows = sum(_window_results(url) for url in urls)
        return hour is None or windows >= 3 * sites

    if not wait_until(ready, timeout_s=120, interval_s=0.5):
        raise RuntimeError("the rules service did not get ready (subscribed, windows judged)")


def _window_results(url: str) -> float:
    return (scrape_totals(url) or {}).get("lantian_rules_window_results_recorded", 0.0)


def _measure(  # noqa: PLR0913 - the run's parts
    workdir: Path,
    *,
    broker: MosquittoServer,
    services: dict[str, tuple[ChildProcess, str]],
    hour: RegulatoryWindow | None,
    sizes: Mapping[str, float],
    spikes: tuple[int, int],
) -> AlertRun:
    rate, sites = sizes["rate"], int(sizes["sites"])
    warmup, seconds, tail = sizes["warmup"], sizes["seconds"], sizes["tail"]
    total = warmup + seconds + tail
    start_s = time.time() + 4 + round(rate / READINGS_PER_MESSAGE * total) * _ENCODE_S_PER_MESSAGE
    steady_from, tail_from = start_s + warmup, start_s + warmup + seconds
    encoded = list(
        messages(sites, rate, total, start_s, spike_period_s=spikes[0], spike_s=spikes[1])
    )
    late: frozenset[int] = frozenset()
    if hour is not None:
        at = next(i for i, m in enumerate(encoded) if m.due_s >= tail_from)
        encoded.insert(at, _late_message(hour, tail_from))
        late = frozenset({at})
    write_messages(workdir / "messages.bin", encoded)
    thresholds = site_thresholds(threshold_count(int(sizes["rules"]), sites), sites)
    expected = expected_firings(
        encoded, thresholds, spike_period_s=spikes[0], spike_s=spikes[1], skip=late
    )
    listener = NoticeListener(broker.host, broker.port)
    listener.start()
    try:
        times_path = workdir / "published.bin"
        publisher = spawn(broker.host, broker.port, workdir / "messages.bin", times_path)
        cpu = CpuWatch()
        time.sleep(max(0.0, steady_from - time.time()))
        for name, (process, _) in services.items():
            cpu.mark(name, process.pid or 0)
        cpu.mark("mosquitto", pid_with(str(broker.config_path)))
        cpu.mark("publisher", publisher.pid)
        cpu.mark("subscriber", _own_pid())
        time.sleep(max(0.0, tail_from - time.time()))
        shares = cpu.shares()
        window_done = _window_done(services, hour, sites)
        if publisher.wait(180) != 0:
            raise RuntimeError("the publisher failed")
        published = read_times(times_path)
        wait_until(
            lambda: len(match(listener.arrivals, expected).arrived) >= len(expected),
            timeout_s=30,
            interval_s=0.5,
        )
        time.sleep(1.0)  # a duplicate would come now
    finally:
        listener.stop()
    matched = match(listener.arrivals, expected)

    def latencies(low: float, high: float, *, at_start: bool = False) -> Spread | None:
        return Spread.of(
            [
                at - published[expected[key].message]
                for key, at in matched.arrived.items()
                if low <= encoded[expected[key].message].due_s < high
                and expected[key].at_start is at_start
            ]
        )

    return AlertRun(
        steady=latencies(steady_from, tail_from),
        at_start=latencies(0.0, float("inf"), at_start=True),
        tail=latencies(tail_from, float("inf")) if tail > 0 else None,
        expected=len(expected),
        delivered=len(matched.arrived),
        duplicates=matched.duplicates,
        others=matched.others,
        missing=sorted(set(expected) - set(matched.arrived)),
        window_done_s=None if window_done is None else window_done - tail_from,
        publisher_lag=Spread.of(
            [published[i] - m.due_s for i, m in enumerate(encoded) if m.due_s >= steady_from]
        ),
        cpu=shares,
    )


def _late_message(hour: RegulatoryWindow, due_s: float) -> Message:
    """A batch of ``hour`` arriving now: its window is judged again."""
    gateway = f"gw-b{_LATE_GATEWAY:04d}"
    readings = [
        Reading(device="pm-5", metric=metric, value=40.0, ts=hour.start_ms + 1_800_000)
        for metric in ("pm25", "pm10")
    ]
    batch = TelemetryBatch(gateway=gateway, seq=10**9, readings=readings)
    return Message(topics.telemetry(gateway), encode(batch), due_s)


def _window_done(
    services: dict[str, tuple[ChildProcess, str]], hour: RegulatoryWindow | None, sites: int
) -> float | None:
    """When the late hour's run recorded its results (3 a site), watched from the tail on."""
    if hour is None:
        return None
    urls = [url for _, url in services.values()]
    before = sum(_window_results(url) for url in urls)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if sum(_window_results(url) for url in urls) >= before + 3 * sites:
            return time.time()
        time.sleep(0.2)
    return None


def _own_pid() -> int:
    return os.getpid()
