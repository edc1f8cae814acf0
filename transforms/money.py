"""Money text to integer minor units, exactly, and nothing else.

Every amount in recon is a signed ``int`` in the currency's minor unit (fen, cents), or a ``Decimal``
with a fixed scale where a format carries more digits than the minor unit (WeChat's 5-decimal fee).
This module is the one place where text becomes money: an ASCII regex decides what is acceptable,
then integer arithmetic converts it. Nothing is rounded and no float is ever involved.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

import polars as pl

from schemas.currency import CURRENCY_EXPONENT

__all__ = [
    "CURRENCY_EXPONENT", "AmountError", "parse_decimal_text", "round_half_up", "contracted_fee_minor", "format_money",
]  # fmt: skip

#: How an amount is written for a person: the symbol in front where it is unambiguous for this
#: merchant (¥ is the yuan: a yen amount is written "JPY 1,500"), else the ISO code in front.
CURRENCY_SYMBOL: dict[str, str] = {"CNY": "¥", "USD": "US$", "EUR": "€", "GBP": "£", "HKD": "HK$"}


class AmountError(ValueError):
    """An amount text that the format does not allow.

    Attributes:
        reason_code: ``BAD_AMOUNT``, ``SCALE_EXCEEDED`` or ``SIGN_VIOLATION`` (BAD_INPUTS §3.2).
    """

    def __init__(self, reason_code: str, message: str) -> None:
        super().__init__(message)
        self.reason_code = reason_code


_DECIMAL = re.compile(r"^(-?)(0|[1-9][0-9]{0,14})(?:\.([0-9]+))?$", re.ASCII)


def parse_decimal_text(
    text: str, *, scale: int, exact_scale: bool, allow_negative: bool = True
) -> int:
    """Parse a plain decimal string into an integer count of ``10**-scale`` units.

    Args:
        text: the field as written, already stripped of the format's documented padding.
        scale: the number of decimals of the unit returned (2 for fen, 5 for WeChat fees).
        exact_scale: True when the format always writes exactly ``scale`` decimals (WeChat, Alipay);
            False when fewer decimals are allowed (the ledger: "at most the currency's exponent").
        allow_negative: False for columns that are documented as unsigned.

    Returns:
        The signed integer amount in units of ``10**-scale``: ``'1234.5'`` with scale 2 → ``123450``.

    Raises:
        AmountError: ``BAD_AMOUNT`` for anything that is not a plain ASCII decimal (separators,
            currency signs, exponents, ``NaN``, full-width digits, empty text), ``SCALE_EXCEEDED``
            when there are more decimals than allowed (never rounded), ``SIGN_VIOLATION`` for a minus
            sign in an unsigned column.
    """
    match = _DECIMAL.fullmatch(text)  # fullmatch: '$' alone would accept a trailing newline
    if match is None:
        raise AmountError("BAD_AMOUNT", f"{text!r} is not a plain decimal amount")
    sign, whole, frac = match.group(1), match.group(2), match.group(3) or ""
    if match.group(3) is not None and frac == "":
        raise AmountError("BAD_AMOUNT", f"{text!r} is not a plain decimal amount")
    if len(frac) > scale:
        raise AmountError(
            "SCALE_EXCEEDED", f"{text!r} has {len(frac)} decimals, at most {scale} allowed"
        )
    if exact_scale and len(frac) != scale:
        raise AmountError("BAD_AMOUNT", f"{text!r} must have exactly {scale} decimals")
    if sign and not allow_negative:
        raise AmountError("SIGN_VIOLATION", f"{text!r} is negative in an unsigned column")
    units: int = int(whole) * 10**scale + int(frac.ljust(scale, "0") or "0")  # int ** int is Any in typeshed
    return -units if sign else units


def minor_units_to_decimal(amount_minor: int, currency: str) -> Decimal:
    """Return ``amount_minor`` as an exact ``Decimal`` in major units (for display only)."""
    exponent = CURRENCY_EXPONENT[currency]
    return Decimal(amount_minor).scaleb(-exponent)


def format_money(amount_minor: int, currency: str | None) -> str:
    """An amount as a person reads it: ``format_money(1047103, 'CNY') == '¥10,471.03'``.

    Grouped thousands, the currency's own number of decimals, the sign in front of the symbol
    (``-¥3.00``); an unknown or missing currency shows the minor units and says so. Integer
    arithmetic only.
    """
    if currency not in CURRENCY_EXPONENT:
        return f"{amount_minor:,} minor units ({currency or 'no currency'})"
    exponent = CURRENCY_EXPONENT[currency]
    unit: int = 10**exponent
    whole, fraction = divmod(abs(amount_minor), unit)
    number = f"{whole:,}" + (f".{fraction:0{exponent}d}" if exponent else "")
    symbol = CURRENCY_SYMBOL.get(currency)
    text = f"{symbol}{number}" if symbol else f"{currency} {number}"
    return f"-{text}" if amount_minor < 0 else text


def round_half_up(units: int, from_scale: int, to_scale: int) -> int:
    """Round an integer amount of ``10**-from_scale`` units to ``10**-to_scale``, half away from 0.

    Example: a WeChat fee of ``0.04500`` (4500 at scale 5) is 5 fen at scale 2.
    """
    # ``int ** int`` is typed Any (a negative exponent gives a float); both exponents here are >= 0.
    if to_scale >= from_scale:
        factor: int = 10 ** (to_scale - from_scale)
        return units * factor
    step: int = 10 ** (from_scale - to_scale)
    magnitude = (abs(units) * 2 + step) // (2 * step)
    return magnitude if units >= 0 else -magnitude


def contracted_fee_minor(
    amount_minor: int,
    rate_bps: Decimal,
    rounding: str = "half_up",
    *,
    kind: str | None = None,
    fixed_minor: int = 0,
    min_minor: int = 0,
    max_minor: int | None = None,
    refund_fee: str = "proportional",
) -> int:
    """The contracted fee of one transaction, signed towards the merchant (DESIGN §9 Fees).

    The rate part is ``|amount| × rate`` rounded on its magnitude. A payment pays the rate part plus
    ``fixed_minor``, at least ``min_minor`` and at most ``max_minor``, so the result is negative. A
    refund gets back the rate part on its amount (``proportional``, capped by ``max_minor``), the
    whole fee as if it were a payment (``full``) or nothing (``none``), so the result is positive.
    ``kind`` defaults to the amount's sign (a payment is positive).

    Args:
        amount_minor: the signed amount the channel settles, in minor units.
        rate_bps: the contracted rate in basis points; decimals allowed (``Decimal('38.5')``).
        rounding: ``half_up`` (half away from zero), ``down`` (truncate) or ``up`` (ceiling).
        kind: ``payment`` or ``refund``; None: by the amount's sign.
        fixed_minor: the fixed part of a payment's fee.
        min_minor: the least a payment's fee may be.
        max_minor: the most a payment's fee (or a refund's rate part) may be; None: no cap.
        refund_fee: ``proportional``, ``full`` or ``none`` (what a refund gets back).

    Returns:
        The signed fee in minor units: ``contracted_fee_minor(750, Decimal(60)) == -5``;
        ``contracted_fee_minor(6400, Decimal(290), fixed_minor=30) == -216`` (Stripe's 2.9 % + 30¢).
    """
    exact = Decimal(abs(amount_minor)) * rate_bps / Decimal(10000)
    if rounding == "half_up":
        rate_part = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    elif rounding == "down":
        rate_part = int(exact)
    elif rounding == "up":
        rate_part = int(exact) + (0 if exact == int(exact) else 1)
    else:
        raise ValueError(f"unknown fee rounding {rounding!r}")
    whole = max(rate_part + fixed_minor, min_minor)
    if max_minor is not None:
        whole = min(whole, max_minor)
    if (kind or ("payment" if amount_minor > 0 else "refund")) == "payment":
        return -whole
    if refund_fee == "full":
        return whole
    if refund_fee == "none":
        return 0
    return rate_part if max_minor is None else min(rate_part, max_minor)


def money_text_expr(amount: pl.Expr, currency: pl.Expr) -> pl.Expr:
    """Polars expression: signed minor units as exact major-unit text with the currency, for words.

    ``(-225, 'CNY')`` → ``'-2.25 CNY'``; ``(1500, 'JPY')`` → ``'1500 JPY'``. Integer arithmetic only:
    this is for the ``detail`` sentences a person reads; numbers stay ``*_minor`` integers elsewhere.
    """
    exponent = currency.replace_strict(CURRENCY_EXPONENT, default=2, return_dtype=pl.Int64)
    scale = pl.lit(10, pl.Int64).pow(exponent)
    magnitude = amount.abs()
    whole = (magnitude // scale).cast(pl.String)
    frac = (magnitude % scale).cast(pl.String).str.zfill(exponent.cast(pl.Int64))
    sign = pl.when(amount < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    number = pl.when(exponent == 0).then(whole).otherwise(pl.concat_str([whole, pl.lit("."), frac]))
    return pl.concat_str([sign, number, pl.lit(" "), currency])
