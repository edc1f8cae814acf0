"""Masking personal data before it reaches any output or log (BAD_INPUTS §2.5, PIPL).

Statement rows that pass validation are reduced to ids and amounts; personal data reaches the outputs
only through what is written *about* a bad line: a quarantined value, the words of its reason, a
line quoted whole when its fields cannot be told apart. Those texts go through :func:`mask_text`,
and a value from a column known to hold personal data through :func:`mask_value`, so a finance report
keeps enough to find the row (file, line, column, the masked value) and nothing more:

- mobile numbers keep the first 3 and last 4 digits (``138****5678``);
- national ids keep the first 3 and last 3 characters (``110************01X``);
- card numbers that pass the Luhn check keep the last 4 digits (``************1234``, PCI DSS 3.4.1);
- e-mail addresses keep the first character of the local part (``a***@qq.com``);
- WeChat openids keep their first and last 4 characters (``oZWa********************1a2B``);
- a value of a personal column (buyer account, openid, name) keeps its last 4 characters.
"""

from __future__ import annotations

import re

import polars as pl

#: Columns whose whole value is personal data (statement columns and ledger columns alike).
PERSONAL_COLUMNS = frozenset(
    {"对方账户", "对方账号", "用户标识", "用户名", "付款人", "账号", "buyer", "buyer_account", "buyer_id", "customer_id",
     "customer_name", "Consumer ID", "openid", "name", "phone", "email", "card_number"}
)  # fmt: skip

_EMAIL = re.compile(r"(?<![\w.+-])([\w.+-])[\w.+-]*@([\w-]+(?:\.[\w-]+)+)", re.ASCII)
_MOBILE = re.compile(r"(?<![0-9])(1[3-9][0-9])[0-9]{4}([0-9]{4})(?![0-9])")
_NATIONAL_ID = re.compile(r"(?<![0-9A-Za-z])([0-9]{3})[0-9]{11}([0-9]{3}[0-9Xx])(?![0-9A-Za-z])")
_DIGITS = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])")
_OPENID = re.compile(r"(?<![0-9A-Za-z_-])(o[0-9A-Za-z_-]{3})[0-9A-Za-z_-]{20}([0-9A-Za-z_-]{4})(?![0-9A-Za-z_-])")


def luhn_valid(digits: str) -> bool:
    """True when ``digits`` (ASCII digits only) pass the Luhn check of card numbers."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _mask_card(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = re.sub(r"[ -]", "", text)
    if not 13 <= len(digits) <= 19 or not luhn_valid(digits):
        return text
    return "*" * (len(digits) - 4) + digits[-4:]


def mask_text(text: str | None) -> str | None:
    """``text`` with every phone number, national id, card number, e-mail address and openid masked."""
    if not text:
        return text
    text = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    text = _NATIONAL_ID.sub(lambda m: m.group(1) + "*" * 11 + m.group(2), text)
    text = _DIGITS.sub(_mask_card, text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)
    return _OPENID.sub(lambda m: m.group(1) + "*" * 20 + m.group(2), text)


def mask_value(column: str | None, value: str | None) -> str | None:
    """A quarantined value as it may be shown: a personal column's value keeps its last 4 characters."""
    if value is None:
        return None
    if column in PERSONAL_COLUMNS:
        return "*" * max(len(value) - 4, 0) + value[-4:]
    return mask_text(value)


def mask_quarantine(quarantine: pl.DataFrame) -> pl.DataFrame:
    """Quarantine entries (``QUARANTINE_SCHEMA``) with their values and reasons masked.

    Only failed lines have entries (a bounded few), so this runs row by row.
    """
    if quarantine.height == 0:
        return quarantine
    rows = quarantine.select("column", "value", "reason").rows()
    return quarantine.with_columns(
        value=pl.Series([mask_value(column, value) for column, value, _ in rows], dtype=pl.String),
        reason=pl.Series([mask_text(reason) for _, _, reason in rows], dtype=pl.String),
    )
