"""The ``recon`` command line. The only module that prints (STYLE point 5).

Exit codes:
  0  the day reconciled and its report is written (discrepancies are findings, not failures)
  3  the report is written but inputs were incomplete: a statement missing or rejected, rows quarantined
  2  could not run: bad arguments, bad recon.toml, no inbox or no ledger export for the date
  1  an unexpected error (the traceback is printed; --debug re-raises it)
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import re
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TextIO

from transforms.decisions import ACTIONS

EXIT_OK, EXIT_ERROR, EXIT_CANNOT_RUN, EXIT_INCOMPLETE = 0, 1, 2, 3

EPILOG_BASE = """\
exit codes:
  0  reconciled, report written (discrepancies are findings, not failures)
  3  report written, but a statement was missing or rejected, or rows were quarantined
  2  could not run: bad arguments or recon.toml, no inbox or no ledger export for the date
  1  unexpected error (traceback printed; --debug re-raises)

layout of --data-dir:
  inbox/<YYYY-MM-DD>/<channel>/, ledger/, bank/           what was delivered (channels: wechatpay,
                                                         alipay, unionpay, stripe, paypal)
  reports/<YYYY-MM-DD>/recon_<date>.xlsx, *.parquet, manifest.json   what a run writes
  warehouse.duckdb                                       history, runs, open settlements
  recon.toml                                             rules (optional; docs/config.md lists every key)
"""

#: The examples of each command's --help: they work as written from the repository's root, on the
#: committed sample week, in this order (tests/flows/test_cli_examples.py runs every one of them).
#: "# exit N" names the exit code when it is not 0: a run of the sample data exits 3 on purpose
#: (its ledger holds deliberately broken rows, quarantined).
EXAMPLES = {
    "recon": """\
examples (from the repository's root, on the committed sample week):
  recon run --date 2026-03-02 --data-dir sample_data                        # exit 3: quarantined sample rows
  recon backfill --from 2026-03-02 --to 2026-03-03 --data-dir sample_data   # exit 3
  recon verify --date 2026-03-02 --data-dir sample_data
  recon trace 4200012713202603024716055244 --data-dir sample_data
  recon trace --payout wechatpay:2026-03-02 --data-dir sample_data
  (recon COMMAND --help: more examples of each command)
""",
    "run": """\
examples:
  recon run --date 2026-03-02 --data-dir sample_data            # exit 3: quarantined sample rows
  recon run --date 2026-03-02 --data-dir sample_data --quiet    # exit 3; only the summary
""",
    "backfill": """\
examples:
  recon backfill --from 2026-03-02 --to 2026-03-03 --data-dir sample_data   # exit 3: quarantined sample rows
  (the whole sample week: --from 2026-03-02 --to 2026-03-08)
""",
    "verify": """\
examples (after the run of the date):
  recon verify --date 2026-03-02 --data-dir sample_data
""",
    "trace": """\
examples (after recon backfill --from 2026-03-02 --to 2026-03-03 --data-dir sample_data):
  recon trace 4200012713202603024716055244 --data-dir sample_data         # a payment, on every date it appears
  recon trace ledger/ledger_20260302.csv:491 --data-dir sample_data       # an input line, as the report shows it
  recon trace --payout wechatpay:2026-03-02 --data-dir sample_data        # a settlement and its payout
  recon trace --payout alipay:2026-03-03 --rows 3 --data-dir sample_data
  recon trace bank/camt053_20260303.xml:122 --data-dir sample_data        # a payout credit on the bank statement
""",
    "serve": """\
examples:
  recon serve --data-dir sample_data   # exit 2 without a reachable Prefect server: it never pretends to serve
with a Prefect server on this machine (unattended, with systemd: docs/ops/, docs/operators.md):
  prefect server start --host 127.0.0.1 &          # the scheduler's API and UI (http://127.0.0.1:4200)
  export PREFECT_API_URL=http://127.0.0.1:4200/api
  .venv/bin/recon serve --data-dir /srv/recon      # blocks; every day at 06:00 merchant time
  prefect deployment run reconcile-yesterday/recon-daily -p business_date=2026-03-02   # one date, now
""",
    "resolve": """\
examples (after recon run --date 2026-03-02 --data-dir sample_data):
  recon resolve --date 2026-03-04 --row ledger/ledger_20260302.csv:491 --opened-on 2026-03-02 \\
      --action write_off --account 6603-rounding --reason "test order, never paid" --by li.na --data-dir sample_data
  recon resolve --date 2026-03-04 --undo DECISION_ID --reason "entered by mistake" --by li.na --data-dir sample_data
      (DECISION_ID: as printed when the decision was recorded)
  (in bulk: --file discrepancies.csv, or the day's workbook, with the resolution and note columns filled in)
""",
    "sample": """\
examples:
  recon sample --data-dir my_sample --days 2 --rows 20
""",
}

EPILOG = EPILOG_BASE + "\n" + EXAMPLES["recon"]


RESOLVE_HELP = """\
Record what a person decided about a discrepancy or an open item, with who and why. A decision is
never changed (an undo is a decision of its own) and applies to the run of --date and every later
run, and to every rerun of those dates, never to an earlier date. A resolved row leaves the open items
and is listed, with its trail, on the Resolved sheet. Rerun --date to see it in that day's report.

actions:
""" + "\n".join(f"  {name:<16} {meaning}" for name, meaning in ACTIONS.items() if name != "undo") + """
  (write_off: --account, at most write_off_limit_minor of recon.toml; match_by_hand and reject_match: --with)
"""

RESOLVE_EXAMPLES = EXAMPLES["resolve"]




class CannotRun(Exception):  # noqa: N818 - an expected stop with exit code 2
    """Bad arguments or configuration: reported in one line, exit code 2."""


def _quiet_prefect(data_dir: Path, debug: bool = False) -> None:
    """Offline, quiet, fast Prefect for a batch job (STACK_NOTES gotchas 1-3), unless the user set them."""
    defaults = {
        "PREFECT_HOME": str((data_dir / ".prefect").resolve()),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_TASKS_DEFAULT_NO_CACHE": "true",
        "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
        # Prefect's own log lines would print a traceback before recon's one-line message: recon
        # reports every failure itself (--debug shows everything).
        "PREFECT_LOGGING_LEVEL": "INFO" if debug else "CRITICAL",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        # Task runs recorded by the temporary API lock its SQLite file and stall a later flow call
        # for 2 s; a batch job reads its run from its own report, not from the Prefect UI.
        "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED": "false",
        "DASK_LOGGING__DISTRIBUTED": "warning",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)


def _temporary_folder(prefix: str) -> str:
    """A private temporary folder, removed when the process exits (after Prefect's server has stopped)."""
    import atexit
    import shutil

    folder = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _date(text: str) -> date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None


def _wrapped(text: str) -> str:
    """A description for a parser whose epilog is laid out by hand (RawDescriptionHelpFormatter)."""
    import textwrap

    return textwrap.fill(text, width=100)


def _payout(text: str) -> tuple[str, date]:
    """``CHANNEL:YYYY-MM-DD``: a channel's settlement of one business date."""
    channel, _, day = text.partition(":")
    if not channel or not day:
        raise argparse.ArgumentTypeError(f"{text!r} is not CHANNEL:YYYY-MM-DD (e.g. wechatpay:2026-03-02)")
    return channel, _date(day)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with a --help that teaches the layout and the exit codes."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", type=Path, default=Path("."), metavar="DIR",
                        help="folder holding inbox/, reports/ and warehouse.duckdb (default: .)")
    common.add_argument("--config", type=Path, default=None, metavar="PATH",
                        help="recon.toml to use (default: DIR/recon.toml, else the packaged default)")
    common.add_argument("--debug", action="store_true", help="re-raise unexpected errors with their traceback")
    common.add_argument("--quiet", action="store_true", help="print only the summary, no progress")
    runner = argparse.ArgumentParser(add_help=False)
    runner.add_argument("--runner", choices=("local", "dask"), default="local",
                        help="where the partitions are matched: in this process (local), or on Dask workers "
                             "through prefect-dask (needs the 'dask' extra)")
    runner.add_argument("--dask-address", default=None, metavar="tcp://HOST:PORT",
                        help="the Dask scheduler to use with --runner dask (default: start a local cluster)")

    parser = argparse.ArgumentParser(
        prog="recon",
        description="Reconcile payment-channel statements against the ledger and the bank, one business date at a time.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", parents=[common, runner], help="reconcile one business date",
                         description="Reconcile one business date and write its report.",
                         epilog=EPILOG_BASE + "\n" + EXAMPLES["run"], formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--date", type=_date, default=None, metavar="YYYY-MM-DD",
                     help="business date (default: yesterday in the merchant's time zone)")
    backfill = sub.add_parser("backfill", parents=[common, runner], help="reconcile a range of dates, in order",
                              description="Reconcile every date from --from to --to inclusive, oldest first.",
                              epilog=EXAMPLES["backfill"], formatter_class=argparse.RawDescriptionHelpFormatter)
    backfill.add_argument("--from", dest="start", type=_date, required=True, metavar="YYYY-MM-DD")
    backfill.add_argument("--to", dest="end", type=_date, required=True, metavar="YYYY-MM-DD")
    verify = sub.add_parser("verify", parents=[common, runner], help="rerun a date and compare with its recorded run",
                            description=_wrapped("Check that the published report files of a date are the ones its "
                                        "recorded run wrote, rerun the date into a temporary folder (the warehouse "
                                        "untouched), and name what differs: the inputs (added, removed, changed), "
                                        "each output file, and the rows whose outcome changed. Exit 0 when "
                                        "identical, 1 when not. It creates no file in --data-dir."),
                            epilog=EXAMPLES["verify"], formatter_class=argparse.RawDescriptionHelpFormatter)
    verify.add_argument("--date", type=_date, required=True, metavar="YYYY-MM-DD")
    trace = sub.add_parser("trace", parents=[common], help="show the rows behind an id, an input line or a payout",
                           description=_wrapped("Find a channel transaction id, order number, ledger entry id or bank "
                                       "reference in every recorded outcome, with its file and line; or the row "
                                       "recorded for an input line FILE:LINE; or, with --payout, a channel's "
                                       "settlement of one business date (gross, refunds, fees, net, the payout "
                                       "expected and received, and where it arrived on the bank statement) with the "
                                       "statement rows it adds up. A bank line that carries a payout is followed to "
                                       "its settlement. Reads the warehouse only: it creates no file."),
                           epilog=EXAMPLES["trace"], formatter_class=argparse.RawDescriptionHelpFormatter)
    trace.add_argument("identifier", nargs="?", metavar="ID|FILE:LINE",
                       help="an id, or an input line as the report shows it: source_file:source_line")
    trace.add_argument("--payout", type=_payout, default=None, metavar="CHANNEL:YYYY-MM-DD",
                       help="the settlement of CHANNEL's business date YYYY-MM-DD and its payout")
    trace.add_argument("--rows", type=int, default=10, metavar="N",
                       help="with --payout: how many of the statement's rows to list (default 10)")
    sub.add_parser("serve", parents=[common], help="register the daily 06:00 deployment (needs `prefect server start`)",
                   description="Serve the daily deployment: every day at 06:00 merchant time, reconcile yesterday "
                               "at once, then wait for late statements ([schedule] and statement_ready_after in "
                               "recon.toml), rerun the day when they arrive, and notify ([notify]) when the day "
                               "ends incomplete or failed. Scheduling needs a running Prefect server "
                               "(`prefect server start`, then set PREFECT_API_URL=http://127.0.0.1:4200/api).",
                   epilog=EXAMPLES["serve"], formatter_class=argparse.RawDescriptionHelpFormatter)
    resolve = sub.add_parser("resolve", parents=[common], help="record a decision on a discrepancy or an open item",
                             description=RESOLVE_HELP, epilog=RESOLVE_EXAMPLES,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    resolve.add_argument("--date", type=_date, required=True, metavar="YYYY-MM-DD",
                         help="the report you worked on: the decision applies to its rerun and every later run")
    resolve.add_argument("--row", metavar="FILE:LINE", help="the row, as the report shows it: source_file:source_line")
    resolve.add_argument("--opened-on", type=_date, default=None, metavar="YYYY-MM-DD",
                         help="the date the row came from (Open items: opened_on; default: --date)")
    resolve.add_argument("--source", choices=("channel", "ledger", "bank"), default=None,
                         help="the row's side (default: from its file's folder)")
    resolve.add_argument("--action", choices=[a for a in ACTIONS if a != "undo"], default=None)
    resolve.add_argument("--reason", default=None, help="why, in words (required)")
    resolve.add_argument("--by", default=None, help="who decides (default: $USER)")
    resolve.add_argument("--account", default=None, help="write_off: the account it is written off to")
    resolve.add_argument("--with", dest="counterpart", default=None, metavar="FILE:LINE",
                         help="match_by_hand: the other row; reject_match: the row it was matched with")
    resolve.add_argument("--file", type=Path, default=None, metavar="CSV|XLSX",
                         help="many decisions at once: a CSV with source_file, source_line, resolution (or action), "
                              "note (or reason) and optionally opened_on, source, account, counterpart, by; rows "
                              "without a resolution are skipped. discrepancies.csv, or the day's workbook (its "
                              "Discrepancies sheet), with those columns filled in works as is")
    resolve.add_argument("--undo", default=None, metavar="DECISION_ID",
                         help="cancel a recorded decision from --date on (it stays in force before)")
    sample = sub.add_parser("sample", parents=[common], help="generate sample days into --data-dir",
                            description="Write seeded sample days (inbox + answer key) into --data-dir.",
                            epilog=EXAMPLES["sample"], formatter_class=argparse.RawDescriptionHelpFormatter)
    sample.add_argument("--start", type=_date, default=date(2026, 3, 2), metavar="YYYY-MM-DD")
    sample.add_argument("--days", type=int, default=7)
    sample.add_argument("--seed", type=int, default=20260302)
    sample.add_argument("--rows", type=int, default=200, help="rows per channel per day")
    serving = sub.choices["serve"]  # its examples are set here, away from the serve command's own lines
    serving.epilog, serving.formatter_class = EXAMPLES["serve"], argparse.RawDescriptionHelpFormatter
    return parser


#: What never reaches a terminal raw: C0 and C1 controls (ANSI escapes, a line break inside a file
#: name), DEL, invisible and bidirectional characters. Shown escaped (``\x1b``, ``\u202e``).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")


def printable(text: str) -> str:
    """``text`` safe for a terminal: every control or invisible character escaped, the rest as is."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _say(*parts: object, file: TextIO | None = None) -> None:
    """``print`` for text that may hold input (file names, notes): one line, escaped."""
    print(printable(" ".join(str(part) for part in parts)), file=file or sys.stdout)


class _PrintableFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))


def _progress(quiet: bool) -> None:
    logger = logging.getLogger("recon")
    logger.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_PrintableFormatter("  %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.propagate = False
    # A local Dask cluster narrates its start and stop at INFO; an operator needs only its errors.
    for name in ("distributed", "distributed.nanny", "distributed.scheduler", "distributed.worker"):
        logging.getLogger(name).setLevel(logging.ERROR)


#: The stages of a run in order, as the progress lines of flows/reconcile.py begin.
STAGES = ("discover", "parse", "validate", "history", "match", "quarantine", "look back", "report", "publish",
          "record")  # fmt: skip


def _bars_wanted(quiet: bool) -> bool:
    """Progress bars only for a person at a terminal: never with --quiet, never into a file or a pipe."""
    return not quiet and sys.stderr.isatty() and sys.stdout.isatty()


class DateBars:
    """A bar per date (and one over all dates of a backfill), advanced by the run's stage lines.

    Not shown (``shown`` False): every method does nothing, and the stage lines print as they are.
    """

    def __init__(self, progress: object | None, dates: int = 0) -> None:
        self.progress = progress
        self.shown = progress is not None
        self.current: object | None = None
        self.overall = progress.add_task("dates", total=dates, stage="") if progress is not None and dates > 1 else None  # type: ignore[attr-defined]

    def start(self, day: date) -> None:
        """A new bar for ``day``'s run."""
        if self.progress is not None:
            self.current = self.progress.add_task(str(day), total=len(STAGES), stage="starting")  # type: ignore[attr-defined]

    def stage(self, message: str) -> None:
        """A progress line of the run: move the bar to the stage it names."""
        if self.progress is None or self.current is None:
            return
        for n, name in enumerate(STAGES):
            if message.startswith(name):
                task = self.progress.tasks[self.current]  # type: ignore[attr-defined]
                if n + 1 > task.completed:  # stages run in parallel at times: a bar never moves back
                    self.progress.update(self.current, completed=n + 1, stage=name)  # type: ignore[attr-defined]
                return

    def done(self) -> None:
        """The date's run has finished."""
        if self.progress is not None and self.current is not None:
            self.progress.update(self.current, completed=len(STAGES), stage="done")  # type: ignore[attr-defined]
            if self.overall is not None:
                self.progress.advance(self.overall)  # type: ignore[attr-defined]


class _StageHandler(logging.Handler):
    """Sends the run's progress lines to the bars; warnings still print, above them."""

    def __init__(self, bars: DateBars) -> None:
        super().__init__()
        self.bars = bars

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            self.bars.progress.console.print(printable("  " + message), markup=False, highlight=False)  # type: ignore[attr-defined]
        else:
            self.bars.stage(message)


@contextmanager
def progress_bars(shown: bool, dates: int = 0, console: object | None = None) -> Iterator[DateBars]:
    """Bars on the terminal (rich, which comes with prefect) while runs go on; nothing when not ``shown``.

    While they are shown the run's stage lines move the bars instead of printing, and what the
    command prints goes above them.
    """
    if not shown:
        yield DateBars(None)
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[stage]}"), TimeElapsedColumn(),
                        console=console or Console(stderr=True))  # type: ignore[arg-type]  # fmt: skip
    bars = DateBars(progress, dates)
    logger = logging.getLogger("recon")
    saved = logger.handlers[:]
    logger.handlers = [_StageHandler(bars)]
    try:
        with progress:
            yield bars
    finally:
        logger.handlers = saved


def _print_summary(result: object) -> None:
    report = result.report  # type: ignore[attr-defined]
    _say(report.headline)
    for note in report.notes:
        _say(f"  note: {note}")
    _say(f"  {'channel':<10} {'status':<40} {'rows':>7} {'ledger':>7} {'matched':>8} {'discrep.':>8} {'quarant.':>8} {'match %':>7}")
    for c in report.channels:
        _say(f"  {c.channel:<10} {c.status:<40} {c.rows:>7} {c.ledger_rows:>7} {c.matched:>8} "
              f"{c.discrepancies:>8} {c.quarantined:>8} {c.match_rate_pct:>7}")
    counts = ", ".join(f"{name} {n}" for name, n in report.outcome_counts if n)
    _say(f"  outcomes: {counts}")
    _print_settlement(report.settlement)
    _say(f"  report: {result.reports_dir}  (run {report.run_id}, exit {report.exit_code})")  # type: ignore[attr-defined]
    kept = result.previous_version  # type: ignore[attr-defined]
    if kept is not None:
        _say(f"  NEW VERSION: the previous report of {report.business_date} is kept in {kept}; "
             f"{result.changed_rows} rows changed outcome (changes_to_{report.run_id}.csv there)")  # type: ignore[attr-defined]
    stale = result.stale_dates  # type: ignore[attr-defined]
    if stale:
        _say(f"  STALE: {', '.join(map(str, stale))} were reconciled on the previous version of {report.business_date}; "
             f"rerun them in order: recon backfill --from {stale[0]} --to {stale[-1]}")


def _print_settlement(settlement: object) -> None:
    """The day's settlement lines: what each channel's statement adds up to, and the payouts on the bank."""
    lines = list(settlement.iter_rows(named=True))  # type: ignore[attr-defined]
    if not lines:
        return
    _say(f"  {'settlement':<10} {'of':<10} {'net':>16} {'payout expected':>16} {'received':>16}  status, bank line")
    for s in lines:
        cur = s["currency"]
        shown = [("-" if s[k] is None else _money(s[k], cur)) for k in ("net_minor", "payout_expected_minor",
                                                                           "payout_received_minor")]  # fmt: skip
        bank = f", {s['bank_source_file']}:{s['bank_source_line']}" if s["bank_source_file"] else ""
        _say(f"  {s['channel']:<10} {s['settlement_date']!s:<10} {shown[0]:>16} {shown[1]:>16} {shown[2]:>16}  "
             f"{s['payout_status']}{bank}")


def _flow(args: argparse.Namespace) -> object:
    """The daily flow, with the task runner the arguments ask for."""
    from flows.reconcile import reconcile_day

    if getattr(args, "runner", "local") != "dask":
        return reconcile_day
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError:
        raise CannotRun("--runner dask needs the dask extra: pip install -e '.[dask]'") from None
    if args.dask_address:
        runner = DaskTaskRunner(address=args.dask_address)
    else:
        runner = DaskTaskRunner(cluster_kwargs={"n_workers": 2, "threads_per_worker": 1, "processes": True})
    return reconcile_day.with_options(task_runner=runner)


def _run_date(flow: object, business_date: date, data_dir: Path, rules: object, **kwargs: object) -> object:
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from flows.prefect_api import ensure_api

    inbox = data_dir / "inbox" / business_date.isoformat()
    if not inbox.is_dir():
        raise CannotRun(f"no inbox for {business_date}: {inbox} does not exist")
    api = ensure_api()  # one server per process (backfill included), and it dies with recon
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None, PREFECT_API_URL: api}):
        return flow(business_date, data_dir, rules, **kwargs)  # type: ignore[operator]


def _yesterday(timezone: str) -> date:
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(timezone)).date() - timedelta(days=1)


def dispatch(args: argparse.Namespace) -> int:
    """Run one parsed command; return its exit code."""
    from flows.config import load_rules
    from transforms.rules import RulesError

    data_dir: Path = args.data_dir
    if args.command == "verify":  # a command that only reads keeps Prefect's files out of the data dir too
        os.environ.setdefault("PREFECT_HOME", _temporary_folder("recon-prefect-"))
    _quiet_prefect(data_dir, args.debug)
    _progress(args.quiet)
    if args.command == "sample":
        from sample_data.generate import generate

        days = generate(data_dir, start=args.start, days=args.days, seed=args.seed, rows_per_channel=args.rows)
        _say(f"wrote {len(days)} sample days into {data_dir / 'inbox'} (answer key in {data_dir / 'answers'})")
        return EXIT_OK
    try:
        rules, origin = load_rules(data_dir, args.config)
    except FileNotFoundError as exc:
        raise CannotRun(f"config not found: {exc.filename}") from None
    except RulesError as exc:
        raise CannotRun("bad recon.toml:\n  " + "\n  ".join(exc.problems)) from None
    logging.getLogger("recon").info("rules: %s", origin)

    if args.command == "run":
        day = args.date or _yesterday(rules.timezone)
        with progress_bars(_bars_wanted(args.quiet)) as bars:
            bars.start(day)
            result = _run_date(_flow(args), day, data_dir, rules)
            bars.done()
            _print_summary(result)
        return result.report.exit_code  # type: ignore[attr-defined]
    if args.command == "backfill":
        if args.end < args.start:
            raise CannotRun("--to is before --from")
        worst = EXIT_OK
        flow = _flow(args)
        day = args.start
        total = (args.end - args.start).days + 1
        with progress_bars(_bars_wanted(args.quiet), dates=total) as bars:
            for n in range(total):
                day = args.start + timedelta(days=n)
                if not bars.shown:
                    _say(f"[{n + 1}/{total}] {day}")
                bars.start(day)
                result = _run_date(flow, day, data_dir, rules)
                bars.done()
                _print_summary(result)
                worst = max(worst, result.report.exit_code)  # type: ignore[attr-defined]
        return worst
    if args.command == "verify":
        return _verify(_flow(args), args.date, data_dir, rules)
    if args.command == "trace":
        return _trace(args, data_dir)
    if args.command == "resolve":
        return _resolve(args, data_dir, rules)
    if args.command == "serve":
        from prefect.settings import PREFECT_API_URL

        from flows.schedule import serve_daily, server_problem

        problem = server_problem(PREFECT_API_URL.value() or os.environ.get("PREFECT_API_URL"))
        if problem:  # never pretend to serve: without a server nothing would ever run
            raise CannotRun(problem)
        serve_daily(data_dir, args.config, rules.timezone, debug=args.debug)
        return EXIT_OK
    raise CannotRun(f"unknown command {args.command}")


def _verify(flow: object, business_date: date, data_dir: Path, rules: object) -> int:
    """Check the published files on disk, rerun the date, and name every input, output and row that differs."""
    from flows.outputs import file_sha256
    from flows.warehouse import open_warehouse

    recorded = _read_warehouse(data_dir, lambda warehouse: warehouse.last_run(business_date))
    if recorded is None:
        raise CannotRun(f"no recorded run for {business_date}: run it first")
    expected: dict[str, str] = recorded["outputs"]  # type: ignore[index]
    recorded_inputs: dict[str, str] = _read_warehouse(data_dir, lambda w: w.input_files(business_date))  # type: ignore[assignment]
    same = True
    _say(f"verify {business_date} against its recorded run {recorded['run_id']}:")  # type: ignore[index]
    stale = _read_warehouse(data_dir, lambda warehouse: warehouse.stale_because(business_date))
    if stale:
        _say(f"  STALE: {stale}; this date was reconciled before it (rerun it)")

    # 1. What is published on disk is what the run recorded (nobody edited or replaced a file since).
    published = data_dir / "reports" / business_date.isoformat()
    on_disk = {p.name: file_sha256(p) for p in published.iterdir() if p.is_file()} if published.is_dir() else {}
    tampered = sorted(n for n in set(expected) | set(on_disk) if expected.get(n) != on_disk.get(n))
    same &= not tampered
    _say(f"  published files in {published}: " + ("as recorded" if not tampered else "DIFFERENT: " + ", ".join(
        f"{n} ({'missing on disk' if n not in on_disk else 'not recorded' if n not in expected else 'changed on disk'})"
        for n in tampered)))  # fmt: skip

    with tempfile.TemporaryDirectory(prefix="recon-verify-") as scratch:
        tmp = Path(scratch) / "reports"
        result = _run_date(flow, business_date, _scratch_data_dir(data_dir, Path(scratch) / "data"), rules,
                           reports_dir=tmp, record=False)  # fmt: skip
        # 2. The inputs: the same files with the same bytes?
        now = {f.source_file: f.sha256 for f in result.report.inputs}  # type: ignore[attr-defined]
        changed = [f"{n}: {'added' if n not in recorded_inputs else 'removed' if n not in now else 'changed'}"
                   for n in sorted(set(now) | set(recorded_inputs)) if now.get(n) != recorded_inputs.get(n)]  # fmt: skip
        same &= not changed
        _say("  inputs: " + ("the same files, byte for byte" if not changed else "DIFFERENT: " + "; ".join(changed)))
        # 3. The outputs, file by file.
        actual: dict[str, str] = result.outputs  # type: ignore[attr-defined]
        for name in sorted(set(expected) | set(actual)):
            ok = expected.get(name) == actual.get(name)
            same &= ok
            _say(f"  {'same' if ok else 'DIFFERENT':<9} {name}  recorded {str(expected.get(name))[:16]}  rerun {str(actual.get(name))[:16]}")
        # 4. The rows whose outcome changed.
        with open_warehouse(data_dir / "warehouse.duckdb", read_only=True, readable=(Path(tmp),)) as warehouse:
            count, examples = warehouse.outcome_changes(business_date, Path(tmp) / "outcomes.parquet")
    same &= count == 0
    rows = "1 row differs" if count == 1 else f"{count:,} rows differ"
    _say(f"  rows: {'every outcome as recorded' if count == 0 else rows + ', e.g.:'}")
    for source, file, line, before, after, amount, currency in examples:
        _say(f"    {source} {file}:{line} {_money(amount, currency)}  recorded {before or '(no row)'} -> "
             f"rerun {after or '(no row)'}")
    _say(f"verify {business_date}: {'identical to run ' + str(recorded['run_id']) if same else 'DIFFERS'}")  # type: ignore[index]
    return EXIT_OK if same else EXIT_ERROR


def _money(amount_minor: object, currency: object) -> str:
    """An amount as a person reads it (``¥156.00``); a missing amount says so."""
    from transforms.money import format_money

    if amount_minor is None:
        return "(no amount)"
    return format_money(int(amount_minor), None if currency is None else str(currency))  # type: ignore[call-overload]


#: An input line as the report shows it: ``source_file:source_line``.
_PLACE = re.compile(r"(?P<file>.+):(?P<line>[0-9]+)")


def _scratch_data_dir(data_dir: Path, scratch: Path) -> Path:
    """A data dir for verify's rerun that reads the real inbox and warehouse and writes only into ``scratch``.

    The rerun's work folder, spill space and staging go to ``scratch`` (removed afterwards), so that
    verify creates nothing in ``--data-dir``, not even a ``work/`` folder; the warehouse is only ever
    opened read-only (``record=False``). The locks of runs in progress are linked in, so that the rerun
    still waits for an earlier date being reconciled.
    """
    scratch.mkdir(mode=0o700)
    (scratch / "work").mkdir(mode=0o700)
    for name in ("inbox", "warehouse.duckdb", "warehouse.duckdb.wal"):
        if (data_dir / name).exists():
            (scratch / name).symlink_to((data_dir / name).resolve())
    for lock in sorted((data_dir / "work").glob("*.lock")):
        (scratch / "work" / lock.name).symlink_to(lock.resolve())
    return scratch


def _trace(args: argparse.Namespace, data_dir: Path) -> int:
    """Every recorded row carrying an id, or at an input line; or a payout with the rows behind it."""
    if args.payout is not None and args.identifier is not None:
        raise CannotRun("trace takes an ID, a FILE:LINE or --payout CHANNEL:YYYY-MM-DD, not two of them")
    if args.payout is not None:
        channel, day = args.payout
        return _read_warehouse(data_dir, lambda warehouse: _trace_payout(warehouse, channel, day, args.rows))  # type: ignore[return-value]
    if args.identifier is None:
        raise CannotRun("say what to trace: an ID, an input line FILE:LINE, or --payout CHANNEL:YYYY-MM-DD")
    identifier: str = args.identifier
    return _read_warehouse(data_dir, lambda warehouse: _trace_identifier(warehouse, identifier, args.rows))  # type: ignore[return-value]


def _trace_identifier(warehouse: object, identifier: str, limit: int) -> int:
    import polars as pl

    place = _PLACE.fullmatch(identifier)
    rows: pl.DataFrame = warehouse.trace(identifier)  # type: ignore[attr-defined]
    if place is not None:
        at = warehouse.rows_at(place["file"], int(place["line"]))  # type: ignore[attr-defined]
        rows = at if rows.is_empty() else pl.concat([at, rows], how="vertical").unique(maintain_order=True)
    if rows.is_empty():
        _say(f"{identifier}: not found in any recorded run")
        return EXIT_OK
    for r in rows.iter_rows(named=True):
        _say(_row_line(r))
    payouts = [(r["source_file"], r["source_line"]) for r in rows.iter_rows(named=True)
               if r["source"] == "bank" and r["kind"] == "payout"]  # fmt: skip
    for file, line in dict.fromkeys(payouts):
        for channel, day in warehouse.payouts_paid_by(file, line).iter_rows():  # type: ignore[attr-defined]
            _say("")
            _say(f"{file}:{line} pays the {channel} settlement of {day}:")
            _trace_payout(warehouse, channel, day, limit)
    return EXIT_OK


def _row_line(r: dict[str, object]) -> str:
    """One recorded row: date, side, file:line, counterpart, kind, amount, outcome, detail."""
    where = f"{r['source_file']}:{r['source_line']}"
    other = f" <-> {r['counterpart_file']}:{r['counterpart_line']}" if r.get("counterpart_file") else ""
    return (f"{r['recon_date']} {r['source']:<7} {where}{other}  {r['kind'] or ''} "
            f"{_money(r['amount_minor'], r['currency'])}  {r['outcome']}  {r['detail'] or ''}")


def _trace_payout(warehouse: object, channel: str, day: date, limit: int) -> int:
    """A channel's settlement of ``day``: the line its run recorded, the payout's arrival, the rows behind it."""
    lines = warehouse.settlement_lines(channel, day)  # type: ignore[attr-defined]
    if lines.is_empty():
        _say(f"no settlement of {channel} for {day} in any recorded run (is {day} reconciled? "
             f"recon run --date {day})")
        return EXIT_OK
    statement = lines.filter(lines["recon_date"] == day)
    payouts = lines.filter(lines["recon_date"] != day)
    for s in statement.iter_rows(named=True):
        cur = s["currency"]
        _say(f"{channel} settlement of {day}, account {s['merchant_account'] or '-'}, {cur} "
             f"(run {s['run_id']} of {s['recon_date']}):")
        _say(f"  gross {_money(s['gross_minor'], cur)} ({s['payments_count']} payments), refunds "
             f"{_money(s['refunds_minor'], cur)} ({s['refunds_count']}), fees {_money(s['fees_minor'], cur)}, "
             f"net {_money(s['net_minor'], cur)}")
        _say(f"  payout expected {_money(s['payout_expected_minor'], cur)}")
    if statement.is_empty():
        _say(f"{channel} settlement of {day}: {day} has no recorded run, so its statement totals are not known")
    for s in payouts.iter_rows(named=True):
        cur = s["currency"]
        where = (f"on the bank statement at {s['bank_source_file']}:{s['bank_source_line']}"
                 if s["bank_source_file"] else "on no bank statement")  # fmt: skip
        received = "nothing" if s["payout_received_minor"] is None else _money(s["payout_received_minor"], cur)
        diff = "" if s["payout_diff_minor"] is None else f", difference {_money(s['payout_diff_minor'], cur)}"
        _say(f"  payout received {received}{diff}: {s['payout_status']}, {where} "
             f"(run {s['run_id']} of {s['recon_date']}, account {s['merchant_account'] or '-'}, {cur})")
    if payouts.is_empty():
        status = ", ".join(sorted(set(statement["payout_status"]))) or "unknown"
        _say(f"  payout received: not on any bank statement recorded so far ({status})")

    totals, first = warehouse.statement_rows(channel, day, max(limit, 0))  # type: ignore[attr-defined]
    counted = totals.filter(~totals["quarantined"]) if not totals.is_empty() else totals
    n = int(counted["rows"].sum()) if not counted.is_empty() else 0
    files = sorted({f for text in counted["files"] for f in str(text).split(", ")}) if n else []
    _say(f"  statement rows of {day}: {n:,} in {', '.join(files) or 'no recorded statement'}")
    for t in counted.iter_rows(named=True):
        _say(f"    {t['rows']:>6,} {t['kind'] or '(no kind)':<8} {_money(t['amount_minor'], t['currency'])}, "
             f"fees {_money(t['fee_minor'], t['currency'])}")
    if not totals.is_empty():
        for t in totals.filter(totals["quarantined"]).iter_rows(named=True):
            _say(f"    {t['rows']:>6,} quarantined {t['kind'] or ''} rows, not in any settlement (Quarantine sheet)")
    for s in statement.iter_rows(named=True):  # do the rows add up to the line the run recorded?
        cur = s["currency"]
        sums = {k: v for k, v in ((t["kind"], (t["amount_minor"] or 0, t["fee_minor"] or 0))
                                  for t in counted.iter_rows(named=True) if t["currency"] == cur)}  # fmt: skip
        gross, refunds = sums.get("payment", (0, 0)), sums.get("refund", (0, 0))
        fees = gross[1] + refunds[1]
        same = (gross[0], refunds[0], fees) == (s["gross_minor"], s["refunds_minor"], s["fees_minor"])
        _say(f"    {cur}: " + ("they add up to the settlement line" if same else
             f"payments {_money(gross[0], cur)}, refunds {_money(refunds[0], cur)}, fees {_money(fees, cur)}: "
             "not the line's totals (the line counts only the statement's succeeded and processing rows)"))
    if not first.is_empty():
        shown = f"the first {first.height}" if first.height < n else f"all {first.height}"
        _say(f"  {shown} in file order:")
        for r in first.iter_rows(named=True):
            other = (f" <-> {r['counterpart_file']}:{r['counterpart_line']}"
                     + (f" of {r['counterpart_date']}" if r["counterpart_date"] else "")) if r["counterpart_file"] else ""
            _say(f"    {r['source_file']}:{r['source_line']}  {r['kind']} {_money(r['amount_minor'], r['currency'])} "
                 f"fee {_money(r['fee_minor'], r['currency'])}  {r['outcome']}{other}")
        if first.height < n:
            _say(f"  (--rows {n} lists all of them)")
    return EXIT_OK


def _resolve(args: argparse.Namespace, data_dir: Path, rules: object) -> int:
    """Check the decisions against the recorded rows, then record them all (or none)."""
    from datetime import UTC

    from flows.warehouse import open_warehouse
    from transforms.decisions import decision_rows

    entries: list[dict[str, object]] = []
    if args.file is not None:
        if not args.file.is_file():
            raise CannotRun(f"no resolutions file {args.file}")
        for row in _resolution_rows(args.file):
            action = (row.get("resolution") or row.get("action") or "").strip()
            if action:
                entries.append({**row, "action": action, "reason": row.get("note") or row.get("reason")})
    elif args.undo:
        entries.append({"action": "undo", "undoes": args.undo, "reason": args.reason, "by": args.by})
    elif args.row and args.action:
        file, _, line = args.row.rpartition(":")
        entries.append({
            "source_file": file, "source_line": line, "opened_on": args.opened_on and args.opened_on.isoformat(),
            "source": args.source, "action": args.action, "reason": args.reason, "account": args.account,
            "counterpart": args.counterpart, "by": args.by,
        })  # fmt: skip
    else:
        raise CannotRun("say what to record: --row FILE:LINE --action A --reason R, or --file CSV, or --undo ID")
    who = args.by or os.environ.get("USER") or "unknown"
    decisions, problems = decision_rows(entries, effective_date=args.date, decided_by=who, decided_at=datetime.now(UTC))
    if not entries:
        raise CannotRun(f"{args.file}: no row has a resolution")
    path = data_dir / "warehouse.duckdb"
    if not path.is_file():
        raise CannotRun(f"no warehouse at {path}: reconcile a date first")
    with open_warehouse(path) as warehouse:
        if not problems:
            problems += _decision_problems(warehouse, decisions, rules)
        if problems:
            raise CannotRun("nothing recorded:\n  " + "\n  ".join(problems))
        warehouse.record_decisions(decisions)
    for d in decisions.iter_rows(named=True):
        what = f"undo of {d['undoes']}" if d["action"] == "undo" else (
            f"{d['action']} {d['source']} {d['source_file']}:{d['source_line']} of {d['opened_on']}")
        _say(f"recorded decision {d['decision_id']}: {what}, by {d['decided_by']}; in force from the run of "
             f"{d['effective_date']} on (rerun it: recon run --date {d['effective_date']})")
    return EXIT_OK


def _resolution_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a resolutions file: a CSV (discrepancies.csv filled in), or the workbook itself.

    A workbook is read by :func:`transforms.workbook.read_resolutions`: its worklist and review sheets
    in either language, cells as values (never formulas), one decision per row of each case.
    """
    import csv

    if path.suffix.lower() != ".xlsx":
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return list(csv.DictReader(handle))
    from transforms.workbook import read_resolutions

    try:
        return read_resolutions(path.read_bytes())
    except ValueError as exc:
        raise CannotRun(f"{path}: {exc}") from None


def _decision_problems(warehouse: object, decisions: object, rules: object) -> list[str]:
    """What the warehouse says against the decisions: unknown rows or ids, rows that need none, limits."""
    import polars as pl

    frame: pl.DataFrame = decisions  # type: ignore[assignment]
    problems = []
    for d in frame.filter(pl.col("action") == "undo").iter_rows(named=True):
        if warehouse.decision(d["undoes"]) is None:  # type: ignore[attr-defined]
            problems.append(f"undo: no recorded decision {d['undoes']}")
    targets = frame.filter(pl.col("action") != "undo")
    if targets.height:
        found = warehouse.recorded_rows(targets)  # type: ignore[attr-defined]
        keys = ("opened_on", "source", "source_file", "source_line")
        known = {tuple(r[k] for k in keys): r for r in found.iter_rows(named=True)} if found.height else {}
        limit = rules.write_off_limit_minor  # type: ignore[attr-defined]
        by_hand = targets.filter(pl.col("action") == "match_by_hand")
        others = warehouse.open_places(by_hand["counterpart"].to_list(), max(by_hand["effective_date"])) if (  # type: ignore[attr-defined]
            by_hand.height) else set()  # fmt: skip
        for d in targets.iter_rows(named=True):
            where = f"{d['source']} {d['source_file']}:{d['source_line']} of {d['opened_on']}"
            row = known.get(tuple(d[k] for k in keys))
            if row is None:
                problems.append(f"{where}: no such row in the recorded run of {d['opened_on']}")
            elif row["outcome"] in ("matched", "void", "resolved_late"):
                problems.append(f"{where}: it is {row['outcome']}, nothing to resolve")
            elif d["action"] == "reject_match" and (
                row["match_rule"] is None or row["counterpart_date"] is not None
                or f"{row['counterpart_file']}:{row['counterpart_line']}" != d["counterpart"]
            ):
                shown = f"{row['counterpart_file']}:{row['counterpart_line']}" if row["match_rule"] else "nothing"
                problems.append(f"{where}: it was matched with {shown} on its own date, not with {d['counterpart']}")
            elif d["action"] == "match_by_hand" and d["counterpart"] not in others:
                problems.append(f"{where}: the other row {d['counterpart']} is no open row of a recorded run")
            elif d["action"] == "write_off" and abs(row["amount_minor"] or 0) > limit:
                problems.append(f"{where}: writing off {_money(abs(row['amount_minor']), row['currency'])} is over "
                                f"the limit write_off_limit_minor = {limit} ({_money(limit, row['currency'])})")
    return problems


def _read_warehouse(data_dir: Path, read: object) -> object:
    """Run ``read(warehouse)`` on the warehouse opened read-only: a command that only reads creates nothing."""
    from flows.warehouse import open_warehouse

    path = data_dir / "warehouse.duckdb"
    if not path.is_file():
        raise CannotRun(f"no warehouse at {path}: reconcile a date first (recon run --date D --data-dir {data_dir})")
    with open_warehouse(path, read_only=True) as warehouse:
        return read(warehouse)  # type: ignore[operator]


_DISK_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def _known_failure(exc: BaseException) -> str | None:
    """One line for a failure that is not a bug: a full disk, a file system error, a broken invariant.

    The chain of causes is searched, so that "cannot rollback" or a wrapper never hides a full disk.
    """
    from flows.reconcile import InvariantBroken
    from flows.warehouse import WarehouseError

    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    for item in chain:
        text = str(item)
        if isinstance(item, OSError) and item.errno in _DISK_FULL or any(
            words in text for words in ("No space left", "File too large", "Disk quota")
        ):
            where = f" writing {item.filename}" if isinstance(item, OSError) and item.filename else ""
            return f"disk full{where}: {_one_line(text)}"
    for item in chain:
        if isinstance(item, InvariantBroken | OSError | WarehouseError):
            return _one_line(str(item))
    return None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM (a scheduler's stop, systemd, kill): unwind like an error, so folders are cleaned up."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``recon`` console script; returns the exit code."""
    os.umask(0o077)  # reports, the warehouse and the work folder hold financial data: owner only
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminated)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed the problem or the help
        return EXIT_OK if exc.code == 0 else EXIT_CANNOT_RUN
    try:
        return dispatch(args)
    except CannotRun as exc:
        first, *more = str(exc).splitlines() or [""]
        _say(f"recon: cannot run: {first}", file=sys.stderr)
        for line in more:  # a bad recon.toml lists every problem, one per line
            _say(line, file=sys.stderr)
        return EXIT_CANNOT_RUN
    except Exception as exc:
        from flows.locks import DateBusy, EarlierDateBusy
        from flows.reconcile import NoLedger
        from flows.warehouse import WarehouseBusy

        if isinstance(exc, NoLedger | WarehouseBusy | DateBusy | EarlierDateBusy):
            _say(f"recon: cannot run: {exc}", file=sys.stderr)
            return EXIT_CANNOT_RUN
        if args.debug:
            raise
        cause = _known_failure(exc)
        if cause is not None:  # the real cause, in one line: no traceback hides it
            _say(f"recon: failed, nothing new published: {cause}", file=sys.stderr)
            return EXIT_ERROR
        import traceback

        traceback.print_exc()
        _say(f"recon: unexpected error: {exc!r} (rerun with --debug to re-raise)", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
