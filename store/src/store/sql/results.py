"""Rule results: what the rules engine decided, one row per rule, subject and window.

The rules engine records every result it computes; the alerts (and the API's reports) read
them. Recording is an upsert keyed by (rule, subject, window start): evaluating a window again
— late data arrived, the engine restarted, a backtest replayed history — updates its row, and
says whether anything that matters changed (outcome, value, limit, standard, severity, rule
version, evidence). Unchanged results are not written again, so a restart creates no phantom
changes; a changed one gets its ``revision`` raised.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, select, tuple_
from sqlalchemy.exc import IntegrityError

from store.sql.engine import session_factory
from store.sql.models import RuleResultRow

JsonValue = object  # what json.dumps accepts


@dataclass(frozen=True, slots=True)
class RuleResult:
    """One rule's decision about one subject over one window (or from one instant on)."""

    rule: str
    rule_version: str
    kind: str
    subject: str  # ``site:x``, ``site:x/device:y``, ``gateway:g``, ``enterprise:e``, ``city``
    window_start: datetime
    outcome: str  # ``firing``, ``resolved``, ``exceeding``, ``compliant``, ``insufficient_data``
    severity: str
    window_end: datetime | None = None
    value: float | None = None
    limit: float | None = None
    standard: str | None = None  # the standard and version of the limit or table used
    county: str | None = None
    park: str | None = None
    enterprise: str | None = None
    site: str | None = None
    device: str | None = None
    gateway: str | None = None
    evidence: dict[str, JsonValue] = field(default_factory=dict)
    revision: int = 1  # set by the store

    @property
    def key(self) -> tuple[str, str, datetime]:
        """What identifies the result: one per rule, subject and window start."""
        return (self.rule, self.subject, self.window_start)


@dataclass(frozen=True, slots=True)
class Recorded:
    """A result as recorded, and whether recording it changed the store."""

    result: RuleResult
    changed: bool  # new, or different from what was recorded for its window


_COMPARED = (
    "rule_version",
    "kind",
    "window_end",
    "outcome",
    "severity",
    "value",
    "limit",
    "standard",
    "county",
    "park",
    "enterprise",
    "site",
    "device",
    "gateway",
)


class RuleResults:
    """The rule results table; every method is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = session_factory(engine)

    def record(self, results: Sequence[RuleResult], *, now: datetime) -> list[Recorded]:
        """Upsert ``results``; each comes back with its revision and whether it changed."""
        if not results:
            return []
        latest = {result.key: result for result in results}  # the last of a repeated key wins
        try:
            return self._record(list(latest.values()), now)
        except IntegrityError:  # another process inserted one of them first: once more
            return self._record(list(latest.values()), now)

    def _record(self, results: list[RuleResult], now: datetime) -> list[Recorded]:
        with self._sessions() as session:
            keys = [result.key for result in results]
            rows = {
                (row.rule, row.subject, row.window_start): row
                for start in range(0, len(keys), 300)
                for row in session.scalars(
                    select(RuleResultRow).where(
                        tuple_(
                            RuleResultRow.rule, RuleResultRow.subject, RuleResultRow.window_start
                        ).in_(keys[start : start + 300])
                    )
                )
            }
            recorded: list[Recorded] = []
            for result in results:
                evidence = json.dumps(result.evidence, sort_keys=True, separators=(",", ":"))
                row = rows.get(result.key)
                if row is None:
                    row = RuleResultRow(
                        rule=result.rule,
                        subject=result.subject,
                        window_start=result.window_start,
                        revision=1,
                        evaluated_at=now,
                        evidence=evidence,
                        **{name: getattr(result, name) for name in _COMPARED},
                    )
                    session.add(row)
                    recorded.append(Recorded(_result(row, result.evidence), changed=True))
                    continue
                same = row.evidence == evidence and all(
                    getattr(row, name) == getattr(result, name) for name in _COMPARED
                )
                if not same:
                    for name in _COMPARED:
                        setattr(row, name, getattr(result, name))
                    row.evidence = evidence
                    row.revision += 1
                    row.evaluated_at = now
                recorded.append(Recorded(_result(row, result.evidence), changed=not same))
            session.commit()
            return recorded

    def results(  # noqa: PLR0913 - keyword-only filters
        self,
        *,
        rule: str | None = None,
        subject: str | None = None,
        outcome: str | None = None,
        site: str | None = None,
        enterprise: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
    ) -> list[RuleResult]:
        """Results by window start (oldest first), filtered; ``until`` is exclusive."""
        query = select(RuleResultRow).order_by(RuleResultRow.window_start, RuleResultRow.id)
        for column, wanted in (
            (RuleResultRow.rule, rule),
            (RuleResultRow.subject, subject),
            (RuleResultRow.outcome, outcome),
            (RuleResultRow.site, site),
            (RuleResultRow.enterprise, enterprise),
        ):
            if wanted is not None:
                query = query.where(column == wanted)
        if since is not None:
            query = query.where(RuleResultRow.window_start >= since)
        if until is not None:
            query = query.where(RuleResultRow.window_start < until)
        with self._sessions() as session:
            rows = session.scalars(query.limit(limit))
            return [_result(row, json.loads(row.evidence)) for row in rows]


def _result(row: RuleResultRow, evidence: dict[str, JsonValue]) -> RuleResult:
    return RuleResult(
        rule=row.rule,
        subject=row.subject,
        window_start=row.window_start,
        revision=row.revision,
        evidence=evidence,
        **{name: getattr(row, name) for name in _COMPARED},
    )
