"""Amounts as decimal strings in a currency's major unit, checked against its exponent."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

# The currencies the sandbox accepts and their ISO 4217 exponents (digits after
# the point). A provider supports a list, not all of ISO 4217: these cover the
# catalog's demo currencies and one of each exponent (0: JPY, KRW; 3: BHD, KWD, JOD).
EXPONENTS: dict[str, int] = {
    "EUR": 2,
    "USD": 2,
    "GBP": 2,
    "RUB": 2,
    "CHF": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "PLN": 2,
    "CZK": 2,
    "CAD": 2,
    "AUD": 2,
    "CNY": 2,
    "JPY": 0,
    "KRW": 0,
    "BHD": 3,
    "KWD": 3,
    "JOD": 3,
}

# Ten million major units: beyond any test, and well inside exact integer arithmetic.
MAX_MAJOR_UNITS = Decimal(10_000_000)


class AmountError(ValueError):
    """Why an amount cannot be charged; the message is shown to the client."""


def currency_error(code: str) -> str | None:
    if code not in EXPONENTS:
        return f"{code!r} is not a currency this provider accepts; use one of {sorted(EXPONENTS)}"
    return None


def to_minor(amount: str, currency: str) -> int:
    """The amount in minor units; raises AmountError naming what is wrong."""
    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise AmountError(f'{amount!r} is not a decimal number (e.g. "12.34")') from None
    if not value.is_finite():
        raise AmountError(f"{amount!r} is not a finite amount")
    if value <= 0:
        raise AmountError(f"the amount must be greater than zero, got {amount}")
    if value > MAX_MAJOR_UNITS:
        raise AmountError(f"the amount may be at most {MAX_MAJOR_UNITS}, got {amount}")
    exponent = EXPONENTS[currency]
    minor = value.scaleb(exponent)
    if minor != minor.to_integral_value():
        unit = "no minor units" if exponent == 0 else f"{exponent} decimal places"
        raise AmountError(f"{currency} has {unit}: {amount} cannot be charged in it")
    return int(minor)


def to_major(minor: int, currency: str) -> str:
    """Minor units as the decimal string the API answers with ("12.30", "1500")."""
    exponent = EXPONENTS[currency]
    return str(Decimal(minor).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent)))
