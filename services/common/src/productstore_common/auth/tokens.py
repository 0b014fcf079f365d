"""ES256 access tokens: verify one into a Principal; sign one (auth service, tests).

Verification is pinned to ES256 with keys from the auth service's JWKS and
nothing else: the token's header can name a key (`kid`) but never supply one
(`jwk`, `jku`, `x5u` are ignored), and never choose the algorithm. Each
rejection is a 401 problem whose `detail` says which check failed and whose
`reason` is a stable code for clients (e.g. `expired`: refresh and retry); no
part of the token is echoed back.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import jwt
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from productstore_common.auth.jwks import JwksClient, JwksUnavailableError
from productstore_common.auth.keys import ES256, MAX_KID_LENGTH, PublicKey, SigningKey
from productstore_common.errors import Problem

Role = Literal["admin", "user"]
TokenType = Literal["user", "service"]

# RFC 9068 explicit typing, so an ID or refresh token can never pass as an access token.
ACCESS_TOKEN_TYP = "at+jwt"  # noqa: S105 - a media type, not a password
_ACCEPTED_TYPS = frozenset({ACCESS_TOKEN_TYP, "application/at+jwt"})
MAX_TOKEN_BYTES = 8 * 1024
DEFAULT_LEEWAY_SECONDS = 30.0
REALM = "productstore"

# Algorithm names we may repeat in a detail; anything else is attacker-chosen text.
_KNOWN_ALGORITHMS = frozenset(
    {"none", "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
    | {"ES384", "ES512", "ES256K", "EdDSA", "Ed25519", "Ed448"}
)
# An admin may do whatever a user may; roles are otherwise compared literally.
_IMPLIED_ROLES: dict[str, frozenset[str]] = {
    "admin": frozenset({"admin", "user"}),
    "user": frozenset({"user"}),
}
# Only ES256 is registered, so even a bug upstream of `algorithms=` can't widen it.
_JWS = jwt.PyJWS(algorithms=[ES256])


class Principal(BaseModel):
    """Who a verified access token speaks for."""

    model_config = ConfigDict(frozen=True)

    sub: str = Field(description="User id, or the client id of a calling service")
    token_type: TokenType
    roles: frozenset[Role] = frozenset()
    scopes: frozenset[str] = frozenset()
    aud: tuple[str, ...]
    exp: datetime
    jti: str
    iat: datetime | None = Field(default=None, description="When the token was issued")

    def has_role(self, role: Role) -> bool:
        return any(role in _IMPLIED_ROLES[held] for held in self.roles)


def bearer_challenge(error: str | None = None, description: str | None = None) -> str:
    """A `WWW-Authenticate: Bearer` challenge (RFC 6750 §3)."""
    parts = [f'realm="{REALM}"']
    if error is not None:
        parts.append(f'error="{error}"')
    if description is not None:
        # RFC 6750 allows no '"' or '\' in error_description.
        cleaned = description.replace('"', "'").replace("\\", "/")
        parts.append(f'error_description="{cleaned}"')
    return "Bearer " + ", ".join(parts)


class InvalidTokenError(Problem):
    """401: the request's credentials are missing, malformed or fail verification."""

    def __init__(self, reason: str, detail: str, *, error: str | None = "invalid_token") -> None:
        super().__init__(
            401,
            "Unauthorized",
            detail,
            headers={"WWW-Authenticate": bearer_challenge(error, detail if error else None)},
            extra={"reason": reason},
        )
        self.reason = reason


class AuthUnavailableError(Problem):
    """503: tokens cannot be checked because the auth service's keys are unavailable."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(
            503,
            "Service Unavailable",
            "Access tokens cannot be verified right now: the auth service's signing keys "
            "are unavailable. Retry shortly.",
            headers={"Retry-After": str(max(1, math.ceil(retry_after)))},
            extra={"reason": "keys_unavailable"},
        )


NumericDate = Annotated[float, Field(allow_inf_nan=False, ge=0)]
BoundedText = Annotated[str, Field(min_length=1, max_length=256)]


class _AccessClaims(BaseModel):
    # Strict: the auth service writes these claims with exact JSON types; a
    # string "exp" or a boolean role list is a broken issuer, not something to coerce.
    model_config = ConfigDict(strict=True, extra="ignore")

    iss: str
    sub: BoundedText
    aud: BoundedText | Annotated[list[BoundedText], Field(min_length=1)]
    exp: NumericDate
    iat: NumericDate
    nbf: NumericDate | None = None
    jti: BoundedText
    token_type: TokenType
    roles: list[Role] = []
    scope: str = ""  # RFC 8693 §4.2: space-separated


def _checked_kid(token: str) -> str:
    """The kid of the token's JOSE header, after the header checks that need no key."""
    if len(token) > MAX_TOKEN_BYTES:
        raise InvalidTokenError(
            "too_large", f"The bearer token is longer than {MAX_TOKEN_BYTES} bytes."
        )
    try:
        header = _JWS.get_unverified_header(token)
    except (jwt.PyJWTError, ValueError):
        raise InvalidTokenError(
            "malformed", "The bearer token is not a well-formed JWT (header.payload.signature)."
        ) from None
    alg = header.get("alg")
    if alg == "none":
        raise InvalidTokenError(
            "algorithm", "The token is unsigned (alg 'none'); only ES256 is accepted."
        )
    if alg != ES256:
        named = (
            f"'{alg}'"
            if isinstance(alg, str) and alg in _KNOWN_ALGORITHMS
            else "an unsupported algorithm"
        )
        raise InvalidTokenError(
            "algorithm", f"The token is signed with {named}; only ES256 is accepted."
        )
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in _ACCEPTED_TYPS:
        raise InvalidTokenError(
            "token_type_header",
            f"The token is not an access token: its 'typ' header must be '{ACCESS_TOKEN_TYP}'.",
        )
    kid = header.get("kid")
    if not kid:
        raise InvalidTokenError(
            "missing_kid", "The token has no 'kid' header naming its signing key."
        )
    return str(kid)


def _verified_payload(token: str, key: PublicKey) -> dict[str, Any]:
    try:
        payload = _JWS.decode_complete(token, key, algorithms=[ES256])["payload"]
    except jwt.InvalidSignatureError:
        raise InvalidTokenError("signature", "The token's signature does not verify.") from None
    except jwt.PyJWTError:
        raise InvalidTokenError("malformed", "The bearer token is not a well-formed JWT.") from None
    try:
        claims = json.loads(payload)
    except ValueError:
        claims = None
    if not isinstance(claims, dict):
        raise InvalidTokenError("malformed", "The token's payload is not a JSON object.")
    return claims


def _validated_claims(raw: dict[str, Any]) -> _AccessClaims:
    try:
        return _AccessClaims.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        claim = str(error["loc"][0]) if error["loc"] else "?"
        if error["type"] == "missing":
            raise InvalidTokenError(
                "missing_claim", f"The token lacks the required claim '{claim}'."
            ) from None
        raise InvalidTokenError(
            "invalid_claim", f"The token's claim '{claim}' is invalid: {error['msg']}."
        ) from None


def _principal(
    claims: _AccessClaims, *, issuer: str, audiences: frozenset[str], leeway: float
) -> Principal:
    if claims.iss != issuer:
        raise InvalidTokenError(
            "issuer", "The token was not issued by this store's auth service ('iss' mismatch)."
        )
    token_audiences = (claims.aud,) if isinstance(claims.aud, str) else tuple(claims.aud)
    if audiences.isdisjoint(token_audiences):
        raise InvalidTokenError(
            "audience", "The token is not meant for this service ('aud' mismatch)."
        )
    now = time.time()
    if now >= claims.exp + leeway:
        raise InvalidTokenError("expired", "The token has expired.")
    if claims.nbf is not None and claims.nbf > now + leeway:
        raise InvalidTokenError(
            "not_yet_valid", "The token is not valid yet ('nbf' is in the future)."
        )
    if claims.iat > now + leeway:
        raise InvalidTokenError(
            "not_yet_valid", "The token is not valid yet ('iat' is in the future)."
        )
    return Principal(
        sub=claims.sub,
        token_type=claims.token_type,
        roles=frozenset(claims.roles),
        scopes=frozenset(claims.scope.split()),
        aud=token_audiences,
        exp=datetime.fromtimestamp(claims.exp, UTC),
        jti=claims.jti,
        iat=datetime.fromtimestamp(claims.iat, UTC),
    )


async def verify_access_token(
    token: str,
    *,
    jwks: JwksClient,
    issuer: str,
    audience: str | Iterable[str],
    leeway: float = DEFAULT_LEEWAY_SECONDS,
) -> Principal:
    """The Principal of a valid ES256 access token for (one of) `audience`.

    Raises InvalidTokenError (401) naming the failed check, or AuthUnavailableError
    (503) when the auth service's keys cannot be had.
    """
    kid = _checked_kid(token)
    if len(kid) > MAX_KID_LENGTH:
        # No JWKS key can have it: don't spend a refresh on it.
        key = None
    else:
        try:
            key = await jwks.get_key(kid)
        except JwksUnavailableError as exc:
            # Logged by the JWKS client (per failed fetch) and by the 5xx problem
            # handler; no log per request here.
            raise AuthUnavailableError(exc.retry_after) from exc
    if key is None:
        raise InvalidTokenError(
            "unknown_kid", "The token's signing key ('kid') is not one of the auth service's keys."
        )
    audiences = frozenset((audience,) if isinstance(audience, str) else audience)
    claims = _validated_claims(_verified_payload(token, key))
    return _principal(claims, issuer=issuer, audiences=audiences, leeway=leeway)


def access_token_claims(
    *,
    issuer: str,
    audience: str | Sequence[str],
    subject: str,
    token_type: TokenType,
    roles: Iterable[Role] = (),
    scopes: Iterable[str] = (),
    lifetime: timedelta = timedelta(minutes=15),
    now: datetime | None = None,
    jti: str | None = None,
) -> dict[str, Any]:
    """The claims of an access token as `verify_access_token` expects them."""
    issued = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "aud": audience if isinstance(audience, str) else list(audience),
        "iat": int(issued.timestamp()),
        "nbf": int(issued.timestamp()),
        "exp": int((issued + lifetime).timestamp()),
        "jti": jti or uuid.uuid4().hex,
        "token_type": token_type,
        "roles": sorted(roles),
    }
    scope = " ".join(sorted(scopes))
    if scope:
        claims["scope"] = scope
    return claims


def sign_access_token(claims: Mapping[str, Any], private_key: SigningKey, kid: str) -> str:
    """`claims` as a compact ES256 JWS with the `kid` and `typ: at+jwt` headers."""
    return jwt.encode(
        dict(claims), private_key, algorithm=ES256, headers={"kid": kid, "typ": ACCESS_TOKEN_TYP}
    )
