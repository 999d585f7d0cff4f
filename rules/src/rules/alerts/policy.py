"""Alert policy: what each rule outcome does to an alert, and the lifecycle's time settings.

A rule result's ``outcome`` has one of three effects on the alert of its rule and subject:

=====================  ==========  ===========================================================
outcome                effect      why
=====================  ==========  ===========================================================
``firing``             raise       a stream episode held its condition for ``for``
``exceeding``          raise       a window's mean, AQI or intensity is beyond its limit
``projected_miss``     raise       an annual target is projected to be missed
``resolved``           clear       the stream episode ended
``compliant``          clear       the window is within its limit
``on_track``           clear       the annual target is projected to be met
anything else          none        ``insufficient_data`` says nothing about the air: it neither
                                   opens nor resolves; ``no_limit`` judges against nothing
=====================  ==========  ===========================================================

The table is data (:data:`OUTCOME_EFFECTS`), so a new rule kind adds its outcomes here.
"""

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from rules.model import Severity


class Effect(StrEnum):
    """What a result can do to its alert."""

    RAISE = "raise"  # open it, update it, or reopen it
    CLEAR = "clear"  # resolve it
    NONE = "none"  # leave it as it is


OUTCOME_EFFECTS: Final = {
    "firing": Effect.RAISE,
    "exceeding": Effect.RAISE,
    "projected_miss": Effect.RAISE,  # rules.targets.PROJECTED_MISS
    "resolved": Effect.CLEAR,
    "compliant": Effect.CLEAR,
    "on_track": Effect.CLEAR,
}


def effect_of(outcome: str) -> Effect:
    """The effect of a result with ``outcome`` (see the module's table)."""
    return OUTCOME_EFFECTS.get(outcome, Effect.NONE)


_RANKS: Final = {severity.value: rank for rank, severity in enumerate(Severity)}


def outranks(severity: str, than: str) -> bool:
    """Whether ``severity`` is more urgent than ``than``; unknown names rank below ``info``."""
    return _RANKS.get(severity, -1) > _RANKS.get(than, -1)


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """The lifecycle's time settings, in seconds (docs/alerts.md says what each does).

    Attributes:
        group_window_s: how long a new alert waits for others of its site before the one
            ``firing`` notice for all of them is written; 0 writes it at once.
        flap_window_s: how long a resolved alert may reopen instead of a new one opening;
            its ``resolved`` notice waits as long.
        escalate_after_s: firing this long unacknowledged → an escalation to the bureau;
            ``None``: never.
        remind_every_s: a reminder to the audience this often while unacknowledged;
            ``None``: never.
    """

    group_window_s: float = 60.0
    flap_window_s: float = 900.0
    escalate_after_s: float | None = 1800.0
    remind_every_s: float | None = 3600.0

    def __post_init__(self) -> None:
        for name in ("group_window_s", "flap_window_s", "escalate_after_s", "remind_every_s"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name}: a finite number of seconds, 0 or more (got {value})")
        if self.remind_every_s == 0:
            raise ValueError("remind_every_s: more than 0, or None for no reminders")
