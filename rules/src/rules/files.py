"""Loading rule files: validated, versioned, every problem named by file, line, rule and field.

A rule file's version is what the engine records with every result it computes from it:
``<declared version>+<first 12 hex digits of the file's SHA-256>`` (``2026.1+3f9a0c1b2d4e``),
or the hash alone when the file declares none. Editing a file without touching its declared
version still changes the recorded one, so a result always says exactly which rules made it.

:class:`RuleFiles` watches a set of files and reloads a file when its content changes; a file
that no longer validates keeps its last good version running and its problems are reported.
"""

import hashlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from rules.model import Rule, RuleFile
from telemetry.yaml_source import YamlDocument, YamlSyntaxError, parse

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RuleProblem:
    """One reason a rule file cannot be used."""

    line: int | None
    rule: str | None  # the id of the rule the problem is in, when it is in one
    field: str  # e.g. ``rules[3].window``; ``<document>`` for the file as a whole
    message: str


class RuleFileError(Exception):
    """A rule file that cannot be used; ``problems`` lists every reason."""

    def __init__(self, path: Path, problems: Sequence[RuleProblem]) -> None:
        self.path = path
        self.problems = tuple(problems)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One ``file:line: rule ID: field: message`` line per problem."""
        return [
            f"{self.path}:{p.line if p.line is not None else '?'}: "
            + (f"rule {p.rule}: " if p.rule else "")
            + f"{p.field}: {p.message}"
            for p in self.problems
        ]


@dataclass(frozen=True, slots=True)
class RuleSet:
    """A validated rule file and the version its results record."""

    path: Path
    version: str
    file: RuleFile

    @property
    def rules(self) -> list[Rule]:
        """The enabled rules."""
        return [rule for rule in self.file.rules if rule.enabled]


def load_rule_file(path: Path) -> RuleSet:
    """Read and validate one rule file.

    Raises:
        RuleFileError: the file is unreadable, not YAML, or not a valid rule file.
    """
    try:
        raw = path.read_bytes()
        document = parse(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleFileError(path, [RuleProblem(None, None, "<document>", str(exc))]) from None
    except YamlSyntaxError as exc:
        raise RuleFileError(
            path, [RuleProblem(exc.line, None, "<document>", exc.message)]
        ) from None
    return parse_rule_file(path, raw, document)


def parse_rule_file(path: Path, raw: bytes, document: YamlDocument) -> RuleSet:
    """Validate a parsed rule file; ``raw`` is what its version hash is taken of."""
    try:
        file = RuleFile.model_validate(document.data if document.data is not None else {})
    except ValidationError as exc:
        problems: list[RuleProblem] = []
        for err in exc.errors(include_url=False):
            loc = list(err["loc"])
            if err["type"].startswith("union_tag"):
                loc.append("kind")  # point at the offending kind, not the whole rule
            where = document.locate(loc, tag_key="kind")
            message = err["msg"]
            if err["type"] not in {"missing", "extra_forbidden"} and _is_scalar(err["input"]):
                message += f" (got {err['input']!r})"
            problems.append(RuleProblem(where.line, _rule_id(document, loc), where.field, message))
        problems.sort(key=lambda p: p.line or 0)
        raise RuleFileError(path, problems) from None
    digest = hashlib.sha256(raw).hexdigest()[:12]
    version = f"{file.version}+{digest}" if file.version else digest
    return RuleSet(path, version, file)


class RuleFiles:
    """A set of rule files, reloaded when they change, without a restart.

    :meth:`reload` reads every file again and keeps the ones that changed and validate; a
    broken edit leaves the file's last good version in force and is returned as a problem.
    """

    def __init__(self, paths: Sequence[Path]) -> None:
        self._paths = list(paths)
        self._loaded: dict[Path, RuleSet] = {}
        self._raw: dict[Path, bytes] = {}

    def __iter__(self) -> Iterator[RuleSet]:
        return iter(self._loaded.values())

    def reload(self) -> tuple[list[RuleSet], list[RuleFileError]]:
        """Load what changed since the last call: the new rule sets, and the files that failed."""
        changed: list[RuleSet] = []
        failed: list[RuleFileError] = []
        for path in self._paths:
            try:
                raw = path.read_bytes()
            except OSError as exc:
                failed.append(
                    RuleFileError(path, [RuleProblem(None, None, "<document>", str(exc))])
                )
                continue
            if self._raw.get(path) == raw:
                continue
            self._raw[path] = raw
            try:
                loaded = load_rule_file(path)
            except RuleFileError as exc:
                log.error("rule file not loaded, the last good version stays:\n%s", exc)  # noqa: TRY400 - the problems are the message; a traceback adds nothing
                failed.append(exc)
                continue
            self._loaded[path] = loaded
            changed.append(loaded)
            log.info("loaded %s version %s (%d rules)", path, loaded.version, len(loaded.rules))
        return changed, failed


def _rule_id(document: YamlDocument, loc: list[int | str]) -> str | None:
    if len(loc) < 2 or loc[0] != "rules" or not isinstance(loc[1], int):
        return None
    data = document.data
    if not isinstance(data, dict):
        return None
    rules = data.get("rules")
    if not isinstance(rules, list) or not 0 <= loc[1] < len(rules):
        return None
    rule = rules[loc[1]]
    identifier = rule.get("id") if isinstance(rule, dict) else None
    return identifier if isinstance(identifier, str) else f"#{loc[1] + 1}"


def _is_scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bool) or value is None
