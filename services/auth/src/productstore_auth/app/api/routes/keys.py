"""The public signing keys (JWKS) and their rotation."""

from __future__ import annotations

from fastapi import APIRouter, Response

from productstore_auth.app.api.deps import AdminUser, KeyRingDep
from productstore_auth.app.models import Jwks, KeyRotation
from productstore_common.openapi import problems

router = APIRouter(prefix="/api/auth", tags=["keys"])

# Verifiers cache the JWKS themselves (TTL 300 s); a shared cache may hold it
# briefly too. Short enough that a key published ahead of activation is seen.
_JWKS_CACHE_CONTROL = "public, max-age=60"


@router.get(
    "/.well-known/jwks.json",
    response_model=Jwks,
    summary="The public keys that verify access tokens",
)
async def jwks(keyring: KeyRingDep, response: Response) -> Jwks:
    """The key that signs now, the key about to sign, and the earlier keys whose tokens
    may still be valid; at most 16 keys."""
    response.headers["Cache-Control"] = _JWKS_CACHE_CONTROL
    return Jwks.model_validate(await keyring.jwks())


@router.post(
    "/keys/rotate",
    response_model=KeyRotation,
    responses=problems(401, 403, 503),
    summary="Rotate the signing key",
)
async def rotate_keys(admin: AdminUser, keyring: KeyRingDep) -> KeyRotation:
    """Adds a key that is published at once and signs after the activation delay
    (AUTH_KEY_ACTIVATION_DELAY_SECONDS), replacing a key still waiting to sign. Earlier
    keys stay published until their tokens have expired; the set never exceeds 16 keys."""
    rotation = await keyring.rotate()
    return KeyRotation.of(rotation.kid, rotation.activates_at, rotation.published)
