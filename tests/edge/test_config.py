from pathlib import Path
from textwrap import dedent

import pytest

from edge.config import ConfigError, GatewayConfig, Pms5003Config, load_config

EXAMPLE = Path(__file__).parents[2] / "edge" / "examples" / "site.yaml"

PORT = "port: /dev/ttyUSB0"
PUBLISH_MAX = "publish.max_readings"
GOOD = """\
gateway: gw-test-1
mqtt:
  host: 127.0.0.1
state_dir: state
devices:
  - type: pms5003
    id: pm-1
    port: /dev/ttyUSB0
"""


def write(tmp_path, text, name="site.yaml"):
    path = tmp_path / name
    path.write_text(dedent(text))
    return path


def problems(tmp_path, text):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    return [(p.line, p.field, p.message) for p in info.value.problems]


def test_example_file_is_valid():
    config = load_config(EXAMPLE)
    assert config.gateway == "gw-liaocheng-0001"
    assert config.mqtt.tls is not None
    assert [d.mode for d in config.devices if isinstance(d, Pms5003Config)] == ["passive", "active"]


def test_minimal_file_gets_the_documented_defaults(tmp_path):
    config = load_config(write(tmp_path, GOOD))
    assert isinstance(config, GatewayConfig)
    assert (config.mqtt.port, config.mqtt.keepalive, config.mqtt.tls) == (1883, 30, None)
    assert (config.publish.interval, config.publish.max_readings) == (5.0, 1000)
    device = config.devices[0]
    assert isinstance(device, Pms5003Config)
    assert (device.baudrate, device.mode, device.enabled) == (9600, "active", True)
    assert device.metrics == ("pm1", "pm25", "pm10")


def test_relative_paths_are_relative_to_the_file(tmp_path):
    text = GOOD.replace("/dev/ttyUSB0", "ports/pm") + "    \n"
    config = load_config(write(tmp_path, text))
    assert config.state_dir == tmp_path / "state"
    assert config.devices[0].port == tmp_path / "ports" / "pm"


def test_errors_name_file_line_field_and_expectation(tmp_path):
    text = """\
    gateway: gw-test-1
    mqtt:
      host: 127.0.0.1
      port: "1883"
    state_dir: state
    devices:
      - type: pms5003
        id: pm-1
        port: /dev/ttyUSB0
        mode: activ
      - type: pms5003
        id: pm-2
    """
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    lines = info.value.lines()
    assert lines == [
        f"{path}:4: mqtt.port: Input should be a valid integer (got '1883')",
        f"{path}:10: devices[0].mode: Input should be 'active' or 'passive' (got 'activ')",
        f"{path}:11: devices[1].port: Field required",
    ]
    assert str(info.value) == "\n".join(lines)


@pytest.mark.parametrize("value", ['"false"', '"true"', "1", "0", '"yes"'])
def test_booleans_are_strict(tmp_path, value):
    found = problems(tmp_path, GOOD + f"    enabled: {value}\n")
    assert [(line, field) for line, field, _ in found] == [(9, "devices[0].enabled")]
    assert found[0][2].startswith("Input should be a valid boolean")


def test_yaml_booleans_are_booleans(tmp_path):
    config = load_config(write(tmp_path, GOOD + "    enabled: false\n"))
    assert config.devices[0].enabled is False


def test_unknown_device_type_points_at_the_type(tmp_path):
    found = problems(tmp_path, GOOD.replace("type: pms5003", "type: pms9999"))
    assert found[0][:2] == (6, "devices[0].type")
    assert "'pms5003'" in found[0][2]


def test_unknown_keys_are_typos(tmp_path):
    found = problems(tmp_path, GOOD.replace("  host:", "  hots: x\n  host:"))
    assert found == [(3, "mqtt.hots", "Extra inputs are not permitted")]


@pytest.mark.parametrize(
    ("old", "new", "line", "field"),
    [
        ("gateway: gw-test-1", "gateway: gw/test", 1, "gateway"),
        ("gateway: gw-test-1", "gateway: 1001", 1, "gateway"),
        ("id: pm-1", "id: pm+1", 7, "devices[0].id"),
        (PORT, f"{PORT}\n    metrics: [pm25, pm4]", 9, "devices[0].metrics[1]"),
        (PORT, f"{PORT}\n    metrics: []", 9, "devices[0].metrics"),
        (PORT, f"{PORT}\n    read_interval: 0", 9, "devices[0].read_interval"),
        ("host: 127.0.0.1", "host: 127.0.0.1\n  tls: {cert: c.pem}", 4, "mqtt.tls"),
        ("state_dir: state", "state_dir: state\npublish: {max_readings: 20000}", 5, PUBLISH_MAX),
    ],
)  # fmt: skip
def test_invalid_values(tmp_path, old, new, line, field):
    found = problems(tmp_path, GOOD.replace(old, new))
    assert [(ln, f) for ln, f, _ in found] == [(line, field)]


def test_two_devices_on_one_port_are_refused(tmp_path):
    text = GOOD + "  - type: pms5003\n    id: pm-2\n    port: /dev/ttyUSB0\n"
    found = problems(tmp_path, text)
    assert found[0][:2] == (5, "devices")
    assert "used by two devices" in found[0][2]


def test_missing_sections_point_at_the_document(tmp_path):
    found = problems(tmp_path, "gateway: gw-1\n")
    assert [(f, m) for _, f, m in found] == [
        ("mqtt", "Field required"),
        ("state_dir", "Field required"),
        ("devices", "Field required"),
    ]


def test_repeated_keys_are_errors_not_silently_overwritten(tmp_path):
    found = problems(tmp_path, GOOD + "gateway: gw-other\n")
    assert found == [(9, "<document>", "key 'gateway' repeats the one on line 1")]


def test_yaml_syntax_errors_have_a_line(tmp_path):
    found = problems(tmp_path, GOOD.replace("  host: 127.0.0.1", "  host: [127.0.0.1"))
    assert found[0][0] in {3, 4}
    assert found[0][1] == "<document>"


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just text\n"])
def test_a_document_that_is_not_a_mapping(tmp_path, text):
    found = problems(tmp_path, text)
    assert found[0][1] == "<document>"


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.yaml"):
        load_config(tmp_path / "nope.yaml")


def test_a_single_metric_must_still_be_a_list(tmp_path):
    found = problems(tmp_path, GOOD + "    metrics: pm25\n")
    assert found == [(9, "devices[0].metrics", "Input should be a list (got 'pm25')")]
