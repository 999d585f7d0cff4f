"""Which flagged values may enter a regulatory mean: the HJ 212-2017 data flags.

Every reading carries an HJ 212-2017 data flag (the telemetry ``Quality`` letters; this package
does not import telemetry, and a ``Quality`` member is the letter itself). A flag's values are
either included in a mean or excluded from it. :data:`HJ212_FLAG_POLICY` is the default; a
caller with other rules passes its own mapping.

- N (normal) is included.
- F (stopped), M (maintenance), D (fault), C (calibration), B (communication fault) are
  excluded: the value is not a measurement of the air.
- S (manually entered set value) is excluded: a typed-in number is not a measurement, and
  excluding can only make a window insufficient, never falsely compliant.
- T (above the instrument's upper limit) is included: the true value is at least the reading,
  so the mean is a lower bound and an exceedance found with it is certain. Excluding those
  values would drop exactly the highest concentrations.
"""

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType

from standards.errors import InvalidValueError, UnknownFlagError


class FlagTreatment(StrEnum):
    """Whether values with a data flag enter a mean."""

    INCLUDE = "include"
    EXCLUDE = "exclude"


_IN, _OUT = FlagTreatment.INCLUDE, FlagTreatment.EXCLUDE
OVER_RANGE = "T"  # HJ 212-2017: above the upper measuring limit

HJ212_FLAG_POLICY: Mapping[str, FlagTreatment] = MappingProxyType(
    {
        "N": _IN,  # HJ 212-2017: instrument working normally
        "F": _OUT,  # HJ 212-2017: instrument stopped
        "M": _OUT,  # HJ 212-2017: maintenance
        "S": _OUT,  # HJ 212-2017: manually entered set value
        "D": _OUT,  # HJ 212-2017: fault
        "C": _OUT,  # HJ 212-2017: calibration
        OVER_RANGE: _IN,  # HJ 212-2017: above the upper limit; the mean is a lower bound
        "B": _OUT,  # HJ 212-2017: communication fault
    }
)


def split_by_flag(
    values: Iterable[tuple[float, str]], flags: Mapping[str, FlagTreatment] = HJ212_FLAG_POLICY
) -> tuple[list[float], Counter[str], int]:
    """Included values, excluded counts by flag, and the number of included T values.

    Raises:
        UnknownFlagError: a flag ``flags`` does not define.
        InvalidValueError: an included value that is NaN or infinite.
    """
    included: list[float] = []
    excluded: Counter[str] = Counter()
    over_range = 0
    for value, flag in values:
        treatment = flags.get(flag)
        if treatment is None:
            raise UnknownFlagError(flag)
        if treatment is FlagTreatment.EXCLUDE:
            excluded[str(flag)] += 1
            continue
        if not math.isfinite(value):
            raise InvalidValueError(f"value flagged {flag}", value, "a finite number")
        included.append(value)
        if flag == OVER_RANGE:
            over_range += 1
    return included, excluded, over_range
