"""Which limit a window mean is compared with: a permit, the rule's own, or GB 3095's. Pure.

For one site, metric, window size and local calendar day, the first that applies wins:

1. **a permit** of the rule's file in force on that day for the metric and window size, whose
   scope holds the site: the most specific (a site's over its enterprise's); among equally
   specific ones the one that took effect last, then the strictest (lowest) limit;
2. **the rule's** ``limit``, for every site in its scope;
3. **the standard's** limit for the file's grade: :func:`standards.limit_for` with GB 3095-2012,
   or the reported 2026 revision too when the file sets ``draft_standards: true``.

A metric GB 3095 sets no limit for (PM2.5 over one hour, ``pm1``) has none unless a permit or
the rule gives one; its means are recorded but judged against nothing (outcome ``no_limit``).
The day is the window's local day: an hour is judged by the permit in force on its day.
"""

from dataclasses import dataclass
from datetime import date
from typing import Literal

from rules.model import Permit, RuleFile
from rules.windows.sites import SitePlacement
from standards import (
    DEFAULT_POLICY,
    REVISION_2026,
    Averaging,
    Grade,
    NoLimitError,
    Pollutant,
    VersionPolicy,
    limit_for,
)

LimitSource = Literal["permit", "rule", "standard", "none"]
_STANDARD_COLUMN = 200  # rule_results.standard holds at most this many characters
_DRAFTS = VersionPolicy(opt_in=REVISION_2026)


@dataclass(frozen=True, slots=True)
class LimitInForce:
    """The limit a window is judged by, and where it comes from.

    Attributes:
        value: the limit, in the metric's unit; ``None`` when nothing sets one.
        source: ``permit``, ``rule``, ``standard`` or ``none``.
        label: what the result's ``standard`` column says of it (``GB 3095-2012 Grade II
            24h``, ``permit 91371500MA3C``, ``rule limit``).
        version: the standard's edition, for a limit from the standard.
        detail: what the evidence shows of it (permit scope and dates, the table cited).
    """

    value: float | None
    source: LimitSource
    label: str | None
    version: str | None = None
    detail: dict[str, object] | None = None

    def to_json(self) -> dict[str, object]:
        """The limit as evidence shows it."""
        return {
            "value": self.value,
            "source": self.source,
            "label": self.label,
            "version": self.version,
            **(self.detail or {}),
        }


def version_policy(file: RuleFile) -> VersionPolicy:
    """The editions a rule file may use: confirmed ones, and the 2026 drafts if it opts in."""
    return _DRAFTS if file.draft_standards else DEFAULT_POLICY


def limit_in_force(  # noqa: PLR0913 - the rule's key and the site, keyword-only
    file: RuleFile,
    *,
    metric: str,
    window: Literal["hour", "day"],
    rule_limit: float | None,
    placement: SitePlacement,
    day: date,
) -> LimitInForce:
    """The limit for ``metric`` over a ``window`` at a site so placed, on local day ``day``."""
    permit = _permit_for(file.permits, metric, window, placement, day)
    if permit is not None:
        label = f"permit {permit.reference}".strip()
        return LimitInForce(
            permit.limit,
            "permit",
            label[:_STANDARD_COLUMN],
            detail={
                "reference": permit.reference,
                "scope": permit.scope.model_dump(exclude_none=True),
                "effective_from": permit.effective_from.isoformat(),
                "effective_until": (
                    None if permit.effective_until is None else permit.effective_until.isoformat()
                ),
            },
        )
    if rule_limit is not None:
        return LimitInForce(rule_limit, "rule", "rule limit")
    try:
        pollutant = Pollutant(metric)
    except ValueError:
        return LimitInForce(None, "none", None)
    averaging = Averaging.HOUR if window == "hour" else Averaging.DAY
    try:
        limit = limit_for(
            pollutant, averaging, Grade(file.grade), on=day, policy=version_policy(file)
        )
    except NoLimitError:
        return LimitInForce(None, "none", None)
    return LimitInForce(
        limit.value,
        "standard",
        f"{limit.version} Grade {limit.grade} {limit.averaging}",
        version=limit.version,
        detail={"table": limit.source, "unit": limit.unit, "verify": limit.verify},
    )


def _permit_for(
    permits: list[Permit],
    metric: str,
    window: str,
    placement: SitePlacement,
    day: date,
) -> Permit | None:
    applicable = [
        permit
        for permit in permits
        if permit.metric == metric
        and permit.window == window
        and permit.in_force(day)
        and placement.within(permit.scope)
    ]
    if not applicable:
        return None
    return min(applicable, key=lambda p: (-p.scope.specificity, _neg(p.effective_from), p.limit))


def _neg(day: date) -> int:
    """Sorts later days first."""
    return -day.toordinal()
