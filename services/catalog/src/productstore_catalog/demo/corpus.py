# ruff: noqa: RUF001 -- Russian product text is Cyrillic on purpose
"""A deterministic (seeded) generator of realistic Russian and English products.

The words are chosen to exercise search: inflected forms that need stemming
("смартфоны"/"смартфона", "shoes"/"running"), diacritics ("Café", "Crème"), and
"ё" ("чёрный", "ёмкость"). Same count and seed, same products, byte for byte.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Category:
    slug: str
    name_en: str
    name_ru: str


@dataclass(frozen=True, slots=True)
class DemoProduct:
    id: uuid.UUID
    name: str
    description: str
    category: str  # category slug
    price: Decimal
    currency: str
    attributes: dict[str, str]
    image_urls: list[str]
    in_stock: bool
    rating: float | None
    created_at: datetime
    language: str  # "ru" or "en"


@dataclass(frozen=True, slots=True)
class _Vocabulary:
    """What one category's products are made of, per language."""

    nouns_en: tuple[str, ...]
    nouns_ru: tuple[str, ...]
    brands: tuple[str, ...]
    features_en: tuple[str, ...]
    features_ru: tuple[str, ...]
    price_rub: tuple[int, int]
    attributes: dict[str, tuple[str, ...]] = field(default_factory=dict)


CATEGORIES: tuple[Category, ...] = (
    Category("smartphones", "Smartphones", "Смартфоны"),
    Category("laptops", "Laptops", "Ноутбуки"),
    Category("headphones", "Headphones", "Наушники"),
    Category("shoes", "Shoes", "Обувь"),
    Category("coffee", "Coffee & Tea", "Кофе и чай"),
    Category("kitchen", "Kitchen", "Кухня"),
    Category("books", "Books", "Книги"),
    Category("toys", "Toys", "Игрушки"),
)

_COLORS_EN = ("black", "white", "red", "blue", "green", "silver", "graphite")
_COLORS_RU = ("чёрный", "белый", "красный", "синий", "зелёный", "серебристый", "графитовый")
_ADJECTIVES_EN = ("New", "Compact", "Premium", "Classic", "Light", "Pro", "Ultra", "Smart")
_ADJECTIVES_RU = ("Новый", "Компактный", "Премиальный", "Классический", "Лёгкий", "Умный")

_VOCABULARIES: dict[str, _Vocabulary] = {
    "smartphones": _Vocabulary(
        ("Smartphone", "Phone", "Smartphones"),
        ("Смартфон", "Телефон", "Смартфоны"),
        ("Galaxy", "Pixel", "Redmi", "Nokia", "Xperia", "Honor"),
        (
            "a bright OLED display",
            "a camera that shoots great photos at night",
            "fast charging",
            "a battery that lasts two days",
            "dual SIM cards",
        ),
        (
            "яркий OLED-экран",
            "камера, снимающая ночью",
            "быстрая зарядка",
            "аккумулятор на два дня",
            "поддержка двух SIM-карт",
            "ёмкий аккумулятор",
        ),
        (9_000, 140_000),
        {"memory": ("64 GB", "128 GB", "256 GB"), "screen": ("6.1", "6.5", "6.7")},
    ),
    "laptops": _Vocabulary(
        ("Laptop", "Notebook", "Ultrabook"),
        ("Ноутбук", "Ультрабук", "Ноутбуки"),
        ("ThinkPad", "ZenBook", "MacBook", "Aspire", "Vostro"),
        (
            "a backlit keyboard",
            "a matte screen for working outdoors",
            "sixteen hours on battery",
            "a quiet fan",
            "two USB-C ports",
        ),
        (
            "клавиатура с подсветкой",
            "матовый экран для работы на улице",
            "шестнадцать часов без подзарядки",
            "тихий вентилятор",
            "два порта USB-C",
        ),
        (35_000, 250_000),
        {"ram": ("8 GB", "16 GB", "32 GB"), "cpu": ("Core i5", "Core i7", "Ryzen 7")},
    ),
    "headphones": _Vocabulary(
        ("Headphones", "Earbuds", "Headset"),
        ("Наушники", "Гарнитура", "Беспроводные наушники"),
        ("Sony", "JBL", "Sennheiser", "Marshall", "Bose"),
        ("active noise cancelling", "deep bass", "a microphone for calls", "thirty hours of music"),
        (
            "активное шумоподавление",
            "глубокие басы",
            "микрофон для звонков",
            "тридцать часов музыки",
            "наушники для бега",
        ),
        (1_500, 45_000),
        {"type": ("in-ear", "over-ear", "on-ear")},
    ),
    "shoes": _Vocabulary(
        ("Running Shoe", "Running Shoes", "Sneakers", "Hiking Boots", "Trail Runners"),
        ("Кроссовки для бега", "Беговые кроссовки", "Ботинки", "Кеды", "Туфли"),
        ("Nike", "Asics", "Salomon", "Brooks", "Adidas"),
        (
            "a cushioned sole for long runs",
            "breathable mesh",
            "a grippy outsole for trails",
            "waterproof leather",
        ),
        (
            "мягкая подошва для длинных пробежек",
            "дышащая сетка",
            "цепкая подошва для трейлов",
            "непромокаемая кожа",
            "ботинки для походов",
        ),
        (2_500, 25_000),
        {"size": ("39", "40", "41", "42", "43", "44")},
    ),
    "coffee": _Vocabulary(
        ("Café Crème Coffee", "Espresso Beans", "Green Tea", "Ground Coffee", "Coffee Capsules"),
        ("Кофе в зёрнах", "Молотый кофе", "Зелёный чай", "Кофе Café Crème", "Капсулы для кофе"),
        ("Lavazza", "Illy", "Jardin", "Ahmad", "Nespresso"),
        (
            "notes of chocolate and caramel",
            "a medium roast",
            "crème brûlée flavour",
            "beans from Colombia",
        ),
        (
            "ноты шоколада и карамели",
            "средняя обжарка",
            "вкус крем-брюле",
            "зёрна из Колумбии",
            "крепкий эспрессо",
        ),
        (300, 3_500),
        {"weight": ("250 g", "500 g", "1 kg")},
    ),
    "kitchen": _Vocabulary(
        ("Frying Pan", "Kettle", "Coffee Grinder", "Knife Set", "Blender"),
        ("Сковорода", "Чайник", "Кофемолка", "Набор ножей", "Блендер"),
        ("Tefal", "Bosch", "Fissler", "Zwilling", "Kitfort"),
        (
            "a non-stick coating",
            "a stainless steel body",
            "dishwasher safe parts",
            "a crème brûlée torch included",
        ),
        (
            "антипригарное покрытие",
            "корпус из нержавеющей стали",
            "можно мыть в посудомойке",
            "ёмкость 1,7 литра",
        ),
        (900, 30_000),
        {"material": ("steel", "aluminium", "ceramic")},
    ),
    "books": _Vocabulary(
        ("Novel", "Cookbook", "Guide", "Detective Story"),
        ("Роман", "Кулинарная книга", "Путеводитель", "Детектив", "Сказки"),
        ("Penguin", "Эксмо", "АСТ", "O'Reilly", "Манн, Иванов и Фербер"),
        (
            "a hardcover edition",
            "illustrations on every page",
            "recipes for every day",
            "a story about a café in Paris",
        ),
        (
            "твёрдый переплёт",
            "иллюстрации на каждой странице",
            "рецепты на каждый день",
            "история о маленьком кафе в Париже",
            "сказки про ёжика",
        ),
        (250, 2_500),
        {"pages": ("192", "320", "480")},
    ),
    "toys": _Vocabulary(
        ("Building Blocks", "Plush Bear", "Puzzle", "Toy Car", "Board Game"),
        ("Конструктор", "Плюшевый мишка", "Пазл", "Машинка", "Настольная игра", "Ёлочные игрушки"),
        ("LEGO", "Hasbro", "Ravensburger", "Mattel", "Десятое королевство"),
        ("safe for children from three years", "a thousand pieces", "soft and washable"),
        (
            "безопасно для детей от трёх лет",
            "тысяча деталей",
            "мягкий, можно стирать",
            "весёлая игра для всей семьи",
        ),
        (400, 12_000),
        {"age": ("3+", "6+", "12+")},
    ),
}

_RUB_PER_USD = 90
_START = datetime(2025, 1, 1, tzinfo=UTC)
_SPAN_SECONDS = 365 * 24 * 3600


def _name(rng: random.Random, vocabulary: _Vocabulary, language: str) -> str:
    nouns = vocabulary.nouns_ru if language == "ru" else vocabulary.nouns_en
    adjectives = _ADJECTIVES_RU if language == "ru" else _ADJECTIVES_EN
    model = f"{rng.choice('ASXZ')}{rng.randint(1, 99)}"
    noun, brand = rng.choice(nouns), rng.choice(vocabulary.brands)
    if rng.random() < 0.3:
        adjective = rng.choice(adjectives)
        return f"{adjective} {noun[0].lower()}{noun[1:]} {brand} {model}"
    return f"{noun} {brand} {model}"


def _description(rng: random.Random, vocabulary: _Vocabulary, language: str, category: str) -> str:
    if language == "ru":
        first, second = rng.sample(vocabulary.features_ru, 2)
        color = rng.choice(_COLORS_RU)
        return (
            f"{category}: {first} и {second}. Цвет — {color}. "
            f"{rng.choice(('Доставка за один день.', 'Гарантия два года.', 'Хит продаж.'))}"
        )
    first, second = rng.sample(vocabulary.features_en, 2)
    color = rng.choice(_COLORS_EN)
    return (
        f"{category} with {first} and {second}. Colour: {color}. "
        f"{rng.choice(('Ships in one day.', 'Two-year warranty.', 'A bestseller.'))}"
    )


def generate_products(count: int, seed: int = 0) -> Iterator[DemoProduct]:
    """`count` products, the same ones for the same seed; about half Russian, half English."""
    rng = random.Random(seed)  # noqa: S311 -- reproducible demo data, not secrets
    for _ in range(count):
        category = rng.choice(CATEGORIES)
        vocabulary = _VOCABULARIES[category.slug]
        language = "ru" if rng.random() < 0.5 else "en"
        name = _name(rng, vocabulary, language)
        low, high = vocabulary.price_rub
        rubles = rng.randint(low, high)
        if language == "ru":
            price, currency = Decimal(rubles), "RUB"
        else:
            price, currency = Decimal(rubles * 100 // _RUB_PER_USD) / 100, "USD"
        product_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        attributes = {key: rng.choice(values) for key, values in vocabulary.attributes.items()}
        yield DemoProduct(
            id=product_id,
            name=name,
            description=_description(
                rng,
                vocabulary,
                language,
                category.name_ru if language == "ru" else category.name_en,
            ),
            category=category.slug,
            price=price,
            currency=currency,
            attributes=attributes,
            image_urls=[f"https://images.example.com/products/{product_id}.jpg"],
            in_stock=rng.random() < 0.8,
            rating=None if rng.random() < 0.2 else round(rng.uniform(1.0, 5.0), 1),
            created_at=_START + timedelta(seconds=rng.randrange(_SPAN_SECONDS)),
            language=language,
        )
