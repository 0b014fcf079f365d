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

from productstore_notifications.app.models import Locale, Topic

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


def render(topic: Topic, facts: OrderFacts, locale: Locale) -> Rendered:
    """The message about `facts` in `locale` (unknown text keys fail loudly, in tests)."""
    messages = _messages(locale)
    layout = messages["layout"]
    text = messages[topic]
    total = (
        money(facts.total, facts.currency, locale)
        if facts.total is not None and facts.currency
        else layout["total_unknown"]
    )
    values = {
        "ref": facts.order_id[:8].upper(),
        "date": moment(facts.at, locale),
        "total": total,
        "reason": messages["reasons"].get(facts.reason or "other", messages["reasons"]["other"]),
    }
    subject = text["subject"].format(**values)
    paragraphs = [text["body"].format(**values)]
    if facts.refunded and "refund" in text:
        paragraphs.append(text["refund"])
    context = {"lang": locale, "subject": subject, "paragraphs": paragraphs, "layout": layout}
    env = _environment()
    return Rendered(
        subject=subject,
        text=env.get_template("email.txt.j2").render(context),
        html=env.get_template("email.html.j2").render(context),
        summary=" ".join(paragraphs),
    )


@dataclass(frozen=True)
class Short:
    """An SMS text, or a push notification's title and body."""

    title: str
    text: str


@cache
def _short_messages(locale: Locale) -> dict[str, Any]:
    source = (
        resources.files("productstore_notifications.app") / "templates" / f"short.{locale}.toml"
    )
    return tomllib.loads(source.read_text(encoding="utf-8"))


def render_short(topic: Topic, facts: OrderFacts, locale: Locale) -> Short:
    """The SMS and push text about `facts` in `locale` (templates/short.<locale>.toml)."""
    messages = _short_messages(locale)
    total = (
        money(facts.total, facts.currency, locale)
        if facts.total is not None and facts.currency
        else messages["layout"]["total_unknown"]
    )
    values = {
        "ref": facts.order_id[:8].upper(),
        "date": format_datetime(
            facts.at.astimezone(UTC), "d MMMM", tzinfo=UTC, locale=BABEL_LOCALES[locale]
        ),
        "total": total,
    }
    text = messages[topic]
    return Short(title=text["title"].format(**values), text=text["text"].format(**values))
