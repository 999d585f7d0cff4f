"""The rules service's self-metrics, exported in the Prometheus text format.

Each :class:`RulesCounters` has its own registry, so two services in one process (as in tests)
never share counts.
"""

from prometheus_client import CollectorRegistry, Counter, Gauge

from rules.stream import EngineCounts


class RulesCounters:
    """What the rules service has taken in, evaluated and recorded."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages = Counter(
            "lantian_rules_messages_received",
            "Messages taken from the broker, by topic kind (telemetry, status).",
            ["kind"],
            registry=self.registry,
        )
        self.messages_rejected = Counter(
            "lantian_rules_messages_rejected",
            "Messages the engine could not use, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.readings_evaluated = Counter(
            "lantian_rules_readings_evaluated",
            "Readings evaluated by the stream rules.",
            registry=self.registry,
        )
        self.readings_ignored = Counter(
            "lantian_rules_readings_ignored",
            "Readings the stream rules ignored: stale (not after the last one of their series: "
            "replayed or out of order) or unsynced (taken while the gateway's clock was not "
            "synchronised).",
            ["reason"],
            registry=self.registry,
        )
        self.results_recorded = Counter(
            "lantian_rules_results_recorded",
            "Rule results recorded in the SQL store.",
            registry=self.registry,
        )
        self.results_changed = Counter(
            "lantian_rules_results_changed",
            "Recorded results that were new or changed their row, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.record_retries = Counter(
            "lantian_rules_record_retries",
            "Steps retried while the SQL store was unavailable.",
            registry=self.registry,
        )
        self.reloads = Counter(
            "lantian_rules_rule_reloads",
            "Rule files (re)loaded after they changed.",
            registry=self.registry,
        )
        self.reload_failures = Counter(
            "lantian_rules_rule_reload_failures",
            "Rule file loads that failed; the last good version of the file stays in force.",
            registry=self.registry,
        )
        self.rules = Gauge(
            "lantian_rules_stream_rules",
            "Stream rules in force.",
            registry=self.registry,
        )
        self.open_episodes = Gauge(
            "lantian_rules_open_episodes",
            "Stream rule episodes firing now.",
            registry=self.registry,
        )
        self.late_readings = Counter(
            "lantian_rules_late_readings",
            "Readings older than the window settle time on arrival; their windows are "
            "evaluated again if they already were.",
            registry=self.registry,
        )
        # The second thread's evaluators: windows (window_mean, aqi), energy, targets.
        self.window_runs = Counter(
            "lantian_rules_window_runs",
            "Runs of an evaluator over stored data that completed, by evaluator.",
            ["evaluator"],
            registry=self.registry,
        )
        self.window_failures = Counter(
            "lantian_rules_window_failures",
            "Runs of an evaluator over stored data that failed; retried the next round.",
            ["evaluator"],
            registry=self.registry,
        )
        self.window_results = Counter(
            "lantian_rules_window_results_recorded",
            "Results of the evaluators over stored data recorded (changed or not), by evaluator.",
            ["evaluator"],
            registry=self.registry,
        )
        self.window_changes = Counter(
            "lantian_rules_window_results_changed",
            "Results of the evaluators over stored data that were new or changed their row.",
            ["evaluator", "outcome"],
            registry=self.registry,
        )
        self.window_last_success = Gauge(
            "lantian_rules_window_last_success_timestamp_seconds",
            "When an evaluator over stored data last completed a run (Unix time).",
            ["evaluator"],
            registry=self.registry,
        )
        # The alert book (rules.alerting): what it did to alerts, the notices it wrote.
        self.alert_actions = Counter(
            "lantian_rules_alert_actions",
            "Alert actions taken by the service, by action (opened, fired, resolved, ...).",
            ["action"],
            registry=self.registry,
        )
        self.alert_notices = Counter(
            "lantian_rules_alert_notices",
            "Notices written to the outbox (queued for delivery), by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.alert_failures = Counter(
            "lantian_rules_alert_failures",
            "Alert handling that failed, by step (handle, restore, tick); retried later.",
            ["step"],
            registry=self.registry,
        )
        self.subscribed = Gauge(
            "lantian_rules_subscribed",
            "1 while the broker has confirmed the subscriptions on the live connection.",
            registry=self.registry,
        )
        self._counted = EngineCounts()

    def count_engine(self, counts: EngineCounts) -> None:
        """Add what the engine has taken in since the last call."""
        counted = self._counted
        self.readings_evaluated.inc(counts.readings - counted.readings)
        self.readings_ignored.labels("stale").inc(counts.stale - counted.stale)
        self.readings_ignored.labels("unsynced").inc(counts.unsynced - counted.unsynced)
        self._counted = EngineCounts(counts.readings, counts.stale, counts.unsynced)
