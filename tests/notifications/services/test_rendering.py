"""Messages per topic and locale: subject, money and dates as Babel formats them for the
locale, the refund line only for a paid cancellation, HTML escaped, both parts present,
the unsubscribe link in both parts when there is one."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from productstore_notifications.app.models import TOPICS, AdminTopic, Locale, Topic
from productstore_notifications.app.services.rendering import (
    Facts,
    OrderFacts,
    ProductFacts,
    PromotionFacts,
    ReviewFacts,
    StockFacts,
    render,
    render_admin,
    render_short,
)

AT = datetime(2026, 3, 8, 14, 5, tzinfo=UTC)
ORDER = "0f1e2d3c-aaaa-bbbb-cccc-123456789abc"
PRODUCT = "a1b2c3d4-aaaa-bbbb-cccc-123456789abc"
DROP = ProductFacts(PRODUCT, AT, Decimal("2499"), Decimal("1999.9"), "EUR")
BACK = ProductFacts(PRODUCT, AT, available=3)

CASES: list[tuple[Topic, Locale, Facts, str, tuple[str, ...]]] = [
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
    (
        "order_fulfilled",
        "en",
        OrderFacts(ORDER, AT),
        "Order 0F1E2D3C has shipped",
        ("left our warehouse on 8 March 2026",),
    ),
    ("order_fulfilled", "ru", OrderFacts(ORDER, AT), "Заказ 0F1E2D3C отправлен", ("8 марта",)),
    ("order_delivered", "en", OrderFacts(ORDER, AT), "Order 0F1E2D3C was delivered", ("review",)),
    ("order_delivered", "ru", OrderFacts(ORDER, AT), "Заказ 0F1E2D3C доставлен", ("отзыв",)),
    (
        "price_drop",
        "en",
        DROP,
        "A product on your wishlist now costs €1,999.90",
        ("from €2,499.00 to €1,999.90", "A1B2C3D4"),
    ),
    (
        "price_drop",
        "ru",
        ProductFacts(PRODUCT, AT, Decimal("2499"), Decimal("1999.9"), "RUB"),
        "Товар из вашего списка желаний теперь стоит 1\xa0999,90\xa0₽",
        ("с 2\xa0499,00\xa0₽ до 1\xa0999,90\xa0₽",),  # noqa: RUF001 (Russian)
    ),
    (
        "back_in_stock",
        "en",
        BACK,
        "A product on your wishlist is back in stock",
        ("3 available", "A1B2C3D4"),
    ),
    (
        "back_in_stock",
        "ru",
        BACK,
        "Товар из вашего списка желаний снова в продаже",
        ("в наличии 3",),
    ),
    (
        "promotion",
        "en",
        PromotionFacts("Winter sale", "Everything -20%.\n\nUntil Sunday."),
        "Winter sale",
        ("Everything -20%.", "Until Sunday."),
    ),
]
CASES += [
    (
        "review_approved",
        "en",
        ReviewFacts(PRODUCT, AT, name="Tea kettle"),
        "Your review is published",
        ("review of product “Tea kettle”", "8 March 2026"),
    ),
    (
        "review_rejected",
        "ru",
        ReviewFacts(PRODUCT, AT, reasons=("profanity", "link", "unheard_of", "link")),
        "Ваш отзыв не опубликован",
        # Each reason once, in order; one we have no words for is "other".
        ("товаре A1B2C3D4 не опубликован (нецензурная лексика, ссылки, нарушение правил отзывов)",),
    ),
    (
        "review_rejected",
        "en",
        ReviewFacts(PRODUCT, AT, name="Tea kettle"),
        "Your review was not published",
        ("(it breaks the review rules)", "edit it"),
    ),
]
# A message of each topic, for the checks that every topic has text in every locale.
EXAMPLES: dict[Topic, Facts] = {topic: facts for topic, _, facts, _, _ in reversed(CASES)}


@pytest.mark.parametrize(("topic", "locale", "facts", "subject", "phrases"), CASES)
def test_messages(
    topic: Topic, locale: Locale, facts: Facts, subject: str, phrases: tuple[str, ...]
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
@pytest.mark.parametrize("topic", TOPICS)
def test_every_topic_has_text_in_every_locale(topic: Topic, locale: Locale) -> None:
    rendered = render(topic, EXAMPLES[topic], locale)
    assert rendered.subject
    assert "{" not in rendered.text
    assert "{" not in rendered.html


@pytest.mark.parametrize(
    ("topic", "footer"),
    [
        ("order_paid", "because you ordered"),
        ("price_drop", "on a wishlist you own or follow"),
        ("review_rejected", "because you wrote a review"),
        ("back_in_stock", "on a wishlist you own or follow"),
        ("promotion", "because you turned on promotions"),
    ],
)
def test_the_footer_says_why_the_user_gets_it(topic: Topic, footer: str) -> None:
    rendered = render(topic, EXAMPLES[topic], "en")
    assert footer in rendered.text
    assert footer in rendered.html
    assert footer not in rendered.summary


def test_the_unsubscribe_link_is_in_both_parts_only_when_given() -> None:
    url = "http://shop.test/api/notifications/unsubscribe?token=a.b"
    linked = render("price_drop", DROP, "ru", unsubscribe_url=url)
    assert f"Отписаться от этих писем: {url}" in linked.text
    assert f'<a href="{url}">' in linked.html
    plain = render("price_drop", DROP, "ru")
    assert "Отписаться" not in plain.text
    assert "Отписаться" not in plain.html


def test_html_is_escaped() -> None:
    rendered = render("order_cancelled", OrderFacts("<script>x", AT, reason="other"), "en")
    assert "<SCRIPT>" not in rendered.html
    assert "&lt;SCRIPT&gt;" in rendered.html


@pytest.mark.parametrize("locale", ["en", "ru"])
@pytest.mark.parametrize("topic", TOPICS)
def test_every_topic_has_a_short_text_in_every_locale(topic: Topic, locale: Locale) -> None:
    facts = EXAMPLES[topic]
    if isinstance(facts, OrderFacts):
        facts = OrderFacts(ORDER, AT, Decimal(1), "USD")
    short = render_short(topic, facts, locale)
    assert short.title
    if not isinstance(facts, PromotionFacts):
        # The product's name when the catalog gave one, else the short reference.
        named = getattr(facts, "name", None)
        ref = (ORDER if isinstance(facts, OrderFacts) else PRODUCT)[:8].upper()
        assert (named or ref) in short.text
    assert "{" not in short.text + short.title
    # One SMS part in GSM-7 (160) or UCS-2 (70, Cyrillic) is the aim; two at most.
    assert len(short.text) <= (140 if locale == "ru" else 160)


def test_wishlist_short_texts_name_the_price_and_the_units() -> None:
    assert "€1,999.90" in render_short("price_drop", DROP, "en").text
    assert "1\xa0999,90\xa0€" in render_short("price_drop", DROP, "ru").text
    assert "(3 available)" in render_short("back_in_stock", BACK, "en").text


def test_a_broadcasts_push_is_its_subject_and_first_paragraph_cut_short() -> None:
    body = "Everything -20%,   until Sunday.\n\n" + "More words. " * 40
    short = render_short("promotion", PromotionFacts("Winter sale " * 10, body), "ru")
    assert short.text == "Everything -20%, until Sunday."
    assert len(short.title) <= 80
    assert short.title.endswith("…")
    long_first = render_short("promotion", PromotionFacts("Sale", "word " * 100), "en")
    assert 150 < len(long_first.text) <= 160
    assert long_first.text.endswith("…")


NAMED_DROP = ProductFacts(PRODUCT, AT, Decimal("2499"), Decimal("1999.9"), "EUR", name="Tea kettle")
NAMED_BACK = ProductFacts(PRODUCT, AT, available=3, name="Чайник  «Ласточка»\n")


@pytest.mark.parametrize(
    ("topic", "facts", "locale", "named"),
    [
        ("price_drop", NAMED_DROP, "en", "product “Tea kettle”"),
        ("price_drop", NAMED_DROP, "ru", "товара «Tea kettle»"),
        # Whitespace in a catalog name is folded: a name never breaks a line or a template.
        ("back_in_stock", NAMED_BACK, "ru", "Товар «Чайник «Ласточка»»"),
        ("back_in_stock", NAMED_BACK, "en", "Product “Чайник «Ласточка»”"),
    ],
)
def test_wishlist_messages_name_the_product_when_the_catalog_did(
    topic: Topic, facts: ProductFacts, locale: Locale, named: str
) -> None:
    rendered = render(topic, facts, locale)
    short = render_short(topic, facts, locale)
    assert named in rendered.text
    assert named.split(" ", 1)[1] in short.text
    assert PRODUCT[:8].upper() not in rendered.text + short.text


def test_a_long_product_name_is_cut() -> None:
    facts = ProductFacts(PRODUCT, AT, available=3, name="Kettle " * 40)
    short = render_short("back_in_stock", facts, "en")
    assert "…”" in short.text
    assert len(short.text) <= 160


STOCK = StockFacts(PRODUCT, available=2, threshold=5, name="Tea kettle")
ADMIN_CASES: list[tuple[AdminTopic, Locale, StockFacts, str]] = [
    (
        "low_stock",
        "en",
        STOCK,
        f"Low stock: product “Tea kettle” ({PRODUCT}) is down to 2 available, at or below its "
        "threshold of 5.",
    ),
    (
        "stock_recovered",
        "en",
        StockFacts(PRODUCT, available=9, threshold=5),
        f"Stock recovered: product A1B2C3D4 ({PRODUCT}) has 9 available again, above its "
        "threshold of 5.",
    ),
    (
        "low_stock",
        "ru",
        STOCK,
        f"Мало на складе: товар «Tea kettle» ({PRODUCT}), доступно 2, порог 5.",
    ),
    (
        "stock_recovered",
        "ru",
        StockFacts(PRODUCT, available=9, threshold=5),
        f"Остаток восстановлен: товар A1B2C3D4 ({PRODUCT}), снова доступно 9, порог 5.",
    ),
]


@pytest.mark.parametrize(("topic", "locale", "facts", "text"), ADMIN_CASES)
def test_admin_chat_messages(
    topic: AdminTopic, locale: Locale, facts: StockFacts, text: str
) -> None:
    assert render_admin(topic, facts, locale) == text
