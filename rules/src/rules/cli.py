"""``lantian-rules``: check rule files, test them offline, backtest them, or run the service.

    lantian-rules check FILE...          prints OK per file, or every problem as
                                         file:line: rule ID: field: message
    lantian-rules test FILE... [--junit PATH]
                                         runs rule test files offline (rules.testing)
    lantian-rules backtest --rules FILE... --from TIME --to TIME [--json]
                                         replays InfluxDB history, records nothing
                                         (rules.backtest)
    lantian-rules run [--env-file FILE] [--only stream|windows]
                                         runs until SIGTERM or SIGINT; logs to standard error;
                                         --only: one kind of rules (LANTIAN_RULES_ONLY)

Exit status: 0 on success or clean stop, 1 for a rule file with problems, a failed rule test or
unusable settings, 2 for bad command-line usage.
"""

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from rules.backtest import backtest, backtest_settings, moment_ms
from rules.files import RuleFileError, RuleSet, load_rule_file
from rules.service import RulesService
from rules.settings import RulesSettings, settings_from
from rules.stream import StreamEngine
from rules.testing import run_tests
from rules.windows import window_rules
from store.influx import InfluxError
from store.sql import ProductionStore, Registry, RuleResults, create_engine_for

Command = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """The command-line grammar; each subcommand names its handler in ``handler``."""
    parser = argparse.ArgumentParser(prog="lantian-rules", description="Lantian rules engine.")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate rule files")
    check.add_argument("files", type=Path, nargs="+", metavar="FILE")
    check.set_defaults(handler=_check)
    test = commands.add_parser("test", help="run rule test files offline (promtool-style)")
    test.add_argument("files", type=Path, nargs="+", metavar="FILE")
    test.add_argument("--junit", type=Path, metavar="PATH", help="also write JUnit XML there")
    test.set_defaults(handler=_test)
    replay = commands.add_parser("backtest", help="replay InfluxDB history; record nothing")
    replay.add_argument("--rules", type=Path, nargs="+", required=True, metavar="FILE")
    when = "a local day (2026-11-01: its midnight, Asia/Shanghai) or an ISO time"
    replay.add_argument("--from", dest="start", required=True, metavar="TIME", help=when)
    replay.add_argument("--to", dest="end", required=True, metavar="TIME", help="end, excluded")
    replay.add_argument("--env-file", type=Path, help="settings file (LANTIAN_RULES_* lines)")
    replay.add_argument("--influx-url", help="overrides LANTIAN_RULES_INFLUX__URL")
    replay.add_argument("--influx-database", help="overrides LANTIAN_RULES_INFLUX__DATABASE")
    replay.add_argument("--sql-url", help="overrides LANTIAN_RULES_SQL_URL (the registry)")
    replay.add_argument("--json", action="store_true", help="print the report as JSON")
    replay.set_defaults(handler=_backtest)
    run = commands.add_parser("run", help="run the rules service")
    run.add_argument("--env-file", type=Path, help="settings file (KEY=value lines)")
    run.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    run.add_argument(
        "--only",
        choices=("stream", "windows"),
        help="run only the stream rules, or only the rules over stored data (docs/rules.md)",
    )
    run.set_defaults(handler=_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    handler: Command = args.handler
    return handler(args)


def _check(args: argparse.Namespace) -> int:
    """Validate every file, and the files together (rule ids are unique across them)."""
    loaded: list[RuleSet] = []
    problems = False
    for path in args.files:
        try:
            rule_set = load_rule_file(path)
        except RuleFileError as exc:
            problems = True
            for line in exc.lines():
                print(line, file=sys.stderr)  # noqa: T201 - the command's own output
            continue
        loaded.append(rule_set)
    conflicts = StreamEngine(loaded).conflicts
    for conflict in conflicts:
        print(conflict, file=sys.stderr)  # noqa: T201 - the command's own output
    if problems or conflicts:
        return 1
    for rule_set in loaded:
        rules = len(rule_set.rules)
        print(f"OK {rule_set.path}: version {rule_set.version}, {rules} rule(s) enabled")  # noqa: T201
    return 0


def _test(args: argparse.Namespace) -> int:
    """Run rule test files; the report on standard output, JUnit XML where asked."""
    try:
        return run_tests(args.files, sys.stdout, junit=args.junit)
    except OSError as exc:
        print(f"--junit {args.junit}: {exc}", file=sys.stderr)  # noqa: T201
        return 1


def _backtest(args: argparse.Namespace) -> int:
    """Replay the period through the rules and print how often each would have fired."""
    try:
        start, end = moment_ms(args.start), moment_ms(args.end)
    except ValueError as exc:
        print(f"--from, --to: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    if end <= start:
        print("--to must come after --from", file=sys.stderr)  # noqa: T201
        return 2
    try:
        settings = backtest_settings(args.env_file)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            field = "__".join(str(part) for part in error["loc"]) or "<settings>"
            print(f"LANTIAN_RULES_{field.upper()}: {error['msg']}", file=sys.stderr)  # noqa: T201
        return 1
    rule_sets: list[RuleSet] = []
    problems: list[str] = []
    for path in args.rules:
        try:
            rule_sets.append(load_rule_file(path))
        except RuleFileError as exc:
            problems += exc.lines()
    problems += StreamEngine(rule_sets).conflicts + window_rules(rule_sets)[1]
    for problem in problems:
        print(problem, file=sys.stderr)  # noqa: T201
    if problems:
        return 1
    given = {"url": args.influx_url, "database": args.influx_database}
    influx = settings.influx.model_copy(update={k: v for k, v in given.items() if v}).open()
    sql = create_engine_for(args.sql_url or settings.sql_url)
    try:
        report = backtest(influx, sql, rule_sets, start_ms=start, end_ms=end)
    except (InfluxError, SQLAlchemyError) as exc:
        print(f"backtest failed: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    finally:
        influx.close()
        sql.dispose()
    print(report.to_json() if args.json else report.text(), end="")  # noqa: T201
    return 0


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request drowns the log
    try:
        settings = settings_from(args.env_file)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            field = "__".join(str(part) for part in error["loc"]) or "<settings>"
            print(f"LANTIAN_RULES_{field.upper()}: {error['msg']}", file=sys.stderr)  # noqa: T201
        return 1
    if args.only is not None:
        settings = settings.model_copy(update={"only": args.only})
    return run(settings)


def run(settings: RulesSettings) -> int:
    """Run until SIGTERM or SIGINT, then stop cleanly."""
    stop = threading.Event()

    def _on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    engine = create_engine_for(settings.sql_url)
    try:
        service = RulesService(
            settings,
            sql=engine,
            results=RuleResults(engine),
            registry=Registry(engine),
            production=ProductionStore(engine),
        )
        service.start()
        stop.wait()
        logging.getLogger(__name__).info("stopping")
        service.stop()
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
