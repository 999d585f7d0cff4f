"""The wire contract between gateways and the platform.

Everything that crosses MQTT is defined here and nowhere else: the payload models
(:mod:`telemetry.payload`), the topic tree (:mod:`telemetry.topics`), the metric catalog with
units and physically valid ranges (:mod:`telemetry.catalog`) and the HJ 212 quality letters
(:mod:`telemetry.quality`). Beside the contract it holds the YAML reader that points a
configuration error at its line (:mod:`telemetry.yaml_source`), shared by the gateway's
configuration and the rule files. The package is pure: it imports no other Lantian package and
does no I/O, so a gateway and every server share one definition.
"""

from telemetry.catalog import CATALOG, Metric, MetricKind, metric
from telemetry.errors import PayloadError, TelemetryError, TopicError, UnknownMetricError
from telemetry.payload import (
    SCHEMA_VERSION,
    Ack,
    ClockSync,
    DecodedBatch,
    DeviceHealth,
    GatewayState,
    GatewayStatus,
    Reading,
    RejectedReading,
    SpoolHealth,
    TelemetryBatch,
    decode_ack,
    decode_batch,
    decode_batch_partial,
    decode_status,
    encode,
)
from telemetry.quality import Quality
from telemetry.topics import ROOT, Topic, TopicKind, parse_topic

__all__ = [
    "CATALOG",
    "ROOT",
    "SCHEMA_VERSION",
    "Ack",
    "ClockSync",
    "DecodedBatch",
    "DeviceHealth",
    "GatewayState",
    "GatewayStatus",
    "Metric",
    "MetricKind",
    "PayloadError",
    "Quality",
    "Reading",
    "RejectedReading",
    "SpoolHealth",
    "TelemetryBatch",
    "TelemetryError",
    "Topic",
    "TopicError",
    "TopicKind",
    "UnknownMetricError",
    "decode_ack",
    "decode_batch",
    "decode_batch_partial",
    "decode_status",
    "encode",
    "metric",
    "parse_topic",
]
