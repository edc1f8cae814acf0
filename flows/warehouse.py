"""The DuckDB warehouse: the only module that opens ``<data-dir>/warehouse.duckdb`` (STYLE point 10).

Tables carry a layer prefix; `recon_date` is the business date of the run that wrote the row. A run of date D replaces D's rows in one
transaction (a rerun never appends twice); history is read *as of D−1*, so rerunning an old date
never depends on later dates. Values always go through ``?`` parameters; table names come from the
constants below, never from input.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl

from flows.faults import crash_point

#: Tables replaced per business date, in load order. Names are code constants (never input).
DAY_TABLES = (
    "raw_input_file",
    "outcome_row",
    "settlement_line",
    "quarantine_entry",
    "open_item",
    "risk_party",
)

RUN_TABLE_SQL = """
create table if not exists run_log (
    run_id varchar, business_date date, started_at timestamptz, finished_at timestamptz,
    exit_code integer, code_version varchar, rules_hash varchar, outputs_json varchar
)
"""


DECISION_TABLE_SQL = """
create table if not exists decision (
    decision_id varchar primary key, decided_at timestamptz, decided_by varchar, effective_date date,
    opened_on date, source varchar, source_file varchar, source_line bigint, action varchar, reason varchar,
    account varchar, counterpart varchar, undoes varchar
)
"""


STALE_TABLE_SQL = "create table if not exists stale_date (business_date date, because varchar)"


class WarehouseError(RuntimeError):
    """A warehouse statement failed; the message names the step and the business date."""


class WarehouseBusy(RuntimeError):  # noqa: N818 - an expected stop, reported with exit code 2
    """Another process holds the warehouse file (a concurrent run): this one cannot run now."""


class Warehouse:
    """A connection to the warehouse file, locked down: no external access, no extension loading."""

    def __init__(self, path: Path, *, readable: tuple[Path, ...] = (), read_only: bool = False) -> None:
        """Open (or create) the warehouse file.

        Args:
            path: ``<data-dir>/warehouse.duckdb``.
            readable: folders whose Parquet files a load may read (the run's work and staging
                folders); nothing else on disk is reachable from SQL.
            read_only: open an existing file for reading only (``trace``, ``verify``, the history of
                a run): nothing is created or changed.
        """
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.read_only = read_only
        try:
            self.con = duckdb.connect(
                str(path), read_only=read_only,
                config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
            )  # fmt: skip
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            raise WarehouseBusy(f"{path} is in use by another process (another recon run?): {exc}") from None
        if readable:
            self.con.execute("set allowed_directories = ?", [[str(folder) + "/" for folder in readable]])
        self.con.execute("set enable_external_access = false")
        self.con.execute("set TimeZone = 'UTC'")
        self.con.execute("set lock_configuration = true")
        if not read_only:
            self.con.execute(RUN_TABLE_SQL)
            for column in ("inputs_json", "outcome_counts_json"):  # a warehouse written before they existed
                self.con.execute(f"alter table run_log add column if not exists {column} varchar")
            if self._has_table("settlement_line"):  # written before settlement lines had these columns
                for column in ("other_minor", "withdrawn_minor"):
                    self.con.execute(f"alter table settlement_line add column if not exists {column} bigint")

    def close(self) -> None:
        """Close the connection (the file lock is released)."""
        self.con.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, step: str, business_date: date, sql: str, params: list[object] | None = None) -> None:
        try:
            self.con.execute(sql, params or [])
        except duckdb.Error as exc:
            raise WarehouseError(f"warehouse step {step!r} for {business_date}: {exc}") from exc

    def replace_day(
        self, business_date: date, run_id: str, frames: dict[str, pl.DataFrame | list[str] | None]
    ) -> None:
        """Replace every row of ``business_date`` in the day tables, atomically (one transaction).

        Args:
            business_date: D.
            run_id: the run that produced the rows.
            frames: table name (one of DAY_TABLES) → rows, as a frame or as Parquet files (loaded by
                DuckDB without passing through Python); each row gets ``recon_date`` and ``run_id``.
                A table given None is left as it is.
        """
        unknown = set(frames) - set(DAY_TABLES)
        if unknown:
            raise ValueError(f"not warehouse tables: {sorted(unknown)}")
        self._run("begin", business_date, "begin transaction")
        try:
            for table in DAY_TABLES:
                rows = frames.get(table)
                if rows is None:
                    continue
                if isinstance(rows, list) and not rows:
                    if self._has_table(table):
                        self._run(f"delete {table}", business_date,
                                  f"delete from {table} where recon_date = ?", [business_date])  # noqa: S608
                    continue
                self._load(table, business_date, run_id, rows)
            crash_point("before_warehouse_commit")
            self._run("commit", business_date, "commit")
        except Exception:
            self.con.execute("rollback")
            raise
        # Write the committed rows into the database file now: a full disk shows here, as this run's
        # failure (its report is not switched in), not silently at close or in a later run.
        self._run("checkpoint", business_date, "checkpoint")

    def _load(self, table: str, business_date: date, run_id: str, rows: pl.DataFrame | list[str]) -> None:
        """Replace ``table``'s rows of ``business_date`` by ``rows`` (inside the caller's transaction)."""
        params: list[object] = [business_date, run_id]
        if isinstance(rows, pl.DataFrame):
            self.con.register("incoming", rows)
            source = "incoming"
        else:
            source = "(select * exclude (row_id) from read_parquet(?, union_by_name = true))"
            first = self.con.execute("select * from read_parquet(?) limit 0", [sorted(rows)[:1]]).description or []
            if "row_id" not in {column[0] for column in first}:
                source = "read_parquet(?, union_by_name = true)"
            params.append(sorted(rows))
        try:
            self._run(
                f"create {table}", business_date,
                f"create table if not exists {table} as "  # noqa: S608 - identifiers from this module
                f"select ?::date as recon_date, ?::varchar as run_id, * from {source} limit 0",
                params,
            )  # fmt: skip
            self._run(f"delete {table}", business_date, f"delete from {table} where recon_date = ?", [business_date])  # noqa: S608
            self._run(
                f"load {table}", business_date,
                f"insert into {table} by name "  # noqa: S608 - identifiers from this module
                f"select ?::date as recon_date, ?::varchar as run_id, * from {source}",
                params,
            )  # fmt: skip
        finally:
            if isinstance(rows, pl.DataFrame):
                self.con.unregister("incoming")

    def record_day(
        self,
        business_date: date,
        run_id: str,
        *,
        files: pl.DataFrame | None,
        outcomes: str,
        settlement: pl.DataFrame,
        quarantine: pl.DataFrame,
        open_items: str | None = None,
        risk_party: str | None = None,
    ) -> None:
        """Keep one run of ``business_date``: inputs, outcome rows, settlement, quarantine, open items.

        ``risk_party``: the Parquet file of the day's buyer rows (``transforms.risk.RISK_PARTY_COLUMNS``:
        file, line, the keyed hash of the buyer id, the channel's time and status), for the risk signals
        of later dates; the raw id is never in it, nor anywhere in the warehouse.

        Every input row is in ``outcome_row`` with its ids, amounts, outcome, file and line (the run's
        canonical rows live in its work folder only: what history needs is what the run concluded).
        Rows are loaded from the run's Parquet file by DuckDB, in one transaction: a rerun replaces
        the date, never appends.
        """
        self.replace_day(
            business_date, run_id,
            {"raw_input_file": files, "outcome_row": [outcomes], "settlement_line": settlement,
             "quarantine_entry": quarantine, "open_item": [open_items] if open_items else None,
             "risk_party": [risk_party] if risk_party else None},
        )  # fmt: skip

    def _frame(self, sql: str, params: list[object]) -> pl.DataFrame:
        """Run a query with bound parameters and return its rows as a Polars frame (fully fetched)."""
        return self.con.sql(sql, params=params or None).pl()

    def _has_table(self, table: str) -> bool:
        rows = self.con.execute(
            "select count(*) from information_schema.tables where table_name = ?", [table]
        ).fetchall()
        return bool(rows[0][0])

    def settlement_history(self, business_date: date) -> pl.DataFrame | None:
        """Settlement lines recorded by runs of dates before D, for their own date (state as of D−1)."""
        if not self._has_table("settlement_line"):
            return None
        return self._frame(
            "select * exclude (recon_date, run_id) from settlement_line "
            "where recon_date < ? and settlement_date = recon_date "
            "order by settlement_date, channel, merchant_account, currency",
            [business_date],
        )

    def open_items_before(self, business_date: date) -> pl.DataFrame | None:
        """The open items as they stood after the last run of a date before D (none: None).

        The last run's date comes from ``run_log`` (a run that left nothing open left no rows). Never
        later state: a rerun of D reads what was open after D−1 (or the last date run before
        it), whatever dates ran since.
        """
        if not self._has_table("open_item"):
            return None
        return self._frame(
            "select * exclude (recon_date, run_id) from open_item "
            "where recon_date = (select max(business_date) from run_log where business_date < ?) "
            "order by opened_on, source, source_file, source_line, channel, merchant_account, currency",
            [business_date],
        )

    def earlier_channel_rows(self, first: date, business_date: date, wanted: pl.DataFrame) -> pl.DataFrame | None:
        """Channel payments and refunds recorded for the dates ``first`` .. D−1 that share a key with ``wanted``.

        ``wanted (channel, order_no, channel_txn_id)``: the day's keys (few: refunds and unmatched rows).
        Duplicates and quarantined rows are no transactions and are left out. State as of D−1: later
        dates are never read.
        """
        if not self._has_table("outcome_row"):
            return None
        self.con.register("wanted_keys", wanted)
        try:
            return self._frame(
                """
                with recent as (
                    select recon_date as business_date, channel, kind, channel_txn_id, order_no, amount_minor,
                           currency, source_file, source_line
                    from outcome_row
                    where recon_date >= ? and recon_date < ? and source = 'channel'
                          and outcome not in ('duplicate', 'quarantined') and kind in ('payment', 'refund')
                )
                select * from recent semi join wanted_keys w using (channel, order_no)
                union
                select * from recent semi join wanted_keys w using (channel, channel_txn_id)
                order by business_date, source_file, source_line
                """,
                [first, business_date],
            )
        finally:
            self.con.unregister("wanted_keys")

    def risk_history(self, first: date, business_date: date) -> tuple[pl.DataFrame, pl.DataFrame] | None:
        """The history the risk signals read (``transforms.risk``), as of D−1: dates ``first`` .. D−1.

        Returns ``(rows, payouts)``: the channel payments and refunds recorded for those dates
        (duplicates and quarantined rows left out), a row whose statement named its buyer with the
        keyed hash, channel time and status its run kept in ``risk_party`` (the raw id is never kept:
        ``party`` is null), and every settlement line their runs recorded. None: no history yet. Later
        dates are never read.
        """
        if not self._has_table("outcome_row") or not self._has_table("settlement_line"):
            return None
        party = "risk_party" if self._has_table("risk_party") else (
            "(select null::date as recon_date, null::varchar as source_file, null::bigint as source_line, "
            "null::varchar as party_hash, null::timestamptz as occurred_at, null::varchar as status where false)"
        )  # fmt: skip
        rows = self._frame(
            f"""
            select o.recon_date as business_date, o.channel, o.kind, o.channel_txn_id, o.order_no, o.amount_minor,
                   o.fee_minor, o.currency, p.occurred_at, null::varchar as party, p.status, o.source_file,
                   o.source_line, o.expected_fee_minor, p.party_hash
            from outcome_row o left join {party} p
                 on p.recon_date = o.recon_date and p.source_file = o.source_file and p.source_line = o.source_line
            where o.recon_date >= ? and o.recon_date < ? and o.source = 'channel'
                  and o.outcome not in ('duplicate', 'quarantined') and o.kind in ('payment', 'refund')
            order by o.recon_date, o.source_file, o.source_line
            """,  # noqa: S608 - {party}: a table name of this module or constant SQL
            [first, business_date],
        )
        payouts = self._frame(
            "select recon_date, settlement_date, channel, currency, net_minor, payout_expected_minor, "
            "payout_received_minor, payout_status, bank_source_file, bank_source_line from settlement_line "
            "where recon_date >= ? and recon_date < ? order by recon_date, settlement_date, channel, currency, "
            "bank_source_file, bank_source_line",
            [first, business_date],
        )
        return rows, payouts

    def record_decisions(self, decisions: pl.DataFrame) -> None:
        """Append decisions (``transforms.decisions.DECISION_SCHEMA``), all or none; never changed after."""
        self.con.execute(DECISION_TABLE_SQL)
        self.con.register("incoming_decisions", decisions)
        try:
            self._run("begin", date.min, "begin transaction")
            self._run("record decisions", date.min, "insert into decision by name select * from incoming_decisions")
            self._run("commit", date.min, "commit")
        except Exception:
            self.con.execute("rollback")
            raise
        finally:
            self.con.unregister("incoming_decisions")
        self._run("checkpoint", date.min, "checkpoint")

    def decisions_until(self, business_date: date) -> pl.DataFrame | None:
        """Every decision effective on or before D (which of them are in force is decided in SQL)."""
        if not self._has_table("decision"):
            return None
        return self._frame(
            "select * from decision where effective_date <= ? order by decided_at, decision_id", [business_date]
        )

    def recorded_rows(self, targets: pl.DataFrame) -> pl.DataFrame:
        """The recorded outcome rows of ``targets`` (opened_on, source, source_file, source_line)."""
        if not self._has_table("outcome_row"):
            return pl.DataFrame()
        self.con.register("targets", targets.select("opened_on", "source", "source_file", "source_line"))
        try:
            return self._frame(
                "select t.opened_on, t.source, t.source_file, t.source_line, o.outcome, o.amount_minor, o.currency, "
                "o.match_rule, o.counterpart_file, o.counterpart_line, o.counterpart_date "
                "from targets t join outcome_row o on o.recon_date = t.opened_on and o.source = t.source "
                "and o.source_file = t.source_file and o.source_line = t.source_line",
                [],
            )
        finally:
            self.con.unregister("targets")

    def open_places(self, places: list[str], until: date) -> set[str]:
        """Which of ``places`` (``file:line``) name a recorded row left open (a discrepancy) on or before ``until``."""
        if not places or not self._has_table("outcome_row"):
            return set()
        self.con.register("places", pl.DataFrame({"place": places}, schema={"place": pl.String}))
        try:
            rows = self.con.execute(
                "select distinct p.place from places p join outcome_row o "
                "on p.place = o.source_file || ':' || o.source_line::varchar "
                "where o.recon_date <= ? and o.outcome not in ('matched', 'void', 'resolved_late')",
                [until],
            ).fetchall()
        finally:
            self.con.unregister("places")
        return {row[0] for row in rows}

    def decision(self, decision_id: str) -> dict[str, object] | None:
        """One recorded decision by id, or None."""
        if not self._has_table("decision"):
            return None
        rows = self._frame("select * from decision where decision_id = ?", [decision_id])
        return rows.row(0, named=True) if rows.height else None

    def record_run(
        self,
        *,
        run_id: str,
        business_date: date,
        started_at: datetime,
        finished_at: datetime,
        exit_code: int,
        code_version: str,
        rules_hash: str,
        outputs: dict[str, str],
        inputs: dict[str, str] | None = None,
        outcome_counts: dict[str, int] | None = None,
    ) -> None:
        """Append one run to ``run_log`` (wall-clock times live here, never in the report files).

        ``inputs``: source file → sha256 of what the run read; ``outcome_counts``: rows per outcome.
        """
        self._run(
            "record run", business_date,
            "insert into run_log (run_id, business_date, started_at, finished_at, exit_code, code_version, "
            "rules_hash, outputs_json, inputs_json, outcome_counts_json) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, business_date, started_at, finished_at, exit_code, code_version, rules_hash,
             json.dumps(outputs, sort_keys=True), json.dumps(inputs or {}, sort_keys=True, ensure_ascii=False),
             json.dumps(outcome_counts or {}, sort_keys=True)],
        )  # fmt: skip

    def last_run(self, business_date: date) -> dict[str, object] | None:
        """The most recent recorded run of ``business_date``, or None."""
        if not self._has_table("run_log"):
            return None
        rows = self.con.execute(
            "select run_id, exit_code, outputs_json from run_log where business_date = ? "
            "order by finished_at desc limit 1",
            [business_date],
        ).fetchall()
        if not rows:
            return None
        run_id, exit_code, outputs_json = rows[0]
        return {"run_id": run_id, "exit_code": exit_code, "outputs": json.loads(outputs_json)}

    def mark_later_dates_stale(self, business_date: date, because: str) -> list[date]:
        """Mark every date after D with a recorded run as stale (reconciled on an older version of D)."""
        if not self._has_table("run_log"):
            return []
        later = [row[0] for row in self.con.execute(
            "select distinct business_date from run_log where business_date > ? order by 1", [business_date]
        ).fetchall()]  # fmt: skip
        self.mark_stale(later, because)
        return later

    def mark_stale(self, dates: list[date], because: str) -> None:
        """Mark ``dates`` stale (their recorded run read a history that has changed since), saying why."""
        if dates:
            self.con.execute(STALE_TABLE_SQL)
            self.con.executemany("delete from stale_date where business_date = ?", [[day] for day in dates])
            self.con.executemany("insert into stale_date values (?, ?)", [[day, because] for day in dates])

    def stale_dates_before(self, business_date: date) -> list[date]:
        """The stale dates before D, in order."""
        if not self._has_table("stale_date"):
            return []
        rows = self.con.execute(
            "select distinct business_date from stale_date where business_date < ? order by 1", [business_date]
        ).fetchall()
        return [row[0] for row in rows]

    def stale_because(self, business_date: date) -> str | None:
        """Why D's recorded run is stale (an earlier date was reconciled again since), or None."""
        if not self._has_table("stale_date"):
            return None
        rows = self.con.execute("select because from stale_date where business_date = ?", [business_date]).fetchall()
        return str(rows[0][0]) if rows else None

    def clear_stale(self, business_date: date) -> None:
        """D was reconciled again: it is current."""
        if self._has_table("stale_date"):
            self._run("clear stale", business_date, "delete from stale_date where business_date = ?", [business_date])

    def input_files(self, business_date: date) -> dict[str, str]:
        """The inputs the recorded run of D read: source file → sha256."""
        if not self._has_table("raw_input_file"):
            return {}
        rows = self.con.execute(
            "select source_file, sha256 from raw_input_file where recon_date = ? order by source_file", [business_date]
        ).fetchall()
        return {str(name): str(digest) for name, digest in rows}

    def outcome_changes(self, business_date: date, outcomes: Path, examples: int = 10) -> tuple[int, list[tuple]]:
        """Rows whose outcome differs between the recorded run of D and ``outcomes`` (a rerun's Parquet file).

        Returns the number of rows that differ (or exist on one side only) and the first ``examples``
        of them as ``(source, source_file, source_line, recorded outcome, rerun outcome, amount_minor,
        currency)`` (the amount as recorded, else as rerun).
        """
        if not self._has_table("outcome_row"):
            return 0, []
        sql = """
            with recorded as (select source, source_file, source_line, outcome, amount_minor, currency
                              from outcome_row where recon_date = ?),
                 rerun as (select source, source_file, source_line, outcome, amount_minor, currency from read_parquet(?))
            select coalesce(r.source, n.source), coalesce(r.source_file, n.source_file),
                   coalesce(r.source_line, n.source_line), r.outcome, n.outcome,
                   coalesce(r.amount_minor, n.amount_minor), coalesce(r.currency, n.currency)
            from recorded r full join rerun n
              on r.source = n.source and r.source_file = n.source_file
             and r.source_line is not distinct from n.source_line
            where r.outcome is distinct from n.outcome
        """
        params: list[object] = [business_date, str(outcomes)]
        count = self.con.execute(f"select count(*) from ({sql})", params).fetchall()[0][0]  # noqa: S608 - constant
        rows = self.con.execute(f"{sql} order by 1, 2, 3 limit ?", [*params, examples]).fetchall()
        return int(count), [tuple(row) for row in rows]

    def trace(self, identifier: str) -> pl.DataFrame:
        """Every outcome row, on any date, whose channel id, order number, entry id or bank ref is ``identifier``."""
        if not self._has_table("outcome_row"):
            return pl.DataFrame()
        return self._frame(
            "select recon_date, source, source_file, source_line, channel, entry_id, channel_txn_id, "
            "order_no, kind, amount_minor, currency, outcome, detail, counterpart_file, counterpart_line "
            "from outcome_row where ? in (channel_txn_id, order_no, entry_id) "
            "order by recon_date, source, source_file, source_line",
            [identifier],
        )

    def rows_at(self, source_file: str, source_line: int) -> pl.DataFrame:
        """The outcome rows recorded for one input line ``source_file:source_line``, on any date."""
        if not self._has_table("outcome_row"):
            return pl.DataFrame()
        return self._frame(
            "select recon_date, source, source_file, source_line, channel, entry_id, channel_txn_id, "
            "order_no, kind, amount_minor, currency, outcome, detail, counterpart_file, counterpart_line "
            "from outcome_row where source_file = ? and source_line = ? order by recon_date, source",
            [source_file, source_line],
        )

    def payouts_paid_by(self, bank_file: str, bank_line: int) -> pl.DataFrame:
        """The (channel, settlement date) pairs whose payout a bank statement line carries, per recording run."""
        if not self._has_table("settlement_line"):
            return pl.DataFrame()
        return self._frame(
            "select distinct channel, settlement_date from settlement_line "
            "where bank_source_file = ? and bank_source_line = ? order by settlement_date, channel",
            [bank_file, bank_line],
        )

    def settlement_lines(self, channel: str, settlement_date: date) -> pl.DataFrame:
        """Every settlement line of ``channel``'s business date, in the order the runs recorded them.

        The run of that date records what its statements add up to (gross, refunds, fees, net, the
        payout expected); the run of a later date whose bank statement carries the payout (or should
        have: ``missing``) records it again with the amount received and the bank file and line.
        """
        if not self._has_table("settlement_line"):
            return pl.DataFrame()
        return self._frame(
            "select * from settlement_line where channel = ? and settlement_date = ? "
            "order by recon_date, merchant_account, currency",
            [channel, settlement_date],
        )

    def statement_rows(self, channel: str, business_date: date, limit: int) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The channel statement rows of ``business_date`` that a settlement line adds up.

        Returns ``(totals, first)``: per currency, kind and whether quarantined, the count and the sums
        of amounts and fees; and the first ``limit`` payment and refund rows that were not
        quarantined, in file order, with their outcome and counterpart.
        """
        if not self._has_table("outcome_row"):
            return pl.DataFrame(), pl.DataFrame()
        totals = self._frame(
            "select currency, kind, outcome = 'quarantined' as quarantined, count(*) as rows, "
            "sum(amount_minor)::bigint as amount_minor, sum(fee_minor)::bigint as fee_minor, "
            "string_agg(distinct source_file, ', ' order by source_file) as files "
            "from outcome_row where recon_date = ? and source = 'channel' and channel = ? "
            "and not starts_with(coalesce(kind, ''), 'flow_') "  # fund-flow lines: the channel's balance, not its statement
            "group by all order by all",
            [business_date, channel],
        )
        first = self._frame(
            "select source_file, source_line, kind, amount_minor, fee_minor, currency, outcome, "
            "counterpart_file, counterpart_line, counterpart_date from outcome_row "
            "where recon_date = ? and source = 'channel' and channel = ? "
            "and kind in ('payment', 'refund') and outcome <> 'quarantined' "
            "order by source_file, source_line limit ?",
            [business_date, channel, limit],
        )
        return totals, first


#: How long a run waits for another run's warehouse write to finish before giving up.
WAREHOUSE_WAIT_SECONDS = 600.0


def open_warehouse(
    path: Path, *, readable: tuple[Path, ...] = (), read_only: bool = False, wait_seconds: float = WAREHOUSE_WAIT_SECONDS
) -> Warehouse:
    """Open the warehouse, waiting while another run holds it (runs of other dates write briefly)."""
    from flows.locks import wait_for

    return wait_for(
        lambda: Warehouse(path, readable=readable, read_only=read_only),
        lambda exc: isinstance(exc, WarehouseBusy),
        seconds=wait_seconds,
    )
