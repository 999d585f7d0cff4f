"""Editions of the standards Lantian encodes, and which of them a computation may use.

Standards change: GB 3095-2012 replaced GB 3095-1996, and a 2026 revision is reported. Every
table row in this package names the edition it comes from, and every computed value carries that
name, so a figure in a report can always be traced to the text it was computed by.

An edition is ``CONFIRMED`` when its numbers were transcribed from the official text (single
records may still carry a ``verify`` note), and ``REPORTED`` when it is known only from
third-party reports. Reported editions are shipped as data but are disabled: a
:class:`VersionPolicy` enables them only when named explicitly, after someone has checked the
numbers against the official text (docs/standards.md, "Adding or confirming a version").
"""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from standards.errors import UnknownVersionError


class VersionStatus(StrEnum):
    """How far an edition's numbers can be trusted."""

    CONFIRMED = "confirmed"  # transcribed from the official text
    REPORTED = "reported"  # known from third-party reports only; disabled unless opted in


@dataclass(frozen=True, slots=True)
class StandardVersion:
    """One edition of one standard.

    Attributes:
        id: the edition as it is cited, e.g. ``"GB 3095-2012"``.
        standard: the standard without its year, e.g. ``"GB 3095"``.
        title: Chinese title and English translation.
        published: date of publication (发布), when known.
        effective_from: first day in force (实施).
        status: confirmed or only reported.
        source: where the numbers in this package were taken from.
        verify: what still has to be checked against the official text; ``None`` if nothing.
    """

    id: str
    standard: str
    title: str
    published: date | None
    effective_from: date
    status: VersionStatus
    source: str
    verify: str | None = None

    @property
    def enabled_by_default(self) -> bool:
        """Whether computations use this edition without an explicit opt-in."""
        return self.status is VersionStatus.CONFIRMED


_OFFICIAL = "official text, as transcribed in the project's reference notes (air-quality.md)"

GB_3095_2012 = StandardVersion(
    id="GB 3095-2012",
    standard="GB 3095",
    title="环境空气质量标准 Ambient air quality standards (with Amendment No. 1, 2018)",
    published=date(2012, 2, 29),
    effective_from=date(2016, 1, 1),  # GB 3095-2012 foreword: nationwide from 2016-01-01
    status=VersionStatus.CONFIRMED,
    source=_OFFICIAL,
    verify="Table 4 rules beyond the reference notes (TSP, 1-hour 45-minute rule)",
)
HJ_633_2012 = StandardVersion(
    id="HJ 633-2012",
    standard="HJ 633",
    title="环境空气质量指数（AQI）技术规定（试行） Technical regulation on AQI (on trial)",
    published=date(2012, 2, 29),
    effective_from=date(2016, 1, 1),  # HJ 633-2012: in force with GB 3095-2012
    status=VersionStatus.CONFIRMED,
    source=_OFFICIAL,
)
HJ_663_2013 = StandardVersion(
    id="HJ 663-2013",
    standard="HJ 663",
    title="环境空气质量评价技术规范（试行） Technical regulation for ambient air quality "
    "assessment (on trial)",
    published=date(2013, 9, 22),
    effective_from=date(2013, 10, 1),
    status=VersionStatus.CONFIRMED,
    source="percentile formula and O3 rules as implemented by monitoring software citing it",
    verify="percentile formula and the 14-of-17 rule for O3 daily maximum 8-hour means",
)
GB_T_2589_2020 = StandardVersion(
    id="GB/T 2589-2020",
    standard="GB/T 2589",
    title="综合能耗计算通则 General principles for calculation of total production energy "
    "consumption",
    published=date(2020, 9, 29),
    effective_from=date(2021, 4, 1),
    status=VersionStatus.CONFIRMED,
    source="project reference notes (energy.md), Appendix A coefficients",
    verify="every coefficient and the dates of publication and effect",
)
GB_T_2589_2008 = StandardVersion(
    id="GB/T 2589-2008",
    standard="GB/T 2589",
    title="综合能耗计算通则 (2008 edition, superseded by GB/T 2589-2020)",
    published=date(2008, 2, 3),
    effective_from=date(2008, 6, 1),
    status=VersionStatus.CONFIRMED,
    source="project reference notes (energy.md); kept only for the low-pressure steam value",
    verify="the steam coefficient and the dates of publication and effect",
)
GB_3095_2026 = StandardVersion(
    id="GB 3095-2026",
    standard="GB 3095",
    title="环境空气质量标准 (2026 revision, reported)",
    published=None,
    effective_from=date(2026, 3, 1),
    status=VersionStatus.REPORTED,
    source="third-party code reporting the revision (air-quality.md, '2026 revision')",
    verify="everything: limits, phase dates, and that unchanged rows are indeed unchanged",
)
HJ_633_2026 = StandardVersion(
    id="HJ 633-2026",
    standard="HJ 633",
    title="环境空气质量指数（AQI）技术规定 (2026 revision, reported)",
    published=None,
    effective_from=date(2026, 3, 1),
    status=VersionStatus.REPORTED,
    source="third-party code reporting the revision (air-quality.md, '2026 revision')",
    verify="everything: breakpoints, categories, removal of the exceeding-pollutant concept",
)

VERSIONS: dict[str, StandardVersion] = {
    v.id: v
    for v in (
        GB_3095_2012,
        HJ_633_2012,
        HJ_663_2013,
        GB_T_2589_2020,
        GB_T_2589_2008,
        GB_3095_2026,
        HJ_633_2026,
    )
}

REVISION_2026 = frozenset({GB_3095_2026.id, HJ_633_2026.id})
"""The reported 2026 editions; pass to :class:`VersionPolicy` to opt in once verified."""


def version(version_id: str) -> StandardVersion:
    """Look up an edition by the id it is cited by.

    Raises:
        UnknownVersionError: no such edition in the registry.
    """
    try:
        return VERSIONS[version_id]
    except KeyError:
        raise UnknownVersionError(version_id) from None


@dataclass(frozen=True, slots=True)
class VersionPolicy:
    """Which editions a computation may use: every confirmed one, plus reported ones opted in.

    ``VersionPolicy()`` is the default and uses confirmed editions only;
    ``VersionPolicy(opt_in=REVISION_2026)`` also uses the reported 2026 revision.

    Raises:
        UnknownVersionError: ``opt_in`` names an edition that is not in the registry.
    """

    opt_in: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for version_id in self.opt_in:
            version(version_id)

    def allows(self, version_id: str) -> bool:
        """Whether records of ``version_id`` may be used."""
        return version(version_id).enabled_by_default or version_id in self.opt_in

    def enabled(self) -> tuple[StandardVersion, ...]:
        """Every edition this policy allows, in registry order."""
        return tuple(v for v in VERSIONS.values() if self.allows(v.id))


DEFAULT_POLICY = VersionPolicy()


def to_verify() -> tuple[tuple[str, str], ...]:
    """Every edition with something still to check against its official text: (id, what)."""
    return tuple((v.id, v.verify) for v in VERSIONS.values() if v.verify is not None)
