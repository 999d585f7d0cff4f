"""Interval statistics of a gauge (a level at an instant: concentration, power, voltage).

The aggregate's value is the arithmetic mean of the chosen samples (see
:mod:`edge.aggregation.intervals` for which samples, which flag and when it is valid), with
their ``min``, ``max`` and ``count``. The mean is summed with :func:`math.fsum` and kept within
``[min, max]``: a float mean of equal values can otherwise land one ulp outside them.
"""

import math

from edge.aggregation.intervals import Selection, enough
from telemetry import Reading


def gauge_aggregate(  # noqa: PLR0913 - keyword-only facts of one interval
    device: str,
    metric: str,
    *,
    start_ms: int,
    selection: Selection,
    interval_s: float,
    period_s: float,
    min_coverage: float,
) -> Reading:
    """The aggregate of one gauge over the interval starting at ``start_ms``."""
    values = [r.value for r in selection.samples]
    low, high = min(values), max(values)
    mean = min(max(math.fsum(values) / len(values), low), high)
    return Reading(
        device=device,
        metric=metric,
        value=mean,
        ts=start_ms,
        quality=selection.quality,
        min=low,
        max=high,
        count=len(values),
        interval_s=interval_s,
        valid=enough(
            selection.normal, interval_s=interval_s, period_s=period_s, min_coverage=min_coverage
        ),
    )
