"""The rules service's alert desk: recorded results into the alert book, its timers, counted.

Both threads of the service record results — the stream thread each batch, the window thread
each evaluator's run — and hand what they recorded to :meth:`ServiceAlerts.handle` right
after; the window thread also calls :meth:`ServiceAlerts.tick` every ``alerts_tick_s``. One
lock makes the two threads take turns at the book.

The results are in the SQL store before the book sees them, so a failure here (the store
unavailable, a defect) loses nothing: it is logged and counted
(``lantian_rules_alert_failures_total{step}``), and the results are kept and applied again
(:meth:`AlertBook.apply`, which skips what an alert has seen) with the next batch or tick.
"""

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from rules.alerts import AlertBook, AlertReport
from rules.counters import RulesCounters
from store.sql import Recorded, RuleResult

log = logging.getLogger(__name__)


class ServiceAlerts:
    """An :class:`AlertBook` shared by the service's threads, its failures retried.

    ``timers``: whether :meth:`tick` runs the book's timers (partition 0 does; the timers are
    city-wide) or only retries what failed. ``on_notices`` is called after the book wrote
    notices to the outbox (the service wakes its channel workers).
    """

    def __init__(
        self,
        book: AlertBook,
        counters: RulesCounters,
        *,
        clock: Callable[[], float],
        timers: bool = True,
        on_notices: Callable[[], None] | None = None,
    ) -> None:
        self.book = book
        self._on_notices = on_notices
        self._counters = counters
        self._clock = clock
        self._timers = timers
        self._lock = threading.Lock()
        # Results whose alert changes failed, by key: applied again before anything else.
        self._failed: dict[tuple[str, str, datetime], RuleResult] = {}

    def handle(self, recorded: Sequence[Recorded]) -> None:
        """Apply the results that changed the store (and any that failed before)."""
        self.apply((item.result for item in recorded if item.changed), step="handle")

    def apply(self, results: Iterable[RuleResult], *, step: str = "restore") -> None:
        """Apply ``results`` whether they changed or not; never raises."""
        with self._lock:
            self._apply(results, step)

    def tick(self) -> None:
        """Retry what failed, then (with ``timers``) run the book's timers; never raises."""
        with self._lock:
            if self._failed:
                self._apply((), "handle")
            if not self._timers:
                return
            try:
                report = self.book.tick(now=self._now())
            except Exception:
                self._counters.alert_failures.labels("tick").inc()
                log.exception("alert timers failed; they run again at the next tick")
                return
            self._count(report)

    @property
    def failed(self) -> int:
        """Results waiting to be applied again."""
        return len(self._failed)

    def _apply(self, results: Iterable[RuleResult], step: str) -> None:
        pending = dict(self._failed)
        for result in results:
            pending[result.key] = result
        if not pending:
            return
        try:
            report = self.book.apply(list(pending.values()), now=self._now())
        except Exception:
            self._failed = pending
            self._counters.alert_failures.labels(step).inc()
            log.exception(
                "alert handling failed; %d result(s) applied again with the next batch or tick",
                len(pending),
            )
            return
        self._failed = {}
        self._count(report)

    def _count(self, report: AlertReport) -> None:
        for action, count in report.actions.items():
            self._counters.alert_actions.labels(action.value).inc(count)
        for notice in report.notifications:
            self._counters.alert_notices.labels(notice.kind.value).inc()
        if report.notifications and self._on_notices is not None:
            self._on_notices()
        if report.actions or report.notifications:
            log.info(
                "alerts: %s; %d notice(s) written",
                ", ".join(f"{n} {a.value}" for a, n in sorted(report.actions.items())) or "none",
                len(report.notifications),
            )

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)
