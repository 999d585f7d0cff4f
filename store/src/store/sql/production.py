"""Production output the enterprises submit: the denominator of their energy intensity.

An enterprise reports what it produced over a local calendar day or month (Asia/Shanghai), in
a unit of its own (``t`` of aluminium, ``pieces``, ``10k yuan`` of output value). The API will
let it submit through :meth:`ProductionStore.submit`; the rules engine reads the figures back
with :meth:`ProductionStore.figures` (all enterprises at once) or :meth:`ProductionStore.total`.

A figure is keyed by (enterprise, period, period start). Submitting the same key again is a
correction: it replaces the earlier figure, and the row keeps the newest ``submitted_at``. A
submission older than the recorded one (a delayed retry of a figure already corrected) changes
nothing and says so (:attr:`SubmitOutcome.SUPERSEDED`), so the order in which two corrections
arrive cannot decide which one stands.

Totals over a range of days (:func:`output_total`) take a month's figure for every calendar
month wholly inside the range, and day figures for the other days (daily figures of a month
that also has a monthly one are ignored: the monthly figure is the enterprise's own sum). A
total says how many of the range's days it covers, so a caller never mistakes a partly
reported month for a month's output.
"""

import calendar
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Final

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from store.sql.engine import session_factory
from store.sql.errors import NotFoundError, RecordKind, SqlStoreError
from store.sql.models import NAME_LENGTH, UNIT_LENGTH, Enterprise, ProductionOutput

NOTE_LENGTH: Final = 2000


class ProductionPeriod(StrEnum):
    """The span one production figure covers, in local calendar terms."""

    DAY = "day"
    MONTH = "month"


class SubmitOutcome(StrEnum):
    """What a submission did to the store."""

    CREATED = "created"  # the first figure for its period
    REPLACED = "replaced"  # a correction: another figure replaced the recorded one
    UNCHANGED = "unchanged"  # the same figure again; only ``submitted_at`` moved forward
    SUPERSEDED = "superseded"  # older than the recorded figure: not stored


class ProductionError(SqlStoreError):
    """Base of the errors of :class:`ProductionStore`."""


class InvalidSubmissionError(ProductionError):
    """A submission refused before it reaches the database: ``field`` is not ``why``."""

    def __init__(self, enterprise_id: str, field: str, why: str) -> None:
        self.enterprise_id = enterprise_id
        self.field = field
        self.why = why
        super().__init__(f"production of {enterprise_id!r}: {field}: {why}")


class MixedUnitsError(ProductionError):
    """Figures of one total are in different units, so they cannot be added."""

    def __init__(self, enterprise_id: str, units: Iterable[str]) -> None:
        self.enterprise_id = enterprise_id
        self.units = tuple(sorted(units))
        super().__init__(
            f"production of {enterprise_id!r} is given in several units: {', '.join(self.units)}"
        )


@dataclass(frozen=True, slots=True)
class ProductionRecord:
    """One figure as recorded: the output of ``enterprise_id`` over one day or month."""

    enterprise_id: str
    period: ProductionPeriod
    period_start: date  # local calendar day; the 1st for a month
    quantity: float
    unit: str
    submitted_at: datetime  # UTC, of the newest submission of this figure
    submitted_by: str | None = None
    note: str = ""

    @property
    def period_end(self) -> date:
        """The first day after the period."""
        if self.period is ProductionPeriod.DAY:
            return self.period_start + timedelta(days=1)
        return _next_month(self.period_start)


@dataclass(frozen=True, slots=True)
class Submitted:
    """A submission's effect, and the figure that stands after it."""

    record: ProductionRecord
    outcome: SubmitOutcome


@dataclass(frozen=True, slots=True)
class OutputTotal:
    """An enterprise's output over the days ``[start, end)``, and how much of it was reported.

    Attributes:
        unit: the unit of every figure added; ``None`` when none was.
        days_covered: days of the range a figure accounts for.
        periods: the (start, end) of each figure added, end exclusive, in order.
    """

    enterprise_id: str
    start: date
    end: date
    quantity: float
    unit: str | None
    days_covered: int
    periods: tuple[tuple[date, date], ...]

    @property
    def days(self) -> int:
        """Days in the range."""
        return (self.end - self.start).days

    @property
    def complete(self) -> bool:
        """Whether every day of the range is accounted for."""
        return self.days_covered == self.days


def output_total(
    records: Iterable[ProductionRecord], enterprise_id: str, start: date, end: date
) -> OutputTotal:
    """The output of ``enterprise_id`` over ``[start, end)`` from its figures (module docstring).

    Raises:
        MixedUnitsError: the figures used are in more than one unit.
    """
    mine = [r for r in records if r.enterprise_id == enterprise_id]
    months = {
        r.period_start: r
        for r in mine
        if r.period is ProductionPeriod.MONTH and start <= r.period_start and r.period_end <= end
    }
    days = [
        r
        for r in mine
        if r.period is ProductionPeriod.DAY
        and start <= r.period_start < end
        and r.period_start.replace(day=1) not in months
    ]
    used = sorted([*months.values(), *days], key=lambda r: r.period_start)
    units = {r.unit for r in used}
    if len(units) > 1:
        raise MixedUnitsError(enterprise_id, units)
    return OutputTotal(
        enterprise_id=enterprise_id,
        start=start,
        end=end,
        quantity=math.fsum(r.quantity for r in used),
        unit=units.pop() if units else None,
        days_covered=sum((r.period_end - r.period_start).days for r in used),
        periods=tuple((r.period_start, r.period_end) for r in used),
    )


class ProductionStore:
    """The production output table; every method is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = session_factory(engine)

    def submit(  # noqa: PLR0913 - the facts of one submission, keyword-only after the key
        self,
        enterprise_id: str,
        period: ProductionPeriod,
        period_start: date,
        quantity: float,
        unit: str,
        *,
        submitted_at: datetime,
        submitted_by: str | None = None,
        note: str = "",
    ) -> Submitted:
        """Record a figure, or correct the one recorded for the same period.

        Raises:
            InvalidSubmissionError: a period other than day or month, a month not starting on
                the 1st, a quantity that is negative or not finite, a blank or overlong unit,
                an overlong note or submitter, a naive ``submitted_at``.
            NotFoundError: the enterprise is not in the registry.
        """
        if submitted_at.tzinfo is None:
            raise InvalidSubmissionError(enterprise_id, "submitted_at", "an aware datetime (UTC)")
        if period not in set(ProductionPeriod):
            raise InvalidSubmissionError(enterprise_id, "period", "day or month")
        record = ProductionRecord(
            enterprise_id,
            ProductionPeriod(period),
            period_start,
            quantity,
            unit.strip(),
            submitted_at.astimezone(UTC),
            submitted_by,
            note,
        )
        _check(record)
        try:
            return self._submit(record)
        except IntegrityError:  # another submission of the same period was inserted first
            return self._submit(record)

    def _submit(self, record: ProductionRecord) -> Submitted:
        with self._sessions() as session:
            if session.get(Enterprise, record.enterprise_id) is None:
                raise NotFoundError(RecordKind.ENTERPRISE, record.enterprise_id)
            row = session.scalars(
                select(ProductionOutput).where(
                    ProductionOutput.enterprise_id == record.enterprise_id,
                    ProductionOutput.period == record.period.value,
                    ProductionOutput.period_start == record.period_start,
                )
            ).one_or_none()
            if row is None:
                session.add(_row(record))
                outcome = SubmitOutcome.CREATED
            elif record.submitted_at < row.submitted_at:
                return Submitted(_record(row), SubmitOutcome.SUPERSEDED)
            else:
                same = (row.quantity, row.unit, row.submitted_by, row.note) == (
                    record.quantity,
                    record.unit,
                    record.submitted_by,
                    record.note,
                )
                row.quantity = record.quantity
                row.unit = record.unit
                row.submitted_by = record.submitted_by
                row.note = record.note
                row.submitted_at = record.submitted_at
                outcome = SubmitOutcome.UNCHANGED if same else SubmitOutcome.REPLACED
            session.commit()
            return Submitted(record, outcome)

    def total(self, enterprise_id: str, start: date, end: date) -> OutputTotal:
        """The enterprise's output over the days ``[start, end)`` (see :func:`output_total`).

        Raises:
            MixedUnitsError: the figures of the range are in more than one unit.
        """
        records = self.list(enterprise_id, start.replace(day=1), end)
        return output_total(records, enterprise_id, start, end)

    def figures(self, start: date, end: date) -> dict[str, list[ProductionRecord]]:
        """Every figure that can count towards ``[start, end)``, by enterprise: one query.

        Pass an enterprise's list to :func:`output_total`; the months starting before
        ``start`` are included only so that the function can tell they do not fit.
        """
        grouped: dict[str, list[ProductionRecord]] = defaultdict(list)
        for record in self.list(None, start.replace(day=1), end):
            grouped[record.enterprise_id].append(record)
        return dict(grouped)

    # Defined last: inside the class body, ``list`` names this method from here on.
    def list(
        self, enterprise_id: str | None, since: date, until: date
    ) -> Sequence[ProductionRecord]:
        """Figures whose period starts in ``[since, until)``, of one enterprise or (None) all.

        Ordered by enterprise, period start, then period (days before months).
        """
        query = (
            select(ProductionOutput)
            .where(ProductionOutput.period_start >= since, ProductionOutput.period_start < until)
            .order_by(
                ProductionOutput.enterprise_id,
                ProductionOutput.period_start,
                ProductionOutput.period,
            )
        )
        if enterprise_id is not None:
            query = query.where(ProductionOutput.enterprise_id == enterprise_id)
        with self._sessions() as session:
            return [_record(row) for row in session.scalars(query)]


def _check(record: ProductionRecord) -> None:
    def refuse(field: str, why: str) -> InvalidSubmissionError:
        return InvalidSubmissionError(record.enterprise_id, field, why)

    if record.period is ProductionPeriod.MONTH and record.period_start.day != 1:
        raise refuse("period_start", "a month's figure starts on the 1st")
    if not (math.isfinite(record.quantity) and record.quantity >= 0):
        raise refuse("quantity", "a finite number, zero or more")
    # SQLite ignores VARCHAR lengths; refuse here what PostgreSQL would refuse, on both.
    if not record.unit or len(record.unit) > UNIT_LENGTH:
        raise refuse("unit", f"1 to {UNIT_LENGTH} characters, such as t or pieces")
    if record.submitted_by is not None and not 0 < len(record.submitted_by) <= NAME_LENGTH:
        raise refuse("submitted_by", f"1 to {NAME_LENGTH} characters, or none")
    if len(record.note) > NOTE_LENGTH:
        raise refuse("note", f"at most {NOTE_LENGTH} characters")


def _next_month(first: date) -> date:
    days = calendar.monthrange(first.year, first.month)[1]
    return first.replace(day=1) + timedelta(days=days)


def _row(record: ProductionRecord) -> ProductionOutput:
    return ProductionOutput(
        enterprise_id=record.enterprise_id,
        period=record.period.value,
        period_start=record.period_start,
        quantity=record.quantity,
        unit=record.unit,
        submitted_at=record.submitted_at,
        submitted_by=record.submitted_by,
        note=record.note,
    )


def _record(row: ProductionOutput) -> ProductionRecord:
    return ProductionRecord(
        enterprise_id=row.enterprise_id,
        period=ProductionPeriod(row.period),
        period_start=row.period_start,
        quantity=row.quantity,
        unit=row.unit,
        submitted_at=row.submitted_at,
        submitted_by=row.submitted_by,
        note=row.note,
    )
