"""The ``spool:`` section of the gateway file: defaults, paths, limits."""

import pytest

from edge.config import ConfigError, load_config

BASE = """\
gateway: gw-1
mqtt: {host: localhost}
state_dir: state
devices:
  - {type: pms5003, id: pm-1, port: /dev/ttyAMA0}
"""


def load(tmp_path, extra=""):
    path = tmp_path / "site.yaml"
    path.write_text(BASE + extra)
    return load_config(path)


def test_defaults_follow_the_delivery_protocol(tmp_path):
    config = load(tmp_path)
    spool = config.spool
    assert (spool.ack_timeout, spool.max_in_flight, spool.replay_rate) == (30.0, 50, 50.0)
    assert spool.quota_bytes == 256_000_000
    assert config.spool_path == tmp_path / "state" / "spool.sqlite3"


def test_every_knob_can_be_set_and_a_relative_path_is_relative_to_the_file(tmp_path):
    config = load(
        tmp_path,
        "spool: {path: data/s.db, quota_mb: 0.5, ack_timeout: 2, max_in_flight: 3,"
        " replay_rate: 1.5}\n",
    )
    assert config.spool_path == tmp_path / "data" / "s.db"
    assert config.spool.quota_bytes == 500_000
    assert (config.spool.ack_timeout, config.spool.max_in_flight) == (2.0, 3)
    assert config.spool.replay_rate == 1.5


@pytest.mark.parametrize(
    ("setting", "field"),
    [
        ("quota_mb: 0", "spool.quota_mb"),
        ("ack_timeout: 0", "spool.ack_timeout"),
        ("max_in_flight: 0", "spool.max_in_flight"),
        ("max_in_flight: 2.5", "spool.max_in_flight"),
        ("replay_rate: -1", "spool.replay_rate"),
        ("replay_rate: '20'", "spool.replay_rate"),
        ("quota: 5", "spool.quota"),
    ],
)
def test_invalid_settings_are_refused_with_their_line(tmp_path, setting, field):
    with pytest.raises(ConfigError) as error:
        load(tmp_path, f"spool: {{{setting}}}\n")
    (problem,) = error.value.problems
    assert (problem.line, problem.field) == (6, field)
