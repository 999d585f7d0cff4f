"""Aggregation: device samples become clock-aligned interval aggregates before they are published.

Gauges (concentrations, power, voltage) yield the mean with min, max and count
(:mod:`~edge.aggregation.gauges`); energy counters yield their last value and the consumption in
the interval, with resets, rollovers, meter replacements, implausible jumps and gaps handled
(:mod:`~edge.aggregation.counters`). :mod:`~edge.aggregation.intervals` holds the rules both
share (alignment, the interval-start timestamp, quality flags, validity), and
:mod:`~edge.aggregation.aggregator` the stage the agent drives: when intervals close, late
samples, raw pass-through. Each module's docstring gives its choices and the reasons for them.
"""

from edge.aggregation.aggregator import AggregationCounters, Aggregator
from edge.aggregation.counters import CounterEvent, delta_metric

__all__ = ["AggregationCounters", "Aggregator", "CounterEvent", "delta_metric"]
