"""The JSON shapes of alerts and their audit events, as the alert routes answer them."""

from datetime import datetime
from typing import Self

from pydantic import BaseModel, Field

from store.sql import AlertEventRecord, AlertRecord

JsonObject = dict[str, object]


class AlertOut(BaseModel):
    """An alert as a list shows it; docs/alerts.md explains states and fields."""

    id: int
    rule: str
    rule_version: str
    kind: str
    subject: str
    state: str
    severity: str
    audience: str = Field(description="the enterprise told of it, or bureau")
    live: bool = Field(description="rule results still change it")
    county: str | None
    park: str | None
    enterprise: str | None
    site: str | None
    device: str | None
    gateway: str | None
    value: float | None
    limit: float | None = Field(description="the limit in force for the latest result")
    standard: str | None = Field(description="where the limit comes from, with its version")
    window_start: datetime
    last_window_start: datetime
    opened_at: datetime
    updated_at: datetime
    fired_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    closed_at: datetime | None
    closed_by: str | None
    assignee: str | None
    escalated_at: datetime | None
    reopen_count: int

    @classmethod
    def of(cls, alert: AlertRecord) -> Self:
        """The answer for ``alert``."""
        return cls.model_validate(alert, from_attributes=True)


class EventOut(BaseModel):
    """One line of the audit trail."""

    id: int
    alert_id: int
    at: datetime
    actor: str = Field(description="system, user:{name} or enterprise:{id}/{name}")
    action: str
    state: str = Field(description="the alert's state after the action")
    comment: str | None
    details: JsonObject

    @classmethod
    def of(cls, event: AlertEventRecord) -> Self:
        """The answer for ``event``."""
        return cls.model_validate(event, from_attributes=True)


class AlertDetail(AlertOut):
    """One alert with the results behind it and everything done to it."""

    result_revision: int
    trigger: JsonObject = Field(description="the result that opened it")
    evidence: JsonObject = Field(
        description="the latest result: window, value, limit, standard, rule version, readings"
    )
    events: list[EventOut] = Field(description="the audit trail, oldest first")

    @classmethod
    def of_with(cls, alert: AlertRecord, events: list[EventOut]) -> Self:
        """The answer for ``alert`` and its audit trail."""
        fields = AlertOut.of(alert).model_dump()
        return cls(
            **fields,
            result_revision=alert.result_revision,
            trigger=alert.trigger,
            evidence=alert.evidence,
            events=events,
        )


class AlertList(BaseModel):
    """A page of alerts, newest first."""

    items: list[AlertOut]
    next_before: int | None = Field(
        description="pass as before= for the next page; null when this is the last"
    )
