import itertools

import pytest

from firmware_sim.scenario import FaultEvent
from firmware_sim.timeline import schedule


def event(at, device, fault, duration=None):
    data = {"at": at, "device": device, "fault": fault}
    if duration is not None:
        data["for"] = duration
    return FaultEvent.model_validate(data)


def steps(actions):
    return [(a.at, "begins" if a.begins else "ends", a.event.device, a.cycle) for a in actions]


@pytest.mark.parametrize(
    ("timeline", "expected"),
    [
        ([], []),
        (
            [event(5, "pm-1", "silence", 2)],
            [(5, "begins", "pm-1", 0), (7, "ends", "pm-1", 0)],
        ),
        (  # in time order, whatever the order of the file
            [event(5, "a", "silence", 10), event(1, "b", "busy", 2)],
            [
                (1, "begins", "b", 0),
                (3, "ends", "b", 0),
                (5, "begins", "a", 0),
                (15, "ends", "a", 0),
            ],
        ),
        (  # at one moment an end comes first, so that back-to-back faults leave no gap
            [event(7, "a", "silence", 1), event(5, "a", "silence", 2)],
            [
                (5, "begins", "a", 0),
                (7, "ends", "a", 0),
                (7, "begins", "a", 0),
                (8, "ends", "a", 0),
            ],
        ),
        (  # one-shot faults have no end; lasting ones without a duration never end
            [event(2, "bus/1", "counter_reset"), event(1, "pm-1", "stuck")],
            [(1, "begins", "pm-1", 0), (2, "begins", "bus/1", 0)],
        ),
    ],
)
def test_the_timeline_becomes_beginnings_and_ends_in_time_order(timeline, expected):
    assert steps(schedule(timeline)) == expected


def test_a_repeated_timeline_starts_over_every_period_for_ever():
    timeline = [event(1, "pm-1", "garbage", 2), event(4, "bus", "counter_reset")]
    first = list(itertools.islice(schedule(timeline, repeat=5), 9))
    assert steps(first) == [
        (1, "begins", "pm-1", 0),
        (3, "ends", "pm-1", 0),
        (4, "begins", "bus", 0),
        (6, "begins", "pm-1", 1),
        (8, "ends", "pm-1", 1),
        (9, "begins", "bus", 1),
        (11, "begins", "pm-1", 2),
        (13, "ends", "pm-1", 2),
        (14, "begins", "bus", 2),
    ]


def test_an_empty_timeline_with_a_period_is_empty_not_endless():
    assert list(schedule([], repeat=5)) == []
