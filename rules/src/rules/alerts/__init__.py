"""The alert lifecycle: rule results become alerts, alerts become notices (docs/alerts.md).

:class:`AlertBook` takes the rule results the service records and its clock's ticks, and
keeps one alert per rule and subject: opened by a ``firing`` or ``exceeding`` result,
updated by repeats, resolved by ``resolved`` or ``compliant``, reopened when it flaps, fired
to its enterprise in one notice per site, reminded and escalated while unacknowledged. What
each outcome does and when each timer runs is decided in :mod:`rules.alerts.decide`, by an
:class:`AlertPolicy`; the state machine, the audit trail and the outbox are
:class:`store.sql.AlertStore`'s, shared with the API::

    book = AlertBook(AlertStore(engine), AlertPolicy(group_window_s=60, flap_window_s=900))
    book.handle(results.record(found, now=now), now=now)   # after every recorded batch
    book.tick(now=now)                                     # every few seconds
"""

from rules.alerts.book import AlertBook, AlertReport
from rules.alerts.decide import (
    Decision,
    Ignored,
    Step,
    decide,
    due_escalations,
    due_groups,
    due_reminders,
    due_settlements,
)
from rules.alerts.policy import OUTCOME_EFFECTS, AlertPolicy, Effect, effect_of, outranks

__all__ = [
    "OUTCOME_EFFECTS",
    "AlertBook",
    "AlertPolicy",
    "AlertReport",
    "Decision",
    "Effect",
    "Ignored",
    "Step",
    "decide",
    "due_escalations",
    "due_groups",
    "due_reminders",
    "due_settlements",
    "effect_of",
    "outranks",
]
