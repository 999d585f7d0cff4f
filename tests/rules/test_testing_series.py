"""The compact series notation of rule tests: promtool's counts, flags, gaps, errors by column."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.testing import SeriesSyntaxError, parse_series
from rules.testing.series import MAX_SLOTS
from telemetry import Quality


def expand(text: str) -> list[tuple[int, float, str]]:
    return [(s.slot, s.value, s.quality.value) for s in parse_series(text)]


def values(text: str) -> list[float | None]:
    """The series slot by slot, None for a gap."""
    samples = parse_series(text)
    slots: list[float | None] = [None] * (samples[-1].slot + 1 if samples else 0)
    for sample in samples:
        slots[sample.slot] = sample.value
    return slots


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # promtool's own examples (docs, "Unit testing for rules")
        ("-2+4x3", [-2, 2, 6, 10]),
        (" 1-2x4", [1, -1, -3, -5, -7]),
        (" 1x4", [1, 1, 1, 1, 1]),
        ("1 _x3 5", [1, None, None, None, 5]),
        # single values, gaps and zero counts
        ("35", [35]),
        ("35 36\t37\n38", [35, 36, 37, 38]),
        ("35x0", [35]),
        ("_ 35", [None, 35]),
        ("_x0 35", [35]),
        ("1.5 .5 2e1 -0", [1.5, 0.5, 20, 0]),
        # steps land on the decimals written
        ("1+0.1x3", [1, 1.1, 1.2, 1.3]),
        ("0.3-0.1x3", [0.3, 0.2, 0.1, 0]),
        ("", []),
    ],
)
def test_items_expand_as_promtool_does(text, expected):
    assert values(text) == expected


def test_a_flag_prefixes_the_values_of_its_own_item():
    assert expand("35 M:50x2 C:7 36") == [
        (0, 35.0, "N"),
        (1, 50.0, "M"),
        (2, 50.0, "M"),
        (3, 50.0, "M"),
        (4, 7.0, "C"),
        (5, 36.0, "N"),
    ]


@pytest.mark.parametrize("flag", [q.value for q in Quality])
def test_every_hj212_flag_is_accepted(flag):
    assert [s.quality for s in parse_series(f"{flag}:1+1x1")] == [Quality(flag)] * 2


def test_a_day_of_minutes_is_one_item():
    day = parse_series("40x1439")
    assert (len(day), day[-1].slot, {s.value for s in day}) == (1440, 1439, {40.0})


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("35x", 1, "the count after x must be a whole number, as in 35x4"),
        ("1 2 35x1.5", 5, "the count after x must be a whole number, as in 35x4"),
        ("35+2", 1, "a step needs a count, as in 35+2x4"),
        ("1  Q:3", 4, "'Q' is not an HJ 212 data flag (one of N, F, M, S, D, C, T, B)"),
        ("m:3", 1, "'m' is not an HJ 212 data flag (one of N, F, M, S, D, C, T, B)"),
        ("M:", 1, "a flag prefixes a value, as in M:35x4"),
        ("1 M:_x3", 3, "a gap has no value to flag"),
        ("1 _y", 3, "a gap is _ or _xN, as in _x4"),
        ("1 2 abc", 5, "expected a value (35), a run (35x4, 35+2x4, 35-2x4), a gap (_, _x4)"),
        ("1 2 nan", 5, "expected a value (35)"),
        ("35++2x3", 1, "expected a value (35)"),
    ],
)
def test_errors_name_the_column_of_the_item(text, column, message):
    with pytest.raises(SeriesSyntaxError) as caught:
        parse_series(text)
    assert caught.value.column == column
    assert caught.value.message.startswith(message)
    assert str(caught.value).startswith(f"column {column}: {message}")


def test_a_series_too_long_to_be_a_test_is_refused_before_it_is_built():
    with pytest.raises(SeriesSyntaxError, match=f"would pass {MAX_SLOTS} slots"):
        parse_series(f"_x{MAX_SLOTS} 1")
    with pytest.raises(SeriesSyntaxError, match=f"would pass {MAX_SLOTS} slots"):
        parse_series(f"1x{MAX_SLOTS}")


Item = tuple[str, int, int, int, int]  # kind, start, step, count, flag index


def render(items: list[Item]) -> tuple[str, list[float | None], list[str]]:
    """The notation of ``items``, and the values and flags it must stand for."""
    flags = [q.value for q in Quality]
    parts: list[str] = []
    slots: list[float | None] = []
    quality: list[str] = []
    for kind, start, step, count, flag in items:
        if kind == "gap":
            parts.append("_" if count == 1 else f"_x{count}")
            slots += [None] * count
            quality += [""] * count
            continue
        prefix = "" if flag == 0 else f"{flags[flag]}:"
        if kind == "one":
            parts.append(f"{prefix}{start}")
            slots.append(start)
            quality.append(flags[flag])
        else:
            step_text = "" if step == 0 else f"{'+' if step > 0 else '-'}{abs(step)}"
            parts.append(f"{prefix}{start}{step_text}x{count}")
            slots += [start + n * step for n in range(count + 1)]
            quality += [flags[flag]] * (count + 1)
    return " ".join(parts), slots, quality


items = st.lists(
    st.tuples(
        st.sampled_from(["one", "run", "gap"]),
        st.integers(-500, 500),
        st.integers(-20, 20),
        st.integers(1, 30),
        st.integers(0, len(Quality) - 1),
    ),
    max_size=12,
)


@given(items)
def test_any_mix_of_items_stands_for_its_values_flags_and_gaps(generated):
    text, slots, quality = render(generated)
    samples = parse_series(text)
    assert [s.slot for s in samples] == [n for n, v in enumerate(slots) if v is not None]
    assert [s.value for s in samples] == [v for v in slots if v is not None]
    assert [s.quality.value for s in samples] == [
        q for q, v in zip(quality, slots, strict=True) if v is not None
    ]


@given(st.text(alphabet="0123456789x+-_.: MNQ", max_size=20))
def test_any_text_parses_or_fails_with_a_column_inside_it(text):
    error: SeriesSyntaxError | None = None
    try:
        parse_series(text)
    except SeriesSyntaxError as exc:
        error = exc
    if error is not None:
        assert 1 <= error.column <= len(text)
        assert text[error.column - 1 :].startswith(error.item)
