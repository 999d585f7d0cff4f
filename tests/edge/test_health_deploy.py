"""The systemd unit in edge/deploy: parsed, and checked for what the install guide relies on."""

import configparser
from pathlib import Path

import pytest

UNIT = Path(__file__).parents[2] / "edge" / "deploy" / "lantian-edge.service"


@pytest.fixture(scope="module")
def unit():
    # systemd repeats keys (DeviceAllow=): keep every value, newline-separated
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parser.read_string(_joined(UNIT.read_text(encoding="utf-8")))
    return parser


def _joined(text):
    """Turn repeated keys into one multi-line value, which configparser can read."""
    lines: list[str] = []
    seen: set[str] = set()
    for line in text.splitlines():
        key = line.split("=", 1)[0] if "=" in line and not line.startswith("#") else None
        if line.startswith("["):
            seen = set()
        if key and key in seen:
            lines.append(f"    {line.split('=', 1)[1]}")
            continue
        if key:
            seen.add(key)
        lines.append(line)
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("section", "key", "expected"),
    [
        ("Service", "Restart", "always"),
        ("Service", "RestartSec", "5"),
        ("Service", "ExecStart", "/opt/lantian-edge/bin/lantian-edge run /etc/lantian/site.yaml"),
        ("Service", "User", "lantian"),
        ("Service", "StateDirectory", "lantian-edge"),
        ("Service", "ProtectSystem", "strict"),
        ("Service", "ReadWritePaths", "/var/lib/lantian-edge"),
        ("Service", "SupplementaryGroups", "dialout"),
        ("Service", "NoNewPrivileges", "yes"),
        ("Install", "WantedBy", "multi-user.target"),
    ],
)
def test_the_unit_sets(unit, section, key, expected):
    assert unit.get(section, key) == expected


def test_the_unit_starts_after_the_network_and_the_clock(unit):
    after = unit.get("Unit", "After").split()
    assert "network-online.target" in after
    assert "time-sync.target" in after


def test_the_unit_lets_the_agent_open_serial_ports(unit):
    allowed = unit.get("Service", "DeviceAllow").splitlines()
    assert {"char-ttyAMA rw", "char-ttyUSB rw"} <= {a.strip() for a in allowed}
