"""Stream rules: thresholds and data and sensor health, judged on readings as they arrive.

:class:`StreamEngine` (in :mod:`rules.stream.engine`) is pure and deterministic; the kinds live
beside it — :mod:`~rules.stream.threshold`, :mod:`~rules.stream.sensors` (flatline, out of
range, PM order), :mod:`~rules.stream.silence` (no data, gateway offline) — sharing
:mod:`~rules.stream.evaluator` and :mod:`~rules.stream.episodes`. The service that feeds it from
MQTT and records its results is :mod:`rules.service`; the semantics are in ``docs/rules.md``.
"""

from rules.stream.engine import EngineCounts, StreamEngine

__all__ = ["EngineCounts", "StreamEngine"]
