"""Which alerts the benchmark's telemetry must raise, and which notice brought each.

**Expected.** Every site threshold of the rule file (:func:`bench.rules_city.site_thresholds`)
watches its site's sensor ``pm-1``, whose spikes (:func:`bench.rules_city.spiking`) exceed it.
An episode opens at the first spiking reading (the result's ``window_start``) and fires at the
first reading of the same spike that ends ``for`` (10 s) or more after it: that reading's
message is the one whose publication the latency is measured from. A resolved alert that
raises again within the flap window (15 min) reopens silently (docs/alerts.md, "Flapping"),
so only the first episode of each rule in a run is expected to bring a notice. Episodes open
at the run's first reading fire together 10 s in (:attr:`Firing.at_start`): timed apart.

**Delivered.** Each ``firing`` notice lists its alerts with their rule, site and
``window_start``; an alert is matched to the expected episode by those three. A notice whose
idempotency key came before, or an alert listed by two notices, counts as a duplicate; alerts
of other rules (window rules, the city-wide health rules) are counted apart.
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bench.alerts_listen import Arrival
from bench.rules_city import HOLD_S, Message, SiteThreshold, site_id, spiking
from telemetry import parse_topic

AlertKey = tuple[str, str, int]  # rule, site, window_start (epoch ms)


@dataclass(frozen=True, slots=True)
class Firing:
    """An alert the telemetry must raise, and the message that completes its hold."""

    key: AlertKey
    message: int  # index into the published messages
    # The episode opened at the site's first reading of the run: the spike had begun before
    # the telemetry did, so every such alert fires at once, 10 s in (a burst the run's start
    # makes, not the city's pace).
    at_start: bool


@dataclass
class Matched:
    """Notices matched to the expected alerts."""

    arrived: dict[AlertKey, float] = field(default_factory=dict)  # first arrival of each
    duplicates: int = 0  # notices (by key) or alerts (by rule, site, window) seen again
    others: int = 0  # alerts of other rules or episodes, and notices of other kinds


def expected_firings(
    published: Sequence[Message],
    thresholds: Iterable[SiteThreshold],
    *,
    spike_period_s: int,
    spike_s: int,
    skip: frozenset[int] = frozenset(),
) -> dict[AlertKey, Firing]:
    """The first firing of each threshold over ``published`` (``skip``: not city telemetry)."""
    by_site: dict[int, list[tuple[int, int]]] = {}
    for i, message in enumerate(published):
        if i not in skip:
            gateway = parse_topic(message.topic).owner  # gw-b0001
            by_site.setdefault(int(gateway[4:]), []).append((i, round(message.due_s * 1000)))
    found: dict[AlertKey, Firing] = {}
    for threshold in thresholds:
        start: int | None = None
        readings = by_site.get(threshold.site, [])
        for i, ts in readings:
            if not spiking(threshold.site, ts, spike_period_s, spike_s):
                start = None
                continue
            start = ts if start is None else start
            if ts - start >= HOLD_S * 1000:
                key = (threshold.rule, site_id(threshold.site), start)
                found[key] = Firing(key, i, at_start=start == readings[0][1])
                break
    return found


def match(arrivals: Iterable[Arrival], expected: dict[AlertKey, Firing]) -> Matched:
    """Match every arrived notice's alerts to ``expected``."""
    matched = Matched()
    keys: set[str] = set()
    for arrival in arrivals:
        notice = json.loads(arrival.payload)
        if notice["idempotency_key"] in keys:
            matched.duplicates += 1
            continue
        keys.add(notice["idempotency_key"])
        if notice["kind"] != "firing":
            matched.others += 1
            continue
        for alert in notice["alerts"]:
            key = (alert["rule"], alert["site"], _epoch_ms(alert["window_start"]))
            if key not in expected:
                matched.others += 1
            elif key in matched.arrived:
                matched.duplicates += 1
            else:
                matched.arrived[key] = arrival.at
    return matched


def _epoch_ms(value: object) -> int:
    if isinstance(value, str):
        return round(datetime.fromisoformat(value).timestamp() * 1000)
    if isinstance(value, int | float):
        return round(value)
    raise ValueError(f"a notice's window_start is neither a time nor a number: {value!r}")
