"""Colours and thresholds shared by the dashboards, taken from the standards they show."""

from datetime import date

from dashboards.model import Threshold
from standards.aqi_tables import HJ_633_2012_AQI
from standards.limits import limit_for
from standards.pollutants import Averaging, Grade, Pollutant

# HJ 633-2012 Table 2 and Appendix A: AQI levels 1..6 and their colours.
AQI_LEVELS = tuple(
    Threshold(c.colour_hex, None if i == 0 else float(c.level))
    for i, c in enumerate(HJ_633_2012_AQI.categories)
)
# The same colours from each category's lowest AQI value, for AQI values themselves.
AQI_VALUES = tuple(
    Threshold(c.colour_hex, None if i == 0 else float(c.low))
    for i, c in enumerate(HJ_633_2012_AQI.categories)
)
AQI_LEVEL_NAMES = {
    str(c.level): {"text": f"{c.name_zh} {c.name_en}", "color": c.colour_hex}
    for c in HJ_633_2012_AQI.categories
}


def daily_limit(pollutant: Pollutant, on: date) -> tuple[Threshold, ...]:
    """Green below, red from the Grade II 24-hour limit in force on ``on`` (GB 3095).

    The edition follows the standards package's default policy (GB 3095-2012 Table 1 until
    the 2026 revision is verified and enabled): 75 µg/m³ for PM2.5, 150 µg/m³ for PM10.
    """
    limit = limit_for(pollutant, Averaging.DAY, Grade.SECOND, on=on)
    return (Threshold("green"), Threshold("red", float(limit.value)))


ONLINE = {"0": {"text": "offline", "color": "red"}, "1": {"text": "online", "color": "green"}}
