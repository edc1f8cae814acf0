"""The velocity signal fires in the daily run on the buyer a statement names, and the buyer id stays in the run.

A generated WeChat day is edited so that one openid (用户标识) pays 25 times within about 8 minutes
(their 交易时间 moved to 10:00:00, 10:00:20, ...; amounts and the summary untouched). The run of that
day raises ``VELOCITY`` in ``risk.parquet`` and on the Risk sheet, naming those 25 lines; the openid
itself is in no file of any report folder nor in any table of the warehouse (only its keyed hash, in
``risk_party``); the next date's history gives those rows their hash, time and status; a rerun of the
date after the next one gives the same ``risk.parquet`` bytes.
"""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from openpyxl import load_workbook

from flows.config import load_rules
from flows.reconcile import RunResult
from flows.warehouse import open_warehouse
from sample_data.generate import generate
from tests.helpers import run_day

pytestmark = pytest.mark.usefixtures("prefect_harness")

START = date(2026, 3, 2)
DAY = START + timedelta(days=1)
OPENID = "oVELOCITYtestBuyer000000q25Z"  # o + 27 characters, like a real openid
PAYMENTS = 25


def _inject(root: Path) -> list[int]:
    """Give 25 SUCCESS payment lines of DAY's WeChat bill (no duplicate: answer key) one openid and times 20 s apart.

    Returns their line numbers.
    """
    (bill,) = (root / "inbox" / DAY.isoformat() / "wechatpay").glob("wechatpay_tradebill_*.csv")
    text = bill.read_bytes().decode("utf-8")
    lines = text.split("\r\n") if "\r\n" in text else text.split("\n")
    newline = "\r\n" if "\r\n" in text else "\n"
    header = lines[0].lstrip("\ufeff").split(",")
    at, buyer, state = header.index("交易时间"), header.index("用户标识"), header.index("交易状态")
    answers = pl.read_csv(root / "answers" / f"{DAY.isoformat()}.csv", infer_schema=False)
    not_transactions = {  # a duplicate is a finding, not a transaction: it counts for no velocity
        int(line) for line in answers.filter(
            pl.col("source_file") == f"wechatpay/{bill.name}", pl.col("outcome").is_in(["duplicate", "quarantined"])
        )["source_line"]
    }  # fmt: skip
    changed: list[int] = []
    for index, line in enumerate(lines[1:], start=1):
        fields = line.split(",")
        if len(fields) != len(header) or fields[state] != "`SUCCESS" or len(changed) == PAYMENTS:
            continue
        if index + 1 in not_transactions:
            continue
        when = datetime(DAY.year, DAY.month, DAY.day, 10, 0, 0) + timedelta(seconds=20 * len(changed))
        fields[at], fields[buyer] = f"`{when:%Y-%m-%d %H:%M:%S}", f"`{OPENID}"
        lines[index] = ",".join(fields)
        changed.append(index + 1)  # physical line numbers start at 1 with the header
    assert len(changed) == PAYMENTS, "the generated bill has fewer SUCCESS payments than the test needs"
    bill.write_bytes(newline.join(lines).encode("utf-8"))
    return changed


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[int], list[RunResult]]:
    root = tmp_path_factory.mktemp("buyer-velocity")
    generate(root, start=START, days=3, seed=3, rows_per_channel=60, quarantined_rows=False)
    lines = _inject(root)
    rules, _ = load_rules(root, None)
    return root, lines, [run_day(START + timedelta(days=n), root, rules) for n in range(3)]  # type: ignore[misc]


def _velocity(result: RunResult) -> pl.DataFrame:
    return pl.read_parquet(result.reports_dir / "risk.parquet").filter(pl.col("rule") == "VELOCITY")


def test_velocity_fires_on_the_buyer_and_names_the_rows(runs: tuple[Path, list[int], list[RunResult]]) -> None:
    _, lines, results = runs
    velocity = _velocity(results[1])
    assert velocity.height == 1
    signal = velocity.row(0, named=True)
    assert signal["channel"] == "wechatpay" and signal["value"] == PAYMENTS and signal["row_count"] == PAYMENTS
    assert signal["subject"].startswith("buyer #") and OPENID not in signal["subject"]
    places = signal["rows"].split(", ")
    assert [int(place.rsplit(":", 1)[1]) for place in places] == lines
    assert all(place.startswith("wechatpay/") for place in places)
    # the Risk sheet shows it (with the rows behind it)
    book = load_workbook(io.BytesIO((results[1].reports_dir / f"recon_{DAY.isoformat()}.xlsx").read_bytes()))
    cells = [" ".join(str(c) for c in row if c is not None) for row in book["风险信号"].iter_rows(values_only=True)]
    shown = [text for text in cells if "VELOCITY" in text or "buyer #" in text]
    assert shown and places[0] in shown[0]
    # the other days have no such buyer
    assert _velocity(results[0]).height == 0 and _velocity(results[2]).height == 0


def _texts_of(path: Path) -> list[str]:
    """Every text a report file holds: its bytes, the members of an xlsx, the string cells of a Parquet file."""
    data = path.read_bytes()
    texts = [data.decode("utf-8", errors="replace")]
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as book:
            texts += [book.read(name).decode("utf-8", errors="replace") for name in book.namelist()]
    if path.suffix == ".parquet":
        frame = pl.read_parquet(path)
        texts += [frame.select(pl.col(pl.String)).write_csv()]
    return texts


def test_the_openid_is_in_no_output_and_no_warehouse_table(runs: tuple[Path, list[int], list[RunResult]]) -> None:
    root, _, results = runs
    (bill,) = (root / "inbox" / DAY.isoformat() / "wechatpay").glob("wechatpay_tradebill_*.csv")
    assert any(OPENID in text for text in _texts_of(bill))  # the search below does find it where it is
    files = [path for path in (root / "reports").rglob("*") if path.is_file()]
    assert {"outcomes.parquet", "discrepancies.csv", "risk.parquet", f"recon_{DAY.isoformat()}.xlsx"} <= {
        path.name for path in files
    }
    for path in files:
        assert not any(OPENID in text for text in _texts_of(path)), path
    # the spill files that held it went with the run's work folder
    assert not [path for path in (root / "work").rglob("*") if path.is_file() and path.suffix == ".parquet"]
    dump = root.parent / f"{root.name}-warehouse-dump"
    dump.mkdir()
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        tables = [name for (name,) in con.execute("select table_name from information_schema.tables").fetchall()]
        assert "risk_party" in tables
        for table in tables:
            out = dump / f"{table}.csv"
            con.execute(f"copy {table} to '{out}' (header)")  # noqa: S608 - names from the catalog
            assert OPENID not in out.read_text(encoding="utf-8"), table
        busiest = con.execute(
            "select count(*), length(party_hash), min(occurred_at), max(occurred_at) from risk_party "
            "where recon_date = ? group by party_hash order by count(*) desc limit 1",
            [DAY],
        ).fetchall()[0]
    # one buyer (sha256 hex), 10:00 .. 10:08 Beijing = 02:00 .. 02:08 UTC
    assert busiest == (PAYMENTS, 64, datetime(2026, 3, 3, 2, 0, tzinfo=UTC), datetime(2026, 3, 3, 2, 8, tzinfo=UTC))
    assert oct((root / "risk.key").stat().st_mode & 0o777) == "0o600"


def test_the_next_date_reads_the_hash_time_and_status_from_the_history(
    runs: tuple[Path, list[int], list[RunResult]],
) -> None:
    root, lines, _ = runs
    with open_warehouse(root / "warehouse.duckdb", read_only=True) as warehouse:
        recorded = warehouse.risk_history(START, DAY + timedelta(days=1))
    assert recorded is not None
    rows = recorded[0].filter(pl.col("business_date") == DAY, pl.col("channel") == "wechatpay")
    buyer = rows.filter(pl.col("source_line").is_in(lines))
    assert buyer.height == PAYMENTS and buyer["party_hash"].n_unique() == 1
    assert buyer["party"].null_count() == PAYMENTS and (buyer["status"] == "succeeded").all()
    assert buyer["occurred_at"].min() == datetime(DAY.year, DAY.month, DAY.day, 2, 0, tzinfo=UTC)  # 10:00 Beijing
    # as of D: the history of DAY reads nothing of DAY itself nor later
    with open_warehouse(root / "warehouse.duckdb", read_only=True) as warehouse:
        before = warehouse.risk_history(START, DAY)
    assert before is not None and before[0]["business_date"].max() == START


def test_a_rerun_of_the_day_after_the_next_gives_the_same_bytes(
    runs: tuple[Path, list[int], list[RunResult]],
) -> None:
    root, _, results = runs
    before = (results[1].reports_dir / "risk.parquet").read_bytes()

    def recorded() -> list[tuple[object, ...]]:
        with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
            return con.execute("select * exclude (run_id) from risk_party where recon_date = ? "
                               "order by source_file, source_line", [DAY]).fetchall()  # fmt: skip

    kept = recorded()
    rules, _ = load_rules(root, None)
    again = run_day(DAY, root, rules)
    assert (again.reports_dir / "risk.parquet").read_bytes() == before  # type: ignore[attr-defined]
    assert again.report.run_id == results[1].report.run_id  # type: ignore[attr-defined]
    assert recorded() == kept and len(kept) >= PAYMENTS  # replaced on the rerun, never appended
