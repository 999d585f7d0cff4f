"""``lantian-edge status``: the summary of the agent's last health report, and its exit status."""

import pytest

from edge.cli import main
from edge.devices.base import DeviceCounters, DeviceState, wall_clock_ms
from edge.health import HEALTH_FILE, build_health, write_health
from edge.publisher import PublisherCounters
from edge.spool import SpoolCounters
from telemetry import ClockSync, GatewayState

GATEWAY = "gw-status-1"
INTERVAL_S = 10


@pytest.fixture
def site(tmp_path):
    path = tmp_path / "site.yaml"
    path.write_text(
        f"""\
gateway: {GATEWAY}
mqtt: {{host: 127.0.0.1}}
state_dir: state
health_interval: {INTERVAL_S}
devices:
  - {{type: pms5003, id: pm-1, port: /dev/ttyAMA0}}
  - {{type: pms5003, id: pm-2, port: /dev/ttyUSB0}}
"""
    )
    (tmp_path / "state").mkdir()
    return path


def write_report(site, *, age_s=1.0, pm2=DeviceState.OK, state=GatewayState.ONLINE):
    counters = dict[str, object](dict.fromkeys(PublisherCounters.__dataclass_fields__, 0))
    counters.update(connected=True, oldest_unacked_s=42.0, watermark=None)
    status = build_health(
        GATEWAY,
        now_ms=wall_clock_ms() - round(age_s * 1000),
        agent_version="1.2.3",
        uptime_s=100.0,
        spool=SpoolCounters(7, 300, 1000, None, 7, 0, 0, 0),
        publisher=PublisherCounters(**counters),  # type: ignore[arg-type]
        devices={
            "pm-1": DeviceCounters(state=DeviceState.OK),
            "pm-2": DeviceCounters(state=pm2, last_error="no frame in 3.0 s"),
        },
        clock=ClockSync.SYNCED,
        cpu_temp_c=None,
    )
    write_health(site.parent / "state", status.model_copy(update={"state": state}))


def test_a_healthy_gateway_exits_0_with_a_summary(site, capsys):
    write_report(site)
    assert main(["status", str(site)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"gateway {GATEWAY}: online, agent 1.2.3"
    assert out[1].startswith("last health report: ")
    assert "STALE" not in out[1]
    assert "clock: synced" in out
    assert "spool: 7 batch(es), 300 reading(s), oldest unacknowledged 42 s" in out
    assert out[-2:] == ["device pm-1: ok", "device pm-2: ok"]


def test_a_device_not_ok_exits_1_and_says_why(site, capsys):
    write_report(site, pm2=DeviceState.TIMEOUT)
    assert main(["status", str(site)]) == 1
    assert "device pm-2: timeout (no frame in 3.0 s)" in capsys.readouterr().out


def test_a_report_older_than_three_intervals_exits_1(site, capsys):
    write_report(site, age_s=3 * INTERVAL_S + 5)
    assert main(["status", str(site)]) == 1
    assert "(STALE: is the agent running?)" in capsys.readouterr().out


def test_an_agent_that_stopped_exits_1(site, capsys):
    write_report(site, state=GatewayState.OFFLINE)
    assert main(["status", str(site)]) == 1
    assert capsys.readouterr().out.startswith(f"gateway {GATEWAY}: offline")


def test_no_health_file_exits_2(site, capsys):
    assert main(["status", str(site)]) == 2
    assert HEALTH_FILE in capsys.readouterr().out


def test_a_damaged_health_file_exits_1(site, capsys):
    (site.parent / "state" / HEALTH_FILE).write_text("{")
    assert main(["status", str(site)]) == 1
    assert "unreadable health report" in capsys.readouterr().out
