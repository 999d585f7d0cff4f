"""Alert notices: how the alert store groups, keys and words what it writes to the outbox.

Notices of one kind written by one change are grouped by the alerts' audience and site: one
notice lists every alert of the group, so five metrics exceeding at one site make one notice,
not five. Its idempotency key names the group's lowest alert id and the kind::

    alert-17:firing           alert-17:reminder:2      alert-17:escalation
    alert-17:resolved         alert-17:resolved:bureau (the bureau's copy)
    alert-17:closed

Each alert is fired, escalated, settled and closed at most once and reminded once per number
(the store refuses anything else), so no key can be written twice; it is fixed when the
notice is written, so every delivery attempt carries the same one.

The payload is channel-agnostic JSON: ``key``, ``kind``, ``audience``, ``enterprise``,
``site``, ``created_at``, ``alerts`` (each alert's rule, subject, placement, severity, state,
value, limit, standard, rule version and times), plus ``closed_by`` and ``comment`` on a
``closed`` notice. Channels render it; they add nothing the receiver could tell apart.
"""

from datetime import datetime

from sqlalchemy.orm import Session

from store.sql.alert_records import GroupKey, JsonObject, summary
from store.sql.alert_states import BUREAU, NoticeKind
from store.sql.models import AlertRow
from store.sql.outbox import Notification, write_notification


def notify(  # noqa: PLR0913 - one notice's facts
    session: Session,
    now: datetime,
    kind: NoticeKind,
    rows: list[AlertRow],
    audience: str | None = None,
    *,
    extra: JsonObject | None = None,
) -> list[tuple[Notification, list[AlertRow]]]:
    """Write one notice per audience and site of ``rows``; each with the alerts it tells of.

    ``audience`` sends the notices elsewhere than to the alerts' own audience (the bureau).
    """
    groups: dict[GroupKey, list[AlertRow]] = {}
    for row in sorted(rows, key=lambda row: row.id):
        groups.setdefault((row.audience, row.site), []).append(row)
    written: list[tuple[Notification, list[AlertRow]]] = []
    for (owner, site), members in groups.items():
        to = audience or owner
        key = notice_key(kind, members[0], copy_to=None if to == owner else to)
        payload: JsonObject = {
            "key": key,
            "kind": kind.value,
            "audience": to,
            "enterprise": None if owner == BUREAU else owner,
            "site": site,
            "created_at": now,
            "alerts": [summary(row) for row in members],
            **(extra or {}),
        }
        notice = write_notification(
            session,
            key=key,
            kind=kind,
            audience=to,
            site=site,
            alert_ids=[row.id for row in members],
            payload=payload,
            now=now,
        )
        written.append((notice, members))
    return written


def notice_key(kind: NoticeKind, lead: AlertRow, *, copy_to: str | None = None) -> str:
    """The idempotency key of a notice of ``kind`` whose lowest alert is ``lead``."""
    key = f"alert-{lead.id}:{kind}"
    if kind is NoticeKind.REMINDER:
        key += f":{lead.reminders}"
    if copy_to is not None and kind is not NoticeKind.ESCALATION:
        key += f":{copy_to}"  # escalations go to the bureau by nature, not as a copy
    return key
