from textwrap import dedent

import pytest

from edge.config import ConfigError, Sds011Config, load_config

SITE = """\
gateway: gw-test-1
mqtt:
  host: 127.0.0.1
state_dir: state
devices:
  - type: sds011
    id: pm-2
    port: /dev/ttyUSB1
"""


def load(tmp_path, text):
    path = tmp_path / "site.yaml"
    path.write_text(dedent(text))
    return load_config(path)


def problems(tmp_path, text):
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    return [(p.line, p.field, p.message) for p in info.value.problems]


def test_minimal_entry_gets_the_documented_defaults(tmp_path):
    device = load(tmp_path, SITE).devices[0]
    assert isinstance(device, Sds011Config)
    assert (device.baudrate, device.interval, device.timeout) == (9600, 60.0, 3.0)
    # citizen networks: 15 s warm-up, then 5 readings at about 1 Hz, fan off in between
    assert (device.warmup, device.samples, device.sample_interval) == (15.0, 5, 1.0)
    assert device.duty_cycle is True
    assert device.metrics == ("pm25", "pm10")
    assert (device.enabled, device.raw) == (True, False)
    assert (device.endpoint, device.device_ids) == ("/dev/ttyUSB1", ("pm-2",))
    assert device.cycle_seconds == 19.0
    assert device.sampling_period_s == 60.0  # one reading per cycle


def test_every_setting_is_read_from_the_file(tmp_path):
    text = SITE + (
        "    interval: 120\n    warmup: 30\n    samples: 10\n    sample_interval: 2\n"
        "    duty_cycle: false\n    timeout: 1.5\n    metrics: [pm10]\n    baudrate: 19200\n"
    )
    device = load(tmp_path, text).devices[0]
    assert isinstance(device, Sds011Config)
    assert (device.interval, device.warmup, device.samples) == (120.0, 30.0, 10)
    assert (device.sample_interval, device.duty_cycle, device.timeout) == (2.0, False, 1.5)
    assert (device.metrics, device.baudrate) == (("pm10",), 19200)


def test_a_relative_port_is_relative_to_the_file(tmp_path):
    device = load(tmp_path, SITE.replace("/dev/ttyUSB1", "ports/sds")).devices[0]
    assert device.endpoint == str(tmp_path / "ports" / "sds")


def test_a_cycle_longer_than_the_interval_is_refused(tmp_path):
    found = problems(tmp_path, SITE + "    interval: 10\n")
    assert [(line, field) for line, field, _ in found] == [(9, "devices[0].interval")]
    assert "warmup + (samples - 1) * sample_interval = 19 s" in found[0][2]
    assert "interval (10 s)" in found[0][2]


def test_a_cycle_too_long_for_the_default_interval_is_refused(tmp_path):
    found = problems(tmp_path, SITE + "    warmup: 50\n    samples: 11\n")
    assert [field for _, field, _ in found] == ["devices[0].interval"]
    assert "= 60 s must be shorter than interval (60 s)" in found[0][2]


def test_no_warmup_is_allowed(tmp_path):
    device = load(tmp_path, SITE + "    warmup: 0\n").devices[0]
    assert isinstance(device, Sds011Config)
    assert device.warmup == 0.0


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("samples: 0", "samples"),
        ("samples: 2.5", "samples"),
        ("warmup: -1", "warmup"),
        ("interval: 0", "interval"),
        ("timeout: 0", "timeout"),
        ('duty_cycle: "false"', "duty_cycle"),
        ("metrics: [pm25, pm1]", "metrics[1]"),
        ("metrics: [pm25, pm25]", "metrics"),
        ("mode: passive", "mode"),
    ],
)
def test_invalid_settings_point_at_their_field(tmp_path, line, field):
    found = problems(tmp_path, SITE + f"    {line}\n")
    assert [(n, f) for n, f, _ in found] == [(9, f"devices[0].{field}")]


def test_an_sds011_and_a_pms5003_cannot_share_a_port(tmp_path):
    text = SITE + "  - type: pms5003\n    id: pm-1\n    port: /dev/ttyUSB1\n"
    found = problems(tmp_path, text)
    assert "used by two devices" in found[0][2]
