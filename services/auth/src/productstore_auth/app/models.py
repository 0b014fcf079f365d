"""The auth API's request and response bodies (Base / Create / Update / Public)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal, Self, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from productstore_auth.app.core.policy import MAX_EMAIL_LENGTH, normalise_email, password_problems
from productstore_common.auth import Role
from productstore_common.text import SINGLE_LINE


def _email(value: str) -> str:
    try:
        return normalise_email(value)
    except ValueError as exc:
        # A custom error: a stable `type` for clients and no "Value error, " prefix.
        raise PydanticCustomError("email", str(exc)) from None


Email = Annotated[
    str,
    Field(max_length=MAX_EMAIL_LENGTH, examples=["ada@example.com"]),
    AfterValidator(_email),
]
# A display name: no control or bidi characters (checked after stripping).
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), SINGLE_LINE
]
# Opaque tokens we issue are 43 characters; the bound keeps junk out of the hash.
OpaqueToken = Annotated[str, Field(min_length=1, max_length=256)]


class _Strict(BaseModel):
    # Unknown members are mistakes (a misspelt "pasword"): say so rather than ignore them.
    model_config = ConfigDict(extra="forbid")


class UserBase(_Strict):
    email: Email
    name: Name


class UserCreate(UserBase):
    """A registration. The password: 10 to 128 characters, at least 5 different ones,
    not a common password, not containing your name or e-mail address."""

    password: str = Field(max_length=1024, examples=["correct horse battery staple"])

    @field_validator("password")
    @classmethod
    def _policy(cls, value: str, info: ValidationInfo) -> str:
        # email and name are declared first, so they are validated (when valid) by now.
        problems = password_problems(
            value, email=info.data.get("email"), name=info.data.get("name")
        )
        if problems:
            raise PydanticCustomError(
                "password_policy",
                "the password is too weak: {problems}",
                {"problems": "; ".join(problems)},
            )
        return value


class UserRolesUpdate(_Strict):
    roles: list[Role] = Field(
        min_length=1, description="The complete new set of roles (admin implies user)"
    )

    def role_set(self) -> frozenset[Role]:
        return frozenset(self.roles)


class UserContact(BaseModel):
    """Where a service may write to a user (the notifications service's e-mail)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    name: str
    disabled: bool = Field(description="A disabled account gets no messages")


class UserPublic(UserBase):
    # Built from the services layer's UserRecord (`UserPublic.model_validate(user)`).
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    roles: list[Role]
    disabled: bool
    created_at: datetime

    @field_validator("roles", mode="before")
    @classmethod
    def _known_roles_in_order(cls, value: object) -> object:
        # A record holds a set of role names; the API lists the known ones in one order.
        if isinstance(value, set | frozenset):
            return [role for role in get_args(Role) if role in value]
        return value


class UsersPage(BaseModel):
    items: list[UserPublic]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page"
    )


class LoginRequest(_Strict):
    email: Email
    password: str = Field(min_length=1, max_length=1024)


class RefreshRequest(_Strict):
    refresh_token: OpaqueToken


class TokenPair(BaseModel):
    # Built from the services layer's IssuedTokens (`TokenPair.model_validate(tokens)`).
    model_config = ConfigDict(from_attributes=True)

    access_token: str = Field(description="ES256 JWT for `Authorization: Bearer`")
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - RFC 6750 token type
    expires_in: int = Field(description="Seconds until the access token expires")
    refresh_token: str = Field(description="Opaque; single use: each refresh returns a new one")
    refresh_expires_in: int = Field(description="Seconds until the refresh token expires")


class ServiceTokenRequest(_Strict):
    client_id: Annotated[str, Field(min_length=1, max_length=100)]
    client_secret: Annotated[str, Field(min_length=1, max_length=1024)]
    audience: Annotated[
        str, Field(pattern=r"^[a-z][a-z0-9-]{0,62}$", description="The service to call")
    ]


class ServiceTokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - RFC 6750 token type
    expires_in: int
    audience: str


class Jwk(BaseModel):
    kty: Literal["EC"]
    crv: Literal["P-256"]
    x: str
    y: str
    use: Literal["sig"]
    alg: Literal["ES256"]
    kid: str


class Jwks(BaseModel):
    keys: list[Jwk]


class KeyRotation(BaseModel):
    kid: str = Field(description="The new key")
    activates_at: datetime = Field(description="When the new key starts signing tokens")
    published: list[str] = Field(description="Every kid now in the JWKS")

    @classmethod
    def of(cls, kid: str, activates_at: datetime, published: tuple[str, ...]) -> Self:
        return cls(kid=kid, activates_at=activates_at, published=list(published))
