"""The load of the rules benchmark: a city of many sites, a thousand rules, and its telemetry.

**Sites.** ``site-b0000``, ``site-b0001``, ... each with one gateway (``gw-b0000``, ...), two
sites to a fictional enterprise, spread over the counties and parks of the simulated city
(:data:`devstack.city.CITY`), registered through :func:`devstack.city.register`.

**Rules** (:func:`rule_file`), as a bureau would write them for such a city: a few city-wide
health rules (out of range, PM order, quiet gateways, extreme values), per county a quiet-device
and an offline-gateway rule, a flatline rule for each of the first enterprises, and the rest
site-scoped thresholds — two on PM2.5 for one on PM10 — each site its own limit.

**Telemetry** (:func:`messages`): every gateway publishes one batch a second (with the default
sizes) of five particulate sensors' raw PM2.5 and PM10 samples, ten readings, stamped with the
time the batch is due to be published. Values wander around each site's own level; once every
:data:`SPIKE_PERIOD_S` seconds, at a moment of its own, a site's sensor ``pm-1`` spikes for
:data:`SPIKE_S` seconds, above every site threshold, so thresholds fire and resolve throughout.
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass

from devstack.city import CITY, SimSite
from telemetry import Reading, TelemetryBatch, encode, topics

DEVICES = 5
METRICS = ("pm25", "pm10")
READINGS_PER_MESSAGE = DEVICES * len(METRICS)
SPIKE_PERIOD_S = 300
SPIKE_S = 40
SPIKE_PM25 = 200.0  # above every site threshold; PM10 reads 1.5 times it + 5
HOLD_S = 10  # the site thresholds' ``for``
_CITY_WIDE = (
    "{id: impossible-values, kind: out_of_range, severity: info}",
    "{id: pm-order, kind: pm25_above_pm10, tolerance: 2}",
    "{id: gateway-quiet, kind: no_data, subject: gateway, for: 10m, severity: major}",
    "{id: pm25-extreme, kind: threshold, metric: pm25, above: 500, for: 1m, severity: critical}",
    "{id: pm10-extreme, kind: threshold, metric: pm10, above: 600, for: 1m, severity: critical}",
    "{id: pm10-stuck, kind: flatline, metric: pm10, for: 30m, tolerance: 0.1}",
    "{id: pm25-negative, kind: threshold, metric: pm25, below: 0}",
    "{id: gateway-offline, kind: gateway_offline, for: 5m}",
)
_FLATLINES = 80  # enterprises with a flatline rule of their own


def site_id(n: int) -> str:
    """The id of the ``n``-th site."""
    return f"site-b{n:04d}"


def gateway_id(n: int) -> str:
    """The id of the gateway of the ``n``-th site."""
    return f"gw-b{n:04d}"


def city(sites: int) -> list[SimSite]:
    """``sites`` sites, two to an enterprise, over the simulated city's counties and parks."""
    found: list[SimSite] = []
    for n in range(sites):
        model = CITY[(n // 2) % len(CITY)]
        enterprise = n // 2
        found.append(
            SimSite(
                model.county,
                model.park,
                (
                    f"ent-b{enterprise:04d}",
                    f"Bench enterprise {enterprise} (fictional)",
                    f"基准企业{enterprise}（虚构）",
                ),
                site_id(n),
                f"Bench site {n}",
                model.latitude,
                model.longitude,
                gateway_id(n),
                model.scenario,
            )
        )
    return found


def rule_file(rules: int, sites: int) -> str:
    """A rule file of exactly ``rules`` rules for ``city(sites)``."""
    found = list(_CITY_WIDE)
    for county in sorted({site.county[0] for site in CITY}):
        scope = f"scope: {{county: {county}}}"
        found += [
            f"{{id: quiet-{county}, kind: no_data, for: 5m, {scope}}}",
            f"{{id: offline-{county}, kind: gateway_offline, for: 2m, {scope}}}",
        ]
    if rules < len(found):
        raise ValueError(f"at least {len(found)} rules: the city-wide and county ones")
    found += [
        f"{{id: flat-b{e:04d}, kind: flatline, metric: pm25, for: 10m, tolerance: 0.1, "
        f"scope: {{enterprise: ent-b{e:04d}}}}}"
        for e in range(min(_FLATLINES, (sites + 1) // 2, rules - len(found)))
    ]
    found += [
        f"{{id: {t.rule}, kind: threshold, metric: {t.metric}, above: {t.above}, "
        f"for: {HOLD_S}s, clear_below: {t.clear_below}, scope: {{site: {site_id(t.site)}}}}}"
        for t in site_thresholds(rules - len(found), sites)
    ]
    return 'version: "bench"\nrules:\n' + "".join(f"  - {rule}\n" for rule in found)


@dataclass(frozen=True, slots=True)
class SiteThreshold:
    """One of the site-scoped threshold rules: it fires on sensor ``pm-1``'s spikes."""

    rule: str
    site: int  # the site's number, as in :func:`site_id`
    metric: str
    above: int
    clear_below: int


def site_thresholds(count: int, sites: int) -> list[SiteThreshold]:
    """The ``count`` site thresholds of the rule file, two on PM2.5 for one on PM10."""
    found: list[SiteThreshold] = []
    for n in range(count):
        site = n % sites
        metric, level, clear = ("pm10", 250, 200) if n % 3 == 2 else ("pm25", 150, 115)
        found.append(SiteThreshold(f"{metric}-b{n:04d}", site, metric, level + site % 40, clear))
    return found


def threshold_count(rules: int, sites: int) -> int:
    """How many site thresholds a rule file of ``rules`` rules for ``city(sites)`` holds."""
    counties = len({site.county[0] for site in CITY})
    fixed = len(_CITY_WIDE) + 2 * counties
    return rules - fixed - min(_FLATLINES, (sites + 1) // 2, rules - fixed)


def spiking(n: int, ts_ms: int, period_s: int = SPIKE_PERIOD_S, spike_s: int = SPIKE_S) -> bool:
    """Whether site ``n``'s sensor ``pm-1`` reads its spike at ``ts_ms``."""
    return (ts_ms // 1000 + n * 37) % period_s < spike_s


@dataclass(frozen=True, slots=True)
class Message:
    """One telemetry batch, encoded, and when it is due to be published (epoch seconds)."""

    topic: str
    payload: bytes
    due_s: float


def messages(  # noqa: PLR0913 - the sizes of the load
    sites: int,
    rate: float,
    seconds: float,
    start_s: float,
    *,
    spike_period_s: int = SPIKE_PERIOD_S,
    spike_s: int = SPIKE_S,
) -> Iterator[Message]:
    """The city's telemetry at ``rate`` readings a second for ``seconds`` from ``start_s``.

    The gateways take turns; each batch is stamped with the millisecond it is due at.
    ``spike_period_s`` and ``spike_s``: how often and how long each site's spike comes.
    """
    per_second = rate / READINGS_PER_MESSAGE
    rng = random.Random(26)  # noqa: S311 - reproducible values, not a secret
    levels = [rng.uniform(25, 70) for _ in range(sites)]
    for i in range(round(per_second * seconds)):
        n = i % sites
        due_s = start_s + i / per_second
        ts = round(due_s * 1000)
        spike = spiking(n, ts, spike_period_s, spike_s)
        readings: list[Reading] = []
        for device in range(DEVICES):
            pm25 = SPIKE_PM25 if spike and device == 0 else levels[n] + rng.uniform(-5, 5)
            pm10 = round(pm25 * 1.5 + 5, 1)
            name = f"pm-{device + 1}"
            readings.append(Reading(device=name, metric="pm25", value=round(pm25, 1), ts=ts))
            readings.append(Reading(device=name, metric="pm10", value=pm10, ts=ts))
        batch = TelemetryBatch(gateway=gateway_id(n), seq=i // sites + 1, readings=readings)
        yield Message(topics.telemetry(gateway_id(n)), encode(batch), due_s)
