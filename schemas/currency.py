"""ISO 4217 currencies with their minor-unit exponent: the one table every parse and every printed amount uses.

An amount is parsed to, stored as and printed from integer minor units of its currency: ``'1234.5'``
CNY is 123450 fen (exponent 2), ``'1500'`` JPY is 1500 yen (exponent 0), ``'1.250'`` KWD is 1250 fils
(exponent 3). A code not in this table is rejected where it is read (``BAD_CURRENCY``), never guessed.

The table lists the active codes of ISO 4217 (list one, as published by the SIX maintenance agency)
that are legal tender, plus the fund codes with their own exponent (CLF, UYW: 4; UYI: 0); precious
metals, testing and "no currency" codes (XAU, XTS, XXX...) are left out: no statement settles in them.
"""

from __future__ import annotations

_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_FOUR = "CLF UYW"
_TWO = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD "
    "CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS "
    "GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL "
    "MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK "
    "PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS "
    "TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG"
)

#: Minor-unit exponent per ISO 4217 currency code; unknown codes are rejected.
CURRENCY_EXPONENT: dict[str, int] = dict(
    sorted(
        {
            **dict.fromkeys(_TWO.split(), 2),
            **dict.fromkeys(_ZERO.split(), 0),
            **dict.fromkeys(_THREE.split(), 3),
            **dict.fromkeys(_FOUR.split(), 4),
        }.items()
    )
)
