from textwrap import dedent
from typing import get_args

import pytest

from edge.config import ConfigError, Dlt645Config, load_config
from edge.config.base import Sampling
from edge.config.dlt645 import Dlt645Metric
from edge.protocols.dlt645_items import BY_METRIC

HEAD = """\
gateway: gw-test-1
mqtt: {host: 127.0.0.1}
state_dir: state
devices:
"""
BUS = """\
  - type: dlt645
    id: rs485-meters
    port: /dev/ttyUSB1
    meters:
      - {id: meter-1, address: "123456789012"}
      - id: meter-2
        address: "000000004521"
        identifiers: [energy_import, active_power, power_factor]
        interval: 15
        ct_ratio: 40
        raw: true
"""


def load(tmp_path, devices):
    path = tmp_path / "site.yaml"
    path.write_text(HEAD + dedent(devices))
    return load_config(path)


def problems(tmp_path, devices):
    with pytest.raises(ConfigError) as info:
        load(tmp_path, devices)
    return [(p.line, p.field, p.message) for p in info.value.problems]


def test_a_bus_gets_the_documented_defaults(tmp_path):
    (bus,) = load(tmp_path, BUS).devices
    assert isinstance(bus, Dlt645Config)
    line = (bus.baudrate, bus.bytesize, bus.parity, bus.stopbits)
    assert line == (2400, 8, "E", 1)  # 2400 8E1
    assert (bus.timeout, bus.request_gap, bus.preamble) == (1.0, 0.05, True)
    first, second = bus.meters
    assert (first.identifiers, first.interval, first.ct_ratio, first.vt_ratio) == (
        ("energy_import",),
        60.0,
        1.0,
        1.0,
    )
    assert (second.identifiers, second.interval, second.ct_ratio) == (
        ("energy_import", "active_power", "power_factor"),
        15.0,
        40.0,
    )
    assert bus.endpoint == "/dev/ttyUSB1"
    assert bus.device_ids == ("meter-1", "meter-2")
    assert bus.raw_device_ids == ("meter-2",)


def test_raw_on_the_bus_applies_to_every_meter(tmp_path):
    (bus,) = load(tmp_path, BUS.replace("    port:", "    raw: true\n    port:")).devices
    assert bus.raw_device_ids == ("meter-1", "meter-2")


def test_every_configurable_identifier_is_in_the_table():
    assert set(get_args(Dlt645Metric)) == set(BY_METRIC)


@pytest.mark.parametrize(
    ("replace", "by", "field", "message"),
    [
        ('"123456789012"', "123456789012", "devices[0].meters[0].address", "valid string"),
        ('"123456789012"', '"12345678901"', "devices[0].meters[0].address", "pattern"),
        ("power_factor]", "reactive]", "devices[0].meters[1].identifiers[2]", "Input should be"),
        ("power_factor]", "energy_import]", "devices[0].meters[1].identifiers", "listed twice"),
        ('"000000004521"', '"123456789012"', "devices[0].meters", "address '123456789012'"),
        ("id: meter-2", "id: meter-1", "devices[0].meters", "id 'meter-1' is used"),
        ("ct_ratio: 40", "ct_ratio: 0", "devices[0].meters[1].ct_ratio", "greater than 0"),
        ("interval: 15", "interval: 0", "devices[0].meters[1].interval", "greater than 0"),
        ("    port:", "    parity: X\n    port:", "devices[0].parity", "Input should be"),
    ],
)
def test_mistakes_are_reported_with_their_field(tmp_path, replace, by, field, message):
    found = problems(tmp_path, BUS.replace(replace, by))
    assert any(f == field and message in m for _, f, m in found), found


def test_the_wildcard_is_only_for_a_single_meter(tmp_path):
    single = """\
      - type: dlt645
        id: bus
        port: /dev/ttyUSB1
        meters: [{id: m, address: AAAAAAAAAAAA}]
    """
    (bus,) = load(tmp_path, single).devices
    assert bus.meters[0].address == "AAAAAAAAAAAA"
    found = problems(tmp_path, BUS.replace('"000000004521"', "AAAAAAAAAAAA"))
    assert any("single meter" in m for _, _, m in found), found


def test_a_bus_needs_a_meter(tmp_path):
    found = problems(tmp_path, BUS.split("    meters:", maxsplit=1)[0] + "    meters: []\n")
    assert any(f == "devices[0].meters" for _, f, _ in found), found


def test_each_enabled_meter_is_sampled_at_its_interval_and_wraps_with_its_ratios(tmp_path):
    text = BUS + '      - {id: meter-3, address: "000000000003", enabled: false}\n'
    (bus,) = load(tmp_path, text).devices
    assert bus.sampling == {
        "meter-1": Sampling(60.0, counter_modulus=1_000_000.0),
        "meter-2": Sampling(15.0, counter_modulus=40_000_000.0),
    }
