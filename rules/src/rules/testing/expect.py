"""Expected results against the results that came: field by field, then one to one. Pure.

An expectation agrees with a result when every field it gives agrees (what each field is
compared with is in ``docs/rules.md``); numbers agree to a relative 1e-6, so six significant
digits are enough to write a mean. Expectations and results are then paired one to one — the
largest pairing there is, found by augmenting paths, so the order of expectations never
decides whether a test passes. What is left over: expectations that no result met, and
``firing``, ``exceeding`` or ``projected_miss`` results that no expectation named.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rules.stream.episodes import epoch_ms
from rules.testing.model import ExpectedResult, ExpectedWindow, WindowRef, moment_ms
from rules.testing.replay import Observed

Expectation = ExpectedResult | ExpectedWindow
# outcomes a test must expect to be given
ALERTING = frozenset({"firing", "exceeding", "projected_miss"})
_TOLERANCE = 1e-6


@dataclass(frozen=True, slots=True)
class Difference:
    """One field on which an expectation and a result disagree, both as a report prints them."""

    field: str
    expected: str
    actual: str


@dataclass(frozen=True, slots=True)
class Matching:
    """Which result met which expectation, and what is left over (indices into both lists)."""

    pairs: dict[int, int]
    missing: tuple[int, ...]
    extra: tuple[int, ...]


def match(expected: Sequence[Expectation], observed: Sequence[Observed], start_ms: int) -> Matching:
    """Pair expectations with results one to one, as many as possible."""
    candidates = [
        [j for j, o in enumerate(observed) if not differences(e, o, start_ms)] for e in expected
    ]
    owner: dict[int, int] = {}  # result index → expectation index

    def augment(i: int, seen: set[int]) -> bool:
        for j in candidates[i]:
            if j not in seen:
                seen.add(j)
                if j not in owner or augment(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    for i in range(len(expected)):
        augment(i, set())
    pairs = {i: j for j, i in owner.items()}
    return Matching(
        pairs=dict(sorted(pairs.items())),
        missing=tuple(i for i in range(len(expected)) if i not in pairs),
        extra=tuple(
            j for j, o in enumerate(observed) if j not in owner and o.result.outcome in ALERTING
        ),
    )


def differences(expected: Expectation, observed: Observed, start_ms: int) -> list[Difference]:
    """Every field ``expected`` gives that ``observed`` does not have."""
    result = observed.result
    if result.rule != expected.rule:
        return [Difference("rule", expected.rule, result.rule)]
    checks = (
        _window_checks(expected, observed)
        if isinstance(expected, ExpectedWindow)
        else _result_checks(expected, observed, start_ms)
    )
    given = expected.model_fields_set
    found = []
    for name, (want, got, agree) in checks.items():
        if name in given and not agree(got, want):
            found.append(Difference(name, show(want, start_ms), show(got, start_ms)))
    return found


Check = tuple[object, object, Callable[[object, object], bool]]


def _result_checks(e: ExpectedResult, o: Observed, start_ms: int) -> dict[str, Check]:
    r = o.result
    return {
        "subject": (e.subject, r.subject, _equal),
        "outcome": (e.outcome, r.outcome, _equal),
        "at": (_ms(e.at, start_ms), o.at_ms, _equal),
        "start": (_ms(e.start, start_ms), epoch_ms(r.window_start), _equal),
        "end": (_ms(e.end, start_ms), _epoch_or_none(r.window_end), _equal),
        "value": (e.value, r.value, _close),
        "limit": (e.limit, r.limit, _close),
        "severity": (e.severity, r.severity, _equal),
        "evidence": (e.evidence, _project(r.evidence, e.evidence), _contains),
    }


def _window_checks(e: ExpectedWindow, o: Observed) -> dict[str, Check]:
    r, ev = o.result, o.result.evidence
    category = ev.get("category")
    return {
        "window": (e.window.label, ev.get("window_local") if o.at_ms is None else None, _equal),
        "site": (e.site, r.site, _equal),
        "outcome": (e.outcome, r.outcome, _equal),
        "value": (e.value, r.value, _close),
        "limit": (e.limit, r.limit, _close),
        "standard": (e.standard, r.standard, _equal),
        "category": (
            e.category,
            category.get("key") if isinstance(category, dict) else None,
            _equal,
        ),
        "count": (e.count, ev.get("count"), _equal),
        "valid_minutes": (e.valid_minutes, ev.get("count"), _equal),
        "valid_hours": (e.valid_hours, ev.get("count"), _equal),
        "excluded": (e.excluded, ev.get("excluded"), _equal),
        "missing": (e.missing, ev.get("missing"), _equal),
        "evidence": (e.evidence, _project(ev, e.evidence), _contains),
    }


def _ms(moment: timedelta | datetime | None, start_ms: int) -> int | None:
    return None if moment is None else moment_ms(moment, start_ms)


def _epoch_or_none(moment: datetime | None) -> int | None:
    return None if moment is None else epoch_ms(moment)


def _equal(got: object, want: object) -> bool:
    return got == want


def _close(got: object, want: object) -> bool:
    if want is None or got is None:
        return got is want
    if isinstance(got, bool) or isinstance(want, bool):
        return got is want
    if isinstance(got, int | float) and isinstance(want, int | float):
        return math.isclose(got, want, rel_tol=_TOLERANCE, abs_tol=_TOLERANCE)
    return False


def _contains(got: object, want: object) -> bool:
    """Whether ``got`` holds ``want``: mappings by the keys given, lists item by item."""
    if isinstance(want, dict):
        return isinstance(got, dict) and all(
            key in got and _contains(got[key], value) for key, value in want.items()
        )
    if isinstance(want, list):
        return (
            isinstance(got, list)
            and len(got) == len(want)
            and all(_contains(g, w) for g, w in zip(got, want, strict=True))
        )
    if isinstance(want, int | float) and not isinstance(want, bool):
        return _close(got, want)
    return type(got) is type(want) and got == want


def _project(got: object, want: object) -> object:
    """``got`` cut down to the keys ``want`` gives, so a report shows only what was asked."""
    if isinstance(want, dict) and isinstance(got, dict):
        return {key: _project(got[key], value) for key, value in want.items() if key in got}
    return got


def show(value: object, start_ms: int) -> str:
    """A figure as a report prints it; epoch milliseconds as offsets from the test's start."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, float):
        return f"{value:.10g}"
    if isinstance(value, int) and value > 10**11:  # an epoch time (after 1973), not a count
        return offset_text(value - start_ms)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {show(v, start_ms)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(show(v, start_ms) for v in value) + "]"
    return str(value)


def offset_text(ms: int) -> str:
    """``+12m``, ``+1h30m``, ``-5m``, ``+0s``: how far a moment lies from the test's start."""
    sign, ms = ("-", -ms) if ms < 0 else ("+", ms)
    parts = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000)):
        count, ms = divmod(ms, size)
        if count:
            parts.append(f"{count}{unit}")
    if ms or not parts:
        parts.append(f"{ms / 1000:g}s")
    return sign + "".join(parts)


def describe_expected(expected: Expectation, start_ms: int) -> str:
    """An expectation as a report prints it: its rule, then each field it gives."""
    parts = [expected.rule]
    for name in type(expected).model_fields:
        if name == "rule" or name not in expected.model_fields_set:
            continue
        value = getattr(expected, name)
        if isinstance(value, WindowRef):
            text = value.label
        elif isinstance(value, timedelta | datetime):
            text = offset_text(moment_ms(value, start_ms) - start_ms)
        else:
            text = show(value, start_ms)
        parts.append(f"{name}={text}")
    return " ".join(parts)


def describe(observed: Observed, start_ms: int) -> str:
    """A result as a report prints it: rule, subject, outcome, when, and its figures."""
    r, ev = observed.result, observed.result.evidence
    if observed.at_ms is None:
        when = ev.get("window_local") or ev.get("local_start") or ev.get("as_of")
        line = f"{r.rule} {r.subject} {when}: {r.outcome}"
    else:
        line = f"{r.rule} {r.subject} {r.outcome} at {offset_text(observed.at_ms - start_ms)}"
        line += f", start {offset_text(epoch_ms(r.window_start) - start_ms)}"
        if r.window_end is not None:
            line += f", end {offset_text(epoch_ms(r.window_end) - start_ms)}"
    line += f", value {show(r.value, start_ms)}, limit {show(r.limit, start_ms)}"
    category = ev.get("category")
    if isinstance(category, dict):
        line += f", category {category.get('key')}"
    elif "count" in ev and observed.at_ms is None:
        line += f", count {show(ev['count'], start_ms)}"
    return line
