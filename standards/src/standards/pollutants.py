"""The vocabulary every table shares: pollutants, averaging periods, limit grades, units.

Pollutant ids are the telemetry catalog's metric ids where one exists (``pm25``, ``pm10``,
``tsp``), so a reading's metric names its pollutant without a translation table. Gases have no
catalog entry yet; their ids follow the same lower-case style.
"""

from enum import StrEnum


class Pollutant(StrEnum):
    """A pollutant of GB 3095-2012 that Lantian evaluates."""

    PM25 = "pm25"
    PM10 = "pm10"
    TSP = "tsp"
    SO2 = "so2"
    NO2 = "no2"
    CO = "co"
    O3 = "o3"


class Averaging(StrEnum):
    """An averaging period of GB 3095-2012 Table 1 and of HJ 633-2012 Table 1.

    ``EIGHT_HOURS`` is the 8-hour moving mean of O3. GB 3095's O3 limit and the daily IAQI
    apply to the day's maximum of those means (日最大8小时平均), the real-time IAQI to the
    current one.
    """

    HOUR = "1h"
    EIGHT_HOURS = "8h"
    DAY = "24h"
    YEAR = "annual"


class Grade(StrEnum):
    """GB 3095-2012 limit grade (一级 / 二级浓度限值).

    Grade I applies to class-1 areas (nature reserves, scenic areas); Grade II to class-2 areas
    (residential, commercial, industrial, rural), where every Liaocheng site lies.
    """

    FIRST = "I"
    SECOND = "II"


UG_M3 = "µg/m³"  # same symbol as the telemetry catalog
MG_M3 = "mg/m³"


def unit_of(pollutant: Pollutant) -> str:
    """Concentration unit of ``pollutant`` in GB 3095-2012 and HJ 633-2012: CO in mg/m³."""
    return MG_M3 if pollutant is Pollutant.CO else UG_M3
