"""Daily demand forecasts for reorder planning: pure functions, no I/O.

A product's history is its units sold per day, from its first sale in the window
to yesterday (zeros on days without a sale). The method is chosen by the data,
after Syntetos and Boylan: when sales come on most days (average demand interval
ADI <= 1.32 days) simple exponential smoothing (SES) of the daily quantity; when
they are intermittent (ADI > 1.32), TSB (Teunter, Syntetos and Babai 2011), which
smooths the probability of a sale on a day and the size of a sale separately and,
unlike Croston, lowers the forecast while a product stops selling. Both start from
the history's means (so the result does not hinge on the first day) and report the
root mean square of their one-step-ahead errors as the spread of a day's demand,
which the safety stock scales. docs/adr: reorder suggestions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

# Syntetos-Boylan cut-off between smooth/erratic and intermittent/lumpy demand.
INTERMITTENT_ADI: Final = 1.32

Method = Literal["none", "ses", "tsb"]


@dataclass(frozen=True)
class Forecast:
    """Expected units a day and the spread of a day's demand around it."""

    method: Method
    daily_demand: float
    # Root mean square of the one-step-ahead errors over the history (units a day).
    sigma: float
    history_days: int
    sale_days: int
    units_sold: int
    # Average days between sales (history_days / sale_days); None without a sale.
    adi: float | None
    # TSB's parts: the chance of a sale on a day and the size of a sale.
    probability: float | None = None
    size: float | None = None


def _rms(errors: Sequence[float]) -> float:
    return math.sqrt(sum(e * e for e in errors) / len(errors)) if errors else 0.0


def ses(history: Sequence[int], alpha: float) -> tuple[float, float]:
    """Simple exponential smoothing from the history's mean: (level, RMS error)."""
    level = sum(history) / len(history)
    errors: list[float] = []
    for sold in history:
        errors.append(sold - level)
        level += alpha * (sold - level)
    return level, _rms(errors)


def tsb(history: Sequence[int], alpha: float, beta: float) -> tuple[float, float, float]:
    """TSB from the history's sale frequency and mean sale size:
    (probability of a sale on a day, size of a sale, RMS error of p x size).
    The probability is updated every day (towards 1 on a sale day, 0 otherwise),
    the size only on sale days."""
    sizes = [sold for sold in history if sold > 0]
    if not sizes:
        return 0.0, 0.0, 0.0
    probability = len(sizes) / len(history)
    size = sum(sizes) / len(sizes)
    errors: list[float] = []
    for sold in history:
        errors.append(sold - probability * size)
        if sold > 0:
            probability += beta * (1.0 - probability)
            size += alpha * (sold - size)
        else:
            probability -= beta * probability
    return probability, size, _rms(errors)


def trim(history: Sequence[int]) -> list[int]:
    """The history from its first sale on (days before a first sale say nothing about
    a product that may not have been listed yet)."""
    for index, sold in enumerate(history):
        if sold > 0:
            return list(history[index:])
    return []


def forecast(history: Sequence[int], *, alpha: float, beta: float) -> Forecast:
    """The forecast of a daily history (oldest first, ending yesterday)."""
    if any(sold < 0 for sold in history):
        raise ValueError("daily sales cannot be negative")
    days = trim(history)
    sale_days = sum(1 for sold in days if sold > 0)
    if not sale_days:
        return Forecast("none", 0.0, 0.0, 0, 0, 0, None)
    units = sum(days)
    adi = len(days) / sale_days
    if adi <= INTERMITTENT_ADI:
        level, sigma = ses(days, alpha)
        return Forecast("ses", level, sigma, len(days), sale_days, units, adi)
    probability, size, sigma = tsb(days, alpha, beta)
    return Forecast(
        "tsb",
        probability * size,
        sigma,
        len(days),
        sale_days,
        units,
        adi,
        probability=probability,
        size=size,
    )
