"""Quality of a reading, as the HJ 212-2017 data flags.

HJ 212-2017 defines these letters for pollution-source monitoring data; Lantian uses the same
vocabulary for every reading, so a value's quality survives from the device to a regulatory
average without translation (HJ 212-2017, data flag table).
"""

from enum import StrEnum


class Quality(StrEnum):
    """HJ 212-2017 data flag of one reading."""

    NORMAL = "N"
    STOPPED = "F"  # instrument stopped
    MAINTENANCE = "M"
    MANUAL = "S"  # manually entered
    FAULT = "D"
    CALIBRATION = "C"
    OVER_RANGE = "T"  # above the upper measuring limit
    COMMS_FAULT = "B"  # communication fault with the data logger
