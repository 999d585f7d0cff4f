"""pytest fixture that runs simulated fleets (:class:`firmware_sim.fleet.Fleet`) in the test.

- ``fleet_factory``: ``fleet_factory(scenario)`` starts the fleet of a scenario (a
  :class:`~firmware_sim.scenario.Scenario`, or the dict a YAML file would hold), its pty links
  and its records (one JSON Lines file per device) in a folder of its own under ``tmp_path``.

Every fleet started here is stopped at teardown, also when the test fails.
"""

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Protocol

import pytest

from firmware_sim.fleet import Fleet
from firmware_sim.scenario import Scenario, parse_scenario


class FleetFactory(Protocol):
    """Starts the fleet of a scenario; the fixture stops it."""

    def __call__(self, scenario: Scenario | Mapping[str, object], *, record: bool = True) -> Fleet:
        """Start and return the fleet, every device already answering."""
        ...


@pytest.fixture
def fleet_factory(tmp_path: Path) -> Iterator[FleetFactory]:
    """A callable that starts fleets, each in a folder of its own under ``tmp_path``."""
    started: list[Fleet] = []

    def start(scenario: Scenario | Mapping[str, object], *, record: bool = True) -> Fleet:
        if not isinstance(scenario, Scenario):
            scenario = parse_scenario(dict(scenario))
        folder = tmp_path / f"fleet-{len(started)}"
        fleet = Fleet(scenario, folder / "dev", record_dir=folder / "records" if record else None)
        started.append(fleet)
        return fleet.start()

    yield start
    for fleet in started:
        fleet.stop()
