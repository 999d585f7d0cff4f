"""What the rule files in force say about permits and targets, published to the SQL store.

The rule files are the source of truth; the API must not read them (nor import this package),
so the rules service copies their permits and target rules to :class:`store.sql.RulesInForce`
whenever it (re)loads them. :func:`snapshot` turns rule sets into the store's plain records;
:class:`Publisher` keeps a publication that failed pending, to be tried again at the next
reload check, and never raises: readers see the last publication meanwhile.
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from rules.files import RuleSet
from rules.model import AnnualTargetRule, EnergyIntensityRule, Permit
from store.sql import PermitInForce, RulesInForce, TargetInForce

log = logging.getLogger(__name__)


def snapshot(rule_sets: Iterable[RuleSet]) -> tuple[list[PermitInForce], list[TargetInForce]]:
    """Every permit, and every enabled energy or annual target rule, of these rule files."""
    permits: list[PermitInForce] = []
    targets: list[TargetInForce] = []
    for rule_set in rule_sets:
        permits += (_permit(p, rule_set) for p in rule_set.file.permits)
        targets += (
            _target(rule, rule_set)
            for rule in rule_set.rules
            if isinstance(rule, EnergyIntensityRule | AnnualTargetRule)
        )
    return permits, targets


def _permit(permit: Permit, rule_set: RuleSet) -> PermitInForce:
    return PermitInForce(
        enterprise_id=permit.scope.enterprise,
        site_id=permit.scope.site,
        metric=permit.metric,
        window=permit.window.value,
        limit=permit.limit,
        effective_from=permit.effective_from,
        effective_until=permit.effective_until,
        reference=permit.reference,
        rule_file=rule_set.path.name,
        file_version=rule_set.version,
    )


def _target(rule: EnergyIntensityRule | AnnualTargetRule, rule_set: RuleSet) -> TargetInForce:
    if isinstance(rule, EnergyIntensityRule):
        return _energy_shaped(rule, rule_set, rule.window.value, rule.target)
    return replace(
        _energy_shaped(rule, rule_set, "year", rule.target.value),
        kind="annual_target",
        level=rule.level,
        baseline_year=rule.baseline.year,
        baseline_value=rule.baseline.value,
        target_year=rule.target.year,
        margin=rule.margin,
    )


def _energy_shaped(
    rule: EnergyIntensityRule | AnnualTargetRule, rule_set: RuleSet, window: str, value: float
) -> TargetInForce:
    """The fields every target has, with the kind and level of an energy target."""
    return TargetInForce(
        rule_id=rule.id,
        kind="energy_intensity",
        level="enterprise",
        county_id=rule.scope.county,
        park_id=rule.scope.park,
        enterprise_id=rule.scope.enterprise,
        site_id=rule.scope.site,
        metric=rule.metric,
        window=window,
        target_value=value,
        rule_file=rule_set.path.name,
        file_version=rule_set.version,
    )


class Publisher:
    """Publishes the rule sets' snapshot; one that failed stays pending until it succeeds."""

    def __init__(self, store: RulesInForce, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock
        self._pending: tuple[RuleSet, ...] | None = None

    @property
    def pending(self) -> bool:
        """Whether a snapshot waits to be published."""
        return self._pending is not None

    def publish(self, rule_sets: Iterable[RuleSet] | None = None) -> bool:
        """Publish ``rule_sets`` (None: what is pending, if anything); whether it is done."""
        if rule_sets is not None:
            self._pending = tuple(rule_sets)
        if self._pending is None:
            return True
        permits, targets = snapshot(self._pending)
        try:
            self._store.replace(permits, targets, self._clock())
        except SQLAlchemyError as exc:
            log.warning("could not publish the permits and targets in force, will retry: %s", exc)
            return False
        self._pending = None
        log.info("published %d permit(s) and %d target(s) in force", len(permits), len(targets))
        return True
