"""The descriptor of every service that exists: the one table of services.

devstack runs these, the operator deploys and wires these, the chart's generated
values route to these. A service that is planned but has no code has no
descriptor, so nothing can enable it by accident.
"""

from __future__ import annotations

from typing import Final

from productstore_contracts.descriptor import SecretFile, ServiceDescriptor, check_registry
from productstore_contracts.events.catalog import CATALOG_TOPIC
from productstore_contracts.events.inventory import INVENTORY_TOPIC
from productstore_contracts.events.orders import ORDERS_TOPIC
from productstore_contracts.events.reviews import REVIEWS_TOPIC
from productstore_contracts.events.wishlist import WISHLIST_TOPIC

AUTH: Final = ServiceDescriptor(
    name="auth",
    summary="users, roles, refresh tokens and signing keys",
    route_prefixes=("/api/auth/",),
    port=8101,
    dependencies=frozenset({"cassandra", "redis", "vault"}),
    secrets=(
        # The ES256 signing-key set (productstore_auth.app.data.vault): auth rotates it
        # and keeps the previous public keys, so nobody else may write it.
        SecretFile(file="signing_keys", key="auth/signing-keys", fields=("keys",), kind="owned"),
        # The password of the store's first administrator (AUTH_FIRST_ADMIN_PASSWORD),
        # made once per store; auth creates the account at its first start. An
        # administrator reads it from Vault, logs in and changes it.
        SecretFile(file="first_admin", key="auth/first-admin", fields=("password",)),
    ),
)

CATALOG: Final = ServiceDescriptor(
    name="catalog",
    summary="products, categories, prices and search",
    route_prefixes=("/api/products", "/api/categories"),
    port=8102,
    dependencies=frozenset({"cassandra", "redis", "kafka"}),
    calls=frozenset({"auth"}),
    produces=(CATALOG_TOPIC,),
    # Every replica's search index follows the product topic; `in_stock` follows
    # inventory's StockChanged and the ratings the reviews' events (one consumer group
    # for each).
    consumes=(CATALOG_TOPIC, INVENTORY_TOPIC, REVIEWS_TOPIC),
    secrets=(
        # Every replica signs search cursors with the same key, made once per store.
        SecretFile(file="search_cursor", key="catalog/search-cursor", fields=("key",)),
    ),
)

ORDERS: Final = ServiceDescriptor(
    name="orders",
    summary="carts, checkout and the order state machine (reserve, pay, fulfil, deliver)",
    route_prefixes=("/api/cart", "/api/orders"),
    port=8103,
    # Redis: the kit reads auth's role epochs there for the admin routes. Payments: the
    # provider authorises, captures, voids and refunds.
    dependencies=frozenset({"cassandra", "kafka", "redis", "payments"}),
    # auth: tokens; catalog: prices at read time; inventory: what a cart can still get.
    calls=frozenset({"auth", "catalog", "inventory"}),
    produces=(ORDERS_TOPIC,),
    # Reservation outcomes move the orders' state machine.
    consumes=(INVENTORY_TOPIC,),
)

INVENTORY: Final = ServiceDescriptor(
    name="inventory",
    summary="stock per location, reservations that never oversell, low-stock alerts",
    route_prefixes=("/api/inventory",),
    port=8104,
    # Redis: the kit reads auth's role epochs there, so an admin whose role was taken
    # away is refused at once, not when the token expires (its routes write stock).
    dependencies=frozenset({"cassandra", "kafka", "redis"}),
    calls=frozenset({"auth"}),
    produces=(INVENTORY_TOPIC,),
    # Order events drive the holds (reserve, commit, release, restock).
    consumes=(ORDERS_TOPIC,),
)

REVIEWS: Final = ServiceDescriptor(
    name="reviews",
    summary="reviews and ratings, moderation and sentiment",
    route_prefixes=("/api/reviews",),
    port=8105,
    # Redis: auth's role epochs (moderators are admins, refused at once when demoted).
    dependencies=frozenset({"cassandra", "kafka", "redis"}),
    calls=frozenset({"auth"}),
    # Published and removed reviews: the catalog keeps each product's rating from them.
    produces=(REVIEWS_TOPIC,),
    # Delivered orders: a review of a product the author received is a verified purchase.
    consumes=(ORDERS_TOPIC,),
)

NOTIFICATIONS: Final = ServiceDescriptor(
    name="notifications",
    summary="e-mail and in-app notifications of order events, preferences, the delivery log",
    route_prefixes=("/api/notifications",),
    port=8106,
    # Redis: auth's role epochs (the delivery log is for admins). Mail: the SMTP server.
    dependencies=frozenset({"cassandra", "kafka", "redis", "mail"}),
    # auth: tokens, and each recipient's e-mail address (a service token, ADR 0027);
    # catalog: the names of the products that notices and stock crossings name by id
    # (public reads, no service token).
    calls=frozenset({"auth", "catalog"}),
    service_tokens=frozenset({"auth"}),
    # Order events become messages to the order's owner; the wishlist's price-drop and
    # back-in-stock notices messages to the user they name; inventory's LowStock and
    # BackInStock messages to the admins' chats (Slack, Telegram); the reviews'
    # ReviewModerated a message to the review's author.
    consumes=(ORDERS_TOPIC, WISHLIST_TOPIC, INVENTORY_TOPIC, REVIEWS_TOPIC),
    secrets=(
        # Signs the one-click unsubscribe links of promotional e-mail (HMAC; ADR 0030).
        SecretFile(file="unsubscribe", key="notifications/unsubscribe", fields=("key",)),
        # The store's VAPID private key for Web Push (ADR 0028): 32 random octets in
        # base64url, which is what a generated field is, read as a P-256 scalar (one
        # draw in about 2^32 is out of range; the service then refuses to start).
        SecretFile(file="vapid", key="notifications/vapid", fields=("private_key",)),
        # Third parties' credentials, written by an administrator (ADR 0039): the SMS
        # APIs' base URLs in failover order and their key; the admins' Slack incoming
        # webhook; the admins' Telegram bot and chat. Missing: that channel is off.
        SecretFile(
            file="sms",
            key="notifications/provided/sms",
            fields=("providers", "api_key"),
            kind="provided",
        ),
        SecretFile(
            file="chat_slack",
            key="notifications/provided/slack",
            fields=("webhook_url",),
            kind="provided",
        ),
        SecretFile(
            file="chat_telegram",
            key="notifications/provided/telegram",
            fields=("bot_token", "chat_id"),
            kind="provided",
        ),
    ),
)

WISHLIST: Final = ServiceDescriptor(
    name="wishlist",
    summary="wishlists, share links, price-drop and back-in-stock notices",
    route_prefixes=("/api/wishlists",),
    port=8107,
    dependencies=frozenset({"cassandra", "kafka"}),
    # auth: tokens; catalog: whether a product exists; orders: to-cart puts the item in
    # the user's cart with the user's own token.
    calls=frozenset({"auth", "catalog", "orders"}),
    # WishlistPriceDropped / WishlistBackInStock: the notifications service sends them.
    produces=(WISHLIST_TOPIC,),
    # Prices from the catalog's PriceChanged, stock from inventory's BackInStock and
    # StockChanged.
    consumes=(CATALOG_TOPIC, INVENTORY_TOPIC),
)

DESCRIPTORS: Final = (AUTH, CATALOG, ORDERS, INVENTORY, REVIEWS, WISHLIST, NOTIFICATIONS)
check_registry(DESCRIPTORS)


def descriptor(name: str) -> ServiceDescriptor:
    """The descriptor of the service called `name`."""
    for found in DESCRIPTORS:
        if found.name == name:
            return found
    raise KeyError(
        f"no service {name!r} exists; services are {', '.join(d.name for d in DESCRIPTORS)}"
    )
