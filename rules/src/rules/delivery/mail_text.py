"""What an e-mail notice says: a subject and a plain-text body in Chinese and English.

The facts are the notice's payload and nothing else (docs/alerts.md): per alert its rule,
severity, site or subject, measured value and limit, the standard and rule version in force,
and its times in Beijing time (Asia/Shanghai), in which the regulatory windows are counted.

``Message-ID`` is made from the idempotency key, so every attempt of a notice to one address
carries the same one and a mail system or client that drops duplicates shows it once;
``X-Lantian-Idempotency-Key`` carries the key itself for a program reading the mailbox.
``Auto-Submitted: auto-generated`` (RFC 3834) keeps vacation replies away.
"""

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Final

from standards.windows import local_zone
from store.sql import Delivery, NoticeKind

IDEMPOTENCY_HEADER: Final = "X-Lantian-Idempotency-Key"
KIND_HEADER: Final = "X-Lantian-Notice-Kind"

# Kind: (Chinese headline, English headline, Chinese request, English request).
_WORDING: Final[Mapping[NoticeKind, tuple[str, str, str, str]]] = {
    NoticeKind.FIRING: (
        "超标告警",
        "Alert",
        "请登录蓝天平台确认告警，并说明已采取的措施。",
        "Please acknowledge on the Lantian platform, with a comment on what you are doing.",
    ),
    NoticeKind.REMINDER: (
        "告警提醒：尚未确认",
        "Reminder: alert not acknowledged",
        "告警仍未确认，请尽快确认并说明已采取的措施。",
        "The alert is still not acknowledged; please acknowledge it with a comment.",
    ),
    NoticeKind.ESCALATION: (
        "告警升级：企业未按时确认",
        "Escalation: not acknowledged in time",
        "企业未在规定时间内确认以下告警，请督办。",
        "The enterprise has not acknowledged these alerts in time; please follow up.",
    ),
    NoticeKind.RESOLVED: (
        "告警已解除",
        "Alert resolved",
        "监测值已恢复正常，无需操作。",
        "The readings are back within the limit; nothing to do.",
    ),
    NoticeKind.CLOSED: (
        "告警已关闭",
        "Alert closed",
        "生态环境局工作人员已关闭以下告警。",
        "Bureau staff have closed these alerts.",
    ),
}
_SEVERITY_ZH: Final = {"info": "提示", "warning": "警告", "major": "严重", "critical": "紧急"}
_NOT_ATEXT: Final = re.compile(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")


def message_id(key: str, domain: str) -> str:
    """The ``Message-ID`` of the notice with idempotency ``key``: readable, and one per key.

    A key's ``:`` may not stand in a message id (RFC 5322 ``dot-atom-text``), so runs of such
    characters become dots; a digest of the key keeps ids of keys that differ only there apart.
    """
    readable = _NOT_ATEXT.sub(".", key).strip(".")
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return f"<{readable}.{digest}@{domain}>"


def compose(delivery: Delivery, *, sender: str, domain: str, now: datetime) -> EmailMessage:
    """The e-mail of ``delivery``'s notice to its target address."""
    payload = delivery.payload
    zh, en, _, _ = _WORDING[delivery.kind]
    alerts = _alerts(payload)
    where = str(payload.get("site") or payload.get("enterprise") or _first(alerts, "subject"))
    rule = str(_first(alerts, "rule"))
    more = f" 等{len(alerts)}项 (+{len(alerts) - 1})" if len(alerts) > 1 else ""
    message = EmailMessage()
    message["Subject"] = f"【蓝天 Lantian】{zh} {en}: {rule}{more} @ {where}"
    message["From"] = sender
    message["To"] = delivery.target
    message["Date"] = format_datetime(now.astimezone(local_zone()))
    message["Message-ID"] = message_id(delivery.idempotency_key, domain)
    message[IDEMPOTENCY_HEADER] = delivery.idempotency_key
    message[KIND_HEADER] = delivery.kind.value
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body(delivery))
    return message


def body(delivery: Delivery) -> str:
    """The plain-text body: the notice's facts, each label in Chinese and English."""
    payload = delivery.payload
    zh, en, ask_zh, ask_en = _WORDING[delivery.kind]
    lines = [f"{zh} / {en}", ""]
    for label, name in (("企业 Enterprise", "enterprise"), ("站点 Site", "site")):
        if payload.get(name):
            lines.append(f"{label}: {payload[name]}")
    lines.append(f"通知时间 Sent: {_local(payload.get('created_at'))}")
    if payload.get("closed_by"):
        lines.append(f"关闭人 Closed by: {payload['closed_by']}")
    if payload.get("comment"):
        lines.append(f"说明 Comment: {payload['comment']}")
    for number, alert in enumerate(_alerts(payload), start=1):
        lines.extend(["", *_alert_lines(number, alert)])
    lines.extend(["", ask_zh, ask_en, "", f"通知编号 Notice key: {delivery.idempotency_key}"])
    return "\n".join(lines) + "\n"


def _alert_lines(number: int, alert: Mapping[str, object]) -> list[str]:
    severity = str(alert.get("severity", ""))
    lines = [
        f"{number}. {alert.get('rule')}  [{_SEVERITY_ZH.get(severity, severity)} {severity}]",
        f"   对象 Subject: {alert.get('subject')}",
    ]
    if alert.get("device"):
        lines.append(f"   设备 Device: {alert['device']}")
    value, limit = _number(alert.get("value")), _number(alert.get("limit"))
    lines.append(f"   测量值 Value: {value}   限值 Limit: {limit}")
    standard, version = alert.get("standard") or "—", alert.get("rule_version")
    lines.append(f"   标准 Standard: {standard}   规则版本 Rule version: {version}")
    lines.append(f"   时段起 Window start: {_local(alert.get('window_start'))}")
    for label, name in (
        ("告警 Fired", "fired_at"),
        ("确认 Acknowledged", "acknowledged_at"),
        ("解除 Resolved", "resolved_at"),
    ):
        if alert.get(name):
            lines.append(f"   {label}: {_local(alert[name])}")
    lines.append(f"   告警编号 Alert id: {alert.get('id')}   状态 State: {alert.get('state')}")
    return lines


def _alerts(payload: Mapping[str, object]) -> list[Mapping[str, object]]:
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        return []
    return [alert for alert in alerts if isinstance(alert, Mapping)]


def _first(alerts: list[Mapping[str, object]], name: str) -> object:
    return alerts[0].get(name, "") if alerts else ""


def _number(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.6g}"
    return "—"


def _local(value: object) -> str:
    """An ISO time of the payload in Beijing time: ``2026-11-26 10:00:00 北京时间 (UTC+8)``."""
    if not isinstance(value, str):
        return "—"
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return value
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # the store keeps UTC
    return when.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M:%S 北京时间 (UTC+8)")
