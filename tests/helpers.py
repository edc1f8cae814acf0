"""Worked-example helpers: build typed canonical frames from small pipe tables (STYLE point 12)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import polars as pl

from schemas.canonical import BankTxn, ChannelTxn, LedgerEntry, empty_frame

D = date(2026, 3, 2)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def table(text: str) -> list[dict[str, str]]:
    """Parse ``a|b\\n1|2`` into dicts of strings; blank cells become empty strings."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    header = [h.strip() for h in lines[0].split("|")]
    return [dict(zip(header, (v.strip() for v in line.split("|")), strict=True)) for line in lines[1:]]


def _typed(rows: list[dict[str, object]], model: type) -> pl.DataFrame:
    schema = dict(empty_frame(model).schema)
    extras = {key: pl.String() for row in rows for key in row if key not in schema}
    return pl.DataFrame(rows, schema={**schema, **extras})


def channel_frame(text: str, **defaults: object) -> pl.DataFrame:
    """Channel rows; columns not in the table take WeChat-payment defaults."""
    rows = []
    for i, cells in enumerate(table(text), start=2):
        row: dict[str, object] = {
            "channel": "wechatpay", "merchant_account": "1734502688", "channel_txn_id": None,
            "order_no": None, "original_txn_id": None, "kind": "payment", "amount_minor": 0,
            "fee_minor": 0, "fee_exact": Decimal(0), "order_amount_minor": None, "discount_minor": None,
            "currency": "CNY", "settle_amount_minor": None, "settle_currency": None, "fx_rate": None,
            "occurred_at": datetime(2026, 3, 2, 2, 0, tzinfo=UTC), "settle_date": D,
            "status": "succeeded", "status_detail": None, "buyer_id": None, "source_file": "wechatpay/bill.csv",
            "source_line": i,
        }
        row.update(defaults)
        for key, value in cells.items():
            if key in ("amount_minor", "fee_minor", "source_line"):
                row[key] = int(value)
            elif key == "settle_amount_minor":
                row[key] = int(value) if value else None
            elif key == "fx_rate":
                row[key] = Decimal(value) if value else None
            else:
                row[key] = value or None
        rows.append(row)
    return _typed(rows, ChannelTxn)


def ledger_frame(text: str, **defaults: object) -> pl.DataFrame:
    """Ledger rows; ``booked`` is a local Asia/Shanghai ``HH:MM`` on D when given."""
    rows = []
    for i, cells in enumerate(table(text), start=2):
        row: dict[str, object] = {
            "entry_id": f"LE{i}", "order_no": None, "payment_id": None, "channel": "wechatpay",
            "channel_txn_id": None, "kind": "payment", "amount_minor": 0, "currency": "CNY",
            "status": "succeeded", "booked_at": datetime(2026, 3, 2, 2, 0, tzinfo=UTC),
            "business_date": D, "source_file": "ledger/ledger.csv", "source_line": i,
        }
        row.update(defaults)
        for key, value in cells.items():
            if key in ("amount_minor", "source_line"):
                row[key] = int(value)
            elif key == "booked":  # local Asia/Shanghai HH:MM on D
                hh, mm = (int(x) for x in value.split(":"))
                row["booked_at"] = datetime(2026, 3, 2, hh, mm, tzinfo=SHANGHAI).astimezone(UTC)
            else:
                row[key] = value or None
        rows.append(row)
    return _typed(rows, LedgerEntry)


def bank_frame(text: str, **defaults: object) -> pl.DataFrame:
    """Bank rows from a table with ``amount_minor`` and ``reference``; ``defaults`` for other columns."""
    rows = []
    for i, cells in enumerate(table(text), start=1):
        row: dict[str, object] = {
            "account": "6200881234", "booking_date": date(2026, 3, 3), "value_date": date(2026, 3, 3),
            "amount_minor": 0, "currency": "CNY", "counterparty": None, "reference": None, "bank_ref": f"REF{i}",
            "source_file": "bank/camt.xml", "source_line": 10 * i,
        }
        row.update(defaults)
        for key, value in cells.items():
            row[key] = int(value) if key == "amount_minor" else (value or None)
        rows.append(row)
    return _typed(rows, BankTxn)


def run_day(business_date: date, data_dir: object, rules: object, **kwargs: object) -> object:
    """Run the daily flow once (the caller's test module uses the ``prefect_harness`` fixture)."""
    from flows.reconcile import reconcile_day

    return reconcile_day(business_date, data_dir, rules, **kwargs)
