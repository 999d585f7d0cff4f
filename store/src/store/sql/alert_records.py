"""Alerts and audit events as frozen records, and the JSON the alert store writes.

Services never hold live ORM rows (see :mod:`store.sql.models`); the alert store hands out
these records, and builds from them the evidence it keeps and the payload of its notices.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from store.sql.alert_states import OPEN_STATES, AlertAction, AlertState
from store.sql.models import AlertEventRow, AlertRow
from store.sql.results import RuleResult

JsonObject = dict[str, object]
GroupKey = tuple[str, str | None]  # (audience, site)

KEY_SEPARATOR: Final = "|"  # rule ids are identifiers, so they never contain it


def open_key(rule: str, subject: str) -> str:
    """The value of ``alerts.open_key`` while an alert of this rule and subject is live."""
    return f"{rule}{KEY_SEPARATOR}{subject}"


def dumps(value: Mapping[str, object]) -> str:
    """JSON as the store writes it: sorted keys, compact, so equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_iso)


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def snapshot(result: RuleResult) -> JsonObject:
    """What an alert keeps of a result: the window, the figures, the versions, the evidence."""
    return {
        "outcome": result.outcome,
        "window_start": result.window_start,
        "window_end": result.window_end,
        "value": result.value,
        "limit": result.limit,
        "standard": result.standard,
        "rule_version": result.rule_version,
        "revision": result.revision,
        "evidence": result.evidence,
    }


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One alert as stored (see :class:`store.sql.models.AlertRow` for the columns' meaning)."""

    id: int
    rule: str
    subject: str
    kind: str
    rule_version: str
    state: AlertState
    severity: str
    audience: str  # the enterprise told of it, or ``bureau``
    live: bool  # open, or resolved within its flap window: results still change it
    window_start: datetime
    last_window_start: datetime
    result_revision: int
    trigger: JsonObject
    evidence: JsonObject
    opened_at: datetime
    updated_at: datetime
    last_seen_at: datetime
    reminders: int
    reopen_count: int
    value: float | None = None
    limit: float | None = None
    standard: str | None = None
    county: str | None = None
    park: str | None = None
    enterprise: str | None = None
    site: str | None = None
    device: str | None = None
    gateway: str | None = None
    fired_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    settled_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    assignee: str | None = None
    escalated_at: datetime | None = None
    reminded_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        """Pending, firing or acknowledged."""
        return self.state in OPEN_STATES

    @property
    def key(self) -> tuple[str, str]:
        """(rule, subject): at most one live alert per key."""
        return (self.rule, self.subject)

    @property
    def group(self) -> GroupKey:
        """Alerts of one audience and site share notices (grouping, docs/alerts.md)."""
        return (self.audience, self.site)


@dataclass(frozen=True, slots=True)
class AlertEventRecord:
    """One line of the audit trail."""

    id: int
    alert_id: int
    at: datetime
    actor: str  # ``system``, ``user:{name}``, ``enterprise:{id}/{name}``
    action: AlertAction
    state: AlertState  # the alert's state after the action
    comment: str | None
    details: JsonObject


_COPIED: Final = (
    "id",
    "rule",
    "subject",
    "kind",
    "rule_version",
    "severity",
    "audience",
    "window_start",
    "last_window_start",
    "result_revision",
    "opened_at",
    "updated_at",
    "last_seen_at",
    "reminders",
    "reopen_count",
    "value",
    "limit",
    "standard",
    "county",
    "park",
    "enterprise",
    "site",
    "device",
    "gateway",
    "fired_at",
    "acknowledged_at",
    "acknowledged_by",
    "resolved_at",
    "settled_at",
    "closed_at",
    "closed_by",
    "assignee",
    "escalated_at",
    "reminded_at",
)


def alert_record(row: AlertRow) -> AlertRecord:
    """The record of ``row``."""
    return AlertRecord(
        state=AlertState(row.state),
        live=row.open_key is not None,
        trigger=json.loads(row.trigger),
        evidence=json.loads(row.evidence),
        **{name: getattr(row, name) for name in _COPIED},
    )


def event_record(row: AlertEventRow) -> AlertEventRecord:
    """The record of one audit row."""
    return AlertEventRecord(
        id=row.id,
        alert_id=row.alert_id,
        at=row.at,
        actor=row.actor,
        action=AlertAction(row.action),
        state=AlertState(row.state),
        comment=row.comment,
        details=json.loads(row.details),
    )


_SUMMARISED: Final = (
    "id",
    "rule",
    "kind",
    "subject",
    "severity",
    "county",
    "park",
    "enterprise",
    "site",
    "device",
    "gateway",
    "window_start",
    "value",
    "limit",
    "standard",
    "rule_version",
    "opened_at",
    "fired_at",
    "acknowledged_at",
    "resolved_at",
    "reopen_count",
)


def summary(row: AlertRow) -> JsonObject:
    """An alert as a notice lists it: enough for a person to know what, where and how bad."""
    summarised: JsonObject = {name: getattr(row, name) for name in _SUMMARISED}
    summarised["state"] = row.state
    return summarised
