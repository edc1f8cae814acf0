"""Columnar generator of one big benchmark business day (2026-03-02) in the real channel formats.

``sample_data/generate.py`` plans every row as a Python object and ``sample_data/render_statements.py``
renders the files line by line: exact, but about 80 s and several GB of RAM for 1M rows. The benchmark
needs 10M rows per side, so this module builds the same files *columnar*: every attribute of a row is a
pure function of ``(seed, global row index)`` computed with Polars expressions (a seeded splitmix64 in
wrapping ``UInt64`` arithmetic, stable across Polars versions), whole text lines are assembled with
``concat_str`` and written batch by batch (``batch_rows`` rows at a time) straight from Polars. There is
no per-row Python loop; only the control totals are carried between batches, as Python ints.

Generated under ``<cache_root>/<key>/inbox/2026-03-02/``:

* ``wechatpay/wechatpay_tradebill_ALL_20260302.csv``: the WeChat Pay trade bill (ALL), byte layout of
  ``render_statements.render_wechat`` (BOM, CRLF, backticks, 27 columns, summary whose totals are the
  sums of the detail lines);
* ``alipay/20886413579246800156_20260302.csv.zip`` (with ``alipay`` in ``channels``): the 业务明细 and
  业务明细(汇总) members in GBK with GBK member names, as ``render_alipay_detail`` / ``render_alipay_summary``
  / ``render_zip`` (the detail member is streamed into the zip, zip64 only when it may pass 2 GiB);
* ``ledger/ledger_20260302.csv`` or ``.parquet``: one ledger row per channel row (booked 2-9 s before
  it), sorted by ``booked_at``, plus 1 % ledger-only rows, 1 % of channel rows left out, a few amounts
  off by 0.01 and a few duplicated entries;
* ``bank/camt053_20260302.xml``: a small camt.053 (``render_camt053``) with the WeChat (and Alipay)
  payout of 2026-03-01 and some noise.

The channel rows of a channel: row ``i`` is at ``00:30:09 + i × span / rows`` (non-decreasing, up to
23:29:00). Rows come in blocks of 20; from the second window of blocks on, one row per block is a
partial refund (10-40 %) of a payment of the previous window, through a per-window affine bijection of
blocks, so every payment is refunded at most once and always earlier in the file (about 4.7 % refunds).
Rare cases are placed one per period of row indexes at a seeded position: a ledger-only row and a left-out
ledger row in every 100 rows, about 20 coupon payments (代金券, 应结 = 订单 − 代金券) and about 10 each of
duplicated channel lines, duplicated ledger entries and ledger amounts off by 0.01 per channel. Money is
integer fen throughout (never float); the same arguments give byte-identical files whatever ``batch_rows``
is (Parquet row groups have a fixed size, not the batch size).

    .venv/bin/python bench/generate.py --rows 1000000 --seed 1 --out /work/tmp/bench
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import os
import random
import shutil
import sys
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sample_data import generate as sg  # noqa: E402
from sample_data import render_statements as rs  # noqa: E402

#: Bump whenever the bytes generated for the same arguments change (it is part of the cache key).
FORMAT_VERSION = 1
BUSINESS_DATE = date(2026, 3, 2)
CHANNELS = ("wechatpay", "alipay")
LEDGER_FORMATS = ("csv", "parquet")
MIN_ROWS = 100
MAX_ROWS = 40_000_000

_DAY = BUSINESS_DATE
_NEXT_DAY = _DAY + timedelta(days=1)
_YMD = _DAY.strftime("%Y%m%d")
_BLOCK = 20  # one refund per block of 20 channel rows (from the second window on)
_LEAD_MAX = 9  # a ledger row is booked at most 9 s before its channel row
_T0 = sg.DAY_START + _LEAD_MAX  # first channel timestamp (ledger rows stay at or after 00:30:00)
_SPAN = sg.DAY_LAST - _T0 + 1  # channel timestamps lie in [_T0, DAY_LAST]
_PARQUET_ROW_GROUP = 1024 * 1024  # pyarrow's default, so a small file matches render_ledger_parquet
_ZIP64_LIMIT = (1 << 31) - 1  # zipfile.ZIP64_LIMIT
_ALIPAY_LINE_BOUND = 400  # bytes: more than any 业务明细 line in GBK (used to decide on zip64)

_I64 = pl.Int64()
_U64 = pl.UInt64()
_GOLDEN = 0x9E3779B97F4A7C15
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB

_CENTS = pl.Series("cents", [f"{k:02d}" for k in range(100)], dtype=pl.String)
_CENT_CHOICES = pl.Series("cent_choices", [0, 0, 0, 0, 50, 90, 90, 80, 99, 60, 0], dtype=pl.Int64)
_COUPONS = pl.Series("coupons", [500, 1000, 2000, 3000, 5000], dtype=pl.Int64)
_CLOCK = pl.Series(
    "clock", [f"{_DAY.isoformat()} {t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}" for t in range(86400)]
)
_BOOKED = pl.Series(
    "booked",
    [f"{_DAY.isoformat()}T{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}+08:00" for t in range(86400)],
)


# --------------------------------------------------------------------------------------------- API


def generate_bench_day(
    cache_root: Path,
    *,
    rows: int,
    seed: int,
    channels: tuple[str, ...] = ("wechatpay",),
    ledger_format: str = "csv",
    batch_rows: int = 1_000_000,
) -> Path:
    """Generate (or reuse) a benchmark business day of ``rows`` channel rows per channel.

    The day is cached under ``cache_root`` by (rows, seed, channels, ledger_format, FORMAT_VERSION):
    a directory holding ``DONE`` is returned at once. A new day is written into a temporary directory
    that is renamed into place only when complete, so a killed generation never leaves a half cache
    (its temporary directory is removed by the next generation under the same ``cache_root``).

    Args:
        cache_root: Directory holding the cached days (created when missing).
        rows: Channel statement rows per channel (the ledger gets about as many per channel).
        seed: Seed of every random choice; same arguments give byte-identical files.
        channels: Channels with a statement: ``wechatpay`` and/or ``alipay`` (order does not matter).
        ledger_format: ``csv`` or ``parquet``.
        batch_rows: Rows built and written at a time (bounds the memory; does not change the bytes).

    Returns:
        The data directory: ``<data_dir>/inbox/2026-03-02/{wechatpay,alipay,ledger,bank}/``.

    Raises:
        ValueError: On an unknown channel or ledger format, or rows / batch_rows out of range.
    """
    chosen = _check_arguments(rows, channels, ledger_format, batch_rows)
    key = f"day-r{rows}-s{seed}-{'+'.join(chosen)}-{ledger_format}-v{FORMAT_VERSION}"
    final = Path(cache_root) / key
    if (final / "DONE").exists():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(final.parent)
    tmp = final.parent / f".tmp-{key}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        _write_day(tmp, rows=rows, seed=seed, channels=chosen, ledger_format=ledger_format, batch=batch_rows)
        (tmp / "DONE").write_text(
            f"rows={rows} seed={seed} channels={','.join(chosen)} ledger={ledger_format} "
            f"format_version={FORMAT_VERSION}\n",
            encoding="utf-8",
        )
        if final.exists() and not (final / "DONE").exists():
            shutil.rmtree(final)  # an incomplete directory someone left by hand
        try:
            tmp.rename(final)
        except OSError:
            if not (final / "DONE").exists():  # not a concurrent generation of the same key
                raise
            shutil.rmtree(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: generate a benchmark day, print its data directory and the seconds.

    Args:
        argv: Arguments (default ``sys.argv[1:]``).

    Returns:
        The process exit code.
    """
    p = argparse.ArgumentParser(
        prog="bench/generate.py",
        description="Generate (or reuse from the cache) a columnar benchmark business day 2026-03-02.",
    )
    p.add_argument("--rows", type=int, required=True, help="channel rows per channel")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--out", type=Path, required=True, help="cache root; the day goes to a keyed folder in it")
    p.add_argument("--channels", default="wechatpay", help="comma-separated: wechatpay,alipay")
    p.add_argument("--ledger", choices=LEDGER_FORMATS, default="csv", help="ledger export format")
    p.add_argument("--batch-rows", type=int, default=1_000_000, help="rows built and written at a time")
    args = p.parse_args(argv)
    began = time.perf_counter()
    try:
        data_dir = generate_bench_day(
            args.out,
            rows=args.rows,
            seed=args.seed,
            channels=tuple(c.strip() for c in args.channels.split(",") if c.strip()),
            ledger_format=args.ledger,
            batch_rows=args.batch_rows,
        )
    except ValueError as exc:
        p.error(str(exc))
    print(data_dir)
    print(f"{time.perf_counter() - began:.1f} s")
    return 0


# --------------------------------------------------------------------------------------------- setup


def _check_arguments(
    rows: int, channels: tuple[str, ...], ledger_format: str, batch_rows: int
) -> tuple[str, ...]:
    if not MIN_ROWS <= rows <= MAX_ROWS:
        raise ValueError(f"rows must be between {MIN_ROWS} and {MAX_ROWS}, got {rows}")
    if batch_rows < 1:
        raise ValueError("batch_rows must be >= 1")
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown or not channels:
        raise ValueError(f"channels must be a non-empty subset of {CHANNELS}, got {channels!r}")
    if ledger_format not in LEDGER_FORMATS:
        raise ValueError(f"ledger_format must be one of {LEDGER_FORMATS}, got {ledger_format!r}")
    return tuple(c for c in CHANNELS if c in channels)


def _remove_stale_temps(root: Path) -> None:
    """Remove the temporary directories of generations whose process is gone (killed midway)."""
    for path in root.glob(".tmp-day-*"):
        try:
            pid = int(path.name.rsplit("-", 1)[1])
        except ValueError:
            continue
        if pid == os.getpid() or not _alive(pid):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _salt(seed: int, name: str) -> int:
    """A 64-bit salt derived from the seed and a name (stable across processes and versions)."""
    return int.from_bytes(hashlib.blake2b(f"{seed}/{name}".encode(), digest_size=8).digest(), "little")


def _coprime10(rng: random.Random, lo: int, hi: int) -> int:
    """A multiplier coprime to 10, so ``x → (a·x + b) mod 10**k`` is a bijection (unique ids)."""
    a = rng.randrange(lo, hi) | 1
    while a % 5 == 0:
        a += 2
    return a


# --------------------------------------------------------------------------------------------- expressions


def _mix(x: pl.Expr, salt: int) -> pl.Expr:
    """Seeded splitmix64 of an integer column (wrapping UInt64 arithmetic): uniform 64-bit values."""
    z = x.cast(_U64, wrap_numerical=True) * pl.lit(_GOLDEN, _U64) + pl.lit(salt, _U64)
    z = z.xor(z // pl.lit(1 << 30, _U64)) * pl.lit(_MIX1, _U64)
    z = z.xor(z // pl.lit(1 << 27, _U64)) * pl.lit(_MIX2, _U64)
    return z.xor(z // pl.lit(1 << 31, _U64))


def _digits(h: pl.Expr, div: int, mod: int) -> pl.Expr:
    """``(h // div) % mod`` of a UInt64 hash, as Int64."""
    return ((h // pl.lit(div, _U64)) % pl.lit(mod, _U64)).cast(_I64)


def _event(idx: pl.Expr, salt: int, period: int) -> pl.Expr:
    """True on exactly one row of every full ``period`` rows of ``idx``, at a seeded position."""
    return (idx % period) == _digits(_mix(idx // period, salt), 1, period)


def _zfill(x: pl.Expr, width: int) -> pl.Expr:
    return x.cast(pl.String).str.zfill(width)


def _yuan(fen: pl.Expr) -> pl.Expr:
    """Non-negative integer fen as yuan text with exactly 2 decimals (``129.90``)."""
    return pl.concat_str([(fen // 100).cast(pl.String), pl.lit("."), pl.lit(_CENTS).gather(fen % 100)])


def _neg_yuan(fen: pl.Expr) -> pl.Expr:
    """Yuan text of ``-fen`` for non-negative ``fen`` (``-1.50``; ``0.00`` for zero, as rs.yuan)."""
    return pl.when(fen > 0).then(pl.concat_str([pl.lit("-"), _yuan(fen)])).otherwise(pl.lit("0.00"))


def _price(h: pl.Expr) -> pl.Expr:
    """A payment amount in fen, distributed like ``sample_data.generate`` prices."""
    bucket = _digits(h, 1, 100)
    r = _digits(h, 100, 1_000_000)
    y = (
        pl.when(bucket < 55)
        .then(5 + r % 296)
        .when(bucket < 90)
        .then(300 + r % 1201)
        .otherwise(1500 + r % 4501)
    )
    choice = _digits(h, 10**8, 11)
    cents = (
        pl.when(choice == 10).then(1 + _digits(h, 10**9, 99)).otherwise(pl.lit(_CENT_CHOICES).gather(choice))
    )
    return y * 100 + cents


def _fee(amount: pl.Expr) -> pl.Expr:
    """Contracted fee magnitude in fen: amount × bps / 10000 rounded half-up (integer arithmetic)."""
    return (amount * sg.FEE_BPS + 5000) // 10000


def _clock(seconds: pl.Expr) -> pl.Expr:
    return pl.lit(_CLOCK).gather(seconds)


# --------------------------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class _Channel:
    """Per-channel salts and id maps."""

    name: str
    index: int
    salts: dict[str, int]
    txn_a: int
    txn_b: int
    ref_a: int
    ref_b: int


class _Plan:
    """Every row attribute as a function of (seed, channel, global row index)."""

    def __init__(self, rows: int, seed: int) -> None:
        self.n = rows
        self.seed = seed
        blocks = -(-rows // _BLOCK)
        window = 2
        while window * 16 <= blocks:
            window *= 2
        self.window = window  # blocks per window (a power of two): about 8-16 windows a day
        self.few = max(100, rows // 10)  # period of the "a few" events: about 10 per file
        self.coupon_period = max(50, rows // 20)
        rng = random.Random(f"bench-day/{seed}")
        self.openids = pl.Series(
            "openids", ["o" + "".join(rng.choices(sg.OPENID_CHARS, k=27)) for _ in range(3000)]
        )
        buyers = []
        for _ in range(1000):
            name = "*" * rng.randint(1, 2) + rng.choice(sg.SURNAMES)
            if rng.random() < 0.5:
                acct = f"1{rng.randint(30, 99)}****{rng.randrange(10**4):04d}"
            else:
                user = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(3, 4)))
                acct = f"{user}***@{rng.choice(sg.MAIL_HOSTS)}"
            buyers.append(f"{name}({acct})")
        self.alipay_buyers = pl.Series("buyers", buyers)
        self.channels: dict[str, _Channel] = {}
        for index, name in enumerate(CHANNELS):
            salts = {
                part: _salt(seed, f"{name}/{part}")
                for part in ("row", "pay", "id", "rpos", "wa", "wc", "q", "coupon", "cdup", "drop", "extra",
                             "mismatch", "ldup")
            }  # fmt: skip
            if name == "wechatpay":
                txn = (_coprime10(rng, 10**9, 9 * 10**9), rng.randrange(10**10))
                ref = (_coprime10(rng, 10**9, 9 * 10**9), rng.randrange(10**11))
            else:
                txn = (_coprime10(rng, 10**10, 5 * 10**10), rng.randrange(10**16))
                ref = (1, 0)
            self.channels[name] = _Channel(name, index, salts, txn[0], txn[1], ref[0], ref[1])
        self.bank_rng = random.Random(f"bench-bank/{seed}")
        self.export = datetime(_NEXT_DAY.year, _NEXT_DAY.month, _NEXT_DAY.day, 6, 0, 0) + timedelta(
            seconds=_salt(seed, "export") % 3600
        )

    # -- ids ---------------------------------------------------------------------------------------

    def channel_time(self, idx: pl.Expr) -> pl.Expr:
        """Seconds after midnight of the channel row ``idx`` (non-decreasing in ``idx``)."""
        return _T0 + idx * _SPAN // self.n

    def txn_id(self, ch: _Channel, idx: pl.Expr, hq: pl.Expr) -> pl.Expr:
        """微信订单号 (28 digits) / 支付宝交易号 (28 digits) of payment ``idx``: unique per ``idx``."""
        if ch.name == "wechatpay":
            tail = _zfill((idx * ch.txn_a + ch.txn_b) % 10**10, 10)
            return pl.concat_str([pl.lit("4200"), _zfill(_digits(hq, 10**6, 10**6), 6), pl.lit(_YMD), tail])
        return pl.concat_str([pl.lit(_YMD + "2200"), _zfill((idx * ch.txn_a + ch.txn_b) % 10**16, 16)])

    def order_no(self, ch: _Channel, idx: pl.Expr) -> pl.Expr:
        prefix = "ZZW" if ch.name == "wechatpay" else "ZZA"
        return pl.concat_str([pl.lit(prefix + _YMD), _zfill(idx + 1, 8)])

    def payment_id(self, ch: _Channel, idx: pl.Expr) -> pl.Expr:
        return pl.concat_str([pl.lit(f"PAY{_YMD}{ch.index + 1}"), _zfill(idx + 1, 8)])

    # -- the channel rows of one batch ---------------------------------------------------------------

    def channel_batch(self, ch: _Channel, lo: int, hi: int) -> pl.DataFrame:
        """Channel rows ``lo ≤ i < hi`` of ``ch``: numbers, ids and the ledger-side events.

        Columns: ``i``, ``is_ref``, ``src`` (the payment a row stands for: itself, or the refunded one),
        ``b`` (block), ``tc`` / ``created`` (seconds), ``settle``, ``disc``, ``amount`` / ``fee`` (the
        row's own magnitudes in fen), the texts (``txn``, ``order_no``, ``payment_id``, ``refund_id``,
        ``product``, ``buyer``, ...) and the flags ``cdup``, ``drop``, ``extra``, ``mismatch``, ``ldup``.
        """
        s = ch.salts
        window = self.window
        i, b, w, h, hq, hr = (pl.col(c) for c in ("i", "b", "w", "hp", "hq", "hr"))
        f = pl.select(i=pl.int_range(lo, hi, dtype=_I64))
        f = f.with_columns(b=i // _BLOCK, hr=_mix(i, s["row"]))
        f = f.with_columns(w=b // window, rpos=1 + _digits(_mix(b, s["rpos"]), 1, _BLOCK - 1))
        # The refund of block b (window w ≥ 1) refunds a payment of block tb in window w-1, through an
        # affine bijection of the window's blocks: each payment is refunded at most once.
        a = 2 * _digits(_mix(w, s["wa"]), 1, window // 2) + 1
        c = _digits(_mix(w, s["wc"]), 1, window)
        f = f.with_columns(
            is_ref=(w >= 1) & (i % _BLOCK == pl.col("rpos")),
            tb=pl.when(w >= 1).then((w - 1) * window + (a * (b % window) + c) % window).otherwise(0),
        )
        tb = pl.col("tb")
        target_rpos = (
            pl.when(tb // window >= 1).then(1 + _digits(_mix(tb, s["rpos"]), 1, _BLOCK - 1)).otherwise(99)
        )
        q0 = _digits(_mix(b, s["q"]), 1, _BLOCK - 1)
        q = q0 + (q0 >= target_rpos).cast(_I64)
        f = f.with_columns(src=pl.when(pl.col("is_ref")).then(tb * _BLOCK + q).otherwise(i))
        src = pl.col("src")
        f = f.with_columns(
            hp=_mix(src, s["pay"]), hq=_mix(src, s["id"]), coupon=_event(src, s["coupon"], self.coupon_period)
        )
        coupon = pl.col("coupon")
        disc = pl.lit(_COUPONS).gather(_digits(h, 10**11, 5))
        total = (100 + _digits(h, 10**12, 801)) * 100
        f = f.with_columns(
            settle=pl.when(coupon).then(total - disc).otherwise(_price(h)),
            disc=pl.when(coupon).then(disc).otherwise(0),
            tc=self.channel_time(i),
            created=self.channel_time(src) - 3,
        )
        is_ref = pl.col("is_ref")
        refund_amount = pl.col("settle") * (10 + _digits(hr, 10, 31)) // 100
        f = f.with_columns(amount=pl.when(is_ref).then(refund_amount).otherwise(pl.col("settle")))
        drop = _event(i, s["drop"], 100)
        f = f.with_columns(
            fee=_fee(pl.col("amount")),
            txn=self.txn_id(ch, src, hq),
            order_no=self.order_no(ch, src),
            payment_id=self.payment_id(ch, src),
            product_idx=_digits(hq, 10**12, len(sg.PRODUCTS)),
            buyer_idx=_digits(hq, 1, 3000 if ch.name == "wechatpay" else 1000),
            trade_type_idx=_digits(hq, 10**4, len(sg.TRADE_TYPES)),
            bank_idx=_digits(hq, 10**5, len(sg.BANKS)),
            cdup=_event(i, s["cdup"], self.few) & ~is_ref,
            drop=drop,
            extra=_event(i, s["extra"], 100),
            mismatch=_event(i, s["mismatch"], self.few) & ~drop,
            ldup=_event(i, s["ldup"], self.few) & ~drop,
            lead=2 + _digits(hr, 1, 8),
        )
        if ch.name == "wechatpay":
            refund_id = pl.concat_str(
                [pl.lit("5030"), _zfill(_digits(hr, 10**7, 10**6), 6), pl.lit(_YMD),
                 _zfill((b * ch.ref_a + ch.ref_b) % 10**11, 11)]
            )  # fmt: skip
            f = f.with_columns(
                refund_id=refund_id, merchant_refund_no=pl.concat_str([pl.lit(f"ZZR{_YMD}W"), _zfill(b, 7)])
            )
        else:
            f = f.with_columns(refund_id=pl.concat_str([pl.lit(f"ZZR{_YMD}A"), _zfill(b, 7)]))
        return f.drop("hp", "hq", "w", "rpos", "tb", "coupon")

    # -- the ledger rows of one batch ----------------------------------------------------------------

    def ledger_batch(self, ch: _Channel, frame: pl.DataFrame) -> pl.DataFrame:
        """Ledger rows of a channel batch (sort keys ``t``, ``ci``, ``i``, ``sub`` and the ten texts)."""
        s = ch.salts
        hr = pl.col("hr")
        is_ref = pl.col("is_ref")
        amount = pl.col("amount")
        up = _digits(hr, 10**5, 2) == 1
        mismatched = pl.when(up | (amount <= 1)).then(amount + 1).otherwise(amount - 1)
        main = frame.filter(~pl.col("drop")).select(
            t=pl.col("tc") - pl.col("lead"),
            ci=pl.lit(ch.index, _I64),
            i=pl.col("i"),
            sub=pl.lit(0, _I64),
            order_no=pl.col("order_no"),
            payment_id=pl.col("payment_id"),
            channel_txn_id=pl.when(is_ref).then(pl.col("refund_id")).otherwise(pl.col("txn")),
            kind=pl.when(is_ref).then(pl.lit("refund")).otherwise(pl.lit("payment")),
            amount=self._ledger_amount(pl.when(pl.col("mismatch")).then(mismatched).otherwise(amount), hr),
            ldup=pl.col("ldup"),
        )
        # Ledger-only rows (missing in the channel): their own payment index n + i, never in the file.
        x = pl.col("i") + self.n
        hx = _mix(x, s["pay"])
        extra = frame.filter(pl.col("extra")).select(
            t=pl.col("tc") - _digits(hr, 10**6, _LEAD_MAX + 1),
            ci=pl.lit(ch.index, _I64),
            i=pl.col("i"),
            sub=pl.lit(1, _I64),
            order_no=self.order_no(ch, x),
            payment_id=self.payment_id(ch, x),
            channel_txn_id=self.txn_id(ch, x, _mix(x, s["id"])),
            kind=pl.lit("payment"),
            amount=self._ledger_amount(_price(hx), _mix(x, s["row"])),
            ldup=pl.lit(False),
        )
        return pl.concat([main, extra]).with_columns(channel=pl.lit(ch.name))

    @staticmethod
    def _ledger_amount(fen: pl.Expr, h: pl.Expr) -> pl.Expr:
        """Ledger amount text: ``129.90``, or ``129.9`` for about 15 % of the amounts ending in 0."""
        text = _yuan(fen)
        trim = (fen % 10 == 0) & (_digits(h, 1000, 100) < 15)
        return pl.when(trim).then(text.str.head(-1)).otherwise(text)


# --------------------------------------------------------------------------------------------- lines


def _cat(*parts: str | pl.Expr) -> pl.Expr:
    """Concatenate text columns and literal strings."""
    return pl.concat_str([pl.lit(part) if isinstance(part, str) else part for part in parts])


def _pick(values: Sequence[str] | pl.Series, index: str) -> pl.Expr:
    """``values[index]`` per row, from a small lookup list."""
    return pl.lit(pl.Series(values, dtype=pl.String)).gather(pl.col(index))


def _wechat_lines(frame: pl.DataFrame, plan: _Plan) -> pl.DataFrame:
    """One column ``line``: the detail line of each row (written twice for a duplicated row)."""
    is_ref = pl.col("is_ref")
    settle, disc, amount, fee = pl.col("settle"), pl.col("disc"), pl.col("amount"), pl.col("fee")
    refund_text = _yuan(amount)
    # 应结订单金额 … 退款状态 (columns 13-20), and 订单金额 … 费率备注 (columns 25-27), by kind.
    payment_middle = _cat(_yuan(settle), ",`", _yuan(disc), ",`0,`0,`0.00,`0.00,`,`")
    refund_middle = _cat(
        "0.00,`0.00,`", pl.col("refund_id"), ",`", pl.col("merchant_refund_no"), ",`", refund_text,
        ",`0.00,`ORIGINAL,`SUCCESS",
    )  # fmt: skip
    payment_tail = _cat(_yuan(settle + disc), ",`0.00,`")
    refund_tail = _cat("0.00,`", refund_text, ",`")
    fee_text = _cat(pl.when(is_ref).then(_neg_yuan(fee)).otherwise(_yuan(fee)), "000")
    line = _cat(
        "`", _clock(pl.col("tc")), f",`{sg.WECHAT_APPID},`{sg.WECHAT_MCHID},`0,`,`", pl.col("txn"), ",`",
        pl.col("order_no"), ",`", _pick(plan.openids, "buyer_idx"), ",`",
        _pick(sg.TRADE_TYPES, "trade_type_idx"),
        pl.when(is_ref).then(pl.lit(",`REFUND,`")).otherwise(pl.lit(",`SUCCESS,`")),
        _pick(sg.BANKS, "bank_idx"), ",`CNY,`", pl.when(is_ref).then(refund_middle).otherwise(payment_middle),
        ",`", _pick([f"知竹家居-{p}" for p in sg.PRODUCTS], "product_idx"), ",`,`", fee_text, ",`0.60%,`",
        pl.when(is_ref).then(refund_tail).otherwise(payment_tail),
    )  # fmt: skip
    return _expand(frame, {"line": line}, "cdup")


def _alipay_lines(frame: pl.DataFrame, plan: _Plan) -> pl.DataFrame:
    """One column ``line``: the 业务明细 line of each row (twice for a duplicated row), as UTF-8 text."""
    is_ref = pl.col("is_ref")
    settle, disc, amount, fee = pl.col("settle"), pl.col("disc"), pl.col("amount"), pl.col("fee")
    order_total = settle + disc
    coupon = (
        pl.when(disc > 0)
        .then(_cat("满", (order_total // 100).cast(pl.String), "减", (disc // 100).cast(pl.String)))
        .otherwise(pl.lit(""))
    )
    # 订单金额 … 备注 (columns 12-25), by kind.
    payment_middle = _cat(
        _yuan(order_total), ",", _yuan(settle), ",0.00,0.00,0.00,", _yuan(disc), ",0.00,", coupon,
        ",0.00\t,0.00,\t,", _neg_yuan(fee), ",0.00,",
    )  # fmt: skip
    negative = _neg_yuan(amount)
    refund_middle = _cat(
        negative, ",", negative, ",0.00,0.00,0.00,0.00,0.00,,0.00\t,0.00,", pl.col("refund_id"), "\t,",
        _yuan(fee), ",0.00,",
    )  # fmt: skip
    line = _cat(
        pl.col("txn"), "\t,", pl.col("order_no"),
        pl.when(is_ref).then(pl.lit("\t,退款\t,")).otherwise(pl.lit("\t,交易\t,")),
        _pick([f"知竹家居订单-{p}" for p in sg.PRODUCTS], "product_idx"), ",", _clock(pl.col("created")), ",",
        _clock(pl.col("tc")), ",\t,\t,\t,\t,", _pick(plan.alipay_buyers, "buyer_idx"), "\t,",
        pl.when(is_ref).then(refund_middle).otherwise(payment_middle),
    )  # fmt: skip
    return _expand(frame, {"line": line}, "cdup")


def _expand(frame: pl.DataFrame, columns: dict[str, pl.Expr], twice: str) -> pl.DataFrame:
    """Evaluate ``columns`` on ``frame`` (lazily: shared sub-expressions once); rows flagged ``twice`` twice.

    The copy follows its original (the same line written again), taken by index, so no text is rebuilt.
    """
    out = frame.lazy().select(**columns).collect()
    flags = frame.get_column(twice)
    if flags.any():
        index = pl.int_range(frame.height, dtype=pl.Int64()).repeat_by(flags.cast(_I64) + 1).explode()
        out = out.select(pl.all().gather(pl.select(index).to_series()))
    return out


def _write_lines(lines: pl.DataFrame, out: IO[bytes], terminator: str) -> None:
    lines.write_csv(out, include_header=False, quote_style="never", line_terminator=terminator)


# --------------------------------------------------------------------------------------------- writers


class _Totals:
    """Running control totals of one channel file (Python ints, fen)."""

    def __init__(self) -> None:
        self.n_pay = self.n_ref = 0
        self.settle = self.disc = self.refund = self.pay_fee = self.ref_fee = 0

    def add(self, frame: pl.DataFrame) -> None:
        copies = pl.col("cdup").cast(_I64) + 1
        pay = (~pl.col("is_ref")).cast(_I64) * copies
        ref = pl.col("is_ref").cast(_I64) * copies
        sums = frame.select(
            n_pay=pay.sum(),
            n_ref=ref.sum(),
            settle=(pl.col("settle") * pay).sum(),
            disc=(pl.col("disc") * pay).sum(),
            refund=(pl.col("amount") * ref).sum(),
            pay_fee=(pl.col("fee") * pay).sum(),
            ref_fee=(pl.col("fee") * ref).sum(),
        ).row(0, named=True)
        for name, value in sums.items():
            setattr(self, name, getattr(self, name) + int(value))


class _WeChatWriter:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.out = path.open("wb")
        self.out.write(("\ufeff" + rs.WECHAT_HEADER + "\r\n").encode("utf-8"))
        self.totals = _Totals()

    def write(self, frame: pl.DataFrame, plan: _Plan) -> None:
        self.totals.add(frame)
        _write_lines(_wechat_lines(frame, plan), self.out, "\r\n")

    def abort(self) -> None:
        self.out.close()

    def close(self) -> None:
        t = self.totals
        summary = (
            str(t.n_pay + t.n_ref),
            rs.yuan(t.settle),
            rs.yuan(t.refund),
            "0.00",
            rs.yuan5(t.pay_fee - t.ref_fee),
            rs.yuan(t.settle + t.disc),
            rs.yuan(t.refund),
        )
        self.out.write((rs.WECHAT_SUMMARY_HEADER + "\r\n`" + ",`".join(summary) + "\r\n").encode("utf-8"))
        self.out.close()


class _GbkZipInfo(zipfile.ZipInfo):
    """A ZipInfo whose name is stored as GBK bytes without the UTF-8 flag (as render_statements)."""

    __slots__ = ("gbk_name",)

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:  # zipfile's own hook: name bytes and flags
        return self.gbk_name, self.flag_bits & ~0x800


def _zip_info(name: str, stamp: datetime) -> _GbkZipInfo:
    info = _GbkZipInfo(name, date_time=stamp.timetuple()[:6])
    info.gbk_name = name.encode("gbk")
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 0
    info.create_version = 20
    info.extract_version = 20
    info.external_attr = 0x20
    return info


class _AlipayWriter:
    """Streams the 业务明细 member into the zip; the 汇总 member follows at close."""

    def __init__(self, path: Path, plan: _Plan) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.plan = plan
        self.detail_name = f"{sg.ALIPAY_ACCOUNT}_{_YMD}_业务明细.csv"
        self.summary_name = f"{sg.ALIPAY_ACCOUNT}_{_YMD}_业务明细(汇总).csv"
        self.stamp = plan.export - timedelta(seconds=1)
        self.zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED)
        # zip64 only when the member may pass 2 GiB: a smaller day is laid out exactly as render_zip.
        bound = plan.n * 11 // 10 * _ALIPAY_LINE_BOUND + 4096
        self.member = self.zip.open(
            _zip_info(self.detail_name, self.stamp), "w", force_zip64=bound * 1.05 > _ZIP64_LIMIT
        )
        empty, _, _ = rs.render_alipay_detail(
            [], account=sg.ALIPAY_ACCOUNT, day=_DAY, next_day=_NEXT_DAY, export=plan.export
        )
        self.member.write(_head_lines(empty, 5))  # the four preamble lines and the header
        self.totals = _Totals()

    def write(self, frame: pl.DataFrame, plan: _Plan) -> None:
        self.totals.add(frame)
        buf = io.BytesIO()
        _write_lines(_alipay_lines(frame, plan), buf, "\r\n")
        self.member.write(buf.getvalue().decode("utf-8").encode("gbk"))

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self.member.close()
        with contextlib.suppress(Exception):
            self.zip.close()

    def close(self) -> None:
        t = self.totals
        footer = [
            "#" + "-" * 41 + "业务明细列表结束" + "-" * 36,
            f"#交易合计：{t.n_pay}笔，商家实收共{rs.yuan(t.settle)}元，商家优惠共{rs.yuan(t.disc)}元",
            f"#退款合计：{t.n_ref}笔，商家实收退款共{rs.yuan(-t.refund)}元，商家优惠退款共0.00元",
            f"#导出时间：[{_cn_datetime(self.plan.export)}]",
        ]
        self.member.write(("\r\n".join(footer) + "\r\n").encode("gbk"))
        self.member.close()
        totals = rs.AlipayTotals(
            n_pay=t.n_pay,
            n_ref=t.n_ref,
            pay_received=t.settle,
            pay_discount=t.disc,
            ref_received=-t.refund,
            order_total=t.settle + t.disc - t.refund,
            fee_total=t.ref_fee - t.pay_fee,
        )
        summary = rs.render_alipay_summary(
            totals, account=sg.ALIPAY_ACCOUNT, day=_DAY, next_day=_NEXT_DAY, export=self.plan.export
        )
        self.zip.writestr(_zip_info(self.summary_name, self.stamp), summary)
        self.zip.close()


def _head_lines(data: bytes, count: int) -> bytes:
    """The first ``count`` CRLF-terminated lines of ``data``."""
    return b"".join(line + b"\r\n" for line in data.split(b"\r\n")[:count])


def _cn_datetime(dt: datetime) -> str:
    return f"{dt.year}年{dt.month:02d}月{dt.day:02d}日 {dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"


class _LedgerWriter:
    """Sorts the ledger rows by booking time across batches, numbers them and writes CSV or Parquet."""

    def __init__(self, path: Path, ledger_format: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.format = ledger_format
        self.carry: pl.DataFrame | None = None
        self.written = 0  # entry ids handed out
        self.pending: pa.Table | None = None
        self.schema = pa.schema([(name, pa.string()) for name in rs.LEDGER_COLUMNS])
        if ledger_format == "csv":
            self.out: Any = path.open("wb")
            self.out.write((",".join(rs.LEDGER_COLUMNS) + "\n").encode("utf-8"))
        else:
            self.out = pq.ParquetWriter(path, self.schema, compression="snappy")

    def write(self, parts: list[pl.DataFrame], threshold: int | None) -> None:
        """Add ledger rows; write those booked before ``threshold`` (None: everything, the last batch)."""
        frames = parts if self.carry is None else [self.carry, *parts]
        rows = pl.concat(frames).sort(["t", "ci", "i", "sub"])
        if threshold is None:
            ready, self.carry = rows, None
        else:
            cut = rows.get_column("t").search_sorted(threshold, side="left")
            ready, self.carry = rows.head(cut), rows.slice(cut)
        if ready.height:
            self._emit(ready)

    def _emit(self, rows: pl.DataFrame) -> None:
        entry_id = pl.concat_str(
            [pl.lit(f"LE{_YMD}"), _zfill(pl.int_range(pl.len(), dtype=_I64) + self.written + 1, 8)]
        )
        booked_at = pl.lit(_BOOKED).gather(pl.col("t"))
        self.written += rows.height
        columns = {name: pl.col(name) for name in rs.LEDGER_COLUMNS}
        columns.update(
            entry_id=entry_id, currency=pl.lit("CNY"), status=pl.lit("succeeded"), booked_at=booked_at
        )
        if self.format == "csv":
            line = pl.concat_str(list(columns.values()), separator=",")  # no value needs CSV quoting
            _write_lines(_expand(rows, {"line": line}, "ldup"), self.out, "\n")
            return
        arrow = _expand(rows, columns, "ldup").to_arrow().cast(self.schema)
        self.pending = arrow if self.pending is None else pa.concat_tables([self.pending, arrow])
        while self.pending.num_rows >= _PARQUET_ROW_GROUP:
            self.out.write_table(self.pending.slice(0, _PARQUET_ROW_GROUP), row_group_size=_PARQUET_ROW_GROUP)
            self.pending = self.pending.slice(_PARQUET_ROW_GROUP)

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self.out.close()

    def close(self) -> None:
        if self.format == "parquet" and self.pending is not None and self.pending.num_rows:
            self.out.write_table(self.pending, row_group_size=_PARQUET_ROW_GROUP)
        self.out.close()


# --------------------------------------------------------------------------------------------- the day


def _write_day(
    data_dir: Path, *, rows: int, seed: int, channels: tuple[str, ...], ledger_format: str, batch: int
) -> None:
    plan = _Plan(rows, seed)
    day_dir = data_dir / "inbox" / _DAY.isoformat()
    writers: dict[str, _WeChatWriter | _AlipayWriter] = {}
    opened: list[_WeChatWriter | _AlipayWriter | _LedgerWriter] = []
    try:
        if "wechatpay" in channels:
            writers["wechatpay"] = _WeChatWriter(
                day_dir / "wechatpay" / f"wechatpay_tradebill_ALL_{_YMD}.csv"
            )
            opened.append(writers["wechatpay"])
        if "alipay" in channels:
            writers["alipay"] = _AlipayWriter(
                day_dir / "alipay" / f"{sg.ALIPAY_ACCOUNT}_{_YMD}.csv.zip", plan
            )
            opened.append(writers["alipay"])
        ledger = _LedgerWriter(day_dir / "ledger" / f"ledger_{_YMD}.{ledger_format}", ledger_format)
        opened.append(ledger)
        for lo in range(0, rows, batch):
            hi = min(rows, lo + batch)
            parts = []
            for name in channels:
                ch = plan.channels[name]
                frame = plan.channel_batch(ch, lo, hi)
                writers[name].write(frame, plan)
                parts.append(plan.ledger_batch(ch, frame))
                del frame
            # Rows of later batches are booked at or after channel_time(hi) - _LEAD_MAX.
            threshold = None if hi == rows else _T0 + hi * _SPAN // rows - _LEAD_MAX
            ledger.write(parts, threshold)
    except BaseException:
        for writer in opened:
            writer.abort()  # no footer: the temporary directory is removed by the caller
        raise
    for writer in opened:
        writer.close()
    _write_bank(day_dir / "bank" / f"camt053_{_YMD}.xml", plan, channels)


def _write_bank(path: Path, plan: _Plan, channels: tuple[str, ...]) -> None:
    """A small camt.053: the payouts of 2026-03-01 (before the run, so in transit) and some noise."""
    r = plan.bank_rng
    prev = _DAY - timedelta(days=1)
    mmdd = _DAY.strftime("%m%d")

    def entry(
        ref: str,
        amount: int,
        credit: bool,
        code: tuple[str, str, str],
        e2e: str,
        party: str,
        text: str,
        scenario: str,
        outcome: str,
    ) -> rs.BankEntry:
        domain, family, sub_family = code
        return rs.BankEntry(
            ref=ref, amount=amount, credit=credit, value_date=_DAY, domain=domain, family=family,
            sub_family=sub_family, end_to_end=e2e, party=party, text=text, scenario=scenario, outcome=outcome,
        )  # fmt: skip

    transfer = ("PMNT", "RCDT", "DMCT")
    entries = []
    for name in channels:
        amount = plan.n * r.randint(15_000, 25_000) + r.randint(0, 99)  # about a day's net payout
        if name == "wechatpay":
            text = f"WECHAT PAY SETTLEMENT {sg.WECHAT_MCHID} {prev.strftime('%Y%m%d')}"
            party, ref = "TENPAY PAYMENT TECHNOLOGY CO LTD", f"WX{mmdd}STL{r.randint(1, 9999):04d}"
        else:
            text = f"ALIPAY WITHDRAWAL {sg.ALIPAY_ACCOUNT} {prev.strftime('%Y%m%d')}"
            party, ref = "ALIPAY (CHINA) NETWORK TECHNOLOGY CO LTD", f"AP{mmdd}WDR{r.randint(1, 9999):04d}"
        entries.append(
            entry(
                ref,
                amount,
                True,
                transfer,
                "NOTPROVIDED",
                party,
                text,
                "payout_of_day_before_run",
                "in_transit",
            )
        )
    po = f"PO-{_DAY.year}-{r.randint(1000, 9999)}"
    inv = f"INV-ZZ-{_DAY.year}-{r.randint(100, 999)}"
    entries += [
        entry(
            f"DB{mmdd}SUP{r.randint(1, 9999):04d}",
            r.randint(1_000, 15_000) * 100,
            False,
            ("PMNT", "ICDT", "DMCT"),
            po,
            "ANJI BAMBOO CRAFT CO LTD",
            f"SUPPLIER PAYMENT {po}",
            "bank_noise_supplier_debit",
            "unexplained",
        ),
        entry(
            f"CH{mmdd}FEE{r.randint(1, 9999):04d}",
            1500,
            False,
            ("ACMT", "MDOP", "CHRG"),
            "NOTPROVIDED",
            "",
            f"TRANSFER CHARGES {r.randint(1, 9)} ITEMS",
            "bank_noise_charge_debit",
            "unexplained",
        ),
        entry(
            f"CR{mmdd}B2B{r.randint(1, 9999):04d}",
            r.randint(500, 9_000) * 100,
            True,
            transfer,
            inv,
            "SUZHOU LAKESIDE CAFE CO",
            f"INVOICE {inv} HOME DECOR ORDER",
            "bank_noise_customer_credit",
            "unexplained",
        ),
    ]
    r.shuffle(entries)
    data, _, _ = rs.render_camt053(
        entries,
        day=_DAY,
        prev_day=prev,
        account=sg.BANK_ACCOUNT,
        owner=sg.BANK_OWNER,
        bic=sg.BANK_BIC,
        seq_nb=r.randint(40, 90),
        opening=r.randint(500_000, 900_000) * 100 + r.randint(0, 99),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


if __name__ == "__main__":
    sys.exit(main())
