"""A scenario's timeline as the moments a fault begins or ends, in the order they happen.

Pure: the fleet's scheduler thread walks :func:`schedule` and waits for each moment. With a
``repeat`` period the timeline starts over every ``repeat`` seconds, for ever (a scenario checks
that every fault ends within the period, so cycles never overlap). At equal times an end comes
before a beginning, so that a fault ending at the moment another of the same kind begins on the
same device leaves that device faulty without a gap; one-shot faults (``counter_reset``) have a
beginning only.
"""

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from firmware_sim.faults import ONE_SHOT
from firmware_sim.scenario import FaultEvent


@dataclass(frozen=True, slots=True)
class Action:
    """A fault beginning (``begins``) or ending, ``at`` seconds after the fleet started."""

    at: float
    begins: bool
    event: FaultEvent
    index: int  # the event's position in the timeline
    cycle: int = 0  # how many times the timeline had started over

    def sort_key(self) -> tuple[float, int, int]:
        """Time first; at one time, ends before beginnings, then timeline order."""
        return (self.at, int(self.begins), self.index)


def one_cycle(timeline: Sequence[FaultEvent]) -> list[Action]:
    """Every beginning and every (finite) end of one pass through the timeline, in order."""
    actions: list[Action] = []
    for index, event in enumerate(timeline):
        actions.append(Action(event.at, True, event, index))  # noqa: FBT003 - a field, by position
        if event.fault not in ONE_SHOT and math.isfinite(event.end):
            actions.append(Action(event.end, False, event, index))  # noqa: FBT003
    return sorted(actions, key=Action.sort_key)


def schedule(timeline: Sequence[FaultEvent], repeat: float | None = None) -> Iterator[Action]:
    """The actions in time order; endless with ``repeat`` (and a timeline that is not empty)."""
    once = one_cycle(timeline)
    if repeat is None:
        yield from once
        return
    if not once:
        return
    for cycle in itertools.count():
        for action in once:
            yield replace(action, at=action.at + cycle * repeat, cycle=cycle)
