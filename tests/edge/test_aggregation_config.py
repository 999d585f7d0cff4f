"""The aggregation section of the gateway file, and what device entries tell the aggregation."""

import typing
from pathlib import Path
from textwrap import dedent
from typing import Literal

import pytest

from edge.config import ConfigError, DeviceConfig, Pms5003Config, load_config
from edge.config.base import DeviceSection, Sampling

EXAMPLE = Path(__file__).parents[2] / "edge" / "examples" / "site.yaml"
GOOD = """\
gateway: gw-test-1
mqtt: {host: 127.0.0.1}
state_dir: state
devices:
  - {type: pms5003, id: pm-1, port: /dev/ttyUSB0}
"""


def load(tmp_path, text):
    path = tmp_path / "site.yaml"
    path.write_text(dedent(text))
    return load_config(path)


def problems(tmp_path, text):
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    return [(p.field, p.message) for p in info.value.problems]


def test_defaults_are_one_minute_and_three_quarters():
    config = load_config(EXAMPLE)
    assert config.aggregation.interval == 60.0
    assert config.aggregation.interval_ms == 60_000
    assert config.aggregation.min_coverage == 0.75
    assert config.aggregation.grace == 5.0


@pytest.mark.parametrize("interval", ["0.5", "2", "10", "300", "3600", "86400"])
def test_intervals_that_divide_a_day_are_accepted(tmp_path, interval):
    config = load(tmp_path, GOOD + f"aggregation: {{interval: {interval}, min_coverage: 1}}\n")
    assert config.aggregation.interval == float(interval)
    assert config.aggregation.min_coverage == 1.0


@pytest.mark.parametrize(
    ("section", "field", "message"),
    [
        ("{interval: 7}", "aggregation.interval", "must divide a day"),
        ("{interval: 0.0005}", "aggregation.interval", "must divide a day"),
        ("{interval: 0}", "aggregation.interval", "greater than 0"),
        ("{min_coverage: 0}", "aggregation.min_coverage", "greater than 0"),
        ("{min_coverage: 1.5}", "aggregation.min_coverage", "less than or equal to 1"),
        ("{grace: -1}", "aggregation.grace", "greater than or equal to 0"),
        ("{window: 60}", "aggregation.window", "Extra inputs are not permitted"),
    ],
)
def test_bad_aggregation_settings_are_named(tmp_path, section, field, message):
    found = problems(tmp_path, GOOD + f"aggregation: {section}\n")
    assert len(found) == 1
    assert found[0][0] == field
    assert message in found[0][1]


@pytest.mark.parametrize(
    ("options", "period"),
    [
        ("", 2.3),
        ("mode: active", 2.3),
        ("mode: passive", 5.0),
        ("mode: passive, read_interval: 2", 2.0),
    ],
)
def test_a_pms5003_samples_at_its_frame_pace(tmp_path, options, period):
    text = GOOD.replace(
        "/dev/ttyUSB0}", f"/dev/ttyUSB0, {options}}}" if options else "/dev/ttyUSB0}"
    )
    device = load(tmp_path, text).devices[0]
    assert isinstance(device, Pms5003Config)
    assert device.sampling_period_s == period
    assert device.sampling == {"pm-1": Sampling(period)}


def test_raw_device_ids_follow_the_raw_flag(tmp_path):
    plain = load(tmp_path, GOOD).devices[0]
    raw = load(tmp_path, GOOD.replace("ttyUSB0}", "ttyUSB0, raw: true}")).devices[0]
    assert (plain.raw_device_ids, raw.raw_device_ids) == ((), ("pm-1",))


def test_a_device_type_that_does_not_say_its_sampling_period_is_refused_by_name():
    class Silent(DeviceSection):
        type: Literal["silent"]

    with pytest.raises(NotImplementedError, match="Silent does not say how often it samples"):
        _ = Silent(type="silent", id="x").sampling


@pytest.mark.parametrize(
    "model", typing.get_args(typing.get_args(DeviceConfig)[0]), ids=lambda m: m.__name__
)
def test_every_device_type_says_how_it_is_sampled(model):
    # a single device defines sampling_period_s; a bus, sampling (one entry per slave)
    assert (
        model.sampling_period_s is not DeviceSection.sampling_period_s
        or model.sampling is not DeviceSection.sampling
    ), f"{model.__name__} cannot be aggregated: the agent would refuse to start with it"
