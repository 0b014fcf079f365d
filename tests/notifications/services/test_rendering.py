"""Messages per topic and locale: subject, money and dates as Babel formats them for the
locale, the refund line only for a paid cancellation, HTML escaped, both parts present."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from productstore_notifications.app.models import TOPICS, Locale, Topic
from productstore_notifications.app.services.notifier import EMAIL_TOPICS
from productstore_notifications.app.services.rendering import OrderFacts, render, render_short

AT = datetime(2026, 3, 8, 14, 5, tzinfo=UTC)
ORDER = "0f1e2d3c-aaaa-bbbb-cccc-123456789abc"

CASES: list[tuple[Topic, Locale, OrderFacts, str, tuple[str, ...]]] = [
    (
        "order_placed",
        "en",
        OrderFacts(ORDER, AT, Decimal("1234.5"), "EUR"),
        "Order 0F1E2D3C received",
        ("€1,234.50", "8 March 2026"),
    ),
    (
        "order_placed",
        "ru",
        OrderFacts(ORDER, AT, Decimal("1234.5"), "RUB"),
        "Заказ 0F1E2D3C принят",
        ("1\xa0234,50\xa0₽", "8 марта 2026"),
    ),
    (
        "order_placed",
        "en",
        OrderFacts(ORDER, AT),
        "Order 0F1E2D3C received",
        ("Total: see your order",),
    ),
    ("order_paid", "ru", OrderFacts(ORDER, AT), "Заказ 0F1E2D3C оплачен", ("готовим",)),
    (
        "order_cancelled",
        "en",
        OrderFacts(ORDER, AT, reason="payment_failed"),
        "Order 0F1E2D3C was cancelled",
        ("(the payment failed)",),
    ),
    (
        "order_cancelled",
        "ru",
        OrderFacts(ORDER, AT, reason="customer", refunded=True),
        "Заказ 0F1E2D3C отменён",
        ("по вашей просьбе", "Деньги вернутся"),
    ),
    ("order_expired", "en", OrderFacts(ORDER, AT), "Order 0F1E2D3C expired", ("not paid in time",)),
]


@pytest.mark.parametrize(("topic", "locale", "facts", "subject", "phrases"), CASES)
def test_messages(
    topic: Topic, locale: Locale, facts: OrderFacts, subject: str, phrases: tuple[str, ...]
) -> None:
    rendered = render(topic, facts, locale)
    assert rendered.subject == subject
    for phrase in phrases:
        assert phrase in rendered.text
        assert phrase in rendered.summary
    assert f'<html lang="{locale}">' in rendered.html
    assert subject in rendered.html


def test_a_refund_line_only_when_paid() -> None:
    unpaid = render("order_cancelled", OrderFacts(ORDER, AT, reason="admin"), "en")
    paid = render("order_cancelled", OrderFacts(ORDER, AT, reason="admin", refunded=True), "en")
    assert "refunded" not in unpaid.text
    assert "refunded" in paid.text


@pytest.mark.parametrize("locale", ["en", "ru"])
@pytest.mark.parametrize("topic", EMAIL_TOPICS)
def test_every_topic_has_text_in_every_locale(topic: Topic, locale: Locale) -> None:
    rendered = render(topic, OrderFacts(ORDER, AT, Decimal(1), "USD", reason="other"), locale)
    assert rendered.subject
    assert "{" not in rendered.text


def test_html_is_escaped() -> None:
    rendered = render("order_cancelled", OrderFacts("<script>x", AT, reason="other"), "en")
    assert "<SCRIPT>" not in rendered.html
    assert "&lt;SCRIPT&gt;" in rendered.html


@pytest.mark.parametrize("locale", ["en", "ru"])
@pytest.mark.parametrize("topic", TOPICS)
def test_every_topic_has_a_short_text_in_every_locale(topic: Topic, locale: Locale) -> None:
    short = render_short(topic, OrderFacts(ORDER, AT, Decimal(1), "USD"), locale)
    assert short.title
    assert ORDER[:8].upper() in short.text
    assert "{" not in short.text + short.title
    # One SMS part in GSM-7 (160) or UCS-2 (70, Cyrillic) is the aim; two at most.
    assert len(short.text) <= (140 if locale == "ru" else 160)
