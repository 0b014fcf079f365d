"""The one-click unsubscribe link of promotional e-mail (RFC 8058): no sign-in, the
signed token is the authority."""

from __future__ import annotations

from html import escape
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from productstore_common.errors import problem
from productstore_common.openapi import problems
from productstore_notifications.app.api.deps import UnsubscribesDep
from productstore_notifications.app.models import Unsubscribed

router = APIRouter(prefix="/api/notifications/unsubscribe", tags=["unsubscribe"])

Token = Annotated[
    str,
    Query(
        min_length=1,
        max_length=512,
        description="The signed token of the e-mail's `List-Unsubscribe` link",
    ),
]
_ONE_CLICK = "List-Unsubscribe=One-Click"


@router.get(
    "",
    response_class=HTMLResponse,
    responses={
        200: {"description": "A page with one button that unsubscribes (a POST)"},
        **problems(400, 410, s400="Not a link we signed", s410="The link expired"),
    },
    summary="The page an unsubscribe link opens (changes nothing)",
)
async def confirm_page(token: Token, unsubscribes: UnsubscribesDep) -> HTMLResponse:
    """A GET never unsubscribes: mail scanners and link previews fetch links. The page's
    button POSTs the one-click form, as a mail client does (RFC 8058)."""
    request = unsubscribes.check(token)
    topic = escape(request.topic.replace("_", " "))
    return HTMLResponse(
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Unsubscribe</title></head>'
        f"<body><p>Stop {escape(request.channel)} about {topic}?</p>"
        f'<form method="post" action="?token={escape(token)}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form></body></html>'
    )


@router.post(
    "",
    response_model=Unsubscribed,
    responses=problems(
        400,
        410,
        s400="Not a link we signed, or the body is not `List-Unsubscribe=One-Click`",
        s410="The link expired",
    ),
    summary="Unsubscribe with one click (RFC 8058)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "List-Unsubscribe": {"type": "string", "enum": ["One-Click"]}
                        },
                        "required": ["List-Unsubscribe"],
                    }
                }
            },
        }
    },
)
async def unsubscribe(
    token: Token, request: Request, unsubscribes: UnsubscribesDep
) -> Unsubscribed:
    """Mutes the link's topic on its channel (an opt-out in the user's preferences);
    clicking twice changes nothing more."""
    body = (await request.body())[:1024].decode("utf-8", errors="replace")
    if parse_qs(body).get("List-Unsubscribe") != ["One-Click"]:
        raise problem(
            400,
            "one_click_body_required",
            f"POST the form body {_ONE_CLICK!r} (application/x-www-form-urlencoded), as "
            "RFC 8058 asks; the link alone is opened with GET.",
        )
    return await unsubscribes.unsubscribe(token)
