import re
from pathlib import Path
from textwrap import dedent

import pytest

from edge.config import (
    ConfigError,
    ModbusRtuConfig,
    ModbusSlaveConfig,
    ModbusTcpConfig,
    load_config,
)
from edge.protocols.eastron import SDM630
from edge.protocols.registers import ByteOrder, DataType, RegisterKind, RegisterPoint

EXAMPLE = Path(__file__).parents[2] / "edge" / "examples" / "site.yaml"

HEAD = """\
gateway: gw-test-1
mqtt:
  host: 127.0.0.1
state_dir: state
devices:
"""
RTU = (
    HEAD
    + """\
  - type: modbus_rtu
    id: rs485-1
    port: /dev/ttyUSB0
    slaves:
      - {id: meter-1, unit: 1, profile: sdm630}
      - id: boiler
        unit: 5
        registers:
          - {metric: temperature, type: holding, address: 3, data_type: int16, scale: 0.1}
"""
)
TCP = (
    HEAD
    + """\
  - type: modbus_tcp
    id: tcp-1
    host: meter.local
    slaves:
      - {id: meter-2, unit: 1, profile: sdm120}
"""
)


def load(tmp_path, text):
    path = tmp_path / "site.yaml"
    path.write_text(dedent(text))
    return load_config(path)


def problems(tmp_path, text):
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    return [(p.line, p.field, p.message) for p in info.value.problems]


def test_rtu_bus_gets_the_documented_defaults(tmp_path):
    (bus,) = load(tmp_path, RTU).devices
    assert isinstance(bus, ModbusRtuConfig)
    settings = (bus.baudrate, bus.parity, bus.stopbits, bus.bytesize)
    assert settings == (9600, "N", 1, 8)
    assert (bus.timeout, bus.retries, bus.request_gap, bus.enabled, bus.raw) == (
        1.0,
        1,
        0.0,
        True,
        False,
    )
    assert bus.endpoint == "/dev/ttyUSB0"
    assert bus.device_ids == ("meter-1", "boiler")
    meter, boiler = bus.slaves
    assert (meter.unit, meter.interval, meter.max_gap, meter.enabled) == (1, 10.0, 0, True)
    assert meter.points() == SDM630.points()
    assert boiler.points() == (
        RegisterPoint("temperature", RegisterKind.HOLDING, 3, DataType.INT16, scale=0.1),
    )


def test_tcp_bus_endpoint_and_default_port(tmp_path):
    (bus,) = load(tmp_path, TCP).devices
    assert isinstance(bus, ModbusTcpConfig)
    assert (bus.port, bus.endpoint, bus.device_ids) == (502, "tcp://meter.local:502", ("meter-2",))


def test_a_full_register_entry(tmp_path):
    text = RTU.replace(
        "{metric: temperature, type: holding, address: 3, data_type: int16, scale: 0.1}",
        "{metric: active_power, type: input, address: 0x10, data_type: int32, byte_order: CDAB,"
        " scale: 0.001, offset: 0, unit: kW}\n"
        "          - {metric: humidity, type: discrete, address: 7}",
    )
    (bus,) = load(tmp_path, text).devices
    assert bus.slaves[1].points() == (
        RegisterPoint(
            "active_power", RegisterKind.INPUT, 16, DataType.INT32, ByteOrder.CDAB, scale=0.001
        ),
        RegisterPoint("humidity", RegisterKind.DISCRETE, 7, DataType.BOOL),
    )


def test_raw_on_the_bus_applies_to_every_slave(tmp_path):
    (bus,) = load(tmp_path, RTU.replace("unit: 1, profile", "unit: 1, raw: true, profile")).devices
    assert bus.raw_device_ids == ("meter-1",)
    (bus,) = load(tmp_path, RTU.replace("port: /dev/ttyUSB0", "port: x\n    raw: true")).devices
    assert bus.raw_device_ids == ("meter-1", "boiler")


REGISTER = "{metric: temperature, type: holding, address: 3, data_type: int16, scale: 0.1}"
SLAVE = "{id: meter-1, unit: 1, profile: sdm630}"
ENTRY = "devices[0].slaves[1].registers[0]"  # the boiler's register, on line 14
FIRST = "devices[0].slaves[0]"  # meter-1, on line 10
EITHER = "Value error, give either a profile or a registers list, not both or neither"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            REGISTER,
            "{metric: active_power, type: holding, address: 3, data_type: int32, unit: W}",
            (
                14,
                f"{ENTRY}.unit",
                (
                    "Value error, the catalog keeps active_power in 'kW': "
                    "convert with scale and offset (got 'W')"
                ),
            ),
        ),
        (
            REGISTER,
            "{metric: temperature, type: holding, address: 3, data_type: int32, byte_order: ABDC}",
            (
                14,
                f"{ENTRY}.byte_order",
                "Input should be 'ABCD', 'DCBA', 'BADC' or 'CDAB' (got 'ABDC')",
            ),
        ),
        (
            SLAVE,
            "{id: meter-1, unit: 1, profile: sdm630, registers: [" + REGISTER + "]}",
            (10, FIRST, EITHER),
        ),
        (SLAVE, "{id: meter-1, unit: 1}", (10, FIRST, EITHER)),
        (
            "unit: 5",
            "unit: 1",
            (
                9,
                "devices[0].slaves",
                "Value error, unit 1 is used by more than one slave (meter-1, boiler)",
            ),
        ),
        (
            "id: boiler",
            "id: meter-1",
            (9, "devices[0].slaves", "Value error, slave id 'meter-1' is used twice"),
        ),
        (
            SLAVE,
            "{id: meter-1, unit: 248, profile: sdm630}",
            (10, f"{FIRST}.unit", "Input should be less than or equal to 247 (got 248)"),
        ),
        (
            SLAVE,
            "{id: meter-1, unit: 1, profile: sdm72}",
            (10, f"{FIRST}.profile", "Input should be 'sdm120' or 'sdm630' (got 'sdm72')"),
        ),
        (
            REGISTER,
            "{metric: temperatur, type: holding, address: 3, data_type: int16}",
            (
                14,
                f"{ENTRY}.metric",
                (
                    "Value error, unknown metric 'temperatur': "
                    "not in the telemetry catalog (got 'temperatur')"
                ),
            ),
        ),
        (
            REGISTER,
            "{metric: temperature, type: holding, address: 3}",
            (14, ENTRY, "Value error, data_type is required for holding registers"),
        ),
        (
            REGISTER,
            "{metric: temperature, type: coil, address: 3, data_type: float32}",
            (14, ENTRY, "Value error, a coil is a single bit: data_type must be bool"),
        ),
        (
            REGISTER,
            "{metric: temperature, type: input, address: 3, data_type: bool}",
            (
                14,
                ENTRY,
                "Value error, bool is for coils and discrete inputs, not input registers",
            ),
        ),
        (
            REGISTER,
            "{metric: temperature, type: input, address: 65534, data_type: uint64}",
            (14, ENTRY, "Value error, uint64 at 65534 runs past address 65535"),
        ),
        (
            REGISTER,
            "{metric: temperature, type: register, address: 3, data_type: int16}",
            (
                14,
                f"{ENTRY}.type",
                "Input should be 'coil', 'discrete', 'holding' or 'input' (got 'register')",
            ),
        ),
        (
            REGISTER,
            REGISTER + "\n          - {metric: temperature, type: input, address: 0,"
            " data_type: float32}",
            (11, "devices[0].slaves[1]", "Value error, metric 'temperature' is read twice"),
        ),
        (
            "port: /dev/ttyUSB0",
            "port: /dev/ttyUSB0\n    parity: X",
            (9, "devices[0].parity", "Input should be 'N', 'E' or 'O' (got 'X')"),
        ),
    ],
)
def test_errors_name_the_line_and_field(tmp_path, old, new, expected):
    assert old in RTU
    assert problems(tmp_path, RTU.replace(old, new)) == [expected]


def test_two_buses_on_one_port_are_refused(tmp_path):
    second = RTU[len(HEAD) :].replace("id: rs485-1", "id: rs485-2")
    second = second.replace("meter-1", "meter-3").replace("boiler", "boiler-2")
    found = problems(tmp_path, RTU + second)
    assert found[0][:2] == (5, "devices")
    assert "'/dev/ttyUSB0' is used by two devices" in found[0][2]


def test_scale_must_be_finite(tmp_path):
    found = problems(tmp_path, RTU.replace("scale: 0.1", "scale: .inf"))
    assert [(ln, f) for ln, f, _ in found] == [(14, "devices[0].slaves[1].registers[0].scale")]


def test_slave_models_are_usable_alone():
    slave = ModbusSlaveConfig(id="m", unit=3, profile="sdm120")
    assert len(slave.points()) == 10


def uncomment(text):
    """The example's disabled entries: a comment line whose text starts with '- ' or a space."""
    return re.sub(r"(?m)^( +)# ((?:-|\s).*)$", r"\1\2", text)


def test_the_examples_commented_modbus_entries_are_valid(tmp_path):
    path = tmp_path / "site.yaml"
    path.write_text(uncomment(EXAMPLE.read_text(encoding="utf-8")), encoding="utf-8")
    buses = [d for d in load_config(path).devices if d.type.startswith("modbus")]
    rtu, tcp = buses
    assert isinstance(rtu, ModbusRtuConfig)
    assert isinstance(tcp, ModbusTcpConfig)
    assert [s.profile for s in rtu.slaves] == ["sdm630", "sdm630", "sdm120"]
    assert tcp.endpoint == "tcp://10.20.0.15:502"
    assert [p.metric for p in tcp.slaves[0].points()] == [
        "active_power",
        "energy_import",
        "voltage",
    ]


def test_empty_lists_are_refused(tmp_path):
    no_registers = RTU.replace("registers:\n          - " + REGISTER, "registers: []")
    assert problems(tmp_path, no_registers) == [
        (11, "devices[0].slaves[1]", "Value error, the registers list is empty")
    ]
    no_slaves = RTU[: RTU.index("    slaves:")] + "    slaves: []\n"
    assert problems(tmp_path, no_slaves) == [
        (9, "devices[0].slaves", "Value error, a bus needs at least one slave")
    ]


def test_each_enabled_slave_is_sampled_on_its_interval(tmp_path):
    text = RTU.replace("profile: sdm630}", "profile: sdm630, interval: 2}")
    text = text.replace("unit: 5\n", "unit: 5\n        enabled: false\n")
    (bus,) = load(tmp_path, text).devices
    assert {k: v.period_s for k, v in bus.sampling.items()} == {"meter-1": 2.0}
