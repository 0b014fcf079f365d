"""The unsubscribe links' signatures: a link made with the key is read back; one changed
anywhere, cut short, made with another key or past its expiry is refused, by reason."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from productstore_common.errors import Problem
from productstore_notifications.app.services.unsubscribe import UnsubscribeLinks

KEY = b"k" * 32
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
USER = uuid.UUID("8c1f4b0e-8a2a-4f9e-9d64-2a5b3f4c1d7e")


def _links(key: bytes = KEY, now: datetime = NOW) -> UnsubscribeLinks:
    return UnsubscribeLinks(
        key, "http://shop.test/", valid_for=timedelta(days=90), clock=lambda: now
    )


def _tampered(token: str) -> str:
    encoded, signature = token.split(".")
    payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    forged = payload.replace(b"price_drop", b"order_paid")
    return base64.urlsafe_b64encode(forged).rstrip(b"=").decode() + "." + signature


def test_a_link_names_the_user_topic_and_channel() -> None:
    url = _links().url(USER, "price_drop")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "http",
        "shop.test",
        "/api/notifications/unsubscribe",
    )
    [token] = parse_qs(parts.query)["token"]
    request = _links().verify(token)
    assert (request.user_id, request.topic, request.channel) == (USER, "price_drop", "email")
    assert request.expires_at == NOW + timedelta(days=90)


BAD = [
    ("no signature", lambda t: t.split(".")[0], 400, "unsubscribe_link_invalid"),
    ("not base64", lambda t: "!!!." + t.split(".")[1], 400, "unsubscribe_link_invalid"),
    ("signature cut", lambda t: t[:-4], 400, "unsubscribe_link_invalid"),
    ("payload changed", _tampered, 400, "unsubscribe_link_invalid"),
    ("empty", lambda t: "", 400, "unsubscribe_link_invalid"),
]


@pytest.mark.parametrize(
    ("change", "status", "reason"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_changed_links_are_refused(change: object, status: int, reason: str) -> None:
    token = _links().token(USER, "price_drop")
    with pytest.raises(Problem) as refused:
        _links().verify(change(token))  # type: ignore[operator]
    assert refused.value.status == status
    assert refused.value.to_dict()["reason"] == reason
    assert "not one we sent" in refused.value.detail


def test_a_link_signed_with_another_key_is_refused() -> None:
    token = _links(key=b"x" * 32).token(USER, "promotion")
    with pytest.raises(Problem) as refused:
        _links().verify(token)
    assert refused.value.status == 400


def test_an_expired_link_is_gone() -> None:
    token = _links(now=NOW - timedelta(days=91)).token(USER, "promotion")
    with pytest.raises(Problem) as refused:
        _links().verify(token)
    assert refused.value.status == 410
    assert refused.value.to_dict()["reason"] == "unsubscribe_link_expired"
    assert "expired on 2026-12-05" in refused.value.detail


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        _links(key=b"short")
