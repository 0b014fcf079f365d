"""ISO 4217 currency codes a price may use, and how many decimals each allows.

The active codes of the ISO 4217 list (amendment 179, 2025: XCG added, ANG
still valid during the transition), without the codes that are not money a
shop charges in: precious metals (XAU, XAG, XPD, XPT), bond-market units
(XBA..XBD), SDR (XDR), SUCRE (XSU), ADB unit (XUA), XTS (testing) and XXX.
"""

from __future__ import annotations

from decimal import Decimal

ISO_4217_CODES = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD
    BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP
    BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU
    CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB
    EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD
    HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY
    KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR
    LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR
    MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD
    OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB
    RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD
    SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD
    TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES
    VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
    ZWL
    """.split()  # noqa: SIM905 - a table reads better than a list of literals
)

# Currencies without minor units: a price in them must be a whole number.
ZERO_DECIMAL_CODES = frozenset(
    """
    BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI
    VND VUV XAF XOF XPF
    """.split()  # noqa: SIM905
)


def currency_problem(code: str) -> str | None:
    """Why `code` is not a currency a price may use, or None if it is one."""
    if len(code) != 3 or not code.isascii() or not code.isalpha() or not code.isupper():
        return f"{code!r} is not an ISO 4217 code: use three upper-case letters, e.g. 'EUR'"
    if code not in ISO_4217_CODES:
        return f"{code!r} is not an ISO 4217 currency code"
    return None


def minor_units_problem(price: Decimal, currency: str) -> str | None:
    """Why `price` cannot be a price in `currency` (too many decimals), or None.

    The one rule every write applies to the product it would store (create, and a
    PATCH of the price, the currency or both, against the merged result)."""
    if currency in ZERO_DECIMAL_CODES and price != price.to_integral_value():
        return f"{currency} has no minor units: the price must be a whole number, not {price}"
    return None
