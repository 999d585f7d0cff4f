"""The MQTT topic tree, rooted at ``lantian/v1``.

=============================  =====================  ==========================================
topic                          direction              meaning
=============================  =====================  ==========================================
``gw/{gateway}/telemetry``     gateway → platform     telemetry batches, QoS 1
``gw/{gateway}/status``        gateway → platform     retained birth message and last will
``gw/{gateway}/ack``           platform → gateway     durable watermark (stored up to seq)
``gw/{gateway}/cmd``           platform → gateway     commands
``ent/{enterprise}/alerts``    platform → enterprise  alert notices, QoS 1
=============================  =====================  ==========================================

Broker ACLs follow the same shape: a gateway writes only under its own id, an enterprise reads
only its own alerts. Identifiers are therefore restricted to characters that cannot escape their
level (no ``/``, ``+``, ``#``).
"""

import re
from dataclasses import dataclass
from enum import StrEnum

from telemetry.errors import TopicError

ROOT = "lantian/v1"

IDENTIFIER_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)


class TopicKind(StrEnum):
    """The kinds of topic in the tree; the value is the last topic level."""

    TELEMETRY = "telemetry"
    STATUS = "status"
    ACK = "ack"
    CMD = "cmd"
    ALERTS = "alerts"


_GATEWAY_KINDS = frozenset({TopicKind.TELEMETRY, TopicKind.STATUS, TopicKind.ACK, TopicKind.CMD})


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed topic: its kind and the gateway or enterprise it belongs to."""

    kind: TopicKind
    owner: str  # gateway id for gw/... topics, enterprise id for ent/... topics

    def __str__(self) -> str:
        scope = "ent" if self.kind is TopicKind.ALERTS else "gw"
        return f"{ROOT}/{scope}/{self.owner}/{self.kind.value}"


def check_identifier(value: str) -> str:
    """Return ``value`` if it may stand as one topic level, else raise :class:`TopicError`."""
    if not _IDENTIFIER.fullmatch(value):
        raise TopicError(value, f"identifier must match {IDENTIFIER_PATTERN}")
    return value


def telemetry(gateway: str) -> str:
    """Topic a gateway publishes its telemetry batches to."""
    return str(Topic(TopicKind.TELEMETRY, check_identifier(gateway)))


def status(gateway: str) -> str:
    """Topic of a gateway's retained birth message and last will."""
    return str(Topic(TopicKind.STATUS, check_identifier(gateway)))


def ack(gateway: str) -> str:
    """Topic the platform publishes a gateway's durable watermark to."""
    return str(Topic(TopicKind.ACK, check_identifier(gateway)))


def cmd(gateway: str) -> str:
    """Topic the platform sends commands to a gateway on."""
    return str(Topic(TopicKind.CMD, check_identifier(gateway)))


def alerts(enterprise: str) -> str:
    """Topic an enterprise receives its alert notices on."""
    return str(Topic(TopicKind.ALERTS, check_identifier(enterprise)))


def subscription(kind: TopicKind) -> str:
    """Filter that matches the topics of ``kind`` for every gateway or enterprise."""
    scope = "ent" if kind is TopicKind.ALERTS else "gw"
    return f"{ROOT}/{scope}/+/{kind.value}"


def shared_subscription(group: str, kind: TopicKind) -> str:
    """MQTT 5 shared-subscription filter, so N workers of ``group`` split the messages."""
    return f"$share/{check_identifier(group)}/{subscription(kind)}"


def parse_topic(topic: str) -> Topic:
    """Parse a concrete topic of the tree.

    Raises:
        TopicError: the topic is outside ``lantian/v1``, has the wrong shape or a bad identifier.
    """
    prefix = ROOT + "/"
    if not topic.startswith(prefix):
        raise TopicError(topic, f"not under {ROOT}")
    levels = topic[len(prefix) :].split("/")
    if len(levels) != 3:
        raise TopicError(topic, "expected {scope}/{id}/{kind} under the root")
    scope, owner, last = levels
    try:
        kind = TopicKind(last)
    except ValueError:
        raise TopicError(topic, f"unknown topic kind {last!r}") from None
    expected_scope = "gw" if kind in _GATEWAY_KINDS else "ent"
    if scope != expected_scope:
        raise TopicError(topic, f"{kind.value!r} topics live under {expected_scope!r}")
    check_identifier(owner)
    return Topic(kind, owner)
