"""The demand forecasts on synthetic histories, against numbers worked out by hand
(each step written out in the case's comment)."""

from __future__ import annotations

import math

import pytest

from productstore_inventory.app.services.forecast import Forecast, forecast, ses, trim, tsb


def test_ses_from_the_mean() -> None:
    # level0 = mean(4, 6, 5, 5) = 5; errors y - level before each day:
    # 4-5 = -1 -> 4.8; 6-4.8 = 1.2 -> 5.04; 5-5.04 = -0.04 -> 5.032; 5-5.032 = -0.032
    # -> 5.0256. RMS = sqrt((1 + 1.44 + 0.0016 + 0.001024) / 4) = sqrt(0.610656).
    level, sigma = ses([4, 6, 5, 5], alpha=0.2)
    assert level == pytest.approx(5.0256)
    assert sigma == pytest.approx(math.sqrt(0.610656))


def test_tsb_from_the_frequency_and_mean_size() -> None:
    # p0 = 2 sale days / 6 = 1/3, z0 = mean size 3, so the first forecast is 1. Each
    # day: error y - p x z, then p moves 0.1 towards 1 (sale) or 0; z moves 0.2
    # towards the size on sale days (always 3 here):
    # 3: e 2,        p 1/3 + 0.1 x 2/3 = 0.4
    # 0: e -1.2,     p 0.36
    # 0: e -1.08,    p 0.324
    # 3: e 2.028,    p 0.324 + 0.1 x 0.676 = 0.3916
    # 0: e -1.1748,  p 0.35244
    # 0: e -1.05732, p 0.317196
    probability, size, sigma = tsb([3, 0, 0, 3, 0, 0], alpha=0.2, beta=0.1)
    assert probability == pytest.approx(0.317196)
    assert size == pytest.approx(3.0)
    squares = [4, 1.44, 1.1664, 2.028**2, 1.1748**2, 1.05732**2]
    assert sigma == pytest.approx(math.sqrt(sum(squares) / 6))


def test_tsb_sizes_move_only_on_sale_days() -> None:
    # z0 = mean(2, 6) = 4; sale days: 2 -> 4 + 0.5 x (2 - 4) = 3; 6 -> 3 + 0.5 x 3 = 4.5.
    _, size, _ = tsb([2, 0, 0, 6], alpha=0.5, beta=0.1)
    assert size == pytest.approx(4.5)


def test_trim_starts_at_the_first_sale() -> None:
    assert trim([0, 0, 2, 0, 1]) == [2, 0, 1]
    assert trim([0, 0]) == []


REGULAR = [5, 4, 6, 5, 5, 4, 6, 5, 5, 5]
INTERMITTENT = [0, 0, 3, 0, 0, 0, 2, 0, 0, 4, 0, 0]


@pytest.mark.parametrize(
    ("history", "method", "days", "sale_days", "units", "adi"),
    [
        # Sales every day: ADI 1 <= 1.32, smoothing.
        (REGULAR, "ses", 10, 10, 50, 1.0),
        # From the first sale (day 3): 10 days, 3 with a sale, ADI 3.33 > 1.32.
        (INTERMITTENT, "tsb", 10, 3, 9, 10 / 3),
        # A sale on 3 of 4 days: ADI 1.33 > 1.32 (just intermittent).
        ([2, 0, 2, 2], "tsb", 4, 3, 6, 4 / 3),
        # 4 of 5: ADI 1.25, regular.
        ([2, 0, 2, 2, 2], "ses", 5, 4, 8, 1.25),
    ],
)
def test_the_method_follows_the_data(
    *, history: list[int], method: str, days: int, sale_days: int, units: int, adi: float
) -> None:
    found = forecast(history, alpha=0.2, beta=0.1)
    assert (found.method, found.history_days, found.sale_days, found.units_sold) == (
        method,
        days,
        sale_days,
        units,
    )
    assert found.adi == pytest.approx(adi)
    assert found.daily_demand > 0
    assert found.sigma > 0


def test_regular_demand_is_smoothed() -> None:
    found = forecast(REGULAR, alpha=0.2, beta=0.1)
    level, sigma = ses(REGULAR, 0.2)
    assert (found.daily_demand, found.sigma) == (level, sigma)
    assert found.probability is None


def test_intermittent_demand_is_tsb() -> None:
    found = forecast(INTERMITTENT, alpha=0.2, beta=0.1)
    probability, size, sigma = tsb(INTERMITTENT[2:], 0.2, 0.1)
    assert found.daily_demand == pytest.approx(probability * size)
    assert (found.probability, found.size, found.sigma) == (probability, size, sigma)


def test_no_sale_forecasts_nothing() -> None:
    assert forecast([0] * 30, alpha=0.2, beta=0.1) == Forecast("none", 0.0, 0.0, 0, 0, 0, None)
    assert forecast([], alpha=0.2, beta=0.1).method == "none"


def test_a_product_that_stopped_selling_decays() -> None:
    # TSB's point against Croston: days without a sale pull the forecast down.
    busy = forecast([3, 0, 3, 0, 3, 0], alpha=0.2, beta=0.1)
    stopped = forecast([3, 0, 3, 0, 3, 0] + [0] * 20, alpha=0.2, beta=0.1)
    assert stopped.method == "tsb"
    assert stopped.daily_demand < busy.daily_demand * 0.2


def test_negative_sales_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        forecast([1, -1], alpha=0.2, beta=0.1)
