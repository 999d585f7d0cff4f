"""The gateway's health report: built from the counters, published and kept on disk.

Every ``health_interval`` seconds the agent builds a :class:`telemetry.GatewayStatus` (state
``online`` with uptime, spool, per-device state, clock sync and CPU temperature), publishes it
retained on the status topic and writes the same JSON to ``state_dir/health.json``, which
``lantian-edge status`` reads on the gateway itself without a broker.

:func:`assess` is the pure judgement behind the command's exit status: healthy (0), a device
not ``ok`` or a report older than three health intervals (1).
"""

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from edge.devices.base import DeviceCounters, DeviceState
from edge.publisher import PublisherCounters
from edge.spool import SpoolCounters
from telemetry import (
    ClockSync,
    DeviceHealth,
    GatewayState,
    GatewayStatus,
    SpoolHealth,
    decode_status,
    encode,
)
from telemetry.payload import MIN_TS_MS

HEALTH_FILE = "health.json"
CPU_TEMP_PATH = Path("/sys/class/thermal/thermal_zone0/temp")  # millidegrees Celsius
STALE_INTERVALS = 3  # a report older than this many health intervals means the agent is stuck


def cpu_temperature_c(path: Path = CPU_TEMP_PATH) -> float | None:
    """The board's temperature in °C, or None where the kernel does not report one."""
    try:
        return int(path.read_text(encoding="ascii").strip()) / 1000
    except (OSError, ValueError):
        return None


def device_health(counters: DeviceCounters) -> DeviceHealth:
    """The counters of one device that say whether and why it reads nothing."""
    return DeviceHealth(
        state=counters.state.value,
        consecutive_failures=counters.consecutive_failures,
        read_timeouts=counters.read_timeouts,
        bad_frames=counters.bad_frames + counters.checksum_errors,
        device_faults=counters.device_faults,
        last_error=counters.last_error,
    )


def build_health(  # noqa: PLR0913 - keyword-only facts of one report
    gateway: str,
    *,
    now_ms: int,
    agent_version: str,
    uptime_s: float,
    spool: SpoolCounters,
    publisher: PublisherCounters,
    devices: Mapping[str, DeviceCounters],
    clock: ClockSync,
    cpu_temp_c: float | None,
) -> GatewayStatus:
    """The ``online`` status message carrying the gateway's health."""
    return GatewayStatus(
        gateway=gateway,
        state=GatewayState.ONLINE,
        ts=now_ms if now_ms >= MIN_TS_MS else None,  # an unset clock is left out, not sent wrong
        agent_version=agent_version,
        uptime_s=max(0.0, uptime_s),
        spool=SpoolHealth(
            batches=spool.depth,
            readings=spool.readings,
            oldest_unacked_s=publisher.oldest_unacked_s,
            in_flight=publisher.in_flight,
            dropped_raw=spool.dropped_raw,
            dropped_aggregate=spool.dropped_aggregate,
            dropped_batches=spool.dropped_batches,
        ),
        devices={device_id: device_health(c) for device_id, c in sorted(devices.items())},
        clock=clock,
        cpu_temp_c=cpu_temp_c,
    )


def write_health(state_dir: Path, status: GatewayStatus) -> Path:
    """Write ``state_dir/health.json`` atomically (a reader never sees half a report)."""
    target = state_dir / HEALTH_FILE
    state_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=state_dir, prefix=".health-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(encode(status))
        Path(tmp).replace(target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def read_health(state_dir: Path) -> GatewayStatus:
    """Read ``state_dir/health.json``.

    Raises:
        FileNotFoundError: no report was written yet.
        telemetry.PayloadError: the file is not a valid status message.
    """
    return decode_status((state_dir / HEALTH_FILE).read_bytes())


@dataclass(frozen=True, slots=True)
class Assessment:
    """What ``lantian-edge status`` concludes from one report."""

    healthy: bool
    stale: bool
    age_s: float | None  # None: the report has no time (the clock was unset)
    failing: tuple[str, ...]  # device ids whose state is not ``ok``


def assess(status: GatewayStatus, *, now_ms: int, health_interval_s: float) -> Assessment:
    """Judge a report: stale after three health intervals, unhealthy with a device not ok."""
    age_s = None if status.ts is None else max(0, now_ms - status.ts) / 1000
    stale = age_s is None or age_s > STALE_INTERVALS * health_interval_s
    failing = tuple(
        device_id
        for device_id, device in (status.devices or {}).items()
        if device.state != DeviceState.OK.value
    )
    online = status.state is GatewayState.ONLINE
    return Assessment(
        healthy=online and not stale and not failing, stale=stale, age_s=age_s, failing=failing
    )
