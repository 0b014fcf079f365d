"""Messages in the user's language: text from templates/<locale>.toml, money and dates
formatted for the locale by Babel, e-mail as HTML plus a plain-text part (Jinja2)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from babel.dates import format_datetime
from babel.numbers import format_currency
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from productstore_notifications.app.models import AdminTopic, Locale, Topic

# Babel's locale for each language we write in.
BABEL_LOCALES: dict[Locale, str] = {"en": "en_GB", "ru": "ru_RU"}


@dataclass(frozen=True)
class OrderFacts:
    """What a message about an order says."""

    order_id: str
    at: datetime
    total: Decimal | None = None
    currency: str | None = None
    reason: str | None = None
    refunded: bool = False


@dataclass(frozen=True)
class ProductFacts:
    """What a wishlist notice says about a product (the notice names it by id; the name
    is the catalog's, None when the catalog did not give one)."""

    product_id: str
    at: datetime
    old_price: Decimal | None = None
    new_price: Decimal | None = None
    currency: str | None = None
    available: int | None = None
    name: str | None = None


@dataclass(frozen=True)
class PromotionFacts:
    """An admin's broadcast, already in the user's language."""

    subject: str
    body: str


@dataclass(frozen=True)
class ReviewFacts:
    """A moderation outcome of the user's review (the product's name from the catalog)."""

    product_id: str
    at: datetime
    name: str | None = None
    reasons: tuple[str, ...] = ()


Facts = OrderFacts | ProductFacts | PromotionFacts | ReviewFacts


@dataclass(frozen=True)
class StockFacts:
    """A product's stock crossing its threshold, for the admins' chats."""

    product_id: str
    available: int
    threshold: int
    name: str | None = None


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str  # the plain-text part (and the in-app body)
    html: str
    summary: str  # one paragraph: the in-app notification's body


@cache
def _messages(locale: Locale) -> dict[str, Any]:
    source = resources.files("productstore_notifications.app") / "templates" / f"{locale}.toml"
    return tomllib.loads(source.read_text(encoding="utf-8"))


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("productstore_notifications.app", "templates"),
        autoescape=select_autoescape(["html.j2"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def money(amount: Decimal, currency: str, locale: Locale) -> str:
    return format_currency(amount, currency, locale=BABEL_LOCALES[locale])


def moment(at: datetime, locale: Locale) -> str:
    return format_datetime(at.astimezone(UTC), "long", tzinfo=UTC, locale=BABEL_LOCALES[locale])


def render(
    topic: Topic, facts: Facts, locale: Locale, *, unsubscribe_url: str | None = None
) -> Rendered:
    """The message about `facts` in `locale` (unknown text keys fail loudly, in tests).
    With `unsubscribe_url` the e-mail ends with the one-click link (promotional topics)."""
    messages = _messages(locale)
    layout = messages["layout"]
    if isinstance(facts, PromotionFacts):
        subject = facts.subject
        paragraphs = [p.strip() for p in facts.body.split("\n\n") if p.strip()]
        footer = messages["promotion"]["footer"]
    else:
        text = messages[topic]
        values = _values(facts, messages, locale)
        subject = text["subject"].format(**values)
        paragraphs = [text["body"].format(**values)]
        if isinstance(facts, OrderFacts) and facts.refunded and "refund" in text:
            paragraphs.append(text["refund"])
        footer = text.get("footer", layout["footer"])
    context = {
        "lang": locale,
        "subject": subject,
        "paragraphs": paragraphs,
        "layout": layout,
        "footer": footer,
        "unsubscribe_url": unsubscribe_url,
    }
    env = _environment()
    return Rendered(
        subject=subject,
        text=env.get_template("email.txt.j2").render(context),
        html=env.get_template("email.html.j2").render(context),
        summary=" ".join(paragraphs),
    )


def _values(
    facts: OrderFacts | ProductFacts | ReviewFacts, messages: dict[str, Any], locale: Locale
) -> dict[str, str]:
    layout = messages["layout"]
    if isinstance(facts, ReviewFacts):
        known = messages["review_reasons"]
        said = dict.fromkeys(known.get(r, known["other"]) for r in facts.reasons)
        return {
            "product": _product(facts.name, facts.product_id, layout["quoted"]),
            "date": moment(facts.at, locale),
            "reasons": ", ".join(said) or known["other"],
        }
    if isinstance(facts, ProductFacts):
        currency = facts.currency or ""
        return {
            "ref": facts.product_id[:8].upper(),
            "product": _product(facts.name, facts.product_id, layout["quoted"]),
            "date": moment(facts.at, locale),
            "old_price": money(facts.old_price, currency, locale)
            if facts.old_price is not None and currency
            else layout["total_unknown"],
            "new_price": money(facts.new_price, currency, locale)
            if facts.new_price is not None and currency
            else layout["total_unknown"],
            "available": str(facts.available or 0),
        }
    total = (
        money(facts.total, facts.currency, locale)
        if facts.total is not None and facts.currency
        else layout["total_unknown"]
    )
    return {
        "ref": facts.order_id[:8].upper(),
        "date": moment(facts.at, locale),
        "total": total,
        "reason": messages["reasons"].get(facts.reason or "other", messages["reasons"]["other"]),
    }


@dataclass(frozen=True)
class Short:
    """An SMS text, or a push notification's title and body."""

    title: str
    text: str


# A broadcast's push: its subject and first paragraph, cut to what a notification shows
# (one GSM-7 SMS part for the text; broadcasts never go by SMS).
SHORT_TITLE_CHARS = 80
SHORT_TEXT_CHARS = 160
# A product name in a message: long enough for any real one, short enough that an SMS
# stays near one part.
PRODUCT_NAME_CHARS = 60


@cache
def _short_messages(locale: Locale) -> dict[str, Any]:
    source = (
        resources.files("productstore_notifications.app") / "templates" / f"short.{locale}.toml"
    )
    return tomllib.loads(source.read_text(encoding="utf-8"))


def render_short(topic: Topic, facts: Facts, locale: Locale) -> Short:
    """The SMS and push text about `facts` in `locale` (templates/short.<locale>.toml; a
    broadcast's own words, cut short)."""
    if isinstance(facts, PromotionFacts):
        first = next((p for p in facts.body.split("\n\n") if p.strip()), facts.subject)
        return Short(
            title=_cut(" ".join(facts.subject.split()), SHORT_TITLE_CHARS),
            text=_cut(" ".join(first.split()), SHORT_TEXT_CHARS),
        )
    messages = _short_messages(locale)
    unknown = messages["layout"]["total_unknown"]
    values = {
        "date": format_datetime(
            facts.at.astimezone(UTC), "d MMMM", tzinfo=UTC, locale=BABEL_LOCALES[locale]
        )
    }
    if isinstance(facts, ReviewFacts):
        values["product"] = _product(facts.name, facts.product_id, messages["layout"]["quoted"])
    elif isinstance(facts, ProductFacts):
        values["ref"] = facts.product_id[:8].upper()
        values["product"] = _product(facts.name, facts.product_id, messages["layout"]["quoted"])
        values["new_price"] = (
            money(facts.new_price, facts.currency, locale)
            if facts.new_price is not None and facts.currency
            else unknown
        )
        values["available"] = str(facts.available or 0)
    else:
        values["ref"] = facts.order_id[:8].upper()
        values["total"] = (
            money(facts.total, facts.currency, locale)
            if facts.total is not None and facts.currency
            else unknown
        )
    text = messages[topic]
    return Short(title=text["title"].format(**values), text=text["text"].format(**values))


def render_phone_code(code: str, minutes: int, locale: Locale) -> str:
    """The SMS carrying a phone's one-time code (templates/short.<locale>.toml)."""
    text: str = _short_messages(locale)["phone_code"]["text"]
    return text.format(code=code, minutes=minutes)


@cache
def _admin_messages(locale: Locale) -> dict[str, Any]:
    source = (
        resources.files("productstore_notifications.app") / "templates" / f"admin.{locale}.toml"
    )
    return tomllib.loads(source.read_text(encoding="utf-8"))


def render_admin(topic: AdminTopic, facts: StockFacts, locale: Locale) -> str:
    """The chat message to the admins about a stock crossing (templates/admin.<locale>.toml)."""
    messages = _admin_messages(locale)
    return str(messages[topic]["text"]).format(
        product=_product(facts.name, facts.product_id, messages["layout"]["quoted"]),
        product_id=facts.product_id,
        available=facts.available,
        threshold=facts.threshold,
    )


def _product(name: str | None, product_id: str, quoted: str) -> str:
    """The product as a message names it: its catalog name in the language's quotes,
    else its short reference (the templates say "product" / "товар" around it)."""
    if name and name.strip():
        return quoted.format(name=_cut(" ".join(name.split()), PRODUCT_NAME_CHARS))
    return product_id[:8].upper()


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
