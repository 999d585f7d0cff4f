"""The alert state machine, the actors who move it, and the errors of the alert store.

Pure: no database, no clock. :mod:`store.sql.alerts` applies it to stored alerts, so the rules
engine (which opens, updates and resolves alerts from rule results) and the API (where
enterprises acknowledge and bureau staff assign and close) obey one table::

    pending ──fired──▶ firing ──acknowledged──▶ acknowledged
       │                 │                          │
       └──acknowledged───┼──────────────────────────┤
                         └───resolved──▶ resolved ◀─┘
                                           │  ▲
                              reopened ◀───┘  │ (within the flap window: back to firing,
                                              │  or to acknowledged if it had been)
    any state but closed ──closed──▶ closed   (bureau staff; a closed alert never reopens)

Actions that keep the state (updated, severity_raised, commented, assigned, escalated,
reminded) are allowed only where :data:`TRANSITIONS` lists them. docs/alerts.md explains
what each state means.

    SqlStoreError
    └── AlertError
        ├── AlertNotFoundError     no alert with this id
        ├── InvalidTransitionError the action is not allowed in the alert's state
        ├── ForbiddenActionError   this actor may not do this to this alert
        └── InvalidAlertInputError a blank comment, an overlong assignee, a naive time
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from store.sql.errors import SqlStoreError

BUREAU: Final = "bureau"  # the audience of notices for bureau staff
COMMENT_LENGTH: Final = 2000
USER_NAME_LENGTH: Final = 120  # so that enterprise:{64-character id}/{name} fits in 200


class AlertState(StrEnum):
    """Where an alert is in its life; the first three are *open*."""

    PENDING = "pending"  # opened; its firing notice waits for the site's group to close
    FIRING = "firing"  # notified, not acknowledged
    ACKNOWLEDGED = "acknowledged"  # the enterprise (or the bureau for it) has seen it
    RESOLVED = "resolved"  # the rule says the condition ended; may reopen while it flaps
    CLOSED = "closed"  # bureau staff finished it; never changes again but by comments


OPEN_STATES: Final = frozenset({AlertState.PENDING, AlertState.FIRING, AlertState.ACKNOWLEDGED})


class AlertAction(StrEnum):
    """What can happen to an alert; every one is one row of the audit trail."""

    OPENED = "opened"
    FIRED = "fired"
    SEVERITY_RAISED = "severity_raised"
    UPDATED = "updated"
    ACKNOWLEDGED = "acknowledged"
    COMMENTED = "commented"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"
    ESCALATED = "escalated"
    REMINDED = "reminded"


class NoticeKind(StrEnum):
    """What a notification in the outbox tells its audience."""

    FIRING = "firing"  # alerts opened (grouped per site)
    REMINDER = "reminder"  # still not acknowledged
    ESCALATION = "escalation"  # to the bureau: not acknowledged in time
    RESOLVED = "resolved"  # ended, and stayed ended through the flap window
    CLOSED = "closed"  # bureau staff closed an alert its audience was told of


def _same(*states: AlertState) -> Mapping[AlertState, AlertState]:
    return {state: state for state in states}


_ALL = tuple(AlertState)
_P, _F, _A, _R, _C = _ALL

# action → {state before: state after}; an action absent for a state is refused there.
TRANSITIONS: Final[Mapping[AlertAction, Mapping[AlertState, AlertState]]] = {
    AlertAction.FIRED: {_P: _F},
    AlertAction.ACKNOWLEDGED: {_P: _A, _F: _A},
    AlertAction.RESOLVED: {_F: _R, _A: _R},
    AlertAction.REOPENED: {_R: _F},  # to ACKNOWLEDGED instead when it had been: see next_state
    AlertAction.CLOSED: {_P: _C, _F: _C, _A: _C, _R: _C},
    AlertAction.UPDATED: _same(_P, _F, _A),
    AlertAction.SEVERITY_RAISED: _same(_P, _F, _A),
    AlertAction.COMMENTED: _same(*_ALL),
    AlertAction.ASSIGNED: _same(_P, _F, _A, _R),
    AlertAction.ESCALATED: _same(_F),
    AlertAction.REMINDED: _same(_F),
}


class AlertError(SqlStoreError):
    """Base of the errors of the alert store."""


class AlertNotFoundError(AlertError):
    """No alert with this id."""

    def __init__(self, alert_id: int) -> None:
        self.alert_id = alert_id
        super().__init__(f"no alert {alert_id}")


class InvalidTransitionError(AlertError):
    """``action`` is not allowed while the alert is ``state`` (see :data:`TRANSITIONS`).

    ``why`` says what would have allowed it: the states the action needs, or the fact that
    forbids it in this one (an alert is escalated once; a settled alert no longer reopens).
    """

    def __init__(
        self,
        alert_id: int | None,
        state: AlertState,
        action: AlertAction,
        why: str | None = None,
    ) -> None:
        self.alert_id = alert_id
        self.state = state
        self.action = action
        allowed = ", ".join(sorted(TRANSITIONS.get(action, {})))
        self.why = why or f"only while {allowed}"
        super().__init__(f"alert {alert_id}: cannot be {action} while {state}: {self.why}")


class ForbiddenActionError(AlertError):
    """``actor`` may not do ``action`` to this alert, and ``why``."""

    def __init__(self, alert_id: int, actor: str, action: AlertAction, why: str) -> None:
        self.alert_id = alert_id
        self.actor = actor
        self.action = action
        self.why = why
        super().__init__(f"alert {alert_id}: {actor} may not do {action}: {why}")


class InvalidAlertInputError(AlertError):
    """A value refused before it reaches the database: ``field`` is not ``why``."""

    def __init__(self, field: str, why: str) -> None:
        self.field = field
        self.why = why
        super().__init__(f"{field}: {why}")


def next_state(
    alert_id: int | None, state: AlertState, action: AlertAction, *, acknowledged: bool = False
) -> AlertState:
    """The state after ``action``; ``acknowledged``: whether a reopened alert had been.

    Raises:
        InvalidTransitionError: the action is not allowed in ``state``.
    """
    after = TRANSITIONS.get(action, {}).get(state)
    if after is None:
        raise InvalidTransitionError(alert_id, state, action)
    if action is AlertAction.REOPENED and acknowledged:
        return AlertState.ACKNOWLEDGED
    return after


class ActorKind(StrEnum):
    """Who acts: the platform itself, bureau staff, or a user of one enterprise."""

    SYSTEM = "system"
    STAFF = "user"
    ENTERPRISE = "enterprise"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did something to an alert, written in the audit trail as :meth:`__str__` gives it.

    ``system``, ``user:{name}`` (bureau staff) or ``enterprise:{enterprise}/{name}``.
    """

    kind: ActorKind
    name: str = ""
    enterprise: str | None = None

    @classmethod
    def system(cls) -> "Actor":
        """The platform: the rules engine and its timers."""
        return cls(ActorKind.SYSTEM)

    @classmethod
    def staff(cls, name: str) -> "Actor":
        """A member of the bureau's staff."""
        return cls(ActorKind.STAFF, _checked_name(name))

    @classmethod
    def of_enterprise(cls, enterprise: str, name: str) -> "Actor":
        """A user of ``enterprise`` (its EHS manager, say)."""
        if not enterprise or "/" in enterprise:
            raise InvalidAlertInputError("actor", f"an enterprise id, not {enterprise!r}")
        return cls(ActorKind.ENTERPRISE, _checked_name(name), enterprise)

    @classmethod
    def parse(cls, text: str) -> "Actor":
        """The actor an audit row names.

        Raises:
            InvalidAlertInputError: ``text`` is not one of the three forms.
        """
        kind, _, rest = text.partition(":")
        if text == ActorKind.SYSTEM.value:
            return cls.system()
        if kind == ActorKind.STAFF.value:
            return cls.staff(rest)
        if kind == ActorKind.ENTERPRISE.value and "/" in rest:
            enterprise, _, name = rest.partition("/")
            return cls.of_enterprise(enterprise, name)
        raise InvalidAlertInputError("actor", f"system, user:NAME or enterprise:ID/NAME: {text!r}")

    def __str__(self) -> str:
        if self.kind is ActorKind.SYSTEM:
            return "system"
        if self.kind is ActorKind.STAFF:
            return f"user:{self.name}"
        return f"enterprise:{self.enterprise}/{self.name}"


def _checked_name(name: str) -> str:
    if not name.strip() or len(name) > USER_NAME_LENGTH:
        raise InvalidAlertInputError(
            "actor", f"a user name of 1 to {USER_NAME_LENGTH} characters: {name!r}"
        )
    return name
