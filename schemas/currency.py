"""ISO 4217 currencies recon accepts, with their minor-unit exponent (a shared constant)."""

from __future__ import annotations

#: Minor-unit exponent per ISO 4217 currency we may meet; unknown currencies are rejected.
CURRENCY_EXPONENT: dict[str, int] = {
    "CNY": 2, "USD": 2, "EUR": 2, "HKD": 2, "GBP": 2, "SGD": 2, "AUD": 2, "CAD": 2,
    "CHF": 2, "MOP": 2, "TWD": 2, "THB": 2, "MYR": 2, "NZD": 2,
    "JPY": 0, "KRW": 0, "VND": 0,
    "KWD": 3, "BHD": 3, "JOD": 3, "OMR": 3,
}
