"""HJ 633 IAQI breakpoints and AQI categories, as data with the edition they come from.

HJ 633-2012 Table 1 maps concentration breakpoints to the IAQI levels 0, 50, 100, 150, 200,
300, 400, 500; Table 2 and Appendix A give the six AQI categories and their colours. Two tables
stop early and defer to another averaging above their top (Table 1, notes 2 and 3): SO2 1-hour
above 800 µg/m³ is indexed by the 24-hour mean, O3 8-hour above 800 µg/m³ by the 1-hour value.

Beware a known defect of one popular open-source AQI library, which puts the 1-hour SO2
breakpoints (150, 500, 650, 800) into its 24-hour SO2 table; the 24-hour table is
50, 150, 475, 800, 1600, 2100, 2620.
"""

from dataclasses import dataclass
from datetime import date

from standards.errors import AmbiguousTableError, NoBreakpointsError
from standards.pollutants import Averaging, Pollutant, unit_of
from standards.versions import DEFAULT_POLICY, HJ_633_2012, HJ_633_2026, VersionPolicy

IAQI_LEVELS: tuple[int, ...] = (0, 50, 100, 150, 200, 300, 400, 500)  # HJ 633-2012 Table 1


@dataclass(frozen=True, slots=True)
class BreakpointTable:
    """The breakpoints of one pollutant and averaging period.

    Attributes:
        breakpoints: concentrations (in ``unit``) at the IAQI levels, ascending from 0.
        levels: the IAQI at each breakpoint; the first ``len(breakpoints)`` of ``IAQI_LEVELS``.
        above_top: the averaging whose IAQI replaces this one above the last breakpoint, or
            ``None`` when values beyond it are capped at the top level (see ``standards.aqi``).
        source: where the row was read from.
    """

    pollutant: Pollutant
    averaging: Averaging
    breakpoints: tuple[float, ...]
    unit: str
    source: str
    above_top: Averaging | None = None

    @property
    def levels(self) -> tuple[int, ...]:
        """IAQI level at each breakpoint."""
        return IAQI_LEVELS[: len(self.breakpoints)]

    @property
    def top(self) -> float:
        """The highest concentration the table covers."""
        return self.breakpoints[-1]


@dataclass(frozen=True, slots=True)
class AqiCategory:
    """One AQI category of HJ 633 Table 2, with its Appendix A colour.

    ``high`` is ``None`` for the open top category (AQI above 300).
    """

    level: int  # 1..6: 一级 .. 六级
    low: int
    high: int | None
    name_zh: str
    name_en: str
    colour: tuple[int, int, int]  # RGB

    def contains(self, aqi: int) -> bool:
        """Whether an AQI value falls in this category."""
        return self.low <= aqi and (self.high is None or aqi <= self.high)

    @property
    def colour_hex(self) -> str:
        """The colour as ``#RRGGBB``."""
        return "#{:02X}{:02X}{:02X}".format(*self.colour)


@dataclass(frozen=True, slots=True)
class AqiStandard:
    """One edition of HJ 633: its tables, categories and reporting thresholds.

    Attributes:
        exceeding_above: IAQI above which a pollutant is an exceeding pollutant (超标污染物);
            ``None`` for editions without that concept.
        primary_above: AQI above which the primary pollutant (首要污染物) is named.
    """

    version: str
    effective_from: date
    tables: tuple[BreakpointTable, ...]
    categories: tuple[AqiCategory, ...]
    exceeding_above: int | None
    primary_above: int = 50  # HJ 633-2012 §3 (terms): primary pollutant only when AQI > 50

    def table(self, pollutant: Pollutant, averaging: Averaging) -> BreakpointTable:
        """The breakpoints for ``pollutant`` and ``averaging``.

        Raises:
            NoBreakpointsError: HJ 633 indexes no such concentration (TSP, PM 1-hour, ...).
        """
        for table in self.tables:
            if table.pollutant is pollutant and table.averaging is averaging:
                return table
        raise NoBreakpointsError(pollutant, averaging, self.version)

    def category(self, aqi: int) -> AqiCategory:
        """The category an AQI value falls in."""
        for category in self.categories:
            if category.contains(aqi):
                return category
        msg = f"AQI {aqi} is outside every {self.version} category"
        raise ValueError(msg)


def _row(
    pollutant: Pollutant,
    averaging: Averaging,
    breakpoints: tuple[float, ...],
    source: str,
    above_top: Averaging | None = None,
) -> BreakpointTable:
    return BreakpointTable(
        pollutant, averaging, breakpoints, unit_of(pollutant), source, above_top=above_top
    )


_P, _A = Pollutant, Averaging
_T1 = "HJ 633-2012 Table 1"

_HJ_633_2012_TABLES = (
    _row(_P.SO2, _A.DAY, (0, 50, 150, 475, 800, 1600, 2100, 2620), _T1),  # HJ 633-2012 Table 1
    _row(_P.SO2, _A.HOUR, (0, 150, 500, 650, 800), _T1, above_top=_A.DAY),  # Table 1, note 2
    _row(_P.NO2, _A.DAY, (0, 40, 80, 180, 280, 565, 750, 940), _T1),  # HJ 633-2012 Table 1
    _row(_P.NO2, _A.HOUR, (0, 100, 200, 700, 1200, 2340, 3090, 3840), _T1),  # HJ 633-2012 T1
    _row(_P.PM10, _A.DAY, (0, 50, 150, 250, 350, 420, 500, 600), _T1),  # HJ 633-2012 Table 1
    _row(_P.CO, _A.DAY, (0, 2, 4, 14, 24, 36, 48, 60), _T1),  # HJ 633-2012 Table 1, mg/m³
    _row(_P.CO, _A.HOUR, (0, 5, 10, 35, 60, 90, 120, 150), _T1),  # HJ 633-2012 T1, mg/m³
    _row(_P.O3, _A.HOUR, (0, 160, 200, 300, 400, 800, 1000, 1200), _T1),  # HJ 633-2012 T1
    _row(_P.O3, _A.EIGHT_HOURS, (0, 100, 160, 215, 265, 800), _T1, above_top=_A.HOUR),  # note 3
    _row(_P.PM25, _A.DAY, (0, 35, 75, 115, 150, 250, 350, 500), _T1),  # HJ 633-2012 Table 1
)

_CATEGORIES = (
    AqiCategory(1, 0, 50, "优", "Excellent", (0, 228, 0)),  # HJ 633-2012 Table 2, App. A
    AqiCategory(2, 51, 100, "良", "Good", (255, 255, 0)),  # HJ 633-2012 Table 2, App. A
    AqiCategory(3, 101, 150, "轻度污染", "Lightly polluted", (255, 126, 0)),  # Table 2, App. A
    AqiCategory(4, 151, 200, "中度污染", "Moderately polluted", (255, 0, 0)),  # Table 2, App. A
    AqiCategory(5, 201, 300, "重度污染", "Heavily polluted", (153, 0, 76)),  # Table 2, App. A
    AqiCategory(6, 301, None, "严重污染", "Severely polluted", (126, 0, 35)),  # Table 2, App. A
)

HJ_633_2012_AQI = AqiStandard(
    version=HJ_633_2012.id,
    effective_from=HJ_633_2012.effective_from,
    tables=_HJ_633_2012_TABLES,
    categories=_CATEGORIES,
    exceeding_above=100,  # HJ 633-2012 §3 (terms): exceeding pollutant, IAQI > 100
)


def _revised(table: BreakpointTable) -> BreakpointTable:
    """A 2012 row as the reported 2026 revision has it."""
    source = "HJ 633-2026 (reported)"
    if table.pollutant is _P.PM25 and table.averaging is _A.DAY:
        # HJ 633-2026 (reported): the PM2.5 breakpoint at IAQI 100 moves from 75 to 60
        return _row(_P.PM25, _A.DAY, (0, 35, 60, 115, 150, 250, 350, 500), source)
    if table.pollutant is _P.PM10 and table.averaging is _A.DAY:
        # HJ 633-2026 (reported): the PM10 breakpoint at IAQI 100 moves from 150 to 120
        return _row(_P.PM10, _A.DAY, (0, 50, 120, 250, 350, 420, 500, 600), source)
    return _row(
        table.pollutant,
        table.averaging,
        table.breakpoints,
        f"{source}, carried over from {table.source}",
        above_top=table.above_top,
    )


HJ_633_2026_AQI = AqiStandard(
    version=HJ_633_2026.id,
    effective_from=HJ_633_2026.effective_from,
    tables=tuple(_revised(t) for t in _HJ_633_2012_TABLES),
    categories=_CATEGORIES,  # HJ 633-2026 (reported): categories assumed unchanged, verify
    exceeding_above=None,  # HJ 633-2026 (reported): the exceeding-pollutant concept is removed
)

AQI_STANDARDS: tuple[AqiStandard, ...] = (HJ_633_2012_AQI, HJ_633_2026_AQI)


def aqi_standard_for(on: date, policy: VersionPolicy = DEFAULT_POLICY) -> AqiStandard:
    """The HJ 633 edition in force on ``on`` among those ``policy`` allows.

    Before HJ 633-2012 took effect nationwide (2016-01-01) it is still returned: no earlier
    edition is encoded, and HJ 633-2012 is what the data of those years is compared with today.
    """
    allowed = [s for s in AQI_STANDARDS if policy.allows(s.version)]
    in_force = [s for s in allowed if s.effective_from <= on] or [HJ_633_2012_AQI]
    latest = max(s.effective_from for s in in_force)
    newest = [s for s in in_force if s.effective_from == latest]
    if len(newest) > 1:
        raise AmbiguousTableError(f"AQI on {on.isoformat()}", tuple(s.version for s in newest))
    return newest[0]
