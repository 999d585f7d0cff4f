"""Loading a rule test file: validated, its rule files loaded, every problem named by line.

Problems come as ``file:line: field: message``, like the rule files' own; a rule file under
test that does not load brings its own problem lines. Beyond the shape of the file, loading
checks what only the rule files can say: that every rule a test names exists, that window
expectations name window rules of the window's size, that every gateway has a placement, and
that a test expecting an annual target's result gives ``as_of``.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from rules.files import RuleFileError, RuleSet, load_rule_file
from rules.model import AqiRule, Rule, WindowMeanRule
from rules.stream import StreamEngine
from rules.testing.model import RuleTestCase, RuleTestFile
from rules.windows import window_rules
from store.sql import Placement
from telemetry.yaml_source import YamlSyntaxError, parse

Loc = tuple[int | str, ...]


class RuleTestError(Exception):
    """A test file that cannot be run; ``lines`` says why, one problem a line."""

    def __init__(self, path: Path, lines: Sequence[str]) -> None:
        self.path = path
        self.lines = tuple(lines)
        super().__init__("\n".join(self.lines))


@dataclass(frozen=True, slots=True)
class LoadedTests:
    """A validated test file, with its rule files loaded and its placements made."""

    path: Path
    file: RuleTestFile
    rule_sets: tuple[RuleSet, ...]
    placements: dict[str, Placement]

    def rules(self) -> dict[str, Rule]:
        """Every enabled rule of the files under test, by id."""
        return {rule.id: rule for rule_set in self.rule_sets for rule in rule_set.rules}


def load_test_file(path: Path) -> LoadedTests:
    """Read and validate a test file and the rule files it names.

    Raises:
        RuleTestError: the file, or a rule file it names, cannot be used.
    """
    try:
        document = parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleTestError(path, [f"{path}:?: <document>: {exc}"]) from None
    except YamlSyntaxError as exc:
        raise RuleTestError(
            path, [f"{path}:{exc.line or '?'}: <document>: {exc.message}"]
        ) from None
    try:
        file = RuleTestFile.model_validate(document.data if document.data is not None else {})
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False):
            where = document.locate(list(err["loc"]))
            lines.append(
                (where.line or 0, f"{path}:{where.line or '?'}: {where.field}: {err['msg']}")
            )
        raise RuleTestError(path, [line for _, line in sorted(lines)]) from None
    rule_sets: list[RuleSet] = []
    problems: list[str] = []
    for name in file.rule_files:
        try:
            rule_sets.append(load_rule_file(path.parent / name))
        except RuleFileError as exc:
            problems.extend(exc.lines())
    problems += StreamEngine(rule_sets).conflicts
    problems += window_rules(rule_sets)[1]
    if problems:
        raise RuleTestError(path, problems)
    loaded = LoadedTests(
        path,
        file,
        tuple(rule_sets),
        {
            gateway: Placement(gateway, where.site, where.enterprise, where.park, where.county)
            for gateway, where in file.placements.items()
        },
    )
    found = [
        f"{path}:{at.line or '?'}: {at.field}: {message}"
        for loc, message in _problems(loaded)
        for at in [document.locate(list(loc))]
    ]
    if found:
        raise RuleTestError(path, found)
    return loaded


def _problems(loaded: LoadedTests) -> Iterator[tuple[Loc, str]]:
    rules = loaded.rules()
    for n, test in enumerate(loaded.file.tests):
        at: Loc = ("tests", n)
        yield from _gateways(loaded, test, at)
        yield from _stored(loaded, test, at)
        in_force = set(rules) if test.rules is None else set(test.rules)
        for k, rule_id in enumerate(test.rules or []):
            yield from _named(rules, rule_id, None, (*at, "rules", k))
        for k, result in enumerate(test.expect_results):
            where = (*at, "expect_results", k, "rule")
            yield from _named(rules, result.rule, in_force, where)
            rule = rules.get(result.rule)
            if rule is not None and rule.kind == "annual_target" and test.as_of is None:
                yield where, f"{rule.id} is an annual_target rule: give the test's as_of"
        for k, window in enumerate(test.expect_windows):
            where = (*at, "expect_windows", k)
            named = list(_named(rules, window.rule, in_force, (*where, "rule")))
            yield from named
            rule = rules.get(window.rule)
            if named or rule is None:
                continue
            if not isinstance(rule, WindowMeanRule | AqiRule):
                yield (*where, "rule"), f"{rule.id} is a {rule.kind} rule, not a window rule"
            elif rule.window.value != window.window.size:
                yield (
                    (*where, "window"),
                    (
                        f"{rule.id} judges each {rule.window.value}, and "
                        f"{window.window.label} is a {window.window.size}"
                    ),
                )


def _gateways(loaded: LoadedTests, test: RuleTestCase, at: Loc) -> Iterator[tuple[Loc, str]]:
    named = [("series", k, s.gateway) for k, s in enumerate(test.series)]
    named += [("status", k, s.gateway) for k, s in enumerate(test.status)]
    for part, k, gateway in named:
        if gateway not in loaded.placements:
            yield (*at, part, k, "gateway"), f"{gateway} has no entry in placements"
    for k, gateway in enumerate(test.watch):
        if gateway not in loaded.placements:
            yield (*at, "watch", k), f"{gateway} has no entry in placements"


def _stored(loaded: LoadedTests, test: RuleTestCase, at: Loc) -> Iterator[tuple[Loc, str]]:
    enterprises = {p.enterprise for p in loaded.placements.values()}
    sites = {p.site for p in loaded.placements.values()}
    for k, figure in enumerate(test.production):
        if figure.enterprise not in enterprises:
            yield (*at, "production", k, "enterprise"), f"{figure.enterprise} has no placed site"
    for k, daily in enumerate(test.daily):
        if daily.site not in sites:
            yield (*at, "daily", k, "site"), f"{daily.site} is not a placed site"


def _named(
    rules: dict[str, Rule], rule_id: str, in_force: set[str] | None, loc: Loc
) -> Iterator[tuple[Loc, str]]:
    rule = rules.get(rule_id)
    if rule is None:
        yield loc, f"no enabled rule {rule_id!r} in the rule files under test"
    elif in_force is not None and rule_id not in in_force:
        yield loc, f"{rule_id} is not among this test's rules"
