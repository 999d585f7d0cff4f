"""Typed errors of the wire contract.

    TelemetryError
    ├── PayloadError        a payload that is not a valid message (carries reason and field paths)
    ├── TopicError          a topic outside the Lantian tree, or a malformed identifier
    └── UnknownMetricError  a metric id the catalog does not know

Each error carries the facts a dead-letter record or a log line needs, not only a sentence.
"""

from collections.abc import Sequence


class TelemetryError(Exception):
    """Base of every error raised by the wire contract."""


class PayloadError(TelemetryError):
    """A payload that cannot be accepted as the message it claims to be.

    Attributes:
        reason: a short stable code for counting (``invalid_json``, ``schema``, ``too_large``).
        problems: one human-readable line per problem, each starting with its field path.
    """

    def __init__(self, reason: str, problems: Sequence[str]) -> None:
        self.reason = reason
        self.problems = tuple(problems)
        super().__init__(f"{reason}: " + "; ".join(self.problems))


class TopicError(TelemetryError):
    """A topic that is not in the Lantian tree, or an identifier that cannot be used in one."""

    def __init__(self, topic: str, why: str) -> None:
        self.topic = topic
        self.why = why
        super().__init__(f"{topic!r}: {why}")


class UnknownMetricError(TelemetryError, KeyError):
    """A metric id that is not in the catalog."""

    def __init__(self, metric_id: str) -> None:
        self.metric_id = metric_id
        super().__init__(f"unknown metric {metric_id!r}")

    def __str__(self) -> str:
        return f"unknown metric {self.metric_id!r}"
