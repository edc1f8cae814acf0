"""A late statement and a re-issued statement, against the generator's answer keys (issue 7).

Late: a week is generated twice with one seed, once without WeChat Pay's statement of day 3 (data
dir A) and once complete (B). A runs day by day, then day 3's statement arrives late (copied from
B) and day 3 is run again: a new version beside the old one, days 4 and 5 stale until they run again,
and every date ends as the complete week's answer key says (bank rows aside: see
:func:`expected_after_delivery`).

Re-issued: three clean days; WeChat Pay re-issues day 2's bill with one payment 1.00 lower (the
footer totals re-added). Day 2 run again is a new version naming exactly that pair of rows; day 3 is
stale; ``recon verify`` names the changed file; the same inputs once more change nothing.
"""

from __future__ import annotations

import contextlib
import io
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from flows.cli import EXIT_ERROR, EXIT_INCOMPLETE, EXIT_OK, main
from flows.config import load_rules
from flows.reconcile import RunResult
from flows.warehouse import open_warehouse
from sample_data.generate import generate
from tests.corpus.inputs import (
    W_AMOUNT,
    W_ORDER_AMOUNT,
    W_STATUS,
    W_TXN,
    TextFile,
    wechat_fields,
    wechat_line,
    wechat_refoot,
)
from tests.helpers import run_day
from tests.test_answer_key import KEY, answer_key, assert_matches_key, diff

pytestmark = pytest.mark.usefixtures("prefect_harness")

SEED, ROWS = 11, 30
WEEK = [date(2026, 4, 6) + timedelta(days=n) for n in range(5)]
LATE = WEEK[2]  # WeChat Pay's statement of this date arrives late
STALE_LATER = (WEEK[3], WEEK[4])
CLEAN = [date(2026, 5, 4) + timedelta(days=n) for n in range(3)]
REISSUED = CLEAN[1]  # WeChat Pay re-issues this date's bill


def ymd(day: date) -> str:
    return day.strftime("%Y%m%d")


def wechat_bill(day: date) -> str:
    return f"wechatpay/wechatpay_tradebill_ALL_{ymd(day)}.csv"


def bank_file(day: date) -> str:
    """The day's bank statement: MT940 on the third and sixth day of a generated week, camt.053 otherwise."""
    return f"bank/mt940_{ymd(day)}.sta" if (day - WEEK[0]).days % 7 in (2, 5) else f"bank/camt053_{ymd(day)}.xml"


# -- small helpers ---------------------------------------------------------------------------------------


def inbox_files(root: Path) -> dict[str, bytes]:
    """Every inbox file under ``root``, by its path relative to ``inbox/``."""
    inbox = root / "inbox"
    return {p.relative_to(inbox).as_posix(): p.read_bytes() for p in sorted(inbox.rglob("*")) if p.is_file()}


def report_bytes(folder: Path) -> dict[str, bytes]:
    """The report files of a folder, by name (a kept version's ``changes_to_*.csv`` left out)."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()
            and not p.name.startswith("changes_to_")}  # fmt: skip


def overridden(key: pl.DataFrame, rows: pl.Expr, outcome: str) -> pl.DataFrame:
    """An answer key with the outcome of ``rows`` replaced."""
    return key.with_columns(outcome=pl.when(rows).then(pl.lit(outcome)).otherwise("outcome"))


def stale_marks(data_dir: Path, days: list[date]) -> dict[date, str | None]:
    """What the warehouse says about each date: why it is stale, or None."""
    with open_warehouse(data_dir / "warehouse.duckdb", read_only=True) as warehouse:
        return {day: warehouse.stale_because(day) for day in days}


def kept_versions(data_dir: Path, day: date) -> list[str]:
    """The run ids of the earlier reports of ``day`` kept beside the published one."""
    folder = data_dir / "reports" / ".versions" / day.isoformat()
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


Change = tuple[str, str, int, str | None, str | None]  # source, file, line, outcome before, after


def changes(kept: Path, run_id: str) -> set[Change]:
    """The rows of ``changes_to_<run_id>.csv`` in a kept version: (source, file, line, before, after)."""
    path = kept / f"changes_to_{run_id}.csv"
    assert path.is_file(), f"no {path.name} in {kept}: {sorted(p.name for p in kept.iterdir())}"
    frame = pl.read_csv(path, schema_overrides={"source_line": pl.Int64, "source_file": pl.String})
    rows = frame.select("source", "source_file", "source_line", "outcome_before", "outcome_after").rows()
    assert len(rows) == len(set(rows)), f"{path.name} lists a row twice"
    return set(rows)


def key_changes(before: pl.DataFrame, after: pl.DataFrame) -> set[Change]:
    """The rows whose expected outcome differs between two answer keys (or that one of them lacks)."""
    joined = before.select(*KEY, "outcome").join(
        after.select(*KEY, "outcome"), on=KEY, how="full", coalesce=True, suffix="_after"
    )
    differ = joined.filter(pl.col("outcome").ne_missing(pl.col("outcome_after")))
    return set(differ.select(*KEY, "outcome", "outcome_after").rows())


def assert_matches(expected: pl.DataFrame, result: RunResult, what: str) -> None:
    """Every row's outcome as ``expected`` says, and no row more or less (the answer-key diff on failure)."""
    bad = diff(expected, result.outcomes())
    if bad.height:
        with pl.Config(tbl_rows=30, fmt_str_lengths=70, tbl_width_chars=220):
            pytest.fail(f"{what}: {bad.height} rows differ from the expected outcomes\n{bad}")


def verify(data_dir: Path, day: date) -> tuple[int, str]:
    """``recon verify --date D`` in-process: its exit code and what it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["verify", "--date", day.isoformat(), "--data-dir", str(data_dir), "--quiet"])
    return code, out.getvalue()


def stale_because(day: date, new_run: str, old_run: str) -> str:
    return f"{day} was reconciled again (run {new_run} replaces {old_run})"


# -- the late statement ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LateWeek:
    """The week without day 3's WeChat statement (``a``, run day by day) and the complete week (``b``)."""

    a: Path
    b: Path
    first: dict[date, RunResult]


@pytest.fixture(scope="module")
def late_week(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> LateWeek:
    """Generate both weeks and run A's five days in order (tests work on copies of A)."""
    root = tmp_path_factory.mktemp("late")
    a, b = root / "A", root / "B"
    for folder, missing in ((a, [("wechatpay", LATE)]), (b, [])):
        generate(folder, start=WEEK[0], days=len(WEEK), seed=SEED, rows_per_channel=ROWS, missing=missing,
                 quarantined_rows=False)  # fmt: skip
    rules, _ = load_rules(a, None)
    return LateWeek(a, b, {day: run_day(day, a, rules) for day in WEEK})


def copy_of(week: LateWeek, tmp_path: Path) -> Path:
    """A private copy of A as its first pass left it (inbox, reports, warehouse)."""
    data_dir = tmp_path / "A"
    shutil.copytree(week.a, data_dir, ignore=shutil.ignore_patterns("work"))
    return data_dir


def deliver_late_statement(week: LateWeek, data_dir: Path) -> None:
    folder = Path("inbox") / LATE.isoformat() / "wechatpay"
    shutil.copytree(week.b / folder, data_dir / folder)


def expected_after_delivery(week: LateWeek, day: date) -> pl.DataFrame:
    """What a date of A must show once day 3's statement was delivered and reconciled.

    B's answer key for the statement and ledger rows, A's for the bank rows: the bank files differ
    (see ``test_a_missing_statement_changes_only_its_folder_and_moves_the_payout_mismatch``) and A's
    are the ones in A's inbox. Day 3's bank rows are payouts of day 2, which the late statement does
    not touch, so A's key holds for them.
    """
    ours = answer_key(week.b, day).filter(pl.col("source") != "bank")
    return pl.concat([ours, answer_key(week.a, day).filter(pl.col("source") == "bank")])


def test_a_missing_statement_changes_only_its_folder_and_moves_the_payout_mismatch(
    late_week: LateWeek,
) -> None:
    a, b = inbox_files(late_week.a), inbox_files(late_week.b)
    only_b = sorted(set(b) - set(a))
    # the missing day's WeChat folder: its trade bill and its fund-flow bill
    assert only_b == sorted([f"{LATE}/{wechat_bill(LATE)}", f"{LATE}/wechatpay/wechatpay_fundflow_{LATE:%Y%m%d}.csv"])
    assert set(a) <= set(b), only_b
    # Not "otherwise identical": the one planned payout amount_mismatch goes to a date whose previous
    # WeChat bill is present, chosen among those dates, so leaving out day 3's bill moves it from the
    # bank file of day 4 (B) to the one of day 3 (A). Every other file is byte for byte the same.
    differ = sorted(name for name in set(a) & set(b) if a[name] != b[name])
    assert differ == [f"{LATE}/{bank_file(LATE)}", f"{WEEK[3]}/{bank_file(WEEK[3])}"], differ

    def mismatch_days(root: Path) -> list[date]:
        return [day for day in WEEK if "payout_amount_mismatch" in answer_key(root, day)["scenario"]]

    assert (mismatch_days(late_week.a), mismatch_days(late_week.b)) == ([LATE], [WEEK[3]])


def test_a_week_with_a_missing_statement_matches_its_answer_key(late_week: LateWeek) -> None:
    for day, result in late_week.first.items():
        assert_matches_key(late_week.a, day, result)
        expected = EXIT_INCOMPLETE if day == LATE else EXIT_OK
        assert result.report.exit_code == expected, (day, result.report.headline)
    assert "wechatpay: statement missing" in late_week.first[LATE].report.problems
    # Day 3's WeChat ledger rows wait for the statement: in transit, and carried to day 4.
    waiting = answer_key(late_week.a, LATE).filter(pl.col("scenario").str.ends_with("/statement_missing"))
    assert waiting.height > 20 and set(waiting["source"]) == {"ledger"}, waiting
    assert set(waiting["outcome"]) == {"in_transit"}, waiting
    items = pl.read_parquet(late_week.first[LATE].reports_dir / "open_items.parquet")
    carried = items.filter((pl.col("opened_on") == LATE) & (pl.col("source") == "ledger"))
    lines = set(carried.filter(pl.col("channel") == "wechatpay")["source_line"])
    assert set(waiting["source_line"]) <= lines, sorted(set(waiting["source_line"]) - lines)


def test_a_late_statement_is_a_new_version_and_the_later_dates_rerun_to_the_complete_answer_key(
    late_week: LateWeek, tmp_path: Path
) -> None:
    data_dir = copy_of(late_week, tmp_path)
    rules, _ = load_rules(data_dir, None)
    old_run = late_week.first[LATE].report.run_id
    old_report = report_bytes(data_dir / "reports" / LATE.isoformat())
    day4_before = report_bytes(data_dir / "reports" / WEEK[3].isoformat())

    deliver_late_statement(late_week, data_dir)
    # Before anyone reruns it, verify sees the file that arrived since (and records nothing).
    code, out = verify(data_dir, LATE)
    assert code == EXIT_ERROR and "inputs: DIFFERENT: " in out and f"{wechat_bill(LATE)}: added" in out, out

    late = run_day(LATE, data_dir, rules)
    assert late.report.exit_code == EXIT_OK, late.report.headline
    assert_matches(expected_after_delivery(late_week, LATE), late, f"{LATE} with its late statement")
    # The old report is kept whole beside the new one, with the rows whose outcome changed.
    kept = data_dir / "reports" / ".versions" / LATE.isoformat() / old_run
    assert late.report.run_id != old_run and late.previous_version == kept
    assert kept_versions(data_dir, LATE) == [old_run]
    assert report_bytes(kept) == old_report
    listed = changes(kept, late.report.run_id)
    assert listed == key_changes(answer_key(late_week.a, LATE), expected_after_delivery(late_week, LATE))
    assert late.changed_rows == len(listed) > 50  # the day's WeChat rows: the statement's and the ledger's
    # Days 4 and 5 were reconciled on the old version: stale, and said so, until they run again.
    assert late.stale_dates == STALE_LATER
    because = stale_because(LATE, late.report.run_id, old_run)
    assert stale_marks(data_dir, WEEK) == {**dict.fromkeys(WEEK[:3]), WEEK[3]: because, WEEK[4]: because}
    code, out = verify(data_dir, WEEK[3])
    assert f"STALE: {because}" in out, out
    # ... and what day 4 would become: the two rows the late statement reaches (see below).
    assert code == EXIT_ERROR and "rows: 2 rows differ" in out, out
    assert report_bytes(data_dir / "reports" / WEEK[3].isoformat()) == day4_before  # verify wrote nothing

    fourth = run_day(WEEK[3], data_dir, rules)
    # Day 4 read another history, so its rerun is a new version, and day 5 is now stale because of it.
    assert fourth.previous_version is not None and fourth.stale_dates == (WEEK[4],)
    assert stale_marks(data_dir, WEEK)[WEEK[3]] is None
    assert stale_marks(data_dir, WEEK)[WEEK[4]] == stale_because(WEEK[3], fourth.report.run_id,
                                                                 late_week.first[WEEK[3]].report.run_id)
    # Day 4 against the complete week's key, but for one bank row. A's day-4 bank file credits day 3's
    # WeChat net exactly (A's planned payout mismatch went to day 3); the first run could not check it
    # (day 3's bill unread: in transit), now day 3's settlement is recorded and it is matched. B's key
    # says amount_mismatch there because B's file credits 1.00 less.
    expected = expected_after_delivery(late_week, WEEK[3])
    payout = pl.col("scenario") == "payout_statement_not_reconciled"
    assert expected.filter(payout).select("source", "outcome").rows() == [("bank", "in_transit")]
    assert_matches(overridden(expected, payout, "matched"), fourth, f"{WEEK[3]} after its stale rerun")
    # The rows that changed since the first run: that payout, and the ledger row booked after midnight
    # whose WeChat row was on the late statement (missing_in_channel without it, now resolved_late).
    after_midnight = answer_key(late_week.a, WEEK[3]).filter(
        (pl.col("scenario") == "cross_midnight_channel_first") & (pl.col("outcome") == "missing_in_channel")
    )
    assert after_midnight["source"].to_list() == ["ledger"], after_midnight
    assert key_changes(late_week.first[WEEK[3]].outcomes(), fourth.outcomes()) == {
        ("ledger", after_midnight["source_file"][0], after_midnight["source_line"][0], "missing_in_channel",
         "resolved_late"),
        ("bank", bank_file(WEEK[3]), expected.filter(payout)["source_line"][0], "in_transit", "matched"),
    }  # fmt: skip

    fifth = run_day(WEEK[4], data_dir, rules)
    assert_matches_key(late_week.b, WEEK[4], fifth)  # A's and B's day 5 are the same files
    assert set(stale_marks(data_dir, WEEK).values()) == {None}


def test_a_stale_date_whose_outcomes_change_on_its_rerun_keeps_its_old_report(
    late_week: LateWeek, tmp_path: Path
) -> None:
    data_dir = copy_of(late_week, tmp_path)
    rules, _ = load_rules(data_dir, None)
    first = late_week.first[WEEK[3]]
    before = report_bytes(data_dir / "reports" / WEEK[3].isoformat())
    deliver_late_statement(late_week, data_dir)
    run_day(LATE, data_dir, rules)
    fourth = run_day(WEEK[3], data_dir, rules)
    changed = key_changes(first.outcomes(), fourth.outcomes())
    assert len(changed) == 2, changed  # the rerun did change day 4's outcomes
    # Nothing overwritten in silence (README): the report the first run published stays readable.
    assert fourth.previous_version is not None, "day 4's first report was replaced in place, not kept"
    assert report_bytes(fourth.previous_version) == before
    assert fourth.changed_rows == 2 and changes(fourth.previous_version, fourth.report.run_id) == changed


def test_a_date_run_on_a_stale_dates_history_stays_stale(late_week: LateWeek, tmp_path: Path) -> None:
    data_dir = copy_of(late_week, tmp_path)
    rules, _ = load_rules(data_dir, None)
    deliver_late_statement(late_week, data_dir)
    run_day(LATE, data_dir, rules)
    fifth = run_day(WEEK[4], data_dir, rules)  # out of order: day 4 is still stale
    items = pl.read_parquet(fifth.reports_dir / "open_items.parquet")
    matched_on_day_3 = items.filter(
        (pl.col("opened_on") == LATE) & (pl.col("source") == "ledger") & (pl.col("channel") == "wechatpay")
    )
    assert matched_on_day_3.height > 20  # rows day 3's rerun matched, still carried as open by day 4's stale items
    assert stale_marks(data_dir, WEEK)[WEEK[4]] is not None, "day 5 reported current on day 4's stale history"
    run_day(WEEK[3], data_dir, rules)
    assert stale_marks(data_dir, WEEK)[WEEK[4]] is not None, "day 5 not marked stale by day 4's rerun"


# -- the re-issued statement -----------------------------------------------------------------------------


def lower_one_payment(inbox: Path, key: pl.DataFrame) -> tuple[str, int]:
    """Re-issue the day's WeChat bill with its first plainly matched payment 1.00 lower, footer re-added.

    Returns the payment's transaction id and its line.
    """
    bill = key.filter(
        (pl.col("source") == "channel") & pl.col("source_file").str.starts_with("wechatpay/")
        & (pl.col("scenario") == "payment") & (pl.col("outcome") == "matched")
    ).row(0, named=True)  # fmt: skip
    path = inbox / bill["source_file"]
    text = TextFile.load(path.read_bytes(), "utf-8")
    index = bill["source_line"] - 1  # physical lines are 1-based, the header is line 1
    values = wechat_fields(text.lines[index])
    assert (values[W_TXN], values[W_STATUS]) == (bill["key"], "SUCCESS"), values
    for column in (W_AMOUNT, W_ORDER_AMOUNT):  # no coupon on a plain payment: 应结订单金额 = 订单金额
        values[column] = str(Decimal(values[column]) - Decimal("1.00"))
    text.lines[index] = wechat_line(values)
    wechat_refoot(text)
    path.write_bytes(text.dump())
    return bill["key"], bill["source_line"]


def test_a_reissued_statement_is_a_new_version_naming_the_changed_pair_and_later_dates_are_stale(
    tmp_path: Path,
) -> None:
    generate(tmp_path, start=CLEAN[0], days=len(CLEAN), seed=SEED, rows_per_channel=ROWS,
             quarantined_rows=False)  # fmt: skip
    rules, _ = load_rules(tmp_path, None)
    first = []
    for day in CLEAN:
        first.append(run_day(day, tmp_path, rules))
        assert_matches_key(tmp_path, day, first[-1])
        assert first[-1].report.exit_code == EXIT_OK, first[-1].report.headline
    old_run = first[1].report.run_id
    old_report = report_bytes(first[1].reports_dir)
    # With three days the generator plans its payout amount_mismatch on day 3: the bank credited
    # day 2's WeChat net less 1.00. The re-issue below is the channel's correction that explains it.
    third_key = answer_key(tmp_path, CLEAN[2])
    payout = third_key.filter(pl.col("scenario") == "payout_amount_mismatch")
    assert payout.select("source", "outcome").rows() == [("bank", "amount_mismatch")]

    txn, line = lower_one_payment(tmp_path / "inbox" / REISSUED.isoformat(), answer_key(tmp_path, REISSUED))
    old = first[1].outcomes()
    entry = old.filter((pl.col("source") == "ledger") & (pl.col("channel_txn_id") == txn))
    assert entry.height == 1, entry
    ledger = entry.row(0, named=True)

    # Before the rerun, verify names the changed file and the two rows it changes (recording nothing).
    code, out = verify(tmp_path, REISSUED)
    assert code == EXIT_ERROR and f"inputs: DIFFERENT: {wechat_bill(REISSUED)}: changed" in out, out
    assert "rows: 2 rows differ" in out and "recorded matched -> rerun amount_mismatch" in out, out
    assert kept_versions(tmp_path, REISSUED) == []

    again = run_day(REISSUED, tmp_path, rules)
    kept = tmp_path / "reports" / ".versions" / REISSUED.isoformat() / old_run
    assert again.report.run_id != old_run and again.previous_version == kept
    assert report_bytes(kept) == old_report
    assert changes(kept, again.report.run_id) == {
        ("channel", wechat_bill(REISSUED), line, "matched", "amount_mismatch"),
        ("ledger", ledger["source_file"], ledger["source_line"], "matched", "amount_mismatch"),
    }
    assert again.changed_rows == 2
    pair = pl.col("key").is_in([txn, ledger["entry_id"]])
    assert_matches(
        overridden(answer_key(tmp_path, REISSUED), pair, "amount_mismatch"), again, f"{REISSUED} re-issued"
    )
    because = stale_because(REISSUED, again.report.run_id, old_run)
    assert again.stale_dates == (CLEAN[2],)
    assert stale_marks(tmp_path, CLEAN) == {CLEAN[0]: None, CLEAN[1]: None, CLEAN[2]: because}

    # The same inputs once more: the same run, byte-identical outputs, no new version, day 3 still stale.
    reissued_report = report_bytes(again.reports_dir)
    same = run_day(REISSUED, tmp_path, rules)
    assert (same.report.run_id, same.previous_version, same.changed_rows, same.stale_dates) == (
        again.report.run_id, None, 0, ()
    )  # fmt: skip
    assert report_bytes(same.reports_dir) == reissued_report
    assert kept_versions(tmp_path, REISSUED) == [old_run]
    assert stale_marks(tmp_path, CLEAN)[CLEAN[2]] == because
    code, out = verify(tmp_path, REISSUED)
    assert code == EXIT_OK and "inputs: the same files, byte for byte" in out, out
    code, out = verify(tmp_path, CLEAN[2])
    assert f"STALE: {because}" in out, out
    assert code == EXIT_ERROR and "rows: 1 row differs" in out, out  # what its rerun will change:
    assert "recorded amount_mismatch -> rerun matched" in out, out  # the payout (below)

    # Day 3 run again: current, and the payout now equals day 2's corrected net.
    third = run_day(CLEAN[2], tmp_path, rules)
    assert stale_marks(tmp_path, CLEAN)[CLEAN[2]] is None
    expected = overridden(third_key, pl.col("scenario") == "payout_amount_mismatch", "matched")
    assert_matches(expected, third, f"{CLEAN[2]} after {REISSUED} was re-issued")
